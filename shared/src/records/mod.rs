//! The storage layer: one typed record per item kind, with the functions that build its keys.
//! This folder is the only place a key string is built or an item attribute is named; use
//! cases read and write typed records through the helpers here. The key table below is also in
//! docs/storage.md, and a test keeps the two in step.
//!
//! | item | pk | sk | gsi1pk / gsi1sk | ttl |
//! |---|---|---|---|---|
//! | company | `COMPANY#<id>` | `COMPANY` | | |
//! | team | `COMPANY#<id>` | `TEAM#<id>` | | |
//! | membership | `COMPANY#<id>` | `MEMBER#<userId>` | `USER#<userId>` / `COMPANY#<id>` | |
//! | QR access code | `COMPANY#<id>` | `QR#<CODE>` | | |
//! | event sign-up | `COMPANY#<id>` | `EVENT#<eventId>#USER#<userId>` | | |
//! | company settings | `COMPANY#<id>` | `SETTINGS` | | |
//! | contact | `COMPANY#<id>` | `CONTACT#<id>` | | |
//! | contact email guard | `COMPANY#<id>` | `CONTACTEMAIL#<email>` | | |
//! | contact externalId guard | `COMPANY#<id>` | `EXTID#<externalId>` | | |
//! | registration | `COMPANY#<id>` | `REGISTRATION#<userId>` | | |
//! | invitation | `COMPANY#<id>` | `INVITE#<email>` | | |
//! | invitation token | `INVITETOKEN#<sha256>` | `INVITETOKEN` | | expiry |
//! | API key | `APIKEY#<sha256>` | `APIKEY` | `COMPANY#<id>#APIKEYS` / created | |
//! | user | `USER#<id>` | `USER` | | |
//! | activity | `USER#<id>` | `ACTIVITY#<time>#<rand>` | | |
//! | notification | `USER#<id>` | `NOTIF#<016 id>` | | |
//! | device | `USER#<id>` | `DEVICE#<deviceId>` | | |
//! | email guard | `EMAIL#<email>` | `EMAIL` | | |
//! | session | `SESSION#<sha256>` | `SESSION` | | expiry |
//! | unknown-email login counter | `LOGINFAIL#<sha256 of email>` | `LOGINFAIL` | | 1 day |
//! | unknown-email login attempt | `LOGINFAIL#<sha256 of email>` | `ATTEMPT#<time>#<rand>` | | 1 day |
//! | outbox message | `OUTBOX#<id>` | `OUTBOX` | `OUTBOX#PENDING` / created (while pending) | 30 days |
//! | id counter | `COUNTER#<kind>` | `COUNTER` | | |

pub mod activity;
pub mod apikey;
pub mod company;
pub mod contact;
pub mod counter;
pub mod invitation;
pub mod membership;
pub mod notification;
pub mod outbox;
pub mod user;

pub use apikey::{ApiKey, ApiKeyType};
pub use company::{Company, QrCode, Settings, Team};
pub use contact::{ContactRecord, Registration};
pub use invitation::{Invitation, InvitationStatus};
pub use membership::{Membership, Role};
pub use notification::{Device, Notification};
pub use user::{EmailGuard, Session, User};

use crate::ports::store::{Item, Key, Query, Store, StoreError, Write};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A record stored as one item: it knows its own key and index attributes.
pub trait Record: Serialize + DeserializeOwned {
    fn key(&self) -> Key;
    /// Extra attributes: index keys, `ttl`.
    fn index(&self) -> Vec<(&'static str, Value)> {
        Vec::new()
    }
}

/// The item a record is stored as.
pub fn item<R: Record>(record: &R) -> Item {
    let mut item = match serde_json::to_value(record) {
        Ok(Value::Object(m)) => m,
        _ => Item::new(),
    };
    item.extend(record.key().to_item());
    for (k, v) in record.index() {
        item.insert(k.to_string(), v);
    }
    item
}

/// A value stored under a key it does not know itself (guards, lookups).
fn keyed_item<T: Serialize>(key: &Key, value: &T) -> Item {
    let mut item = match serde_json::to_value(value) {
        Ok(Value::Object(m)) => m,
        _ => Item::new(),
    };
    item.extend(key.to_item());
    item
}

/// The write that creates `record`, failing if its key is taken.
pub fn put_new<R: Record>(record: &R) -> Write {
    Write::put_new(item(record))
}

/// Reads a record from an item; a malformed item is a store failure, never a panic. Key and
/// index attributes are not part of any record.
pub fn from_item<T: DeserializeOwned>(mut item: Item) -> Result<T, StoreError> {
    let key = Key::of(&item).map(|k| k.to_string()).unwrap_or_default();
    for a in ["pk", "sk", "gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk", "ttl"] {
        item.remove(a);
    }
    serde_json::from_value(Value::Object(item))
        .map_err(|e| StoreError::Internal(format!("malformed item {key}: {e}").into()))
}

/// The record under `key`, if any.
pub async fn get<T: DeserializeOwned>(
    store: &dyn Store,
    key: &Key,
) -> Result<Option<T>, StoreError> {
    store.get(key).await?.map(from_item).transpose()
}

/// The records under `keys` that exist, each with its key, in no particular order.
pub async fn get_many<T: DeserializeOwned>(
    store: &dyn Store,
    keys: &[Key],
) -> Result<Vec<(Key, T)>, StoreError> {
    let mut out = Vec::new();
    for item in store.batch_get(keys).await? {
        let key = Key::of(&item).ok_or_else(|| {
            StoreError::Internal("batch get returned an item without a key".into())
        })?;
        out.push((key, from_item(item)?));
    }
    Ok(out)
}

/// Every record a query matches, following pages to the end.
pub async fn query_all<T: DeserializeOwned>(
    store: &dyn Store,
    mut query: Query,
) -> Result<Vec<T>, StoreError> {
    let mut out = Vec::new();
    loop {
        let page = store.query(&query).await?;
        for item in page.items {
            out.push(from_item(item)?);
        }
        match page.next {
            Some(next) => query = query.start_after(Some(next)),
            None => return Ok(out),
        }
    }
}

/// Whether a company-given record is active.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Active,
    Inactive,
}

fn company_pk(company: crate::domain::Id) -> String {
    format!("COMPANY#{company}")
}

fn user_pk(user: crate::domain::Id) -> String {
    format!("USER#{user}")
}
