//! The platform family's invitations (`POST /api/users/invitations`) and the admin tools for every invitation: a
//! member invites addresses into their company (`POST /api/users/invitations`); company admins
//! list, resend and revoke invitations. Invitations are the same records, with the same
//! lifecycle, as inviteMIUser's: pending, accepted, expired, revoked.

use crate::app::App;
use crate::domain::activity::{ActivityType, Source};
use crate::domain::error::{DomainError, ErrorKind, Service};
use crate::domain::event::{Actor, EventType};
use crate::domain::{Caller, EmailAddress, Id};
use crate::ports::store::{Item, Key, Write};
use crate::records::invitation::{self, Invitation, InvitationStatus};
use crate::records::user::EmailGuard;
use crate::records::{self, activity, events, membership, user};
use crate::usecases::accounts::email_field;
use crate::usecases::invitations::{self, Offer, DEFAULT_INVITATION_DAYS};
use crate::usecases::permissions::{self, Existing};
use crate::usecases::platform::{acting_in, Acting, Principal};
use crate::usecases::unit::UnitOfWork;
use crate::usecases::{failed, limits};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Addresses one call may invite. Each is up to four writes of the call's one transaction
/// (the invitation, its email, the old link's end, the address's hourly count), and the call
/// adds five (its events, the expiry check, the sender's and company's counts, the
/// idempotency marker): 20 addresses stay within DynamoDB's 100 writes a transaction.
pub const MAX_ADDRESSES: usize = 20;
/// The longest `Message`, in characters.
pub const MAX_MESSAGE_CHARS: usize = 1000;
pub use crate::usecases::permissions::SENDS_PER_HOUR;

/// The body that names one invitation of a business (resend, revoke): `{"EmailAddress": E}`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct WhichInvitation {
    pub email_address: Option<String>,
}

impl WhichInvitation {
    /// The address, which the body must name.
    pub fn email(self) -> Result<String, DomainError> {
        self.email_address
            .ok_or_else(|| DomainError::invalid("EmailAddress is required"))
    }
}

/// The vendor's `UserInviteRequest`, as sent.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UserInviteRequest {
    pub email_addresses: Option<Vec<String>>,
    pub message: Option<String>,
}

/// An invitation request, validated: distinct canonical addresses and a plain-text message.
#[derive(Debug, PartialEq)]
pub struct UserInvite {
    pub addresses: Vec<EmailAddress>,
    pub message: Option<String>,
}

impl TryFrom<UserInviteRequest> for UserInvite {
    type Error = DomainError;
    fn try_from(body: UserInviteRequest) -> Result<Self, DomainError> {
        let raw = body
            .email_addresses
            .filter(|a| !a.is_empty())
            .ok_or_else(|| {
                DomainError::invalid("EmailAddresses is required: one or more addresses")
            })?;
        if raw.len() > MAX_ADDRESSES {
            return Err(DomainError::invalid(format!(
                "EmailAddresses holds at most {MAX_ADDRESSES} addresses"
            )));
        }
        let mut parsed = Vec::new();
        for (i, a) in raw.iter().enumerate() {
            parsed.push(email_field(&format!("EmailAddresses[{i}]"), a)?);
        }
        let message = body
            .message
            .map(|m| m.trim().to_string())
            .filter(|m| !m.is_empty());
        if let Some(m) = &message {
            if m.chars().count() > MAX_MESSAGE_CHARS {
                return Err(DomainError::invalid(format!(
                    "Message is longer than {MAX_MESSAGE_CHARS} characters"
                )));
            }
            if m.chars()
                .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
            {
                return Err(DomainError::invalid("Message contains control characters"));
            }
        }
        let mut addresses: Vec<EmailAddress> = Vec::new();
        for a in parsed {
            if !addresses.contains(&a) {
                addresses.push(a);
            }
        }
        Ok(UserInvite { addresses, message })
    }
}

/// What the store holds about each address an invitation call names, read in two rounds
/// whatever their number (docs/performance.md, "Round trips"): the account holding the address,
/// the company's earlier invitation to it and this hour's count of the company's emails to it;
/// then that account and its membership.
async fn read_addresses(
    app: &App,
    company: Id,
    emails: &[EmailAddress],
    now: DateTime<Utc>,
) -> Result<BTreeMap<Key, Item>, DomainError> {
    let fail = failed(Service::Company);
    let store = app.store.as_ref();
    let mut keys = Vec::new();
    for e in emails {
        keys.push(user::email_key(e));
        keys.push(invitation::invitation_key(company, e));
        keys.extend(limits::email_to(app, company, e, now)?.counters(now));
    }
    let mut read = records::read_keys(store, &keys).await.map_err(&fail)?;
    let mut accounts = Vec::new();
    for e in emails {
        if let Some(g) =
            records::record_at::<EmailGuard>(&read, &user::email_key(e)).map_err(&fail)?
        {
            accounts.push(user::user_key(g.user_id));
            accounts.push(membership::member_key(company, g.user_id));
        }
    }
    read.extend(records::read_keys(store, &accounts).await.map_err(&fail)?);
    Ok(read)
}

/// Whether `email` already belongs to a member of the company (active or deactivated; ended
/// temporary access does not count, nor does an account whose address nobody proved), by what
/// `read_addresses` read.
fn is_member(
    read: &BTreeMap<Key, Item>,
    company: Id,
    email: &EmailAddress,
    now: DateTime<Utc>,
) -> Result<bool, DomainError> {
    let fail = failed(Service::Company);
    let Some(guard) =
        records::record_at::<EmailGuard>(read, &user::email_key(email)).map_err(&fail)?
    else {
        return Ok(false);
    };
    let account =
        records::record_at::<user::User>(read, &user::user_key(guard.user_id)).map_err(&fail)?;
    if account.is_none_or(|a| a.unverified) {
        return Ok(false);
    }
    Ok(records::record_at::<membership::Membership>(
        read,
        &membership::member_key(company, guard.user_id),
    )
    .map_err(&fail)?
    .is_some_and(|m| !m.has_expired_at(now)))
}

/// `POST /api/users/invitations`: invites each address into the caller's company and answers
/// the addresses invited, by the rules every door shares (`usecases::permissions`,
/// `usecases::limits`). Addresses of members are left out (they are in already), and so are
/// revoked invitations unless a rep or admin invites; a pending invitation that is not the
/// caller's to replace, or went out a short while ago, or whose address had its emails from
/// this company for the hour, is listed but not emailed again; any other earlier invitation is
/// replaced by a new one (new link, new expiry). Everything is one transaction.
pub async fn invite_users(
    app: &App,
    p: &Principal,
    business: Option<Id>,
    input: UserInvite,
    (link_base, caller): (&str, &Caller),
) -> Result<Vec<String>, DomainError> {
    let now = app.clock.now();
    let acting = acting_in(app, p, business, now).await?;
    permissions::may_invite(&acting.membership, &acting.settings, now)?;
    let inviter = p.session.user_id;
    limits::proven_sender(app, inviter).await?;
    let privileged = permissions::privileged(acting.membership.role);
    let c = acting.company.company_id;
    let read = read_addresses(app, c, &input.addresses, now).await?;
    let mut invited = Vec::new();
    let mut to_send = Vec::new();
    for email in input.addresses {
        if is_member(&read, c, &email, now)? {
            continue;
        }
        let previous =
            records::record_at::<Invitation>(&read, &invitation::invitation_key(c, &email))
                .map_err(failed(Service::Company))?;
        match previous
            .as_ref()
            .map(|p| permissions::decide(p, privileged, now))
        {
            Some(Existing::Revoked) => continue,
            Some(Existing::NotYours | Existing::Quiet(_)) => invited.push(email.to_string()),
            Some(Existing::Replaced) | None => {
                invited.push(email.to_string());
                to_send.push((email, previous));
            }
        }
    }
    let mut uow = UnitOfWork::new();
    let mut sends = 0;
    let mut made = Vec::new();
    for (email, previous) in to_send {
        // An address emailed too often this hour is left out (and still answered as invited).
        let to = limits::email_to(app, c, &email, now)?;
        if !to.fits_in(&read, now) {
            continue;
        }
        uow.charge(to);
        sends += 1;
        let offer = Offer {
            company: c,
            email,
            contact_id: None,
            teams: Vec::new(),
            inviter,
            message: input.message.clone(),
            access_days: None,
            via_site: false,
        };
        made.push(invitations::send(
            &mut uow,
            offer,
            previous.as_ref(),
            acting.settings.invitation_days,
            (link_base, caller, now),
        ));
    }
    if !made.is_empty() {
        uow.extend(invitations::announce(&made, now));
        uow.charge(limits::emails_to_others(
            app,
            &acting.settings,
            Some(inviter),
            privileged,
            c,
            sends,
            now,
        )?);
        uow.commit(app, conflict_anywhere).await?;
    }
    Ok(invited)
}

/// A transaction of several invitations that failed a condition met one changed at the same
/// time.
fn conflict_anywhere(e: crate::ports::store::StoreError) -> DomainError {
    if e.is_condition_failure() {
        DomainError::new(
            ErrorKind::Conflict,
            "an invitation changed at the same time; try again",
        )
    } else {
        failed(Service::Company)(e)
    }
}

/// Admin tools are for the company's admins.
fn admin_only(acting: &Acting) -> Result<(), DomainError> {
    if acting.is_admin() {
        return Ok(());
    }
    Err(DomainError::new(
        ErrorKind::NotPermitted,
        "only the business's admins manage its invitations",
    ))
}

/// An invitation as admins see it.
#[derive(Debug, Serialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct InvitationView {
    pub email_address: String,
    pub status: InvitationStatus,
    pub invited_by: Id,
    pub teams: Vec<Id>,
    #[serde(with = "crate::domain::time::rfc3339")]
    pub created_at: DateTime<Utc>,
    #[serde(with = "crate::domain::time::rfc3339")]
    pub expires_at: DateTime<Utc>,
    pub history: Vec<invitation::InvitationEvent>,
}

fn view(inv: Invitation, now: DateTime<Utc>) -> InvitationView {
    InvitationView {
        status: inv.status_at(now),
        email_address: inv.email.to_string(),
        invited_by: inv.invited_by,
        teams: inv.teams,
        created_at: inv.created_at,
        expires_at: inv.expires_at,
        history: inv.history,
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct InvitationPage {
    pub invitations: Vec<InvitationView>,
    /// Give it back as `After` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_after: Option<String>,
}

/// The largest page of the invitation list.
pub const MAX_PAGE: usize = 100;

/// A company's invitations by address, `limit` (1 to 100) read at a time, optionally only those
/// of one status (the page may then be shorter; follow `NextAfter` to the end).
pub async fn list(
    app: &App,
    p: &Principal,
    business: Id,
    status: Option<InvitationStatus>,
    limit: usize,
    after: Option<&str>,
) -> Result<InvitationPage, DomainError> {
    let now = app.clock.now();
    let acting = acting_in(app, p, Some(business), now).await?;
    admin_only(&acting)?;
    list_for(app, business, status, limit, after, now).await
}

/// A company's invitations (the operator's `admit invitation list`, and admins through `list`).
pub async fn list_for(
    app: &App,
    business: Id,
    status: Option<InvitationStatus>,
    limit: usize,
    after: Option<&str>,
    now: DateTime<Utc>,
) -> Result<InvitationPage, DomainError> {
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(DomainError::invalid(format!(
            "Limit is a whole number from 1 to {MAX_PAGE}"
        )));
    }
    let after = after.map(|a| email_field("After", a)).transpose()?;
    let (items, more) = invitation::page(app.store.as_ref(), business, limit, after.as_ref())
        .await
        .map_err(failed(Service::Company))?;
    let next_after = more
        .then(|| items.last().map(|i| i.email.to_string()))
        .flatten();
    let invitations = items
        .into_iter()
        .map(|i| view(i, now))
        .filter(|v| status.is_none_or(|s| v.status == s))
        .collect();
    Ok(InvitationPage {
        invitations,
        next_after,
    })
}

/// The invitation of `email` in the company.
async fn find_invitation(app: &App, business: Id, email: &str) -> Result<Invitation, DomainError> {
    let email = email_field("EmailAddress", email)?;
    invitation::find(app.store.as_ref(), business, &email)
        .await
        .map_err(failed(Service::Company))?
        .ok_or_else(|| {
            DomainError::new(
                ErrorKind::RecordNotFound,
                format!("no invitation for {email}"),
            )
        })
}

/// Resends a pending (or expired) invitation with a new link and a new expiry; the old link
/// stops working. At most three sends of one invitation an hour.
pub async fn resend(
    app: &App,
    p: &Principal,
    business: Id,
    email: &str,
    (link_base, caller): (&str, &Caller),
) -> Result<InvitationView, DomainError> {
    let now = app.clock.now();
    admin_only(&acting_in(app, p, Some(business), now).await?)?;
    resend_for(
        app,
        business,
        email,
        Some(p.session.user_id),
        (link_base, caller, now),
    )
    .await
}

/// Resends an invitation on behalf of `by` (none: an operator), recording `Invitation Sent`
/// for a sender as every door that sends one does.
pub async fn resend_for(
    app: &App,
    business: Id,
    email: &str,
    by: Option<Id>,
    (link_base, caller, now): (&str, &Caller, DateTime<Utc>),
) -> Result<InvitationView, DomainError> {
    let inv = find_invitation(app, business, email).await?;
    if !matches!(
        inv.status_at(now),
        InvitationStatus::Pending | InvitationStatus::Expired
    ) {
        return Err(DomainError::invalid(format!(
            "the invitation for {} was accepted or revoked: only pending or expired invitations are resent (invite again instead)",
            inv.email
        )));
    }
    if inv.sends_since(now - chrono::Duration::hours(1)) >= SENDS_PER_HOUR {
        let wait = permissions::quiet_for(&inv, now).unwrap_or(3600);
        return Err(DomainError::new(
            ErrorKind::TooManyRequests,
            format!(
                "{} was sent this invitation {SENDS_PER_HOUR} times in the last hour",
                inv.email
            ),
        )
        .with_retry_after(wait));
    }
    if let Some(sender) = by {
        limits::proven_sender(app, sender).await?;
    }
    let settings = crate::records::company::settings(app.store.as_ref(), business)
        .await
        .map_err(failed(Service::Company))?;
    let mut uow = UnitOfWork::new();
    uow.charge(
        limits::emails_to_others(app, &settings, by, true, business, 1, now)?
            .and(limits::email_to(app, business, &inv.email, now)?),
    );
    let days = settings.invitation_days.unwrap_or(DEFAULT_INVITATION_DAYS);
    let expires_at = now + chrono::Duration::days(i64::from(days));
    let message =
        crate::records::outbox::Message::Invitation(crate::records::outbox::InvitationEmail {
            company_id: business,
            email: inv.email.clone(),
            link_base: link_base.to_string(),
        });
    uow.extend(invitation::renew(&inv, by, now, expires_at));
    // Other systems hear of it, and of the new link running out unless something comes first.
    let renewed = Invitation {
        expires_at,
        ..inv.clone()
    };
    uow.push(events::invitations_expire(
        renewed.company_id,
        vec![renewed.email.clone()],
        renewed.expires_at,
    ));
    uow.push(events::publish(events::invitation_event(
        EventType::InvitationResent,
        &renewed,
        Actor::user_or_operator(by),
        now,
    )));
    uow.push(crate::records::outbox::enqueue(
        &crate::domain::secrets::random_hex_id(),
        now,
        &message,
    ));
    if let Some(sender) = by {
        uow.activity(business, sender, ActivityType::InvitationSent, caller, now);
    }
    uow.commit(app, conflict_at_first).await?;
    // The answer is the invitation as stored: its new expiry and the send just recorded.
    Ok(view(find_invitation(app, business, email).await?, now))
}

/// Revokes a pending invitation: its link stops working at once.
pub async fn revoke(
    app: &App,
    p: &Principal,
    business: Id,
    email: &str,
    caller: &Caller,
) -> Result<InvitationView, DomainError> {
    let now = app.clock.now();
    admin_only(&acting_in(app, p, Some(business), now).await?)?;
    revoke_for(app, business, email, Some(p.session.user_id), caller, now).await
}

/// Revokes an invitation on behalf of `by` (none: an operator).
pub async fn revoke_for(
    app: &App,
    business: Id,
    email: &str,
    by: Option<Id>,
    caller: &Caller,
    now: DateTime<Utc>,
) -> Result<InvitationView, DomainError> {
    let inv = find_invitation(app, business, email).await?;
    if inv.status_at(now) != InvitationStatus::Pending {
        return Err(DomainError::invalid(format!(
            "the invitation for {} is not pending",
            inv.email
        )));
    }
    let mut writes = invitation::revoke(&inv, by, now);
    writes.push(events::publish(events::invitation_event(
        EventType::InvitationRevoked,
        &inv,
        Actor::user_or_operator(by),
        now,
    )));
    if let Some(admin) = by {
        // An access change, in the site's activity log (under the admin who made it).
        writes.extend(activity::record_in_site(
            business,
            admin,
            ActivityType::InvitationRevoked,
            Source::of(caller, false),
            caller,
            None,
            now,
        ));
    }
    transact(app, writes).await?;
    // The answer is the invitation as stored, with the revocation in its history.
    Ok(view(find_invitation(app, business, email).await?, now))
}

async fn transact(app: &App, writes: Vec<Write>) -> Result<(), DomainError> {
    app.store.transact(writes).await.map_err(conflict_at_first)
}

/// A transaction that failed at its first write met an invitation changed at the same time.
fn conflict_at_first(e: crate::ports::store::StoreError) -> DomainError {
    if e.failed_at(0) {
        DomainError::new(
            ErrorKind::Conflict,
            "the invitation changed at the same time; try again",
        )
    } else {
        failed(Service::Company)(e)
    }
}

/// Parses a `Status` filter: pending, accepted, expired or revoked.
pub fn status_filter(raw: Option<&str>) -> Result<Option<InvitationStatus>, DomainError> {
    let Some(raw) = raw else { return Ok(None) };
    let statuses = [
        ("pending", InvitationStatus::Pending),
        ("accepted", InvitationStatus::Accepted),
        ("expired", InvitationStatus::Expired),
        ("revoked", InvitationStatus::Revoked),
    ];
    statuses
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(raw.trim()))
        .map(|(_, s)| Some(*s))
        .ok_or_else(|| DomainError::invalid("Status is pending, accepted, expired or revoked"))
}
