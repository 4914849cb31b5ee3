//! `POST /rest/user/password/reset/confirm` with `{"token": T, "password": P}`: sets a new
//! password with the emailed token, once; every session of the account is revoked.

use admit_shared::domain::error::DomainError;
use admit_shared::http::{self, nextinteract};
use admit_shared::usecases::password_reset::{self, ResetConfirmation};
use admit_shared::App;
use lambda_http::{Body, Request, Response};

pub const RESET: &str = "Password changed. Log in with the new password.";

pub async fn handler(app: &App, req: Request) -> Response<Body> {
    let caller = http::caller(&req);
    let result: Result<_, DomainError> = async {
        let body: ResetConfirmation = http::json_body(&req)?;
        password_reset::confirm(app, body, &caller).await
    }
    .await;
    nextinteract::respond_message(RESET, result)
}
