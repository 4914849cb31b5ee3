//! The embedded store for local runs: the whole table in memory (`table`: DynamoDB's
//! semantics), made durable by an append-only journal (`journal`: durability, fault
//! injection, compaction).
//!
//! Concurrency: one writer at a time (an async mutex, so waiting writers park no thread) makes
//! every transaction serialisable; the journal I/O and fsync run on a blocking thread. The data
//! sits behind a separate reader-writer lock that a writer takes only to apply a batch already
//! made durable, in memory, so reads (which stay on the async threads: they are short, in-memory
//! look-ups) never wait for a write's fsync or a compaction's I/O.

mod journal;
mod table;

use super::{
    validate_transaction, Cond, Item, Key, Page, Query, Store, StoreError, Update, Write,
    MAX_BATCH_GET_KEYS,
};
use async_trait::async_trait;
use journal::{
    batch_line, create_private_dir, io, lock_dir, private, replay, Faults, Journal,
    COMPACT_AFTER_LINES,
};
use std::collections::BTreeSet;
use std::fs::OpenOptions;
use std::path::Path;
use std::sync::{Arc, RwLock};
use table::{apply, query_page, read, resolve, write, Change, Data};

pub struct EmbeddedStore {
    data: Arc<RwLock<Data>>,
    /// The journal (none in memory). Its lock is the writer lock: one write at a time.
    journal: Arc<tokio::sync::Mutex<Option<Journal>>>,
}

impl EmbeddedStore {
    /// A store that lives only in memory (tests).
    pub fn in_memory() -> EmbeddedStore {
        EmbeddedStore {
            data: Arc::new(RwLock::new(Data::default())),
            journal: Arc::new(tokio::sync::Mutex::new(None)),
        }
    }

    /// Opens (or creates) the store in `dir`, replaying its journal.
    pub fn open(dir: &Path) -> Result<EmbeddedStore, StoreError> {
        Self::open_with(dir, Faults::default())
    }

    fn open_with(dir: &Path, faults: Faults) -> Result<EmbeddedStore, StoreError> {
        create_private_dir(dir)?;
        let lock = lock_dir(dir)?;
        let path = dir.join("store.journal");
        let mut data = Data::default();
        let mut lines = 0;
        if path.exists() {
            lines = replay(&path, &mut data)?;
        }
        let file = private(OpenOptions::new().create(true).append(true))
            .open(&path)
            .map_err(|e| io(format!("open {}", path.display()), e))?;
        let len = file
            .metadata()
            .map_err(|e| io(format!("stat {}", path.display()), e))?
            .len();
        let mut journal = Journal {
            file,
            path,
            dir: dir.to_path_buf(),
            len,
            lines,
            compact_after: COMPACT_AFTER_LINES,
            retry_compaction_at: 0,
            // The journal may have just been created: its entry is synced before any write.
            dir_unsynced: true,
            broken: None,
            faults,
            _lock: lock,
        };
        let data = RwLock::new(data);
        journal.compact_or_warn(&data);
        Ok(EmbeddedStore {
            data: Arc::new(data),
            journal: Arc::new(tokio::sync::Mutex::new(Some(journal))),
        })
    }

    /// Runs a write: one at a time, on a blocking thread (journal I/O and fsync). `f` decides,
    /// from the data as it is, what the write returns and which changes it commits; no other
    /// write can come in between, and readers see the changes all at once or not at all.
    async fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Data) -> Result<(T, Vec<Change>), StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let mut journal = self.journal.clone().lock_owned().await;
        let data = self.data.clone();
        tokio::task::spawn_blocking(move || {
            let (out, changes) = f(&read(&data))?;
            commit(journal.as_mut(), &data, changes)?;
            Ok(out)
        })
        .await
        .map_err(|e| StoreError::Internal(Box::new(e)))?
    }

    /// Number of items stored (for tests and `admit` status output).
    pub fn len(&self) -> usize {
        read(&self.data).items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Makes a batch durable (when journaled), then visible; then compacts the journal if due.
/// Once the batch line is fsynced the commit has happened: a compaction failure after it is
/// logged and retried later, never reported as a failed write.
fn commit(
    mut journal: Option<&mut Journal>,
    data: &RwLock<Data>,
    changes: Vec<Change>,
) -> Result<(), StoreError> {
    if changes.is_empty() {
        return Ok(());
    }
    if let Some(j) = journal.as_deref_mut() {
        j.append(batch_line(&changes).as_bytes())?;
    }
    let items = {
        let mut d = write(data);
        for c in changes {
            apply(&mut d, c);
        }
        d.items.len()
    };
    if let Some(j) = journal {
        if j.compaction_due(items) {
            j.compact_or_warn(data);
        }
    }
    Ok(())
}

#[async_trait]
impl Store for EmbeddedStore {
    async fn get(&self, key: &Key) -> Result<Option<Item>, StoreError> {
        Ok(read(&self.data).items.get(key).cloned())
    }

    async fn batch_get(&self, keys: &[Key]) -> Result<Vec<Item>, StoreError> {
        if keys.len() > MAX_BATCH_GET_KEYS {
            return Err(StoreError::Invalid(format!(
                "batch get of more than {MAX_BATCH_GET_KEYS} keys"
            )));
        }
        let data = read(&self.data);
        let mut seen = BTreeSet::new();
        Ok(keys
            .iter()
            .filter(|k| seen.insert((*k).clone()))
            .filter_map(|k| data.items.get(k).cloned())
            .collect())
    }

    async fn query(&self, q: &Query) -> Result<Page, StoreError> {
        query_page(&read(&self.data), q)
    }

    async fn put(&self, item: Item, cond: Option<Cond>) -> Result<(), StoreError> {
        self.write(move |d| {
            let change = resolve(d, &Write::Put { item, cond })?;
            Ok(((), change.into_iter().collect()))
        })
        .await
    }

    async fn update(
        &self,
        key: &Key,
        update: Update,
        cond: Option<Cond>,
    ) -> Result<Item, StoreError> {
        if update.is_empty() {
            return Err(StoreError::Invalid("empty update".into()));
        }
        let key = key.clone();
        self.write(move |d| {
            let change = resolve(d, &Write::Update { key, update, cond })?;
            let Some(Change::Put(item)) = change else {
                return Err(StoreError::Invalid("update resolved to no item".into()));
            };
            Ok((item.clone(), vec![Change::Put(item)]))
        })
        .await
    }

    async fn delete(&self, key: &Key, cond: Option<Cond>) -> Result<Option<Item>, StoreError> {
        let key = key.clone();
        self.write(move |d| {
            let old = d.items.get(&key).cloned();
            let change = resolve(
                d,
                &Write::Delete {
                    key: key.clone(),
                    cond,
                },
            )?;
            let changes = match old {
                Some(_) => change.into_iter().collect(),
                None => Vec::new(),
            };
            Ok((old, changes))
        })
        .await
    }

    async fn transact(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        validate_transaction(&writes)?;
        self.write(move |d| {
            let mut changes = Vec::with_capacity(writes.len());
            let mut failed = Vec::new();
            for (i, w) in writes.iter().enumerate() {
                match resolve(d, w) {
                    Ok(c) => changes.extend(c),
                    Err(StoreError::ConditionFailed { .. }) => failed.push(i),
                    Err(e) => return Err(e),
                }
            }
            if !failed.is_empty() {
                return Err(StoreError::TransactionCanceled { failed });
            }
            Ok(((), changes))
        })
        .await
    }
}
