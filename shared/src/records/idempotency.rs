//! Idempotency records: what a request sent with an `Idempotency-Key` did, so a retry gets the
//! first answer instead of doing the work again (`http::idempotency` is the edge that uses them).
//!
//! One item per scope (the function, the caller's credentials and the key, hashed together):
//! - `running` while a request holds it: `leaseId`, until `leaseUntil` (epoch milliseconds).
//!   `committed` turns true in the same transaction as the request's work
//!   (`IdempotentStore` adds that write to every transaction the request makes), so a crash
//!   after the work and before the answer is kept can never let a retry do the work again;
//! - `done` with the answer (`status`, `contentType`, `body`) once it is kept.
//!
//! Each lives 24 hours (`ttl`). Only `PutItem` and `GetItem` are used, which every function
//! that takes a POST or PUT is granted.

use crate::ports::store::{
    Cond, Item, Key, Page, Query, Store, StoreError, Update, Write, MAX_TRANSACTION_WRITES,
};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// How long a key's first answer is kept.
pub const KEEP_HOURS: i64 = 24;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum State {
    Running,
    Done,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IdempotencyRecord {
    /// SHA-256 of the function, the caller's credentials and the key (hex).
    pub scope: String,
    /// SHA-256 of what the request asks (method, path, query, body less any password).
    pub fingerprint: String,
    pub state: State,
    pub lease_id: String,
    /// Epoch milliseconds.
    pub lease_until: i64,
    /// The request's work committed (a transaction with this record's marker went through).
    pub committed: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// Epoch seconds: the record is gone after this.
    pub expires: i64,
}

pub fn key(scope: &str) -> Key {
    Key::new(format!("IDEMPOTENCY#{scope}"), "IDEMPOTENCY")
}

impl IdempotencyRecord {
    fn item(&self) -> Item {
        let mut item = match serde_json::to_value(self) {
            Ok(Value::Object(m)) => m,
            _ => Item::new(),
        };
        item.extend(key(&self.scope).to_item());
        item.insert("ttl".into(), Value::from(self.expires));
        item
    }

    fn mine(&self) -> Cond {
        Cond::eq("leaseId", self.lease_id.as_str())
    }
}

/// The record of `scope`, if it is there and not past its time.
pub async fn find(
    store: &dyn Store,
    scope: &str,
    now_secs: i64,
) -> Result<Option<IdempotencyRecord>, StoreError> {
    Ok(super::get::<IdempotencyRecord>(store, &key(scope))
        .await?
        .filter(|r| r.expires > now_secs))
}

/// The write that claims `scope` for a request: there is no record (or only one past its
/// time), or the one there is a request that died before committing anything.
pub fn claim(record: &IdempotencyRecord, now_ms: i64, now_secs: i64) -> Write {
    let abandoned = Cond::eq("state", "running")
        .and(Cond::eq("committed", false))
        .and(Cond::Lt("leaseUntil".into(), Value::from(now_ms)));
    Write::Put {
        item: record.item(),
        cond: Some(Cond::Or(vec![
            Cond::absent(),
            Cond::Lt("expires".into(), Value::from(now_secs)),
            abandoned,
        ])),
    }
}

/// The write that keeps the answer (while the request still holds the record).
pub fn keep(record: &IdempotencyRecord) -> Write {
    Write::Put {
        item: record.item(),
        cond: Some(record.mine()),
    }
}

/// A store that adds the record's `committed` marker to every transaction of one request, so
/// the work and the marker commit together (or neither does).
pub struct IdempotentStore {
    pub inner: std::sync::Arc<dyn Store>,
    pub marker: IdempotencyRecord,
    /// Set once a transaction with the marker went through.
    pub committed: std::sync::atomic::AtomicBool,
}

impl IdempotentStore {
    pub fn new(inner: std::sync::Arc<dyn Store>, record: &IdempotencyRecord) -> IdempotentStore {
        IdempotentStore {
            inner,
            marker: IdempotencyRecord {
                committed: true,
                ..record.clone()
            },
            committed: std::sync::atomic::AtomicBool::new(false),
        }
    }

    pub fn committed(&self) -> bool {
        self.committed.load(std::sync::atomic::Ordering::SeqCst)
    }
}

#[async_trait]
impl Store for IdempotentStore {
    async fn get(&self, key: &Key) -> Result<Option<Item>, StoreError> {
        self.inner.get(key).await
    }
    async fn batch_get(&self, keys: &[Key]) -> Result<Vec<Item>, StoreError> {
        self.inner.batch_get(keys).await
    }
    async fn query(&self, query: &Query) -> Result<Page, StoreError> {
        self.inner.query(query).await
    }
    async fn put(&self, item: Item, cond: Option<Cond>) -> Result<(), StoreError> {
        self.inner.put(item, cond).await
    }
    async fn update(
        &self,
        key: &Key,
        update: Update,
        cond: Option<Cond>,
    ) -> Result<Item, StoreError> {
        self.inner.update(key, update, cond).await
    }
    async fn delete(&self, key: &Key, cond: Option<Cond>) -> Result<Option<Item>, StoreError> {
        self.inner.delete(key, cond).await
    }
    async fn increment(&self, key: &Key, attr: &str, by: i64) -> Result<i64, StoreError> {
        self.inner.increment(key, attr, by).await
    }
    /// The writes, and last (so a use case's indexes of its writes stay as they are) the
    /// marker, unless the transaction is full.
    async fn transact(&self, mut writes: Vec<Write>) -> Result<(), StoreError> {
        let marked = writes.len() < MAX_TRANSACTION_WRITES;
        if marked {
            writes.push(keep(&self.marker));
        }
        self.inner.transact(writes).await?;
        if marked {
            self.committed
                .store(true, std::sync::atomic::Ordering::SeqCst);
        }
        Ok(())
    }
}
