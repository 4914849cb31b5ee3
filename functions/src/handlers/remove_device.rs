//! `DELETE /rest/user/devices/{deviceId}`: remove one of the caller's devices.

use admit_shared::domain::error::DomainError;
use admit_shared::http::{self, auth, nextinteract};
use admit_shared::usecases::devices;
use admit_shared::App;
use lambda_http::{Body, Request, Response};

pub const REMOVED: &str = "Device removed.";

pub async fn handler(app: &App, req: Request) -> Response<Body> {
    let result: Result<_, DomainError> = async {
        let (_, session) = auth::session(app, &req).await?;
        let device_id = http::path_param(&req, "deviceId").unwrap_or_default();
        devices::remove(app, session.user_id, &device_id).await
    }
    .await;
    nextinteract::respond_with(REMOVED, result)
}
