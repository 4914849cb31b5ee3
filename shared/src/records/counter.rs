//! Id counters: the store-backed adapter of the `Ids` port.
//!
//! Every tenant's new accounts, contacts and notifications take an id of their kind, so one
//! counter item per kind is written by the whole system. A process takes ids in blocks (one
//! atomic add of the block's size), and hands them out from memory until the block is used:
//! the counter is written once a block. Ids stay positive whole numbers, unique, and far below
//! 2^53; a block a process did not use up (it ended, or was recycled) leaves a gap, which
//! means nothing (docs/storage.md, "Ids").

use crate::domain::Id;
use crate::ports::clock::Ids;
use crate::ports::store::{Key, Store, StoreError};
use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::Mutex;

pub fn counter_key(kind: &str) -> Key {
    Key::new(format!("COUNTER#{kind}"), "COUNTER")
}

/// Whether any id of `kind` was ever issued.
pub async fn issued(store: &dyn Store, kind: &str) -> Result<bool, StoreError> {
    Ok(store.get(&counter_key(kind)).await?.is_some())
}

/// Ids from an atomic counter item per kind (`COUNTER#<kind>`), taken `block` at a time.
pub struct StoreIds {
    store: Arc<dyn Store>,
    block: u32,
    /// Per kind: the next id to hand out and the last of the block.
    blocks: Mutex<HashMap<String, (u64, u64)>>,
}

impl StoreIds {
    pub fn new(store: Arc<dyn Store>, block: u32) -> StoreIds {
        StoreIds {
            store,
            block: block.max(1),
            blocks: Mutex::new(HashMap::new()),
        }
    }
}

#[async_trait]
impl Ids for StoreIds {
    async fn next(&self, kind: &str) -> Result<Id, StoreError> {
        // Held across the counter's update: the tasks of one process wait for one block.
        let mut blocks = self.blocks.lock().await;
        let (next, last) = match blocks.get(kind).copied().filter(|(n, l)| n <= l) {
            Some(block) => block,
            None => {
                let by = i64::from(self.block);
                let last = self
                    .store
                    .increment(&counter_key(kind), "value", by)
                    .await?;
                let last = u64::try_from(last).map_err(|e| StoreError::Invalid(e.to_string()))?;
                (last + 1 - u64::from(self.block), last)
            }
        };
        blocks.insert(kind.to_string(), (next + 1, last));
        Id::new(next).map_err(StoreError::Invalid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::store::embedded::EmbeddedStore;

    /// Two processes on one store (two allocators) never hand out one id twice, each takes
    /// consecutive ids from its block, and the counter is written once a block.
    #[tokio::test]
    async fn blocks_of_ids_never_overlap() {
        let store: Arc<dyn Store> = Arc::new(EmbeddedStore::in_memory());
        let a = StoreIds::new(store.clone(), 4);
        let b = StoreIds::new(store.clone(), 4);
        let mut seen = std::collections::BTreeSet::new();
        let mut from_a = Vec::new();
        for i in 0..10 {
            let x = a.next("user").await.expect("an id").get();
            from_a.push(x);
            assert!(seen.insert(x), "id {x} handed out twice");
            if i % 3 == 0 {
                let y = b.next("user").await.expect("an id").get();
                assert!(seen.insert(y), "id {y} handed out twice");
            }
        }
        assert_eq!(&from_a[..4], &[1, 2, 3, 4], "a block's ids are consecutive");
        let counter = store.get(&counter_key("user")).await.expect("read");
        let value = counter.and_then(|c| c.get("value").and_then(serde_json::Value::as_u64));
        // a: 10 ids in 3 blocks; b: 4 ids in 1 block.
        assert_eq!(value, Some(16), "four blocks of four");
        // Another kind has its own counter.
        assert_eq!(a.next("contact").await.expect("an id").get(), 1);
    }
}
