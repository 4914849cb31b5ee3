//! `POST /api/users/invitations`, the platform's invitations: a signed-in user invites addresses into their
//! business. Bearer or cookie session (cookie sessions send `X-Csrf-Token_{BusinessID}`).

use admit_shared::domain::error::DomainError;
use admit_shared::http::{self, auth, platform};
use admit_shared::usecases::platform_invitations::{self, UserInvite, UserInviteRequest};
use admit_shared::App;
use lambda_http::{Body, Request, Response};

pub async fn handler(app: &App, req: Request) -> Response<Body> {
    let media = platform::negotiate(&req);
    let result: Result<_, DomainError> = async {
        platform::check_content_type(&req)?;
        let principal = auth::platform_session(app, &req).await?;
        let body: UserInviteRequest = http::json_body(&req)?;
        let input = UserInvite::try_from(body)?;
        let business = platform::business_in_query(&req)?;
        let link_base = http::public_base(app, &req);
        let caller = http::caller(&req);
        platform_invitations::invite_users(app, &principal, business, input, (&link_base, &caller))
            .await
    }
    .await;
    platform::respond(media, result)
}
