//! `POST /rest/user/password/reset` with `{"emailAddress": E}`: emails a single-use reset link
//! if the address has an account. The answer is the same either way.

use admit_shared::domain::error::DomainError;
use admit_shared::http::{self, nextinteract};
use admit_shared::usecases::password_reset::{self, ResetRequest};
use admit_shared::App;
use lambda_http::{Body, Request, Response};

pub const REQUESTED: &str = "If this address has an account, a reset link is on its way.";

pub async fn handler(app: &App, req: Request) -> Response<Body> {
    let result: Result<_, DomainError> = async {
        let body: ResetRequest = http::json_body(&req)?;
        let email = password_reset::requested_address(body)?;
        password_reset::request(app, email, &http::public_base(app, &req)).await
    }
    .await;
    nextinteract::respond_message(REQUESTED, result)
}
