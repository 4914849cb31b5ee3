//! getPublicMITeams: `GET /rest/company/teams/public` with an admin or app company key.

use admit_shared::domain::error::{DomainError, Service};
use admit_shared::http::{auth, nextinteract};
use admit_shared::records::ApiKeyType;
use admit_shared::usecases::teams;
use admit_shared::App;
use lambda_http::{Body, Request, Response};

pub async fn handler(app: &App, req: Request) -> Response<Body> {
    let result: Result<_, DomainError> = async {
        let accepted = [ApiKeyType::Admin, ApiKeyType::App];
        let (_, company) = auth::company_key(app, &req, &accepted, Service::Company).await?;
        teams::public_teams(app, &company).await
    }
    .await;
    nextinteract::respond(result)
}
