//! Use cases: one file per capability. Plain Rust: a validated input and an authenticated
//! principal in, a typed result or a `DomainError` out. No request, header or status code.

pub mod account_activity;
pub mod accounts;
pub mod activity_report;
pub mod apikeys;
pub mod devices;
pub mod invitations;
pub mod invite_mi_user;
pub mod limits;
pub mod login;
pub mod member_profile;
pub mod memberships;
pub mod notifications;
pub mod outbox;
pub mod password_reset;
pub mod permissions;
pub mod platform;
pub mod platform_invitations;
pub mod provision;
pub mod self_register;
pub mod sessions;
pub mod settings;
pub mod site_access;
pub mod site_terms;
pub mod takeback;
pub mod teams;
pub mod unit;
pub mod verification;

use crate::domain::error::{DomainError, Service};
use crate::ports::store::StoreError;

/// Maps a storage failure to the service's error, logging the full chain; the caller only
/// sees a generic message.
/// What a `503` for an unavailable or throttled store asks the caller to wait, in seconds (the
/// SDK has already retried with backoff within its attempt budget).
pub const RETRY_AFTER_UNAVAILABLE_SECS: u64 = 2;

/// What a failed transaction that uses up an emailed link answers: the link was used meanwhile
/// (one of its first `link_writes` writes failed: `gone`), the account changed at the same
/// time (any other condition: try again), or the store failed (`fail`).
pub fn link_used_or_changed(
    e: StoreError,
    link_writes: usize,
    gone: impl FnOnce() -> DomainError,
    fail: impl FnOnce(StoreError) -> DomainError,
) -> DomainError {
    if (0..link_writes).any(|i| e.failed_at(i)) {
        gone()
    } else if e.is_condition_failure() {
        DomainError::new(
            crate::domain::error::ErrorKind::Conflict,
            "the account changed at the same time; try again",
        )
    } else {
        fail(e)
    }
}

pub fn failed(service: Service) -> impl Fn(StoreError) -> DomainError {
    move |e: StoreError| {
        let mut chain = e.to_string();
        let mut src = std::error::Error::source(&e);
        while let Some(s) = src {
            chain.push_str(": ");
            chain.push_str(&s.to_string());
            src = s.source();
        }
        if e.is_transient() {
            tracing::warn!(error = %chain, "storage unavailable");
            DomainError::new(
                service.unavailable(),
                "The service is temporarily unavailable; try again shortly.",
            )
            .with_retry_after(RETRY_AFTER_UNAVAILABLE_SECS)
        } else {
            tracing::error!(error = %chain, "storage failure");
            DomainError::new(service.failure(), "The service failed; try again later.")
        }
    }
}

/// Ids in the order first given, without repeats.
pub fn distinct<T: Eq + std::hash::Hash + Copy>(ids: impl IntoIterator<Item = T>) -> Vec<T> {
    let mut seen = std::collections::HashSet::new();
    ids.into_iter().filter(|id| seen.insert(*id)).collect()
}
