//! The table's items: key layout and the records stored under each key.
//!
//! | item | pk | sk | gsi1 |
//! |---|---|---|---|
//! | company | `COMPANY#<id>` | `COMPANY` | |
//! | team | `COMPANY#<id>` | `TEAM#<id>` | |
//! | membership | `COMPANY#<id>` | `MEMBER#<userId>` | `USER#<userId>` / `COMPANY#<id>` |
//! | QR access code | `COMPANY#<id>` | `QR#<CODE>` | |
//! | company settings | `COMPANY#<id>` | `SETTINGS` | |
//! | API key | `APIKEY#<sha256>` | `APIKEY` | `COMPANY#<id>#APIKEYS` / created |
//! | user | `USER#<id>` | `USER` | |
//! | activity | `USER#<id>` | `ACTIVITY#<time>#<rand>` | |
//! | email guard | `EMAIL#<canonical email>` | `EMAIL` | |
//! | session | `SESSION#<sha256 of token>` | `SESSION` | |
//! | failed login, unknown email | `LOGINFAIL#<sha256 of email>` | `LOGINFAIL` (counter), `ATTEMPT#<time>#<rand>` | |
//! | outbox message | `OUTBOX#<id>` | `OUTBOX` | `OUTBOX#PENDING` / created (while pending) |
//! | id counter | `COUNTER#<kind>` | `COUNTER` | |

pub mod activity;

use crate::domain::{EmailAddress, Id};
use crate::ports::store::{Item, Key, StoreError};
use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub fn company_key(company: Id) -> Key {
    Key::new(format!("COMPANY#{company}"), "COMPANY")
}
pub fn team_key(company: Id, team: Id) -> Key {
    Key::new(format!("COMPANY#{company}"), format!("TEAM#{team}"))
}
pub fn member_key(company: Id, user: Id) -> Key {
    Key::new(format!("COMPANY#{company}"), format!("MEMBER#{user}"))
}
pub fn qr_key(company: Id, code: &str) -> Key {
    Key::new(
        format!("COMPANY#{company}"),
        format!("QR#{}", code.to_uppercase()),
    )
}
pub fn settings_key(company: Id) -> Key {
    Key::new(format!("COMPANY#{company}"), "SETTINGS")
}
pub fn api_key_key(hash: &str) -> Key {
    Key::new(format!("APIKEY#{hash}"), "APIKEY")
}
pub fn user_key(user: Id) -> Key {
    Key::new(format!("USER#{user}"), "USER")
}
pub fn email_key(email: &EmailAddress) -> Key {
    Key::new(format!("EMAIL#{email}"), "EMAIL")
}
pub fn session_key(token_hash: &str) -> Key {
    Key::new(format!("SESSION#{token_hash}"), "SESSION")
}

/// Serialises a record into an item under `key`, with extra (index) attributes.
pub fn to_item<T: Serialize>(key: &Key, record: &T, extra: &[(&str, Value)]) -> Item {
    let mut item = match serde_json::to_value(record) {
        Ok(Value::Object(m)) => m,
        _ => Item::new(),
    };
    item.extend(key.to_item());
    for (k, v) in extra {
        item.insert((*k).to_string(), v.clone());
    }
    item
}

/// Reads a record from an item; a malformed item is a store failure, never a panic.
pub fn from_item<T: DeserializeOwned>(item: Item) -> Result<T, StoreError> {
    let key = Key::of(&item).map(|k| k.to_string()).unwrap_or_default();
    serde_json::from_value(Value::Object(item))
        .map_err(|e| StoreError::Internal(format!("malformed item {key}: {e}").into()))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Active,
    Inactive,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Company {
    pub company_id: Id,
    pub name: String,
    pub status: Status,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Team {
    pub team_id: Id,
    pub company_id: Id,
    pub team_name: String,
    pub public: bool,
    pub created_at: DateTime<Utc>,
}

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
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ApiKeyType {
    Admin,
    App,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ApiKey {
    pub key_id: Id,
    pub company_id: Id,
    pub key_type: ApiKeyType,
    pub status: Status,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct User {
    pub user_id: Id,
    pub email: EmailAddress,
    pub first_name: String,
    pub last_name: String,
    /// Argon2id PHC string; never leaves the store.
    pub password_hash: String,
    pub status: Status,
    #[serde(default)]
    pub failed_logins: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locked_until: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl User {
    /// A new, active account with no failed logins.
    pub fn new_active(
        user_id: Id,
        email: EmailAddress,
        first_name: &str,
        last_name: &str,
        password_hash: String,
        created_at: DateTime<Utc>,
    ) -> User {
        User {
            user_id,
            email,
            first_name: first_name.to_string(),
            last_name: last_name.to_string(),
            password_hash,
            status: Status::Active,
            failed_logins: 0,
            locked_until: None,
            created_at,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct EmailGuard {
    pub user_id: Id,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Session {
    /// A non-secret id for the session (logs, activity); the token itself is never stored.
    pub session_id: String,
    pub user_id: Id,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct QrCode {
    pub company_id: Id,
    pub code: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_id: Option<Id>,
    pub created_at: DateTime<Utc>,
}
