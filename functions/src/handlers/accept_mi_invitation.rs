//! `POST /rest/user/miinvite/accept`: accept an invitation with its single-use token.

use admit_shared::domain::error::DomainError;
use admit_shared::http::{self, auth, nextinteract};
use admit_shared::usecases::invitations::{self, AcceptRequest};
use admit_shared::App;
use lambda_http::{Body, Request, Response};

pub const ACCEPTED: &str = "Invitation accepted.";

pub async fn handler(app: &App, req: Request) -> Response<Body> {
    let caller = http::caller(&req);
    let result: Result<_, DomainError> = async {
        let body: AcceptRequest = http::json_body(&req)?;
        let session = auth::optional_session(app, &req).await?;
        invitations::accept(app, body, session.as_ref(), &caller).await
    }
    .await;
    nextinteract::respond_with(ACCEPTED, result)
}
