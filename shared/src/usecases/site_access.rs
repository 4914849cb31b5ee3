//! Site access: a site (company) admin invites an existing user to the site and some of its
//! groups (teams), temporarily (`duration` days) or permanently
//! (`POST /api/rest/v1/management/users/invite`). Access is granted at once, in one
//! transaction with its activity item, its contact link and the email that tells the user.
//!
//! Temporary access is a membership with an end (`expiresAt`, also its TTL): from then on it
//! counts as not active everywhere (`Membership::is_active_at`) and the table forgets it. Its
//! `Site Access Expired` activity is recorded with the grant, dated at the end. A new invite
//! extends it or makes it permanent; an invite never shortens access.

use crate::app::App;
use crate::domain::activity::{ActivityType, Source};
use crate::domain::error::{DomainError, ErrorKind, Service};
use crate::domain::html;
use crate::domain::secrets::random_hex_id;
use crate::domain::{Caller, EmailAddress, Id};
use crate::ports::mail::Email;
use crate::ports::store::Write;
use crate::records::contact::{self as contacts, ContactRecord};
use crate::records::outbox::{self, Message};
use crate::records::{activity, company, membership, user};
use crate::records::{Company, Membership, Role, Status, Team, User};
use crate::usecases::{distinct, failed};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

pub const MAX_DURATION_DAYS: u64 = 365;
pub const MAX_GROUPS: usize = 100;

/// The invite's body as sent (the seed's fields).
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

/// `true`/`false`, or the seed's integer form `1`/`0`.
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

/// A contact id; `0` (the seed's example) or none means no contact is named.
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
        let groups = distinct(body.groups.unwrap_or_default());
        if groups.len() > MAX_GROUPS {
            return Err(DomainError::invalid(format!(
                "groups holds at most {MAX_GROUPS} group ids"
            )));
        }
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
) -> Result<Company, DomainError> {
    let now = app.clock.now();
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

/// The answer to an invite: the access the user has now.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SiteAccess {
    pub user_id: Id,
    pub email: String,
    pub site_id: Id,
    /// The groups of this invite, in the order asked.
    pub groups: Vec<Group>,
    pub temporary: bool,
    #[serde(
        skip_serializing_if = "Option::is_none",
        with = "crate::domain::time::rfc3339_opt"
    )]
    pub expires_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contact_id: Option<Id>,
}

/// What an invite does to the membership it finds.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub teams: Vec<Id>,
    /// The end of access; `None`: permanent.
    pub end: Option<DateTime<Utc>>,
    /// A recorded end that has not come and no longer will.
    pub cancel: Option<DateTime<Utc>>,
    /// The end to record.
    pub record: Option<DateTime<Utc>>,
}

/// Decides the access an invite grants, given the user's membership as read (`seen`). An
/// ended membership starts afresh; a live one keeps its groups and never loses time.
pub fn plan(
    seen: Option<&Membership>,
    days: Option<u32>,
    groups: &[Id],
    now: DateTime<Utc>,
) -> Result<Plan, DomainError> {
    let asked = days.map(|d| now + Duration::days(d.into()));
    if let Some(m) = seen.filter(|m| m.status == Status::Inactive) {
        return Err(DomainError::invalid(format!(
            "user {}'s access to this site was deactivated; an invite does not restore it",
            m.user_id
        )));
    }
    let Some(m) = seen.filter(|m| !m.has_expired_at(now)) else {
        return Ok(Plan {
            teams: groups.to_vec(),
            end: asked,
            cancel: None,
            record: asked,
        });
    };
    let end = match (m.expires_at, asked) {
        (None, Some(_)) if m.status == Status::Active => {
            return Err(DomainError::invalid(format!(
                "user {} already has permanent access to this site; an invite never shortens access",
                m.user_id
            )))
        }
        (_, None) => None,
        (None, Some(a)) => Some(a),
        (Some(current), Some(a)) => Some(current.max(a)),
    };
    Ok(Plan {
        teams: distinct(m.teams.iter().chain(groups).copied()),
        end,
        cancel: m.expires_at.filter(|e| Some(*e) != end),
        record: end.filter(|e| m.expires_at != Some(*e)),
    })
}

/// The account an invite is for: it must exist, be active and have a proven address (access
/// is granted at once, so an address anyone could have registered is not enough).
async fn invitee(app: &App, email: &EmailAddress) -> Result<User, DomainError> {
    let account = user::find_by_email(app.store.as_ref(), email)
        .await
        .map_err(failed(Service::User))?
        .ok_or_else(|| {
            DomainError::invalid(format!(
                "no user has the email address {email}: this call invites existing users"
            ))
        })?;
    if account.status != Status::Active {
        return Err(DomainError::invalid(format!(
            "the account of {email} is not active"
        )));
    }
    if account.unverified {
        return Err(DomainError::invalid(format!(
            "{email} has not verified their email address yet; invite them with inviteMIUser, whose link proves it"
        )));
    }
    Ok(account)
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

/// A contact may be linked to the user unless it already is to someone else.
fn linkable(contact: &ContactRecord, account: &User) -> Result<(), DomainError> {
    match contact.user_id {
        Some(other) if other != account.user_id => Err(DomainError::invalid(format!(
            "contact {} is linked to another user",
            contact.contact_id
        ))),
        _ => Ok(()),
    }
}

/// The contact the user is linked to and the writes that link (or create) it.
async fn link_contact(
    app: &App,
    c: Id,
    account: &User,
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
        ContactLink::Auto => contacts::find_by_email(store, c, &account.email)
            .await
            .map_err(&fail)?,
    };
    if let Some(contact) = existing {
        linkable(&contact, account)?;
        let id = contact.contact_id;
        return Ok((Some(id), vec![contacts::link_user(c, id, account.user_id)]));
    }
    let mut fields = Map::new();
    fields.insert("firstname".into(), json!(account.first_name));
    fields.insert("lastname".into(), json!(account.last_name));
    fields.insert("email1".into(), json!(account.email));
    let record = ContactRecord {
        contact_id: app.ids.next("contact").await.map_err(&fail)?,
        company_id: c,
        created_at: now,
        source: Some("siteInvite".into()),
        user_id: Some(account.user_id),
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
    let text = format!(
        "Hello {},\n\nYou have been given access to {}.\n\n{access}\n\n{groups}\n\nSign in with your account, {}.\n",
        account.first_name, site.name, account.email
    );
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Access</title></head><body style=\"font-family:sans-serif;max-width:36em;margin:auto;padding:1em\"><p>{}</p></body></html>",
        html::text(&text).replace("<br><br>", "</p><p>")
    );
    Email {
        to: account.email.to_string(),
        subject: format!("You have access to {}", site.name),
        text,
        html: Some(html),
    }
}

/// Invites an existing user to `site`: grants access (with the groups, until the end for
/// temporary access), links the contact, records the grant and its end, queues the email.
pub async fn invite(
    app: &App,
    site: &Company,
    inv: SiteInvitation,
    caller: &Caller,
) -> Result<SiteAccess, DomainError> {
    let (c, now) = (site.company_id, app.clock.now());
    let account = invitee(app, &inv.email).await?;
    let u = account.user_id;
    let groups = site_groups(app, c, &inv.groups).await?;
    let seen = membership::find(app.store.as_ref(), c, u)
        .await
        .map_err(failed(Service::Membership))?;
    let plan = plan(seen.as_ref(), inv.days, &inv.groups, now)?;
    let (contact_id, contact_writes) = link_contact(app, c, &account, inv.contact, now).await?;
    let mut writes = vec![match &seen {
        Some(m) => membership::grant_access(m, &plan.teams, plan.end),
        None => {
            let mut m = Membership::new_member(c, u, plan.teams.clone(), now);
            m.expires_at = plan.end;
            crate::records::put_new(&m)
        }
    }];
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
    let email = access_email(site, &account, &groups, plan.end);
    writes.push(outbox::enqueue(
        &random_hex_id(),
        now,
        &Message::Email(email),
    ));
    let source = Source::of(caller, false);
    writes.extend(activity::record_in_site(
        c,
        u,
        ActivityType::SiteAccessGranted,
        source,
        caller,
        None,
        now,
    ));
    app.store.transact(writes).await.map_err(|e| {
        if e.is_condition_failure() {
            DomainError::new(
                ErrorKind::Conflict,
                "the user's access or contact changed at the same time; try again",
            )
        } else {
            failed(Service::Membership)(e)
        }
    })?;
    app.outbox_written.notify_one();
    tracing::info!(user_id = %u, company_id = %c, temporary = plan.end.is_some(), "site access granted");
    Ok(SiteAccess {
        user_id: u,
        email: account.email.to_string(),
        site_id: c,
        groups: groups
            .iter()
            .map(|t| Group {
                group_id: t.team_id,
                group_name: t.team_name.clone(),
            })
            .collect(),
        temporary: plan.end.is_some(),
        expires_at: plan.end,
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

    #[test]
    fn an_invite_extends_or_makes_permanent_and_never_shortens() {
        let now = Utc::now();
        let id = Id::new(1).unwrap();
        let g = |n| Id::new(n).unwrap();
        let fresh = plan(None, Some(10), &[g(2)], now).unwrap();
        assert_eq!(fresh.end, Some(now + Duration::days(10)));
        assert_eq!((fresh.cancel, fresh.record), (None, fresh.end));
        let mut temp = Membership::new_member(id, id, vec![g(3)], now);
        temp.expires_at = Some(now + Duration::days(5));
        let longer = plan(Some(&temp), Some(10), &[g(2)], now).unwrap();
        assert_eq!(longer.teams, vec![g(3), g(2)]);
        assert_eq!(longer.cancel, temp.expires_at);
        assert_eq!(longer.record, Some(now + Duration::days(10)));
        let shorter = plan(Some(&temp), Some(1), &[], now).unwrap();
        assert_eq!(
            (shorter.end, shorter.cancel, shorter.record),
            (temp.expires_at, None, None)
        );
        let permanent = plan(Some(&temp), None, &[], now).unwrap();
        assert_eq!((permanent.end, permanent.cancel), (None, temp.expires_at));
        let later = now + Duration::days(6);
        let again = plan(Some(&temp), Some(1), &[g(2)], later).unwrap();
        assert_eq!(again.teams, vec![g(2)], "an ended membership starts afresh");
        assert_eq!(again.cancel, None, "an end that came stays recorded");
        let forever = Membership::new_member(id, id, vec![], now);
        assert!(plan(Some(&forever), Some(3), &[], now).is_err());
        let mut off = forever.clone();
        off.status = Status::Inactive;
        assert!(plan(Some(&off), None, &[], now).is_err());
    }
}
