//! The Notification Centre: `POST /rest/user/notifications/read` with `{"notificationIds": [..]}`.

use admit_shared::domain::error::DomainError;
use admit_shared::http::{self, auth, nextinteract};
use admit_shared::usecases::notifications::{self, MarkRead};
use admit_shared::App;
use lambda_http::{Body, Request, Response};

pub const MARKED_READ: &str = "Notifications marked read.";

pub async fn handler(app: &App, req: Request) -> Response<Body> {
    let result: Result<_, DomainError> = async {
        let (_, session) = auth::session(app, &req).await?;
        let body: MarkRead = http::json_body(&req)?;
        notifications::mark_read(app, session.user_id, body).await
    }
    .await;
    nextinteract::respond_with(MARKED_READ, result)
}
