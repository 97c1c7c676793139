//! The schema version and the migrations between versions.
//!
//! The version lives in the `meta` table. A file without any table is new and
//! is created at [`CURRENT_VERSION`]; a file with tables but no recorded
//! version predates versioning and counts as version 0. Each migration step
//! runs in its own write transaction that also records the version it reaches,
//! so an interrupted upgrade resumes from the last completed step.

use std::path::Path;

use redb::{Database, ReadableDatabase, TableError, WriteTransaction};

use super::error::StoreError;
use super::tables::{ALL, Tbl, meta};

/// The schema version this build reads and writes.
pub const CURRENT_VERSION: u32 = 4;

/// One step from version `from` to `from + 1`.
pub(super) struct Migration {
    /// The version the step starts from.
    pub(super) from: u32,
    /// The change, applied inside the step's transaction; the framework
    /// records the new version in the same transaction.
    pub(super) run: fn(&WriteTransaction) -> Result<(), redb::Error>,
}

/// The registered steps; one per version below [`CURRENT_VERSION`].
pub(super) const MIGRATIONS: &[Migration] = &[
    Migration { from: 0, run: v0_to_v1 },
    Migration { from: 1, run: super::outbox::v1_to_v2 },
    Migration { from: 2, run: super::deps::v2_to_v3 },
    Migration { from: 3, run: super::children::v3_to_v4 },
];

/// Version 0 files were written before the version was recorded and created
/// tables on first use; version 1 has every table from the start.
fn v0_to_v1(txn: &WriteTransaction) -> Result<(), redb::Error> {
    create_tables(txn)?;
    Ok(())
}

/// Creates the tables that do not exist yet.
pub(super) fn create_tables(txn: &WriteTransaction) -> Result<(), TableError> {
    for (_, def) in ALL {
        txn.open_table(def)?;
    }
    Ok(())
}

/// Brings the file to `current` and returns the version it now has.
pub(super) fn prepare(db: &Database, path: &Path, current: u32, migrations: &[Migration]) -> Result<u32, StoreError> {
    let Some(mut version) = recorded_version(db, path)? else {
        initialize(db, path, current)?;
        return Ok(current);
    };
    if version > current {
        return Err(StoreError::SchemaTooNew { path: path.to_path_buf(), found: version, supported: current });
    }
    while version < current {
        let step = migrations
            .iter()
            .find(|m| m.from == version)
            .ok_or(StoreError::MissingMigration { path: path.to_path_buf(), from: version })?;
        run_step(db, path, step)?;
        version += 1;
    }
    ensure_tables(db, path)?;
    Ok(version)
}

/// The recorded version; `None` for a brand-new file.
fn recorded_version(db: &Database, path: &Path) -> Result<Option<u32>, StoreError> {
    let action = "read schema version";
    let txn = db.begin_read().map_err(|e| StoreError::db(path, action, e))?;
    match txn.open_table(Tbl::Meta.def()) {
        Ok(table) => {
            let Some(value) = table.get(meta::SCHEMA_VERSION).map_err(|e| StoreError::db(path, action, e))? else {
                return Ok(Some(0));
            };
            let bytes: [u8; 4] = value.value().try_into().map_err(|_| StoreError::Corrupt {
                path: path.to_path_buf(),
                what: "schema version (not 4 bytes)".to_string(),
            })?;
            Ok(Some(u32::from_be_bytes(bytes)))
        }
        Err(TableError::TableDoesNotExist(_)) => {
            let mut tables = txn.list_tables().map_err(|e| StoreError::db(path, action, e))?;
            Ok(if tables.next().is_some() { Some(0) } else { None })
        }
        Err(e) => Err(StoreError::db(path, action, e)),
    }
}

/// Creates every table of a new file and records `version`.
fn initialize(db: &Database, path: &Path, version: u32) -> Result<(), StoreError> {
    let action = "initialize new database";
    let txn = db.begin_write().map_err(|e| StoreError::db(path, action, e))?;
    create_tables(&txn).map_err(|e| StoreError::db(path, action, e))?;
    write_version(&txn, version).map_err(|e| StoreError::db(path, action, e))?;
    txn.commit().map_err(|e| StoreError::db(path, action, e))
}

fn run_step(db: &Database, path: &Path, step: &Migration) -> Result<(), StoreError> {
    let to = step.from + 1;
    let fail = |message: String| StoreError::Migration { path: path.to_path_buf(), from: step.from, to, message };
    let txn = db.begin_write().map_err(|e| fail(e.to_string()))?;
    (step.run)(&txn).map_err(|e| fail(e.to_string()))?;
    write_version(&txn, to).map_err(|e| fail(e.to_string()))?;
    txn.commit().map_err(|e| fail(e.to_string()))
}

fn write_version(txn: &WriteTransaction, version: u32) -> Result<(), redb::Error> {
    let mut table = txn.open_table(Tbl::Meta.def())?;
    table.insert(meta::SCHEMA_VERSION, version.to_be_bytes().as_slice())?;
    Ok(())
}

/// Creates tables missing from a file at the current version (a table added
/// without a data change needs no migration step of its own).
fn ensure_tables(db: &Database, path: &Path) -> Result<(), StoreError> {
    let action = "create missing tables";
    let txn = db.begin_read().map_err(|e| StoreError::db(path, action, e))?;
    let mut missing = false;
    for (_, def) in ALL {
        match txn.open_table(def) {
            Ok(_) => {}
            Err(TableError::TableDoesNotExist(_)) => missing = true,
            Err(e) => return Err(StoreError::db(path, action, e)),
        }
    }
    drop(txn);
    if missing {
        let txn = db.begin_write().map_err(|e| StoreError::db(path, action, e))?;
        create_tables(&txn).map_err(|e| StoreError::db(path, action, e))?;
        txn.commit().map_err(|e| StoreError::db(path, action, e))?;
    }
    Ok(())
}

/// Reads the recorded version of an open store (for `Store::schema_version`).
pub(super) fn read_version(db: &Database, path: &Path) -> Result<u32, StoreError> {
    Ok(recorded_version(db, path)?.unwrap_or(0))
}
