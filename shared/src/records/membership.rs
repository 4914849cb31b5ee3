//! Memberships: a user's connection to a company, with a role and teams.

use super::{company_pk, get, user_pk, Record, Status};
use crate::domain::Id;
use crate::ports::store::{Cond, Index, Key, Query, Store, StoreError, Update, Write, TTL};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Member,
    Rep,
    Admin,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Membership {
    pub company_id: Id,
    pub user_id: Id,
    pub role: Role,
    pub status: Status,
    #[serde(default)]
    pub teams: Vec<Id>,
    /// selfRegisterMIUser's `condition` (version 4+): what the person told this company, kept
    /// with the company's record of them, never on the account other companies see.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<i64>,
    #[serde(with = "crate::domain::time::rfc3339")]
    pub created_at: DateTime<Utc>,
    /// When temporary access (a site invite with a `duration`) ends; absent for permanent
    /// access. The item's TTL is this time, so the table forgets it soon after.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::domain::time::rfc3339_opt"
    )]
    pub expires_at: Option<DateTime<Utc>>,
}

impl Membership {
    /// A new, active plain membership.
    pub fn new_member(company_id: Id, user_id: Id, teams: Vec<Id>, now: DateTime<Utc>) -> Self {
        Membership {
            company_id,
            user_id,
            role: Role::Member,
            status: Status::Active,
            teams,
            condition: None,
            created_at: now,
            expires_at: None,
        }
    }

    /// Whether the membership grants access at `now`: active, and its temporary access (if
    /// any) not yet over. Every check of a membership's status goes through here.
    pub fn is_active_at(&self, now: DateTime<Utc>) -> bool {
        self.status == Status::Active && !self.has_expired_at(now)
    }

    /// Whether temporary access has come to its end by `now`.
    pub fn has_expired_at(&self, now: DateTime<Utc>) -> bool {
        self.expires_at.is_some_and(|end| end <= now)
    }
}

pub fn member_key(company: Id, user: Id) -> Key {
    Key::new(company_pk(company), format!("MEMBER#{user}"))
}

/// The gsi2 partition of a company's admin memberships.
fn admins_pk(company: Id) -> String {
    format!("{}#ADMINS", company_pk(company))
}

/// Indexed under its user (gsi1), so a user's companies are one query; an admin's also under
/// its company's admins (gsi2), so they are found without reading every member.
impl Record for Membership {
    fn key(&self) -> Key {
        member_key(self.company_id, self.user_id)
    }
    fn index(&self) -> Vec<(&'static str, Value)> {
        let mut index = vec![
            ("gsi1pk", json!(user_pk(self.user_id))),
            ("gsi1sk", json!(company_pk(self.company_id))),
        ];
        if self.role == Role::Admin {
            index.push(("gsi2pk", json!(admins_pk(self.company_id))));
            index.push(("gsi2sk", json!(format!("MEMBER#{}", self.user_id))));
        }
        if let Some(end) = self.expires_at {
            index.push((TTL, json!(end.timestamp())));
        }
        index
    }
}

pub async fn find(
    store: &dyn Store,
    company: Id,
    user: Id,
) -> Result<Option<Membership>, StoreError> {
    get(store, &member_key(company, user)).await
}

/// The memberships of a user, in any company (gsi1), every page.
pub async fn companies_of(store: &dyn Store, user: Id) -> Result<Vec<Membership>, StoreError> {
    super::query_all(store, Query::partition(Index::Gsi1, user_pk(user))).await
}

/// The condition that a membership's end of access is still as it was read.
fn expiry_as_seen(seen: &Membership) -> Cond {
    match seen.expires_at {
        Some(end) => Cond::eq("expiresAt", crate::domain::time::format(end)),
        None => Cond::NotExists("expiresAt".into()),
    }
}

/// The check that `other` is still an active admin with permanent access, as it was read:
/// two last admins leaving at once cannot both go.
pub fn still_admin(other: &Membership) -> Write {
    Write::Check {
        key: member_key(other.company_id, other.user_id),
        cond: Cond::eq("role", json!(Role::Admin))
            .and(Cond::eq("status", json!(Status::Active)))
            .and(expiry_as_seen(other)),
    }
}

/// The admin memberships of a company (gsi2), every page: a few items, whatever the company's
/// size. Memberships stored before admins were indexed are not among them.
pub async fn admins_of(store: &dyn Store, company: Id) -> Result<Vec<Membership>, StoreError> {
    super::query_all(store, Query::partition(Index::Gsi2, admins_pk(company))).await
}

/// The members of a company, every page.
pub async fn members_of(store: &dyn Store, company: Id) -> Result<Vec<Membership>, StoreError> {
    super::query_all(
        store,
        Query::partition(Index::Table, company_pk(company))
            .sort(crate::ports::store::SortKey::BeginsWith("MEMBER#".into())),
    )
    .await
}

/// The write that ends a membership as it was read (its member leaves): fails if its status,
/// role or expiry changed meanwhile.
pub fn remove(seen: &Membership) -> Write {
    let expiry = expiry_as_seen(seen);
    Write::Delete {
        key: member_key(seen.company_id, seen.user_id),
        cond: Some(
            Cond::eq("status", json!(seen.status))
                .and(Cond::eq("role", json!(seen.role)))
                .and(expiry),
        ),
    }
}

/// The update that sets a membership's teams (and optionally its status), only if its teams
/// are still `seen` (and, when `must_be_active`, it is still active): a concurrent change makes
/// the transaction fail instead of being overwritten.
pub fn set_teams(m: &Membership, teams: &[Id], activate: bool, must_be_active: bool) -> Write {
    let mut update = Update::new().set("teams", json!(teams));
    if activate {
        update = update.set("status", "active");
    }
    let mut cond = Cond::eq("teams", json!(m.teams));
    if must_be_active {
        cond = Cond::eq("status", "active").and(cond);
    }
    Write::Update {
        key: member_key(m.company_id, m.user_id),
        update,
        cond: Some(cond),
    }
}

/// The update that moves a membership from the status it was read with to `status` (fails if
/// someone changed it meanwhile).
pub fn set_status(m: &Membership, status: Status) -> Write {
    Write::Update {
        key: member_key(m.company_id, m.user_id),
        update: Update::new().set("status", json!(status)),
        cond: Some(Cond::eq("status", json!(m.status))),
    }
}

/// The update that grants site access on a membership as it was read (`seen`): active, with
/// `teams`, until `expires_at` (`None`: permanently; the expiry and its TTL are removed). It
/// fails if the status, teams or expiry changed meanwhile.
pub fn grant_access(seen: &Membership, teams: &[Id], expires_at: Option<DateTime<Utc>>) -> Write {
    let mut update = Update::new()
        .set("teams", json!(teams))
        .set("status", json!(Status::Active));
    update = match expires_at {
        Some(end) => update
            .set("expiresAt", crate::domain::time::format(end))
            .set(TTL, json!(end.timestamp())),
        None => update.remove("expiresAt").remove(TTL),
    };
    let expiry_as_seen = expiry_as_seen(seen);
    Write::Update {
        key: member_key(seen.company_id, seen.user_id),
        update,
        cond: Some(
            Cond::eq("status", json!(seen.status))
                .and(Cond::eq("teams", json!(seen.teams)))
                .and(expiry_as_seen),
        ),
    }
}

/// The write that puts `fresh` in place of the membership as it was read (`seen`; `None`: there
/// was none): an ended membership starts afresh as a new one. Fails if it changed meanwhile.
pub fn start_afresh(seen: Option<&Membership>, fresh: &Membership) -> Write {
    let cond = match seen {
        None => Cond::absent(),
        Some(m) => {
            let expiry = expiry_as_seen(m);
            Cond::eq("status", json!(m.status)).and(expiry)
        }
    };
    Write::Put {
        item: super::item(fresh),
        cond: Some(cond),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temporary_access_ends_at_its_expiry() {
        let now = crate::domain::time::fixed_instant();
        let id = Id::new(1).unwrap();
        let mut m = Membership::new_member(id, id, Vec::new(), now);
        assert!(m.is_active_at(now));
        m.expires_at = Some(now + chrono::Duration::days(1));
        assert!(m.is_active_at(now));
        assert!(!m.is_active_at(now + chrono::Duration::days(1)));
        assert!(m.has_expired_at(now + chrono::Duration::days(2)));
        let ttl = m
            .index()
            .into_iter()
            .find(|(k, _)| *k == TTL)
            .map(|(_, v)| v);
        assert_eq!(
            ttl,
            Some(json!((now + chrono::Duration::days(1)).timestamp()))
        );
        m.status = Status::Pending;
        assert!(!m.is_active_at(now));
    }
}
