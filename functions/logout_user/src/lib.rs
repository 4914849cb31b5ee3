//! logoutUser: `POST /rest/user/logout` revokes the token in `x-nextinteract-authtoken`.

use admit_shared::http;
use admit_shared::usecases::login;
use admit_shared::App;
use lambda_http::{Body, Request, Response};

#[tracing::instrument(name = "logout_user", skip_all, fields(request_id = %http::request_id(&req)))]
pub async fn handler(app: &App, req: Request) -> Response<Body> {
    let caller = http::caller(&req);
    let result = match http::authenticate(app, &req).await {
        Ok((token, session)) => login::logout(app, &token, &session, &caller).await,
        Err(e) => Err(e),
    };
    http::respond(result)
}
