//! loginUser: `POST /rest/user/login`.

use admit_shared::domain::error::DomainError;
use admit_shared::http::{self, auth, nextinteract};
use admit_shared::usecases::login::{self, Credentials, LoginRequest};
use admit_shared::App;
use lambda_http::{Body, Request, Response};

pub const LOGGED_IN: &str = "User logged in.";

pub async fn handler(app: &App, req: Request) -> Response<Body> {
    let caller = http::caller(&req);
    let result: Result<_, DomainError> = async {
        let body: LoginRequest = http::json_body(&req)?;
        if body.set_cookie == Some(true) {
            cookie_request_allowed(app, &req)?;
        }
        login::login(app, Credentials::try_from(body)?, &caller).await
    }
    .await;
    // A browser asked to keep the session in a cookie: HttpOnly (no script reads it), Secure,
    // SameSite=Strict, and the platform calls that read it also want the CSRF token. The token
    // is then in the cookie only: a body a script can read would undo HttpOnly.
    let mut result = result;
    let cookie = match &mut result {
        Ok(granted) if granted.csrf_token.is_some() => Some(format!(
            "{}={}; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age={}",
            auth::SESSION_COOKIE,
            std::mem::take(&mut granted.auth_token),
            app.config.session_ttl.as_secs()
        )),
        _ => None,
    };
    let mut response = nextinteract::respond_with(LOGGED_IN, result);
    if let Some(v) = cookie.and_then(|c| lambda_http::http::HeaderValue::from_str(&c).ok()) {
        response
            .headers_mut()
            .insert(lambda_http::http::header::SET_COOKIE, v);
    }
    response
}

/// A login that sets the session cookie must not be one a page elsewhere sent (login CSRF):
/// its body is declared JSON, which no HTML form can send (else `UnsupportedMediaType`), and
/// an `Origin` header, when there is one, is this API's own (else `NotPermitted`).
fn cookie_request_allowed(app: &App, req: &Request) -> Result<(), DomainError> {
    http::require_json_content_type(req)?;
    http::check_same_origin(app, req)
}
