//! `GET /rest/user/miinvite/accept?token=T`: what an invitation offers, before accepting it.

use admit_shared::http::{self, nextinteract};
use admit_shared::usecases::invitations;
use admit_shared::App;
use lambda_http::{Body, Request, Response};

pub const INVITATION: &str = "Invitation.";

pub async fn handler(app: &App, req: Request) -> Response<Body> {
    let token = http::query_param(&req, "token");
    nextinteract::respond_with(
        INVITATION,
        invitations::preview(app, token.as_deref()).await,
    )
}
