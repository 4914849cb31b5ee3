//! Round trips to the store: a `Store` in front of another that counts each call a request
//! makes and how many of them run one after another (a call that starts while another is in
//! flight, as two reads under `join`, shares its round). docs/performance.md holds each
//! endpoint's budget; `tests/tests/api/round_trips.rs` holds every endpoint to it.

use admit_shared::ports::store::{Cond, Item, Key, Page, Query, Store, StoreError, Update, Write};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// What one request cost: calls to the store, and the rounds they took.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Trips {
    pub calls: usize,
    pub rounds: usize,
}

pub struct CountingStore {
    inner: Arc<dyn Store>,
    in_flight: AtomicUsize,
    seen: Mutex<(Trips, Vec<&'static str>)>,
}

impl CountingStore {
    pub fn new(inner: Arc<dyn Store>) -> Arc<CountingStore> {
        Arc::new(CountingStore {
            inner,
            in_flight: AtomicUsize::new(0),
            seen: Mutex::new((Trips::default(), Vec::new())),
        })
    }

    /// What was counted since the last `take`, with the operations in order; starts again.
    pub fn take(&self) -> (Trips, Vec<&'static str>) {
        std::mem::take(&mut *self.seen.lock().unwrap_or_else(|e| e.into_inner()))
    }

    async fn count<T>(&self, op: &'static str, call: impl std::future::Future<Output = T>) -> T {
        {
            let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
            seen.0.calls += 1;
            if self.in_flight.fetch_add(1, Ordering::SeqCst) == 0 {
                seen.0.rounds += 1;
            }
            seen.1.push(op);
        }
        // Calls started together (under `join`) all start before any finishes, whether or not
        // the store underneath ever waits (the embedded store answers at once).
        tokio::task::yield_now().await;
        let out = call.await;
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        out
    }
}

#[async_trait::async_trait]
impl Store for CountingStore {
    async fn get(&self, key: &Key) -> Result<Option<Item>, StoreError> {
        self.count("get", self.inner.get(key)).await
    }
    async fn batch_get(&self, keys: &[Key]) -> Result<Vec<Item>, StoreError> {
        self.count("batch_get", self.inner.batch_get(keys)).await
    }
    async fn query(&self, q: &Query) -> Result<Page, StoreError> {
        self.count("query", self.inner.query(q)).await
    }
    async fn put(&self, item: Item, cond: Option<Cond>) -> Result<(), StoreError> {
        self.count("put", self.inner.put(item, cond)).await
    }
    async fn update(&self, key: &Key, u: Update, cond: Option<Cond>) -> Result<Item, StoreError> {
        self.count("update", self.inner.update(key, u, cond)).await
    }
    async fn delete(&self, key: &Key, cond: Option<Cond>) -> Result<Option<Item>, StoreError> {
        self.count("delete", self.inner.delete(key, cond)).await
    }
    async fn transact(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        self.count("transact", self.inner.transact(writes)).await
    }
}
