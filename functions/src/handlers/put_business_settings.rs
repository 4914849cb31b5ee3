//! `PUT /api/businesses/{BusinessID}/settings`: the business's admins change its settings.

use admit_shared::domain::error::DomainError;
use admit_shared::http::{self, auth, platform};
use admit_shared::usecases::settings::{self, SettingsUpdate};
use admit_shared::App;
use lambda_http::{Body, Request, Response};

pub async fn handler(app: &App, req: Request) -> Response<Body> {
    let media = platform::negotiate(&req);
    let result: Result<_, DomainError> = async {
        platform::check_content_type(&req)?;
        let principal = auth::platform_session(app, &req).await?;
        let business = platform::business_in_path(&req)?;
        let update: SettingsUpdate = http::json_body(&req)?;
        settings::put(app, &principal, business, update).await
    }
    .await;
    platform::respond(media, result)
}
