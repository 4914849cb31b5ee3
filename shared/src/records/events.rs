//! Domain events as outbox items (`publish`): the writes that put an event in the
//! transaction of the change it describes, and the scheduled ones, which wait in the outbox
//! until something runs out. An invitation's expiry is checked when it is due (the
//! invitation is read then); the end of temporary access is one message per member and end,
//! named from the three, so the change that moves or ends the access first takes it back in
//! its own transaction.

use super::invitation::Invitation;
use super::outbox::{self, InvitationsExpire, Message};
use crate::domain::event::{Actor, Event, EventType, Subject};
use crate::domain::secrets::{random_hex_id, sha256_hex};
use crate::domain::{EmailAddress, Id};
use crate::ports::store::Write;
use chrono::{DateTime, Utc};

/// The write that publishes `event` with the change it describes: an outbox message whose id
/// is the event's.
pub fn publish(event: Event) -> Write {
    let (id, at) = (event.id.clone(), event.occurred_at);
    outbox::enqueue_at(&id, at, &Message::Event(event))
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

/// The `invitation.expired` event of `inv`, whose link ran out. Its id is made from the
/// invitation and the expiry, so two schedules of one expiry publish one event as a consumer
/// sees it.
pub fn invitation_expired(inv: &Invitation) -> Event {
    let id = format!(
        "evt_invexp_{}_{}_{}",
        inv.company_id,
        &sha256_hex(inv.email.as_str().as_bytes())[..16],
        inv.expires_at.timestamp_millis()
    );
    invitation_event(
        EventType::InvitationExpired,
        inv,
        Actor::System,
        inv.expires_at,
    )
    .with_id(id)
}

/// The outbox message that, once `expires_at` has come, publishes `invitation.expired` for
/// each of `emails` whose invitation is then still pending with that expiry (the dispatcher
/// reads them then: one accepted, revoked or sent again since publishes nothing). One message
/// for the invitations one request made.
pub fn invitations_expire(
    company: Id,
    emails: Vec<EmailAddress>,
    expires_at: DateTime<Utc>,
) -> Write {
    let message = Message::InvitationsExpire(InvitationsExpire {
        company_id: company,
        emails,
        expires_at,
    });
    outbox::enqueue_at(&random_hex_id(), expires_at, &message)
}

/// The write that publishes `events` (one outbox message however many), if there are any.
pub fn publish_all(mut events: Vec<Event>) -> Option<Write> {
    match events.len() {
        0 => None,
        1 => events.pop().map(publish),
        _ => {
            let id = random_hex_id();
            let at = events
                .iter()
                .map(|e| e.occurred_at)
                .min()
                .unwrap_or_default();
            Some(outbox::enqueue_at(&id, at, &Message::Events { events }))
        }
    }
}

fn access_end_id(company: Id, user: Id, end: DateTime<Utc>) -> String {
    format!("evt_end_{company}_{user}_{}", end.timestamp_millis())
}

/// The `membership.ended` event (reason `temporary_access_ended`) that waits for `user`'s
/// temporary access to `company` to end at `end`. Written again for the same end, it is the
/// same message (its id is made from the three).
pub fn access_ends(company: Id, user: Id, end: DateTime<Utc>) -> Write {
    let id = access_end_id(company, user, end);
    let e = membership_ended(company, user, Actor::System, end, "temporary_access_ended")
        .with_id(id.clone());
    outbox::schedule(&id, end, &Message::Event(e))
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

/// The `membership.teams_changed` write when a member's teams go from `before` to `after`
/// (none when they stay the same): all the teams now, and those added.
pub fn teams_changed(
    company: Id,
    user: Id,
    before: &[Id],
    after: &[Id],
    actor: Actor,
    at: DateTime<Utc>,
) -> Option<Write> {
    if before == after {
        return None;
    }
    let added: Vec<Id> = after
        .iter()
        .filter(|t| !before.contains(t))
        .copied()
        .collect();
    let e = membership_event(EventType::MembershipTeamsChanged, company, user, actor, at)
        .with("teams", after)
        .with("added", added);
    Some(publish(e))
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
