//! The NextInteract family's responder: its exception registry (every exception named in the
//! vendor's operations, each with a stable numeric `errorCode` and exactly one HTTP status), its error
//! body `{"errorCode": N, "errorMsg": "...", "exception": "WS...Exception"}` and its success
//! body `{"errorCode": 0, "errorMsg": "..."}` with the call's fields flattened in.

use crate::domain::error::{DomainError, ErrorKind};
use lambda_http::{Body, Response};
use serde::Serialize;

macro_rules! exceptions {
    ($( $variant:ident = $code:literal, $status:literal, $name:literal, $when:literal; )*) => {
        /// Every kind, in registry order.
        pub const ALL: &[ErrorKind] = &[ $( ErrorKind::$variant, )* ];

        /// The stable numeric code sent as `errorCode`.
        pub fn code(kind: ErrorKind) -> u32 { match kind { $( ErrorKind::$variant => $code, )* } }

        /// The HTTP status the exception is answered with (one per exception).
        pub fn status(kind: ErrorKind) -> u16 { match kind { $( ErrorKind::$variant => $status, )* } }

        /// The exception's name as sent in `exception`.
        pub fn name(kind: ErrorKind) -> &'static str { match kind { $( ErrorKind::$variant => $name, )* } }

        /// When the API answers with this exception (the documentation's wording).
        pub fn when(kind: ErrorKind) -> &'static str { match kind { $( ErrorKind::$variant => $when, )* } }
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
    RouteNotFound = 1016, 404, "WSNotFoundException",
        "No endpoint has this path (local server only; API Gateway answers this itself in the cloud).";
    MethodNotAllowed = 1017, 405, "WSMethodNotAllowedException",
        "The path exists but not with this HTTP method (local server only); `Allow` lists the methods it has.";
    BodyTooLarge = 1018, 413, "WSRequestTooLargeException",
        "The request body is larger than 64 KiB.";
    NotPermitted = 1019, 403, "WSNotPermittedException",
        "The caller is signed in but may not do this: their role, their temporary access or the rules of the door do not allow it (a plain member inviting to a private team, a request from another site's page).";
    Expired = 1020, 410, "WSExpiredException",
        "The invitation link has expired; ask for a new one.";
    Conflict = 1021, 409, "WSConcurrentUpdateException",
        "Another request changed the same records at the same time; retrying may succeed.";
    TooManyRequests = 1022, 429, "WSTooManyRequestsException",
        "An hourly limit is reached (emails per sender, recipient or company; logins or registrations per source IP; password resets per address; see docs/api.md); `Retry-After` says when to try again.";
    InvitingDisabled = 1023, 403, "WSInvitingDisabledException",
        "The company's `usersMayInvite` setting is off: only its reps and admins may invite.";
    UnsupportedMediaType = 1024, 415, "WSUnsupportedMediaTypeException",
        "The request body's Content-Type is not one the call reads (platform family calls; loginUser with setCookie needs JSON).";
    NotAcceptable = 1025, 406, "WSNotAcceptableException",
        "No media type the call answers with is acceptable to the caller (platform family calls only).";
    IdempotencyKeyReused = 1026, 422, "WSIdempotencyKeyReusedException",
        "The `Idempotency-Key` was sent before with a different request (another body, path or query); use a new key for a new request.";
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

/// The family's error body.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody<'a> {
    pub error_code: u32,
    pub error_msg: &'a str,
    pub exception: &'static str,
}

impl<'a> ErrorBody<'a> {
    pub fn of(e: &'a DomainError) -> ErrorBody<'a> {
        ErrorBody {
            error_code: code(e.kind),
            error_msg: &e.message,
            exception: name(e.kind),
        }
    }
}

/// The family's success body: `{"errorCode": 0, "errorMsg": "..."}`, with the call's fields
/// flattened in (loginUser adds `authToken`, `userId`, `expiresAt`).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Success<'a, T: Serialize> {
    pub error_code: u32,
    pub error_msg: &'a str,
    #[serde(flatten)]
    pub extra: T,
}

/// No fields beyond the message.
#[derive(Debug, Serialize)]
pub struct NoFields {}

/// The NextInteract family: the registry's statuses and `{errorCode, errorMsg, exception}`.
pub struct NextInteract;

impl super::respond::ErrorShape for NextInteract {
    const NAME: &'static str = "nextinteract";
    fn status(kind: ErrorKind) -> u16 {
        status(kind)
    }
    fn exception(kind: ErrorKind) -> Option<&'static str> {
        Some(name(kind))
    }
    fn error_body(e: &DomainError, _status: u16, message: &str) -> String {
        let body = ErrorBody {
            error_code: code(e.kind),
            error_msg: message,
            exception: name(e.kind),
        };
        serde_json::to_string(&body).unwrap_or_else(|_| "{}".into())
    }
}

/// The error answer: the registry's status, the family's body, `Retry-After` for lockouts.
pub fn error_response(e: &DomainError) -> Response<Body> {
    super::respond::error::<NextInteract>(e, "application/json")
}

/// A use case's result as the body itself (getPublicMITeams answers a bare array).
pub fn respond<T: Serialize>(result: Result<T, DomainError>) -> Response<Body> {
    super::respond::respond::<NextInteract, T>(result, "application/json")
}

/// A use case's result in the family's success body with `message` as `errorMsg`.
pub fn respond_with<T: Serialize>(message: &str, result: Result<T, DomainError>) -> Response<Body> {
    respond(result.map(|extra| Success {
        error_code: 0,
        error_msg: message,
        extra,
    }))
}

/// A result with nothing to add but the success message.
pub fn respond_message(message: &str, result: Result<(), DomainError>) -> Response<Body> {
    respond_with(message, result.map(|()| NoFields {}))
}

/// The error table in Markdown, as published in docs/errors.md.
pub fn markdown_table() -> String {
    let mut out =
        String::from("| exception | errorCode | HTTP status | when |\n|---|---|---|---|\n");
    for k in ALL {
        out.push_str(&format!(
            "| `{}` | {} | {} | {} |\n",
            name(*k),
            code(*k),
            status(*k),
            when(*k)
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
        let codes: HashSet<_> = ALL.iter().map(|k| code(*k)).collect();
        let names: HashSet<_> = ALL.iter().map(|k| name(*k)).collect();
        assert_eq!(codes.len(), ALL.len());
        assert_eq!(names.len(), ALL.len());
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
                ALL.iter().any(|k| name(*k) == s),
                "{s} missing from the registry"
            );
        }
    }

    #[test]
    fn docs_errors_md_is_the_registry() {
        let doc = include_str!("../../../docs/errors.md");
        assert!(
            doc.contains(&markdown_table()),
            "docs/errors.md is out of date; paste this table:\n{}",
            markdown_table()
        );
    }

    #[test]
    fn server_faults_are_the_5xx_exceptions() {
        for k in ALL {
            assert_eq!(k.is_server_fault(), status(*k) >= 500, "{}", name(*k));
        }
    }

    #[test]
    fn error_body_has_the_family_shape() {
        let e = DomainError::invalid("emailAddress is required");
        let v = serde_json::to_value(ErrorBody::of(&e)).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"errorCode": 1001, "errorMsg": "emailAddress is required", "exception": "WSInvalidParameterException"})
        );
    }

    #[test]
    fn success_body_has_the_family_shape() {
        let v = serde_json::to_value(Success {
            error_code: 0,
            error_msg: "MI User invited.",
            extra: NoFields {},
        })
        .unwrap();
        assert_eq!(
            v,
            serde_json::json!({"errorCode": 0, "errorMsg": "MI User invited."})
        );
    }
}
