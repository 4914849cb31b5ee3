//! User activity report: `POST /api/rest/v1/management/user/activity` by a site admin
//! (`Authorization: Bearer <authToken>`): the site's activity, newest first, paged.

use admit_shared::domain::error::DomainError;
use admit_shared::http::{self, auth, site};
use admit_shared::usecases::activity_report::{self, ActivityQuery, ActivityRequest};
use admit_shared::App;
use lambda_http::{Body, Request, Response};

pub async fn handler(app: &App, req: Request) -> Response<Body> {
    let result: Result<_, DomainError> = async {
        let (_, session) = auth::bearer_session(app, &req).await?;
        let body: ActivityRequest = http::json_body(&req)?;
        let query = ActivityQuery::try_from(body)?;
        activity_report::report_as(app, session.user_id, site::site_id(&req)?, query).await
    }
    .await;
    site::respond(result)
}
