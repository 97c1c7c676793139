//! The open database, held in a slot so that the writer can put a fresh one
//! in after a storage failure without a restart.
//!
//! After a failed commit (a full disk, an I/O error) redb refuses every
//! later operation on that handle. The writer then marks the store
//! unavailable, takes the handle out of the slot, closes it once the last
//! reader has let go, and reopens the file: redb's integrity check on open
//! repairs what the failed commit left, the schema is verified and a probe
//! commit proves that writes go through again. Until then readers and
//! committers get [`StoreError::Unavailable`], naming the file and the cause.

use std::fs::{File, OpenOptions};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use redb::{Builder, Database};
use serde::Serialize;

use super::error::StoreError;
use super::faults::{Backend, SharedMemory, StorageFaults};
use super::schema::{self, Migration};
use super::tables::{Tbl, meta};

/// How long a reopen waits for readers to drop the failed handle.
const RELEASE_WAIT: Duration = Duration::from_secs(2);

/// Whether the store takes writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StoreState {
    /// Open; commits go through.
    Ready,
    /// A commit failed; the writer is reopening the file with backoff.
    Recovering,
}

/// What `/status` and `/readyz` say of the store.
#[derive(Debug, Clone, Serialize)]
pub struct StoreHealth {
    /// Ready or recovering.
    pub state: StoreState,
    /// The redb file.
    pub file: PathBuf,
    /// The last storage failure (kept after recovery), if any.
    pub last_error: Option<String>,
    /// When the last failure happened (ms since the epoch).
    pub last_error_at_ms: Option<i64>,
    /// How many times the store recovered by itself since start.
    pub recoveries: u64,
}

/// Where the bytes live.
enum Source {
    File(PathBuf),
    Memory(SharedMemory),
}

pub(super) struct Slot {
    pub(super) path: PathBuf,
    source: Source,
    cache_bytes: usize,
    faults: Option<Arc<StorageFaults>>,
    db: RwLock<Option<Arc<Database>>>,
    /// Whether commits go through: read on every read and commit, so kept
    /// apart from the rest of the health.
    ready: AtomicBool,
    health: Mutex<StoreHealth>,
}

impl Slot {
    /// Opens a file (checked on open) into a new slot.
    pub(super) fn open_file(
        path: &Path,
        cache_bytes: usize,
        faults: Option<Arc<StorageFaults>>,
    ) -> Result<Slot, StoreError> {
        let slot = Slot::new(path.to_path_buf(), Source::File(path.to_path_buf()), cache_bytes, faults);
        let db = slot.open_db()?;
        *slot.write_guard() = Some(Arc::new(db));
        Ok(slot)
    }

    /// A new in-memory database in a new slot.
    pub(super) fn open_memory(cache_bytes: usize, faults: Option<Arc<StorageFaults>>) -> Result<Slot, StoreError> {
        let memory = SharedMemory(Arc::new(redb::backends::InMemoryBackend::new()));
        let slot = Slot::new(PathBuf::from(":memory:"), Source::Memory(memory), cache_bytes, faults);
        let db = slot.open_db()?;
        *slot.write_guard() = Some(Arc::new(db));
        Ok(slot)
    }

    fn new(path: PathBuf, source: Source, cache_bytes: usize, faults: Option<Arc<StorageFaults>>) -> Slot {
        let health = StoreHealth {
            state: StoreState::Ready,
            file: path.clone(),
            last_error: None,
            last_error_at_ms: None,
            recoveries: 0,
        };
        Slot {
            path,
            source,
            cache_bytes,
            faults,
            db: RwLock::new(None),
            ready: AtomicBool::new(true),
            health: Mutex::new(health),
        }
    }

    fn write_guard(&self) -> std::sync::RwLockWriteGuard<'_, Option<Arc<Database>>> {
        self.db.write().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Opens the database with redb's integrity check; a panic inside redb
    /// (a file damaged outside it) is caught and reported as damage.
    fn open_db(&self) -> Result<Database, StoreError> {
        let inner: Box<dyn redb::StorageBackend> = match &self.source {
            Source::File(path) => Box::new(file_backend(path)?),
            Source::Memory(memory) => Box::new(memory.clone()),
        };
        let backend = Backend { inner, faults: self.faults.clone() };
        let mut builder = Builder::new();
        builder.set_cache_size(self.cache_bytes).set_check_integrity_on_open(true);
        match catch_unwind(AssertUnwindSafe(|| builder.create_with_backend(backend))) {
            Ok(Ok(db)) => Ok(db),
            Ok(Err(e)) => Err(StoreError::from_open(&self.path, e)),
            Err(panic) => Err(StoreError::Damaged { path: self.path.clone(), cause: panic_text(&panic) }),
        }
    }

    /// The open database, or why there is none.
    pub(super) fn db(&self) -> Result<Arc<Database>, StoreError> {
        let guard = self.db.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        match guard.as_ref() {
            Some(db) if self.state() == StoreState::Ready => Ok(db.clone()),
            _ => Err(self.unavailable()),
        }
    }

    pub(super) fn state(&self) -> StoreState {
        if self.ready.load(Ordering::SeqCst) { StoreState::Ready } else { StoreState::Recovering }
    }

    pub(super) fn health(&self) -> StoreHealth {
        self.health.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    /// The error callers get while the store recovers.
    pub(super) fn unavailable(&self) -> StoreError {
        let cause = self.health().last_error.unwrap_or_else(|| "the store is reopening".to_string());
        StoreError::Unavailable { path: self.path.clone(), cause }
    }

    /// Records a storage failure and stops taking work until a reopen.
    pub(super) fn fail(&self, cause: String, now_ms: i64) {
        self.ready.store(false, Ordering::SeqCst);
        let mut health = self.health.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        health.state = StoreState::Recovering;
        health.last_error = Some(cause);
        health.last_error_at_ms = Some(now_ms);
    }

    /// Records a failed reopen attempt (the store stays unavailable).
    pub(super) fn still_failing(&self, cause: String) {
        let mut health = self.health.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        health.last_error = Some(cause);
    }

    /// Closes the failed handle, opens the file again, verifies it and
    /// proves with a probe commit that writes go through; only then marks
    /// the store ready.
    pub(super) fn reopen(&self, current: u32, migrations: &[Migration], now_ms: i64) -> Result<(), StoreError> {
        self.close_current()?;
        let db = self.open_db()?;
        schema::prepare(&db, &self.path, current, migrations)?;
        probe_commit(&db, &self.path, now_ms)?;
        *self.write_guard() = Some(Arc::new(db));
        let mut health = self.health.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        health.state = StoreState::Ready;
        health.recoveries += 1;
        self.ready.store(true, Ordering::SeqCst);
        Ok(())
    }

    /// Takes the handle out and closes it once readers are done with it.
    /// Two handles on one file in one process would not lock each other out,
    /// so a handle still in use goes back and the reopen waits.
    fn close_current(&self) -> Result<(), StoreError> {
        let Some(mut db) = self.write_guard().take() else { return Ok(()) };
        let started = Instant::now();
        loop {
            match Arc::try_unwrap(db) {
                Ok(db) => {
                    // The failed handle's close error is the failure already reported.
                    let _ = db.close();
                    return Ok(());
                }
                Err(shared) if started.elapsed() < RELEASE_WAIT => {
                    db = shared;
                    std::thread::sleep(Duration::from_millis(5));
                }
                Err(shared) => {
                    *self.write_guard() = Some(shared);
                    return Err(StoreError::Unavailable {
                        path: self.path.clone(),
                        cause: "the failed database handle is still in use by a reader".to_string(),
                    });
                }
            }
        }
    }
}

fn file_backend(path: &Path) -> Result<redb::backends::FileBackend, StoreError> {
    let file: File = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(|e| StoreError::db(path, "open database", redb::StorageError::from(e)))?;
    redb::backends::FileBackend::new(file).map_err(|e| StoreError::from_open(path, e))
}

/// A durable write of the time of the probe: fails while the disk is full.
fn probe_commit(db: &Database, path: &Path, now_ms: i64) -> Result<(), StoreError> {
    let action = "probe commit";
    let txn = db.begin_write().map_err(|e| StoreError::db(path, action, e))?;
    {
        let mut table = txn.open_table(Tbl::Meta.def()).map_err(|e| StoreError::db(path, action, e))?;
        table.insert(meta::PROBE, now_ms.to_be_bytes().as_slice()).map_err(|e| StoreError::db(path, action, e))?;
    }
    txn.commit().map_err(|e| StoreError::db(path, action, e))
}

pub(super) fn panic_text(panic: &Box<dyn std::any::Any + Send>) -> String {
    let what = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("no message");
    format!("redb panicked while reading the file: {what}")
}
