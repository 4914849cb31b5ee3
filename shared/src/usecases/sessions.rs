//! Sessions: the check behind every token-authenticated call.

use crate::app::App;
use crate::domain::error::{DomainError, ErrorKind, Service};
use crate::domain::secrets::Token;
use crate::records::{user, Session, Status};
use crate::usecases::failed;

/// The live session a presented token stands for.
pub async fn authenticate(app: &App, token: &Token) -> Result<Session, DomainError> {
    let invalid = |m: &str| DomainError::new(ErrorKind::InvalidAuthToken, m);
    let session = user::find_session(app.store.as_ref(), &token.hash())
        .await
        .map_err(failed(Service::Cache))?
        .ok_or_else(|| invalid("auth token is not valid"))?;
    if session.expires_at <= app.clock.now() {
        return Err(invalid("auth token has expired; log in again"));
    }
    // A session lives only as long as its account is active and it was not revoked since.
    let account = user::find(app.store.as_ref(), session.user_id)
        .await
        .map_err(failed(Service::Cache))?;
    let live = account.is_some_and(|u| {
        u.status == Status::Active && u.sessions_after.is_none_or(|t| session.created_at > t)
    });
    if !live {
        return Err(invalid("auth token is not valid"));
    }
    Ok(session)
}
