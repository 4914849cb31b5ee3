//! The embedded store for local runs: the whole table in memory (B-trees for the table and
//! each GSI), made durable by an append-only journal. Each committed write batch is one JSON
//! line, written and fsynced before it becomes visible; a torn last line (a crash mid-write) is
//! dropped on open. The journal is compacted when it grows to several times the live data.
//! One writer lock makes every transaction serialisable; an exclusive file lock keeps two
//! processes off one data directory.

use super::{
    evaluate, validate_transaction, Cond, Index, Item, Key, Page, Query, Store, StoreError, Update,
    Write, TTL,
};
use async_trait::async_trait;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write as _};
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

/// DynamoDB's item size limit, applied here too so both adapters refuse the same items.
pub const MAX_ITEM_BYTES: usize = 400 * 1024;

type IndexEntry = (String, String, Key);

#[derive(Default)]
struct State {
    items: BTreeMap<Key, Item>,
    gsi: [BTreeSet<IndexEntry>; 2],
    journal: Option<Journal>,
}

struct Journal {
    file: File,
    path: PathBuf,
    lines: usize,
    /// Compaction is considered once the journal holds more lines than this.
    compact_after: usize,
    faults: Faults,
    _lock: File,
}

/// Compaction is considered once the journal holds more lines than this.
const COMPACT_AFTER_LINES: usize = 1000;

/// The I/O steps of a commit and of a compaction where a test can inject a failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Step {
    /// The fsync of an appended line.
    Sync,
    /// Writing the compacted journal.
    CompactWrite,
    /// The fsync of the compacted journal.
    CompactSync,
    /// Opening the compacted journal for appending.
    Reopen,
    /// Renaming the compacted journal over the old one.
    Rename,
    /// The fsync of the data directory after the rename.
    DirSync,
}

/// Fault injection: in production builds it injects nothing and compiles away.
#[cfg(not(test))]
#[derive(Default)]
struct Faults;

#[cfg(not(test))]
impl Faults {
    #[inline(always)]
    fn check(&mut self, _step: Step) -> std::io::Result<()> {
        Ok(())
    }

    /// How many bytes of a `len`-byte append to write before failing (`None`: no failure).
    #[inline(always)]
    fn short_write(&mut self, _len: usize) -> Option<usize> {
        None
    }
}

/// Fault injection for tests: steps that fail (a number of times), a write cut short, and an
/// fsync that waits for the test's go-ahead.
#[cfg(test)]
#[derive(Default)]
struct Faults {
    failing: Vec<(Step, usize)>,
    short_write: Option<usize>,
    hold_sync: Option<(std::sync::mpsc::Sender<()>, std::sync::mpsc::Receiver<()>)>,
}

#[cfg(test)]
impl Faults {
    fn check(&mut self, step: Step) -> std::io::Result<()> {
        if step == Step::Sync {
            if let Some((entered, release)) = self.hold_sync.take() {
                let _ = entered.send(());
                let _ = release.recv();
            }
        }
        if let Some(f) = self.failing.iter_mut().find(|f| f.0 == step && f.1 > 0) {
            f.1 -= 1;
            return Err(std::io::Error::other(format!("injected {step:?} failure")));
        }
        Ok(())
    }

    fn short_write(&mut self, len: usize) -> Option<usize> {
        self.short_write.take().map(|n| n.min(len))
    }
}

impl Journal {
    /// Writes one line; a test may cut it short.
    fn write_line(&mut self, line: &[u8]) -> std::io::Result<()> {
        if let Some(n) = self.faults.short_write(line.len()) {
            self.file.write_all(&line[..n])?;
            return Err(std::io::Error::other("injected short write"));
        }
        self.file.write_all(line)
    }
}

/// What a committed batch does to the data: the items' final states.
enum Change {
    Put(Item),
    Delete(Key),
}

pub struct EmbeddedStore {
    state: Arc<Mutex<State>>,
}

impl EmbeddedStore {
    /// A store that lives only in memory (tests).
    pub fn in_memory() -> EmbeddedStore {
        EmbeddedStore {
            state: Arc::new(Mutex::new(State::default())),
        }
    }

    /// Opens (or creates) the store in `dir`, replaying its journal.
    pub fn open(dir: &Path) -> Result<EmbeddedStore, StoreError> {
        Self::open_with(dir, Faults::default())
    }

    fn open_with(dir: &Path, faults: Faults) -> Result<EmbeddedStore, StoreError> {
        std::fs::create_dir_all(dir).map_err(|e| io(format!("create {}", dir.display()), e))?;
        let lock_path = dir.join("store.lock");
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| io(format!("open {}", lock_path.display()), e))?;
        if lock.try_lock().is_err() {
            return Err(StoreError::Unavailable(
                format!(
                    "the data directory {} is in use by another admit process (stop `admit serve` first, or point --data-dir elsewhere)",
                    dir.display()
                )
                .into(),
            ));
        }
        let path = dir.join("store.journal");
        let mut state = State::default();
        let mut lines = 0;
        if path.exists() {
            lines = replay(&path, &mut state)?;
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| io(format!("open {}", path.display()), e))?;
        state.journal = Some(Journal {
            file,
            path,
            lines,
            compact_after: COMPACT_AFTER_LINES,
            faults,
            _lock: lock,
        });
        let now = unix_now();
        compact(&mut state, now)?;
        Ok(EmbeddedStore {
            state: Arc::new(Mutex::new(state)),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    /// Runs a write under the writer lock on a blocking thread (journal I/O and fsync).
    async fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut State) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let state = self.state.clone();
        tokio::task::spawn_blocking(move || f(&mut lock(&state)))
            .await
            .map_err(|e| StoreError::Internal(Box::new(e)))?
    }

    /// Number of items stored (for tests and `admit` status output).
    pub fn len(&self) -> usize {
        self.lock().items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn lock(m: &Mutex<State>) -> MutexGuard<'_, State> {
    // A panic while holding the lock cannot leave a half-applied batch (changes are applied
    // after the journal write, in memory, without fallible steps), so poisoning is ignored.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn io(what: String, e: std::io::Error) -> StoreError {
    StoreError::Internal(format!("{what}: {e}").into())
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn replay(path: &Path, state: &mut State) -> Result<usize, StoreError> {
    let file = File::open(path).map_err(|e| io(format!("open {}", path.display()), e))?;
    let mut reader = BufReader::new(file);
    let mut lines = 0;
    let mut good_len: u64 = 0;
    let mut buf = String::new();
    loop {
        buf.clear();
        let n = reader
            .read_line(&mut buf)
            .map_err(|e| io(format!("read {}", path.display()), e))?;
        if n == 0 {
            break;
        }
        let complete = buf.ends_with('\n');
        match (complete, parse_batch(buf.trim_end())) {
            (true, Some(changes)) => {
                for c in changes {
                    apply(state, c);
                }
                lines += 1;
                good_len += n as u64;
            }
            _ => {
                // A torn or unreadable line can only be the last one written before a crash:
                // if anything follows it, the journal is corrupt and we refuse to guess.
                let mut rest = String::new();
                let _ = std::io::Read::read_to_string(&mut reader, &mut rest);
                if !rest.trim().is_empty() {
                    return Err(StoreError::Internal(
                        format!(
                            "journal {} is corrupt at line {}",
                            path.display(),
                            lines + 1
                        )
                        .into(),
                    ));
                }
                tracing::warn!(journal = %path.display(), "dropping a torn last journal line");
                let f = OpenOptions::new()
                    .write(true)
                    .open(path)
                    .map_err(|e| io(format!("open {}", path.display()), e))?;
                f.set_len(good_len)
                    .map_err(|e| io(format!("truncate {}", path.display()), e))?;
                break;
            }
        }
    }
    Ok(lines)
}

fn parse_batch(line: &str) -> Option<Vec<Change>> {
    let v: Value = serde_json::from_str(line).ok()?;
    let mut out = Vec::new();
    for w in v.get("w")?.as_array()? {
        if let Some(item) = w.get("put").and_then(Value::as_object) {
            out.push(Change::Put(item.clone()));
        } else if let Some(k) = w.get("del").and_then(Value::as_object) {
            out.push(Change::Delete(Key::of(k)?));
        } else {
            return None;
        }
    }
    Some(out)
}

fn batch_line(changes: &[Change]) -> String {
    let w: Vec<Value> = changes
        .iter()
        .map(|c| match c {
            Change::Put(item) => json!({ "put": item }),
            Change::Delete(k) => json!({ "del": k.to_item() }),
        })
        .collect();
    let mut line = json!({ "w": w }).to_string();
    line.push('\n');
    line
}

fn index_entry(index: Index, item: &Item, key: &Key) -> Option<IndexEntry> {
    let (p, s) = index.key_names();
    Some((
        item.get(p)?.as_str()?.to_string(),
        item.get(s)?.as_str()?.to_string(),
        key.clone(),
    ))
}

const GSIS: [Index; 2] = [Index::Gsi1, Index::Gsi2];

fn apply(state: &mut State, change: Change) {
    let key = match &change {
        Change::Put(item) => match Key::of(item) {
            Some(k) => k,
            None => return,
        },
        Change::Delete(k) => k.clone(),
    };
    if let Some(old) = state.items.remove(&key) {
        for (i, index) in GSIS.iter().enumerate() {
            if let Some(e) = index_entry(*index, &old, &key) {
                state.gsi[i].remove(&e);
            }
        }
    }
    if let Change::Put(item) = change {
        for (i, index) in GSIS.iter().enumerate() {
            if let Some(e) = index_entry(*index, &item, &key) {
                state.gsi[i].insert(e);
            }
        }
        state.items.insert(key, item);
    }
}

/// Makes a batch durable (when journaled), then visible.
fn commit(state: &mut State, changes: Vec<Change>) -> Result<(), StoreError> {
    if let Some(j) = state.journal.as_mut() {
        let line = batch_line(&changes);
        j.write_line(line.as_bytes())
            .and_then(|_| j.faults.check(Step::Sync))
            .and_then(|_| j.file.sync_data())
            .map_err(|e| io(format!("append to {}", j.path.display()), e))?;
        j.lines += 1;
    }
    for c in changes {
        apply(state, c);
    }
    let due = state
        .journal
        .as_ref()
        .is_some_and(|j| j.lines > j.compact_after && j.lines > 4 * state.items.len());
    if due {
        compact(state, unix_now())?;
    }
    Ok(())
}

/// Rewrites the journal as one line per live item, leaving out items whose TTL has passed
/// (DynamoDB deletes those in the background too; readers never rely on it).
fn compact(state: &mut State, now: i64) -> Result<(), StoreError> {
    let expired: Vec<Key> = state
        .items
        .iter()
        .filter(|(_, item)| {
            item.get(TTL)
                .and_then(Value::as_i64)
                .is_some_and(|t| t < now)
        })
        .map(|(k, _)| k.clone())
        .collect();
    for k in expired {
        apply(state, Change::Delete(k));
    }
    let Some(j) = state.journal.as_mut() else {
        return Ok(());
    };
    let tmp = j.path.with_extension("journal.tmp");
    let mut out = std::io::BufWriter::new(
        File::create(&tmp).map_err(|e| io(format!("create {}", tmp.display()), e))?,
    );
    for item in state.items.values() {
        j.faults
            .check(Step::CompactWrite)
            .and_then(|_| out.write_all(batch_line(&[Change::Put(item.clone())]).as_bytes()))
            .map_err(|e| io(format!("write {}", tmp.display()), e))?;
    }
    let file = out
        .into_inner()
        .map_err(|e| io(format!("write {}", tmp.display()), e.into_error()))?;
    j.faults
        .check(Step::CompactSync)
        .and_then(|_| file.sync_all())
        .map_err(|e| io(format!("sync {}", tmp.display()), e))?;
    j.faults
        .check(Step::Rename)
        .and_then(|_| std::fs::rename(&tmp, &j.path))
        .map_err(|e| io(format!("rename {}", tmp.display()), e))?;
    if let Some(dir) = j.path.parent() {
        if let Ok(d) = File::open(dir) {
            let _ = j.faults.check(Step::DirSync).and_then(|_| d.sync_all());
        }
    }
    j.file = j
        .faults
        .check(Step::Reopen)
        .and_then(|_| OpenOptions::new().append(true).open(&j.path))
        .map_err(|e| io(format!("open {}", j.path.display()), e))?;
    j.lines = state.items.len();
    Ok(())
}

fn check_size(item: &Item) -> Result<(), StoreError> {
    let size = serde_json::to_vec(item)
        .map(|v| v.len())
        .unwrap_or(usize::MAX);
    if size > MAX_ITEM_BYTES {
        return Err(StoreError::Invalid(format!(
            "item is {size} bytes; the limit is {MAX_ITEM_BYTES}"
        )));
    }
    Ok(())
}

fn holds(cond: Option<&Cond>, current: Option<&Item>) -> bool {
    cond.is_none_or(|c| evaluate(c, current))
}

/// The state a write leaves its item in, if its condition holds.
fn resolve(state: &State, w: &Write) -> Result<Option<Change>, StoreError> {
    let key = w.key()?;
    let current = state.items.get(&key);
    if !holds(w.cond(), current) {
        return Err(StoreError::ConditionFailed {
            current: current.cloned(),
        });
    }
    Ok(match w {
        Write::Put { item, .. } => {
            check_size(item)?;
            Some(Change::Put(item.clone()))
        }
        Write::Update { update, .. } => {
            let next = update.apply(&key, current)?;
            check_size(&next)?;
            Some(Change::Put(next))
        }
        Write::Delete { .. } => Some(Change::Delete(key)),
        Write::Check { .. } => None,
    })
}

fn cursor_of(index: Index, item: &Item) -> Item {
    let mut c = Item::new();
    let (p, s) = index.key_names();
    for name in [super::PK, super::SK, p, s] {
        if let Some(v) = item.get(name) {
            c.insert(name.to_string(), v.clone());
        }
    }
    c
}

#[async_trait]
impl Store for EmbeddedStore {
    async fn get(&self, key: &Key) -> Result<Option<Item>, StoreError> {
        Ok(self.lock().items.get(key).cloned())
    }

    async fn batch_get(&self, keys: &[Key]) -> Result<Vec<Item>, StoreError> {
        if keys.len() > 100 {
            return Err(StoreError::Invalid(
                "batch get of more than 100 keys".into(),
            ));
        }
        let st = self.lock();
        let mut seen = BTreeSet::new();
        Ok(keys
            .iter()
            .filter(|k| seen.insert((*k).clone()))
            .filter_map(|k| st.items.get(k).cloned())
            .collect())
    }

    async fn query(&self, q: &Query) -> Result<Page, StoreError> {
        let st = self.lock();
        let p = q.partition.as_str();
        let upper = format!("{p}\u{0}");
        // (sort key, table key) in ascending order, restricted by the sort key condition.
        let mut hits: Vec<(&str, &Key)> = match q.index {
            Index::Table => st
                .items
                .range((
                    Bound::Included(Key::new(p, "")),
                    Bound::Excluded(Key::new(upper, "")),
                ))
                .map(|(k, _)| (k.sk.as_str(), k))
                .filter(|(sk, _)| q.sort.matches(sk))
                .collect(),
            Index::Gsi1 | Index::Gsi2 => {
                let i = usize::from(q.index == Index::Gsi2);
                let lo = (p.to_string(), String::new(), Key::new("", ""));
                let hi = (upper, String::new(), Key::new("", ""));
                st.gsi[i]
                    .range((Bound::Included(lo), Bound::Excluded(hi)))
                    .map(|(_, sk, k)| (sk.as_str(), k))
                    .filter(|(sk, _)| q.sort.matches(sk))
                    .collect()
            }
        };
        if !q.ascending {
            hits.reverse();
        }
        if let Some(cur) = &q.start_after {
            let (_, s) = q.index.key_names();
            let ck = Key::of(cur)
                .ok_or_else(|| StoreError::Invalid("cursor without pk and sk".into()))?;
            let csk = cur.get(s).and_then(Value::as_str).unwrap_or_default();
            let pos = (csk, &ck);
            hits.retain(|h| {
                let ord = (h.0, h.1).cmp(&(pos.0, pos.1));
                if q.ascending {
                    ord.is_gt()
                } else {
                    ord.is_lt()
                }
            });
        }
        let limit = q.limit.unwrap_or(usize::MAX);
        let cut = hits.len() > limit;
        let items: Vec<Item> = hits
            .into_iter()
            .take(limit)
            .filter_map(|(_, k)| st.items.get(k).cloned())
            .collect();
        let next = if cut {
            items.last().map(|i| cursor_of(q.index, i))
        } else {
            None
        };
        Ok(Page { items, next })
    }

    async fn put(&self, item: Item, cond: Option<Cond>) -> Result<(), StoreError> {
        self.write(move |st| {
            let change = resolve(st, &Write::Put { item, cond })?;
            commit(st, change.into_iter().collect())
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
        self.write(move |st| {
            let change = resolve(st, &Write::Update { key, update, cond })?;
            let Some(Change::Put(item)) = change else {
                return Err(StoreError::Invalid("update resolved to no item".into()));
            };
            commit(st, vec![Change::Put(item.clone())])?;
            Ok(item)
        })
        .await
    }

    async fn delete(&self, key: &Key, cond: Option<Cond>) -> Result<Option<Item>, StoreError> {
        let key = key.clone();
        self.write(move |st| {
            let old = st.items.get(&key).cloned();
            let change = resolve(
                st,
                &Write::Delete {
                    key: key.clone(),
                    cond,
                },
            )?;
            if old.is_some() {
                commit(st, change.into_iter().collect())?;
            }
            Ok(old)
        })
        .await
    }

    async fn transact(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        validate_transaction(&writes)?;
        self.write(move |st| {
            let mut changes = Vec::with_capacity(writes.len());
            let mut failed = Vec::new();
            for (i, w) in writes.iter().enumerate() {
                match resolve(st, w) {
                    Ok(c) => changes.extend(c),
                    Err(StoreError::ConditionFailed { .. }) => failed.push(i),
                    Err(e) => return Err(e),
                }
            }
            if !failed.is_empty() {
                return Err(StoreError::TransactionCanceled { failed });
            }
            commit(st, changes)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn item(v: Value) -> Item {
        v.as_object().unwrap().clone()
    }

    fn temp_dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!(
            "admit-embedded-{name}-{}",
            crate::domain::secrets::random_hex_id()
        ));
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[tokio::test]
    async fn survives_a_restart_and_drops_a_torn_last_line() {
        let dir = temp_dir("restart");
        {
            let s = EmbeddedStore::open(&dir).unwrap();
            s.put(item(json!({"pk": "A", "sk": "1", "v": 1})), None)
                .await
                .unwrap();
            s.put(
                item(json!({"pk": "A", "sk": "2", "v": 2, "gsi1pk": "G", "gsi1sk": "x"})),
                None,
            )
            .await
            .unwrap();
            s.delete(&Key::new("A", "1"), None).await.unwrap();
            s.increment(&Key::new("C", "C"), "n", 5).await.unwrap();
        }
        // A crash in the middle of the next append leaves half a line behind.
        let journal = dir.join("store.journal");
        let mut f = OpenOptions::new().append(true).open(&journal).unwrap();
        f.write_all(br#"{"w":[{"put":{"pk":"A","sk":"3""#).unwrap();
        drop(f);

        let s = EmbeddedStore::open(&dir).unwrap();
        assert_eq!(s.get(&Key::new("A", "1")).await.unwrap(), None);
        assert_eq!(s.get(&Key::new("A", "3")).await.unwrap(), None);
        assert_eq!(
            s.get(&Key::new("A", "2")).await.unwrap().unwrap()["v"],
            json!(2)
        );
        let page = s.query(&Query::partition(Index::Gsi1, "G")).await.unwrap();
        assert_eq!(page.items.len(), 1);
        assert_eq!(s.increment(&Key::new("C", "C"), "n", 1).await.unwrap(), 6);
        // And writing after the repair works.
        s.put(item(json!({"pk": "A", "sk": "4"})), None)
            .await
            .unwrap();
        drop(s);
        let s = EmbeddedStore::open(&dir).unwrap();
        assert!(s.get(&Key::new("A", "4")).await.unwrap().is_some());
        let _ = std::fs::remove_dir_all(dir);
    }

    #[tokio::test]
    async fn a_second_process_cannot_open_the_same_directory() {
        let dir = temp_dir("lock");
        let _first = EmbeddedStore::open(&dir).unwrap();
        let second = EmbeddedStore::open(&dir);
        assert!(matches!(second, Err(StoreError::Unavailable(_))));
        let _ = std::fs::remove_dir_all(dir);
    }

    #[tokio::test]
    async fn compaction_keeps_live_items_and_drops_expired_ones() {
        let dir = temp_dir("compact");
        {
            let s = EmbeddedStore::open(&dir).unwrap();
            for i in 0..1500 {
                s.put(item(json!({"pk": "K", "sk": "same", "v": i})), None)
                    .await
                    .unwrap();
            }
            s.put(item(json!({"pk": "E", "sk": "E", "ttl": 1})), None)
                .await
                .unwrap();
        }
        let lines = std::fs::read_to_string(dir.join("store.journal"))
            .unwrap()
            .lines()
            .count();
        assert!(lines < 1000, "journal was compacted: {lines} lines");
        let s = EmbeddedStore::open(&dir).unwrap();
        assert_eq!(
            s.get(&Key::new("K", "same")).await.unwrap().unwrap()["v"],
            json!(1499)
        );
        assert_eq!(s.get(&Key::new("E", "E")).await.unwrap(), None);
        let _ = std::fs::remove_dir_all(dir);
    }
}
