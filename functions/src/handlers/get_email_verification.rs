//! `GET /rest/user/verify?token=T`: what an email verification link is for. Opening the link
//! never uses it up (mail scanners and link previews open links); `POST` does.

use admit_shared::http::{self, nextinteract};
use admit_shared::usecases::verification;
use admit_shared::App;
use lambda_http::{Body, Request, Response};

pub const VERIFICATION: &str = "Email verification.";

pub async fn handler(app: &App, req: Request) -> Response<Body> {
    let token = http::query_param(&req, "token");
    nextinteract::respond_with(
        VERIFICATION,
        verification::preview(app, token.as_deref()).await,
    )
}
