//! `DELETE /rest/user/devices/{deviceId}`: remove one of the caller's devices.

use admit_shared::usecases::devices;
use admit_shared::{http, App};
use lambda_http::{Body, Request, RequestExt, Response};

#[tracing::instrument(name = "remove_device", skip_all, fields(request_id = %http::request_id(&req)))]
pub async fn handler(app: &App, req: Request) -> Response<Body> {
    let params = req.path_parameters();
    let device_id = params.first("deviceId").unwrap_or_default().to_string();
    let result = match http::authenticate(app, &req).await {
        Ok((_, session)) => devices::remove(app, session.user_id, &device_id).await,
        Err(e) => Err(e),
    };
    http::respond(result)
}
