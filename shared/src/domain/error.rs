//! The one error type every use case raises: what went wrong (`ErrorKind`), a message for the
//! caller and, for lockouts, how long to wait. Each API family's responder (`http::nextinteract`,
//! and the platform and site responders as they arrive) maps a kind to its own body and status.

use std::fmt;

/// What went wrong, in the domain's words. The NextInteract family names each kind after its
/// vendor exception (`InvalidTeam` is `WSInvalidTeamException`), so most names follow theirs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// A field is missing, has the wrong type, is too long or otherwise invalid.
    InvalidParameter,
    /// The request body is larger than the edge accepts.
    BodyTooLarge,
    /// The session token is missing, unknown, expired or revoked.
    InvalidAuthToken,
    /// Unknown email or wrong password (one answer for both).
    InvalidLogin,
    /// Too many failed logins.
    AccountLocked,
    EmailAlreadyExists,
    InvalidEmailDomainName,
    PasswordLength,
    InvalidTeam,
    RecordNotFound,
    CompanyApiKeyNotActive,
    CompanyNotActive,
    IncorrectApiKeyType,
    UserNotFound,
    UserNotActive,
    ConnectionStatusNotActive,
    /// The caller is known but may not do this.
    NotPermitted,
    /// What the request names existed but has expired (an invitation link).
    Expired,
    /// A concurrent request changed the same records first; retrying may succeed.
    Conflict,
    /// The company does not let its users invite users (the `usersMayInvite` setting is off).
    InvitingDisabled,
    /// The request body's media type is not one the call reads.
    UnsupportedMediaType,
    /// No media type the call can answer with is acceptable to the caller.
    NotAcceptable,
    /// The caller asked too often; `retry_after_secs` says when to try again.
    TooManyRequests,
    /// An `Idempotency-Key` sent again with a different request.
    IdempotencyKeyReused,
    /// No endpoint has this path (the local server; API Gateway answers this in the cloud).
    RouteNotFound,
    /// The path exists with other methods.
    MethodNotAllowed,
    PasswordService,
    UserService,
    UserServiceUnavailable,
    CompanyService,
    CompanyServiceUnavailable,
    CacheService,
    MembershipService,
}

impl ErrorKind {
    /// True for failures of admit or its dependencies rather than of the request.
    pub fn is_server_fault(self) -> bool {
        matches!(
            self,
            ErrorKind::PasswordService
                | ErrorKind::UserService
                | ErrorKind::UserServiceUnavailable
                | ErrorKind::CompanyService
                | ErrorKind::CompanyServiceUnavailable
                | ErrorKind::CacheService
                | ErrorKind::MembershipService
        )
    }
}

/// The service a use case belongs to: decides which `...Service` kind an infrastructure
/// failure is reported as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    User,
    Company,
    Membership,
    Cache,
}

impl Service {
    /// The kind for an unexpected failure.
    pub fn failure(self) -> ErrorKind {
        match self {
            Service::User => ErrorKind::UserService,
            Service::Company => ErrorKind::CompanyService,
            Service::Membership => ErrorKind::MembershipService,
            Service::Cache => ErrorKind::CacheService,
        }
    }

    /// The kind for a transient failure: storage unreachable or throttled.
    pub fn unavailable(self) -> ErrorKind {
        match self {
            Service::User => ErrorKind::UserServiceUnavailable,
            Service::Company => ErrorKind::CompanyServiceUnavailable,
            Service::Membership => ErrorKind::MembershipService,
            Service::Cache => ErrorKind::CacheService,
        }
    }
}

/// A refusal or failure: the kind, the message for the caller, the request field it concerns
/// (set by the validator that refused it: a page highlights that field, whatever the
/// message's words) and, for lockouts and limits, the seconds to wait.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainError {
    pub kind: ErrorKind,
    pub message: String,
    pub field: Option<String>,
    pub retry_after_secs: Option<u64>,
}

impl DomainError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        DomainError {
            kind,
            message: message.into(),
            field: None,
            retry_after_secs: None,
        }
    }

    /// The same refusal, about the request field `field`.
    pub fn at(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    /// Whether the refusal is about the request field `field`.
    pub fn is_at(&self, field: &str) -> bool {
        self.field.as_deref() == Some(field)
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidParameter, message)
    }

    pub fn with_retry_after(mut self, secs: u64) -> Self {
        self.retry_after_secs = Some(secs);
        self
    }
}

impl fmt::Display for DomainError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}: {}", self.kind, self.message)
    }
}

impl std::error::Error for DomainError {}
