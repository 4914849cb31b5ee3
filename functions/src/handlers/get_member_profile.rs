//! `GET /rest/company/membership/user?userId=N` with an admin company key: a member's user,
//! membership, contact and registration details.

use admit_shared::domain::error::{DomainError, Service};
use admit_shared::domain::Id;
use admit_shared::http::{self, auth, nextinteract};
use admit_shared::records::ApiKeyType;
use admit_shared::usecases::member_profile;
use admit_shared::App;
use lambda_http::{Body, Request, Response};

pub const MEMBER: &str = "Member.";

pub async fn handler(app: &App, req: Request) -> Response<Body> {
    let result: Result<_, DomainError> = async {
        let user_id: Id = http::query_param(&req, "userId")
            .ok_or_else(|| DomainError::invalid("userId is required"))?
            .parse()
            .map_err(|e: String| DomainError::invalid(format!("userId: {e}")))?;
        let (_, company) =
            auth::company_key(app, &req, &[ApiKeyType::Admin], Service::Company).await?;
        member_profile::member_profile(app, &company, user_id).await
    }
    .await;
    nextinteract::respond_with(MEMBER, result)
}
