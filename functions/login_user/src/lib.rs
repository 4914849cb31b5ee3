//! loginUser: `POST /rest/user/login`.

use admit_shared::domain::error::DomainError;
use admit_shared::http::{self, nextinteract};
use admit_shared::usecases::login::{self, Credentials, LoginRequest};
use admit_shared::{App, Ports};
use lambda_http::{Body, Request, Response};

pub const PORTS: Ports = Ports::STORE;
pub const LOGGED_IN: &str = "User logged in.";

#[tracing::instrument(name = "login_user", skip_all, fields(request_id = %http::request_id(&req)))]
pub async fn handler(app: &App, req: Request) -> Response<Body> {
    let caller = http::caller(&req);
    let result: Result<_, DomainError> = async {
        let body: LoginRequest = http::json_body(&req)?;
        login::login(app, Credentials::try_from(body)?, &caller).await
    }
    .await;
    nextinteract::respond_with(LOGGED_IN, result)
}
