//! The durable store of jirafed: the only code that knows redb.
//!
//! One redb file (`jirafed.redb` under the state directory) holds the links
//! (issue pairs) and their shadows, the dependencies (Jira issue links
//! mirrored between the two sites of a flow, removed with either of their
//! pairs), the pending links (issue links whose far end has no mirror yet),
//! the inbox of changes not yet planned, the outbox of writes per target, dead
//! letters, poll cursors, webhook delivery ids for dedupe, a bounded audit log
//! and the schema version.
//!
//! Payloads are opaque: the engine serializes its own types and the store
//! keeps the bytes plus the metadata it orders and looks up by.
//!
//! Writes go through one writer thread that groups concurrent requests into
//! one durable commit ([`Store::commit`] returns only after it), so a webhook
//! can be answered as soon as its change is committed without one fsync per
//! webhook. A request that breaks a rule (see [`Rejection`]) is undone alone,
//! through a per-request undo log, and its caller gets
//! [`StoreError::Rejected`]; the other requests of the batch commit. Reads are
//! plain methods on concurrent read transactions and never wait for the
//! writer.
//!
//! Bounds: a group commit takes at most [`DEFAULT_BATCH_LIMIT`] requests; the
//! audit log keeps the newest [`DEFAULT_AUDIT_LIMIT`] entries, pruned in the
//! transaction that appends; delivery ids are kept until the engine prunes
//! them (`daemon.webhook_replay_window`); links and pending links are read in
//! pages ([`Store::links_after`], [`Store::pending_after`]) and dependencies
//! by pair, so memory stays flat however many there are.
//!
//! The schema version is recorded in the file; [`Store::open`] migrates an
//! older file step by step and refuses a newer one.
//!
//! Faults: the file is opened with redb's integrity check (a panic inside
//! redb is caught), and a damaged file, or a missing or empty one where the
//! marker file `<file>.created` says a store existed, is refused
//! ([`StoreError::is_data_error`]). A commit that fails for storage reasons
//! makes the store unavailable until the writer has reopened and verified
//! the file, which it retries by itself ([`Store::health`]). [`check_file`]
//! checks a file offline and [`Store::backup`] writes a consistent copy of a
//! live one.

mod apply;
mod check;
mod children;
mod deps;
mod error;
mod faults;
mod handle;
mod model;
mod outbox;
mod read;
mod records;
mod schema;
mod slot;
mod tables;
mod writer;

#[cfg(test)]
mod tests;

pub use check::{BackupReport, CheckError, CheckReport, check_file};
pub use error::{Rejection, StoreError};
pub use faults::StorageFaults;
pub use handle::{
    Clock, DB_FILE_NAME, DEFAULT_AUDIT_LIMIT, DEFAULT_BATCH_LIMIT, DEFAULT_CACHE_BYTES, MARKER_SUFFIX, Store,
    StoreOptions, marker_path,
};
pub use model::{
    AuditEntry, DeadLetter, DependencyRecord, EndedPair, InboxEntry, LinkRecord, Op, OpResult, OutboxEntry, PendingLink,
};
pub use schema::CURRENT_VERSION as SCHEMA_VERSION;
pub use slot::{StoreHealth, StoreState};
pub use writer::{RECOVERY_MAX_DELAY, RECOVERY_MIN_DELAY};
