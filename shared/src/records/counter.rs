//! Id counters: the store-backed adapter of the `Ids` port.

use crate::domain::Id;
use crate::ports::clock::Ids;
use crate::ports::store::{Key, Store, StoreError};
use async_trait::async_trait;
use std::sync::Arc;

pub fn counter_key(kind: &str) -> Key {
    Key::new(format!("COUNTER#{kind}"), "COUNTER")
}

/// Whether any id of `kind` was ever issued.
pub async fn issued(store: &dyn Store, kind: &str) -> Result<bool, StoreError> {
    Ok(store.get(&counter_key(kind)).await?.is_some())
}

/// Ids from an atomic counter item per kind (`COUNTER#<kind>`), in the store itself.
pub struct StoreIds(pub Arc<dyn Store>);

#[async_trait]
impl Ids for StoreIds {
    async fn next(&self, kind: &str) -> Result<Id, StoreError> {
        let n = self.0.increment(&counter_key(kind), "value", 1).await?;
        Id::new(n as u64).map_err(StoreError::Invalid)
    }
}
