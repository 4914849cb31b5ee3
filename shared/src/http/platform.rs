//! The platform family's edge (`/api/users/...` and `/api/businesses/...`): its media types (`application/json` and the
//! `application/vnd.soa.v71+json`, `v72`, `v80`, `v81` versions, each with or without a charset),
//! content negotiation, its PascalCase bodies and its error body
//! `{"Status": N, "Error": "<reason phrase>", "Message": "..."}`.

use crate::domain::error::{DomainError, ErrorKind};
use http::header::{ACCEPT, CONTENT_TYPE};
use lambda_http::{Body, Request, Response};
use serde::Serialize;

/// The family's default media type.
pub const JSON: &str = "application/json";

/// The media types of the family, JSON first.
pub const MEDIA_TYPES: &[&str] = &[
    JSON,
    "application/vnd.soa.v71+json",
    "application/vnd.soa.v72+json",
    "application/vnd.soa.v80+json",
    "application/vnd.soa.v81+json",
];

/// The status each kind is answered with in this family.
pub fn status(kind: ErrorKind) -> u16 {
    use ErrorKind::*;
    match kind {
        InvalidParameter | PasswordLength | InvalidEmailDomainName | InvalidTeam => 400,
        // Seed 003: a missing or wrong CSRF header, and a company that does not let its users
        // invite, are both 401.
        InvalidAuthToken | InvalidLogin | InvitingDisabled => 401,
        NotPermitted
        | CompanyApiKeyNotActive
        | CompanyNotActive
        | IncorrectApiKeyType
        | UserNotActive
        | ConnectionStatusNotActive => 403,
        RecordNotFound | UserNotFound | RouteNotFound => 404,
        MethodNotAllowed => 405,
        NotAcceptable => 406,
        EmailAlreadyExists | Conflict => 409,
        Expired => 410,
        IdempotencyKeyReused => 422,
        BodyTooLarge => 413,
        UnsupportedMediaType => 415,
        AccountLocked => 423,
        TooManyRequests => 429,
        PasswordService | UserService | CompanyService | MembershipService => 500,
        UserServiceUnavailable | CompanyServiceUnavailable | CacheService => 503,
    }
}

fn reason(status: u16) -> &'static str {
    http::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("Error")
}

/// The media type (without parameters) of a header value such as
/// `application/json; charset=UTF-8`, lower-cased.
fn essence(value: &str) -> String {
    value
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

/// Checks the request's Content-Type (when it has a body): one of the family's media types, or
/// `UnsupportedMediaType`.
pub fn check_content_type(req: &Request) -> Result<(), DomainError> {
    let has_body = match req.body() {
        Body::Empty => false,
        Body::Text(t) => !t.trim().is_empty(),
        Body::Binary(b) => !b.is_empty(),
        _ => false,
    };
    if !has_body {
        return Ok(());
    }
    let given = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(essence)
        .unwrap_or_default();
    if MEDIA_TYPES.contains(&given.as_str()) {
        return Ok(());
    }
    Err(DomainError::new(
        ErrorKind::UnsupportedMediaType,
        format!(
            "Content-Type {} is not accepted; send one of {}",
            if given.is_empty() { "(none)" } else { &given },
            MEDIA_TYPES.join(", ")
        ),
    ))
}

/// The media type to answer with: the first of the caller's `Accept` entries (in order of
/// preference, `q=0` excluded) that the family has; `*/*` and `application/*` (or no `Accept`)
/// get JSON. `NotAcceptable` when none fits.
pub fn negotiate(req: &Request) -> Result<&'static str, DomainError> {
    negotiate_among(req, MEDIA_TYPES)
}

/// The first of the caller's `Accept` entries that is one of `types` (JSON first); `*/*` and
/// `application/*` (or no `Accept`) get the first of them. `NotAcceptable` when none fits.
pub(crate) fn negotiate_among(
    req: &Request,
    types: &[&'static str],
) -> Result<&'static str, DomainError> {
    let first = types.first().copied().unwrap_or(JSON);
    // No `Accept`, or an empty one, accepts anything.
    let Some(accept) = req
        .headers()
        .get(ACCEPT)
        .and_then(|v| v.to_str().ok())
        .filter(|a| !a.trim().is_empty())
    else {
        return Ok(first);
    };
    let mut wanted: Vec<(f32, usize, String)> = Vec::new();
    for (i, entry) in accept.split(',').enumerate() {
        let q = entry
            .split(';')
            .skip(1)
            .filter_map(|p| p.trim().strip_prefix("q="))
            .find_map(|q| q.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        if q > 0.0 {
            wanted.push((q, i, essence(entry)));
        }
    }
    wanted.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    for (_, _, media) in &wanted {
        if media == "*/*" || media == "application/*" {
            return Ok(first);
        }
        if let Some(m) = types.iter().find(|m| **m == media) {
            return Ok(m);
        }
    }
    Err(DomainError::new(
        ErrorKind::NotAcceptable,
        format!(
            "no acceptable media type; this call answers with {}",
            types.join(", ")
        ),
    ))
}

/// The `{BusinessID}` of the path: a business that cannot exist is simply not found.
pub fn business_in_path(req: &Request) -> Result<crate::domain::Id, DomainError> {
    super::path_param(req, "BusinessID")
        .and_then(|b| b.parse().ok())
        .ok_or_else(|| {
            DomainError::new(ErrorKind::RecordNotFound, "no such business for this user")
        })
}

/// The optional `BusinessID` query parameter.
pub fn business_in_query(req: &Request) -> Result<Option<crate::domain::Id>, DomainError> {
    super::query_param(req, "BusinessID")
        .map(|b| {
            b.parse()
                .map_err(|e: String| DomainError::invalid(format!("BusinessID: {e}")))
        })
        .transpose()
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ErrorBody<'a> {
    status: u16,
    error: &'static str,
    message: &'a str,
}

/// The platform family: problem bodies `{status, error, message}` in the negotiated media type.
pub struct Platform;

impl super::respond::ErrorShape for Platform {
    const NAME: &'static str = "platform";
    fn status(kind: ErrorKind) -> u16 {
        status(kind)
    }
    fn error_body(_: &DomainError, status: u16, message: &str) -> String {
        let body = ErrorBody {
            status,
            error: reason(status),
            message,
        };
        serde_json::to_string(&body).unwrap_or_else(|_| "{}".into())
    }
}

/// The family's error answer, in `media`.
pub fn error_response(e: &DomainError, media: &str) -> Response<Body> {
    super::respond::error::<Platform>(e, media)
}

/// A use case's result as the body, in the negotiated media type. Errors in negotiation are
/// answered in JSON.
pub fn respond<T: Serialize>(
    media: Result<&'static str, DomainError>,
    result: Result<T, DomainError>,
) -> Response<Body> {
    match media {
        Ok(m) => super::respond::respond::<Platform, T>(result, m),
        Err(e) => error_response(&e, JSON),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(headers: &[(&str, &str)], body: &str) -> Request {
        let mut b = http::Request::builder()
            .method("POST")
            .uri("/api/users/invitations");
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        b.body(Body::Text(body.into())).unwrap()
    }

    #[test]
    fn every_family_type_with_or_without_a_charset_is_read() {
        for m in MEDIA_TYPES {
            let with = format!("{m}; charset=UTF-8");
            assert!(check_content_type(&req(&[("content-type", m)], "{}")).is_ok());
            assert!(check_content_type(&req(&[("content-type", &with)], "{}")).is_ok());
        }
        for bad in [
            "text/plain",
            "application/xml",
            "application/x-www-form-urlencoded",
        ] {
            let e = check_content_type(&req(&[("content-type", bad)], "{}")).unwrap_err();
            assert_eq!(status(e.kind), 415, "{bad}");
        }
        assert_eq!(
            status(check_content_type(&req(&[], "{}")).unwrap_err().kind),
            415
        );
    }

    #[test]
    fn the_answer_follows_accept() {
        let n = |a: &str| negotiate(&req(&[("accept", a)], ""));
        assert_eq!(negotiate(&req(&[], "")).unwrap(), "application/json");
        assert_eq!(n("*/*").unwrap(), "application/json");
        assert_eq!(
            n("application/vnd.soa.v80+json").unwrap(),
            "application/vnd.soa.v80+json"
        );
        assert_eq!(
            n("text/html, application/vnd.soa.v72+json;q=0.5, application/json;q=0.9").unwrap(),
            "application/json"
        );
        assert_eq!(status(n("text/html").unwrap_err().kind), 406);
        assert_eq!(status(n("application/json;q=0").unwrap_err().kind), 406);
    }

    #[test]
    fn every_kind_has_a_status_and_errors_have_the_family_shape() {
        let e = DomainError::new(ErrorKind::InvitingDisabled, "users may not invite");
        let r = error_response(&e, "application/vnd.soa.v81+json");
        assert_eq!(r.status().as_u16(), 401);
        assert_eq!(r.headers()[CONTENT_TYPE], "application/vnd.soa.v81+json");
        let Body::Text(b) = r.body() else { panic!() };
        let v: serde_json::Value = serde_json::from_str(b).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"Status": 401, "Error": "Unauthorized", "Message": "users may not invite"})
        );
    }
}
