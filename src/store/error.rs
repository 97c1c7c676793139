//! What can go wrong in the store, said so that an operator knows which file
//! and which step failed.

use std::path::PathBuf;

use crate::mapping::Site;

/// An error from the store. Every message names the redb file (or the state
/// directory) and what failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The state directory could not be created.
    #[error("cannot create state directory {path}: {source}")]
    CreateDir {
        /// The directory that was asked for.
        path: PathBuf,
        /// Why the file system refused.
        #[source]
        source: std::io::Error,
    },

    /// redb failed (I/O, a lock held by another process, a damaged file...).
    #[error("store {path}: {action} failed: {source}")]
    Db {
        /// The redb file.
        path: PathBuf,
        /// What the store was doing, e.g. "open database" or "read links".
        action: &'static str,
        /// redb's own error.
        #[source]
        source: Box<redb::Error>,
    },

    /// The file was written by a newer jirafed; opening it could lose data.
    #[error(
        "store {path} has schema version {found}, newer than version {supported} that this jirafed understands; \
         run a jirafed at least as new as the one that wrote it"
    )]
    SchemaTooNew {
        /// The redb file.
        path: PathBuf,
        /// The version recorded in the file.
        found: u32,
        /// The newest version this build knows.
        supported: u32,
    },

    /// No migration is registered from a version found in the file.
    #[error("store {path}: no migration registered from schema version {from}")]
    MissingMigration {
        /// The redb file.
        path: PathBuf,
        /// The version without a next step.
        from: u32,
    },

    /// A migration step failed; the file stays at version `from`.
    #[error("store {path}: migration from schema version {from} to {to} failed: {message}")]
    Migration {
        /// The redb file.
        path: PathBuf,
        /// The version the step started from (still recorded in the file).
        from: u32,
        /// The version the step was migrating to.
        to: u32,
        /// What went wrong.
        message: String,
    },

    /// A stored record could not be decoded.
    #[error("store {path}: corrupt {what}")]
    Corrupt {
        /// The redb file.
        path: PathBuf,
        /// Which record, and why it could not be read.
        what: String,
    },

    /// One op of a commit request broke a rule of the store; none of the
    /// request's ops were applied, and other callers in the same group commit
    /// were not affected.
    #[error("store {path}: op {index} of the request was rejected, nothing of it was applied: {reason}")]
    Rejected {
        /// The redb file.
        path: PathBuf,
        /// The position of the offending op in the request.
        index: usize,
        /// The rule that was broken.
        reason: Rejection,
    },

    /// The group commit this request was part of failed as a whole (a full
    /// disk, an I/O error); it is not acknowledged. A write that failed
    /// stored nothing; after a failed fsync the batch may still be found in
    /// the file, so callers must be able to send it again (deliveries are
    /// deduplicated).
    #[error("store {path}: group commit failed and is not acknowledged: {message}")]
    Commit {
        /// The redb file.
        path: PathBuf,
        /// redb's error, as text (it is shared by every caller of the batch).
        message: String,
    },

    /// The writer thread could not be started.
    #[error("store {path}: cannot start the writer thread: {source}")]
    WriterStart {
        /// The redb file.
        path: PathBuf,
        /// Why the thread could not be spawned.
        #[source]
        source: std::io::Error,
    },

    /// A storage failure (a full disk, an I/O error) made the store stop
    /// taking work; it reopens the file by itself with backoff and resumes
    /// once the cause is gone. Nothing was stored for this request.
    #[error("store {path} is unavailable until it recovers (it retries by itself): {cause}")]
    Unavailable {
        /// The redb file.
        path: PathBuf,
        /// The failure that made it stop, or why the last reopen failed.
        cause: String,
    },

    /// The file cannot be opened or fails redb's integrity check.
    #[error(
        "state file {path} is damaged and cannot be used: {cause}; restore it from a backup \
         (`jirafed state backup`, see docs/operations.md) with the daemon stopped, or move it aside and \
         start with `jirafed run --init` to create it anew (every pairing is then forgotten)"
    )]
    Damaged {
        /// The redb file.
        path: PathBuf,
        /// What redb reported.
        cause: String,
    },

    /// The file is missing or empty although this state directory held a
    /// store before (its marker file says so).
    #[error(
        "state file {path} is {what}, but {marker} says a store was created here before; \
         restore the file from a backup with the daemon stopped, or start with `jirafed run --init` \
         to create it anew (every pairing is then forgotten)"
    )]
    Missing {
        /// The redb file.
        path: PathBuf,
        /// The marker file that records the store's creation.
        marker: PathBuf,
        /// "missing" or "empty (0 bytes)".
        what: &'static str,
    },

    /// A backup could not be written; nothing is left under its name.
    #[error("backup {path}: {cause}")]
    Backup {
        /// The file asked for.
        path: PathBuf,
        /// Why not.
        cause: String,
    },

    /// The writer thread is gone (it panicked); nothing more can be written.
    #[error("store {path}: the writer thread has stopped, nothing more can be written")]
    WriterGone {
        /// The redb file.
        path: PathBuf,
    },
}

impl StoreError {
    /// Whether the state file itself is unusable (damaged, or missing where a
    /// store existed): `jirafed` exits 65 (EX_DATAERR) so that systemd does
    /// not restart it in a loop.
    pub fn is_data_error(&self) -> bool {
        matches!(self, StoreError::Damaged { .. } | StoreError::Missing { .. })
    }

    /// An open that failed: damage (a corrupted or unrecognised file) is
    /// [`StoreError::Damaged`]; anything else (a lock, permissions) is a
    /// plain error naming the step.
    pub(super) fn from_open(path: &std::path::Path, e: redb::DatabaseError) -> Self {
        use redb::{DatabaseError, StorageError};
        match e {
            DatabaseError::Storage(StorageError::Corrupted(cause)) => {
                StoreError::Damaged { path: path.to_path_buf(), cause }
            }
            DatabaseError::Storage(StorageError::Io(io)) if io.kind() == std::io::ErrorKind::InvalidData => {
                StoreError::Damaged { path: path.to_path_buf(), cause: io.to_string() }
            }
            DatabaseError::UpgradeRequired(v) => StoreError::Damaged {
                path: path.to_path_buf(),
                cause: format!("redb file format {v} is not one this jirafed reads"),
            },
            other => StoreError::db(path, "open database", other),
        }
    }

    pub(super) fn db(path: &std::path::Path, action: &'static str, source: impl Into<redb::Error>) -> Self {
        StoreError::Db { path: path.to_path_buf(), action, source: Box::new(source.into()) }
    }
}

/// Why one request of a group commit was refused. The caller can branch on it;
/// the whole request was rolled back.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    /// The op names a link id that is not stored.
    #[error("link {id} does not exist")]
    UnknownLink {
        /// The id asked for.
        id: u64,
    },

    /// A different link already pairs this secondary issue.
    #[error("issue {issue} on instance {instance} is already paired by link {existing}")]
    LinkConflict {
        /// The secondary instance.
        instance: String,
        /// The secondary issue id.
        issue: String,
        /// The link that holds the pairing.
        existing: u64,
    },

    /// The op names a dependency id that is not stored.
    #[error("dependency {id} does not exist")]
    UnknownDependency {
        /// The id asked for.
        id: u64,
    },

    /// A different dependency of the flow already holds this Jira link.
    #[error("{} link {link} of flow {flow} is already held by dependency {existing}", site_name(*.site))]
    DependencyConflict {
        /// The flow.
        flow: String,
        /// The site the Jira link is on.
        site: Site,
        /// The Jira link id.
        link: String,
        /// The dependency that holds it.
        existing: u64,
    },

    /// A different pending link already waits for this Jira link.
    #[error("link {link_id} on instance {instance} is already pending as {existing}")]
    PendingConflict {
        /// The instance the link is on.
        instance: String,
        /// The Jira link id.
        link_id: String,
        /// The pending link that holds it.
        existing: u64,
    },

    /// A value is larger than redb can store.
    #[error("a value of {bytes} bytes is too large to store")]
    TooLarge {
        /// The size of the key and value.
        bytes: usize,
    },

    /// A record the op needed could not be decoded or encoded.
    #[error("corrupt {what}")]
    Corrupt {
        /// Which record, and why.
        what: String,
    },
}

fn site_name(site: Site) -> &'static str {
    match site {
        Site::Primary => "primary",
        Site::Secondary => "secondary",
    }
}
