//! A person's own memberships: the companies (businesses, sites) they belong to, and leaving
//! one. Nobody else decides that a person stays: a member may leave any company, except its
//! last active admin (who would leave it with no one to run it) and a member the company
//! deactivated (leaving would wipe the company's decision, and the address could be invited
//! back).

use crate::app::App;
use crate::domain::activity::{ActivityType, Source};
use crate::domain::error::{DomainError, ErrorKind, Service};
use crate::domain::{Caller, Id};
use crate::ports::store::Write;
use crate::records::{activity, company, membership, user, Membership, Role, Session, Status};
use crate::usecases::failed;
use chrono::{DateTime, Utc};
use serde::Serialize;

/// One company the caller belongs to, as the platform family shows it.
#[derive(Debug, Serialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct MyBusiness {
    #[serde(rename = "BusinessID")]
    pub business_id: Id,
    pub name: String,
    pub role: Role,
    /// `active`, `pending` (waiting for a proven address) or `inactive` (deactivated by the
    /// company).
    pub status: Status,
    pub teams: Vec<Id>,
    /// When temporary access ends; absent for permanent access.
    #[serde(
        skip_serializing_if = "Option::is_none",
        with = "crate::domain::time::rfc3339_opt"
    )]
    pub expires_at: Option<DateTime<Utc>>,
}

/// The companies the caller belongs to (ended temporary access is not belonging), by id.
pub async fn mine(app: &App, session: &Session) -> Result<Vec<MyBusiness>, DomainError> {
    let store = app.store.as_ref();
    let fail = failed(Service::Company);
    let now = app.clock.now();
    let mut out = Vec::new();
    for m in membership::companies_of(store, session.user_id)
        .await
        .map_err(&fail)?
    {
        if m.has_expired_at(now) {
            continue;
        }
        let Some(c) = company::find(store, m.company_id).await.map_err(&fail)? else {
            continue;
        };
        out.push(MyBusiness {
            business_id: c.company_id,
            name: c.name,
            role: m.role,
            status: m.status,
            teams: m.teams,
            expires_at: m.expires_at,
        });
    }
    out.sort_by_key(|b| b.business_id);
    Ok(out)
}

/// What leaving answers.
#[derive(Debug, Serialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct Left {
    #[serde(rename = "BusinessID")]
    pub business_id: Id,
    pub status: &'static str,
}

fn not_found() -> DomainError {
    DomainError::new(ErrorKind::RecordNotFound, "no such business for this user")
}

/// Another admin of `business` than `user` who keeps it run: an active, permanent admin
/// membership of an account that can still sign in (a deactivated account runs nothing). Read
/// from the company's admins index (a few items, whatever the company's size); only when that
/// finds none are all members read, for admins stored before the index existed.
async fn other_active_admin(
    app: &App,
    business: Id,
    user: Id,
    now: DateTime<Utc>,
) -> Result<Option<Membership>, DomainError> {
    let store = app.store.as_ref();
    let fail = failed(Service::Membership);
    let indexed = membership::admins_of(store, business)
        .await
        .map_err(&fail)?;
    if let Some(keeper) = first_keeper(app, indexed, user, now).await? {
        return Ok(Some(keeper));
    }
    let all = membership::members_of(store, business)
        .await
        .map_err(&fail)?;
    first_keeper(app, all, user, now).await
}

/// The first of `memberships` that keeps the business run without `user`.
async fn first_keeper(
    app: &App,
    memberships: Vec<Membership>,
    user: Id,
    now: DateTime<Utc>,
) -> Result<Option<Membership>, DomainError> {
    let fail = failed(Service::Membership);
    let admins = memberships.into_iter().filter(|o| {
        o.user_id != user && o.role == Role::Admin && o.is_active_at(now) && o.expires_at.is_none()
    });
    for admin in admins {
        let account = user::find(app.store.as_ref(), admin.user_id)
            .await
            .map_err(&fail)?;
        if account.is_some_and(|a| a.status == Status::Active) {
            return Ok(Some(admin));
        }
    }
    Ok(None)
}

/// Leaves `business`: the membership (with its teams) ends at once, with a `Site Left` activity
/// in the company's log, and a recorded end of temporary access is withdrawn. One transaction.
pub async fn leave(
    app: &App,
    session: &Session,
    business: Id,
    caller: &Caller,
) -> Result<Left, DomainError> {
    let store = app.store.as_ref();
    let fail = failed(Service::Membership);
    let now = app.clock.now();
    let user = session.user_id;
    let m = membership::find(store, business, user)
        .await
        .map_err(&fail)?
        .filter(|m| !m.has_expired_at(now))
        .ok_or_else(not_found)?;
    if m.status == Status::Inactive {
        return Err(DomainError::new(
            ErrorKind::NotPermitted,
            "the business deactivated your membership: ask its admin",
        ));
    }
    // An admin leaves only while another active admin stays, checked in the same transaction
    // (two last admins leaving at once cannot both go).
    let mut keeper = None;
    if m.role == Role::Admin && m.is_active_at(now) {
        keeper = other_active_admin(app, business, user, now).await?;
        if keeper.is_none() {
            return Err(DomainError::new(
                ErrorKind::NotPermitted,
                "you are the business's only admin: make someone else an admin before you leave",
            ));
        }
    }
    let mut writes: Vec<Write> = vec![membership::remove(&m)];
    writes.extend(keeper.as_ref().map(membership::still_admin));
    writes.extend(keeper.as_ref().map(|k| user::still_active(k.user_id)));
    if let Some(end) = m.expires_at {
        writes.extend(activity::cancel_expiry(business, user, end));
    }
    let by = crate::domain::event::Actor::user(user);
    let left = crate::records::events::membership_ended(business, user, by, now, "left");
    writes.push(crate::records::events::publish(
        left.with("teams", &m.teams),
    ));
    writes.extend(activity::record_in_site(
        business,
        user,
        ActivityType::SiteLeft,
        Source::of(caller, false),
        caller,
        None,
        now,
    ));
    app.store.transact(writes).await.map_err(|e| {
        if e.is_condition_failure() {
            DomainError::new(
                ErrorKind::Conflict,
                "your membership or the business's admins changed at the same time; try again",
            )
        } else {
            fail(e)
        }
    })?;
    tracing::info!(user_id = %user, company_id = %business, "member left");
    Ok(Left {
        business_id: business,
        status: "left",
    })
}
