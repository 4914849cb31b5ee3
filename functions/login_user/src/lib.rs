//! loginUser: `POST /rest/user/login`.

use admit_shared::http::{self, Caller};
use admit_shared::login;
use admit_shared::App;
use lambda_http::{Body, Request, Response};

#[tracing::instrument(name = "login_user", skip_all, fields(request_id = %http::request_id(&req)))]
pub async fn handler(app: &App, req: Request) -> Response<Body> {
    let caller = Caller::of(&req);
    let result = match http::json_body::<login::LoginRequest>(&req) {
        Ok(body) => login::login(app, body, &caller).await,
        Err(e) => Err(e),
    };
    http::respond(result)
}
