//! inviteMIUser: a rep or admin invites a contact to the company wall and teams. The invitation
//! email is queued through the outbox; its single-use token is issued when the email is sent and
//! only its SHA-256 is stored. The invitee previews and accepts it with that token.

use crate::app::App;
use crate::domain::contact::{self, Contact};
use crate::domain::error::{ApiError, Exception, Service, Success};
use crate::domain::secrets::{random_hex_id, Token};
use crate::domain::Caller;
use crate::domain::{EmailAddress, Id, Name};
use crate::http::store_failure;
use crate::ports::mail::Email;
use crate::ports::store::{Cond, Key, StoreError, Update, Write};
use crate::records::activity::{self, ActivityType, Source};
use crate::records::*;
use crate::usecases::outbox::{self, Message};
use crate::usecases::register::{existing_contact, new_contact_writes};
use crate::usecases::teams::TeamRef;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

pub const INVITED: &str = "MI User invited.";
pub const INVITATION_DAYS: i64 = 14;

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

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Invitation {
    pub company_id: Id,
    pub email: EmailAddress,
    pub contact_id: Id,
    pub teams: Vec<Id>,
    pub invited_by: Id,
    pub status: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_hash: Option<String>,
}

/// What the outbox carries: no token, just which invitation to send and where links point.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InvitationEmail {
    pub company_id: Id,
    pub email: EmailAddress,
    pub link_base: String,
}

pub fn invitation_key(company: Id, email: &EmailAddress) -> Key {
    Key::new(format!("COMPANY#{company}"), format!("INVITE#{email}"))
}

pub fn token_key(hash: &str) -> Key {
    Key::new(format!("INVITETOKEN#{hash}"), "INVITETOKEN")
}

/// The one answer for a caller who may not invite to `companyId`, whether it exists or not.
fn not_yours() -> ApiError {
    ApiError::invalid("companyId is not a company you can invite to")
}

pub async fn invite(
    app: &App,
    inviter: Id,
    body: InviteRequest,
    link_base: &str,
) -> Result<Success<'static, Map<String, Value>>, ApiError> {
    let c = body
        .company_id
        .ok_or_else(|| ApiError::invalid("companyId is required"))?;
    let contact: Contact = match &body.contact {
        Some(v) => contact::parse("contact", v)?,
        None => return Err(ApiError::invalid("contact is required")),
    };
    for f in ["firstname", "lastname", "email1"] {
        if contact.get(f).is_none() {
            return Err(ApiError::invalid(format!("contact.{f} is required")));
        }
    }
    let email = contact
        .email()
        .ok_or_else(|| ApiError::invalid("contact.email1 is required"))?;
    let mut wanted: Vec<Id> = Vec::new();
    for (i, t) in body.invite_teams.unwrap_or_default().iter().enumerate() {
        let id = t
            .team_id
            .ok_or_else(|| ApiError::invalid(format!("inviteTeams[{i}].teamId is required")))?;
        if !wanted.contains(&id) {
            wanted.push(id);
        }
    }
    if wanted.len() > 100 {
        return Err(ApiError::invalid("inviteTeams holds at most 100 teams"));
    }

    let fail = store_failure(Service::Company);
    // The inviter must be an active rep or admin of an active company.
    let Some(m) = app
        .store
        .get(&member_key(c, inviter))
        .await
        .map_err(&fail)?
    else {
        return Err(not_yours());
    };
    let m: Membership = from_item(m).map_err(&fail)?;
    if m.status != Status::Active {
        return Err(not_yours());
    }
    let company: Company = match app.store.get(&company_key(c)).await.map_err(&fail)? {
        Some(item) => from_item(item).map_err(&fail)?,
        None => return Err(not_yours()),
    };
    if company.status != Status::Active {
        return Err(ApiError::invalid("the company is not active"));
    }
    if m.role == Role::Member {
        return Err(
            ApiError::invalid("only reps and admins of the company may invite").with_status(403),
        );
    }
    let keys: Vec<Key> = wanted.iter().map(|t| team_key(c, *t)).collect();
    let found = app.store.batch_get(&keys).await.map_err(&fail)?;
    for t in &wanted {
        let key = team_key(c, *t);
        if !found.iter().any(|i| Key::of(i).as_ref() == Some(&key)) {
            return Err(ApiError::new(
                Exception::InvalidTeam,
                format!("team {t} is not a team of company {c}"),
            ));
        }
    }

    let now = app.clock.now();
    let mut writes = Vec::new();
    let mut ext_at = None;
    let contact_id = match existing_contact(app, c, &email, Service::Company).await? {
        // An existing contact is used as it is: this call never changes contact details.
        Some((id, _)) => id,
        None => {
            let id = app.ids.next("contact").await.map_err(&fail)?;
            let cw = new_contact_writes(c, id, &contact, &[("source", json!("invitation"))], now);
            ext_at = cw.external_id_guard_at;
            writes.extend(cw.writes);
            id
        }
    };
    // One pending invitation per company and email: a new invite refreshes it (new teams, new
    // expiry, the old link revoked).
    let key = invitation_key(c, &email);
    let previous = app.store.get(&key).await.map_err(&fail)?;
    if let Some(p) = &previous {
        if p.get("status").and_then(Value::as_str) == Some("accepted") {
            return Err(ApiError::invalid(format!(
                "{email} has already accepted an invitation to this company"
            )));
        }
        if let Some(h) = p.get("tokenHash").and_then(Value::as_str) {
            writes.push(Write::Delete {
                key: token_key(h),
                cond: None,
            });
        }
    }
    let invitation = Invitation {
        company_id: c,
        email: email.clone(),
        contact_id,
        teams: wanted,
        invited_by: inviter,
        status: "pending".into(),
        created_at: now,
        expires_at: now + chrono::Duration::days(INVITATION_DAYS),
        token_hash: None,
    };
    let invite_at = writes.len();
    let cond = match &previous {
        None => Cond::absent(),
        Some(p) => Cond::eq(
            "createdAt",
            p.get("createdAt").cloned().unwrap_or(Value::Null),
        ),
    };
    writes.push(Write::Put {
        item: to_item(&key, &invitation, &[]),
        cond: Some(cond),
    });
    let message = Message::Invitation(InvitationEmail {
        company_id: c,
        email: email.clone(),
        link_base: link_base.to_string(),
    });
    writes.push(outbox::enqueue(&random_hex_id(), now, &message));
    app.store.transact(writes).await.map_err(|e| {
        if ext_at.is_some_and(|i| e.failed_at(i)) {
            ApiError::invalid(
                "contact.externalId is already used by another contact of this company",
            )
        } else if e.failed_at(invite_at) || e.is_condition_failure() {
            ApiError::new(
                Exception::CompanyService,
                "the invitation changed at the same time; try again",
            )
            .with_status(409)
        } else {
            fail(e)
        }
    })?;
    app.outbox_written.notify_one();
    tracing::info!(company_id = %c, inviter = %inviter, contact_id = %contact_id, "user invited");
    Ok(Success::message(INVITED))
}

/// Called by the dispatcher when it sends an invitation: issues a fresh single-use token,
/// stores its hash (revoking any earlier one) and renders the email. `None` when the invitation
/// is no longer pending (accepted or gone): nothing is sent.
pub async fn issue(app: &App, msg: &InvitationEmail) -> Result<Option<Email>, StoreError> {
    let key = invitation_key(msg.company_id, &msg.email);
    let Some(item) = app.store.get(&key).await? else {
        return Ok(None);
    };
    let inv: Invitation = from_item(item)?;
    if inv.status != "pending" || inv.expires_at <= app.clock.now() {
        return Ok(None);
    }
    let company: Option<Company> = app
        .store
        .get(&company_key(msg.company_id))
        .await?
        .map(from_item)
        .transpose()?;
    let company_name = company
        .map(|c| c.name)
        .unwrap_or_else(|| "your company".into());
    let token = Token::generate("inv_").map_err(|e| StoreError::Internal(e.to_string().into()))?;
    let hash = token.hash();
    let mut lookup = token_key(&hash).to_item();
    lookup.insert("companyId".into(), json!(msg.company_id));
    lookup.insert("email".into(), json!(msg.email));
    lookup.insert("expiresAt".into(), json!(inv.expires_at));
    lookup.insert("ttl".into(), json!(inv.expires_at.timestamp()));
    let mut writes = vec![
        Write::Update {
            key: key.clone(),
            update: Update::new().set("tokenHash", hash.as_str()),
            cond: Some(
                Cond::eq("status", "pending").and(Cond::eq("createdAt", json!(inv.created_at))),
            ),
        },
        Write::put_new(lookup),
    ];
    if let Some(old) = &inv.token_hash {
        writes.push(Write::Delete {
            key: token_key(old),
            cond: None,
        });
    }
    match app.store.transact(writes).await {
        Ok(()) => {}
        Err(e) if e.failed_at(0) => return Ok(None),
        Err(e) => return Err(e),
    }
    let link = format!(
        "{}/rest/user/miinvite/accept?token={}",
        msg.link_base.trim_end_matches('/'),
        token.reveal()
    );
    Ok(Some(Email {
        to: msg.email.to_string(),
        subject: format!("You are invited to {company_name}"),
        text: format!(
            "Hello,\n\nYou have been invited to join {company_name}.\n\nAccept the invitation: {link}\n\nThe link works once and expires on {}.\n",
            inv.expires_at.format("%-d %B %Y")
        ),
    }))
}

/// The invitation a token stands for, checked: pending, not expired, the token current.
async fn by_token(app: &App, raw: Option<&str>) -> Result<(Token, Invitation), ApiError> {
    let fail = store_failure(Service::Company);
    let gone = || {
        ApiError::new(
            Exception::RecordNotFound,
            "invitation not found, already used or replaced by a newer one",
        )
    };
    let token = raw
        .and_then(Token::presented)
        .ok_or_else(|| ApiError::invalid("token is required"))?;
    let lookup = app
        .store
        .get(&token_key(&token.hash()))
        .await
        .map_err(&fail)?
        .ok_or_else(gone)?;
    let company: Id =
        serde_json::from_value(lookup.get("companyId").cloned().unwrap_or(Value::Null))
            .map_err(|_| gone())?;
    let email: EmailAddress =
        serde_json::from_value(lookup.get("email").cloned().unwrap_or(Value::Null))
            .map_err(|_| gone())?;
    let inv: Invitation = match app
        .store
        .get(&invitation_key(company, &email))
        .await
        .map_err(&fail)?
    {
        Some(i) => from_item(i).map_err(&fail)?,
        None => return Err(gone()),
    };
    if inv.status != "pending" || inv.token_hash.as_deref() != Some(token.hash().as_str()) {
        return Err(gone());
    }
    if inv.expires_at <= app.clock.now() {
        return Err(
            ApiError::invalid("the invitation has expired; ask for a new one").with_status(410),
        );
    }
    Ok((token, inv))
}

async fn team_refs(app: &App, inv: &Invitation) -> Result<Vec<TeamRef>, ApiError> {
    let keys: Vec<Key> = inv
        .teams
        .iter()
        .map(|t| team_key(inv.company_id, *t))
        .collect();
    let found = app
        .store
        .batch_get(&keys)
        .await
        .map_err(store_failure(Service::Company))?;
    let mut out = Vec::new();
    for t in &inv.teams {
        if let Some(team) = found
            .iter()
            .find(|i| Key::of(i) == Some(team_key(inv.company_id, *t)))
        {
            out.push(TeamRef {
                team_id: *t,
                team_name: team
                    .get("teamName")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
            });
        }
    }
    Ok(out)
}

/// What the invitee sees before accepting.
pub async fn preview(app: &App, token: Option<&str>) -> Result<Success<'static, Value>, ApiError> {
    let (_, inv) = by_token(app, token).await?;
    let fail = store_failure(Service::Company);
    let company: Company = match app
        .store
        .get(&company_key(inv.company_id))
        .await
        .map_err(&fail)?
    {
        Some(c) => from_item(c).map_err(&fail)?,
        None => {
            return Err(ApiError::new(
                Exception::RecordNotFound,
                "invitation not found",
            ))
        }
    };
    let account_exists = app
        .store
        .get(&email_key(&inv.email))
        .await
        .map_err(&fail)?
        .is_some();
    Ok(Success {
        error_code: 0,
        error_msg: "Invitation.",
        extra: json!({
            "companyId": inv.company_id,
            "companyName": company.name,
            "emailAddress": inv.email,
            "teams": team_refs(app, &inv).await?,
            "accountExists": account_exists,
            "expiresAt": inv.expires_at,
        }),
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

/// Accepts an invitation, once: joins the company wall and teams, creating the user first if
/// the email has none (then a password is needed). One transaction.
pub async fn accept(
    app: &App,
    body: AcceptRequest,
    caller: &Caller,
) -> Result<Success<'static, Value>, ApiError> {
    let (token, inv) = by_token(app, body.token.as_deref()).await?;
    let fail = store_failure(Service::Company);
    let now = app.clock.now();
    let c = inv.company_id;
    let mut writes = vec![
        Write::Delete {
            key: token_key(&token.hash()),
            cond: Some(Cond::present()),
        },
        Write::Update {
            key: invitation_key(c, &inv.email),
            update: Update::new()
                .set("status", "accepted")
                .set("acceptedAt", json!(now))
                .remove("tokenHash"),
            cond: Some(
                Cond::eq("status", "pending").and(Cond::eq("tokenHash", token.hash().as_str())),
            ),
        },
    ];
    let existing = match app.store.get(&email_key(&inv.email)).await.map_err(&fail)? {
        Some(g) => Some(from_item::<EmailGuard>(g).map_err(&fail)?.user_id),
        None => None,
    };
    let user_id = match existing {
        Some(id) => id,
        None => {
            let password =
                crate::usecases::accounts::new_password(body.password.unwrap_or_default())?;
            let contact = app
                .store
                .get(&crate::usecases::register::contact_key(c, inv.contact_id))
                .await
                .map_err(&fail)?;
            let from_contact = |f: &str| {
                contact
                    .as_ref()
                    .and_then(|i| i.get(f))
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string()
            };
            let first = Name::parse(
                "firstName",
                &body.first_name.unwrap_or_else(|| from_contact("firstname")),
                100,
            )
            .map_err(ApiError::invalid)?;
            let last = Name::parse(
                "lastName",
                &body.last_name.unwrap_or_else(|| from_contact("lastname")),
                100,
            )
            .map_err(ApiError::invalid)?;
            let hash = crate::usecases::accounts::hash_password(&password).await?;
            let id = app.ids.next("user").await.map_err(&fail)?;
            let user = User::new_active(
                id,
                inv.email.clone(),
                first.as_str(),
                last.as_str(),
                hash,
                now,
            );
            writes.extend(crate::usecases::accounts::new_user_writes(&user, &[]));
            id
        }
    };
    match app
        .store
        .get(&member_key(c, user_id))
        .await
        .map_err(&fail)?
    {
        Some(m) => {
            let m: Membership = from_item(m).map_err(&fail)?;
            let mut teams = m.teams.clone();
            for t in &inv.teams {
                if !teams.contains(t) {
                    teams.push(*t);
                }
            }
            writes.push(Write::Update {
                key: member_key(c, user_id),
                update: Update::new()
                    .set("teams", json!(teams))
                    .set("status", "active"),
                cond: Some(Cond::eq("teams", json!(m.teams))),
            });
        }
        None => {
            let m = Membership {
                company_id: c,
                user_id,
                role: Role::Member,
                status: Status::Active,
                teams: inv.teams.clone(),
                created_at: now,
            };
            writes.push(Write::put_new(crate::usecases::accounts::membership_item(
                &m,
            )));
        }
    }
    writes.push(Write::Update {
        key: crate::usecases::register::contact_key(c, inv.contact_id),
        update: Update::new().set("userId", json!(user_id)),
        cond: Some(Cond::present()),
    });
    writes.push(activity::record(
        user_id,
        ActivityType::InvitationAccepted,
        Source::of(caller, false),
        caller,
        None,
        now,
    ));
    app.store.transact(writes).await.map_err(|e| {
        if e.failed_at(0) || e.failed_at(1) {
            ApiError::new(
                Exception::RecordNotFound,
                "invitation not found, already used or replaced by a newer one",
            )
        } else if e.is_condition_failure() {
            ApiError::new(
                Exception::EmailAlreadyExists,
                "the account changed at the same time; try again",
            )
            .with_status(409)
        } else {
            fail(e)
        }
    })?;
    tracing::info!(user_id = %user_id, company_id = %c, "invitation accepted");
    Ok(Success {
        error_code: 0,
        error_msg: "Invitation accepted.",
        extra: json!({ "userId": user_id, "companyId": c }),
    })
}
