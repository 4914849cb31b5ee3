//! logoutUser: `POST /rest/user/logout` revokes the token in `x-nextinteract-authtoken`.

use admit_shared::domain::error::DomainError;
use admit_shared::http::{self, auth, nextinteract};
use admit_shared::usecases::login;
use admit_shared::App;
use lambda_http::{Body, Request, Response};

pub const LOGGED_OUT: &str = "User logged out.";

#[tracing::instrument(name = "logout_user", skip_all, fields(request_id = %http::request_id(&req)))]
pub async fn handler(app: &App, req: Request) -> Response<Body> {
    let caller = http::caller(&req);
    let result: Result<_, DomainError> = async {
        let (_, session) = auth::session(app, &req).await?;
        login::logout(app, &session, &caller).await
    }
    .await;
    nextinteract::respond_message(LOGGED_OUT, result)
}
