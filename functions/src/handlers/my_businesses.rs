//! The caller's own businesses (the platform family): `GET /api/users/me/businesses` lists the
//! companies they belong to; `DELETE /api/users/me/businesses/{BusinessID}` leaves one.

use admit_shared::domain::error::DomainError;
use admit_shared::http::{self, auth, platform};
use admit_shared::usecases::memberships;
use admit_shared::App;
use lambda_http::{Body, Request, Response};

pub async fn handler(app: &App, req: Request) -> Response<Body> {
    let media = platform::negotiate(&req);
    if req.method() == lambda_http::http::Method::DELETE {
        let result: Result<_, DomainError> = async {
            let principal = auth::platform_session(app, &req).await?;
            let business = platform::business_in_path(&req)?;
            admit_shared::usecases::platform::check_csrf(&principal, business, true)?;
            memberships::leave(app, &principal.session, business, &http::caller(&req)).await
        }
        .await;
        return platform::respond(media, result);
    }
    let result: Result<_, DomainError> = async {
        let principal = auth::platform_session(app, &req).await?;
        memberships::mine(app, &principal.session).await
    }
    .await;
    platform::respond(media, result)
}
