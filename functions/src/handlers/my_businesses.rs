//! The caller's own businesses (the platform family): `GET /api/users/me/businesses` lists the
//! companies they belong to; `DELETE /api/users/me/businesses/{BusinessID}` leaves one.

use admit_shared::domain::error::DomainError;
use admit_shared::http::{self, auth, platform};
use admit_shared::usecases::memberships;
use admit_shared::App;
use lambda_http::{Body, Request, Response};

/// Each route of the row, by the route API Gateway matched.
pub async fn handler(app: &App, req: Request) -> Response<Body> {
    if http::came_by(&req, "GET", "/api/users/me/businesses") {
        list(app, &req).await
    } else if http::came_by(&req, "DELETE", "/api/users/me/businesses/{BusinessID}") {
        leave(app, &req).await
    } else {
        platform::respond(
            platform::negotiate(&req),
            Err::<(), _>(http::no_such_route()),
        )
    }
}

/// `GET /api/users/me/businesses`.
async fn list(app: &App, req: &Request) -> Response<Body> {
    let result: Result<_, DomainError> = async {
        let principal = auth::platform_session(app, req).await?;
        memberships::mine(app, &principal.session).await
    }
    .await;
    platform::respond(platform::negotiate(req), result)
}

/// `DELETE /api/users/me/businesses/{BusinessID}`.
async fn leave(app: &App, req: &Request) -> Response<Body> {
    let result: Result<_, DomainError> = async {
        let principal = auth::platform_session(app, req).await?;
        let business = platform::business_in_path(req)?;
        admit_shared::usecases::platform::check_csrf(&principal, business, true)?;
        memberships::leave(app, &principal.session, business, &http::caller(req)).await
    }
    .await;
    platform::respond(platform::negotiate(req), result)
}
