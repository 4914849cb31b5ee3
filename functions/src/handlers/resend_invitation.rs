//! `POST /api/businesses/{BusinessID}/invitations/resend` with `{"EmailAddress": E}`: a new
//! link (the old one stops working) and a new expiry, at most three sends an hour.

use admit_shared::domain::error::DomainError;
use admit_shared::http::{self, auth, platform};
use admit_shared::usecases::platform_invitations::{self, WhichInvitation};
use admit_shared::App;
use lambda_http::{Body, Request, Response};

pub async fn handler(app: &App, req: Request) -> Response<Body> {
    let media = platform::negotiate(&req);
    let result: Result<_, DomainError> = async {
        platform::check_content_type(&req)?;
        let principal = auth::platform_session(app, &req).await?;
        let business = platform::business_in_path(&req)?;
        let email = http::json_body::<WhichInvitation>(&req)?.email()?;
        let link_base = http::public_base(app, &req);
        let caller = http::caller(&req);
        platform_invitations::resend(app, &principal, business, &email, (&link_base, &caller)).await
    }
    .await;
    platform::respond(media, result)
}
