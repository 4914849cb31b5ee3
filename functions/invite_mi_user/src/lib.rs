//! inviteMIUser: `POST /rest/user/miinvite` by an authenticated rep or admin.

use admit_shared::usecases::invite;
use admit_shared::{http, App};
use lambda_http::{Body, Request, Response};

#[tracing::instrument(name = "invite_mi_user", skip_all, fields(request_id = %http::request_id(&req)))]
pub async fn handler(app: &App, req: Request) -> Response<Body> {
    let result = match http::authenticate(app, &req).await {
        Ok((_, session)) => match http::json_body::<invite::InviteRequest>(&req) {
            Ok(body) => {
                invite::invite(app, session.user_id, body, &http::public_base(app, &req)).await
            }
            Err(e) => Err(e),
        },
        Err(e) => Err(e),
    };
    http::respond(result)
}
