//! Partition heat: a `Store` in front of another that charges every read and write to the
//! partitions it touches, in DynamoDB's units, so a bench (`admit-bench heat`) can show which
//! keys a load makes hot and a test can show which partitions two tenants' requests share.
//!
//! DynamoDB's sizing, as published: a write costs one write unit per KB of the larger of the
//! item before and after (at least one), twice inside a transaction, and once more in every
//! index partition whose entry it puts, changes or deletes (a changed index key is a delete
//! in the old partition and a put in the new one); a condition check in a transaction costs
//! as a write of the item; a write whose condition fails still costs its units. A read costs
//! one read unit per 4 KB (a query: of all the items it returns together), half when
//! eventually consistent (every index read; admit reads the table strongly consistent).
//!
//! `ConflictStore` models the other limit of one hot item: a transaction fails (as DynamoDB's
//! `TransactionConflict`) when one of its items is in another transaction still open.

use admit_shared::ports::store::{
    item_size, Cond, Index, Item, Key, Page, Query, Store, StoreError, Update, Write,
};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A partition of the table or of an index.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Partition {
    /// "table", "gsi1" or "gsi2".
    pub index: &'static str,
    pub key: String,
}

/// What a partition was charged, weighted two ways (`Weights`): units as a sample of every
/// tenant's load, and units as the load of the one tenant that touched it.
#[derive(Debug, Clone, Default)]
pub struct Heat {
    pub sampled: (f64, f64),
    pub tenant_rate: (f64, f64),
    /// The tenants whose requests touched it (the bench tags each request with its tenant).
    pub tenants: BTreeSet<u64>,
}

impl Heat {
    /// (write, read) units: a partition that one tenant's requests touched (or none) at that
    /// tenant's expected rate, a shared one as the sample says.
    pub fn units(&self) -> (f64, f64) {
        if self.tenants.len() <= 1 {
            self.tenant_rate
        } else {
            self.sampled
        }
    }
}

/// How much a charge counts: `sampled` (each request stands for this many of the load's) and
/// `tenant` (the same for its own tenant's keys: the tenant's expected rate of such requests
/// over how many of them were run). A test leaves both at 1.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Weights {
    pub tenant: Option<u64>,
    pub sampled: f64,
    pub tenant_rate: f64,
}

impl Default for Weights {
    fn default() -> Weights {
        Weights {
            tenant: None,
            sampled: 1.0,
            tenant_rate: 1.0,
        }
    }
}

#[derive(Default)]
struct Ledger {
    on: bool,
    weights: Weights,
    heat: HashMap<Partition, Heat>,
    /// The weights of the request that queued each outbox message (by its item's `pk`), so
    /// its delivery is charged as part of that request.
    queued_by: HashMap<String, Weights>,
    /// Every unit charged while charging, unweighted: (write, read).
    raw: (f64, f64),
}

pub struct HeatStore {
    inner: Arc<dyn Store>,
    ledger: Mutex<Ledger>,
}

fn index_name(i: Index) -> &'static str {
    i.name().unwrap_or("table")
}

const INDEXES: [Index; 2] = [Index::Gsi1, Index::Gsi2];

/// The (partition, sort) key of `item` in index `i`, if the item is in it.
fn index_key(item: &Item, i: Index) -> Option<(String, String)> {
    let (p, s) = i.key_names();
    Some((
        item.get(p)?.as_str()?.to_string(),
        item.get(s)?.as_str()?.to_string(),
    ))
}

fn kb(bytes: usize) -> f64 {
    bytes.div_ceil(1024).max(1) as f64
}

fn read_units(bytes: usize, consistent: bool) -> f64 {
    let units = bytes.div_ceil(4096).max(1) as f64;
    if consistent {
        units
    } else {
        units / 2.0
    }
}

impl HeatStore {
    /// Charges nothing until `charging(true)`.
    pub fn new(inner: Arc<dyn Store>) -> Arc<HeatStore> {
        Arc::new(HeatStore {
            inner,
            ledger: Mutex::new(Ledger::default()),
        })
    }

    fn ledger(&self) -> std::sync::MutexGuard<'_, Ledger> {
        self.ledger.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether what follows is charged (set-up work is not).
    pub fn charging(&self, on: bool) {
        self.ledger().on = on;
    }

    /// The tenant the requests that follow are charged to (`None`: the system's own work),
    /// weighted 1.
    pub fn tenant(&self, tenant: Option<u64>) {
        self.weigh(Weights {
            tenant,
            ..Weights::default()
        });
    }

    /// How what follows is charged.
    pub fn weigh(&self, w: Weights) {
        self.ledger().weights = w;
    }

    /// Every unit charged so far, unweighted: (write units, read units).
    pub fn raw(&self) -> (f64, f64) {
        self.ledger().raw
    }

    /// The weights of the request that queued the outbox message `pk` (for its delivery).
    pub fn queued_by(&self, pk: &str) -> Option<Weights> {
        self.ledger().queued_by.get(pk).copied()
    }

    /// Everything charged since the last `take`; starts again.
    pub fn take(&self) -> HashMap<Partition, Heat> {
        std::mem::take(&mut self.ledger().heat)
    }

    fn charge(&self, index: &'static str, key: &str, write: f64, read: f64) {
        let mut l = self.ledger();
        if !l.on {
            return;
        }
        let w = l.weights;
        l.raw.0 += write;
        l.raw.1 += read;
        if index == "table" && write > 0.0 && key.starts_with("OUTBOX#") {
            l.queued_by.entry(key.to_string()).or_insert(w);
        }
        let h = l
            .heat
            .entry(Partition {
                index,
                key: key.to_string(),
            })
            .or_default();
        h.sampled.0 += write * w.sampled;
        h.sampled.1 += read * w.sampled;
        h.tenant_rate.0 += write * w.tenant_rate;
        h.tenant_rate.1 += read * w.tenant_rate;
        if let Some(t) = w.tenant {
            h.tenants.insert(t);
        }
    }

    /// Charges one write of `key` whose item went from `before` to `after` (`times`: 2 in a
    /// transaction).
    fn charge_write(&self, key: &Key, before: Option<&Item>, after: Option<&Item>, times: f64) {
        let size = before
            .map(item_size)
            .unwrap_or(0)
            .max(after.map(item_size).unwrap_or(0));
        self.charge("table", &key.pk, kb(size) * times, 0.0);
        for i in INDEXES {
            let old = before.and_then(|b| index_key(b, i));
            let new = after.and_then(|a| index_key(a, i));
            let name = index_name(i);
            match (old, new) {
                (Some(o), Some(n)) if o == n => {
                    if before != after {
                        self.charge(name, &n.0, kb(after.map(item_size).unwrap_or(0)), 0.0);
                    }
                }
                (o, n) => {
                    if let Some(o) = o {
                        self.charge(name, &o.0, kb(before.map(item_size).unwrap_or(0)), 0.0);
                    }
                    if let Some(n) = n {
                        self.charge(name, &n.0, kb(after.map(item_size).unwrap_or(0)), 0.0);
                    }
                }
            }
        }
    }

    /// The item as it is now, read past the ledger.
    async fn before(&self, key: &Key) -> Option<Item> {
        self.inner.get(key).await.ok().flatten()
    }
}

/// The item a write leaves, given the item before it (`None`: deleted or untouched).
fn after_write(w: &Write, before: Option<&Item>) -> Option<Item> {
    match w {
        Write::Put { item, .. } => Some(item.clone()),
        Write::Update { key, update, .. } => update.apply(key, before).ok(),
        Write::Delete { .. } => None,
        Write::Check { .. } => before.cloned(),
    }
}

#[async_trait::async_trait]
impl Store for HeatStore {
    async fn get(&self, key: &Key) -> Result<Option<Item>, StoreError> {
        let got = self.inner.get(key).await?;
        let size = got.as_ref().map(item_size).unwrap_or(0);
        self.charge("table", &key.pk, 0.0, read_units(size, true));
        Ok(got)
    }

    async fn batch_get(&self, keys: &[Key]) -> Result<Vec<Item>, StoreError> {
        let got = self.inner.batch_get(keys).await?;
        let mut sizes: HashMap<Key, usize> = got
            .iter()
            .filter_map(|i| Some((Key::of(i)?, item_size(i))))
            .collect();
        for k in keys {
            let size = sizes.remove(k).unwrap_or(0);
            self.charge("table", &k.pk, 0.0, read_units(size, true));
        }
        Ok(got)
    }

    async fn query(&self, q: &Query) -> Result<Page, StoreError> {
        let page = self.inner.query(q).await?;
        let size: usize = page.items.iter().map(item_size).sum();
        let consistent = q.index == Index::Table && !q.eventually_consistent;
        self.charge(
            index_name(q.index),
            &q.partition,
            0.0,
            read_units(size, consistent),
        );
        Ok(page)
    }

    async fn put(&self, item: Item, cond: Option<Cond>) -> Result<(), StoreError> {
        let key = Key::of(&item).ok_or_else(|| StoreError::Invalid("put without a key".into()))?;
        let before = self.before(&key).await;
        let after = item.clone();
        let out = self.inner.put(item, cond).await;
        let after = out.is_ok().then_some(after);
        let after = after.as_ref().or(before.as_ref());
        self.charge_write(&key, before.as_ref(), after, 1.0);
        out
    }

    async fn update(&self, key: &Key, u: Update, cond: Option<Cond>) -> Result<Item, StoreError> {
        let before = self.before(key).await;
        let out = self.inner.update(key, u, cond).await;
        let after = out.as_ref().ok().or(before.as_ref());
        self.charge_write(key, before.as_ref(), after, 1.0);
        out
    }

    async fn delete(&self, key: &Key, cond: Option<Cond>) -> Result<Option<Item>, StoreError> {
        let before = self.before(key).await;
        let out = self.inner.delete(key, cond).await;
        let after = if out.is_ok() { None } else { before.clone() };
        self.charge_write(key, before.as_ref(), after.as_ref(), 1.0);
        out
    }

    async fn transact(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        let mut befores = Vec::with_capacity(writes.len());
        for w in &writes {
            let key = w.key()?;
            befores.push((key.clone(), self.before(&key).await));
        }
        let planned: Vec<Option<Item>> = writes
            .iter()
            .zip(&befores)
            .map(|(w, (_, b))| after_write(w, b.as_ref()))
            .collect();
        let out = self.inner.transact(writes).await;
        for ((key, before), after) in befores.iter().zip(&planned) {
            // A cancelled transaction still costs the units of the writes it would have made,
            // but changes no index.
            let after = if out.is_ok() {
                after.as_ref()
            } else {
                before.as_ref()
            };
            self.charge_write(key, before.as_ref(), after, 2.0);
        }
        out
    }
}

/// A `Store` whose transactions fail as DynamoDB's do when two touch one item at once: a
/// transaction is in flight for `latency` (a real one's round trip) before it commits, and one
/// that touches an item of a transaction still in flight is cancelled with a conflict
/// (`TransactionCanceled` with no failed condition), as `TransactionConflict`. Single-item
/// writes are not affected.
pub struct ConflictStore {
    inner: Arc<dyn Store>,
    latency: Duration,
    open: Mutex<HashMap<Key, u64>>,
    next: std::sync::atomic::AtomicU64,
    conflicts: std::sync::atomic::AtomicUsize,
}

impl ConflictStore {
    pub fn new(inner: Arc<dyn Store>, latency: Duration) -> Arc<ConflictStore> {
        Arc::new(ConflictStore {
            inner,
            latency,
            open: Mutex::new(HashMap::new()),
            next: std::sync::atomic::AtomicU64::new(0),
            conflicts: std::sync::atomic::AtomicUsize::new(0),
        })
    }

    /// How many transactions were cancelled by a conflict so far.
    pub fn conflicts(&self) -> usize {
        self.conflicts.load(std::sync::atomic::Ordering::SeqCst)
    }

    fn open(&self) -> std::sync::MutexGuard<'_, HashMap<Key, u64>> {
        self.open.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[async_trait::async_trait]
impl Store for ConflictStore {
    async fn get(&self, key: &Key) -> Result<Option<Item>, StoreError> {
        self.inner.get(key).await
    }
    async fn batch_get(&self, keys: &[Key]) -> Result<Vec<Item>, StoreError> {
        self.inner.batch_get(keys).await
    }
    async fn query(&self, q: &Query) -> Result<Page, StoreError> {
        self.inner.query(q).await
    }
    async fn put(&self, item: Item, cond: Option<Cond>) -> Result<(), StoreError> {
        self.inner.put(item, cond).await
    }
    async fn update(&self, key: &Key, u: Update, cond: Option<Cond>) -> Result<Item, StoreError> {
        self.inner.update(key, u, cond).await
    }
    async fn delete(&self, key: &Key, cond: Option<Cond>) -> Result<Option<Item>, StoreError> {
        self.inner.delete(key, cond).await
    }
    async fn transact(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        let keys: Vec<Key> = writes.iter().filter_map(|w| w.key().ok()).collect();
        let me = self.next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        {
            let mut open = self.open();
            if keys.iter().any(|k| open.contains_key(k)) {
                self.conflicts
                    .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                return Err(StoreError::TransactionCanceled { failed: Vec::new() });
            }
            for k in &keys {
                open.insert(k.clone(), me);
            }
        }
        tokio::time::sleep(self.latency).await;
        let out = self.inner.transact(writes).await;
        self.open().retain(|_, holder| *holder != me);
        out
    }
}

/// The partitions (index and key) each tenant's requests touched, from a ledger.
pub fn touched_by(heat: &HashMap<Partition, Heat>, tenant: u64) -> BTreeSet<Partition> {
    heat.iter()
        .filter(|(_, h)| h.tenants.contains(&tenant))
        .map(|(p, _)| p.clone())
        .collect()
}

/// A ledger's partitions, hottest first by write units then read units, per index.
pub fn hottest(heat: &HashMap<Partition, Heat>, index: &str, n: usize) -> Vec<(Partition, Heat)> {
    let mut v: Vec<(Partition, Heat)> = heat
        .iter()
        .filter(|(p, _)| p.index == index)
        .map(|(p, h)| (p.clone(), h.clone()))
        .collect();
    v.sort_by(|a, b| {
        let key = |h: &Heat| h.units().0.max(h.units().1 / 3.0);
        key(&b.1)
            .partial_cmp(&key(&a.1))
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    v.truncate(n);
    v
}

/// Sums a ledger per index, as sampled: (write units, read units).
pub fn totals(heat: &HashMap<Partition, Heat>) -> BTreeMap<&'static str, (f64, f64)> {
    let mut t: BTreeMap<&'static str, (f64, f64)> = BTreeMap::new();
    for (p, h) in heat {
        let e = t.entry(p.index).or_default();
        e.0 += h.sampled.0;
        e.1 += h.sampled.1;
    }
    t
}
