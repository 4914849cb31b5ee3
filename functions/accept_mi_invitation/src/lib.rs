//! `POST /rest/user/miinvite/accept`: accept an invitation with its single-use token.

use admit_shared::http;
use admit_shared::usecases::invite;
use admit_shared::App;
use lambda_http::{Body, Request, Response};

#[tracing::instrument(name = "accept_mi_invitation", skip_all, fields(request_id = %http::request_id(&req)))]
pub async fn handler(app: &App, req: Request) -> Response<Body> {
    let caller = http::caller(&req);
    let result = match http::json_body::<invite::AcceptRequest>(&req) {
        Ok(body) => invite::accept(app, body, &caller).await,
        Err(e) => Err(e),
    };
    http::respond(result)
}
