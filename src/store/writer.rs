//! The writer thread and its group commit.
//!
//! One thread owns every write. It takes the first queued request, drains
//! whatever else is queued (up to the batch limit), applies all of them in one
//! write transaction, commits it durably and only then answers each caller
//! with its own results. Concurrent writers therefore share one fsync.
//!
//! Per-request rollback: redb's savepoints cannot be taken once a transaction
//! has opened a table, so each request keeps an undo log instead. Every
//! change goes through [`WriteSet::put`] or [`WriteSet::remove`], which record
//! the key's previous value; when an op of a request is rejected, the log is
//! replayed backwards, leaving the transaction as the previous request left
//! it. Only storage failures (I/O, a full disk) fail the whole batch.
//!
//! After a storage failure redb refuses every later operation on its
//! handle, so the writer recovers: it marks the store unavailable (callers
//! get [`StoreError::Unavailable`] at once, so a webhook is answered 503 and
//! Jira delivers it again), then reopens the file with exponential backoff
//! (backon) until a reopen verifies and a probe commit goes through.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::RecvTimeoutError;
use std::sync::mpsc::{Receiver, SyncSender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use backon::{BackoffBuilder, ExponentialBuilder};
use redb::{Database, ReadableTable, ReadableTableMetadata, StorageError, Table, WriteTransaction};
use tokio::sync::oneshot;

use super::apply;
use super::error::{Rejection, StoreError};
use super::model::{Op, OpResult};
use super::slot::Slot;
use super::tables::{ALL, Tbl, read_u64, u64_key};

/// The answer to one commit request.
pub(super) type Answer = Result<Vec<OpResult>, StoreError>;

/// Where the writer sends an answer.
pub(super) enum Reply {
    /// An async caller waiting on a oneshot.
    Async(oneshot::Sender<Answer>),
    /// A blocking caller waiting on a std channel.
    Blocking(SyncSender<Answer>),
}

impl Reply {
    fn send(self, answer: Answer) {
        // A caller that stopped waiting still had its ops committed; there is
        // nobody left to tell.
        match self {
            Reply::Async(tx) => {
                let _ = tx.send(answer);
            }
            Reply::Blocking(tx) => {
                let _ = tx.send(answer);
            }
        }
    }
}

/// One caller's ops and where to answer.
pub(super) struct Request {
    /// Applied all or nothing, in order.
    pub(super) ops: Vec<Op>,
    /// Where the answer goes.
    pub(super) reply: Reply,
}

/// What the writer thread needs besides the database.
pub(super) struct WriterConfig {
    /// The redb file, for error messages.
    pub(super) path: PathBuf,
    /// The store's clock (ms since the epoch).
    pub(super) clock: super::Clock,
    /// How many audit entries are kept.
    pub(super) audit_limit: u64,
    /// How old an audit entry may grow (ms); None: no age bound.
    pub(super) audit_max_age_ms: Option<i64>,
    /// How many requests one group commit takes at most.
    pub(super) batch_limit: usize,
    /// Counts committed write transactions.
    pub(super) commits: Arc<AtomicU64>,
    /// The schema version the file was brought to at open (a reopen checks it).
    pub(super) schema_version: u32,
}

/// The first wait before reopening after a storage failure.
pub const RECOVERY_MIN_DELAY: Duration = Duration::from_millis(100);
/// The longest wait between reopen attempts.
pub const RECOVERY_MAX_DELAY: Duration = Duration::from_secs(5);

/// Starts the writer thread. It exits when every sender is gone and the
/// queue is drained.
pub(super) fn spawn(
    slot: Arc<Slot>,
    config: WriterConfig,
    requests: Receiver<Request>,
) -> std::io::Result<JoinHandle<()>> {
    std::thread::Builder::new().name("jirafed-store-writer".to_string()).spawn(move || run(&slot, &config, &requests))
}

fn run(slot: &Slot, config: &WriterConfig, requests: &Receiver<Request>) {
    while let Ok(first) = requests.recv() {
        let mut batch = vec![first];
        while batch.len() < config.batch_limit.max(1) {
            match requests.try_recv() {
                Ok(request) => batch.push(request),
                Err(_) => break,
            }
        }
        if !process(slot, config, batch) && !recover(slot, config, requests) {
            return;
        }
    }
}

/// Applies one batch; false when storage failed (the store is then marked
/// unavailable and must be reopened).
fn process(slot: &Slot, config: &WriterConfig, batch: Vec<Request>) -> bool {
    let (ops, replies): (Vec<Vec<Op>>, Vec<Reply>) = batch.into_iter().map(|r| (r.ops, r.reply)).unzip();
    let db = match slot.db() {
        Ok(db) => db,
        Err(e) => {
            let message = e.to_string();
            for reply in replies {
                reply.send(Err(StoreError::Unavailable { path: config.path.clone(), cause: message.clone() }));
            }
            return false;
        }
    };
    let outcome = apply_batch(&db, config, &ops);
    drop(db);
    match outcome {
        Ok(answers) => {
            for (reply, answer) in replies.into_iter().zip(answers) {
                reply.send(answer);
            }
            true
        }
        Err(e) => {
            let message = e.to_string();
            tracing::error!(file = %config.path.display(), error = %message, "store commit failed; the batch is not acknowledged; reopening the file");
            slot.fail(message.clone(), config.clock.now_ms());
            for reply in replies {
                reply.send(Err(StoreError::Commit { path: config.path.clone(), message: message.clone() }));
            }
            false
        }
    }
}

/// Reopens the store with backoff until it verifies; requests arriving
/// meanwhile are answered [`StoreError::Unavailable`] at once. False when
/// every handle is gone (the store is being dropped).
fn recover(slot: &Slot, config: &WriterConfig, requests: &Receiver<Request>) -> bool {
    let mut delays = ExponentialBuilder::default()
        .with_min_delay(RECOVERY_MIN_DELAY)
        .with_max_delay(RECOVERY_MAX_DELAY)
        .with_jitter()
        .without_max_times()
        .build();
    loop {
        let until = Instant::now() + delays.next().unwrap_or(RECOVERY_MAX_DELAY);
        loop {
            match requests.recv_timeout(until.saturating_duration_since(Instant::now())) {
                Ok(request) => request.reply.send(Err(slot.unavailable())),
                Err(RecvTimeoutError::Timeout) => break,
                Err(RecvTimeoutError::Disconnected) => return false,
            }
        }
        match slot.reopen(config.schema_version, &[], config.clock.now_ms()) {
            Ok(()) => {
                tracing::warn!(file = %config.path.display(), "store recovered: reopened, verified and writing again");
                return true;
            }
            Err(e) => {
                tracing::warn!(file = %config.path.display(), error = %e, "store still unavailable; retrying");
                slot.still_failing(e.to_string());
            }
        }
    }
}

/// Applies every request in one transaction and commits it. An error here is
/// a storage failure: the transaction is dropped (aborted) and nothing of the
/// batch is stored.
pub(super) fn apply_batch(db: &Database, config: &WriterConfig, batch: &[Vec<Op>]) -> Result<Vec<Answer>, redb::Error> {
    let txn = db.begin_write()?;
    let (answers, dirty) = {
        let mut ws = WriteSet::open(&txn, config.clock.now_ms(), (config.audit_limit, config.audit_max_age_ms))?;
        let mut answers = Vec::with_capacity(batch.len());
        for ops in batch {
            answers.push(apply_request(&mut ws, config, ops)?);
        }
        (answers, ws.dirty)
    };
    if dirty {
        txn.commit()?;
        config.commits.fetch_add(1, Ordering::Relaxed);
    } else {
        // Nothing changed (acks of gone entries, rejected requests): no fsync.
        txn.abort()?;
    }
    Ok(answers)
}

fn apply_request(ws: &mut WriteSet<'_>, config: &WriterConfig, ops: &[Op]) -> Result<Answer, redb::Error> {
    ws.undo.clear();
    let mut results = Vec::with_capacity(ops.len());
    for (index, op) in ops.iter().enumerate() {
        match apply::apply(ws, op) {
            Ok(OpResult::Duplicate) if matches!(op, Op::DeliveryClaim { .. }) => {
                // A delivery seen before: nothing else of the request applies.
                results.push(OpResult::Duplicate);
                results.resize(ops.len(), OpResult::Skipped);
                break;
            }
            Ok(result) => results.push(result),
            Err(ApplyError::Reject(reason)) => {
                ws.rollback()?;
                return Ok(Err(StoreError::Rejected { path: config.path.clone(), index, reason }));
            }
            Err(ApplyError::Fatal(e)) => return Err(e),
        }
    }
    // Only a request that kept a change makes the batch worth an fsync.
    ws.dirty |= !ws.undo.is_empty();
    Ok(Ok(results))
}

/// Why an op could not be applied.
pub(super) enum ApplyError {
    /// The op breaks a rule: its request is rolled back, the batch goes on.
    Reject(Rejection),
    /// Storage failed: the batch is abandoned.
    Fatal(redb::Error),
}

impl From<StorageError> for ApplyError {
    fn from(e: StorageError) -> Self {
        ApplyError::Fatal(e.into())
    }
}

impl From<Rejection> for ApplyError {
    fn from(r: Rejection) -> Self {
        ApplyError::Reject(r)
    }
}

/// A record that could not be decoded rejects the request that needed it,
/// not the whole batch.
pub(super) fn corrupt(what: String) -> ApplyError {
    ApplyError::Reject(Rejection::Corrupt { what })
}

struct Undo {
    table: Tbl,
    key: Vec<u8>,
    old: Option<Vec<u8>>,
}

/// Every table of the store, open in one write transaction, with the undo log
/// of the request being applied.
pub(super) struct WriteSet<'txn> {
    tables: Vec<Table<'txn, &'static [u8], &'static [u8]>>,
    undo: Vec<Undo>,
    dirty: bool,
    /// The batch's time, from the store's clock.
    pub(super) now_ms: i64,
    /// How many audit entries are kept.
    pub(super) audit_limit: u64,
    /// How old an audit entry may grow (ms); None: no age bound.
    pub(super) audit_max_age_ms: Option<i64>,
}

impl<'txn> WriteSet<'txn> {
    fn open(txn: &'txn WriteTransaction, now_ms: i64, audit: (u64, Option<i64>)) -> Result<Self, redb::Error> {
        let (audit_limit, audit_max_age_ms) = audit;
        let mut tables = Vec::with_capacity(ALL.len());
        for (_, def) in ALL {
            tables.push(txn.open_table(def)?);
        }
        Ok(WriteSet { tables, undo: Vec::new(), dirty: false, now_ms, audit_limit, audit_max_age_ms })
    }

    /// A table, for reads and range scans.
    pub(super) fn table(&self, t: Tbl) -> &Table<'txn, &'static [u8], &'static [u8]> {
        &self.tables[t as usize]
    }

    /// The value of a key.
    pub(super) fn get(&self, t: Tbl, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError> {
        Ok(self.table(t).get(key)?.map(|v| v.value().to_vec()))
    }

    /// The number of entries of a table.
    pub(super) fn len(&self, t: Tbl) -> Result<u64, StorageError> {
        self.table(t).len()
    }

    /// Inserts or replaces a value, remembering the old one. A value too
    /// large for redb (checked before anything is written) rejects the
    /// request instead of failing the batch.
    pub(super) fn put(&mut self, t: Tbl, key: &[u8], value: &[u8]) -> Result<(), ApplyError> {
        let old = match self.tables[t as usize].insert(key, value) {
            Ok(old) => old.map(|v| v.value().to_vec()),
            Err(StorageError::ValueTooLarge(bytes)) => return Err(Rejection::TooLarge { bytes }.into()),
            Err(e) => return Err(e.into()),
        };
        self.undo.push(Undo { table: t, key: key.to_vec(), old });
        Ok(())
    }

    /// Removes a key, remembering its value; returns the value.
    pub(super) fn remove(&mut self, t: Tbl, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError> {
        let old = self.tables[t as usize].remove(key)?.map(|v| v.value().to_vec());
        if let Some(value) = &old {
            self.undo.push(Undo { table: t, key: key.to_vec(), old: Some(value.clone()) });
        }
        Ok(old)
    }

    /// Allocates the next number of a counter in the meta table (from 1).
    pub(super) fn next_id(&mut self, counter: &'static [u8]) -> Result<u64, ApplyError> {
        let next = match self.get(Tbl::Meta, counter)? {
            Some(bytes) => {
                read_u64(&bytes).ok_or_else(|| corrupt(format!("counter {}", String::from_utf8_lossy(counter))))?
            }
            None => 1,
        };
        self.put(Tbl::Meta, counter, &u64_key(next.saturating_add(1)))?;
        Ok(next)
    }

    /// Undoes the current request's changes, newest first.
    fn rollback(&mut self) -> Result<(), StorageError> {
        while let Some(undo) = self.undo.pop() {
            let table = &mut self.tables[undo.table as usize];
            match undo.old {
                Some(old) => {
                    table.insert(undo.key.as_slice(), old.as_slice())?;
                }
                None => {
                    table.remove(undo.key.as_slice())?;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_indexed_by_their_tag() {
        for (i, (tag, _)) in ALL.iter().enumerate() {
            assert_eq!(*tag as usize, i);
        }
    }
}
