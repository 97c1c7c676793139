//! Reconciliation: every `daemon.reconcile_interval`, and on demand
//! (`jirafed resync`), every pair is checked against both sites: both
//! issues still there, the source still in its flow's scope, and their
//! mapped fields and status as last synced. The pairs are streamed from the
//! store a page at a time and read 50 per search on each side (never one
//! call per pair), within each site's read budget, and the pass waits while
//! the inbox has a backlog of live changes. A pair that is not as the store
//! remembers is handed to the planner as changes of its issues, through the
//! normal inbox: a source gone or out of scope ends the pair per
//! `on_delete` / `on_scope_exit`, a mirror gone severs it, values changed
//! unseen (webhooks lost, the daemon stopped) are carried as any edit.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use super::engine::Engine;
use super::fields::{side, status_of};
use super::flows::ResolvedFlow;
use super::writer::{replan_issue, replan_pair};
use crate::jira::model::Issue;
use crate::mapping;
use crate::store::{LinkRecord, Op};

/// Pairs read from the store at a time.
const PAGE: usize = 500;
/// Issues read per search.
const BATCH: usize = 50;
/// A pass waits while the inbox holds more changes than this: live changes
/// go first.
const BACKLOG: u64 = 1_000;
const BACKLOG_WAIT: Duration = Duration::from_millis(500);

pub use crate::observe::status::ReconcileRun as Report;

/// Which pairs a pass checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Only {
    All,
    Flow(String),
}

/// The periodic passes, until cancelled.
pub async fn run(engine: Arc<Engine>, cancel: CancellationToken) {
    let every = engine.config.daemon.reconcile_interval;
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(every) => {}
        }
        if let Err(e) = pass(&engine, &Only::All, false).await {
            tracing::warn!(error = %format!("{e:#}"), "reconciliation failed; it runs again at the next interval");
        }
    }
}

/// One pass over the pairs `only` names.
pub async fn pass(engine: &Engine, only: &Only, on_demand: bool) -> anyhow::Result<Report> {
    let started = Instant::now();
    let mut report = Report { on_demand, ..Report::default() };
    let mut after = None;
    loop {
        wait_for_live_changes(engine).await;
        let page = engine.store.links_after(after, PAGE)?;
        let Some(last) = page.last() else { break };
        after = Some(last.id);
        let mut by_flow: BTreeMap<String, Vec<LinkRecord>> = BTreeMap::new();
        for l in page {
            if matches!(only, Only::Flow(f) if *f != l.flow) {
                continue;
            }
            by_flow.entry(l.flow.clone()).or_default().push(l);
        }
        for (name, pairs) in by_flow {
            let Some(flow) = engine.flows.get(&name) else { continue };
            for batch in pairs.chunks(BATCH) {
                let ops = check(engine, flow, batch, &mut report).await?;
                if !ops.is_empty() {
                    engine.store.commit(ops).await?;
                    engine.wake.planner();
                }
            }
        }
    }
    report.duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    report.finished_ms = engine.now_ms();
    tracing::info!(
        pairs = report.pairs,
        missing = report.missing,
        differing = report.differing,
        queued = report.queued,
        duration_ms = report.duration_ms,
        on_demand,
        "reconciliation done"
    );
    engine.observer.board.record_reconcile(report.clone());
    Ok(report)
}

/// Queues both issues of `pair` to be read again and compared in full by
/// the planner (`jirafed resync KEY`).
pub async fn resync_pair(engine: &Engine, pair: &LinkRecord) -> anyhow::Result<Report> {
    engine.store.commit(replan_pair(engine, pair).to_vec()).await?;
    engine.wake.planner();
    Ok(Report { pairs: 1, queued: 2, finished_ms: engine.now_ms(), on_demand: true, ..Report::default() })
}

async fn wait_for_live_changes(engine: &Engine) {
    while engine.store.inbox_depth().unwrap_or(0) > BACKLOG {
        tokio::time::sleep(BACKLOG_WAIT).await;
    }
}

/// One batch of a flow's pairs: one search on each side; the changes to
/// queue for those not as last synced.
async fn check(
    engine: &Engine,
    flow: &ResolvedFlow,
    pairs: &[LinkRecord],
    report: &mut Report,
) -> anyhow::Result<Vec<Op>> {
    let primary = engine.primary().as_str();
    let secondaries = read(engine, flow.cfg.secondary.as_str(), Some(&flow.cfg.scope), pairs, false, flow).await?;
    let mirrors = read(engine, primary, None, pairs, true, flow).await?;
    let mut ops = Vec::new();
    for l in pairs {
        report.pairs += 1;
        let source = secondaries.get(l.secondary_issue.as_str());
        let mirror = mirrors.get(l.primary_issue.as_str());
        let (secondary_change, primary_change) = match (source, mirror) {
            // Gone or out of scope: the planner tells which and ends the pair.
            (None, _) => (true, false),
            // The mirror is gone: the planner severs the pair.
            (Some(_), None) => (false, true),
            (Some(s), Some(m)) => {
                let differs = differs(engine, flow, l, s, m);
                if differs {
                    report.differing += 1;
                }
                (differs, differs)
            }
        };
        if source.is_none() || mirror.is_none() {
            report.missing += 1;
        }
        if secondary_change {
            ops.push(replan_issue(engine, &l.secondary, &l.secondary_issue, Some(&l.secondary_key)));
        }
        if primary_change {
            ops.push(replan_issue(engine, primary, &l.primary_issue, Some(&l.primary_key)));
        }
    }
    report.queued += ops.len() as u64;
    Ok(ops)
}

/// The issues of `pairs` on `instance` (within `scope`), by id.
async fn read(
    engine: &Engine,
    instance: &str,
    scope: Option<&str>,
    pairs: &[LinkRecord],
    primary: bool,
    flow: &ResolvedFlow,
) -> anyhow::Result<HashMap<String, Issue>> {
    let site = engine.connected(instance)?;
    let ids: Vec<&str> =
        pairs.iter().map(|l| if primary { l.primary_issue.as_str() } else { l.secondary_issue.as_str() }).collect();
    let fields = flow.field_ids(primary);
    let fields: Vec<&str> = fields.iter().map(String::as_str).collect();
    let found = site.issues(scope, &ids, &fields).await.map_err(|e| anyhow::anyhow!("{instance}: {e}"))?;
    Ok(found.into_iter().map(|i| (i.id.to_string(), i)).collect())
}

/// Whether the two issues of pair `l` no longer hold what was last synced:
/// the plan from them and the shadow has something to write.
fn differs(engine: &Engine, flow: &ResolvedFlow, l: &LinkRecord, source: &Issue, mirror: &Issue) -> bool {
    let shadow = engine.store.shadow(l.id).ok().flatten();
    let s = side(source, &flow.fields, false, status_of(source));
    let m = side(mirror, &flow.fields, true, status_of(mirror));
    !mapping::plan(&flow.rules, &flow.status, flow.conflict, &s, Some(&m), shadow.as_ref()).is_empty()
}
