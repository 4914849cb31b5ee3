//! `GET /api/businesses/{BusinessID}/invitations?Status=S&Limit=N&After=E`: the business's
//! invitations, for its admins.

use admit_shared::domain::error::DomainError;
use admit_shared::http::{self, auth, platform};
use admit_shared::usecases::platform_invitations;
use admit_shared::App;
use lambda_http::{Body, Request, Response};

pub async fn handler(app: &App, req: Request) -> Response<Body> {
    let media = platform::negotiate(&req);
    let result: Result<_, DomainError> = async {
        let principal = auth::platform_session(app, &req).await?;
        let business = platform::business_in_path(&req)?;
        let status =
            platform_invitations::status_filter(http::query_param(&req, "Status").as_deref())?;
        let limit = match http::query_param(&req, "Limit") {
            Some(l) => l
                .parse()
                .map_err(|_| DomainError::invalid("Limit is a whole number from 1 to 100"))?,
            None => 50,
        };
        let after = http::query_param(&req, "After");
        platform_invitations::list(app, &principal, business, status, limit, after.as_deref()).await
    }
    .await;
    platform::respond(media, result)
}
