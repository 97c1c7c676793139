//! Storage faults injected under redb, for tests: the store's file (or
//! memory) is reached through [`Backend`], which fails writes and syncs with
//! the errors a full or failing disk gives (ENOSPC, EIO) while a fault is
//! armed. redb sees exactly what it would see from the kernel, so the
//! store's recovery is exercised as in production.

use std::fmt;
use std::io;
use std::ops::Bound;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use redb::{BackendError, StorageBackend};

/// Faults to inject, shared between a test and the store
/// ([`super::StoreOptions::faults`]). Nothing is injected by default.
#[derive(Debug, Default)]
pub struct StorageFaults {
    /// While set, every write, resize and sync fails with ENOSPC.
    disk_full: AtomicBool,
    /// The next this many writes fail with ENOSPC (a commit stops at its
    /// first failed write, so this is the number of commits that fail).
    fail_writes: AtomicU32,
    /// The next this many syncs fail with EIO.
    fail_syncs_eio: AtomicU32,
}

impl StorageFaults {
    /// A shareable set of faults, none armed.
    pub fn new() -> Arc<StorageFaults> {
        Arc::new(StorageFaults::default())
    }

    /// Makes the disk look full (`true`) or freed (`false`).
    pub fn set_disk_full(&self, full: bool) {
        self.disk_full.store(full, Ordering::SeqCst);
    }

    /// Makes the next `n` commits fail with ENOSPC when they write, before
    /// anything of them reaches the file.
    pub fn fail_next_commits(&self, n: u32) {
        self.fail_writes.store(n, Ordering::SeqCst);
    }

    /// Makes the next `n` commits fail with EIO when they sync, after their
    /// pages were written: as with a real fsync error, such a commit may or
    /// may not be found in the file after the reopen.
    pub fn fail_next_commits_eio(&self, n: u32) {
        self.fail_syncs_eio.store(n, Ordering::SeqCst);
    }

    fn check_write(&self) -> io::Result<()> {
        if self.disk_full.load(Ordering::SeqCst) || take_one(&self.fail_writes) { Err(enospc()) } else { Ok(()) }
    }

    fn check_sync(&self) -> io::Result<()> {
        if self.disk_full.load(Ordering::SeqCst) {
            return Err(enospc());
        }
        if take_one(&self.fail_syncs_eio) {
            return Err(io::Error::from_raw_os_error(libc_eio()));
        }
        Ok(())
    }
}

fn take_one(counter: &AtomicU32) -> bool {
    counter.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok()
}

fn enospc() -> io::Error {
    io::Error::from(io::ErrorKind::StorageFull)
}

/// EIO's number on Linux (and every Unix jirafed runs on).
const fn libc_eio() -> i32 {
    5
}

/// The storage under redb: a file or memory, behind optional faults.
pub(super) struct Backend {
    pub(super) inner: Box<dyn StorageBackend>,
    pub(super) faults: Option<Arc<StorageFaults>>,
}

impl fmt::Debug for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Backend").field("inner", &self.inner).field("faults", &self.faults.is_some()).finish()
    }
}

impl Backend {
    fn write_fault(&self) -> io::Result<()> {
        self.faults.as_ref().map_or(Ok(()), |f| f.check_write())
    }
}

impl StorageBackend for Backend {
    fn len(&self) -> Result<u64, io::Error> {
        self.inner.len()
    }

    fn read(&self, offset: u64, out: &mut [u8]) -> Result<(), io::Error> {
        self.inner.read(offset, out)
    }

    fn set_len(&self, len: u64) -> Result<(), io::Error> {
        // Shrinking frees space; only growing needs it.
        if len > self.inner.len()? {
            self.write_fault()?;
        }
        self.inner.set_len(len)
    }

    fn sync_data(&self) -> Result<(), io::Error> {
        if let Some(faults) = &self.faults {
            faults.check_sync()?;
        }
        self.inner.sync_data()
    }

    fn write(&self, offset: u64, data: &[u8]) -> Result<(), io::Error> {
        self.write_fault()?;
        self.inner.write(offset, data)
    }

    fn close(&self) -> Result<(), io::Error> {
        self.inner.close()
    }

    fn try_lock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<bool, BackendError> {
        self.inner.try_lock_range(start, end)
    }

    fn try_lock_shared_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<bool, BackendError> {
        self.inner.try_lock_shared_range(start, end)
    }

    fn lock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<(), BackendError> {
        self.inner.lock_range(start, end)
    }

    fn lock_shared_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<(), BackendError> {
        self.inner.lock_shared_range(start, end)
    }

    fn unlock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<(), BackendError> {
        self.inner.unlock_range(start, end)
    }

    fn query_lock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<bool, BackendError> {
        self.inner.query_lock_range(start, end)
    }
}

/// Memory shared across reopens, so an in-memory store can recover too.
#[derive(Debug, Clone)]
pub(super) struct SharedMemory(pub(super) Arc<redb::backends::InMemoryBackend>);

impl StorageBackend for SharedMemory {
    fn len(&self) -> Result<u64, io::Error> {
        self.0.len()
    }

    fn read(&self, offset: u64, out: &mut [u8]) -> Result<(), io::Error> {
        self.0.read(offset, out)
    }

    fn set_len(&self, len: u64) -> Result<(), io::Error> {
        self.0.set_len(len)
    }

    fn sync_data(&self) -> Result<(), io::Error> {
        self.0.sync_data()
    }

    fn write(&self, offset: u64, data: &[u8]) -> Result<(), io::Error> {
        self.0.write(offset, data)
    }
}
