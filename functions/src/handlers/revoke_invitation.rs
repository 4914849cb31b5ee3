//! `POST /api/businesses/{BusinessID}/invitations/revoke` with `{"EmailAddress": E}`: the
//! pending invitation's link stops working at once.

use admit_shared::domain::error::DomainError;
use admit_shared::http::{self, auth, platform};
use admit_shared::usecases::platform_invitations;
use admit_shared::App;
use lambda_http::{Body, Request, Response};
use serde::Deserialize;


#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Which {
    email_address: Option<String>,
}

#[tracing::instrument(name = "revoke_invitation", skip_all, fields(request_id = %http::request_id(&req)))]
pub async fn handler(app: &App, req: Request) -> Response<Body> {
    let media = platform::negotiate(&req);
    let result: Result<_, DomainError> = async {
        platform::check_content_type(&req)?;
        let principal = auth::platform_session(app, &req).await?;
        let business = platform::business_in_path(&req)?;
        let which: Which = http::json_body(&req)?;
        let email = which
            .email_address
            .ok_or_else(|| DomainError::invalid("EmailAddress is required"))?;
        platform_invitations::revoke(app, &principal, business, &email, &http::caller(&req)).await
    }
    .await;
    platform::respond(media, result)
}
