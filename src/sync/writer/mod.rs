//! A writer per target instance: outbox entries run in order per target
//! issue and in parallel across issues, each under the client's rate
//! limiter. Success stores the shadow (and the link) in the same commit that
//! removes the entry; retriable failures are rescheduled with backoff;
//! permanent ones become dead letters without blocking other issues. A job
//! is carried out in `apply.rs`; its values become the target's typed field
//! writes in `values.rs`.

mod apply;
mod lookups;
mod shadow;
#[cfg(test)]
mod tests;
mod values;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

pub(crate) use apply::{replan_children, replan_issue, replan_pair};
pub use lookups::{Lookups, SiteCache};

use super::engine::Engine;
use super::in_flight::Claim;
use super::job::{Action, Job};
use crate::ids::InstanceId;
use crate::jira::JiraError;
use crate::observe::{EngineEvent, WriteOutcome, WriteRecord};
use crate::store::{Op, OutboxEntry, StoreError};

/// Longest the writer sleeps before looking at the outbox again.
const TICK: Duration = Duration::from_millis(250);
/// Ready entries read per look at the outbox (this instance's only).
const READY_BATCH: usize = 256;
/// Backoff of a rescheduled entry: base doubled per attempt, capped.
const RESCHEDULE_BASE_MS: i64 = 2_000;
const RESCHEDULE_MAX_MS: i64 = 300_000;

/// Why a job did not finish.
#[derive(Debug, thiserror::Error)]
pub(crate) enum WriteError {
    /// The site refused or did not answer: retried or dead-lettered by
    /// [`JiraError::is_retriable`].
    #[error(transparent)]
    Jira(#[from] JiraError),
    /// The store could not record a step: the job stays queued as it is
    /// and runs again (a create finds its mirror by its mark).
    #[error("the store failed: {0}")]
    Store(#[from] StoreError),
}

/// What a finished job leaves: the target issue's key and the ops to commit
/// with its removal from the outbox.
pub(crate) struct Done {
    pub(crate) key: String,
    pub(crate) ops: Vec<Op>,
}

/// A writer's name for its supervisor and heartbeat: `writer.<instance>`.
pub fn heartbeat(instance: &InstanceId) -> String {
    format!("writer.{instance}")
}

pub async fn run(engine: Arc<Engine>, instance: InstanceId, cancel: CancellationToken) {
    let running: Arc<Mutex<HashSet<u64>>> = Arc::default();
    let mut tasks = JoinSet::new();
    let heartbeat = heartbeat(&instance);
    loop {
        engine.observer.board.heartbeats.beat(&heartbeat);
        while let Some(done) = tasks.try_join_next() {
            // A job that panicked would stay marked running forever: the
            // writer fails with it, and its supervisor starts it afresh
            // (the job is still in the outbox).
            if let Err(e) = done
                && e.is_panic()
            {
                std::panic::resume_unwind(e.into_panic());
            }
        }
        // Empty while the instance is paused by hand (`jirafed pause`): its
        // writes wait in the outbox, and the writer still beats.
        match engine.store.outbox_ready(instance.as_str(), engine.now_ms(), READY_BATCH) {
            Ok(ready) => {
                for e in ready {
                    if !running.lock().unwrap_or_else(|p| p.into_inner()).insert(e.seq) {
                        continue;
                    }
                    let (engine, running, instance) = (engine.clone(), running.clone(), instance.clone());
                    tasks.spawn(async move {
                        let seq = e.seq;
                        execute(&engine, e).await;
                        running.lock().unwrap_or_else(|p| p.into_inner()).remove(&seq);
                        // The next job of the same issue may go now.
                        engine.wake.writer(instance.as_str());
                    });
                }
            }
            Err(e) => tracing::warn!(instance = %instance, error = %e, "outbox unreadable"),
        }
        tokio::select! {
            _ = cancel.cancelled() => break,
            _ = engine.wake.writer_woken(instance.as_str()) => {}
            _ = tokio::time::sleep(TICK) => {}
        }
    }
    // Drain: writes already sent finish and are committed.
    while tasks.join_next().await.is_some() {}
}

/// Carries out one outbox entry and records what became of it.
pub(crate) async fn execute(engine: &Engine, e: OutboxEntry) {
    let Some(job) = Job::from_bytes(&e.payload) else {
        let op = Op::OutboxDeadLetter { seq: e.seq, error: "unreadable outbox entry".into(), at_ms: engine.now_ms() };
        if let Err(err) = engine.store.commit(vec![op]).await {
            tracing::error!(seq = e.seq, error = %err, "cannot dead-letter an unreadable outbox entry");
        }
        return;
    };
    let Some(site) = engine.site(&e.instance).cloned() else { return };
    let result = apply::apply(engine, site.as_ref(), &e, &job).await;
    let finished = match result {
        Ok(done) => succeeded(engine, &e, &job, done).await,
        Err(WriteError::Jira(err)) if err.is_retriable() => {
            retry_later(engine, &e, &job, &err).await;
            false
        }
        Err(WriteError::Jira(err)) => dead_letter(engine, &e, &job, &err).await,
        Err(WriteError::Store(err)) => {
            tracing::error!(flow = %job.flow, instance = %e.instance, error = %err, "cannot record a write step; the job runs again");
            false
        }
    };
    if finished {
        if let (Some(claim), Action::Create { source, .. }) = (Claim::of(&job), &job.action) {
            // Read after the pairing is committed, so that a link the planner
            // set waiting at the same time is seen here, or sees the pair.
            super::planner::deps::complete(engine, &source.instance, &source.issue_id).await;
            engine.in_flight.release(&claim);
        } else if let Some(claim) = Claim::of(&job) {
            engine.in_flight.release(&claim);
        }
        engine.wake.planner();
    }
}

/// Commits the job's result with its removal from the outbox; whether that
/// worked.
async fn succeeded(engine: &Engine, e: &OutboxEntry, job: &Job, done: Done) -> bool {
    let Done { key, mut ops } = done;
    let op_name = job.action.name();
    let now = engine.now_ms();
    ops.push(Op::OutboxDone { seq: e.seq });
    let latency_ms = now - job.origin_ms;
    let record = WriteRecord {
        flow: &job.flow,
        instance: &e.instance,
        op: op_name,
        key: &key,
        outcome: "ok",
        latency_ms,
        cause: job.cause.as_ref(),
        error: None,
    };
    ops.push(Op::Audit { at_ms: now, payload: record.to_bytes() });
    if let Err(err) = engine.store.commit(ops).await {
        if matches!(err, StoreError::Rejected { .. }) {
            return refused_record(engine, e, job, &key, &err).await;
        }
        tracing::error!(error = %err, "cannot record a finished write; it will be retried");
        return false;
    }
    engine.activity.wrote(&e.instance, now);
    engine.observer.metrics.write(&e.instance, op_name, WriteOutcome::Ok);
    tracing::info!(flow = %job.flow, instance = %e.instance, op = op_name, issue = %key, latency_ms, "written");
    tracing::debug!(seq = e.seq, action = ?job.action, "job done");
    let event =
        EngineEvent::Written { flow: job.flow.clone(), instance: e.instance.clone(), action: op_name, key, latency_ms };
    engine.observer.emit(now, event);
    true
}

/// The store refused what a finished write would record (it contradicts
/// the records, e.g. a link Jira answered with is held by another
/// dependency). Running the write again would be refused the same way, for
/// ever: the job is taken off the outbox instead and its pair planned again
/// from what the sites hold now. Whether that was recorded.
async fn refused_record(engine: &Engine, e: &OutboxEntry, job: &Job, key: &str, err: &StoreError) -> bool {
    tracing::error!(
        flow = %job.flow, instance = %e.instance, op = job.action.name(), issue = %key, error = %err,
        "the store refused to record a finished write; the pair is planned again"
    );
    let mut ops = vec![Op::OutboxDone { seq: e.seq }];
    match (&job.action, job.link) {
        (Action::Create { source, .. }, _) => ops.push(apply::replan(engine, source)),
        (_, Some(link)) => ops.extend(apply::replan_link(engine, link)),
        (_, None) => {}
    }
    match engine.store.commit(ops).await {
        Ok(_) => {
            engine.observer.metrics.write(&e.instance, job.action.name(), WriteOutcome::Retry);
            true
        }
        Err(again) => {
            tracing::error!(error = %again, "cannot take a refused write off the outbox; it runs again");
            false
        }
    }
}

async fn retry_later(engine: &Engine, e: &OutboxEntry, job: &Job, err: &JiraError) {
    let delay = backoff_ms(e.attempts, err.retry_after);
    let op = Op::OutboxReschedule { seq: e.seq, next_at_ms: engine.now_ms() + delay, error: err.to_string() };
    tracing::warn!(flow = %job.flow, instance = %e.instance, error = %err, delay_ms = delay, "write failed; rescheduled");
    engine.observer.metrics.write(&e.instance, job.action.name(), WriteOutcome::Retry);
    if let Err(store) = engine.store.commit(vec![op]).await {
        tracing::error!(error = %store, "cannot reschedule a failed write; it runs again");
    }
}

/// Dead-letters the job; whether that was recorded.
async fn dead_letter(engine: &Engine, e: &OutboxEntry, job: &Job, err: &JiraError) -> bool {
    tracing::warn!(flow = %job.flow, instance = %e.instance, error = %err, "write refused; dead-lettered");
    engine.observer.metrics.write(&e.instance, job.action.name(), WriteOutcome::DeadLetter);
    let now = engine.now_ms();
    let op = Op::OutboxDeadLetter { seq: e.seq, error: err.to_string(), at_ms: now };
    let text = err.to_string();
    let key = job.target_key.clone().or_else(|| job.cause.as_ref().map(|c| c.issue.clone())).unwrap_or_default();
    let record = WriteRecord {
        flow: &job.flow,
        instance: &e.instance,
        op: job.action.name(),
        key: &key,
        outcome: "dead_letter",
        latency_ms: now - job.origin_ms,
        cause: job.cause.as_ref(),
        error: Some(&text),
    };
    let audit = Op::Audit { at_ms: now, payload: record.to_bytes() };
    if let Err(store) = engine.store.commit(vec![op, audit]).await {
        tracing::error!(error = %store, "cannot dead-letter a refused write; it runs again");
        return false;
    }
    let event =
        EngineEvent::DeadLettered { flow: job.flow.clone(), instance: e.instance.clone(), error: err.to_string() };
    engine.observer.emit(now, event);
    true
}

/// The wait before a failed write is tried again: exponential in the
/// attempts, capped, with equal jitter (half fixed, half random) so that
/// writes that failed together do not come back together; never before a
/// `Retry-After` Jira gave.
fn backoff_ms(attempts: u32, retry_after: Option<Duration>) -> i64 {
    let ceiling = (RESCHEDULE_BASE_MS << attempts.min(16)).min(RESCHEDULE_MAX_MS);
    let jittered = ceiling / 2 + rand::random_range(0..=ceiling / 2);
    let floor = retry_after.map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(RESCHEDULE_MAX_MS));
    jittered.max(floor)
}
