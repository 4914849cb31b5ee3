//! Taking an address back. An account whose address nobody has proven may have been registered
//! by anyone: whoever later proves control of the mailbox without the account's password (a
//! password reset, or accepting an invitation without signing in) is its owner, and gets none
//! of what was done in the account's name before that. Every membership, registration (with
//! its consents and answers), event sign-up and contact link the account gathered while
//! unproven is dropped, its sessions and devices end, and the owner chooses its password and
//! name. Nothing of the owner's then reaches a company they did not join.

use crate::app::App;
use crate::domain::error::{DomainError, Service};
use crate::domain::event::Actor;
use crate::domain::{EmailAddress, Id, Name};
use crate::ports::store::{Cond, Key, Update, Write};
use crate::records::contact::{self as contacts, Registration};
use crate::records::{company, events, membership, user, User};
use crate::usecases::failed;
use chrono::{DateTime, Utc};
use serde_json::json;

/// `membership.ended`'s reason for a membership dropped when its address was taken back.
pub const REASON: &str = "address_taken_back";

/// The writes that drop what `account` gathered while its address was unproven: memberships
/// (except in `keep`, the company whose invitation takes the address back: the invitation
/// replaces that one), registrations, event sign-ups and contact links, each with the event
/// that says so.
pub async fn disown(
    app: &App,
    account: &User,
    keep: Option<Id>,
    now: DateTime<Utc>,
) -> Result<Vec<Write>, DomainError> {
    let store = app.store.as_ref();
    let fail = failed(Service::User);
    let u = account.user_id;
    let mut writes = Vec::new();
    for m in membership::companies_of(store, u).await.map_err(&fail)? {
        let c = m.company_id;
        if Some(c) != keep {
            writes.push(membership::remove(&m));
            let ended = events::membership_ended(c, u, Actor::user(u), now, REASON);
            writes.push(events::publish(ended.with("teams", &m.teams)));
        }
        let Some(reg) = contacts::find_registration(store, c, u)
            .await
            .map_err(&fail)?
        else {
            continue;
        };
        writes.push(Write::Delete {
            key: contacts::registration_key(c, u),
            cond: None,
        });
        writes.extend(event_signups(app, &reg).await?);
        let contact = contacts::find(store, c, reg.contact_id)
            .await
            .map_err(&fail)?;
        if contact.is_some_and(|k| k.user_id == Some(u)) {
            writes.push(unlink(c, reg.contact_id, u));
        }
    }
    Ok(writes)
}

/// The deletes of the event sign-ups a registration's QR codes made.
async fn event_signups(app: &App, reg: &Registration) -> Result<Vec<Write>, DomainError> {
    let codes: Vec<String> = reg
        .answers
        .get("qrAccessCodes")
        .and_then(|v| serde_json::from_value(v.clone()).ok())
        .unwrap_or_default();
    let mut writes = Vec::new();
    for code in codes {
        let qr = company::find_qr(app.store.as_ref(), reg.company_id, &code)
            .await
            .map_err(failed(Service::User))?;
        if let Some(event) = qr.and_then(|q| q.event_id) {
            let key = company::event_signup_key(reg.company_id, event, reg.user_id);
            if !writes
                .iter()
                .any(|w: &Write| w.key().is_ok_and(|k| k == key))
            {
                writes.push(Write::Delete { key, cond: None });
            }
        }
    }
    Ok(writes)
}

/// The update that unlinks a contact from the account it was linked to (only if it still is).
fn unlink(company: Id, contact: Id, user: Id) -> Write {
    Write::Update {
        key: contacts::contact_key(company, contact),
        update: Update::new().remove("userId"),
        cond: Some(Cond::eq("userId", json!(user))),
    }
}

/// `writes` followed by those of `disowning` that touch no item `writes` already does (the
/// invitation that takes an address back may link the very contact the registration did).
pub fn merge(mut writes: Vec<Write>, disowning: Vec<Write>) -> Vec<Write> {
    let taken: Vec<Key> = writes.iter().filter_map(|w| w.key().ok()).collect();
    writes.extend(
        disowning
            .into_iter()
            .filter(|w| w.key().is_ok_and(|k| !taken.contains(&k))),
    );
    writes
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
                .map_err(DomainError::invalid),
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

/// The update that gives a taken-back account its owner's password and name (and everything
/// `user::replace_password` does: verified, unlocked, every session ended).
pub fn take_back(
    account: &User,
    new_hash: &str,
    (first, last): (&str, &str),
    now: DateTime<Utc>,
) -> Write {
    let mut write = user::replace_password(account.user_id, &account.password_hash, new_hash, now);
    if let Write::Update { update, .. } = &mut write {
        *update = std::mem::take(update)
            .set("firstName", first)
            .set("lastName", last);
    }
    write
}
