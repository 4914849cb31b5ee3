//! The site family's responder (`/api/rest/v1/management/...`): camelCase JSON, a success is
//! `200` with the call's own body, an error is `{"message": "..."}` with the HTTP status of its
//! kind. Each kind has the status the error registry gives it (docs/errors.md), so a kind
//! means the same status in every family; `Retry-After` goes with lockouts and throttles.

use crate::domain::error::{DomainError, ErrorKind};
use crate::domain::Id;
use lambda_http::{Body, Request, Response};
use serde::Serialize;

/// The HTTP status of an error of `kind`.
pub fn status(kind: ErrorKind) -> u16 {
    super::nextinteract::status(kind)
}

/// The family's error body.
#[derive(Debug, Serialize)]
pub struct ErrorBody<'a> {
    pub message: &'a str,
}

/// The site family: `{"message": "..."}` with the kind's status.
pub struct Site;

impl super::respond::ErrorShape for Site {
    const NAME: &'static str = "site";
    fn status(kind: ErrorKind) -> u16 {
        status(kind)
    }
    fn error_body(_: &DomainError, _status: u16, message: &str) -> String {
        serde_json::to_string(&ErrorBody { message }).unwrap_or_else(|_| "{}".into())
    }
}

pub fn error_response(e: &DomainError) -> Response<Body> {
    super::respond::error::<Site>(e, "application/json")
}

/// A use case's result: its value as the body, or the family's error.
pub fn respond<T: Serialize>(result: Result<T, DomainError>) -> Response<Body> {
    super::respond::respond::<Site, T>(result, "application/json")
}

/// The `siteId` query parameter: which of the caller's sites a call acts on (needed only by
/// an admin of several).
pub fn site_id(req: &Request) -> Result<Option<Id>, DomainError> {
    super::query_param(req, "siteId")
        .map(|raw| raw.parse::<Id>())
        .transpose()
        .map_err(|e| DomainError::invalid(format!("siteId: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(r: Response<Body>) -> (u16, serde_json::Value) {
        let body = match r.body() {
            Body::Text(t) => serde_json::from_str(t).unwrap(),
            _ => serde_json::Value::Null,
        };
        (r.status().as_u16(), body)
    }

    #[test]
    fn errors_are_a_message_with_the_kind_s_status() {
        let e = DomainError::invalid("DateTo should be greater than DateFrom.");
        assert_eq!(
            read(respond::<()>(Err(e))),
            (
                400,
                serde_json::json!({"message": "DateTo should be greater than DateFrom."})
            )
        );
        for (kind, want) in [
            (ErrorKind::InvalidAuthToken, 401),
            (ErrorKind::NotPermitted, 403),
            (ErrorKind::CompanyNotActive, 403),
            (ErrorKind::Conflict, 409),
            (ErrorKind::CacheService, 503),
            (ErrorKind::MembershipService, 500),
        ] {
            assert_eq!(
                read(respond::<()>(Err(DomainError::new(kind, "x")))).0,
                want
            );
        }
        let locked = DomainError::new(ErrorKind::AccountLocked, "x").with_retry_after(30);
        assert_eq!(error_response(&locked).headers()["retry-after"], "30");
    }

    #[test]
    fn success_is_the_body_itself() {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Page {
            total_records: u64,
        }
        assert_eq!(
            read(respond(Ok(Page { total_records: 3 }))),
            (200, serde_json::json!({"totalRecords": 3}))
        );
    }
}
