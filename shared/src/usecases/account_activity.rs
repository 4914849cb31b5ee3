//! Account events (a login, a logout, a lockout, an expired session, a verified address, a
//! password reset): not tied to one site, so each is recorded in the user's log and indexed
//! for every site the user has access to at the time. This module is the one place that
//! records them; the report (`usecases::activity_report`) only reads.

use crate::app::App;
use crate::domain::activity::{ActivityType, Source};
use crate::domain::{Caller, Id};
use crate::ports::store::{StoreError, Write, MAX_TRANSACTION_WRITES};
use crate::records::activity::{self, site};
use crate::records::{membership, Status};
use chrono::{DateTime, Utc};

/// One account event: who, what, from where, and when (the use case's `now`).
pub struct AccountEvent<'a> {
    pub user: Id,
    pub kind: ActivityType,
    pub source: Source,
    pub caller: &'a Caller,
    pub session_id: Option<&'a str>,
    pub now: DateTime<Utc>,
}

impl<'a> AccountEvent<'a> {
    /// An event the caller caused, with no session named (the source is the caller's).
    pub fn of(user: Id, kind: ActivityType, caller: &'a Caller, now: DateTime<Utc>) -> Self {
        AccountEvent {
            user,
            kind,
            source: Source::of(caller, false),
            caller,
            session_id: None,
            now,
        }
    }
}

/// The writes that record `e` for `sites` (read once with `account_sites`): the activity
/// item, then one index entry per site, last, so `transact` may move the entries that do not
/// fit into further transactions.
pub fn record_for(sites: &[Id], e: AccountEvent<'_>) -> Vec<Write> {
    activity::record_for_sites(
        sites,
        e.user,
        e.kind,
        e.source,
        e.caller,
        e.session_id,
        e.now,
    )
}

/// The writes that record `e` for the sites that see it now.
pub async fn record(app: &App, e: AccountEvent<'_>) -> Result<Vec<Write>, StoreError> {
    let sites = account_sites(app, e.user, e.now).await?;
    Ok(record_for(&sites, e))
}

/// The sites that see an account event of `user` at `now`: those where the user has access
/// (or is waiting for their address to be verified to get it).
pub async fn account_sites(app: &App, user: Id, now: DateTime<Utc>) -> Result<Vec<Id>, StoreError> {
    Ok(membership::companies_of(app.store.as_ref(), user)
        .await?
        .into_iter()
        .filter(|m| m.status != Status::Inactive && !m.has_expired_at(now))
        .map(|m| m.company_id)
        .collect())
}

/// Commits `writes` as one transaction. A user with access to very many sites can push an
/// account event's site index entries (the last writes) past the transaction limit: the
/// entries that do not fit follow in further transactions, once the change itself is stored.
/// Nothing else ever leaves the transaction.
pub async fn transact(app: &App, mut writes: Vec<Write>) -> Result<(), StoreError> {
    let only_entries_over = writes
        .get(MAX_TRANSACTION_WRITES..)
        .is_some_and(|over| !over.is_empty() && over.iter().all(site::is_entry));
    let rest = if only_entries_over {
        writes.split_off(MAX_TRANSACTION_WRITES)
    } else {
        Vec::new()
    };
    app.store.transact(writes).await?;
    for chunk in rest.chunks(MAX_TRANSACTION_WRITES) {
        if let Err(e) = app.store.transact(chunk.to_vec()).await {
            tracing::error!(error = %e, "site activity index entries were not written");
        }
    }
    Ok(())
}
