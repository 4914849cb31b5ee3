//! selfRegisterMIUser: `POST /rest/user/mi/selfregister`, called by the apps with an app key.

use admit_shared::domain::error::DomainError;
use admit_shared::http::{self, nextinteract};
use admit_shared::usecases::self_register::{self, NewRegistration, SelfRegistration};
use admit_shared::App;
use lambda_http::{Body, Request, Response};

pub const REGISTERED: &str = "MI User self-registered.";

pub async fn handler(app: &App, req: Request) -> Response<Body> {
    let caller = http::caller(&req);
    let result: Result<_, DomainError> = async {
        let body: SelfRegistration = http::json_body(&req)?;
        let registration = NewRegistration::try_from(body)?;
        let link_base = http::public_base(app, &req);
        self_register::self_register(app, registration, &caller, &link_base).await
    }
    .await;
    nextinteract::respond_message(REGISTERED, result)
}
