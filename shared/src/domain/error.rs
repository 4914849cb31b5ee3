//! The NextInteract error registry: every exception named in the vendor pages, each with a
//! stable numeric `errorCode`, an HTTP status and the shape
//! `{"errorCode": N, "errorMsg": "...", "exception": "WS...Exception"}`.

use serde::Serialize;
use std::fmt;

macro_rules! exceptions {
    ($( $variant:ident = $code:literal, $status:literal, $name:literal, $when:literal; )*) => {
        /// An exception of the NextInteract API family. The discriminant is the `errorCode`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Exception { $( $variant = $code, )* }

        impl Exception {
            /// Every exception, in registry order.
            pub const ALL: &'static [Exception] = &[ $( Exception::$variant, )* ];

            /// The stable numeric code sent as `errorCode`.
            pub fn code(self) -> u32 { self as u32 }

            /// The HTTP status the exception is answered with.
            pub fn status(self) -> u16 { match self { $( Exception::$variant => $status, )* } }

            /// The exception's name as sent in `exception`.
            pub fn name(self) -> &'static str { match self { $( Exception::$variant => $name, )* } }

            /// When the API answers with this exception (the documentation's wording).
            pub fn when(self) -> &'static str { match self { $( Exception::$variant => $when, )* } }
        }
    };
}

exceptions! {
    InvalidParameter = 1001, 400, "WSInvalidParameterException",
        "The body is not JSON, a field is missing, has the wrong type, is too long or is otherwise invalid; `errorMsg` names the field.";
    InvalidAuthToken = 1002, 401, "WSInvalidAuthTokenException",
        "The `x-nextinteract-authtoken` header is missing, unknown, expired or revoked.";
    InvalidLogin = 1003, 401, "WSInvalidLoginException",
        "Login with an unknown email address or a wrong password (the same answer for both).";
    AccountLocked = 1004, 423, "WSAccountLockedException",
        "Too many failed logins: the account is locked for a while (`Retry-After` says how long).";
    EmailAlreadyExists = 1005, 409, "WSEmailAlreadyExistsException",
        "A user with this email address (compared trimmed and lower-cased) already exists.";
    InvalidEmailDomainName = 1006, 400, "WSInvalidEmailDomainNameException",
        "The email address's domain is not a valid domain name, or the company does not accept it.";
    PasswordLength = 1007, 400, "WSPasswordLengthException",
        "The password is not between 8 and 30 characters long.";
    InvalidTeam = 1008, 400, "WSInvalidTeamException",
        "A team id is not a team of the company.";
    RecordNotFound = 1009, 404, "WSRecordNotFoundException",
        "A record the request names (API key, team, ...) does not exist for the caller.";
    CompanyApiKeyNotActive = 1010, 403, "WSCompanyApiKeyNotActiveException",
        "The company API key exists but has been deactivated.";
    CompanyNotActive = 1011, 403, "WSCompanyNotActiveException",
        "The company exists but is not active.";
    IncorrectApiKeyType = 1012, 403, "WSIncorrectApiKeyTypeException",
        "The API key is of the wrong type for this call (an app key where an admin key is needed, or the reverse).";
    UserNotFound = 1013, 404, "WSUserNotFoundException",
        "The user does not exist, or is not connected to the caller's company.";
    UserNotActive = 1014, 403, "WSUserNotActiveException",
        "The user exists but is not active.";
    ConnectionStatusNotActive = 1015, 403, "WSConnectionStatusNotActiveException",
        "The user's connection (membership) to the company is not active.";
    NotFound = 1016, 404, "WSNotFoundException",
        "No endpoint has this path (local server only; API Gateway answers this itself in the cloud).";
    MethodNotAllowed = 1017, 405, "WSMethodNotAllowedException",
        "The path exists but not with this HTTP method (local server only).";
    PasswordService = 2001, 500, "WSPasswordServiceException",
        "The password could not be hashed or checked.";
    UserService = 2002, 500, "WSUserServiceException",
        "An unexpected failure in the user service.";
    UserServiceUnavailable = 2003, 503, "WSUserServiceUnavailableException",
        "The user service's storage is unavailable or throttled; retry later.";
    CompanyService = 2004, 500, "WSCompanyServiceException",
        "An unexpected failure in the company service.";
    CompanyServiceUnavailable = 2005, 503, "WSCompanyServiceUnavailableException",
        "The company service's storage is unavailable or throttled; retry later.";
    CacheService = 2006, 503, "WSCacheServiceException",
        "The auth token could not be looked up; retry later.";
    MembershipService = 2007, 500, "WSMembershipServiceException",
        "An unexpected failure in the membership service.";
}

impl fmt::Display for Exception {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The service a use case belongs to: decides which `...ServiceException` an
/// infrastructure failure is reported as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    User,
    Company,
    Membership,
    Cache,
}

impl Service {
    /// The exception for an unexpected failure (500).
    pub fn failure(self) -> Exception {
        match self {
            Service::User => Exception::UserService,
            Service::Company => Exception::CompanyService,
            Service::Membership => Exception::MembershipService,
            Service::Cache => Exception::CacheService,
        }
    }

    /// The exception for a transient failure: storage unreachable or throttled (503).
    pub fn unavailable(self) -> Exception {
        match self {
            Service::User => Exception::UserServiceUnavailable,
            Service::Company => Exception::CompanyServiceUnavailable,
            Service::Membership => Exception::MembershipService,
            Service::Cache => Exception::CacheService,
        }
    }
}

/// An answer that is not a success: the exception, the message for the caller and,
/// rarely, a different HTTP status (413 for an oversized body) or a `Retry-After`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub exception: Exception,
    pub message: String,
    pub status: u16,
    pub retry_after_secs: Option<u64>,
}

impl ApiError {
    pub fn new(exception: Exception, message: impl Into<String>) -> Self {
        ApiError {
            exception,
            message: message.into(),
            status: exception.status(),
            retry_after_secs: None,
        }
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(Exception::InvalidParameter, message)
    }

    pub fn with_status(mut self, status: u16) -> Self {
        self.status = status;
        self
    }

    pub fn with_retry_after(mut self, secs: u64) -> Self {
        self.retry_after_secs = Some(secs);
        self
    }

    /// The body sent to the caller.
    pub fn body(&self) -> ErrorBody<'_> {
        ErrorBody {
            error_code: self.exception.code(),
            error_msg: &self.message,
            exception: self.exception.name(),
        }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.exception, self.message)
    }
}

impl std::error::Error for ApiError {}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody<'a> {
    pub error_code: u32,
    pub error_msg: &'a str,
    pub exception: &'static str,
}

/// The success body of the family: `{"errorCode": 0, "errorMsg": "..."}`, with extra fields
/// flattened in (loginUser adds `authToken`, `userId`, `expiresAt`).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Success<'a, T: Serialize> {
    pub error_code: u32,
    pub error_msg: &'a str,
    #[serde(flatten)]
    pub extra: T,
}

impl<'a> Success<'a, serde_json::Map<String, serde_json::Value>> {
    pub fn message(msg: &'a str) -> Self {
        Success {
            error_code: 0,
            error_msg: msg,
            extra: serde_json::Map::new(),
        }
    }
}

/// The error table in Markdown, as published in docs/errors.md.
pub fn markdown_table() -> String {
    let mut out =
        String::from("| exception | errorCode | HTTP status | when |\n|---|---|---|---|\n");
    for e in Exception::ALL {
        out.push_str(&format!(
            "| `{}` | {} | {} | {} |\n",
            e.name(),
            e.code(),
            e.status(),
            e.when()
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn codes_and_names_are_unique() {
        let codes: HashSet<_> = Exception::ALL.iter().map(|e| e.code()).collect();
        let names: HashSet<_> = Exception::ALL.iter().map(|e| e.name()).collect();
        assert_eq!(codes.len(), Exception::ALL.len());
        assert_eq!(names.len(), Exception::ALL.len());
        assert!(!codes.contains(&0), "0 is success");
    }

    #[test]
    fn every_seed_exception_is_registered() {
        let seeds = [
            "WSCompanyServiceUnavailableException",
            "WSInvalidParameterException",
            "WSInvalidTeamException",
            "WSInvalidAuthTokenException",
            "WSCompanyServiceException",
            "WSCacheServiceException",
            "WSRecordNotFoundException",
            "WSCompanyApiKeyNotActiveException",
            "WSCompanyNotActiveException",
            "WSUserNotFoundException",
            "WSUserNotActiveException",
            "WSConnectionStatusNotActiveException",
            "WSIncorrectApiKeyTypeException",
            "WSMembershipServiceException",
            "WSEmailAlreadyExistsException",
            "WSAccountLockedException",
            "WSInvalidEmailDomainNameException",
            "WSPasswordLengthException",
            "WSPasswordServiceException",
            "WSUserServiceException",
            "WSUserServiceUnavailableException",
        ];
        for s in seeds {
            assert!(
                Exception::ALL.iter().any(|e| e.name() == s),
                "{s} missing from the registry"
            );
        }
    }

    #[test]
    fn error_body_has_the_family_shape() {
        let e = ApiError::invalid("emailAddress is required");
        let v = serde_json::to_value(e.body()).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"errorCode": 1001, "errorMsg": "emailAddress is required", "exception": "WSInvalidParameterException"})
        );
    }

    #[test]
    fn success_body_has_the_family_shape() {
        let v = serde_json::to_value(Success::message("MI User invited.")).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"errorCode": 0, "errorMsg": "MI User invited."})
        );
    }
}
