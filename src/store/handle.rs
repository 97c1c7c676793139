//! The `Store` handle: opening, commits and shutdown.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Sender};
use std::thread::JoinHandle;
use std::time::Duration;

use redb::Database;
use tokio::sync::oneshot;

use super::error::StoreError;
use super::faults::StorageFaults;
use super::model::{Op, OpResult};
use super::schema::{self, Migration};
use super::slot::{Slot, StoreHealth, StoreState};
use super::writer::{self, Reply, Request, WriterConfig};

/// The name of the redb file inside the state directory.
pub const DB_FILE_NAME: &str = "jirafed.redb";

/// Appended to the redb file's name to name the marker file beside it,
/// which records that a store was created in this directory (so a file
/// that later goes missing or empty is refused, not silently recreated).
pub const MARKER_SUFFIX: &str = ".created";

/// The marker file of a redb file: `<file>.created`.
pub fn marker_path(db_file: &Path) -> PathBuf {
    let mut name = db_file.as_os_str().to_owned();
    name.push(MARKER_SUFFIX);
    PathBuf::from(name)
}

/// The store's clock: milliseconds since the Unix epoch. Injected so tests can
/// control time.
pub use crate::clock::Clock;

/// Tunables of [`Store::open_with`]. [`Default`] is what [`Store::open`] uses.
#[derive(Clone)]
pub struct StoreOptions {
    /// Stamps inbox entries and delivery ids; the system clock by default.
    pub clock: Clock,
    /// How many audit entries are kept; older ones are pruned on append.
    pub audit_limit: u64,
    /// How old an audit entry may grow; older ones are pruned on append.
    /// None: kept until `audit_limit` pushes them out.
    pub audit_max_age: Option<Duration>,
    /// How many commit requests one group commit takes at most.
    pub batch_limit: usize,
    /// redb's page cache, in bytes; bounds the store's memory.
    pub cache_bytes: usize,
    /// Create the file anew even though its marker says a store existed
    /// here (`jirafed run --init`); without it a missing or empty file is
    /// refused. A damaged file is refused either way.
    pub init: bool,
    /// Storage faults to inject (tests only; `None` in production).
    pub faults: Option<Arc<StorageFaults>>,
}

/// Audit entries kept by default (a few hundred bytes each).
pub const DEFAULT_AUDIT_LIMIT: u64 = 50_000;
/// Requests per group commit by default.
pub const DEFAULT_BATCH_LIMIT: usize = 1_000;
/// redb's cache by default (redb's own is 1 GiB). Small on purpose: the
/// daemon's store traffic is bounded by Jira's rate limits, a page not
/// cached is read from the kernel's page cache, and the daemon's memory
/// stays flat with the number of pairs (docs/benchmarks.md, "Memory").
pub const DEFAULT_CACHE_BYTES: usize = 2 * 1024 * 1024;

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            clock: Clock::system(),
            audit_limit: DEFAULT_AUDIT_LIMIT,
            audit_max_age: None,
            batch_limit: DEFAULT_BATCH_LIMIT,
            cache_bytes: DEFAULT_CACHE_BYTES,
            init: false,
            faults: None,
        }
    }
}

impl fmt::Debug for StoreOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoreOptions")
            .field("audit_limit", &self.audit_limit)
            .field("audit_max_age", &self.audit_max_age)
            .field("batch_limit", &self.batch_limit)
            .field("cache_bytes", &self.cache_bytes)
            .field("init", &self.init)
            .field("faults", &self.faults.is_some())
            .finish_non_exhaustive()
    }
}

/// The durable store: one redb file, one writer thread, any number of
/// concurrent readers. Cheap to clone (`Clone + Send + Sync`).
///
/// Dropping the last clone closes the request queue, waits for the writer to
/// finish the requests already queued and closes the file. Correctness never
/// depends on that: whatever [`Store::commit`] acknowledged is already durable,
/// so a killed process loses nothing it acknowledged.
#[derive(Clone)]
pub struct Store {
    pub(super) inner: Arc<Inner>,
}

pub(super) struct Inner {
    pub(super) path: PathBuf,
    pub(super) slot: Arc<Slot>,
    requests: Option<Sender<Request>>,
    writer: Option<JoinHandle<()>>,
    commits: Arc<AtomicU64>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        // Closing the channel lets the writer drain what is queued and exit;
        // joining it means the file is closed when the last Store is gone.
        self.requests.take();
        if let Some(writer) = self.writer.take() {
            let _ = writer.join();
        }
    }
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store").field("path", &self.inner.path).finish_non_exhaustive()
    }
}

impl Store {
    /// Opens (creating the directory and the file when needed)
    /// `state_dir/jirafed.redb` with default options, migrating an older schema
    /// and refusing a newer one. The file is opened with redb's integrity
    /// check (a panic inside redb is caught): a damaged file is
    /// [`StoreError::Damaged`]; a missing or empty one while its marker
    /// (`jirafed.redb.created`, written at the first open) exists is
    /// [`StoreError::Missing`] unless [`StoreOptions::init`].
    pub fn open(state_dir: &Path) -> Result<Store, StoreError> {
        Store::open_with(state_dir, StoreOptions::default())
    }

    /// [`Store::open`] with explicit options.
    pub fn open_with(state_dir: &Path, options: StoreOptions) -> Result<Store, StoreError> {
        Store::open_versioned(state_dir, options, schema::CURRENT_VERSION, schema::MIGRATIONS)
    }

    /// Opens at a given schema version with a given migration list (tests
    /// exercise the migration framework through it).
    pub(super) fn open_versioned(
        state_dir: &Path,
        options: StoreOptions,
        current: u32,
        migrations: &[Migration],
    ) -> Result<Store, StoreError> {
        std::fs::create_dir_all(state_dir)
            .map_err(|source| StoreError::CreateDir { path: state_dir.to_path_buf(), source })?;
        let path = state_dir.join(DB_FILE_NAME);
        let marker = marker_path(&path);
        refuse_lost_file(&path, &marker, options.init)?;
        let slot = Slot::open_file(&path, options.cache_bytes, options.faults.clone())?;
        let store = Store::start(slot, options, current, migrations)?;
        if !marker.exists() {
            write_marker(&marker, &path)?;
        }
        Ok(store)
    }

    /// A store held in memory only, gone when the last handle is dropped:
    /// for tests of the engine that need no file (the same tables, rules,
    /// group commits and recovery as on disk).
    pub fn open_in_memory(options: StoreOptions) -> Result<Store, StoreError> {
        let slot = Slot::open_memory(options.cache_bytes, options.faults.clone())?;
        Store::start(slot, options, schema::CURRENT_VERSION, schema::MIGRATIONS)
    }

    fn start(slot: Slot, options: StoreOptions, current: u32, migrations: &[Migration]) -> Result<Store, StoreError> {
        let path = slot.path.clone();
        schema::prepare(&*slot.db()?, &path, current, migrations)?;
        let slot = Arc::new(slot);
        let commits = Arc::new(AtomicU64::new(0));
        let (requests, receiver) = mpsc::channel();
        let config = WriterConfig {
            path: path.clone(),
            clock: options.clock,
            audit_limit: options.audit_limit,
            audit_max_age_ms: options.audit_max_age.map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX)),
            batch_limit: options.batch_limit,
            commits: commits.clone(),
            schema_version: current,
        };
        let writer = writer::spawn(slot.clone(), config, receiver)
            .map_err(|source| StoreError::WriterStart { path: path.clone(), source })?;
        Ok(Store { inner: Arc::new(Inner { path, slot, requests: Some(requests), writer: Some(writer), commits }) })
    }

    /// The open database, or [`StoreError::Unavailable`] while the store
    /// recovers from a storage failure.
    pub(super) fn db(&self) -> Result<Arc<Database>, StoreError> {
        self.inner.slot.db()
    }

    /// Whether the store takes work, the file, and the last storage failure.
    pub fn health(&self) -> StoreHealth {
        self.inner.slot.health()
    }

    /// Whether commits go through now (false while the store recovers from
    /// a storage failure).
    pub fn is_available(&self) -> bool {
        self.inner.slot.state() == StoreState::Ready
    }

    /// A round trip through the writer thread: an empty request that the
    /// writer answers at once, with [`StoreError::Unavailable`] while it
    /// recovers, or [`StoreError::WriterGone`] if it stopped. Costs no fsync.
    pub async fn probe(&self) -> Result<(), StoreError> {
        self.commit(Vec::new()).await.map(|_| ())
    }

    /// The redb file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// How many write transactions the writer has committed since open; with
    /// concurrent callers it grows slower than the number of commit calls.
    pub fn commit_count(&self) -> u64 {
        self.inner.commits.load(Ordering::Relaxed)
    }

    fn send(&self, ops: Vec<Op>, reply: Reply) -> Result<(), StoreError> {
        let gone = || StoreError::WriterGone { path: self.inner.path.clone() };
        let requests = self.inner.requests.as_ref().ok_or_else(gone)?;
        requests.send(Request { ops, reply }).map_err(|_| gone())
    }

    /// Applies `ops` all or nothing, in order, in the next group commit, and
    /// returns one result per op once the commit is durable. A rejected op
    /// ([`StoreError::Rejected`]) undoes the whole request and nothing else.
    /// Dropping the future does not withdraw the request.
    pub async fn commit(&self, ops: Vec<Op>) -> Result<Vec<OpResult>, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.send(ops, Reply::Async(reply))?;
        answer.await.map_err(|_| StoreError::WriterGone { path: self.inner.path.clone() })?
    }

    /// [`Store::commit`] for callers outside async code; blocks the thread
    /// until the commit is durable.
    pub fn commit_blocking(&self, ops: Vec<Op>) -> Result<Vec<OpResult>, StoreError> {
        let (reply, answer) = mpsc::sync_channel(1);
        self.send(ops, Reply::Blocking(reply))?;
        answer.recv().map_err(|_| StoreError::WriterGone { path: self.inner.path.clone() })?
    }
}

/// Refuses a missing or empty file where the marker says a store was
/// created before (unless `init`): redb would silently start an empty
/// store and every pairing would be lost.
fn refuse_lost_file(path: &Path, marker: &Path, init: bool) -> Result<(), StoreError> {
    let what = match std::fs::metadata(path) {
        Ok(m) if m.len() > 0 => return Ok(()),
        Ok(_) => "empty (0 bytes)",
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => "missing",
        Err(e) => return Err(StoreError::db(path, "inspect state file", redb::StorageError::from(e))),
    };
    if init || !marker.exists() {
        if init {
            tracing::warn!(file = %path.display(), what, "creating the state file anew (--init)");
        }
        return Ok(());
    }
    Err(StoreError::Missing { path: path.to_path_buf(), marker: marker.to_path_buf(), what })
}

/// Writes the marker durably (file and directory entry).
fn write_marker(marker: &Path, path: &Path) -> Result<(), StoreError> {
    let fail = |e: std::io::Error| StoreError::db(path, "write the store's marker file", redb::StorageError::from(e));
    let text = format!("jirafed created {} here; if it goes missing, restore it from a backup\n", path.display());
    std::fs::write(marker, text).map_err(fail)?;
    std::fs::File::open(marker).and_then(|f| f.sync_all()).map_err(fail)?;
    if let Some(dir) = marker.parent() {
        std::fs::File::open(dir).and_then(|d| d.sync_all()).map_err(fail)?;
    }
    Ok(())
}
