//! Domain events as outbox items (`outbox::publish`): the writes that put an event in the
//! transaction of the change it describes, and the scheduled ones, which wait in the outbox
//! until something runs out (an invitation's link, temporary access). A scheduled event's id
//! is made from what it is about and when, so the change that moves or ends it first (an
//! invitation accepted, access extended) names it and takes it back in its own transaction.

use super::invitation::Invitation;
use super::outbox;
use crate::domain::event::{Actor, Event, EventType, Subject};
use crate::domain::secrets::sha256_hex;
use crate::domain::Id;
use crate::ports::store::Write;
use chrono::{DateTime, Utc};

/// The write that publishes `event` with the change it describes.
pub fn publish(event: Event) -> Write {
    outbox::publish(event)
}

/// What an invitation's events say of their subject: the address invited.
pub fn invitation_subject(inv: &Invitation) -> Subject {
    Subject {
        email: Some(inv.email.to_string()),
        contact_id: inv.contact_id,
        ..Subject::default()
    }
}

/// An invitation's event: the address, the teams and when its link stops working.
pub fn invitation_event(
    kind: EventType,
    inv: &Invitation,
    actor: Actor,
    at: DateTime<Utc>,
) -> Event {
    let mut e = Event::new(
        kind,
        Some(inv.company_id),
        at,
        actor,
        invitation_subject(inv),
    )
    .with("teams", &inv.teams)
    .with("expiresAt", crate::domain::time::format(inv.expires_at));
    if let Some(days) = inv.access_days {
        e = e.with("temporaryAccessDays", days);
    }
    if inv.via_site {
        e = e.with("site", true);
    }
    e
}

fn expiry_id(inv: &Invitation) -> String {
    format!(
        "evt_invexp_{}_{}_{}",
        inv.company_id,
        &sha256_hex(inv.email.as_str().as_bytes())[..16],
        inv.expires_at.timestamp_millis()
    )
}

/// The `invitation.expired` event that waits for `inv`'s link to run out.
pub fn invitation_expires(inv: &Invitation) -> Write {
    let e = invitation_event(
        EventType::InvitationExpired,
        inv,
        Actor::System,
        inv.expires_at,
    )
    .with_id(expiry_id(inv));
    publish(e)
}

/// The writes that move the `invitation.expired` event from `old` (as read, if any) to `new`:
/// the old one taken back if its time has not come, the new one scheduled. Nothing when both
/// run out at the same millisecond (one event, already waiting).
pub fn invitation_expiry_moved(
    old: Option<&Invitation>,
    new: &Invitation,
    now: DateTime<Utc>,
) -> Vec<Write> {
    if old.is_some_and(|o| expiry_id(o) == expiry_id(new)) {
        return Vec::new();
    }
    let mut writes: Vec<Write> = old
        .and_then(|o| invitation_expiry_cancelled(o, now))
        .into_iter()
        .collect();
    writes.push(invitation_expires(new));
    writes
}

/// Takes back the `invitation.expired` event of `inv` (as read before this change), when its
/// link has not run out by `now`: the invitation was accepted, revoked, replaced or renewed.
pub fn invitation_expiry_cancelled(inv: &Invitation, now: DateTime<Utc>) -> Option<Write> {
    (inv.expires_at > now).then(|| outbox::cancel(&expiry_id(inv)))
}

fn access_end_id(company: Id, user: Id, end: DateTime<Utc>) -> String {
    format!("evt_end_{company}_{user}_{}", end.timestamp_millis())
}

/// The `membership.ended` event (reason `temporary_access_ended`) that waits for `user`'s
/// temporary access to `company` to end at `end`.
pub fn access_ends(company: Id, user: Id, end: DateTime<Utc>) -> Write {
    let e = membership_ended(company, user, Actor::System, end, "temporary_access_ended")
        .with_id(access_end_id(company, user, end));
    publish(e)
}

/// Takes back the event of `access_ends` (the end moved or the member left first).
pub fn access_end_cancelled(company: Id, user: Id, end: DateTime<Utc>) -> Write {
    outbox::cancel(&access_end_id(company, user, end))
}

/// A member's event.
pub fn membership_event(
    kind: EventType,
    company: Id,
    user: Id,
    actor: Actor,
    at: DateTime<Utc>,
) -> Event {
    Event::new(
        kind,
        Some(company),
        at,
        actor,
        Subject {
            user_id: Some(user),
            ..Subject::default()
        },
    )
}

/// `membership.ended`, with why: `left`, `revoked` or `temporary_access_ended`.
pub fn membership_ended(
    company: Id,
    user: Id,
    actor: Actor,
    at: DateTime<Utc>,
    reason: &str,
) -> Event {
    membership_event(EventType::MembershipEnded, company, user, actor, at).with("reason", reason)
}

/// An account's event (in no company, or in the one it joined by).
pub fn account_event(
    kind: EventType,
    company: Option<Id>,
    user: Id,
    email: &str,
    actor: Actor,
    at: DateTime<Utc>,
) -> Event {
    Event::new(
        kind,
        company,
        at,
        actor,
        Subject {
            user_id: Some(user),
            email: Some(email.to_string()),
            ..Subject::default()
        },
    )
}
