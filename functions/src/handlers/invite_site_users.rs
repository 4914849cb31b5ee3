//! Invite Users: `POST /api/rest/v1/management/users/invite` by a site admin
//! (`Authorization: Bearer <authToken>`): invites a user to temporary or permanent access to
//! the site and some of its groups (a live member's access is extended at once).

use admit_shared::domain::error::DomainError;
use admit_shared::http::{self, auth, site};
use admit_shared::usecases::site_access::{self, SiteInvitation, SiteInviteRequest};
use admit_shared::App;
use lambda_http::{Body, Request, Response};

pub async fn handler(app: &App, req: Request) -> Response<Body> {
    let result: Result<_, DomainError> = async {
        let (_, session) = auth::bearer_session(app, &req).await?;
        let body: SiteInviteRequest = http::json_body(&req)?;
        let invitation = SiteInvitation::try_from(body)?;
        let link_base = http::public_base(app, &req);
        site_access::invite_as(
            app,
            session.user_id,
            site::site_id(&req)?,
            invitation,
            &link_base,
            &http::caller(&req),
        )
        .await
    }
    .await;
    site::respond(result)
}
