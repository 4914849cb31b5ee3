//! Companies and what hangs off them: teams, QR access codes, event sign-ups, settings.

use super::{company_pk, get, query_all, Record, Status};
use crate::domain::Id;
use crate::ports::store::{Cond, Index, Key, Query, SortKey, Store, StoreError, Update, Write};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Company {
    pub company_id: Id,
    pub name: String,
    pub status: Status,
    #[serde(with = "crate::domain::time::rfc3339")]
    pub created_at: DateTime<Utc>,
}

pub fn company_key(company: Id) -> Key {
    Key::new(company_pk(company), "COMPANY")
}

impl Record for Company {
    fn key(&self) -> Key {
        company_key(self.company_id)
    }
}

/// The check, inside a transaction, that a company exists.
pub fn company_exists(company: Id) -> Write {
    Write::Check {
        key: company_key(company),
        cond: Cond::present(),
    }
}

pub async fn find(store: &dyn Store, company: Id) -> Result<Option<Company>, StoreError> {
    get(store, &company_key(company)).await
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Team {
    pub team_id: Id,
    pub company_id: Id,
    pub team_name: String,
    pub public: bool,
    #[serde(with = "crate::domain::time::rfc3339")]
    pub created_at: DateTime<Utc>,
}

pub fn team_key(company: Id, team: Id) -> Key {
    Key::new(company_pk(company), format!("TEAM#{team}"))
}

impl Record for Team {
    fn key(&self) -> Key {
        team_key(self.company_id, self.team_id)
    }
}

/// Every team of a company, by id.
pub async fn teams(store: &dyn Store, company: Id) -> Result<Vec<Team>, StoreError> {
    let mut teams: Vec<Team> = query_all(
        store,
        Query::partition(Index::Table, company_pk(company))
            .sort(SortKey::BeginsWith("TEAM#".into())),
    )
    .await?;
    teams.sort_by_key(|t| t.team_id);
    Ok(teams)
}

/// The teams of `company` among `ids`, in the order asked; ids that are not its teams are
/// left out (compare lengths to find them).
pub async fn teams_among(
    store: &dyn Store,
    company: Id,
    ids: &[Id],
) -> Result<Vec<Team>, StoreError> {
    let keys: Vec<Key> = ids.iter().map(|t| team_key(company, *t)).collect();
    let found: Vec<(Key, Team)> = super::get_many(store, &keys).await?;
    Ok(ids
        .iter()
        .filter_map(|id| found.iter().find(|(_, t)| t.team_id == *id))
        .map(|(_, t)| t.clone())
        .collect())
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct QrCode {
    pub company_id: Id,
    pub code: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_id: Option<Id>,
    #[serde(with = "crate::domain::time::rfc3339")]
    pub created_at: DateTime<Utc>,
}

/// QR codes are matched without regard to ASCII case.
pub fn qr_key(company: Id, code: &str) -> Key {
    Key::new(company_pk(company), format!("QR#{}", code.to_uppercase()))
}

impl Record for QrCode {
    fn key(&self) -> Key {
        qr_key(self.company_id, &self.code)
    }
}

pub async fn find_qr(
    store: &dyn Store,
    company: Id,
    code: &str,
) -> Result<Option<QrCode>, StoreError> {
    get(store, &qr_key(company, code)).await
}

/// A user signed up to an event by a QR access code.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct EventSignup {
    pub company_id: Id,
    pub event_id: Id,
    pub user_id: Id,
    pub qr_access_code: String,
    #[serde(with = "crate::domain::time::rfc3339")]
    pub signed_up_at: DateTime<Utc>,
}

/// Where a user's sign-up to a company's event is kept.
pub fn event_signup_key(company: Id, event: Id, user: Id) -> Key {
    Key::new(company_pk(company), format!("EVENT#{event}#USER#{user}"))
}

impl Record for EventSignup {
    fn key(&self) -> Key {
        event_signup_key(self.company_id, self.event_id, self.user_id)
    }
}

impl EventSignup {
    /// The write that records the sign-up (signing up twice changes nothing).
    pub fn write(&self) -> Write {
        Write::Put {
            item: super::item(self),
            cond: None,
        }
    }
}

/// A company's settings. Every setting is optional: absent means the default.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Settings {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company_id: Option<Id>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team_assignment_message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_email_domains: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub users_may_invite: Option<bool>,
    /// Whether sessions kept in a browser cookie must send `X-Csrf-Token_{companyId}` (platform
    /// family); on when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub csrf_required: Option<bool>,
    /// How many days an invitation's link works; 7 when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invitation_days: Option<u32>,
    /// The company's own hourly limits over the stage's (`config::Limits`): addresses one of
    /// its users may email, invitations its plain members may send together, and
    /// self-registrations from one source address (a venue's QR sign-ups).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sender_per_hour: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company_per_hour: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registrations_per_hour: Option<u32>,
    /// Profession number (as text) -> the teams a self-registration with it joins.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profession_teams: Option<BTreeMap<String, Vec<Id>>>,
}

pub fn settings_key(company: Id) -> Key {
    Key::new(company_pk(company), "SETTINGS")
}

/// The company's settings (all defaults when it has none stored).
pub async fn settings(store: &dyn Store, company: Id) -> Result<Settings, StoreError> {
    Ok(get(store, &settings_key(company))
        .await?
        .unwrap_or_default())
}

/// The write that sets one setting (by its stored name) to `value`.
pub fn set_setting(company: Id, name: &str, value: Value) -> Write {
    set_settings(company, [(name, value)])
}

/// The one update that sets every named setting of a company (a transaction may not write one
/// item twice, so several settings changed together are one write).
pub fn set_settings<'a>(
    company: Id,
    settings: impl IntoIterator<Item = (&'a str, Value)>,
) -> Write {
    let update = settings
        .into_iter()
        .fold(Update::new(), |u, (name, value)| u.set(name, value));
    Write::Update {
        key: settings_key(company),
        update: update.set("companyId", json!(company)),
        cond: None,
    }
}
