//! Auth extractors. The NextInteract family's two kinds: the session token in
//! `x-nextinteract-authtoken` and the company API key in `x-nextinteract-company-api-key`; the
//! site family's: the same session token as `Authorization: Bearer <authToken>`. They read the
//! header and hand the value to the use case that checks it.

use crate::app::App;
use crate::domain::error::{DomainError, ErrorKind, Service};
use crate::domain::secrets::Token;
use crate::records::{ApiKey, ApiKeyType, Company, Session};
use crate::usecases::platform::Principal;
use crate::usecases::{apikeys, sessions};
use lambda_http::Request;

pub const AUTH_TOKEN_HEADER: &str = "x-nextinteract-authtoken";
pub const COMPANY_API_KEY_HEADER: &str = "x-nextinteract-company-api-key";

/// The session named by `x-nextinteract-authtoken`. Missing, unknown, expired and revoked
/// tokens are all `InvalidAuthToken`; a failed lookup is `CacheService`.
pub async fn session(app: &App, req: &Request) -> Result<(Token, Session), DomainError> {
    let invalid = |m: &str| DomainError::new(ErrorKind::InvalidAuthToken, m);
    let raw = req
        .headers()
        .get(AUTH_TOKEN_HEADER)
        .ok_or_else(|| invalid("x-nextinteract-authtoken header is required"))?;
    let token = raw
        .to_str()
        .ok()
        .and_then(Token::presented)
        .ok_or_else(|| invalid("auth token is not valid"))?;
    let session = sessions::authenticate(app, &token, &super::caller(req)).await?;
    Ok((token, session))
}

/// The session token in the session cookie, when the request carries one.
pub fn session_cookie(req: &Request) -> Option<String> {
    super::cookie(req, SESSION_COOKIE).filter(|v| !v.is_empty())
}

/// The `Set-Cookie` value that removes the session cookie from the browser.
pub const CLEAR_SESSION_COOKIE: &str =
    "admit_session=; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age=0";

/// The session of logoutUser: `x-nextinteract-authtoken`, or else the session cookie of a
/// browser that logged in with `setCookie` (from this API's own origin only, so a page
/// elsewhere cannot sign the browser out). Also says whether the cookie named it.
pub async fn session_or_cookie(app: &App, req: &Request) -> Result<(Session, bool), DomainError> {
    if req.headers().get(AUTH_TOKEN_HEADER).is_some() {
        return Ok((session(app, req).await?.1, false));
    }
    let Some(raw) = session_cookie(req) else {
        return Ok((session(app, req).await?.1, false));
    };
    super::check_same_origin(app, req)?;
    let token = Token::presented(&raw)
        .ok_or_else(|| DomainError::new(ErrorKind::InvalidAuthToken, "auth token is not valid"))?;
    Ok((
        sessions::authenticate(app, &token, &super::caller(req)).await?,
        true,
    ))
}

/// The session named by `x-nextinteract-authtoken` when the request carries the header
/// (calls that work signed in or not); a header that names no live session is refused.
pub async fn optional_session(app: &App, req: &Request) -> Result<Option<Session>, DomainError> {
    if req.headers().get(AUTH_TOKEN_HEADER).is_none() {
        return Ok(None);
    }
    Ok(Some(session(app, req).await?.1))
}

/// The company API key in `x-nextinteract-company-api-key`, of one of the `accepted` types,
/// resolved to its active key and company.
pub async fn company_key(
    app: &App,
    req: &Request,
    accepted: &[ApiKeyType],
    service: Service,
) -> Result<(ApiKey, Company), DomainError> {
    let raw = req
        .headers()
        .get(COMPANY_API_KEY_HEADER)
        .ok_or_else(|| DomainError::invalid("x-nextinteract-company-api-key header is required"))?
        .to_str()
        .map_err(|_| DomainError::invalid("API key is malformed"))?;
    apikeys::resolve_any(app, raw, accepted, service).await
}

/// The cookie a browser keeps a session in (loginUser sets it when asked with `setCookie`).
pub const SESSION_COOKIE: &str = "admit_session";

/// The session of a platform-family call: `Authorization: Bearer <authToken>`, or the session
/// cookie (then the call also carries the CSRF headers it has, checked per company by the use
/// case: their names hold the company id).
pub async fn platform_session(app: &App, req: &Request) -> Result<Principal, DomainError> {
    let invalid = |m: &str| DomainError::new(ErrorKind::InvalidAuthToken, m);
    let bearer = req
        .headers()
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, token) = v.trim().split_once(' ')?;
            scheme
                .eq_ignore_ascii_case("bearer")
                .then(|| token.trim().to_string())
        });
    let cookie = || session_cookie(req);
    let (raw, via_cookie) = match bearer {
        Some(b) => (b, false),
        None => (
            cookie().ok_or_else(|| {
                invalid(
                    "sign in first: send Authorization: Bearer <authToken> or the session cookie",
                )
            })?,
            true,
        ),
    };
    if via_cookie {
        // A cookie rides along with any site's requests; a page elsewhere may not use it.
        super::check_same_origin(app, req)?;
    }
    let token = Token::presented(&raw).ok_or_else(|| invalid("auth token is not valid"))?;
    let session = sessions::authenticate(app, &token, &super::caller(req)).await?;
    let csrf_headers = req
        .headers()
        .iter()
        .filter_map(|(name, value)| csrf_header(name.as_str(), value.as_bytes()))
        .collect();
    Ok(Principal {
        session,
        via_cookie,
        csrf_headers,
    })
}

/// The session named by `Authorization: Bearer <authToken>` (the token loginUser returns; the
/// scheme is matched without case). Missing, malformed, unknown, expired and revoked tokens
/// are all `InvalidAuthToken`; a failed lookup is `CacheService`.
pub async fn bearer_session(app: &App, req: &Request) -> Result<(Token, Session), DomainError> {
    let invalid = |m: &str| DomainError::new(ErrorKind::InvalidAuthToken, m);
    let raw = req
        .headers()
        .get(http::header::AUTHORIZATION)
        .ok_or_else(|| invalid("the Authorization header is required: Bearer <authToken>"))?
        .to_str()
        .map_err(|_| invalid("the Authorization header must be Bearer <authToken>"))?;
    let token = raw
        .trim()
        .split_once(' ')
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .and_then(|(_, t)| Token::presented(t.trim()))
        .ok_or_else(|| invalid("the Authorization header must be Bearer <authToken>"))?;
    let session = sessions::authenticate(app, &token, &super::caller(req)).await?;
    Ok((token, session))
}

/// An `X-Csrf-Token_{companyId}` header (names arrive lower-cased) as (company id text,
/// value); any other header, or a value that is not text, is `None`.
fn csrf_header(name: &str, value: &[u8]) -> Option<(String, String)> {
    let company = name.strip_prefix("x-csrf-token_")?;
    let value = std::str::from_utf8(value).ok()?;
    Some((company.to_string(), value.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Any header name and value bytes are read or skipped: never a panic.
        #[test]
        fn any_header_is_answered(name in any::<String>(), value in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = csrf_header(&name, &value);
        }

        /// A CSRF header for a company reads back as that company and value.
        #[test]
        fn csrf_headers_round_trip(company in 1u64..=crate::domain::values::MAX_SAFE_ID, value in "[ -~]{0,80}") {
            let name = format!("x-csrf-token_{company}");
            prop_assert_eq!(
                csrf_header(&name, value.as_bytes()),
                Some((company.to_string(), value.clone()))
            );
        }
    }
}
