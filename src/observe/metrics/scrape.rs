//! The gauges (and the counters others keep: the store's recoveries, the
//! limiter's 429s, the board's conflicts), read at each scrape from the
//! store and the [`StatusBoard`] into a recorder made for that scrape.

use metrics::{KeyName, Recorder, SharedString};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusRecorder};

use super::{Family, METADATA};
use crate::jira::LimiterState;
use crate::observe::status::{InstanceStatus, StatusBoard, pending_by_flow};
use crate::store::{Store, StoreState};

const UP: Family = Family::new("jirafed_up", "1 while the daemon runs.", &[]);
const BUILD_INFO: Family =
    Family::new("jirafed_build_info", "Always 1; the labels name the running build.", &["version", "os", "arch"]);
const HTTP_CONNECTIONS: Family =
    Family::new("jirafed_http_connections", "Connections the HTTP listener serves now.", &[]);
const STORE_AVAILABLE: Family =
    Family::new("jirafed_store_available", "1 while the store takes commits, 0 while it recovers.", &[]);
const STORE_RECOVERIES: Family =
    Family::new("jirafed_store_recoveries_total", "Times the store reopened itself after a storage failure.", &[]);
const INBOX_DEPTH: Family = Family::new("jirafed_inbox_depth", "Changes waiting to be planned.", &[]);
const LINKS: Family = Family::new("jirafed_links", "Stored pairings of a secondary issue and its mirror.", &[]);
const FLOW_LINKS: Family = Family::new(
    "jirafed_flow_links",
    "Stored pairings of this flow, as the store counts them (the flow's links in /status).",
    &["flow"],
);
const PENDING_LINKS: Family =
    Family::new("jirafed_pending_links", "Issue links of this flow waiting for their far end's mirror.", &["flow"]);
const CONFLICTS: Family = Family::new("jirafed_conflicts_total", "Conflicts resolved by the flow's policy.", &["flow"]);
const OUTBOX_DEPTH: Family = Family::new("jirafed_outbox_depth", "Writes waiting for this instance.", &["instance"]);
const PAUSED: Family =
    Family::new("jirafed_paused", "1 while writes to this instance wait (jirafed pause), else 0.", &["instance"]);
const PAUSED_SECONDS: Family = Family::new(
    "jirafed_paused_seconds",
    "How long writes to this instance have waited by hand (jirafed pause), 0 when they do not.",
    &["instance"],
);
const DEAD_LETTERS: Family =
    Family::new("jirafed_dead_letters", "Writes to this instance that failed for good.", &["instance"]);
const POLL_LAG: Family =
    Family::new("jirafed_poll_lag_seconds", "Now minus the instance's poll cursor.", &["instance"]);
const RATE_LIMITED: Family =
    Family::new("jirafed_rate_limited_total", "429 answers received from this instance.", &["instance"]);
const RATE_LIMIT_TOKENS: Family = Family::new(
    "jirafed_rate_limit_tokens",
    "Calls the instance's rate limiter lets through now without waiting, per budget (read, write).",
    &["instance", "kind"],
);
const RATE_LIMIT_PAUSED: Family = Family::new(
    "jirafed_rate_limit_paused",
    "1 while a 429's Retry-After holds this budget (read, write) of the instance, else 0.",
    &["instance", "kind"],
);
const WRITE_RATE_ALLOWED: Family = Family::new(
    "jirafed_write_rate_allowed",
    "Writes a second the instance allows itself now: writes_per_second, less while the site says others spend its budget.",
    &["instance"],
);
const IN_FLIGHT: Family =
    Family::new("jirafed_jira_calls_in_flight", "Calls to this instance in flight now.", &["instance"]);
const REACHABLE: Family = Family::new(
    "jirafed_reachable",
    "1 when the last call to this instance got an answer (any HTTP status), 0 when none came.",
    &["instance"],
);
const AUTH_OK: Family = Family::new(
    "jirafed_auth_ok",
    "1 when the instance's last authentication check (or authenticated call) succeeded, else 0.",
    &["instance"],
);
const RECONCILE_PAIRS: Family =
    Family::new("jirafed_reconcile_pairs", "Pairs the last reconciliation pass checked.", &[]);
const RECONCILE_MISSING: Family = Family::new(
    "jirafed_reconcile_missing",
    "Pairs the last reconciliation pass found with a source gone or out of scope, or a mirror gone.",
    &[],
);
const RECONCILE_DIFFERING: Family = Family::new(
    "jirafed_reconcile_differing",
    "Pairs the last reconciliation pass found no longer holding what was last synced.",
    &[],
);
const RECONCILE_QUEUED: Family =
    Family::new("jirafed_reconcile_queued", "Changes the last reconciliation pass handed to the planner.", &[]);
const RECONCILE_DURATION: Family =
    Family::new("jirafed_reconcile_duration_seconds", "How long the last reconciliation pass took.", &[]);
const RECONCILE_LAST_RUN: Family = Family::new(
    "jirafed_reconcile_last_run_timestamp_seconds",
    "When the last reconciliation pass ended, in seconds since the epoch.",
    &[],
);

/// One scrape's recorder.
struct Scrape {
    rec: PrometheusRecorder,
}

impl Scrape {
    fn gauge(&self, f: Family, values: &[&str], v: f64) {
        self.rec.describe_gauge(KeyName::from_const_str(f.name), None, SharedString::const_str(f.help));
        self.rec.register_gauge(&f.key(values), &METADATA).set(v);
    }

    fn flag(&self, f: Family, values: &[&str], on: bool) {
        self.gauge(f, values, if on { 1.0 } else { 0.0 });
    }

    /// A counter kept elsewhere, at its current value.
    fn counter(&self, f: Family, values: &[&str], v: u64) {
        self.rec.describe_counter(KeyName::from_const_str(f.name), None, SharedString::const_str(f.help));
        self.rec.register_counter(&f.key(values), &METADATA).absolute(v);
    }
}

/// The scrape-time part of the exposition.
pub(super) fn render(store: &Store, board: &StatusBoard, http_connections: u64, now_ms: i64) -> String {
    let s = Scrape { rec: PrometheusBuilder::new().build_recorder() };
    s.gauge(UP, &[], 1.0);
    s.gauge(BUILD_INFO, &[env!("CARGO_PKG_VERSION"), std::env::consts::OS, std::env::consts::ARCH], 1.0);
    s.gauge(HTTP_CONNECTIONS, &[], http_connections as f64);
    let health = store.health();
    s.flag(STORE_AVAILABLE, &[], health.state == StoreState::Ready);
    s.counter(STORE_RECOVERIES, &[], health.recoveries);
    if let Ok(n) = store.inbox_depth() {
        s.gauge(INBOX_DEPTH, &[], n as f64);
    }
    if let Ok(n) = store.link_count() {
        s.gauge(LINKS, &[], n as f64);
    }
    flows(&s, store, board);
    for (id, status) in board.instances() {
        instance(&s, store, &id, &status, now_ms);
    }
    if let Some(run) = board.last_reconcile() {
        s.gauge(RECONCILE_PAIRS, &[], run.pairs as f64);
        s.gauge(RECONCILE_MISSING, &[], run.missing as f64);
        s.gauge(RECONCILE_DIFFERING, &[], run.differing as f64);
        s.gauge(RECONCILE_QUEUED, &[], run.queued as f64);
        s.gauge(RECONCILE_DURATION, &[], run.duration_ms as f64 / 1000.0);
        s.gauge(RECONCILE_LAST_RUN, &[], run.finished_ms as f64 / 1000.0);
    }
    s.rec.handle().render()
}

/// Per configured flow: pairs, pending links, conflicts.
fn flows(s: &Scrape, store: &Store, board: &StatusBoard) {
    let counts = store.link_counts().ok();
    let pending = pending_by_flow(store);
    for (name, f) in board.flows() {
        // As /status counts them: the store's per-flow counter.
        let links = match &counts {
            Some(c) => Some(c.get(&name).copied().or(f.links).unwrap_or(0)),
            None => f.links,
        };
        if let Some(n) = links {
            s.gauge(FLOW_LINKS, &[&name], n as f64);
        }
        if let Some(p) = &pending {
            s.gauge(PENDING_LINKS, &[&name], p.get(&name).copied().unwrap_or(0) as f64);
        }
        s.counter(CONFLICTS, &[&name], f.conflicts);
    }
}

fn instance(s: &Scrape, store: &Store, id: &str, status: &InstanceStatus, now_ms: i64) {
    if let Ok(n) = store.outbox_depth(id) {
        s.gauge(OUTBOX_DEPTH, &[id], n as f64);
    }
    if let Ok(since) = store.paused_since(id) {
        s.flag(PAUSED, &[id], since.is_some());
        let waited = since.map_or(0, |t| (now_ms - t).max(0));
        s.gauge(PAUSED_SECONDS, &[id], waited as f64 / 1000.0);
    }
    if let Ok(n) = store.dead_letter_count(Some(id)) {
        s.gauge(DEAD_LETTERS, &[id], n as f64);
    }
    let cursor = store.cursor(id).ok().flatten().or(status.poll_cursor_ms);
    if let Some(c) = cursor {
        s.gauge(POLL_LAG, &[id], (now_ms - c).max(0) as f64 / 1000.0);
    }
    s.flag(AUTH_OK, &[id], status.auth_ok);
    let Some(health) = status.health() else { return };
    if let Some(reachable) = health.reach.reachable {
        s.flag(REACHABLE, &[id], reachable);
    }
    if let Some(l) = health.limiter {
        limiter(s, id, &l, now_ms);
    }
}

fn limiter(s: &Scrape, id: &str, l: &LimiterState, now_ms: i64) {
    s.counter(RATE_LIMITED, &[id], l.rate_limited_total);
    s.gauge(IN_FLIGHT, &[id], f64::from(l.in_flight));
    s.gauge(WRITE_RATE_ALLOWED, &[id], l.writes_per_second_allowed);
    for (kind, tokens, until) in
        [("read", l.read_tokens, l.read_paused_until), ("write", l.write_tokens, l.write_paused_until)]
    {
        s.gauge(RATE_LIMIT_TOKENS, &[id, kind], f64::from(tokens));
        s.flag(RATE_LIMIT_PAUSED, &[id, kind], until.is_some_and(|t| t.timestamp_millis() > now_ms));
    }
}
