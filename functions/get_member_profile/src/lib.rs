//! `GET /rest/company/membership/user?userId=N` with an admin company key: a member's user,
//! membership, contact and registration details.

use admit_shared::usecases::teams;
use admit_shared::{http, App};
use lambda_http::{Body, Request, RequestExt, Response};

#[tracing::instrument(name = "get_member_profile", skip_all, fields(request_id = %http::request_id(&req)))]
pub async fn handler(app: &App, req: Request) -> Response<Body> {
    let query = req.query_string_parameters();
    http::respond(teams::member_profile(app, &req, query.first("userId")).await)
}
