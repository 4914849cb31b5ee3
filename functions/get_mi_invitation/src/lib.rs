//! `GET /rest/user/miinvite/accept?token=T`: what an invitation offers, before accepting it.

use admit_shared::usecases::invite;
use admit_shared::{http, App};
use lambda_http::{Body, Request, RequestExt, Response};

#[tracing::instrument(name = "get_mi_invitation", skip_all, fields(request_id = %http::request_id(&req)))]
pub async fn handler(app: &App, req: Request) -> Response<Body> {
    let query = req.query_string_parameters();
    http::respond(invite::preview(app, query.first("token")).await)
}
