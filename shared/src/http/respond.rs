//! One responder skeleton for every API family: a use case's result becomes a response here,
//! the same way in each family. Serialising the body (a body that cannot be serialised is a
//! 500), masking a server fault's message (its own text may name what failed inside; the
//! caller is told only whether to try again soon), one log line per refusal with one field set
//! (`family`, `kind`, `status`, and `exception` where the family names its errors) and
//! `Retry-After` for lockouts and limits. Each family keeps only what is its own: the status of
//! each kind and the shape of its error body (`ErrorShape`).

use crate::domain::error::{DomainError, ErrorKind};
use lambda_http::{Body, Response};
use serde::Serialize;

/// What a server fault's answer says when the store or a service is unavailable (503).
pub const UNAVAILABLE: &str = "The service is temporarily unavailable; try again shortly.";
/// What any other server fault's answer says.
pub const FAILED: &str = "The service failed; try again later.";

/// What a family decides about its answers.
pub trait ErrorShape {
    /// The family's name in logs.
    const NAME: &'static str;
    /// The HTTP status of an error of `kind`.
    fn status(kind: ErrorKind) -> u16;
    /// The family's name of `kind`, when it names its errors (in logs and bodies).
    fn exception(kind: ErrorKind) -> Option<&'static str> {
        let _ = kind;
        None
    }
    /// The error body of `e` with the status it is answered with and the message the caller
    /// may see.
    fn error_body(e: &DomainError, status: u16, message: &str) -> String;
}

/// The message the caller sees for `e`: its own, unless it is a server fault.
pub fn public_message(e: &DomainError, status: u16) -> &str {
    match (e.kind.is_server_fault(), status) {
        (false, _) => &e.message,
        (true, 503) => UNAVAILABLE,
        (true, _) => FAILED,
    }
}

/// A use case's result: its value as the body (`200`), or the family's error.
pub fn respond<F: ErrorShape, T: Serialize>(
    result: Result<T, DomainError>,
    content_type: &str,
) -> Response<Body> {
    let e = match result.map(|v| serde_json::to_string(&v)) {
        Ok(Ok(body)) => return response(200, content_type, body),
        Ok(Err(err)) => {
            tracing::error!(family = F::NAME, error = %err, "response body could not be serialised");
            DomainError::new(ErrorKind::UserService, FAILED)
        }
        Err(e) => e,
    };
    error::<F>(&e, content_type)
}

/// The family's answer to an error, logged once.
pub fn error<F: ErrorShape>(e: &DomainError, content_type: &str) -> Response<Body> {
    let status = F::status(e.kind);
    log::<F>(e, status);
    let body = F::error_body(e, status, public_message(e, status));
    let mut r = response(status, content_type, body);
    retry_after(&mut r, e);
    r
}

/// `Retry-After` (seconds) when the error says when to try again.
pub fn retry_after(r: &mut Response<Body>, e: &DomainError) {
    if let Some(v) = e
        .retry_after_secs
        .and_then(|s| http::HeaderValue::from_str(&s.to_string()).ok())
    {
        r.headers_mut().insert(http::header::RETRY_AFTER, v);
    }
}

/// One line per refusal: a server fault as a warning without its message (the use case logged
/// the cause), anything else as information with it.
fn log<F: ErrorShape>(e: &DomainError, status: u16) {
    let exception = F::exception(e.kind).unwrap_or_default();
    if e.kind.is_server_fault() {
        tracing::warn!(family = F::NAME, kind = ?e.kind, status, exception, "request failed");
    } else {
        tracing::info!(family = F::NAME, kind = ?e.kind, status, exception, message = %e.message, "request refused");
    }
}

/// A body with its type, never cached.
pub fn response(status: u16, content_type: &str, body: String) -> Response<Body> {
    Response::builder()
        .status(status)
        .header(http::header::CONTENT_TYPE, content_type)
        .header(http::header::CACHE_CONTROL, "no-store")
        .body(Body::Text(body))
        .unwrap_or_else(|_| Response::new(Body::Empty))
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Plain;
    impl ErrorShape for Plain {
        const NAME: &'static str = "plain";
        fn status(kind: ErrorKind) -> u16 {
            super::super::nextinteract::status(kind)
        }
        fn error_body(_: &DomainError, status: u16, message: &str) -> String {
            format!("{status} {message}")
        }
    }

    fn text(r: &Response<Body>) -> &str {
        match r.body() {
            Body::Text(t) => t,
            _ => "",
        }
    }

    #[test]
    fn a_server_fault_says_only_whether_to_try_again_soon() {
        let inside = DomainError::new(ErrorKind::UserServiceUnavailable, "table admit-x: timeout");
        let r = error::<Plain>(&inside, "text/plain");
        assert_eq!(text(&r), format!("503 {UNAVAILABLE}"));
        let inside = DomainError::new(ErrorKind::UserService, "item USER#1 is corrupt");
        assert_eq!(
            text(&error::<Plain>(&inside, "text/plain")),
            format!("500 {FAILED}")
        );
        let mine = DomainError::invalid("email is required");
        assert_eq!(
            text(&error::<Plain>(&mine, "text/plain")),
            "400 email is required"
        );
    }

    #[test]
    fn a_limit_says_when_to_retry_and_success_is_the_body() {
        let mut limited = DomainError::new(ErrorKind::TooManyRequests, "too many");
        limited.retry_after_secs = Some(42);
        let r = error::<Plain>(&limited, "text/plain");
        assert_eq!(r.headers()[http::header::RETRY_AFTER], "42");
        let ok = respond::<Plain, _>(Ok(serde_json::json!({"a": 1})), "application/json");
        assert_eq!((ok.status().as_u16(), text(&ok)), (200, r#"{"a":1}"#));
        assert_eq!(ok.headers()[http::header::CACHE_CONTROL], "no-store");
    }
}
