//! The planner: takes inbox changes in batches, coalesces them per issue,
//! plans a change at once unless it arrived while the issue's writes were
//! in flight (then it settles: [`settle`]), reads the issues again
//! (never trusting a payload; batched per site), diffs them against the
//! shadow through `mapping::plan`, and commits the resulting jobs to the
//! outbox in the same transaction that acknowledges the changes.
//!
//! Changes to an issue whose writes are still in flight wait in the inbox
//! (one entry each: repeats are acknowledged) without holding up the others.

pub(crate) mod deps;
pub(crate) mod hierarchy;
mod pair;
mod plan;
mod push;
mod reads;
pub(crate) mod remote;
pub mod settle;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::change::{Change, ChangeKind, ChangeSource, version_key};
use super::engine::Engine;
use super::in_flight::{Claim, SiteIssue};
use super::job::Job;
use crate::store::{InboxEntry, Op};

/// The planner's name for its supervisor and heartbeat.
pub const HEARTBEAT: &str = "planner";
/// Changes read from the inbox at once.
const BATCH: usize = 200;
/// How long the planner idles when it has nothing (or only deferred work).
const IDLE: Duration = Duration::from_millis(250);
pub use settle::{MAX_HOLD, SETTLE};

pub async fn run(engine: Arc<Engine>, cancel: CancellationToken) {
    loop {
        engine.observer.board.heartbeats.beat(HEARTBEAT);
        let wait = match plan_batch(&engine).await {
            Ok(Pass::Progressed) => continue,
            Ok(Pass::Wait(d)) => d,
            Err(e) => {
                tracing::warn!(error = %e, "planning failed; retrying");
                IDLE
            }
        };
        // A new change wakes the planner even while bursts settle: the
        // first change of a quiet issue is planned at once.
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = engine.wake.planner_woken() => {}
            _ = tokio::time::sleep(wait) => {}
        }
    }
}

/// What a pass did.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Pass {
    /// Something was committed: look again at once.
    Progressed,
    /// Nothing could be done now: look again after this (or when woken).
    Wait(Duration),
}

/// The changes to one issue in this batch.
pub(super) struct Group {
    pub(super) instance: String,
    issue: String,
    pub(super) seqs: Vec<u64>,
    /// The newest change, a deletion kept over later updates.
    pub(super) change: Change,
    first_ms: i64,
    last_ms: i64,
    /// Every change is a webhook for jirafed's own write.
    pub(super) own: bool,
}

/// Plans one batch.
pub(crate) async fn plan_batch(engine: &Engine) -> anyhow::Result<Pass> {
    let busy = engine.in_flight.busy_issues();
    let (entries, skipped) =
        engine.store.inbox_batch_skipping(BATCH, |instance, issue| busy.contains(&SiteIssue::new(instance, issue)))?;
    let backlog = entries.len() >= BATCH;
    let now = engine.now_ms();
    let mut acked = repeats(engine, &skipped, now);
    if !acked.is_empty() {
        tracing::debug!(seqs = ?acked, "repeats of changes waiting behind writes acknowledged");
    }
    let mut wait = IDLE;
    let mut ready = Vec::new();
    for g in group(engine, entries, &mut acked) {
        let issue = SiteIssue::new(&g.instance, &g.issue);
        match engine.bursts.wait(&issue, g.first_ms, g.last_ms, now) {
            Some(left) => wait = wait.min(left),
            None => {
                engine.bursts.planned(&issue);
                ready.push(g)
            }
        }
    }
    let planned = pair::plan(engine, ready, backlog).await;
    acked.extend(planned.acked);
    let planned = planned.out;
    if acked.is_empty() && planned.ops.is_empty() {
        return Ok(Pass::Wait(wait));
    }
    let mut ops = planned.ops;
    ops.push(Op::InboxAck { seqs: acked });
    for (instance, issue, updated) in planned.seen {
        ops.push(Op::DeliverySeen { delivery: version_key(&issue, updated), instance });
    }
    let writers: std::collections::BTreeSet<String> = ops
        .iter()
        .filter_map(|op| match op {
            Op::OutboxPush { instance, .. } => Some(instance.clone()),
            _ => None,
        })
        .collect();
    // Claimed once per job before the commit, so a writer that takes a job
    // at once finds its link busy; released again if the commit fails.
    let claims = job_claims(&ops, planned.claims);
    for (claim, issues) in &claims {
        engine.in_flight.claim(claim.clone(), issues.clone());
    }
    let pending: Vec<_> = ops
        .iter()
        .filter_map(|op| match op {
            Op::PendingPut(p) => Some(p.clone()),
            _ => None,
        })
        .collect();
    if let Err(e) = engine.store.commit(ops).await {
        for (c, _) in &claims {
            engine.in_flight.release(c);
        }
        return Err(e.into());
    }
    for w in &writers {
        engine.wake.writer(w);
    }
    deps::recheck(engine, &pending).await;
    Ok(Pass::Progressed)
}

/// A claim per job queued in `ops`, with the issues the planner said the
/// claim covers.
fn job_claims(ops: &[Op], covers: Vec<(Claim, Vec<SiteIssue>)>) -> Vec<(Claim, Vec<SiteIssue>)> {
    let covers: HashMap<Claim, Vec<SiteIssue>> = covers.into_iter().collect();
    ops.iter()
        .filter_map(|op| match op {
            Op::OutboxPush { payload, .. } => Job::from_bytes(payload).and_then(|j| Claim::of(&j)),
            _ => None,
        })
        .map(|c| {
            let issues = covers.get(&c).cloned().unwrap_or_default();
            (c, issues)
        })
        .collect()
}

/// Of the changes waiting for issues with writes in flight, all but one
/// per issue: one entry is enough to plan the issue again once its writes
/// are done, and the rest would only be skipped over and over. The one
/// kept is the newest that is not the echo of jirafed's own write (an issue
/// write by its user, or a link write it announced): an echo would be
/// acknowledged unread then, and a person's change acknowledged here with
/// it would be lost. (Judged as the grouping will judge it, so that the
/// link echoes counted here are counted once.) An issue with someone
/// else's change waiting follows its writes: see [`settle`].
fn repeats(engine: &Engine, skipped: &[InboxEntry], now: i64) -> Vec<u64> {
    // (instance, issue) -> (whether it is someone else's change, newest seq)
    let mut kept: HashMap<(&str, &str), (bool, u64)> = HashMap::new();
    for e in skipped {
        let others = Change::from_bytes(&e.payload).is_none_or(|c| !is_own(engine, &c, e.seq));
        let k = kept.entry((e.instance.as_str(), e.issue.as_str())).or_insert((others, e.seq));
        *k = (*k).max((others, e.seq));
    }
    for ((instance, issue), _) in kept.iter().filter(|(_, (others, _))| *others) {
        engine.bursts.follows(SiteIssue::new(instance, issue), now);
    }
    skipped
        .iter()
        .filter(|e| kept.get(&(e.instance.as_str(), e.issue.as_str())).map(|k| k.1) != Some(e.seq))
        .map(|e| e.seq)
        .collect()
}

/// Groups a batch per issue; unreadable entries are acknowledged.
fn group(engine: &Engine, entries: Vec<InboxEntry>, acked: &mut Vec<u64>) -> Vec<Group> {
    let mut groups: BTreeMap<(String, String), Group> = BTreeMap::new();
    for e in entries {
        let Some(change) = Change::from_bytes(&e.payload) else {
            tracing::warn!(seq = e.seq, "unreadable inbox entry dropped");
            acked.push(e.seq);
            continue;
        };
        let own = is_own(engine, &change, e.seq);
        if own {
            engine.activity.echoed(&e.instance, change.seen_ms);
        } else {
            engine.activity.changed(SiteIssue::new(&e.instance, &e.issue), change.seen_ms);
        }
        let g = groups.entry((e.instance.clone(), e.issue.clone())).or_insert_with(|| Group {
            instance: e.instance.clone(),
            issue: e.issue.clone(),
            seqs: vec![],
            change: change.clone(),
            first_ms: change.seen_ms,
            last_ms: change.seen_ms,
            own: true,
        });
        g.seqs.push(e.seq);
        g.own &= own;
        g.first_ms = g.first_ms.min(change.seen_ms);
        g.last_ms = g.last_ms.max(change.seen_ms);
        if change.kind == ChangeKind::Deleted || g.change.kind != ChangeKind::Deleted {
            let issue_key = change.issue_key.clone().or(g.change.issue_key.clone());
            g.change = Change { issue_key, ..change };
        }
    }
    groups.into_values().collect()
}

/// The echo of one of jirafed's own writes: a webhook saying its technical
/// user updated the issue, or the issue-link webhook of a link it has just
/// made or removed (inbox entry `seq`).
fn is_own(engine: &Engine, change: &Change, seq: u64) -> bool {
    if change.source != ChangeSource::Webhook || change.kind != ChangeKind::Updated {
        return false;
    }
    if let Some((a, b)) = &change.link_ends {
        let instance = change.instance.as_str();
        return engine.link_echoes.take(instance, a.as_str(), b.as_str(), seq, change.seen_ms);
    }
    engine.sites.me(change.instance.as_str()).is_some_and(|me| change.made_by(&me))
}
