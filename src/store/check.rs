//! Checking a state file and copying a live one.
//!
//! [`check_file`] checks a file offline: it copies the file to a temporary
//! folder (so the check, which may repair, never changes the original), opens
//! the copy with a panic caught, runs redb's integrity check and reads the
//! schema version and the size of every table.
//!
//! [`Store::backup`] copies a live store: every table is read inside one read
//! transaction, which is a snapshot of the last commit (redb is MVCC: the
//! pages it sees are not reused while it lives), and written into a new redb
//! file that is committed durably under a temporary name and renamed into
//! place. The writer is never blocked, and a crash never leaves a half
//! backup under the asked name. A byte copy of the file would not do: a
//! commit landing during the copy would leave a header and pages from
//! different commits.

use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use redb::{Builder, Database, DatabaseError, ReadableDatabase, ReadableTable, ReadableTableMetadata, TableError};
use serde::{Deserialize, Serialize};

use super::error::StoreError;
use super::handle::Store;
use super::schema;
use super::slot::panic_text;
use super::tables::{ALL, Tbl};

/// What a check found.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CheckReport {
    /// The file checked.
    pub file: PathBuf,
    /// Who checked: "offline" (a copy of the file) or "daemon" (the running
    /// daemon, in a read transaction).
    pub by: String,
    /// What the integrity check said.
    pub integrity: String,
    /// The schema version recorded in the file.
    pub schema_version: u32,
    /// The newest schema version this jirafed understands.
    pub supported_version: u32,
    /// Records per kind: links, shadows, inbox, outbox, dead letters,
    /// dependencies, pending links, cursors, audit.
    pub counts: BTreeMap<String, u64>,
}

impl std::fmt::Display for CheckReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "file: {}", self.file.display())?;
        writeln!(f, "checked: {}", self.by)?;
        writeln!(f, "integrity: {}", self.integrity)?;
        writeln!(f, "schema version: {} (this jirafed: {})", self.schema_version, self.supported_version)?;
        for (kind, n) in &self.counts {
            writeln!(f, "{kind}: {n}")?;
        }
        Ok(())
    }
}

/// What a backup wrote.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BackupReport {
    /// The backup file.
    pub file: PathBuf,
    /// Its size.
    pub bytes: u64,
    /// The schema version copied.
    pub schema_version: u32,
    /// Records per kind, as in [`CheckReport::counts`].
    pub counts: BTreeMap<String, u64>,
}

/// The tables reported by name (the index tables are left out).
const COUNTED: [(Tbl, &str); 9] = [
    (Tbl::Links, "links"),
    (Tbl::Shadows, "shadows"),
    (Tbl::Inbox, "inbox"),
    (Tbl::Outbox, "outbox"),
    (Tbl::DeadLetters, "dead_letters"),
    (Tbl::Dependencies, "dependencies"),
    (Tbl::Pending, "pending_links"),
    (Tbl::Cursors, "cursors"),
    (Tbl::Audit, "audit"),
];

/// Why [`check_file`] did not check.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    /// The file is damaged, missing or empty (exit 65).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A running daemon holds the file; ask it instead.
    #[error("{path} is open in a running jirafed; ask it through its admin socket (--socket)")]
    InUse {
        /// The redb file.
        path: PathBuf,
    },
}

/// Checks a state file that no daemon holds, leaving it untouched.
pub fn check_file(path: &Path) -> Result<CheckReport, CheckError> {
    let damaged = |cause: String| StoreError::Damaged { path: path.to_path_buf(), cause };
    match std::fs::metadata(path) {
        Ok(m) if m.len() == 0 => return Err(damaged("the file is empty (0 bytes)".to_string()).into()),
        Ok(_) => {}
        Err(e) => return Err(damaged(format!("cannot read it: {e}")).into()),
    }
    if held_by_another(path) {
        return Err(CheckError::InUse { path: path.to_path_buf() });
    }
    let scratch = Scratch::new().map_err(|e| damaged(format!("cannot make a scratch copy: {e}")))?;
    let copy = scratch.0.join("check.redb");
    std::fs::copy(path, &copy).map_err(|e| damaged(format!("cannot copy it for checking: {e}")))?;
    let mut db = match catch_unwind(AssertUnwindSafe(|| Builder::new().open(&copy))) {
        Ok(Ok(db)) => db,
        Ok(Err(e)) => return Err(StoreError::from_open(path, e).into()),
        Err(panic) => return Err(damaged(panic_text(&panic)).into()),
    };
    let integrity = match catch_unwind(AssertUnwindSafe(|| db.check_integrity())) {
        Ok(Ok(true)) => "clean".to_string(),
        Ok(Ok(false)) => {
            "repairable: redb repairs it on open (an unclean shutdown); nothing committed is lost".to_string()
        }
        Ok(Err(e)) => return Err(StoreError::from_open(path, e).into()),
        Err(panic) => return Err(damaged(panic_text(&panic)).into()),
    };
    let schema_version = schema::read_version(&db, path)?;
    let counts = counts(&db, path)?;
    Ok(CheckReport {
        file: path.to_path_buf(),
        by: "offline (a copy of the file)".to_string(),
        integrity,
        schema_version,
        supported_version: schema::CURRENT_VERSION,
        counts,
    })
}

/// Whether another process has the file open for writing (a running daemon).
fn held_by_another(path: &Path) -> bool {
    let opened = catch_unwind(AssertUnwindSafe(|| Builder::new().open_read_only(path)));
    matches!(opened, Ok(Err(DatabaseError::DatabaseAlreadyOpen)))
}

/// A scratch folder, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> std::io::Result<Scratch> {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos();
        let dir = std::env::temp_dir().join(format!("jirafed-check-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        Ok(Scratch(dir))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn counts(db: &impl ReadableDatabase, path: &Path) -> Result<BTreeMap<String, u64>, StoreError> {
    let action = "count records";
    let txn = db.begin_read().map_err(|e| StoreError::db(path, action, e))?;
    let mut counts = BTreeMap::new();
    for (t, name) in COUNTED {
        let n = match txn.open_table(t.def()) {
            Ok(table) => table.len().map_err(|e| StoreError::db(path, action, e))?,
            Err(TableError::TableDoesNotExist(_)) => 0,
            Err(e) => return Err(StoreError::db(path, action, e)),
        };
        counts.insert(name.to_string(), n);
    }
    Ok(counts)
}

impl Store {
    /// Checks the open store: the schema version, and every record of every
    /// table read in one read transaction (redb verified the file's
    /// checksums when it was opened).
    pub fn check_live(&self) -> Result<CheckReport, StoreError> {
        let path = self.path();
        let db = self.db()?;
        let action = "read every record";
        let txn = db.begin_read().map_err(|e| StoreError::db(path, action, e))?;
        let mut records = 0u64;
        for (_, def) in ALL {
            let table = match txn.open_table(def) {
                Ok(table) => table,
                Err(TableError::TableDoesNotExist(_)) => continue,
                Err(e) => return Err(StoreError::db(path, action, e)),
            };
            for entry in table.iter().map_err(|e| StoreError::db(path, action, e))? {
                entry.map_err(|e| StoreError::db(path, action, e))?;
                records += 1;
            }
        }
        drop(txn);
        Ok(CheckReport {
            file: path.to_path_buf(),
            by: "the running daemon (one read transaction)".to_string(),
            integrity: format!("clean: {records} records read; checksums verified when the daemon opened the file"),
            schema_version: schema::read_version(&db, path)?,
            supported_version: schema::CURRENT_VERSION,
            counts: counts(&*db, path)?,
        })
    }

    /// Writes a consistent copy of the store to `dest` (see the module
    /// documentation for why this is consistent); refuses an existing `dest`
    /// unless `force`, and the store's own file always. Blocking: call it
    /// off the async runtime.
    pub fn backup(&self, dest: &Path, force: bool) -> Result<BackupReport, StoreError> {
        let path = self.path();
        let fail = |cause: String| StoreError::Backup { path: dest.to_path_buf(), cause };
        if same_file(dest, path) {
            return Err(fail("that is the live state file itself".to_string()));
        }
        if dest.exists() && !force {
            return Err(fail("it exists; pass --force to overwrite it".to_string()));
        }
        let name = dest.file_name().ok_or_else(|| fail("not a file name".to_string()))?;
        let dir = dest.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
        let partial = dir.join(format!(".{}.partial-{}", name.to_string_lossy(), std::process::id()));
        let _ = std::fs::remove_file(&partial);
        let result = self.copy_into(&partial).map_err(|e| fail(e.to_string()));
        if let Err(e) = result {
            let _ = std::fs::remove_file(&partial);
            return Err(e);
        }
        std::fs::rename(&partial, dest).map_err(|e| fail(format!("cannot rename the finished copy: {e}")))?;
        std::fs::File::open(dir).and_then(|d| d.sync_all()).map_err(|e| fail(e.to_string()))?;
        let bytes = std::fs::metadata(dest).map(|m| m.len()).unwrap_or(0);
        let db = self.db()?;
        Ok(BackupReport {
            file: dest.to_path_buf(),
            bytes,
            schema_version: schema::read_version(&db, path)?,
            counts: counts(&*db, path)?,
        })
    }

    /// Copies every table, read in one read transaction, into a new file.
    fn copy_into(&self, target: &Path) -> Result<(), redb::Error> {
        let source = self.db().map_err(|e| redb::Error::Corrupted(e.to_string()))?;
        let snapshot = source.begin_read()?;
        drop(source);
        let copy = Database::create(target)?;
        let txn = copy.begin_write()?;
        for (_, def) in ALL {
            let from = match snapshot.open_table(def) {
                Ok(table) => table,
                Err(TableError::TableDoesNotExist(_)) => continue,
                Err(e) => return Err(e.into()),
            };
            let mut to = txn.open_table(def)?;
            for entry in from.iter()? {
                let (k, v) = entry?;
                to.insert(k.value(), v.value())?;
            }
        }
        txn.commit()?;
        drop(snapshot);
        copy.close()?;
        Ok(())
    }
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}
