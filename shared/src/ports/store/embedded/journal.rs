//! The embedded store's durability: an append-only journal of committed write batches.
//!
//! Each committed write batch is one JSON line, written and fsynced before it becomes visible.
//! A write that fails part-way is cut back out of the journal (or, if even that fails, the store
//! refuses writes until it is reopened), so a later line is never glued to a partial one; a torn
//! last line (a crash mid-write) is dropped on open. A corrupt line anywhere else stops the open
//! rather than guess. The journal is compacted when it grows to several times the live data:
//! the new journal is written beside the old one, fsynced, and renamed over it, and the handle
//! that wrote it is the one appended to afterwards, so appends never go to an unlinked file. A
//! compaction failure never fails the commit before it (that is already durable); it is logged
//! and retried later. Tests inject a failure at any I/O step (`Faults`).
//!
//! An exclusive file lock keeps two processes off one data directory; the directory and its
//! files are private to their owner.

use super::table::{apply, drop_expired, read, write, Change, Data};
use crate::ports::store::{Key, StoreError};
use serde_json::{json, Value};
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::sync::RwLock;

/// Compaction is considered once the journal holds more lines than this.
pub(super) const COMPACT_AFTER_LINES: usize = 1000;

pub(super) struct Journal {
    /// The journal on disk, open for appending.
    pub(super) file: File,
    pub(super) path: PathBuf,
    pub(super) dir: PathBuf,
    /// The length of the whole, durable lines: where a failed append is cut back to.
    pub(super) len: u64,
    pub(super) lines: usize,
    /// Compaction is considered once the journal holds more lines than this.
    pub(super) compact_after: usize,
    /// After a failed compaction, the next is tried once the journal has this many lines.
    pub(super) retry_compaction_at: usize,
    /// The journal's directory entry (new or renamed) may not be durable yet: no write is
    /// acknowledged until the directory is fsynced.
    pub(super) dir_unsynced: bool,
    /// Why writes are refused until the store is reopened (a failed write could not be cut
    /// back out of the journal).
    pub(super) broken: Option<String>,
    pub(super) faults: Faults,
    pub(super) _lock: File,
}

/// The I/O steps of a commit and of a compaction where a test can inject a failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Step {
    /// The fsync of an appended line.
    Sync,
    /// Cutting a failed append back out of the journal.
    Truncate,
    /// Writing the compacted journal.
    CompactWrite,
    /// The fsync of the compacted journal.
    CompactSync,
    /// Opening the compacted journal (the handle appended to once it is swapped in).
    Reopen,
    /// Renaming the compacted journal over the old one.
    Rename,
    /// The fsync of the data directory (after creating or renaming the journal).
    DirSync,
}

/// Fault injection: in production builds it injects nothing and compiles away.
#[cfg(not(test))]
#[derive(Default)]
pub(super) struct Faults {}

#[cfg(not(test))]
impl Faults {
    #[inline(always)]
    pub(super) fn check(&mut self, _step: Step) -> std::io::Result<()> {
        Ok(())
    }

    /// How many bytes of a `len`-byte append to write before failing (`None`: no failure).
    #[inline(always)]
    pub(super) fn short_write(&mut self, _len: usize) -> Option<usize> {
        None
    }
}

/// Fault injection for tests: steps that fail (a number of times), a write cut short, and an
/// fsync that waits for the test's go-ahead.
#[cfg(test)]
#[derive(Default)]
pub(super) struct Faults {
    pub(super) failing: Vec<(Step, usize)>,
    pub(super) short_write: Option<usize>,
    pub(super) hold_sync: Option<(std::sync::mpsc::Sender<()>, std::sync::mpsc::Receiver<()>)>,
}

#[cfg(test)]
impl Faults {
    pub(super) fn check(&mut self, step: Step) -> std::io::Result<()> {
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

    pub(super) fn short_write(&mut self, len: usize) -> Option<usize> {
        self.short_write.take().map(|n| n.min(len))
    }
}

impl Journal {
    /// Makes one batch line durable, or leaves the journal as it was before.
    pub(super) fn append(&mut self, line: &[u8]) -> Result<(), StoreError> {
        if let Some(why) = &self.broken {
            return Err(StoreError::Internal(why.clone().into()));
        }
        if self.dir_unsynced {
            self.sync_dir()?;
        }
        let written = self
            .write_line(line)
            .and_then(|_| self.faults.check(Step::Sync))
            .and_then(|_| self.file.sync_data());
        match written {
            Ok(()) => {
                self.len += line.len() as u64;
                self.lines += 1;
                Ok(())
            }
            Err(e) => {
                self.roll_back();
                Err(io(format!("append to {}", self.path.display()), e))
            }
        }
    }

    /// Writes one line; a test may cut it short.
    pub(super) fn write_line(&mut self, line: &[u8]) -> std::io::Result<()> {
        if let Some(n) = self.faults.short_write(line.len()) {
            self.file.write_all(line.get(..n).unwrap_or(line))?;
            return Err(std::io::Error::other("injected short write"));
        }
        self.file.write_all(line)
    }

    /// Cuts a failed append (whole or partial, fsynced or not) back out of the journal, so the
    /// next line does not follow it and a write reported failed cannot reappear on restart.
    /// If that fails too, writes are refused until the store is reopened (replay drops a torn
    /// last line).
    pub(super) fn roll_back(&mut self) {
        let cut = self
            .faults
            .check(Step::Truncate)
            .and_then(|_| self.file.set_len(self.len))
            .and_then(|_| self.file.sync_data());
        if let Err(e) = cut {
            let why = format!(
                "journal {} could not be cut back after a failed write ({e}); writes are refused until the store is reopened",
                self.path.display()
            );
            tracing::error!("{why}");
            self.broken = Some(why);
        }
    }

    /// Makes the journal's directory entry durable.
    pub(super) fn sync_dir(&mut self) -> Result<(), StoreError> {
        self.faults
            .check(Step::DirSync)
            .and_then(|_| sync_dir(&self.dir))
            .map_err(|e| io(format!("sync directory {}", self.dir.display()), e))?;
        self.dir_unsynced = false;
        Ok(())
    }

    pub(super) fn compaction_due(&self, items: usize) -> bool {
        self.lines > self.compact_after
            && self.lines > 4 * items
            && self.lines >= self.retry_compaction_at
    }

    /// Compacts the journal. A failure leaves the journal as valid as before: it is logged,
    /// and the next attempt waits until the journal has grown by a tenth of the threshold.
    pub(super) fn compact_or_warn(&mut self, data: &RwLock<Data>) {
        if let Err(e) = compact(self, data, unix_now()) {
            self.retry_compaction_at = self.lines + (self.compact_after / 10).max(1);
            tracing::warn!(
                journal = %self.path.display(),
                error = %e,
                "journal compaction failed; the journal is intact and compaction will be retried"
            );
        }
    }
}

pub(super) fn io(what: String, e: std::io::Error) -> StoreError {
    StoreError::Internal(format!("{what}: {e}").into())
}

#[allow(
    clippy::disallowed_methods,
    reason = "DynamoDB deletes expired items by its own clock, not the caller's; the embedded store does the same"
)]
pub(super) fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Files the store creates are readable by their owner only (they hold password hashes and
/// session tokens).
pub(super) fn private(options: &mut OpenOptions) -> &mut OpenOptions {
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(options, 0o600);
    options
}

/// Creates the data directory (owner only) and makes its entry durable in its parent.
pub(super) fn create_private_dir(dir: &Path) -> Result<(), StoreError> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
        .create(dir)
        .map_err(|e| io(format!("create {}", dir.display()), e))?;
    match dir.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => {
            sync_dir(parent).map_err(|e| io(format!("sync directory {}", parent.display()), e))
        }
        _ => Ok(()),
    }
}

/// Takes the exclusive lock on the data directory.
pub(super) fn lock_dir(dir: &Path) -> Result<File, StoreError> {
    let lock_path = dir.join("store.lock");
    let lock = private(OpenOptions::new().create(true).truncate(false).write(true))
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
    Ok(lock)
}

/// Fsyncs a directory, so the entries created or renamed in it survive a crash. Where the
/// platform cannot fsync a directory there is nothing more to do.
pub(super) fn sync_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        let synced = File::open(dir).and_then(|d| d.sync_all());
        if let Err(e) = synced {
            use std::io::ErrorKind::{InvalidInput, Unsupported};
            if !matches!(e.kind(), InvalidInput | Unsupported) {
                return Err(e);
            }
        }
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// Replays the journal into `data`; the number of batches replayed.
pub(super) fn replay(path: &Path, data: &mut Data) -> Result<usize, StoreError> {
    let file = File::open(path).map_err(|e| io(format!("open {}", path.display()), e))?;
    let mut reader = BufReader::new(file);
    let mut lines = 0;
    let mut good_len: u64 = 0;
    // Bytes, not text: a line torn inside a multi-byte character is still just a torn line.
    let mut buf = Vec::new();
    loop {
        buf.clear();
        let n = reader
            .read_until(b'\n', &mut buf)
            .map_err(|e| io(format!("read {}", path.display()), e))?;
        if n == 0 {
            return Ok(lines);
        }
        let batch = if buf.ends_with(b"\n") {
            parse_batch(&buf)
        } else {
            None
        };
        let Some(changes) = batch else {
            drop_torn_tail(path, &mut reader, good_len, lines)?;
            return Ok(lines);
        };
        for c in changes {
            apply(data, c);
        }
        lines += 1;
        good_len += n as u64;
    }
}

/// A torn or unreadable line can only be the last one written before a crash: if anything
/// follows it (or what follows cannot be read), the journal is corrupt and the open stops
/// rather than guess, leaving the file as it is. Otherwise the line is cut off, durably.
pub(super) fn drop_torn_tail(
    path: &Path,
    reader: &mut impl BufRead,
    good_len: u64,
    lines: usize,
) -> Result<(), StoreError> {
    let mut rest = Vec::new();
    reader
        .read_to_end(&mut rest)
        .map_err(|e| io(format!("read {}", path.display()), e))?;
    if rest.iter().any(|b| !b.is_ascii_whitespace()) {
        return Err(StoreError::Internal(
            format!(
                "journal {} is corrupt at line {}: a damaged line is followed by more data; it needs repair by hand",
                path.display(),
                lines + 1
            )
            .into(),
        ));
    }
    tracing::warn!(journal = %path.display(), "dropping a torn last journal line");
    OpenOptions::new()
        .write(true)
        .open(path)
        .and_then(|f| f.set_len(good_len).and_then(|_| f.sync_all()))
        .map_err(|e| io(format!("truncate {}", path.display()), e))
}

pub(super) fn parse_batch(line: &[u8]) -> Option<Vec<Change>> {
    let v: Value = serde_json::from_slice(line).ok()?;
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

pub(super) fn batch_line(changes: &[Change]) -> String {
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

/// Rewrites the journal as one line per live item, leaving out items whose TTL has passed
/// (DynamoDB deletes those in the background too; readers never rely on it).
///
/// The new journal is written beside the old one and fsynced, then renamed over it; the handle
/// that wrote it becomes the journal's handle only once the rename has succeeded. Until then the
/// old journal (still linked) is the one appended to, so a failure at any step loses nothing
/// and leaves no file behind. After the rename no write is acknowledged until the directory
/// is fsynced (a crash before that may bring back the old journal, which holds every commit).
pub(super) fn compact(j: &mut Journal, data: &RwLock<Data>, now: i64) -> Result<(), StoreError> {
    drop_expired(&mut write(data), now);
    let tmp = j.path.with_extension("journal.tmp");
    let written = write_snapshot(j, &read(data), &tmp);
    let renamed = written.and_then(|new| {
        j.faults
            .check(Step::Rename)
            .and_then(|_| std::fs::rename(&tmp, &j.path))
            .map_err(|e| io(format!("rename {}", tmp.display()), e))?;
        Ok(new)
    });
    let (file, len, lines) = match renamed {
        Ok(new) => new,
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
    };
    j.file = file;
    j.len = len;
    j.lines = lines;
    j.retry_compaction_at = 0;
    j.dir_unsynced = true;
    j.sync_dir()
}

/// Writes and fsyncs a journal of `data` at `tmp`: its handle (open for appending), length and
/// number of lines. A file already at `tmp` (a compaction cut short, or anything planted
/// there) is removed, never written through.
pub(super) fn write_snapshot(
    j: &mut Journal,
    data: &Data,
    tmp: &Path,
) -> Result<(File, u64, usize), StoreError> {
    match std::fs::remove_file(tmp) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            return Err(io(format!("remove {}", tmp.display()), e));
        }
        _ => {}
    }
    let file = j
        .faults
        .check(Step::Reopen)
        .and_then(|_| private(OpenOptions::new().append(true).create_new(true)).open(tmp))
        .map_err(|e| io(format!("create {}", tmp.display()), e))?;
    let mut out = std::io::BufWriter::new(file);
    let mut len = 0;
    for item in data.items.values() {
        let line = batch_line(&[Change::Put(item.clone())]);
        j.faults
            .check(Step::CompactWrite)
            .and_then(|_| out.write_all(line.as_bytes()))
            .map_err(|e| io(format!("write {}", tmp.display()), e))?;
        len += line.len() as u64;
    }
    let file = out
        .into_inner()
        .map_err(|e| io(format!("write {}", tmp.display()), e.into_error()))?;
    j.faults
        .check(Step::CompactSync)
        .and_then(|_| file.sync_all())
        .map_err(|e| io(format!("sync {}", tmp.display()), e))?;
    Ok((file, len, data.items.len()))
}

#[cfg(test)]
mod tests {
    use super::super::EmbeddedStore;
    use super::*;
    use crate::ports::store::{Index, Query, Store, Update, MAX_NESTING};
    use serde_json::json;
    use std::sync::Arc;

    fn item(v: Value) -> crate::ports::store::Item {
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

    // ---- fault-injection helpers ----

    fn faults<R>(s: &EmbeddedStore, f: impl FnOnce(&mut Faults) -> R) -> R {
        let mut journal = s.journal.try_lock().expect("no write in flight");
        f(&mut journal.as_mut().expect("a journaled store").faults)
    }

    fn set_compact_after(s: &EmbeddedStore, lines: usize) {
        let mut journal = s.journal.try_lock().expect("no write in flight");
        let j = journal.as_mut().expect("a journaled store");
        j.compact_after = lines;
        // Any backoff from a failed compaction was measured against the old threshold.
        j.retry_compaction_at = 0;
    }

    fn failing(step: Step, times: usize) -> Faults {
        Faults {
            failing: vec![(step, times)],
            ..Faults::default()
        }
    }

    async fn put(s: &EmbeddedStore, pk: &str, sk: &str) -> Result<(), StoreError> {
        s.put(item(json!({"pk": pk, "sk": sk})), None).await
    }

    async fn has(s: &EmbeddedStore, pk: &str, sk: &str) -> bool {
        s.get(&Key::new(pk, sk)).await.unwrap().is_some()
    }

    fn journal_lines(dir: &Path) -> Vec<String> {
        std::fs::read_to_string(dir.join("store.journal"))
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect()
    }

    // ---- 1: a failed append never leaves a partial line behind ----

    #[tokio::test]
    async fn a_failed_append_is_rolled_back_so_the_next_one_is_not_glued_to_it() {
        let dir = temp_dir("short-write");
        {
            let s = EmbeddedStore::open(&dir).unwrap();
            put(&s, "A", "1").await.unwrap();
            faults(&s, |f| f.short_write = Some(7));
            assert!(
                put(&s, "A", "2").await.is_err(),
                "the cut-short write fails"
            );
            assert!(!has(&s, "A", "2").await);
            put(&s, "A", "3").await.unwrap();
            put(&s, "A", "4").await.unwrap();
            for line in journal_lines(&dir) {
                assert!(
                    parse_batch(line.as_bytes()).is_some(),
                    "a whole batch: {line}"
                );
            }
        }
        let s = EmbeddedStore::open(&dir).expect("the store opens after a failed write");
        assert!(has(&s, "A", "1").await && has(&s, "A", "3").await && has(&s, "A", "4").await);
        assert!(!has(&s, "A", "2").await);
        let _ = std::fs::remove_dir_all(dir);
    }

    #[tokio::test]
    async fn a_write_whose_fsync_failed_does_not_come_back_after_a_restart() {
        let dir = temp_dir("fsync-fails");
        {
            let s = EmbeddedStore::open(&dir).unwrap();
            put(&s, "A", "1").await.unwrap();
            faults(&s, |f| f.failing.push((Step::Sync, 1)));
            assert!(put(&s, "A", "2").await.is_err());
            put(&s, "A", "3").await.unwrap();
        }
        let s = EmbeddedStore::open(&dir).unwrap();
        assert!(has(&s, "A", "1").await && has(&s, "A", "3").await);
        assert!(
            !has(&s, "A", "2").await,
            "a write reported failed stays failed"
        );
        let _ = std::fs::remove_dir_all(dir);
    }

    #[tokio::test]
    async fn when_the_roll_back_fails_too_writes_are_refused_until_reopened() {
        let dir = temp_dir("rollback-fails");
        {
            let s = EmbeddedStore::open(&dir).unwrap();
            put(&s, "A", "1").await.unwrap();
            faults(&s, |f| {
                f.short_write = Some(7);
                f.failing.push((Step::Truncate, 1));
            });
            assert!(put(&s, "A", "2").await.is_err());
            let refused = put(&s, "A", "3").await.unwrap_err();
            assert!(
                refused.to_string().contains("reopen"),
                "a clear error: {refused}"
            );
            assert!(has(&s, "A", "1").await, "reads still work");
        }
        let s = EmbeddedStore::open(&dir).expect("reopening repairs the journal");
        assert!(has(&s, "A", "1").await);
        assert!(!has(&s, "A", "2").await && !has(&s, "A", "3").await);
        put(&s, "A", "4").await.unwrap();
        drop(s);
        let s = EmbeddedStore::open(&dir).unwrap();
        assert!(has(&s, "A", "4").await);
        let _ = std::fs::remove_dir_all(dir);
    }

    // ---- 2: a failed compaction does not fail the durable commit before it ----

    #[tokio::test]
    async fn a_commit_is_a_success_even_when_the_compaction_after_it_fails() {
        let dir = temp_dir("compaction-fails");
        {
            let s = EmbeddedStore::open(&dir).unwrap();
            set_compact_after(&s, 10);
            faults(&s, |f| f.failing.push((Step::CompactWrite, 1)));
            for i in 0..11 {
                s.put(item(json!({"pk": "K", "sk": "same", "v": i})), None)
                    .await
                    .expect("a durable commit is a success");
            }
            assert_eq!(
                s.get(&Key::new("K", "same")).await.unwrap().unwrap()["v"],
                json!(10),
                "and visible"
            );
            assert!(
                !dir.join("store.journal.tmp").exists(),
                "a failed compaction leaves no temporary file (a full disk stays full)"
            );
            assert_eq!(journal_lines(&dir).len(), 11, "not compacted yet");
            for i in 11..15 {
                s.put(item(json!({"pk": "K", "sk": "same", "v": i})), None)
                    .await
                    .unwrap();
            }
            assert!(journal_lines(&dir).len() < 11, "compaction was retried");
        }
        let s = EmbeddedStore::open(&dir).unwrap();
        assert_eq!(
            s.get(&Key::new("K", "same")).await.unwrap().unwrap()["v"],
            json!(14)
        );
        let _ = std::fs::remove_dir_all(dir);
    }

    #[tokio::test]
    async fn the_store_opens_even_when_the_compaction_on_open_fails() {
        let dir = temp_dir("open-compaction-fails");
        put(&EmbeddedStore::open(&dir).unwrap(), "A", "1")
            .await
            .unwrap();
        let s = EmbeddedStore::open_with(&dir, failing(Step::CompactWrite, 1))
            .expect("compaction is an optimisation, not a condition of opening");
        assert!(has(&s, "A", "1").await);
        put(&s, "A", "2").await.unwrap();
        drop(s);
        let s = EmbeddedStore::open(&dir).unwrap();
        assert!(has(&s, "A", "1").await && has(&s, "A", "2").await);
        let _ = std::fs::remove_dir_all(dir);
    }

    // ---- 3: a failed swap never leaves appends going to an unlinked file ----

    /// Overwrites one item until the journal is due for compaction (more than 10 lines and
    /// more than 4 per live item), the last write being the one that triggers it.
    async fn churn(s: &EmbeddedStore, from: i64, to: i64) -> Vec<Result<(), StoreError>> {
        let mut out = Vec::new();
        for i in from..to {
            out.push(
                s.put(item(json!({"pk": "K", "sk": "same", "v": i})), None)
                    .await,
            );
        }
        out
    }

    async fn churned(s: &EmbeddedStore) -> Value {
        s.get(&Key::new("K", "same")).await.unwrap().unwrap()["v"].clone()
    }

    #[tokio::test]
    async fn a_failed_swap_keeps_writing_to_the_journal_on_disk() {
        for step in [Step::CompactSync, Step::Reopen, Step::Rename] {
            let dir = temp_dir("swap-fails");
            {
                let s = EmbeddedStore::open(&dir).unwrap();
                set_compact_after(&s, 10);
                // Every compaction fails at `step` from now on (until the restart).
                faults(&s, |f| f.failing.push((step, usize::MAX)));
                for i in 0..5 {
                    put(&s, "P", &i.to_string()).await.unwrap();
                }
                // 5 + 20 = 25 lines for 6 items: the 20th overwrite triggers a compaction.
                // Its commit is durable whatever the compaction does (item 2).
                let _ = churn(&s, 0, 20).await;
                // 26 lines for 7 items, 27 for 8: not due, so no later compaction rewrites
                // the journal from memory; these two must land in the linked journal.
                put(&s, "B", "after-1").await.unwrap();
                put(&s, "B", "after-2").await.unwrap();
            }
            let s = EmbeddedStore::open(&dir).unwrap();
            assert_eq!(churned(&s).await, json!(19), "{step:?}");
            assert!(
                has(&s, "B", "after-1").await && has(&s, "B", "after-2").await,
                "{step:?}: writes after the failed swap survive a restart"
            );
            let _ = std::fs::remove_dir_all(dir);
        }
    }

    #[tokio::test]
    async fn no_write_is_acknowledged_until_the_journal_is_durably_linked() {
        let dir = temp_dir("dir-sync-fails");
        {
            let s = EmbeddedStore::open_with(&dir, failing(Step::DirSync, usize::MAX)).unwrap();
            assert!(
                put(&s, "A", "1").await.is_err(),
                "the new journal's directory entry may not be on disk yet"
            );
            faults(&s, |f| f.failing.clear());
            put(&s, "A", "2").await.unwrap();
            set_compact_after(&s, 10);
            // 1 + 10 = 11 lines for 2 items: the 10th overwrite triggers a compaction, which
            // renames a new journal into place and cannot fsync the directory. Its commit was
            // durable before, in the old journal.
            faults(&s, |f| f.failing.push((Step::DirSync, 2)));
            assert!(churn(&s, 0, 10).await.iter().all(Result::is_ok));
            assert!(journal_lines(&dir).len() < 10, "compacted");
            assert!(
                put(&s, "D", "1").await.is_err(),
                "refused: directory fsync failed"
            );
            put(&s, "D", "2")
                .await
                .expect("accepted once the directory is synced");
        }
        let s = EmbeddedStore::open(&dir).unwrap();
        assert!(!has(&s, "A", "1").await && has(&s, "A", "2").await);
        assert!(!has(&s, "D", "1").await && has(&s, "D", "2").await);
        assert_eq!(churned(&s).await, json!(9));
        let _ = std::fs::remove_dir_all(dir);
    }

    // ---- 5: reads do not wait for a write's fsync ----

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn reads_do_not_wait_for_a_writes_fsync() {
        use std::sync::mpsc;
        use std::time::Duration;
        let dir = temp_dir("read-during-fsync");
        let s = Arc::new(EmbeddedStore::open(&dir).unwrap());
        put(&s, "A", "1").await.unwrap();
        let (entered_tx, entered) = mpsc::channel();
        let (release, release_rx) = mpsc::channel();
        faults(&s, |f| f.hold_sync = Some((entered_tx, release_rx)));
        let writer = tokio::spawn({
            let s = s.clone();
            async move { put(&s, "A", "2").await }
        });
        entered
            .recv_timeout(Duration::from_secs(10))
            .expect("the write reaches its fsync");
        let (done, reads) = mpsc::channel();
        let reader = std::thread::spawn({
            let s = s.clone();
            move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .build()
                    .unwrap();
                let got = rt.block_on(async {
                    let one = s.get(&Key::new("A", "1")).await.unwrap();
                    let two = s.get(&Key::new("A", "2")).await.unwrap();
                    let page = s.query(&Query::partition(Index::Table, "A")).await.unwrap();
                    (one.is_some(), two.is_some(), page.items.len())
                });
                let _ = done.send(got);
            }
        });
        let got = reads.recv_timeout(Duration::from_secs(3));
        release.send(()).unwrap();
        writer.await.unwrap().unwrap();
        reader.join().unwrap();
        let got = got.expect("reads finished while a write was fsyncing");
        assert_eq!(
            got,
            (true, false, 1),
            "the write in flight is not visible yet"
        );
        assert!(has(&s, "A", "2").await);
        drop(s);
        let _ = std::fs::remove_dir_all(dir);
    }

    // ---- further hardening ----

    #[tokio::test]
    async fn a_torn_line_cut_inside_a_multibyte_character_is_dropped() {
        let dir = temp_dir("torn-utf8");
        {
            let s = EmbeddedStore::open(&dir).unwrap();
            s.put(item(json!({"pk": "A", "sk": "1", "v": "été"})), None)
                .await
                .unwrap();
        }
        let mut torn = br#"{"w":[{"put":{"pk":"A","sk":"2","v":""#.to_vec();
        torn.push("é".as_bytes()[0]);
        let mut f = OpenOptions::new()
            .append(true)
            .open(dir.join("store.journal"))
            .unwrap();
        f.write_all(&torn).unwrap();
        drop(f);
        let s = EmbeddedStore::open(&dir).expect("a torn last line is dropped, whatever its bytes");
        assert_eq!(
            s.get(&Key::new("A", "1")).await.unwrap().unwrap()["v"],
            json!("été")
        );
        assert!(!has(&s, "A", "2").await);
        put(&s, "A", "3").await.unwrap();
        let _ = std::fs::remove_dir_all(dir);
    }

    #[tokio::test]
    async fn a_corrupt_line_before_committed_ones_refuses_to_open_and_truncates_nothing() {
        let dir = temp_dir("corrupt-middle");
        put(&EmbeddedStore::open(&dir).unwrap(), "A", "1")
            .await
            .unwrap();
        let journal = dir.join("store.journal");
        let mut f = OpenOptions::new().append(true).open(&journal).unwrap();
        f.write_all(b"garbage\n").unwrap();
        f.write_all(batch_line(&[Change::Put(item(json!({"pk": "A", "sk": "2"})))]).as_bytes())
            .unwrap();
        f.write_all(b"\xff\xfe\n").unwrap();
        drop(f);
        let before = std::fs::read(&journal).unwrap();
        let opened = EmbeddedStore::open(&dir);
        assert!(
            matches!(&opened, Err(e) if e.to_string().contains("corrupt")),
            "refuses to guess"
        );
        assert_eq!(std::fs::read(&journal).unwrap(), before, "nothing was cut");
        let _ = std::fs::remove_dir_all(dir);
    }

    #[tokio::test]
    async fn items_nested_deeper_than_dynamodb_allows_are_refused() {
        let dir = temp_dir("deep");
        {
            let s = EmbeddedStore::open(&dir).unwrap();
            let mut deep = json!(1);
            for _ in 0..200 {
                deep = json!([deep]);
            }
            let r = s
                .put(item(json!({"pk": "A", "sk": "1", "v": deep.clone()})), None)
                .await;
            assert!(matches!(r, Err(StoreError::Invalid(_))), "{r:?}");
            let r = s
                .update(
                    &Key::new("A", "2"),
                    Update::new().set("v", deep.clone()),
                    None,
                )
                .await;
            assert!(matches!(r, Err(StoreError::Invalid(_))), "{r:?}");
            let mut ok = json!(1);
            for _ in 0..MAX_NESTING {
                ok = json!({ "m": ok });
            }
            s.put(item(json!({"pk": "A", "sk": "3", "v": ok})), None)
                .await
                .expect("nesting up to DynamoDB's limit is fine");
            put(&s, "A", "4").await.unwrap();
        }
        let s = EmbeddedStore::open(&dir).expect("every journal line can be read back");
        assert!(!has(&s, "A", "1").await && !has(&s, "A", "2").await);
        assert!(has(&s, "A", "3").await && has(&s, "A", "4").await);
        let _ = std::fs::remove_dir_all(dir);
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn the_data_files_are_private_to_their_owner() {
        use std::os::unix::fs::PermissionsExt;
        let dir = temp_dir("modes").join("store");
        let s = EmbeddedStore::open(&dir).unwrap();
        put(&s, "A", "1").await.unwrap();
        for path in [
            dir.clone(),
            dir.join("store.journal"),
            dir.join("store.lock"),
        ] {
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "{} has mode {mode:o}", path.display());
        }
        drop(s);
        let _ = std::fs::remove_dir_all(dir.parent().unwrap());
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn compaction_does_not_write_through_a_planted_symlink() {
        let dir = temp_dir("symlink");
        let victim = dir.join("victim");
        std::fs::write(&victim, "precious").unwrap();
        std::os::unix::fs::symlink(&victim, dir.join("store.journal.tmp")).unwrap();
        let s = EmbeddedStore::open(&dir).unwrap();
        put(&s, "A", "1").await.unwrap();
        drop(s);
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
        let s = EmbeddedStore::open(&dir).unwrap();
        assert!(has(&s, "A", "1").await);
        let _ = std::fs::remove_dir_all(dir);
    }
}
