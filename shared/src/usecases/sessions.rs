//! Sessions: the check behind every token-authenticated call.

use crate::app::App;
use crate::domain::activity::ActivityType;
use crate::domain::error::{DomainError, ErrorKind, Service};
use crate::domain::secrets::Token;
use crate::domain::Caller;
use crate::records::{user, Session, Status};
use crate::usecases::account_activity::{self, AccountEvent};
use crate::usecases::failed;
use chrono::{DateTime, Utc};

/// The live session a presented token stands for. An expired one is refused, and recorded
/// (`SessionExpired`) the first time it is presented.
pub async fn authenticate(
    app: &App,
    token: &Token,
    caller: &Caller,
) -> Result<Session, DomainError> {
    let invalid = |m: &str| DomainError::new(ErrorKind::InvalidAuthToken, m);
    let session = user::find_session(app.store.as_ref(), &token.hash())
        .await
        .map_err(failed(Service::Cache))?
        .ok_or_else(|| invalid("auth token is not valid"))?;
    let now = app.clock.now();
    if session.expires_at <= now {
        record_expired(app, &session, caller, now).await;
        return Err(invalid("auth token has expired; log in again"));
    }
    // A session lives only as long as its account is active and it was not revoked since.
    let account = user::find(app.store.as_ref(), session.user_id)
        .await
        .map_err(failed(Service::Cache))?;
    let live = account.is_some_and(|u| {
        u.status == Status::Active
            && u.session_epoch == session.epoch
            && u.sessions_after.is_none_or(|t| session.created_at > t)
    });
    if !live {
        return Err(invalid("auth token is not valid"));
    }
    Ok(session)
}

/// Records that an expired session's token was presented, and deletes the session in the same
/// transaction, so the event is recorded once however often the token comes back. Best effort:
/// the caller is refused either way.
async fn record_expired(app: &App, session: &Session, caller: &Caller, now: DateTime<Utc>) {
    let sites = account_activity::account_sites(app, session.user_id, now)
        .await
        .unwrap_or_else(|e| {
            tracing::warn!(error = %e, "sites of an expired session's user not read");
            Vec::new()
        });
    let mut writes = vec![user::revoke_session(&session.token_hash)];
    writes.extend(account_activity::record_for(
        &sites,
        AccountEvent {
            session_id: Some(&session.session_id),
            ..AccountEvent::of(session.user_id, ActivityType::SessionExpired, caller, now)
        },
    ));
    match account_activity::transact(app, writes).await {
        Ok(()) => {}
        // Another request recorded it first.
        Err(e) if e.failed_at(0) => {}
        Err(e) => tracing::warn!(error = %e, "expired session not recorded"),
    }
}
