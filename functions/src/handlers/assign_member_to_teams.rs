//! assignMemberToTeams: `POST /rest/company/membership/teams/assign` with an admin company key.

use admit_shared::domain::error::{DomainError, Service};
use admit_shared::http::{self, auth, nextinteract};
use admit_shared::records::ApiKeyType;
use admit_shared::usecases::teams::{self, AssignRequest, Assignment};
use admit_shared::App;
use lambda_http::{Body, Request, Response};

pub async fn handler(app: &App, req: Request) -> Response<Body> {
    let result: Result<_, DomainError> = async {
        // The body is checked before the key, so a bad body costs no lookup.
        let body: AssignRequest = http::json_body(&req)?;
        let assignment = Assignment::try_from(body)?;
        let (_, company) =
            auth::company_key(app, &req, &[ApiKeyType::Admin], Service::Company).await?;
        teams::assign(app, &company, assignment, &http::caller(&req)).await
    }
    .await;
    nextinteract::respond(result)
}
