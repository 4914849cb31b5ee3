//! assignMemberToTeams: `POST /rest/company/membership/teams/assign` with an admin company key.

use admit_shared::usecases::teams;
use admit_shared::{http, App};
use lambda_http::{Body, Request, Response};

#[tracing::instrument(name = "assign_member_to_teams", skip_all, fields(request_id = %http::request_id(&req)))]
pub async fn handler(app: &App, req: Request) -> Response<Body> {
    let result = match http::json_body::<teams::AssignRequest>(&req) {
        Ok(body) => teams::assign(app, &req, body).await,
        Err(e) => Err(e),
    };
    http::respond(result)
}
