//! Single-use tokens that prove control of an email address: email verification and password
//! reset. Only the SHA-256 of a token is stored, under its purpose; each expires (TTL) and is
//! deleted when used. Reset requests are counted per address and hour.

use super::keyed_item;
use crate::domain::secrets::sha256_hex;
use crate::domain::{EmailAddress, Id};
use crate::ports::store::{Cond, Key, Store, StoreError, Update, Write};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;

/// What a token proves control of the address for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Purpose {
    Verify,
    Reset,
}

impl Purpose {
    fn tag(self) -> &'static str {
        match self {
            Purpose::Verify => "VERIFYTOKEN",
            Purpose::Reset => "RESETTOKEN",
        }
    }
}

/// Where a token's hash leads.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AddressToken {
    pub user_id: Id,
    pub email: EmailAddress,
    #[serde(with = "crate::domain::time::rfc3339")]
    pub expires_at: DateTime<Utc>,
    /// For a reset: the SHA-256 of the password hash the account had when the link was sent.
    /// A link sent before the password last changed opens nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_fingerprint: Option<String>,
}

/// The fingerprint of a stored password hash (never the hash itself).
pub fn password_fingerprint(password_hash: &str) -> String {
    sha256_hex(password_hash.as_bytes())
}

pub fn token_key(purpose: Purpose, hash: &str) -> Key {
    Key::new(format!("{}#{hash}", purpose.tag()), purpose.tag())
}

/// The write that stores a new token's hash until it expires.
pub fn issue(purpose: Purpose, hash: &str, token: &AddressToken) -> Write {
    let mut item = keyed_item(&token_key(purpose, hash), token);
    item.insert("ttl".into(), json!(token.expires_at.timestamp()));
    Write::put_new(item)
}

/// The token a hash stands for (expired ones included: the caller checks `expires_at`).
pub async fn find(
    store: &dyn Store,
    purpose: Purpose,
    hash: &str,
) -> Result<Option<AddressToken>, StoreError> {
    super::get(store, &token_key(purpose, hash)).await
}

/// The write that uses a token up (fails if it was used meanwhile).
pub fn use_up(purpose: Purpose, hash: &str) -> Write {
    Write::Delete {
        key: token_key(purpose, hash),
        cond: Some(Cond::present()),
    }
}

/// Reset requests for one address in one hour (`hour` counts hours since the epoch).
pub fn reset_limit_key(email_hash: &str, hour: i64) -> Key {
    Key::new(format!("RESETLIMIT#{email_hash}"), format!("HOUR#{hour}"))
}

/// Counts one reset request for `email` in the current hour, unless `limit` were already
/// made: `false` when the limit is reached. Counted for every address, known or not, so the
/// answer never tells whether an account exists.
pub async fn count_reset_request(
    store: &dyn Store,
    email: &EmailAddress,
    now: DateTime<Utc>,
    limit: u32,
) -> Result<bool, StoreError> {
    let hour = now.timestamp().div_euclid(3600);
    let key = reset_limit_key(&sha256_hex(email.as_str().as_bytes()), hour);
    let under_limit = Cond::Or(vec![
        Cond::NotExists("requests".into()),
        Cond::Lt("requests".into(), json!(limit)),
    ]);
    let update = Update::new()
        .add("requests", 1)
        .set("ttl", json!((hour + 2) * 3600));
    match store.update(&key, update, Some(under_limit)).await {
        Ok(_) => Ok(true),
        Err(e) if e.is_condition_failure() => Ok(false),
        Err(e) => Err(e),
    }
}
