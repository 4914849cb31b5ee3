//! inviteMIUser: a member invites a contact to the company wall and teams, by the rules every
//! door shares (`usecases::permissions`, `usecases::limits`). The invitation email is queued through
//! the outbox; its single-use token is issued when the email is sent (`usecases::invitations`)
//! and only its SHA-256 is stored.
//!
//! One rule for whom an invitation may go to: not to an address that already belongs to a
//! member of the company (active or deactivated: re-activating is an admin's decision; an
//! account whose address nobody proved does not count).

use crate::app::App;
use crate::domain::contact::{self, Contact};
use crate::domain::error::{DomainError, ErrorKind, Service};
use crate::domain::{Caller, EmailAddress, Id};
use crate::ports::store::StoreError;
use crate::records::contact::{self as contacts, ContactRecord};
use crate::records::Status;
use crate::records::{company, membership, user, Settings};
use crate::usecases::invitations::{self, Offer};
use crate::usecases::unit::UnitOfWork;
use crate::usecases::{distinct, failed, limits, permissions};
use serde::Deserialize;
use serde_json::Value;

pub const MAX_TEAMS: usize = 100;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InviteRequest {
    pub company_id: Option<Id>,
    pub contact: Option<Value>,
    pub invite_teams: Option<Vec<InviteTeam>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InviteTeam {
    pub team_id: Option<Id>,
    /// Informational only: the stored team name is what counts.
    #[allow(dead_code)]
    pub team_name: Option<String>,
}

/// An invitation request, validated.
#[derive(Debug)]
pub struct MiInvitation {
    pub company_id: Id,
    pub contact: Contact,
    pub email: EmailAddress,
    pub teams: Vec<Id>,
}

impl TryFrom<InviteRequest> for MiInvitation {
    type Error = DomainError;
    fn try_from(body: InviteRequest) -> Result<Self, DomainError> {
        let company_id = body
            .company_id
            .ok_or_else(|| DomainError::invalid("companyId is required"))?;
        let contact = match &body.contact {
            Some(v) => contact::parse("contact", v)?,
            None => return Err(DomainError::invalid("contact is required")),
        };
        for f in ["firstname", "lastname", "email1"] {
            if contact.get(f).is_none() {
                return Err(DomainError::invalid(format!("contact.{f} is required")));
            }
        }
        let email = contact
            .email()
            .ok_or_else(|| DomainError::invalid("contact.email1 is required"))?;
        let asked = body.invite_teams.unwrap_or_default();
        if asked.len() > MAX_TEAMS {
            return Err(DomainError::invalid(format!(
                "inviteTeams holds at most {MAX_TEAMS} teams"
            )));
        }
        let mut teams = Vec::new();
        for (i, t) in asked.iter().enumerate() {
            teams.push(t.team_id.ok_or_else(|| {
                DomainError::invalid(format!("inviteTeams[{i}].teamId is required"))
            })?);
        }
        let teams = distinct(teams);
        Ok(MiInvitation {
            company_id,
            contact,
            email,
            teams,
        })
    }
}

/// The one answer for a caller who may not invite to `companyId`, whether it exists or not.
fn not_yours() -> DomainError {
    DomainError::invalid("companyId is not a company you can invite to")
}

/// Checks the inviter may invite to the company and grant the teams asked for, by the rules
/// every door shares (`usecases::permissions`). Returns the company's settings and whether the
/// inviter is a rep or admin.
async fn check_inviter(
    app: &App,
    inviter: Id,
    inv: &MiInvitation,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(Settings, bool), DomainError> {
    let c = inv.company_id;
    let store = app.store.as_ref();
    let fail = failed(Service::Company);
    let m = membership::find(store, c, inviter).await.map_err(&fail)?;
    let Some(m) = m.filter(|m| m.is_active_at(now)) else {
        return Err(not_yours());
    };
    let company = company::find(store, c)
        .await
        .map_err(&fail)?
        .ok_or_else(not_yours)?;
    if company.status != Status::Active {
        return Err(DomainError::invalid("the company is not active"));
    }
    let settings = company::settings(store, c).await.map_err(&fail)?;
    permissions::may_invite(&m, &settings, now)?;
    let found = company::teams_among(store, c, &inv.teams)
        .await
        .map_err(&fail)?;
    permissions::may_grant_teams(&m, &inv.teams, &found, |t| {
        DomainError::new(
            ErrorKind::InvalidTeam,
            format!("team {t} is not a team of company {c} you can invite to"),
        )
    })?;
    limits::proven_sender(app, inviter).await?;
    Ok((settings, permissions::privileged(m.role)))
}

/// Refuses an address that already belongs to a member of the company (temporary site access
/// that has ended does not count: that person may be invited back; nor does an account nobody
/// has proven the address of: the invitation is how its real owner takes it back).
async fn check_not_member(
    app: &App,
    c: Id,
    email: &EmailAddress,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), DomainError> {
    let store = app.store.as_ref();
    let fail = failed(Service::Company);
    let Some(account) = user::find_by_email(store, email).await.map_err(&fail)? else {
        return Ok(());
    };
    if account.unverified {
        return Ok(());
    }
    if membership::find(store, c, account.user_id)
        .await
        .map_err(&fail)?
        .is_some_and(|m| !m.has_expired_at(now))
    {
        return Err(DomainError::invalid(format!(
            "{email} is already a member of this company"
        )));
    }
    Ok(())
}

/// The contact the invitation names: the company's contact with that email as it is (this
/// call never changes contact details), or a new one (with its writes).
async fn contact_for(
    app: &App,
    inv: &MiInvitation,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(Id, Option<contacts::ContactWrites>), DomainError> {
    let fail = failed(Service::Company);
    let c = inv.company_id;
    if let Some(existing) = contacts::find_by_email(app.store.as_ref(), c, &inv.email)
        .await
        .map_err(&fail)?
    {
        return Ok((existing.contact_id, None));
    }
    let id = app.ids.next("contact").await.map_err(&fail)?;
    let record = ContactRecord {
        contact_id: id,
        company_id: c,
        created_at: now,
        source: Some("invitation".into()),
        user_id: None,
        condition: None,
        fields: inv.contact.0.clone(),
    };
    Ok((id, Some(contacts::create(&record))))
}

/// Invites; the email goes out through the outbox. An earlier invitation of the address is
/// replaced only as `permissions::decide` allows.
pub async fn invite(
    app: &App,
    inviter: Id,
    inv: MiInvitation,
    link_base: &str,
    caller: &Caller,
) -> Result<(), DomainError> {
    let now = app.clock.now();
    let (settings, privileged) = check_inviter(app, inviter, &inv, now).await?;
    inv.contact.check_past_dates("contact", now.date_naive())?;
    let c = inv.company_id;
    check_not_member(app, c, &inv.email, now).await?;
    let previous = invitations::existing(app, c, &inv.email).await?;
    let correction = permissions::corrects(previous.as_ref(), &inv.teams, None, now);
    permissions::may_replace(previous.as_ref(), privileged, correction, now)?;
    let charges = limits::emails_to_others(app, &settings, Some(inviter), privileged, c, 1, now)?
        .and(limits::email_to(app, c, &inv.email, now)?);
    let fail = failed(Service::Company);
    let (contact_id, new_contact) = contact_for(app, &inv, now).await?;
    let mut uow = UnitOfWork::new();
    uow.charge(charges);
    let mut ext_at = None;
    if let Some(cw) = new_contact {
        ext_at = cw.external_id_guard_at;
        uow.extend(cw.writes);
    }
    let offer = Offer {
        company: c,
        email: inv.email,
        contact_id: Some(contact_id),
        teams: inv.teams,
        inviter,
        message: None,
        access_days: None,
        via_site: false,
    };
    let sent = invitations::send(
        &mut uow,
        offer,
        previous.as_ref(),
        settings.invitation_days,
        (link_base, caller, now),
    );
    uow.extend(invitations::announce(&[sent], now));
    uow.commit(app, |e| conflict_or(e, ext_at, &fail)).await?;
    tracing::info!(company_id = %c, inviter = %inviter, contact_id = %contact_id, "user invited");
    Ok(())
}

fn conflict_or(
    e: StoreError,
    ext_at: Option<usize>,
    fail: &impl Fn(StoreError) -> DomainError,
) -> DomainError {
    if ext_at.is_some_and(|i| e.failed_at(i)) {
        DomainError::invalid(
            "contact.externalId is already used by another contact of this company",
        )
    } else if e.is_condition_failure() {
        DomainError::new(
            ErrorKind::Conflict,
            "the invitation changed at the same time; try again",
        )
    } else {
        fail(e)
    }
}
