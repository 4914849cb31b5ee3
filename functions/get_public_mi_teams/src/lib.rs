//! getPublicMITeams: `GET /rest/company/teams/public` with an admin or app company key.

use admit_shared::usecases::teams;
use admit_shared::{http, App};
use lambda_http::{Body, Request, Response};

#[tracing::instrument(name = "get_public_mi_teams", skip_all, fields(request_id = %http::request_id(&req)))]
pub async fn handler(app: &App, req: Request) -> Response<Body> {
    http::respond(teams::public_teams(app, &req).await)
}
