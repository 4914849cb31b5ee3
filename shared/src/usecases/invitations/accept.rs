//! The invitee's side of an invitation: what it offers (without using it up), and accepting
//! it, once, as whoever proves control of the address.

use crate::app::App;
use crate::domain::activity::{ActivityType, Source};
use crate::domain::error::{DomainError, ErrorKind, Service};
use crate::domain::event::{Actor, EventType};
use crate::domain::secrets::Token;
use crate::domain::{Caller, Id, Name, Password};
use crate::ports::store::Write;
use crate::records::invitation::Spent;
use crate::records::{activity, company, contact, events, invitation, membership, user};
use crate::records::{Invitation, InvitationStatus, Membership, Session, Status, User};
use crate::usecases::accounts::{hash_password, new_password};
use crate::usecases::teams::TeamRef;
use crate::usecases::{failed, link_used_or_changed, login, site_terms, takeback};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// `account.registered` for an account an invitation's acceptance made.
fn registered_by_invitation(user: &User, company: Id, now: DateTime<Utc>) -> Write {
    let id = user.user_id;
    let e = events::account_event(
        EventType::AccountRegistered,
        Some(company),
        id,
        user.email.as_str(),
        Actor::user(id),
        now,
    );
    events::publish(e.with("via", "invitation"))
}

/// `invitation.accepted`, naming the account that accepted.
fn accepted_event(inv: &Invitation, user_id: Id, now: DateTime<Utc>) -> Write {
    let actor = Actor::user(user_id);
    let mut e = events::invitation_event(EventType::InvitationAccepted, inv, actor, now);
    e.subject.user_id = Some(user_id);
    events::publish(e)
}

fn gone() -> DomainError {
    DomainError::new(
        ErrorKind::RecordNotFound,
        "invitation not found, already used or replaced by a newer one",
    )
}

/// Why a link that was issued no longer works.
fn gone_because(why: Spent) -> DomainError {
    let message = match why {
        Spent::Accepted => "this invitation was already accepted; sign in with the invited address",
        Spent::Revoked => "this invitation was revoked; ask for a new one if you still need it",
        Spent::Replaced => {
            "a newer email replaced this link; use the link in the newest invitation email"
        }
    };
    DomainError::new(ErrorKind::RecordNotFound, message)
}

/// The invitation a token stands for, checked: pending, not expired, the token live (see
/// `invitation::find_by_token`); with the outbox message the token is live through, if any.
async fn by_token(
    app: &App,
    raw: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(Token, Invitation, Option<String>), DomainError> {
    let token = raw
        .and_then(Token::presented)
        .ok_or_else(|| DomainError::invalid("token is required"))?;
    let store = app.store.as_ref();
    let Some(opened) = invitation::find_by_token(store, &token.hash())
        .await
        .map_err(failed(Service::Company))?
    else {
        // Say why, to the holder of the link: it was issued, and was spent since.
        let why = invitation::why_spent(store, &token.hash())
            .await
            .map_err(failed(Service::Company))?;
        return Err(why.map_or_else(gone, gone_because));
    };
    let inv = opened.invitation;
    if inv.status != InvitationStatus::Pending {
        return Err(gone_because(match inv.status {
            InvitationStatus::Accepted => Spent::Accepted,
            InvitationStatus::Revoked => Spent::Revoked,
            InvitationStatus::Pending | InvitationStatus::Expired => Spent::Replaced,
        }));
    }
    if inv.expires_at <= now {
        return Err(DomainError::new(
            ErrorKind::Expired,
            "the invitation has expired; ask for a new one",
        ));
    }
    Ok((token, inv, opened.outbox_id))
}

/// What the invitee sees before accepting.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InvitationPreview {
    pub company_id: Id,
    pub company_name: String,
    pub email_address: String,
    pub teams: Vec<TeamRef>,
    pub account_exists: bool,
    #[serde(with = "crate::domain::time::rfc3339")]
    pub expires_at: DateTime<Utc>,
    /// Days of temporary access from accepting (site invitations); absent: permanent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_days: Option<u32>,
}

/// The invitation a token stands for, its preview and the account that holds its address.
async fn open(
    app: &App,
    token: Option<&str>,
) -> Result<(Invitation, InvitationPreview, Option<Id>), DomainError> {
    let (_, inv, _) = by_token(app, token, app.clock.now()).await?;
    let store = app.store.as_ref();
    let fail = failed(Service::Company);
    let company = company::find(store, inv.company_id)
        .await
        .map_err(&fail)?
        .ok_or_else(|| DomainError::new(ErrorKind::RecordNotFound, "invitation not found"))?;
    let account = user::email_taken(store, &inv.email).await.map_err(&fail)?;
    let teams = company::teams_among(store, inv.company_id, &inv.teams)
        .await
        .map_err(&fail)?;
    let preview = InvitationPreview {
        company_id: inv.company_id,
        company_name: company.name,
        email_address: inv.email.to_string(),
        teams: teams.iter().map(TeamRef::from).collect(),
        account_exists: account.is_some(),
        expires_at: inv.expires_at,
        access_days: inv.access_days,
    };
    Ok((inv, preview, account))
}

/// What an invitation offers, without using its token.
pub async fn preview(app: &App, token: Option<&str>) -> Result<InvitationPreview, DomainError> {
    Ok(open(app, token).await?.1)
}

/// The account an invitation's address has, as far as accepting is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountState {
    /// No account: accepting makes one, with a new password.
    None,
    /// Self-registered and never verified: accepting sets a new password and verifies it.
    Unverified,
    /// Verified: accepting needs its owner's password (or session).
    Verified,
}

/// What the accept page shows: the preview, who invited and what they wrote, the account's
/// state and the names the invitation's contact has (to suggest for a new account).
#[derive(Debug)]
pub struct InvitationDetails {
    pub preview: InvitationPreview,
    pub inviter: String,
    pub message: Option<String>,
    pub account: AccountState,
    pub first_name: String,
    pub last_name: String,
    /// Made by the site family's Invite Users (the page speaks of a site and its groups).
    pub via_site: bool,
    /// When it was read (temporary access would end `access_days` after accepting now).
    pub read_at: DateTime<Utc>,
}

/// The preview with what the accept page shows besides it. Like `preview`, never uses the token.
pub async fn details(app: &App, token: Option<&str>) -> Result<InvitationDetails, DomainError> {
    let (inv, preview, account) = open(app, token).await?;
    let store = app.store.as_ref();
    let fail = failed(Service::Company);
    let preview_account = account;
    let account = match account {
        None => AccountState::None,
        Some(id) => match user::find(store, id).await.map_err(&fail)? {
            Some(u) if u.unverified => AccountState::Unverified,
            Some(_) => AccountState::Verified,
            None => AccountState::None,
        },
    };
    let inviter = user::find(store, inv.invited_by)
        .await
        .map_err(&fail)?
        .map_or_else(
            || "Someone".into(),
            |u| format!("{} {}", u.first_name, u.last_name),
        );
    // The names the inviter gave (never those whoever registered the address chose).
    let registrant = match account {
        AccountState::Unverified => preview_account,
        _ => None,
    };
    let (first_name, last_name) = invited_names(app, &inv, registrant).await?;
    Ok(InvitationDetails {
        preview,
        inviter,
        message: inv.message,
        account,
        first_name,
        last_name,
        via_site: inv.via_site,
        read_at: app.clock.now(),
    })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AcceptRequest {
    pub token: Option<String>,
    pub password: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Accepted {
    pub user_id: Id,
    pub company_id: Id,
}

/// The account for a new invitee: name from the request or else the invitation's contact,
/// password under the self-registration policy.
async fn new_account(
    app: &App,
    inv: &Invitation,
    body: AcceptRequest,
    now: DateTime<Utc>,
) -> Result<User, DomainError> {
    let fail = failed(Service::Company);
    let password = new_password(body.password)?;
    let details = match inv.contact_id {
        Some(id) => contact::find(app.store.as_ref(), inv.company_id, id)
            .await
            .map_err(&fail)?
            .map(|c| c.details())
            .unwrap_or_default(),
        None => Default::default(),
    };
    let from_contact = |f: &str| details.get(f).unwrap_or_default().to_string();
    let first = Name::parse(
        "firstName",
        &body.first_name.unwrap_or_else(|| from_contact("firstname")),
        100,
    )
    .map_err(|m| DomainError::invalid(m).at("firstName"))?;
    let last = Name::parse(
        "lastName",
        &body.last_name.unwrap_or_else(|| from_contact("lastname")),
        100,
    )
    .map_err(|m| DomainError::invalid(m).at("lastName"))?;
    let hash = hash_password(&password).await?;
    let id = app.ids.next("user").await.map_err(&fail)?;
    Ok(User::new_active(
        id,
        inv.email.clone(),
        first.as_str(),
        last.as_str(),
        hash,
        now,
    ))
}

/// The writes that join `user` to the invitation's company and teams, for the access it
/// grants (permanent, or `access_days` of temporary access from now), with the recorded end of
/// temporary access. A live membership keeps its role and gains the teams, and never loses
/// time; one whose temporary access has ended starts afresh (a plain membership with the
/// invitation's teams only: what ended is not restored); one an admin deactivated is never
/// re-activated.
async fn join(
    app: &App,
    inv: &Invitation,
    user_id: Id,
    now: DateTime<Utc>,
) -> Result<Vec<Write>, DomainError> {
    let c = inv.company_id;
    let existing = membership::find(app.store.as_ref(), c, user_id)
        .await
        .map_err(failed(Service::Company))?;
    if existing
        .as_ref()
        .is_some_and(|m| m.status == Status::Inactive)
    {
        return Err(DomainError::new(
            ErrorKind::ConnectionStatusNotActive,
            "your membership of this company was deactivated; ask its admin",
        ));
    }
    let live = existing.as_ref().filter(|m| !m.has_expired_at(now));
    // A permanent member keeps permanent access whatever a site invitation offered.
    let days = match live {
        Some(m) if m.expires_at.is_none() && m.status == Status::Active => None,
        _ => inv.access_days,
    };
    let plan = site_terms::plan(live, days, &inv.teams, now)?;
    let mut writes = vec![match (&existing, live) {
        (Some(m), Some(_)) => membership::grant_access(m, &plan.teams, plan.end),
        (seen, _) => {
            let mut fresh = Membership::new_member(c, user_id, plan.teams.clone(), now);
            fresh.expires_at = plan.end;
            membership::start_afresh(seen.as_ref(), &fresh)
        }
    }];
    writes.extend(
        plan.cancel
            .into_iter()
            .flat_map(|e| activity::cancel_expiry(c, user_id, e)),
    );
    writes.extend(
        plan.record
            .into_iter()
            .flat_map(|e| activity::record_expiry(c, user_id, e)),
    );
    // The event of what changed: a new member, or a member's teams.
    let actor = Actor::user(user_id);
    match live {
        None => writes.push(events::publish(
            events::membership_event(EventType::MembershipAdded, c, user_id, actor, now)
                .with("teams", &plan.teams)
                .with("role", "member")
                .with("expiresAt", plan.end.map(crate::domain::time::format)),
        )),
        Some(m) => writes.extend(events::teams_changed(
            c,
            user_id,
            &m.teams,
            &plan.teams,
            actor,
            now,
        )),
    }
    Ok(writes)
}

/// An invitation never grants more than its sender holds, at the moment it is accepted too: the
/// sender must still be a member who may invite and grant its teams (`usecases::permissions`).
/// A sender who left, lost the team, was deactivated or whose access became temporary leaves
/// an invitation that no longer stands.
async fn sender_still_grants(
    app: &App,
    inv: &Invitation,
    now: DateTime<Utc>,
) -> Result<(), DomainError> {
    let store = app.store.as_ref();
    let fail = failed(Service::Company);
    let c = inv.company_id;
    let void = || {
        DomainError::new(
            ErrorKind::NotPermitted,
            "this invitation no longer stands: the person who sent it can no longer grant what it offers; ask the company for a new one",
        )
    };
    let sender = membership::find(store, c, inv.invited_by)
        .await
        .map_err(&fail)?
        .filter(|m| m.is_active_at(now))
        .ok_or_else(void)?;
    // A deactivated account grants nothing, whatever its memberships still say.
    user::find(store, inv.invited_by)
        .await
        .map_err(&fail)?
        .filter(|u| u.status == Status::Active)
        .ok_or_else(void)?;
    let settings = company::settings(store, c).await.map_err(&fail)?;
    crate::usecases::permissions::may_invite(&sender, &settings, now).map_err(|_| void())?;
    let found = company::teams_among(store, c, &inv.teams)
        .await
        .map_err(&fail)?;
    crate::usecases::permissions::may_grant_teams(&sender, &inv.teams, &found, |_| void())
}

/// The company an invitation is for, if it still takes members.
async fn open_company(app: &App, c: Id) -> Result<(), DomainError> {
    let company = company::find(app.store.as_ref(), c)
        .await
        .map_err(failed(Service::Company))?
        .ok_or_else(gone)?;
    if company.status != Status::Active {
        return Err(DomainError::new(
            ErrorKind::CompanyNotActive,
            "this company is not taking members now",
        ));
    }
    Ok(())
}

/// The write that links the invitation's contact to the user, unless it belongs to another
/// user (then it stays theirs and the invitation is accepted without it).
async fn contact_link(
    app: &App,
    inv: &Invitation,
    user_id: Id,
) -> Result<Option<Write>, DomainError> {
    let Some(id) = inv.contact_id else {
        return Ok(None);
    };
    let found = contact::find(app.store.as_ref(), inv.company_id, id)
        .await
        .map_err(failed(Service::Company))?;
    Ok(found
        .filter(|c| c.user_id.is_none_or(|u| u == user_id))
        .map(|_| contact::link_user(inv.company_id, id, user_id)))
}

/// Proves the accepter owns the existing account `account` and returns the writes that come
/// with it and the account that accepts. Whoever proves control of the address wins: the
/// invitation link proves it, so an unverified account (self-registered by anyone) accepted
/// without its session is taken back (`usecases::takeback`): the accepter gets a new account
/// with their own password and name, and the unproven one is closed with everything done in
/// its name. Signed in to the unverified account, the accepter proves the mailbox of the
/// account they hold: a new password is set and every session and device ends (a registrant
/// who lured the owner into signing in with the registrant's password is out), and its
/// memberships stay. A verified account needs its owner's session or password.
async fn prove_owner(
    app: &App,
    inv: &Invitation,
    account: User,
    body: &AcceptRequest,
    session: Option<&Session>,
    caller: &Caller,
    now: DateTime<Utc>,
) -> Result<(Vec<Write>, Id), DomainError> {
    let company = inv.company_id;
    let id = account.user_id;
    match session {
        Some(s) if s.user_id == id && account.unverified => {
            let password = new_password(body.password.clone())?;
            let hash = hash_password(&password).await?;
            let mut writes = vec![user::replace_password(
                id,
                &account.password_hash,
                &hash,
                now,
            )];
            writes.extend(crate::usecases::devices::forget_all(app, id).await?);
            writes.extend(
                crate::usecases::verification::activate_pending(app, id, Some(company)).await?,
            );
            return Ok((writes, id));
        }
        Some(s) if s.user_id == id => return Ok((Vec::new(), id)),
        Some(_) => return Err(another_address()),
        None => {}
    }
    if account.unverified {
        let password = new_password(body.password.clone())?;
        let names = takeback::owners_name(
            (body.first_name.as_deref(), body.last_name.as_deref()),
            invited_names(app, inv, Some(id)).await?,
            &account.email,
        )?;
        let hash = hash_password(&password).await?;
        let taken = takeback::take_back(app, &account, hash, (&names.0, &names.1), now).await?;
        let mut writes = taken.writes;
        writes.push(registered_by_invitation(&taken.owner, company, now));
        return Ok((writes, taken.owner.user_id));
    }
    let Some(raw) = body.password.clone().filter(|p| !p.is_empty()) else {
        return Err(DomainError::new(
            ErrorKind::InvalidLogin,
            "this address has an account: sign in as it (x-nextinteract-authtoken) or give its password to accept",
        )
        .at("password"));
    };
    let password = Password::presented(raw).map_err(|m| DomainError::invalid(m).at("password"))?;
    login::check_account_password(app, account, &password, caller, now)
        .await
        .map_err(|e| e.at("password"))?;
    Ok((Vec::new(), id))
}

/// The names the inviter gave the invitee (the invitation's contact), unless whoever
/// registered the address (`registrant`, an unproven account) made that contact or filled it in.
async fn invited_names(
    app: &App,
    inv: &Invitation,
    registrant: Option<Id>,
) -> Result<(String, String), DomainError> {
    let Some(id) = inv.contact_id else {
        return Ok(Default::default());
    };
    let found = contact::find(app.store.as_ref(), inv.company_id, id)
        .await
        .map_err(failed(Service::Company))?
        .filter(|c| c.source.as_deref() != Some("selfRegistration"))
        .filter(|c| registrant.is_none() || c.user_id != registrant);
    Ok(found.map_or_else(Default::default, |c| {
        let d = c.details();
        (
            d.get("firstname").unwrap_or_default().to_string(),
            d.get("lastname").unwrap_or_default().to_string(),
        )
    }))
}

fn another_address() -> DomainError {
    DomainError::new(
        ErrorKind::NotPermitted,
        "this invitation was sent to another address: sign in as that account, or sign out to accept",
    )
}

/// Accepts an invitation, once: joins the company wall and teams, creating the account first if
/// the address has none (then a password is needed), or proving ownership of the one it has
/// (`prove_owner`). `session` is the accepter's, when the request carried one. One transaction.
pub async fn accept(
    app: &App,
    body: AcceptRequest,
    session: Option<&Session>,
    caller: &Caller,
) -> Result<Accepted, DomainError> {
    let now = app.clock.now();
    let (token, inv, outbox_id) = by_token(app, body.token.as_deref(), now).await?;
    sender_still_grants(app, &inv, now).await?;
    let fail = failed(Service::Company);
    let c = inv.company_id;
    let mut writes: Vec<Write> =
        invitation::accept(&inv, &token.hash(), outbox_id.as_deref(), now).into();
    let existing = user::find_by_email(app.store.as_ref(), &inv.email)
        .await
        .map_err(&fail)?;
    open_company(app, c).await?;
    let user_id = match existing {
        Some(account) if account.status != Status::Active => {
            return Err(DomainError::new(
                ErrorKind::UserNotActive,
                "the account of this address is not active",
            ))
        }
        Some(account) => {
            let (proof, id) = prove_owner(app, &inv, account, &body, session, caller, now).await?;
            writes.extend(proof);
            id
        }
        None if session.is_some() => return Err(another_address()),
        None => {
            let user = new_account(app, &inv, body, now).await?;
            writes.extend(user::create(&user));
            writes.push(registered_by_invitation(&user, c, now));
            user.user_id
        }
    };
    writes.extend(join(app, &inv, user_id, now).await?);
    // A sender deactivated while this request ran grants nothing either.
    writes.push(user::still_active(inv.invited_by));
    writes.push(accepted_event(&inv, user_id, now));
    writes.extend(contact_link(app, &inv, user_id).await?);
    let source = Source::of(caller, false);
    writes.extend(activity::record_in_site(
        c,
        user_id,
        ActivityType::InvitationAccepted,
        source,
        caller,
        None,
        now,
    ));
    if inv.via_site {
        writes.extend(activity::record_in_site(
            c,
            user_id,
            ActivityType::SiteAccessGranted,
            source,
            caller,
            None,
            now,
        ));
    }
    app.store
        .transact(writes)
        .await
        .map_err(|e| link_used_or_changed(e, 2, gone, fail))?;
    tracing::info!(user_id = %user_id, company_id = %c, "invitation accepted");
    Ok(Accepted {
        user_id,
        company_id: c,
    })
}
