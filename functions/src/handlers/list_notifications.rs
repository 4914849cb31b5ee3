//! The Notification Centre: `GET /rest/user/notifications?limit=N&cursor=C`, newest first.

use admit_shared::domain::error::DomainError;
use admit_shared::http::{self, auth, nextinteract};
use admit_shared::usecases::notifications;
use admit_shared::App;
use lambda_http::{Body, Request, Response};

pub const NOTIFICATIONS: &str = "Notifications.";

pub async fn handler(app: &App, req: Request) -> Response<Body> {
    let result: Result<_, DomainError> = async {
        let (_, session) = auth::session(app, &req).await?;
        let limit = notifications::page_limit(http::query_param(&req, "limit").as_deref())?;
        let cursor = http::query_param(&req, "cursor");
        notifications::list(app, session.user_id, limit, cursor.as_deref()).await
    }
    .await;
    nextinteract::respond_with(NOTIFICATIONS, result)
}
