//! Sessions: the check behind every token-authenticated call.

use crate::app::App;
use crate::domain::error::{DomainError, ErrorKind, Service};
use crate::domain::secrets::Token;
use crate::records::{user, Session};
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
    Ok(session)
}
