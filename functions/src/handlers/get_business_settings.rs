//! `GET /api/businesses/{BusinessID}/settings[?IncludeSecuritySettings=true]`: a business's
//! settings for its members; security settings only when asked, for its admins.

use admit_shared::domain::error::DomainError;
use admit_shared::http::{self, auth, platform};
use admit_shared::usecases::settings;
use admit_shared::App;
use lambda_http::{Body, Request, Response};

pub async fn handler(app: &App, req: Request) -> Response<Body> {
    let media = platform::negotiate(&req);
    let result: Result<_, DomainError> = async {
        let principal = auth::platform_session(app, &req).await?;
        let business = platform::business_in_path(&req)?;
        let security = http::query_param(&req, "IncludeSecuritySettings")
            .is_some_and(|v| v.eq_ignore_ascii_case("true"));
        settings::get(app, &principal, business, security).await
    }
    .await;
    platform::respond(media, result)
}
