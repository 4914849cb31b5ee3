//! Invitations, whatever door made them: this module makes them (the offer every door sends
//! through, in one unit of work, and what other systems hear of it); `email` issues each
//! email's single-use token and writes the email when the dispatcher sends it; `accept` is
//! the invitee's side, previewing and accepting with that token.

mod accept;
mod email;

pub use accept::{
    accept, details, preview, AcceptRequest, Accepted, AccountState, InvitationDetails,
    InvitationPreview,
};
pub use email::{accept_link, issue, ACCEPTED_PAGE_PATH, ACCEPT_PAGE_PATH};

use crate::app::App;
use crate::domain::activity::ActivityType;
use crate::domain::error::{DomainError, Service};
use crate::domain::event::{Actor, Event, EventType};
use crate::domain::secrets::random_hex_id;
use crate::domain::{Caller, EmailAddress, Id};
use crate::ports::store::{StoreError, Write};
use crate::records::invitation::InvitationEvent;
use crate::records::outbox::{self, InvitationEmail, Message};
use crate::records::{events, invitation};
use crate::records::{Invitation, InvitationStatus};
use crate::usecases::failed;
use chrono::{DateTime, Utc};

/// The default number of days an invitation's link works (the `invitationDays` setting).
pub const DEFAULT_INVITATION_DAYS: u32 = 7;

/// What an invitation grants and who sends it, whatever door it came in by.
#[derive(Debug, Clone)]
pub struct Offer {
    pub company: Id,
    pub email: EmailAddress,
    pub contact_id: Option<Id>,
    pub teams: Vec<Id>,
    pub inviter: Id,
    pub message: Option<String>,
    /// Site invitations: days of temporary access from accepting; `None`: permanent.
    pub access_days: Option<u32>,
    /// Made by the site family's Invite Users (accepting records the site access it grants).
    pub via_site: bool,
}

/// The company's invitation of `email`, as it is now.
pub async fn existing(
    app: &App,
    company: Id,
    email: &EmailAddress,
) -> Result<Option<Invitation>, DomainError> {
    invitation::find(app.store.as_ref(), company, email)
        .await
        .map_err(failed(Service::Company))
}

/// One invitation's writes, without its events (`announce` makes those for several at once).
pub struct Offered {
    pub writes: Vec<Write>,
    pub invitation: Invitation,
    /// It takes the place of a pending invitation of the address.
    pub replaces_pending: bool,
}

/// The writes that make `offer` the company's invitation for its address in place of
/// `previous` (as read; the door has decided it may be replaced, `permissions::decide`), whose link
/// stops working, with an `invited` event, and queue its email. The link works for the
/// company's `invitationDays` (7 by default). Doors send through `send`.
pub fn offered(
    now: DateTime<Utc>,
    offer: Offer,
    previous: Option<&Invitation>,
    days: Option<u32>,
    link_base: &str,
) -> Offered {
    let mut writes: Vec<Write> = previous
        .iter()
        .filter_map(|p| invitation::revoke_token(p, invitation::Spent::Replaced))
        .collect();
    let days = days.unwrap_or(DEFAULT_INVITATION_DAYS);
    // The history goes on across invitations of the address (and so do the send limits).
    let (history, history_dropped) = invitation::with_event(
        previous.map(|p| p.history.as_slice()).unwrap_or_default(),
        previous.map_or(0, |p| p.history_dropped),
        InvitationEvent {
            at: now,
            event: "invited".into(),
            by: Some(offer.inviter),
        },
    );
    let record = Invitation {
        company_id: offer.company,
        email: offer.email.clone(),
        contact_id: offer.contact_id,
        teams: offer.teams,
        invited_by: offer.inviter,
        status: InvitationStatus::Pending,
        created_at: now,
        expires_at: now + chrono::Duration::days(i64::from(days)),
        token_hash: None,
        accepted_at: None,
        message: offer.message,
        history,
        history_dropped,
        access_days: offer.access_days,
        via_site: offer.via_site,
    };
    writes.push(invitation::replace(&record, previous));
    let email = Message::Invitation(InvitationEmail {
        company_id: offer.company,
        email: offer.email,
        link_base: link_base.to_string(),
    });
    writes.push(outbox::enqueue(&random_hex_id(), now, &email));
    Offered {
        writes,
        invitation: record,
        replaces_pending: previous.is_some_and(|p| p.status_at(now) == InvitationStatus::Pending),
    }
}

/// One invitation a door sends, in `uow`: the offer (`offered`: the invitation in place of
/// `previous`, whose link stops working, and its queued email) and its sender's
/// `Invitation Sent` activity. Every door (inviteMIUser, platform invitations, the site's
/// Invite Users) sends through here, so each writes the same records for the same act; the
/// door then adds what other systems hear of its invitations (`announce`). Returns the
/// invitation and whether it replaced a pending one.
pub fn send(
    uow: &mut crate::usecases::unit::UnitOfWork,
    offer: Offer,
    previous: Option<&Invitation>,
    days: Option<u32>,
    (link_base, caller, now): (&str, &Caller, DateTime<Utc>),
) -> (Invitation, bool) {
    let (company, inviter) = (offer.company, offer.inviter);
    let offered = offered(now, offer, previous, days, link_base);
    uow.extend(offered.writes);
    uow.activity(company, inviter, ActivityType::InvitationSent, caller, now);
    (offered.invitation, offered.replaces_pending)
}

/// What other systems hear of invitations one request made (each with whether it replaced a
/// pending one): their `invitation.created` events, in one outbox message, and one message
/// that publishes `invitation.expired` for those still pending when their links run out.
/// Two writes however many invitations (a transaction holds at most 100).
pub fn announce(invitations: &[(Invitation, bool)], now: DateTime<Utc>) -> Vec<Write> {
    let created: Vec<Event> = invitations
        .iter()
        .map(|(inv, replaces)| {
            events::invitation_event(
                EventType::InvitationCreated,
                inv,
                Actor::user(inv.invited_by),
                now,
            )
            .with("replacesPending", replaces)
        })
        .collect();
    let mut writes: Vec<Write> = events::publish_all(created).into_iter().collect();
    // Invitations of one request run out together.
    if let Some((first, _)) = invitations.first() {
        let emails = invitations.iter().map(|(i, _)| i.email.clone()).collect();
        writes.push(events::invitations_expire(
            first.company_id,
            emails,
            first.expires_at,
        ));
    }
    writes
}

/// The `invitation.expired` events of a due `InvitationsExpire`: one for each address whose
/// invitation is still pending with that expiry (one accepted, revoked or sent again since
/// has none).
pub async fn expired_events(
    app: &App,
    due: &outbox::InvitationsExpire,
) -> Result<Vec<Event>, StoreError> {
    // Every address's invitation at once (one batch get per 100).
    let keys: Vec<_> = due
        .emails
        .iter()
        .map(|e| invitation::invitation_key(due.company_id, e))
        .collect();
    let read = crate::records::read_keys(app.store.as_ref(), &keys).await?;
    let mut out = Vec::new();
    for key in &keys {
        let found: Option<Invitation> = crate::records::record_at(&read, key)?;
        if let Some(inv) = found
            .filter(|i| i.status == InvitationStatus::Pending && i.expires_at == due.expires_at)
        {
            out.push(events::invitation_expired(&inv));
        }
    }
    Ok(out)
}
