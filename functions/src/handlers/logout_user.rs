//! logoutUser: `POST /rest/user/logout` revokes the token in `x-nextinteract-authtoken`, or the
//! session cookie of a browser that logged in with `setCookie` (same origin only). Whenever the
//! request carries the cookie and its session is gone (logged out now, or already invalid), the
//! answer clears it (`Max-Age=0`); the session's CSRF token ends with the session.

use admit_shared::domain::error::{DomainError, ErrorKind};
use admit_shared::http::{self, auth, nextinteract};
use admit_shared::usecases::login;
use admit_shared::App;
use lambda_http::http::{header, HeaderValue};
use lambda_http::{Body, Request, Response};

pub const LOGGED_OUT: &str = "User logged out.";

pub async fn handler(app: &App, req: Request) -> Response<Body> {
    let caller = http::caller(&req);
    let mut via_cookie = false;
    let result: Result<_, DomainError> = async {
        let (session, cookie) = auth::session_or_cookie(app, &req).await?;
        via_cookie = cookie;
        login::logout(app, &session, &caller).await
    }
    .await;
    // The cookie goes when it named the session logged out, or names none that is live; a
    // refused origin keeps it (a page elsewhere may not sign the browser out), and so does a
    // call that named another session by its header.
    let by_header = req.headers().contains_key(auth::AUTH_TOKEN_HEADER);
    let clear = auth::session_cookie(&req).is_some()
        && match &result {
            Ok(()) => via_cookie,
            Err(e) => !by_header && e.kind == ErrorKind::InvalidAuthToken,
        };
    let mut response = nextinteract::respond_message(LOGGED_OUT, result);
    if clear {
        response.headers_mut().append(
            header::SET_COOKIE,
            HeaderValue::from_static(auth::CLEAR_SESSION_COOKIE),
        );
    }
    response
}
