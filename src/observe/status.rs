//! The status board: what the engine and the HTTP face report and
//! `/status`, `/readyz`, `/metrics` and `/` read.
//!
//! The board keeps only what the store does not: auth, poll and webhook
//! times, errors, conflict counts, and a probe per instance into its
//! client (rate limiter, reachability as the transport saw it). Queue
//! depths and link counts are read from the store when asked, with its O(1)
//! counters, so the board never goes stale on them.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use super::events::ConflictRecord;
use super::parts::{Heartbeats, ReloadDoc, ReloadLog, STALL_AFTER};
use crate::config::{Config, Flavour, Role};
use crate::jira::{LimiterState, SiteHealth};
use crate::store::{Store, StoreState};

/// Readiness wants every instance to have authenticated this recently.
pub const AUTH_FRESHNESS_MS: i64 = 10 * 60 * 1000;

/// Reads one instance's client health (`|| site.health()`).
pub type HealthProbe = Arc<dyn Fn() -> SiteHealth + Send + Sync>;

/// What the board knows about one instance.
#[derive(Clone)]
pub struct InstanceStatus {
    pub role: Role,
    pub flavour: Flavour,
    /// The last authentication check (or authenticated call) succeeded.
    pub auth_ok: bool,
    /// When authentication last succeeded.
    pub last_auth_ok_ms: Option<i64>,
    /// When a poll last completed.
    pub last_poll_ms: Option<i64>,
    /// The cursor that poll committed: everything updated before it is known.
    pub poll_cursor_ms: Option<i64>,
    /// When a webhook of this instance was last accepted.
    pub last_webhook_ms: Option<i64>,
    /// The last error and when it happened; kept after recovery so people
    /// can see what went wrong last.
    pub last_error: Option<(i64, String)>,
    probe: Option<HealthProbe>,
}

impl InstanceStatus {
    fn new(role: Role, flavour: Flavour) -> Self {
        InstanceStatus {
            role,
            flavour,
            auth_ok: false,
            last_auth_ok_ms: None,
            last_poll_ms: None,
            poll_cursor_ms: None,
            last_webhook_ms: None,
            last_error: None,
            probe: None,
        }
    }

    /// The client's health now, when the engine registered a probe.
    pub fn health(&self) -> Option<SiteHealth> {
        self.probe.as_ref().map(|probe| probe())
    }
}

/// What the board knows about one flow.
#[derive(Debug, Clone, Default)]
pub struct FlowStatus {
    /// Links of this flow, as last counted by the engine.
    pub links: Option<u64>,
    /// Conflicts resolved by policy since start.
    pub conflicts: u64,
    /// The newest of them: field, both values, the winner.
    pub last_conflict: Option<ConflictRecord>,
    pub last_error: Option<(i64, String)>,
    /// When a write of this flow last succeeded.
    pub last_sync_ms: Option<i64>,
    /// Link types seen on the flow's issues that it does not map.
    pub unmapped_link_types: std::collections::BTreeSet<String>,
}

#[derive(Default)]
struct Board {
    instances: BTreeMap<String, InstanceStatus>,
    flows: BTreeMap<String, FlowStatus>,
}

/// Every method takes `&self` and holds its lock only for a few field
/// updates (never across an `.await`).
pub struct StatusBoard {
    board: Mutex<Board>,
    store_ready: AtomicBool,
    /// The engine's parts' progress (planner, writers, store).
    pub heartbeats: Heartbeats,
    /// What the configuration reloads did.
    pub reloads: ReloadLog,
    /// The last reconciliation pass.
    reconcile: Mutex<Option<ReconcileRun>>,
}

impl Default for StatusBoard {
    fn default() -> Self {
        StatusBoard {
            board: Mutex::default(),
            store_ready: AtomicBool::new(true),
            heartbeats: Heartbeats::default(),
            reloads: ReloadLog::default(),
            reconcile: Mutex::default(),
        }
    }
}

impl StatusBoard {
    /// An empty board: nothing registered.
    pub fn new() -> Self {
        Self::default()
    }

    /// A board listing every instance and flow of `config`, none of them
    /// authenticated yet.
    pub fn from_config(config: &Config) -> Self {
        let board = StatusBoard::new();
        board.apply_config(config);
        board
    }

    /// Brings the lists in step with a (re)loaded config: adds new instances
    /// and flows, drops removed ones, keeps what is known about the rest.
    pub fn apply_config(&self, config: &Config) {
        let mut b = self.lock();
        b.instances.retain(|id, _| config.instances.contains_key(id.as_str()));
        for (id, inst) in &config.instances {
            let entry =
                b.instances.entry(id.to_string()).or_insert_with(|| InstanceStatus::new(inst.role, inst.flavour));
            entry.role = inst.role;
            entry.flavour = inst.flavour;
        }
        b.flows.retain(|name, _| config.flows.iter().any(|f| f.name.as_str() == name));
        for flow in &config.flows {
            b.flows.entry(flow.name.to_string()).or_default();
        }
    }

    /// Registers (or updates) an instance and the probe of its client.
    pub fn register_instance(&self, id: &str, role: Role, flavour: Flavour, probe: HealthProbe) {
        let mut b = self.lock();
        let entry = b.instances.entry(id.to_string()).or_insert_with(|| InstanceStatus::new(role, flavour));
        entry.role = role;
        entry.flavour = flavour;
        entry.probe = Some(probe);
    }

    /// A reconciliation pass ended.
    pub fn record_reconcile(&self, run: ReconcileRun) {
        *self.reconcile.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(run);
    }

    /// The last reconciliation pass.
    pub fn last_reconcile(&self) -> Option<ReconcileRun> {
        self.reconcile.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    /// A poll of `instance` completed at `at_ms` and committed `cursor_ms`.
    /// An answered search also proves the auth good.
    pub fn record_poll(&self, instance: &str, at_ms: i64, cursor_ms: i64) {
        self.with_instance(instance, |s| {
            s.last_poll_ms = Some(at_ms);
            s.poll_cursor_ms = Some(cursor_ms);
            s.auth_ok = true;
            s.last_auth_ok_ms = Some(s.last_auth_ok_ms.map_or(at_ms, |t| t.max(at_ms)));
        });
    }

    /// A webhook of `instance` was accepted at `at_ms`.
    pub fn record_webhook(&self, instance: &str, at_ms: i64) {
        self.with_instance(instance, |s| s.last_webhook_ms = Some(at_ms));
    }

    /// The result of an authentication check (`/myself`): `ok`, or refused
    /// (or not answered) with `error`.
    pub fn record_auth(&self, instance: &str, ok: bool, at_ms: i64, error: Option<String>) {
        self.with_instance(instance, |s| {
            s.auth_ok = ok;
            if ok {
                s.last_auth_ok_ms = Some(s.last_auth_ok_ms.map_or(at_ms, |t| t.max(at_ms)));
            }
            if let Some(e) = error {
                s.last_error = Some((at_ms, e));
            }
        });
    }

    /// A conflict of `flow` was resolved by its policy.
    pub fn record_conflict(&self, flow: &str, detail: ConflictRecord) {
        self.with_flow(flow, |f| {
            f.conflicts += 1;
            f.last_conflict = Some(detail);
        });
    }

    /// A write or plan of `flow` failed (e.g. dead-lettered with Jira's text).
    pub fn record_flow_error(&self, flow: &str, at_ms: i64, error: impl Into<String>) {
        let error = error.into();
        self.with_flow(flow, |f| f.last_error = Some((at_ms, error)));
    }

    /// A write of `flow` succeeded at `at_ms`.
    pub fn record_sync(&self, flow: &str, at_ms: i64) {
        self.with_flow(flow, |f| f.last_sync_ms = Some(f.last_sync_ms.map_or(at_ms, |t| t.max(at_ms))));
    }

    /// How many links `flow` has (the engine counts; status never scans).
    pub fn set_flow_links(&self, flow: &str, links: u64) {
        self.with_flow(flow, |f| f.links = Some(links));
    }

    /// A link type `flow` does not map was seen; true the first time.
    pub fn record_unmapped_link_type(&self, flow: &str, link_type: &str) -> bool {
        let mut first = false;
        self.with_flow(flow, |f| first = f.unmapped_link_types.insert(link_type.to_string()));
        first
    }

    /// Whether the store is usable; the daemon clears it while draining so
    /// that `/readyz` turns away new traffic.
    pub fn set_ready_store(&self, ready: bool) {
        self.store_ready.store(ready, Ordering::Relaxed);
    }

    pub fn store_ready(&self) -> bool {
        self.store_ready.load(Ordering::Relaxed)
    }

    /// A copy of every instance's status, in id order.
    pub fn instances(&self) -> Vec<(String, InstanceStatus)> {
        self.lock().instances.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
    }

    pub fn instance(&self, id: &str) -> Option<InstanceStatus> {
        self.lock().instances.get(id).cloned()
    }

    /// A copy of every flow's status, in name order.
    pub fn flows(&self) -> Vec<(String, FlowStatus)> {
        self.lock().flows.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
    }

    /// Why the daemon is not ready, per failing part (`store`,
    /// `instances.<id>`, `parts.<task>` for a stalled engine part); empty
    /// when it is ready.
    pub fn readiness(&self, store: &Store, now_ms: i64) -> BTreeMap<String, String> {
        let mut reasons = BTreeMap::new();
        let health = store.health();
        if !self.store_ready() {
            reasons.insert("store".to_string(), "the store is closing".to_string());
        } else if health.state != StoreState::Ready {
            let cause = health.last_error.unwrap_or_default();
            reasons.insert(
                "store".to_string(),
                format!("store {} is unavailable, recovering by itself: {cause}", health.file.display()),
            );
        } else if let Err(e) = store.schema_version() {
            reasons.insert("store".to_string(), format!("the store does not answer: {e}"));
        }
        for (id, s) in self.instances() {
            if let Some(reason) = auth_problem(&s, now_ms) {
                reasons.insert(format!("instances.{id}"), reason);
            }
        }
        for (part, age) in self.heartbeats.stalled(STALL_AFTER) {
            reasons.insert(format!("parts.{part}"), format!("{part} has made no progress for {} s", age.as_secs()));
        }
        reasons
    }

    fn lock(&self) -> MutexGuard<'_, Board> {
        // The board stays consistent even if a holder panicked.
        self.board.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Updates a registered instance; an unknown id is a no-op (the engine
    /// only reports instances of the config the board was built from).
    fn with_instance(&self, id: &str, f: impl FnOnce(&mut InstanceStatus)) {
        if let Some(s) = self.lock().instances.get_mut(id) {
            f(s);
        }
    }

    fn with_flow(&self, name: &str, f: impl FnOnce(&mut FlowStatus)) {
        f(self.lock().flows.entry(name.to_string()).or_default());
    }
}

fn auth_problem(s: &InstanceStatus, now_ms: i64) -> Option<String> {
    let error = last_error(s).map(|(_, e)| format!(" (last error: {e})")).unwrap_or_default();
    match s.last_auth_ok_ms {
        None => Some(format!("not authenticated yet{error}")),
        Some(_) if !s.auth_ok => Some(format!("authentication failed{error}")),
        Some(t) if now_ms - t > AUTH_FRESHNESS_MS => {
            Some(format!("not authenticated since {}{error}", rfc3339(t).unwrap_or_default()))
        }
        Some(_) => None,
    }
}

/// The newer of the board's last error and the transport's last call that
/// got no answer.
fn last_error(s: &InstanceStatus) -> Option<(i64, String)> {
    let network = s.health().and_then(|h| h.reach.last_failure);
    match (s.last_error.clone(), network) {
        (Some(a), Some(b)) => Some(if b.0 > a.0 { b } else { a }),
        (a, b) => a.or(b),
    }
}

/// How long before `now_ms` `at_ms` was, for people: "12 s ago", "3 min
/// ago", "2 h ago", "4 d ago"; "in 5 s" ahead of now. The status page and
/// the CLI's tables both say it so.
pub fn age(at_ms: i64, now_ms: i64) -> String {
    let secs = (now_ms - at_ms) / 1000;
    let (n, unit) = match secs.abs() {
        s if s < 120 => (s, "s"),
        s if s < 2 * 3600 => (s / 60, "min"),
        s if s < 2 * 86_400 => (s / 3600, "h"),
        s => (s / 86_400, "d"),
    };
    if secs < 0 { format!("in {n} {unit}") } else { format!("{n} {unit} ago") }
}

/// Milliseconds since the epoch as an RFC 3339 UTC time.
pub fn rfc3339(ms: i64) -> Option<String> {
    DateTime::<Utc>::from_timestamp_millis(ms).map(|t| t.to_rfc3339_opts(SecondsFormat::Millis, true))
}

fn time(ms: Option<i64>) -> Option<String> {
    ms.and_then(rfc3339)
}

fn role_name(role: Role) -> &'static str {
    match role {
        Role::Primary => "primary",
        Role::Secondary => "secondary",
    }
}

/// The `/status` document (a contract: names and shapes do not change).
/// Store counters that cannot be read show as null. Fields are in name
/// order, as the document has always listed them.
#[derive(Debug, Clone, Serialize)]
pub struct StatusDoc {
    pub dead_letters: Option<u64>,
    pub flows: BTreeMap<String, FlowDoc>,
    pub inbox_depth: Option<u64>,
    pub instances: BTreeMap<String, InstanceDoc>,
    pub links: Option<u64>,
    pub now: Option<String>,
    pub ready: bool,
    /// The last reconciliation pass (`null` before the first).
    pub reconcile: Option<ReconcileDoc>,
    /// The configuration reloads since start.
    pub reload: ReloadDoc,
    pub schema_version: Option<u32>,
    /// The state file: whether it takes writes, and its last storage failure.
    pub store: StoreDoc,
    pub version: &'static str,
}

/// What one reconciliation pass found (`/status` `reconcile`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReconcileRun {
    /// Pairs checked.
    pub pairs: u64,
    /// Pairs whose source is gone or out of scope, or whose mirror is gone.
    pub missing: u64,
    /// Pairs whose issues no longer hold what was last synced.
    pub differing: u64,
    /// Changes handed to the planner.
    pub queued: u64,
    /// How long the pass took.
    pub duration_ms: u64,
    /// When it ended, in ms since the epoch.
    pub finished_ms: i64,
    /// Asked for by `jirafed resync` (else the periodic pass).
    pub on_demand: bool,
}

/// The last reconciliation in [`StatusDoc`].
#[derive(Debug, Clone, Serialize)]
pub struct ReconcileDoc {
    /// When it ended.
    pub last_run: Option<String>,
    #[serde(flatten)]
    pub run: ReconcileRun,
}

/// The store in [`StatusDoc`].
#[derive(Debug, Clone, Serialize)]
pub struct StoreDoc {
    /// The redb file.
    pub file: String,
    /// The last storage failure (a full disk, an I/O error), kept after recovery.
    pub last_error: Option<String>,
    pub last_error_at: Option<String>,
    /// How many times the store recovered by itself since start.
    pub recoveries: u64,
    /// `ready`, or `recovering` (webhooks get 503, polls pause, until it reopens).
    pub state: StoreState,
}

fn store_doc(store: &Store) -> StoreDoc {
    let h = store.health();
    StoreDoc {
        file: h.file.display().to_string(),
        last_error: h.last_error,
        last_error_at: time(h.last_error_at_ms),
        recoveries: h.recoveries,
        state: h.state,
    }
}

/// One instance in [`StatusDoc`].
#[derive(Debug, Clone, Serialize)]
pub struct InstanceDoc {
    pub auth: bool,
    pub dead_letters: Option<u64>,
    pub flavour: &'static str,
    pub last_auth_ok: Option<String>,
    pub last_error: Option<String>,
    pub last_error_at: Option<String>,
    pub last_poll: Option<String>,
    pub last_webhook: Option<String>,
    pub outbox_depth: Option<u64>,
    /// Writes to the site wait (`jirafed pause`), since `paused_since`.
    pub paused: bool,
    pub paused_since: Option<String>,
    pub paused_until: Option<String>,
    pub poll_lag_seconds: Option<f64>,
    pub rate_limit: Option<LimiterState>,
    /// The last call to the site got an answer (any HTTP status counts).
    pub reachable: bool,
    pub role: &'static str,
}

/// One flow in [`StatusDoc`].
#[derive(Debug, Clone, Serialize)]
pub struct FlowDoc {
    pub conflicts: u64,
    pub last_conflict: Option<ConflictRecord>,
    pub last_error: Option<String>,
    pub last_error_at: Option<String>,
    pub last_sync: Option<String>,
    pub links: Option<u64>,
    /// Issue links waiting for their far end's mirror.
    pub pending_links: Option<u64>,
    /// Issue link types seen that the flow does not map (not carried).
    pub unmapped_link_types: Vec<String>,
}

/// Pending links per flow, counted page by page (they are few: links whose
/// far end has no mirror yet); `None` when the store cannot be read.
pub(crate) fn pending_by_flow(store: &Store) -> Option<BTreeMap<String, u64>> {
    const PAGE: usize = 1_000;
    let mut counts = BTreeMap::new();
    let mut after = None;
    loop {
        let page = store.pending_after(after, PAGE).ok()?;
        let Some(last) = page.last() else { return Some(counts) };
        after = Some(last.id);
        for p in &page {
            *counts.entry(p.flow.clone()).or_default() += 1;
        }
    }
}

/// The `/status` document now.
pub fn snapshot(board: &StatusBoard, store: &Store, now_ms: i64) -> StatusDoc {
    let pending = pending_by_flow(store);
    let counts = store.link_counts().ok();
    let instances = board.instances().into_iter().map(|(id, s)| {
        let doc = instance_doc(&id, &s, store, now_ms);
        (id, doc)
    });
    let flows = board.flows().into_iter().map(|(name, f)| {
        // The store counts each flow's links as it stores them.
        let links = match &counts {
            Some(c) => Some(c.get(&name).copied().or(f.links).unwrap_or(0)),
            None => f.links,
        };
        let doc = FlowDoc {
            links,
            conflicts: f.conflicts,
            last_conflict: f.last_conflict,
            last_error: f.last_error.as_ref().map(|(_, e)| e.clone()),
            last_error_at: time(f.last_error.as_ref().map(|(t, _)| *t)),
            last_sync: time(f.last_sync_ms),
            pending_links: pending.as_ref().map(|p| p.get(&name).copied().unwrap_or(0)),
            unmapped_link_types: f.unmapped_link_types.iter().cloned().collect(),
        };
        (name, doc)
    });
    StatusDoc {
        version: env!("CARGO_PKG_VERSION"),
        now: time(Some(now_ms)),
        ready: board.readiness(store, now_ms).is_empty(),
        reconcile: board.last_reconcile().map(|run| ReconcileDoc { last_run: time(Some(run.finished_ms)), run }),
        reload: board.reloads.doc(),
        schema_version: store.schema_version().ok(),
        store: store_doc(store),
        inbox_depth: store.inbox_depth().ok(),
        links: store.link_count().ok(),
        dead_letters: store.dead_letter_count(None).ok(),
        instances: instances.collect(),
        flows: flows.collect(),
    }
}

fn instance_doc(id: &str, s: &InstanceStatus, store: &Store, now_ms: i64) -> InstanceDoc {
    let cursor = store.cursor(id).ok().flatten().or(s.poll_cursor_ms);
    let health = s.health().unwrap_or_default();
    let limiter = health.limiter;
    let paused_until = limiter.as_ref().and_then(|l| l.write_paused_until.max(l.read_paused_until));
    let error = last_error(s);
    let by_hand = store.paused_since(id).ok().flatten();
    InstanceDoc {
        role: role_name(s.role),
        flavour: s.flavour.as_str(),
        reachable: health.reach.reachable.unwrap_or(false),
        auth: s.auth_ok,
        last_auth_ok: time(s.last_auth_ok_ms),
        last_poll: time(s.last_poll_ms),
        last_webhook: time(s.last_webhook_ms),
        poll_lag_seconds: cursor.map(|c| (now_ms - c).max(0) as f64 / 1000.0),
        outbox_depth: store.outbox_depth(id).ok(),
        dead_letters: store.dead_letter_count(Some(id)).ok(),
        paused: by_hand.is_some(),
        paused_since: time(by_hand),
        paused_until: paused_until.map(|t| t.to_rfc3339_opts(SecondsFormat::Millis, true)),
        rate_limit: limiter,
        last_error: error.as_ref().map(|(_, e)| e.clone()),
        last_error_at: time(error.map(|(t, _)| t)),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;
    use crate::jira::Reachability;

    fn probe(reach: Reachability) -> HealthProbe {
        Arc::new(move || SiteHealth {
            limiter: Some(crate::jira::limiter::Limiter::new(10.0, 5.0, 10, 8).state()),
            reach: reach.clone(),
        })
    }

    fn board() -> StatusBoard {
        let b = StatusBoard::new();
        let up = Reachability { reachable: Some(true), last_failure: None };
        b.register_instance("hub", Role::Primary, Flavour::Cloud, probe(up));
        b.register_instance("emea", Role::Secondary, Flavour::DataCenter, probe(Reachability::default()));
        b
    }

    fn store() -> Store {
        Store::open_in_memory(crate::store::StoreOptions::default()).unwrap()
    }

    #[test]
    fn readiness_names_each_unauthenticated_instance() {
        let store = store();
        let b = board();
        let now = 1_700_000_000_000;
        let reasons = b.readiness(&store, now);
        assert_eq!(reasons.keys().collect::<Vec<_>>(), ["instances.emea", "instances.hub"]);
        assert!(reasons["instances.hub"].contains("not authenticated yet"));

        b.record_auth("hub", true, now, None);
        b.record_poll("emea", now - AUTH_FRESHNESS_MS - 1, now - 60_000);
        let reasons = b.readiness(&store, now);
        assert_eq!(reasons.keys().collect::<Vec<_>>(), ["instances.emea"]);
        assert!(reasons["instances.emea"].contains("not authenticated since 2023-11-14T"), "{reasons:?}");

        b.record_auth("emea", false, now, Some("401 Unauthorized".into()));
        assert!(b.readiness(&store, now)["instances.emea"].contains("authentication failed (last error: 401"));
        b.record_auth("emea", true, now, None);
        assert!(b.readiness(&store, now).is_empty());

        b.set_ready_store(false);
        assert_eq!(b.readiness(&store, now).keys().collect::<Vec<_>>(), ["store"]);
    }

    /// A watched part that stops beating makes `/readyz` fail, naming it.
    #[tokio::test(start_paused = true)]
    async fn readiness_names_a_stalled_part() {
        let store = store();
        let b = StatusBoard::new();
        b.heartbeats.watch(["planner".to_string(), "writer.hub".to_string()]);
        assert!(b.readiness(&store, 0).is_empty());
        tokio::time::advance(STALL_AFTER / 2).await;
        b.heartbeats.beat("planner");
        tokio::time::advance(STALL_AFTER / 2 + std::time::Duration::from_secs(1)).await;
        let reasons = b.readiness(&store, 0);
        assert_eq!(reasons.keys().collect::<Vec<_>>(), ["parts.writer.hub"]);
        assert!(reasons["parts.writer.hub"].contains("no progress for 61 s"), "{reasons:?}");
    }

    #[test]
    fn unknown_instances_are_not_invented() {
        let b = board();
        b.record_webhook("nope", 1);
        assert!(b.instance("nope").is_none());
        assert_eq!(b.instances().len(), 2);
    }

    #[test]
    fn snapshot_reports_lag_flows_and_limiter() {
        let store = store();
        let b = board();
        b.record_poll("emea", 10_000, 4_000);
        b.record_conflict("f1", super::super::events::tests::conflict("summary"));
        b.record_conflict("f1", super::super::events::tests::conflict("summary"));
        b.set_flow_links("f1", 3);
        b.record_flow_error("f1", 9_000, "Field 'x' cannot be set");
        let s = serde_json::to_value(snapshot(&b, &store, 10_500)).unwrap();
        assert_eq!(s["instances"]["emea"]["poll_lag_seconds"], 6.5);
        assert_eq!(s["instances"]["emea"]["role"], "secondary");
        assert_eq!(s["instances"]["emea"]["flavour"], "datacenter");
        assert_eq!(s["instances"]["emea"]["last_poll"], "1970-01-01T00:00:10.000Z");
        assert_eq!(s["instances"]["hub"]["poll_lag_seconds"], Value::Null);
        assert_eq!(s["instances"]["hub"]["rate_limit"]["writes_per_second"], 5.0);
        assert_eq!(s["flows"]["f1"]["conflicts"], 2);
        assert_eq!(s["flows"]["f1"]["last_conflict"]["field"], "summary");
        assert_eq!(s["flows"]["f1"]["last_conflict"]["winner"], "primary");
        assert_eq!(s["flows"]["f1"]["links"], 3);
        assert_eq!(s["flows"]["f1"]["last_error"], "Field 'x' cannot be set");
        assert_eq!(s["inbox_depth"], 0);
        assert_eq!(s["links"], 0);
    }

    /// The document's names are a contract: every key, at every level.
    #[test]
    fn the_status_document_keeps_its_names() {
        let store = store();
        let b = board();
        b.set_flow_links("f1", 0);
        let s = serde_json::to_value(snapshot(&b, &store, 0)).unwrap();
        let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>().join(",");
        assert_eq!(
            keys(&s),
            "dead_letters,flows,inbox_depth,instances,links,now,ready,reconcile,reload,schema_version,store,version"
        );
        assert_eq!(s["reconcile"], Value::Null, "before the first pass");
        b.record_reconcile(ReconcileRun { pairs: 3, ..ReconcileRun::default() });
        let after = serde_json::to_value(snapshot(&b, &store, 0)).unwrap();
        assert_eq!(
            keys(&after["reconcile"]),
            "differing,duration_ms,finished_ms,last_run,missing,on_demand,pairs,queued"
        );
        assert_eq!(keys(&s["store"]), "file,last_error,last_error_at,recoveries,state");
        assert_eq!(
            keys(&s["instances"]["hub"]),
            "auth,dead_letters,flavour,last_auth_ok,last_error,last_error_at,last_poll,last_webhook,\
             outbox_depth,paused,paused_since,paused_until,poll_lag_seconds,rate_limit,reachable,role"
        );
        assert_eq!(keys(&s["reload"]), "attempts,errors,last_applied,last_attempt,outcome");
        assert_eq!(
            keys(&s["flows"]["f1"]),
            "conflicts,last_conflict,last_error,last_error_at,last_sync,links,pending_links,unmapped_link_types"
        );
    }

    /// `reachable` is what the transport saw; a call that got no answer is
    /// the instance's last error when it is the newest.
    #[test]
    fn reachable_follows_the_transport() {
        let store = store();
        let b = board();
        let down = Reachability { reachable: Some(false), last_failure: Some((5_000, "connection refused".into())) };
        b.register_instance("emea", Role::Secondary, Flavour::DataCenter, probe(down));
        b.record_auth("emea", false, 4_000, Some("401".into()));
        let s = serde_json::to_value(snapshot(&b, &store, 6_000)).unwrap();
        assert_eq!(s["instances"]["hub"]["reachable"], true);
        assert_eq!(s["instances"]["emea"]["reachable"], false);
        assert_eq!(s["instances"]["emea"]["last_error"], "connection refused");
        assert_eq!(s["instances"]["emea"]["last_error_at"], "1970-01-01T00:00:05.000Z");
    }
}
