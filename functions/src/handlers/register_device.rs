//! `POST /rest/user/devices`: register the caller's device for native push.

use admit_shared::domain::error::DomainError;
use admit_shared::http::{self, auth, nextinteract};
use admit_shared::usecases::devices::{self, DeviceRegistration, RegisterDevice};
use admit_shared::App;
use lambda_http::{Body, Request, Response};

pub const REGISTERED: &str = "Device registered.";

pub async fn handler(app: &App, req: Request) -> Response<Body> {
    let result: Result<_, DomainError> = async {
        let (_, session) = auth::session(app, &req).await?;
        let body: RegisterDevice = http::json_body(&req)?;
        devices::register(app, &session, DeviceRegistration::try_from(body)?).await
    }
    .await;
    nextinteract::respond_with(REGISTERED, result)
}
