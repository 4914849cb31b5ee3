//! HTTP helpers every endpoint uses: bounded JSON bodies, the family's responses, the caller's
//! request metadata, and the one auth-token extractor.

pub mod routes;

use crate::app::App;
use crate::domain::error::{ApiError, Exception, Service};
use crate::domain::secrets::Token;
use crate::domain::Caller;
use crate::ports::store::StoreError;
use crate::records::{from_item, session_key, Session};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// The largest request body accepted (bodies in the vendor pages are a few KiB).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

pub const AUTH_TOKEN_HEADER: &str = "x-nextinteract-authtoken";
pub const COMPANY_API_KEY_HEADER: &str = "x-nextinteract-company-api-key";

fn body_bytes(req: &Request) -> &[u8] {
    match req.body() {
        Body::Empty => &[],
        Body::Text(t) => t.as_bytes(),
        Body::Binary(b) => b,
        _ => &[],
    }
}

/// Parses the JSON body into `T`. Every failure is a `WSInvalidParameterException` that says
/// what is wrong (413 for an oversized body). The body is read as JSON whatever the
/// Content-Type says, as the mobile apps and curl users of the family expect.
pub fn json_body<T: DeserializeOwned>(req: &Request) -> Result<T, ApiError> {
    let bytes = body_bytes(req);
    if bytes.len() > MAX_BODY_BYTES {
        return Err(ApiError::invalid(format!(
            "request body is {} bytes; the limit is {MAX_BODY_BYTES}",
            bytes.len()
        ))
        .with_status(413));
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::invalid(
            "request body is required (a JSON object)",
        ));
    }
    serde_json::from_slice(bytes).map_err(|e| {
        use serde_json::error::Category;
        match e.classify() {
            Category::Syntax | Category::Eof | Category::Io => {
                ApiError::invalid(format!("request body is not valid JSON: {e}"))
            }
            Category::Data => ApiError::invalid(format!("invalid request body: {e}")),
        }
    })
}

fn json_response(status: u16, body: String) -> Response<Body> {
    Response::builder()
        .status(status)
        .header(http::header::CONTENT_TYPE, "application/json")
        .header(http::header::CACHE_CONTROL, "no-store")
        .body(Body::Text(body))
        .unwrap_or_else(|_| Response::new(Body::Empty))
}

/// A 200 with a JSON body.
pub fn ok<T: Serialize>(body: &T) -> Response<Body> {
    match serde_json::to_string(body) {
        Ok(s) => json_response(200, s),
        Err(e) => {
            tracing::error!(error = %e, "response body could not be serialised");
            error_response(&ApiError::new(
                Exception::UserService,
                "The service failed to answer; try again later.",
            ))
        }
    }
}

pub fn error_response(e: &ApiError) -> Response<Body> {
    let body = serde_json::to_string(&e.body()).unwrap_or_else(|_| "{}".into());
    let mut r = json_response(e.status, body);
    if let Some(secs) = e.retry_after_secs {
        if let Ok(v) = http::HeaderValue::from_str(&secs.to_string()) {
            r.headers_mut().insert(http::header::RETRY_AFTER, v);
        }
    }
    r
}

/// Turns a use case's result into the response, logging expected failures at info level.
pub fn respond<T: Serialize>(result: Result<T, ApiError>) -> Response<Body> {
    match result {
        Ok(body) => ok(&body),
        Err(e) => {
            if e.status >= 500 {
                tracing::warn!(
                    exception = e.exception.name(),
                    status = e.status,
                    "request failed"
                );
            } else {
                tracing::info!(exception = e.exception.name(), status = e.status, message = %e.message, "request refused");
            }
            error_response(&e)
        }
    }
}

/// Maps a storage failure to the service's exception, logging the full chain; the caller only
/// sees a generic message.
pub fn store_failure(service: Service) -> impl Fn(StoreError) -> ApiError {
    move |e: StoreError| {
        let mut chain = e.to_string();
        let mut src = std::error::Error::source(&e);
        while let Some(s) = src {
            chain.push_str(": ");
            chain.push_str(&s.to_string());
            src = s.source();
        }
        if e.is_transient() {
            tracing::warn!(error = %chain, "storage unavailable");
            ApiError::new(
                service.unavailable(),
                "The service is temporarily unavailable; try again shortly.",
            )
        } else {
            tracing::error!(error = %chain, "storage failure");
            ApiError::new(service.failure(), "The service failed; try again later.")
        }
    }
}

/// The caller of a request, for the activity log.
pub fn caller(req: &Request) -> Caller {
    let (ip, request_id) = match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => {
            (ctx.http.source_ip.clone(), ctx.request_id.clone())
        }
        _ => (None, None),
    };
    let request_id = request_id
        .or_else(|| req.lambda_context_ref().map(|c| c.request_id.clone()))
        .unwrap_or_default();
    let user_agent = req
        .headers()
        .get(http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|s| s.chars().take(256).collect());
    Caller {
        ip,
        user_agent,
        request_id,
    }
}

/// The request id for log lines.
pub fn request_id(req: &Request) -> String {
    caller(req).request_id
}

/// The shared auth-token extractor: the `x-nextinteract-authtoken` header must name a live
/// session. Missing, unknown, expired and revoked tokens all get WSInvalidAuthTokenException;
/// a failed lookup is WSCacheServiceException.
pub async fn authenticate(app: &App, req: &Request) -> Result<(Token, Session), ApiError> {
    let invalid = |m: &str| ApiError::new(Exception::InvalidAuthToken, m);
    let raw = req
        .headers()
        .get(AUTH_TOKEN_HEADER)
        .ok_or_else(|| invalid("x-nextinteract-authtoken header is required"))?;
    let token = raw
        .to_str()
        .ok()
        .and_then(Token::presented)
        .ok_or_else(|| invalid("auth token is not valid"))?;
    let item = app
        .store
        .get(&session_key(&token.hash()))
        .await
        .map_err(store_failure(Service::Cache))?
        .ok_or_else(|| invalid("auth token is not valid"))?;
    let session: Session = from_item(item).map_err(store_failure(Service::Cache))?;
    if session.expires_at <= app.clock.now() {
        return Err(invalid("auth token has expired; log in again"));
    }
    Ok((token, session))
}

/// The base URL for links in emails: `ADMIT_PUBLIC_URL`, or else the host the request came to.
pub fn public_base(app: &App, req: &Request) -> String {
    if !app.config.public_url.is_empty() {
        return app.config.public_url.trim_end_matches('/').to_string();
    }
    let host = match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx.domain_name.clone(),
        _ => None,
    }
    .or_else(|| {
        req.headers()
            .get(http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .map(str::to_string)
    })
    .unwrap_or_else(|| "localhost".into());
    format!("https://{host}")
}
