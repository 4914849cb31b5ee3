//! `POST /rest/user/verify` with `{"token": T, "password": P, "newPassword": N}` (or the
//! account's session instead of `password`): proves control of the address, once, by the
//! account's own password holder, who sets a new password; every session and device ends.

use admit_shared::domain::error::DomainError;
use admit_shared::http::{self, auth, nextinteract};
use admit_shared::usecases::verification::{self, Proof};
use admit_shared::App;
use lambda_http::{Body, Request, Response};
use serde::Deserialize;

pub const VERIFIED: &str = "Email address verified.";

#[derive(Debug, Deserialize)]
struct VerifyRequest {
    token: Option<String>,
    password: Option<String>,
    #[serde(rename = "newPassword")]
    new_password: Option<String>,
}

pub async fn handler(app: &App, req: Request) -> Response<Body> {
    let caller = http::caller(&req);
    let result: Result<_, DomainError> = async {
        let body: VerifyRequest = http::json_body(&req)?;
        let session = auth::optional_session(app, &req).await?;
        let proof = match &session {
            Some(s) => Proof::Session(s),
            None => Proof::Password(body.password.as_deref()),
        };
        let new_password = body.new_password.as_deref();
        verification::confirm(app, body.token.as_deref(), proof, new_password, &caller).await
    }
    .await;
    nextinteract::respond_with(VERIFIED, result)
}
