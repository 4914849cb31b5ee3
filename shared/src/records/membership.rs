//! Memberships: a user's connection to a company, with a role and teams.

use super::{company_pk, get, user_pk, Record, Status};
use crate::domain::Id;
use crate::ports::store::{Cond, Index, Key, Query, Store, StoreError, Update, Write};
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
}

impl Membership {
    /// Whether the membership grants anything at `now`.
    pub fn is_active_at(&self, _now: DateTime<Utc>) -> bool {
        self.status == Status::Active
    }

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
        }
    }
}

pub fn member_key(company: Id, user: Id) -> Key {
    Key::new(company_pk(company), format!("MEMBER#{user}"))
}

/// Indexed under its user (gsi1), so a user's companies are one query.
impl Record for Membership {
    fn key(&self) -> Key {
        member_key(self.company_id, self.user_id)
    }
    fn index(&self) -> Vec<(&'static str, Value)> {
        vec![
            ("gsi1pk", json!(user_pk(self.user_id))),
            ("gsi1sk", json!(company_pk(self.company_id))),
        ]
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
