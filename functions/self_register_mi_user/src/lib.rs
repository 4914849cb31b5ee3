//! selfRegisterMIUser: `POST /rest/user/mi/selfregister`, called by the apps with an app key.

use admit_shared::http;
use admit_shared::usecases::register;
use admit_shared::App;
use lambda_http::{Body, Request, Response};

#[tracing::instrument(name = "self_register_mi_user", skip_all, fields(request_id = %http::request_id(&req)))]
pub async fn handler(app: &App, req: Request) -> Response<Body> {
    let caller = http::caller(&req);
    let result = match http::json_body::<register::SelfRegistration>(&req) {
        Ok(body) => register::self_register(app, body, &caller).await,
        Err(e) => Err(e),
    };
    http::respond(result)
}
