//! loginUser: `POST /rest/user/login`.

use admit_shared::http;
use admit_shared::usecases::login;
use admit_shared::App;
use lambda_http::{Body, Request, Response};

#[tracing::instrument(name = "login_user", skip_all, fields(request_id = %http::request_id(&req)))]
pub async fn handler(app: &App, req: Request) -> Response<Body> {
    let caller = http::caller(&req);
    let result = match http::json_body::<login::LoginRequest>(&req) {
        Ok(body) => login::login(app, body, &caller).await,
        Err(e) => Err(e),
    };
    http::respond(result)
}
