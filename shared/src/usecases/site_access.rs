//! Site access: a site (company) admin invites a user to the site and some of its groups
//! (teams), temporarily (`duration` days) or permanently
//! (`POST /api/rest/v1/management/users/invite`, the site family's Invite Users). Nobody is
//! given access they did not accept: an address that is not a member of the site gets an
//! invitation (the one lifecycle of `usecases::invitations`), emailed, and access starts when
//! its owner accepts it; the answer is the same whether or not the address has an account. A
//! live member of the site has said yes already: their access is extended at once, in one
//! transaction with its activity item, its contact link and the email that tells them.
//!
//! Temporary access is a membership with an end (`expiresAt`, also its TTL): from then on it
//! counts as not active everywhere (`Membership::is_active_at`) and the table forgets it. Its
//! `Site Access Expired` activity is recorded with the grant, dated at the end. A new invite
//! extends it or makes it permanent; an invite never shortens access.

use crate::app::App;
use crate::domain::activity::ActivityType;
use crate::domain::error::{DomainError, ErrorKind, Service};
use crate::domain::html;
use crate::domain::secrets::random_hex_id;
use crate::domain::{Caller, EmailAddress, Id};
use crate::ports::mail::Email;
use crate::ports::store::{StoreError, Write};
use crate::records::contact::{self as contacts, ContactRecord};
use crate::records::outbox::{self, Message};
use crate::records::{activity, company, membership, user};
use crate::records::{Company, Membership, Role, Status, Team, User};
use crate::usecases::invitations::{self, Offer};
use crate::usecases::limits;
use crate::usecases::site_terms::plan;
use crate::usecases::unit::UnitOfWork;
use crate::usecases::{distinct, failed, permissions};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

pub const MAX_DURATION_DAYS: u64 = 365;
pub const MAX_GROUPS: usize = 100;

/// The invite's body as sent (the vendor's fields).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SiteInviteRequest {
    pub email: Option<String>,
    pub duration: Option<Value>,
    pub groups: Option<Vec<Id>>,
    pub auto_create_or_link_contact: Option<Value>,
    #[serde(rename = "mappedContactID")]
    pub mapped_contact_id: Option<Value>,
}

/// Which contact of the site the invited user is linked to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContactLink {
    None,
    /// `mappedContactID`: this contact.
    Mapped(Id),
    /// `autoCreateOrLinkContact` without a contact id: the site's contact with the user's
    /// email, or a new one.
    Auto,
}

/// An invite, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct SiteInvitation {
    pub email: EmailAddress,
    /// `None`: permanent access.
    pub days: Option<u32>,
    /// Distinct, in the order asked.
    pub groups: Vec<Id>,
    pub contact: ContactLink,
}

fn duration_days(v: Option<Value>) -> Result<Option<u32>, DomainError> {
    let refused = || {
        DomainError::invalid(format!(
            "duration must be a whole number of days from 1 to {MAX_DURATION_DAYS} (leave it out for permanent access)"
        ))
    };
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_u64()
            .filter(|d| (1..=MAX_DURATION_DAYS).contains(d))
            .and_then(|d| u32::try_from(d).ok())
            .map(Some)
            .ok_or_else(refused),
        Some(_) => Err(refused()),
    }
}

/// `true`/`false`, or the vendor's integer form `1`/`0`.
fn flag(name: &str, v: Option<Value>) -> Result<bool, DomainError> {
    match v {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(b),
        Some(Value::Number(n)) if n.as_u64() == Some(0) => Ok(false),
        Some(Value::Number(n)) if n.as_u64() == Some(1) => Ok(true),
        Some(_) => Err(DomainError::invalid(format!(
            "{name} must be true or false"
        ))),
    }
}

/// A contact id; `0` (the vendor's example) or none means no contact is named.
fn contact_id(v: Option<Value>) -> Result<Option<Id>, DomainError> {
    let refused = || {
        DomainError::invalid(
            "mappedContactID must be a contact id (a whole number; 0 or leaving it out names none)",
        )
    };
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => match n.as_u64() {
            Some(0) => Ok(None),
            Some(id) => Id::new(id).map(Some).map_err(|_| refused()),
            None => Err(refused()),
        },
        Some(_) => Err(refused()),
    }
}

impl TryFrom<SiteInviteRequest> for SiteInvitation {
    type Error = DomainError;
    fn try_from(body: SiteInviteRequest) -> Result<Self, DomainError> {
        let raw = body
            .email
            .ok_or_else(|| DomainError::invalid("email is required"))?;
        let email =
            EmailAddress::parse(&raw).map_err(|e| DomainError::invalid(format!("email: {e}")))?;
        let days = duration_days(body.duration)?;
        let asked = body.groups.unwrap_or_default();
        if asked.len() > MAX_GROUPS {
            return Err(DomainError::invalid(format!(
                "groups holds at most {MAX_GROUPS} group ids"
            )));
        }
        let groups = distinct(asked);
        let auto = flag("autoCreateOrLinkContact", body.auto_create_or_link_contact)?;
        let contact = match (contact_id(body.mapped_contact_id)?, auto) {
            (Some(id), _) => ContactLink::Mapped(id),
            (None, true) => ContactLink::Auto,
            (None, false) => ContactLink::None,
        };
        Ok(SiteInvitation {
            email,
            days,
            groups,
            contact,
        })
    }
}

/// The site a request of the site family acts on: one the caller is an active admin of,
/// `requested` (the `siteId` query parameter) or else the only one. Another site, existing or
/// not, gets the same refusal.
pub async fn admin_site(
    app: &App,
    caller: Id,
    requested: Option<Id>,
    now: DateTime<Utc>,
) -> Result<Company, DomainError> {
    let store = app.store.as_ref();
    let fail = failed(Service::Company);
    let admin = |m: &Membership| m.role == Role::Admin && m.is_active_at(now);
    let refused = |m: &str| DomainError::new(ErrorKind::NotPermitted, m);
    let c = match requested {
        Some(c) => membership::find(store, c, caller)
            .await
            .map_err(&fail)?
            .filter(admin)
            .map(|m| m.company_id)
            .ok_or_else(|| refused(&format!("siteId {c} is not a site you administer")))?,
        None => {
            let sites: Vec<Id> = membership::companies_of(store, caller)
                .await
                .map_err(&fail)?
                .iter()
                .filter(|m| admin(m))
                .map(|m| m.company_id)
                .collect();
            match sites.as_slice() {
                [] => return Err(refused("only an admin of the site may do this")),
                [c] => *c,
                many => {
                    let ids: Vec<String> = many.iter().map(Id::to_string).collect();
                    return Err(DomainError::invalid(format!(
                        "you administer several sites ({}); name one with the siteId query parameter",
                        ids.join(", ")
                    )));
                }
            }
        }
    };
    let site = company::find(store, c)
        .await
        .map_err(&fail)?
        .ok_or_else(|| refused("only an admin of the site may do this"))?;
    if site.status != Status::Active {
        return Err(DomainError::new(
            ErrorKind::CompanyNotActive,
            "the site is not active",
        ));
    }
    Ok(site)
}

/// A group as the site family shows it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Group {
    pub group_id: Id,
    pub group_name: String,
}

/// What an invite did: `granted` (a member's access, extended at once) or `invited` (an
/// invitation is on its way; access starts when it is accepted).
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Granted,
    Invited,
}

/// The answer to an invite: the access granted, or the access the invitation offers.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SiteAccess {
    pub status: Outcome,
    /// A member's id (`granted` only: an invitation does not tell whether the address has an
    /// account).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<Id>,
    pub email: String,
    pub site_id: Id,
    /// The groups of this invite, in the order asked.
    pub groups: Vec<Group>,
    pub temporary: bool,
    /// `granted`: when temporary access ends.
    #[serde(
        skip_serializing_if = "Option::is_none",
        with = "crate::domain::time::rfc3339_opt"
    )]
    pub expires_at: Option<DateTime<Utc>>,
    /// `invited`: the days of temporary access that start when the invitation is accepted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration: Option<u32>,
    /// `invited`: when the invitation's link stops working.
    #[serde(
        skip_serializing_if = "Option::is_none",
        with = "crate::domain::time::rfc3339_opt"
    )]
    pub invitation_expires_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contact_id: Option<Id>,
}

/// The site's groups among `ids`, in the order asked; any other id is refused.
async fn site_groups(app: &App, c: Id, ids: &[Id]) -> Result<Vec<Team>, DomainError> {
    let found = company::teams_among(app.store.as_ref(), c, ids)
        .await
        .map_err(failed(Service::Company))?;
    match ids.iter().find(|g| !found.iter().any(|t| t.team_id == **g)) {
        Some(g) => Err(DomainError::invalid(format!(
            "group {g} is not a group of this site"
        ))),
        None => Ok(found),
    }
}

/// A contact may be linked to the user (`None`: whoever owns `email`) unless it already is to
/// someone else.
fn linkable(
    contact: &ContactRecord,
    user: Option<Id>,
    owner_of_email: Option<Id>,
) -> Result<(), DomainError> {
    match contact.user_id {
        Some(other) if Some(other) != user.or(owner_of_email) => Err(DomainError::invalid(
            format!("contact {} is linked to another user", contact.contact_id),
        )),
        _ => Ok(()),
    }
}

/// The contact the invite names and the writes that create it if needed; `member` (a member
/// being granted access now) is linked at once, an invitee when they accept.
async fn link_contact(
    app: &App,
    c: Id,
    email: &EmailAddress,
    member: Option<&User>,
    link: ContactLink,
    now: DateTime<Utc>,
) -> Result<(Option<Id>, Vec<Write>), DomainError> {
    let store = app.store.as_ref();
    let fail = failed(Service::Company);
    let existing = match link {
        ContactLink::None => return Ok((None, Vec::new())),
        ContactLink::Mapped(id) => Some(
            contacts::find(store, c, id)
                .await
                .map_err(&fail)?
                .ok_or_else(|| {
                    DomainError::invalid(format!(
                        "mappedContactID {id} is not a contact of this site"
                    ))
                })?,
        ),
        ContactLink::Auto => contacts::find_by_email(store, c, email)
            .await
            .map_err(&fail)?,
    };
    let user = member.map(|u| u.user_id);
    if let Some(contact) = existing {
        if contact.user_id.is_some() {
            let owner = user::email_taken(store, email).await.map_err(&fail)?;
            linkable(&contact, user, owner)?;
        }
        let id = contact.contact_id;
        let writes = user.map(|u| contacts::link_user(c, id, u));
        return Ok((Some(id), writes.into_iter().collect()));
    }
    let mut fields = Map::new();
    if let Some(m) = member {
        fields.insert("firstname".into(), json!(m.first_name));
        fields.insert("lastname".into(), json!(m.last_name));
    }
    fields.insert("email1".into(), json!(email));
    let record = ContactRecord {
        contact_id: app.ids.next("contact").await.map_err(&fail)?,
        company_id: c,
        created_at: now,
        source: Some("siteInvite".into()),
        user_id: user,
        condition: None,
        fields,
    };
    Ok((Some(record.contact_id), contacts::create(&record).writes))
}

/// The email that tells the user: the site, the groups and, for temporary access, its end.
fn access_email(
    site: &Company,
    account: &User,
    groups: &[Team],
    end: Option<DateTime<Utc>>,
) -> Email {
    let access = match end {
        Some(end) => format!(
            "Your access is temporary: it ends on {} UTC.",
            end.format("%-d %B %Y at %H:%M")
        ),
        None => "Your access is permanent.".to_string(),
    };
    let names: Vec<&str> = groups.iter().map(|g| g.team_name.as_str()).collect();
    let groups = if names.is_empty() {
        "You have not been added to any group.".to_string()
    } else {
        format!("Your groups: {}.", names.join(", "))
    };
    let letter = html::Letter {
        company: Some(site.name.clone()),
        heading: format!("You have access to {}", site.name),
        greeting: Some(format!("Hello {},", account.first_name)),
        paragraphs: vec![
            format!("You have been given access to {}.", site.name),
            access,
            groups,
            format!("Sign in with your account, {}.", account.email),
        ],
        ..html::Letter::default()
    };
    Email::letter(
        account.email.to_string(),
        format!("You have access to {}", site.name),
        &letter,
    )
}

/// The member an invite extends access for at once: a verified, active account with a live,
/// active membership of the site (they said yes already). Anyone else is invited.
async fn live_member(
    app: &App,
    c: Id,
    email: &EmailAddress,
    now: DateTime<Utc>,
) -> Result<Option<(User, Membership)>, DomainError> {
    let store = app.store.as_ref();
    let fail = failed(Service::Membership);
    let Some(account) = user::find_by_email(store, email).await.map_err(&fail)? else {
        return Ok(None);
    };
    let Some(m) = membership::find(store, c, account.user_id)
        .await
        .map_err(&fail)?
    else {
        return Ok(None);
    };
    if m.status == Status::Inactive {
        // The site's own decision, as the site sees it: an invite does not undo it.
        return Err(DomainError::invalid(format!(
            "{email}'s access to this site was deactivated; an invite does not restore it"
        )));
    }
    let live = m.is_active_at(now);
    Ok((live && !account.unverified && account.status == Status::Active).then_some((account, m)))
}

/// Invite Users as the site's admin: the site `requested` (or the admin's only one, see
/// `admin_site`), then `invite`, both at one `now`.
pub async fn invite_as(
    app: &App,
    admin: Id,
    requested: Option<Id>,
    inv: SiteInvitation,
    link_base: &str,
    caller: &Caller,
) -> Result<SiteAccess, DomainError> {
    let now = app.clock.now();
    let site = admin_site(app, admin, requested, now).await?;
    invite(app, &site, admin, inv, (link_base, caller, now)).await
}

/// Invites `inv.email` to `site` by `admin`: a live member's access is extended at once;
/// anyone else gets an invitation whose acceptance starts the access. The same answer,
/// `invited`, whether or not the address has an account.
pub async fn invite(
    app: &App,
    site: &Company,
    admin: Id,
    inv: SiteInvitation,
    (link_base, caller, now): (&str, &Caller, DateTime<Utc>),
) -> Result<SiteAccess, DomainError> {
    let c = site.company_id;
    let mine = membership::find(app.store.as_ref(), c, admin)
        .await
        .map_err(failed(Service::Membership))?
        .ok_or_else(|| {
            DomainError::new(
                ErrorKind::NotPermitted,
                "only an admin of the site may do this",
            )
        })?;
    let settings = company::settings(app.store.as_ref(), c)
        .await
        .map_err(failed(Service::Company))?;
    permissions::may_invite(&mine, &settings, now)?;
    let groups = site_groups(app, c, &inv.groups).await?;
    limits::proven_sender(app, admin).await?;
    match live_member(app, c, &inv.email, now).await? {
        Some((account, m)) => {
            let who = (admin, &settings);
            grant(app, site, who, &account, m, inv, &groups, caller, now).await
        }
        None => {
            offer(
                app,
                site,
                admin,
                inv,
                &groups,
                &settings,
                (link_base, caller, now),
            )
            .await
        }
    }
}

fn group_views(groups: &[Team]) -> Vec<Group> {
    groups
        .iter()
        .map(|t| Group {
            group_id: t.team_id,
            group_name: t.team_name.clone(),
        })
        .collect()
}

/// Sends the invitation that gives `inv.email` access when accepted.
async fn offer(
    app: &App,
    site: &Company,
    admin: Id,
    inv: SiteInvitation,
    groups: &[Team],
    settings: &crate::records::Settings,
    (link_base, caller, now): (&str, &Caller, DateTime<Utc>),
) -> Result<SiteAccess, DomainError> {
    let c = site.company_id;
    // Bad input (a contact that is not the site's) is refused before any limit is consulted.
    let (contact_id, contact_writes) =
        link_contact(app, c, &inv.email, None, inv.contact, now).await?;
    let previous = invitations::existing(app, c, &inv.email).await?;
    let correction = permissions::corrects(previous.as_ref(), &inv.groups, inv.days, now);
    permissions::may_replace(previous.as_ref(), true, correction, now)?;
    // Counted in the invitation's transaction: a refused or failed one spends nothing.
    let charges = limits::emails_to_others(app, settings, Some(admin), true, c, 1, now)?
        .and(limits::email_to(app, c, &inv.email, now)?);
    let offer = Offer {
        company: c,
        email: inv.email.clone(),
        contact_id,
        teams: inv.groups.clone(),
        inviter: admin,
        message: None,
        access_days: inv.days,
        via_site: true,
    };
    let days = settings.invitation_days;
    let mut uow = UnitOfWork::new();
    uow.extend(contact_writes);
    uow.charge(charges);
    let sent = invitations::send(
        &mut uow,
        offer,
        previous.as_ref(),
        days,
        (link_base, caller, now),
    );
    uow.extend(invitations::announce(&[sent], now));
    uow.commit(app, changed_meanwhile).await?;
    let link_days = days.unwrap_or(invitations::DEFAULT_INVITATION_DAYS);
    tracing::info!(company_id = %c, inviter = %admin, temporary = inv.days.is_some(), "site invitation sent");
    Ok(SiteAccess {
        status: Outcome::Invited,
        user_id: None,
        email: inv.email.to_string(),
        site_id: c,
        groups: group_views(groups),
        temporary: inv.days.is_some(),
        expires_at: None,
        duration: inv.days,
        invitation_expires_at: Some(now + Duration::days(i64::from(link_days))),
        contact_id,
    })
}

/// What a failed site transaction answers: a concurrent change, or a store failure.
fn changed_meanwhile(e: StoreError) -> DomainError {
    if e.is_condition_failure() {
        DomainError::new(
            ErrorKind::Conflict,
            "the user's access, invitation or contact changed at the same time; try again",
        )
    } else {
        failed(Service::Membership)(e)
    }
}

/// Extends a live member's access at once (the groups added; temporary access extended or made
/// permanent, never shortened), links the contact, records the grant and its end, queues the
/// email that tells them.
#[allow(clippy::too_many_arguments)]
async fn grant(
    app: &App,
    site: &Company,
    (admin, settings): (Id, &crate::records::Settings),
    account: &User,
    seen: Membership,
    inv: SiteInvitation,
    groups: &[Team],
    caller: &Caller,
    now: DateTime<Utc>,
) -> Result<SiteAccess, DomainError> {
    let (c, now) = (site.company_id, now);
    let u = account.user_id;
    let plan = plan(Some(&seen), inv.days, &inv.groups, now)?;
    let (contact_id, contact_writes) =
        link_contact(app, c, &account.email, Some(account), inv.contact, now).await?;
    // The email only tells a member what changed: past the sender's or the address's hourly
    // limit the access is still extended, and the email is left out.
    let charges = limits::emails_to_others(app, settings, Some(admin), true, c, 1, now)
        .and_then(|ch| Ok(ch.and(limits::email_to(app, c, &account.email, now)?)));
    let charges = match charges {
        Ok(ch) if ch.fit(app, now).await? => Some(ch),
        Ok(_) => None,
        Err(e) if e.kind == ErrorKind::TooManyRequests => None,
        Err(e) => return Err(e),
    };
    let tell = charges.is_some();
    let mut writes = UnitOfWork::new();
    writes.charge(charges.unwrap_or_default());
    writes.push(membership::grant_access(&seen, &plan.teams, plan.end));
    let by = crate::domain::event::Actor::user(admin);
    writes.extend(crate::records::events::teams_changed(
        c,
        u,
        &seen.teams,
        &plan.teams,
        by,
        now,
    ));
    writes.extend(contact_writes);
    writes.extend(
        plan.cancel
            .into_iter()
            .flat_map(|e| activity::cancel_expiry(c, u, e)),
    );
    writes.extend(
        plan.record
            .into_iter()
            .flat_map(|e| activity::record_expiry(c, u, e)),
    );
    if tell {
        let email = access_email(site, account, groups, plan.end);
        writes.push(outbox::enqueue(
            &random_hex_id(),
            now,
            &Message::Email(email),
        ));
    }
    writes.activity(c, u, ActivityType::SiteAccessGranted, caller, now);
    writes.commit(app, changed_meanwhile).await?;
    tracing::info!(user_id = %u, company_id = %c, temporary = plan.end.is_some(), "site access extended");
    Ok(SiteAccess {
        status: Outcome::Granted,
        user_id: Some(u),
        email: account.email.to_string(),
        site_id: c,
        groups: group_views(groups),
        temporary: plan.end.is_some(),
        expires_at: plan.end,
        duration: None,
        invitation_expires_at: None,
        contact_id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(v: Value) -> Result<SiteInvitation, DomainError> {
        SiteInvitation::try_from(serde_json::from_value::<SiteInviteRequest>(v).unwrap())
    }

    #[test]
    fn the_seed_s_parameters_as_documented() {
        let inv = req(json!({"email": "testuser@intapp.com", "duration": 10,
            "groups": [12, 22, 192], "autoCreateOrLinkContact": true, "mappedContactID": 0}))
        .unwrap();
        assert_eq!(inv.days, Some(10));
        assert_eq!(inv.groups.len(), 3);
        assert_eq!(inv.contact, ContactLink::Auto);
        let inv =
            req(json!({"email": "a@b.co", "autoCreateOrLinkContact": 0, "mappedContactID": 7}))
                .unwrap();
        assert_eq!(
            (inv.days, inv.contact),
            (None, ContactLink::Mapped(Id::new(7).unwrap()))
        );
        assert_eq!(
            req(json!({"email": "a@b.co"})).unwrap().contact,
            ContactLink::None
        );
    }

    #[test]
    fn bad_durations_and_flags_are_refused() {
        for d in [
            json!(0),
            json!(-1),
            json!(366),
            json!(1.5),
            json!("10"),
            json!(true),
        ] {
            let e = req(json!({"email": "a@b.co", "duration": d})).unwrap_err();
            assert!(
                e.message
                    .starts_with("duration must be a whole number of days from 1 to 365"),
                "{d}"
            );
        }
        assert!(req(json!({"email": "a@b.co", "autoCreateOrLinkContact": "yes"})).is_err());
        assert!(req(json!({"email": "a@b.co", "mappedContactID": -3})).is_err());
        assert_eq!(req(json!({})).unwrap_err().message, "email is required");
    }
}
