//! Id counters: the store-backed adapter of the `Ids` port.

use crate::domain::Id;
use crate::ports::clock::Ids;
use crate::ports::store::{Key, Store, StoreError};
use async_trait::async_trait;
use std::sync::Arc;

/// Ids from an atomic counter item per kind (`COUNTER#<kind>`), in the store itself.
pub struct StoreIds(pub Arc<dyn Store>);

#[async_trait]
impl Ids for StoreIds {
    async fn next(&self, kind: &str) -> Result<Id, StoreError> {
        let n = self
            .0
            .increment(&Key::new(format!("COUNTER#{kind}"), "COUNTER"), "value", 1)
            .await?;
        Id::new(n as u64).map_err(StoreError::Invalid)
    }
}
