//! inviteMIUser: `POST /rest/user/miinvite` by an authenticated rep or admin.

use admit_shared::domain::error::DomainError;
use admit_shared::http::{self, auth, nextinteract};
use admit_shared::usecases::invite_mi_user::{self, InviteRequest, MiInvitation};
use admit_shared::App;
use lambda_http::{Body, Request, Response};

pub const INVITED: &str = "MI User invited.";

pub async fn handler(app: &App, req: Request) -> Response<Body> {
    let result: Result<_, DomainError> = async {
        let (_, session) = auth::session(app, &req).await?;
        let body: InviteRequest = http::json_body(&req)?;
        let invitation = MiInvitation::try_from(body)?;
        let link_base = http::public_base(app, &req);
        let caller = http::caller(&req);
        invite_mi_user::invite(app, session.user_id, invitation, &link_base, &caller).await
    }
    .await;
    nextinteract::respond_message(INVITED, result)
}
