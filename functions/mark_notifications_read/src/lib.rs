//! The Notification Centre: `POST /rest/user/notifications/read` with `{"notificationIds": [..]}`.

use admit_shared::usecases::notifications;
use admit_shared::{http, App};
use lambda_http::{Body, Request, Response};

#[tracing::instrument(name = "mark_notifications_read", skip_all, fields(request_id = %http::request_id(&req)))]
pub async fn handler(app: &App, req: Request) -> Response<Body> {
    let result = match http::authenticate(app, &req).await {
        Ok((_, session)) => match http::json_body::<notifications::MarkRead>(&req) {
            Ok(body) => notifications::mark_read(app, session.user_id, body).await,
            Err(e) => Err(e),
        },
        Err(e) => Err(e),
    };
    http::respond(result)
}
