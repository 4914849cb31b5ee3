//! `POST /rest/user/devices`: register the caller's device for native push.

use admit_shared::usecases::devices;
use admit_shared::{http, App};
use lambda_http::{Body, Request, Response};

#[tracing::instrument(name = "register_device", skip_all, fields(request_id = %http::request_id(&req)))]
pub async fn handler(app: &App, req: Request) -> Response<Body> {
    let result = match http::authenticate(app, &req).await {
        Ok((_, session)) => match http::json_body::<devices::RegisterDevice>(&req) {
            Ok(body) => devices::register(app, session.user_id, body).await,
            Err(e) => Err(e),
        },
        Err(e) => Err(e),
    };
    http::respond(result)
}
