//! The storage layer: one typed record per item kind, with the functions that build its keys.
//! This folder is the only place a key string is built or an item attribute is named; use
//! cases read and write typed records through the helpers here. The key table (every item kind, its
//! pk, sk, index keys and TTL) is docs/storage.md; a test checks every key function against it.
//!

pub mod activity;
pub mod apikey;
pub mod company;
pub mod contact;
pub mod counter;
pub mod events;
pub mod idempotency;
pub mod invitation;
pub mod limit;
pub mod membership;
pub mod notification;
pub mod outbox;
pub mod user;
pub mod verification;

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
    read_keys(store, keys)
        .await?
        .into_iter()
        .map(|(key, item)| Ok((key, from_item(item)?)))
        .collect()
}

/// Which of `shards` partitions a spread key's item goes to: a hash (FNV-1a) of what names
/// it, so every write of one item lands in the same shard.
pub fn shard(name: &str, shards: u32) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in name.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h % shards
}

/// The items under `keys` that exist, by key: one `batch_get` per 100 keys. For reads of
/// several kinds that do not depend on each other, made in one round (`record_at` reads each).
pub async fn read_keys(
    store: &dyn Store,
    keys: &[Key],
) -> Result<std::collections::BTreeMap<Key, Item>, StoreError> {
    let mut out = std::collections::BTreeMap::new();
    for chunk in keys.chunks(crate::ports::store::MAX_BATCH_GET_KEYS) {
        for item in store.batch_get(chunk).await? {
            let key = Key::of(&item).ok_or_else(|| {
                StoreError::Internal("batch get returned an item without a key".into())
            })?;
            out.insert(key, item);
        }
    }
    Ok(out)
}

/// The record under `key` among items `read_keys` read.
pub fn record_at<T: DeserializeOwned>(
    read: &std::collections::BTreeMap<Key, Item>,
    key: &Key,
) -> Result<Option<T>, StoreError> {
    read.get(key).cloned().map(from_item).transpose()
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
    /// A membership waiting for its user to verify their email address (a company that
    /// accepts only some email domains trusts a domain only once the address is proven).
    Pending,
}

fn company_pk(company: crate::domain::Id) -> String {
    format!("COMPANY#{company}")
}

fn user_pk(user: crate::domain::Id) -> String {
    format!("USER#{user}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{EmailAddress, Id};

    /// The rows of docs/storage.md's key table: (item, pk pattern, sk pattern).
    fn documented() -> Vec<(String, String, String)> {
        include_str!("../../../docs/storage.md")
            .lines()
            .filter(|l| l.starts_with("| ") && l.contains('`'))
            .map(|l| {
                let cells: Vec<&str> = l.split('|').map(str::trim).collect();
                let unquote = |s: &str| s.trim_matches('`').to_string();
                (cells[1].to_string(), unquote(cells[2]), unquote(cells[3]))
            })
            .collect()
    }

    /// Whether `text` fits `pattern`, where each `<...>` stands for one or more characters.
    fn fits(pattern: &str, text: &str) -> bool {
        let mut parts = pattern.split('<').map(|p| match p.split_once('>') {
            Some((_, lit)) => (true, lit),
            None => (false, p),
        });
        let (_, first) = parts.next().unwrap_or((false, ""));
        let Some(mut rest) = text.strip_prefix(first) else {
            return false;
        };
        let parts: Vec<(bool, &str)> = parts.collect();
        for (i, (_, lit)) in parts.iter().enumerate() {
            let last = i == parts.len() - 1;
            let found = if last && !lit.is_empty() {
                rest.len()
                    .checked_sub(lit.len())
                    .filter(|n| *n > 0 && rest.ends_with(lit))
            } else if last {
                (!rest.is_empty()).then_some(rest.len())
            } else {
                rest.get(1..).and_then(|r| r.find(lit)).map(|n| n + 1)
            };
            let Some(n) = found else { return false };
            rest = &rest[n + lit.len()..];
        }
        rest.is_empty()
    }

    /// One key from every key function of the storage layer.
    fn built() -> Vec<Key> {
        let (c, u) = (Id::new(3).unwrap(), Id::new(4).unwrap());
        let email = EmailAddress::parse("a@b.co").unwrap();
        let at = crate::domain::time::fixed_instant();
        vec![
            company::company_key(c),
            company::team_key(c, u),
            membership::member_key(c, u),
            company::qr_key(c, "code"),
            company::EventSignup {
                company_id: c,
                event_id: u,
                user_id: u,
                qr_access_code: "x".into(),
                signed_up_at: at,
            }
            .key(),
            company::settings_key(c),
            contact::contact_key(c, u),
            contact::contact_email_key(c, &email),
            contact::external_id_key(c, "EXT-1"),
            contact::registration_key(c, u),
            invitation::invitation_key(c, &email),
            invitation::token_key("ab12"),
            apikey::api_key_key("ab12"),
            user::user_key(u),
            activity::activity_key(u, at, "ab12"),
            activity::site::entry_key(c, u, at, "ab12"),
            notification::notification_key(u, c),
            notification::device_key(u, "ab12"),
            notification::device_owner_key("ab12"),
            user::email_key(&email),
            user::session_key("ab12"),
            user::login_failures_key("ab12"),
            user::login_attempt_key("ab12", &crate::domain::time::format(at), "ab12"),
            outbox::outbox_key("ab12"),
            counter::counter_key("user"),
            verification::token_key(verification::Purpose::Verify, "ab12"),
            verification::token_key(verification::Purpose::Reset, "ab12"),
            verification::reset_limit_key("ab12", 7),
            idempotency::key("ab12"),
            limit::slot_key(&limit::Subject::Sender(u), 7, 3),
            limit::limit_key(&limit::Subject::Recipient(Some(c), email.clone()), 7),
            limit::limit_key(&limit::Subject::Recipient(None, email.clone()), 7),
            limit::slot_key(&limit::Subject::Company(c), 7, 3),
            limit::limit_key(
                &limit::Subject::LoginIp("203.0.113.7".into(), email.clone()),
                7,
            ),
            limit::limit_key(&limit::Subject::RegistrationIp(c, "203.0.113.7".into()), 7),
        ]
    }

    #[test]
    fn every_key_is_in_the_documented_table_and_every_row_is_built() {
        let rows = documented();
        assert!(
            rows.len() >= 20,
            "the key table was not found in docs/storage.md"
        );
        let keys = built();
        for k in &keys {
            let matching: Vec<_> = rows
                .iter()
                .filter(|(_, pk, sk)| fits(pk, &k.pk) && fits(sk, &k.sk))
                .collect();
            assert_eq!(
                matching.len(),
                1,
                "key {k} matches {matching:?} in docs/storage.md"
            );
        }
        for (item, pk, sk) in &rows {
            assert!(
                keys.iter().any(|k| fits(pk, &k.pk) && fits(sk, &k.sk)),
                "docs/storage.md row {item} ({pk} / {sk}) is built by no key function"
            );
        }
    }

    #[test]
    fn patterns_fit_as_documented() {
        assert!(fits("COMPANY#<id>", "COMPANY#3"));
        assert!(!fits("COMPANY#<id>", "COMPANY#"));
        assert!(fits("EVENT#<eventId>#USER#<userId>", "EVENT#4#USER#4"));
        assert!(!fits("COMPANY", "COMPANY#3"));
        assert!(fits("COMPANY#<id>#APIKEYS", "COMPANY#3#APIKEYS"));
    }
}
