//! The Notification Centre: `GET /rest/user/notifications?limit=N&cursor=C`, newest first.

use admit_shared::usecases::notifications;
use admit_shared::{http, App};
use lambda_http::{Body, Request, RequestExt, Response};

#[tracing::instrument(name = "list_notifications", skip_all, fields(request_id = %http::request_id(&req)))]
pub async fn handler(app: &App, req: Request) -> Response<Body> {
    let query = req.query_string_parameters();
    let result = match http::authenticate(app, &req).await {
        Ok((_, session)) => {
            notifications::list(
                app,
                session.user_id,
                query.first("limit"),
                query.first("cursor"),
            )
            .await
        }
        Err(e) => Err(e),
    };
    http::respond(result)
}
