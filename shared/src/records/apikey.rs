//! Company API keys, stored under the SHA-256 of the key and listed under their company.

use super::{company_pk, get, Record, Status};
use crate::domain::secrets::sha256_hex;
use crate::domain::Id;
use crate::ports::store::{Key, Store, StoreError};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

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
    #[serde(with = "crate::domain::time::rfc3339")]
    pub created_at: DateTime<Utc>,
    /// The SHA-256 of the key: the item's key, not an attribute.
    #[serde(skip)]
    pub hash: String,
}

/// The stored form of a presented key (trimmed, lower-cased, hashed).
pub fn hash(raw: &str) -> String {
    sha256_hex(raw.trim().to_ascii_lowercase().as_bytes())
}

pub fn api_key_key(hash: &str) -> Key {
    Key::new(format!("APIKEY#{hash}"), "APIKEY")
}

impl Record for ApiKey {
    fn key(&self) -> Key {
        api_key_key(&self.hash)
    }
    fn index(&self) -> Vec<(&'static str, Value)> {
        vec![
            (
                "gsi1pk",
                json!(format!("{}#APIKEYS", company_pk(self.company_id))),
            ),
            (
                "gsi1sk",
                json!(crate::domain::time::format(self.created_at)),
            ),
        ]
    }
}

/// The key a presented secret stands for.
pub async fn find(store: &dyn Store, raw: &str) -> Result<Option<ApiKey>, StoreError> {
    let h = hash(raw);
    let found: Option<ApiKey> = get(store, &api_key_key(&h)).await?;
    Ok(found.map(|k| ApiKey { hash: h, ..k }))
}
