//! Taking an address back. An account whose address nobody has proven may have been registered
//! by anyone: whoever later proves control of the mailbox without the account's password (a
//! password reset, or accepting an invitation without signing in) is its owner. The owner gets
//! a new account, with a new user id, their own password and their own name; the unproven
//! account is closed (deactivated: every session ends, its devices are forgotten, its
//! memberships end). Nothing done in the unproven account's name (memberships, registrations
//! and consents, event sign-ups, contact links, activity, notifications) is the owner's: it
//! stays with the closed account's id, in the records of the companies it was done in, and the
//! owner's id appears in no company they did not join.

use crate::app::App;
use crate::domain::error::{DomainError, Service};
use crate::domain::event::Actor;
use crate::domain::{EmailAddress, Name};
use crate::ports::store::Write;
use crate::records::{events, membership, user, User};
use crate::usecases::failed;
use chrono::{DateTime, Utc};

/// `membership.ended`'s reason for a membership of an account whose address was taken back.
pub const REASON: &str = "address_taken_back";

/// The owner's new account and the writes that make it and close the unproven one.
pub struct TakenBack {
    pub owner: User,
    pub writes: Vec<Write>,
}

/// Takes `unproven`'s address back for its owner: a new, verified account with `password_hash`
/// and `name`, the address's guard moved to it (only if it still points at `unproven`), and
/// `unproven` closed with its devices forgotten and its memberships ended (each company hears
/// `membership.ended` with reason `address_taken_back`).
pub async fn take_back(
    app: &App,
    unproven: &User,
    password_hash: String,
    name: (&str, &str),
    now: DateTime<Utc>,
) -> Result<TakenBack, DomainError> {
    let fail = failed(Service::User);
    let id = app.ids.next("user").await.map_err(&fail)?;
    let owner = User::new_active(
        id,
        unproven.email.clone(),
        name.0,
        name.1,
        password_hash,
        now,
    );
    let old = unproven.user_id;
    let mut writes = vec![
        user::move_email(&unproven.email, old, id),
        crate::records::put_new(&owner),
        user::close_taken_back(unproven, now),
    ];
    writes.extend(crate::usecases::devices::forget_all(app, old).await?);
    for m in membership::companies_of(app.store.as_ref(), old)
        .await
        .map_err(&fail)?
    {
        writes.push(membership::remove(&m));
        let ended = events::membership_ended(m.company_id, old, Actor::System, now, REASON);
        writes.push(events::publish(ended.with("teams", &m.teams)));
    }
    Ok(TakenBack { owner, writes })
}

/// The owner's name: what they gave (each checked as a name), else `fallback` (names that did
/// not come from whoever registered the address), else the address's local part.
pub fn owners_name(
    given: (Option<&str>, Option<&str>),
    fallback: (String, String),
    email: &EmailAddress,
) -> Result<(String, String), DomainError> {
    let parse = |field: &str, raw: Option<&str>| -> Result<Option<String>, DomainError> {
        match raw.map(str::trim).filter(|s| !s.is_empty()) {
            Some(s) => Name::parse(field, s, 100)
                .map(|n| Some(n.as_str().to_string()))
                .map_err(|m| DomainError::invalid(m).at(field)),
            None => Ok(None),
        }
    };
    let (first, last) = (parse("firstName", given.0)?, parse("lastName", given.1)?);
    let local = || {
        email
            .as_str()
            .split('@')
            .next()
            .unwrap_or_default()
            .to_string()
    };
    Ok(match (first, last) {
        (Some(f), Some(l)) => (f, l),
        (Some(f), None) => (f, String::new()),
        (None, l) if !fallback.0.trim().is_empty() => (fallback.0, l.unwrap_or(fallback.1)),
        (None, l) => (local(), l.unwrap_or_default()),
    })
}
