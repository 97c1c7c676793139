//! Prometheus metrics, rendered in the classic text format by the
//! `metrics-exporter-prometheus` recorder (docs/operations.md says why this
//! library).
//!
//! Counters and histograms are kept in one recorder and bumped by the
//! engine, the Jira transport and the HTTP face through [`Metrics`]' typed
//! methods, so label names and values stay bounded (instance ids and flow
//! names come from the config; ops and outcomes are `&'static str` or
//! enums). Gauges are not kept: at each scrape they are read from the store
//! and the [`StatusBoard`] into a recorder of their own ([`scrape`]), so that
//! an instance or flow removed by a reload leaves no stale series.

mod scrape;

use std::sync::atomic::{AtomicU64, Ordering};

use metrics::{Key, KeyName, Label, Level, Metadata, Recorder, SharedString};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle, PrometheusRecorder};

use super::status::StatusBoard;
use crate::store::Store;

/// Jira call latency buckets, in seconds.
pub const CALL_BUCKETS: &[f64] = &[0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];
/// Propagation (change seen -> written on the other side) buckets, in seconds.
pub const PROPAGATION_BUCKETS: &[f64] = &[0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 900.0];

/// What became of one webhook request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookOutcome {
    /// Its changes were committed to the inbox.
    Accepted,
    /// Every change was a delivery already seen.
    Duplicate,
    /// An event jirafed does not use; acknowledged, nothing stored.
    Ignored,
    /// Refused: bad signature, malformed body, too large, store failure.
    Rejected,
}

impl WebhookOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            WebhookOutcome::Accepted => "accepted",
            WebhookOutcome::Duplicate => "duplicate",
            WebhookOutcome::Ignored => "ignored",
            WebhookOutcome::Rejected => "rejected",
        }
    }
}

/// Why the HTTP listener cut a client short (`jirafed_http_limited_total`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpLimit {
    /// A connection did not send a request's headers in time; it was closed.
    HeaderTimeout,
    /// A request was not completed in time; answered 408, connection closed.
    RequestTimeout,
    /// The connection cap was reached; new connections wait (counted once
    /// each time the cap is reached).
    MaxConnections,
    /// A connection reached its request cap; it was closed after the answer.
    MaxRequests,
}

impl HttpLimit {
    pub fn as_str(self) -> &'static str {
        match self {
            HttpLimit::HeaderTimeout => "header_timeout",
            HttpLimit::RequestTimeout => "request_timeout",
            HttpLimit::MaxConnections => "max_connections",
            HttpLimit::MaxRequests => "max_requests",
        }
    }
}

/// What became of one write attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteOutcome {
    /// Jira accepted it.
    Ok,
    /// It failed and was rescheduled.
    Retry,
    /// It failed permanently and was dead-lettered.
    DeadLetter,
}

impl WriteOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            WriteOutcome::Ok => "ok",
            WriteOutcome::Retry => "retry",
            WriteOutcome::DeadLetter => "dead_letter",
        }
    }
}

/// One metric family: its name, its HELP text and its label names.
#[derive(Debug, Clone, Copy)]
struct Family {
    name: &'static str,
    help: &'static str,
    labels: &'static [&'static str],
}

impl Family {
    const fn new(name: &'static str, help: &'static str, labels: &'static [&'static str]) -> Family {
        Family { name, help, labels }
    }

    /// The series with these label values (in the order of `labels`).
    fn key(&self, values: &[&str]) -> Key {
        let labels: Vec<Label> =
            self.labels.iter().zip(values).map(|(k, v)| Label::new(*k, (*v).to_string())).collect();
        Key::from_parts(self.name, labels)
    }
}

const WEBHOOKS: Family =
    Family::new("jirafed_webhooks_total", "Webhook requests received, by outcome.", &["instance", "outcome"]);
const CHANGES: Family = Family::new(
    "jirafed_changes_total",
    "Changes queued in the inbox, by where they came from.",
    &["instance", "source"],
);
const WRITES: Family = Family::new(
    "jirafed_writes_total",
    "Write attempts to Jira, by operation and outcome.",
    &["instance", "op", "outcome"],
);
const CALL_SECONDS: Family = Family::new(
    "jirafed_jira_call_seconds",
    "Latency of calls to Jira, by outcome.",
    &["instance", "operation", "outcome"],
);
const PROPAGATION_SECONDS: Family = Family::new(
    "jirafed_propagation_seconds",
    "Time from a change entering the inbox to its write succeeding on the other side.",
    &["flow"],
);
const HTTP_LIMITED: Family = Family::new(
    "jirafed_http_limited_total",
    "Clients the HTTP listener cut short or held back, by reason.",
    &["reason"],
);
const TASK_RESTARTS: Family = Family::new(
    "jirafed_task_restarts_total",
    "Engine tasks restarted by the supervisor after they ended or panicked.",
    &["task"],
);
const RELOADS: Family = Family::new("jirafed_reloads_total", "Configuration reloads, by outcome.", &["outcome"]);

/// The counter families kept across scrapes.
const KEPT_COUNTERS: [Family; 6] = [WEBHOOKS, CHANGES, WRITES, HTTP_LIMITED, TASK_RESTARTS, RELOADS];

/// Histogram samples wait in the recorder until it is rendered or upkept;
/// the hot path upkeeps it every this many samples so that a daemon nobody
/// scrapes keeps a bounded backlog.
const UPKEEP_EVERY: u64 = 1024;

/// Where a handle is registered from (the recorder ignores it).
const METADATA: Metadata<'static> = Metadata::new(module_path!(), Level::INFO, Some(module_path!()));

/// The daemon's metrics. Shared as `Arc<Metrics>`.
pub struct Metrics {
    /// Counters and histograms, kept from start.
    kept: PrometheusRecorder,
    handle: PrometheusHandle,
    /// Connections the HTTP listener serves now.
    http_connections: AtomicU64,
    /// Histogram samples recorded, for the upkeep.
    samples: AtomicU64,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let builder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Full(CALL_SECONDS.name.into()), CALL_BUCKETS)
            .and_then(|b| b.set_buckets_for_metric(Matcher::Full(PROPAGATION_SECONDS.name.into()), PROPAGATION_BUCKETS))
            .expect("the bucket lists are not empty");
        let kept = builder.build_recorder();
        for f in KEPT_COUNTERS {
            kept.describe_counter(KeyName::from_const_str(f.name), None, SharedString::const_str(f.help));
        }
        for f in [CALL_SECONDS, PROPAGATION_SECONDS] {
            kept.describe_histogram(KeyName::from_const_str(f.name), None, SharedString::const_str(f.help));
        }
        let handle = kept.handle();
        Metrics { kept, handle, http_connections: AtomicU64::new(0), samples: AtomicU64::new(0) }
    }

    fn add(&self, f: Family, values: &[&str], n: u64) {
        self.kept.register_counter(&f.key(values), &METADATA).increment(n);
    }

    fn observe(&self, f: Family, values: &[&str], v: f64) {
        if !v.is_finite() {
            return;
        }
        self.kept.register_histogram(&f.key(values), &METADATA).record(v.max(0.0));
        if (self.samples.fetch_add(1, Ordering::Relaxed) + 1) % UPKEEP_EVERY == 0 {
            self.handle.run_upkeep();
        }
    }

    /// A kept counter's value, read from the exposition (for tests and the
    /// CLI; the recorder's handles cannot be read back).
    fn counter(&self, f: Family, values: &[&str]) -> u64 {
        let series = series(f, values);
        let text = self.handle.render();
        let line = text.lines().find_map(|l| l.strip_prefix(series.as_str())?.strip_prefix(' '));
        line.and_then(|v| v.parse().ok()).unwrap_or(0)
    }

    /// The HTTP listener applied one of its limits.
    pub fn http_limited(&self, reason: HttpLimit) {
        self.add(HTTP_LIMITED, &[reason.as_str()], 1);
    }

    /// The current value of `jirafed_http_limited_total` (for tests).
    pub fn http_limited_total(&self, reason: HttpLimit) -> u64 {
        self.counter(HTTP_LIMITED, &[reason.as_str()])
    }

    /// The HTTP listener started serving a connection.
    pub fn http_connection_opened(&self) {
        self.http_connections.fetch_add(1, Ordering::Relaxed);
    }

    /// A served connection closed.
    pub fn http_connection_closed(&self) {
        // Never below zero, whatever the order of events.
        let _ = self.http_connections.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1));
    }

    /// The current value of `jirafed_http_connections`.
    pub fn http_connections(&self) -> u64 {
        self.http_connections.load(Ordering::Relaxed)
    }

    /// The supervisor restarted `task` (`planner`, `writer.hub`...).
    pub fn task_restart(&self, task: &str) {
        self.add(TASK_RESTARTS, &[task], 1);
    }

    /// The current value of `jirafed_task_restarts_total` for `task`.
    pub fn task_restarts_total(&self, task: &str) -> u64 {
        self.counter(TASK_RESTARTS, &[task])
    }

    /// A reload ended with `outcome` (`"applied"`, `"partial"`, `"refused"`).
    pub fn reload(&self, outcome: &'static str) {
        self.add(RELOADS, &[outcome], 1);
    }

    /// One webhook request of a configured `instance` ended with `outcome`.
    pub fn webhook(&self, instance: &str, outcome: WebhookOutcome) {
        self.add(WEBHOOKS, &[instance, outcome.as_str()], 1);
    }

    /// `n` changes of `instance` from `source` (`"webhook"`, `"poll"`,
    /// `"reconcile"`) were queued.
    pub fn changes(&self, instance: &str, source: &'static str, n: u64) {
        self.add(CHANGES, &[instance, source], n);
    }

    /// A write `op` (`"create"`, `"edit"`, `"transition"`...) to `instance`.
    pub fn write(&self, instance: &str, op: &'static str, outcome: WriteOutcome) {
        self.add(WRITES, &[instance, op, outcome.as_str()], 1);
    }

    /// One call to `instance` took `secs`; `operation` and `outcome` are
    /// short fixed words ([`crate::jira::CallOp`],
    /// [`crate::jira::CallOutcome`]: `"ok"`, `"client_error"`,
    /// `"server_error"`, `"rate_limited"`, `"network"`).
    pub fn call_latency(&self, instance: &str, operation: &'static str, outcome: &'static str, secs: f64) {
        self.observe(CALL_SECONDS, &[instance, operation, outcome], secs);
    }

    /// A change of `flow` reached the other side `secs` after it was seen.
    pub fn propagation(&self, flow: &str, secs: f64) {
        self.observe(PROPAGATION_SECONDS, &[flow], secs);
    }

    /// The current value of `jirafed_webhooks_total` (for tests and the CLI).
    pub fn webhooks_total(&self, instance: &str, outcome: WebhookOutcome) -> u64 {
        self.counter(WEBHOOKS, &[instance, outcome.as_str()])
    }

    /// The whole exposition: kept counters and histograms, then gauges read
    /// now from the store and the board. A store counter that cannot be read
    /// is left out rather than reported as zero.
    pub fn render(&self, store: &Store, board: &StatusBoard, now_ms: i64) -> String {
        let mut out = self.handle.render();
        out.push_str(&scrape::render(store, board, self.http_connections(), now_ms));
        out
    }
}

/// `name{label="value",...}` as the recorder writes a series.
fn series(f: Family, values: &[&str]) -> String {
    use metrics_exporter_prometheus::formatting::sanitize_label_value;
    let labels: Vec<String> =
        f.labels.iter().zip(values).map(|(k, v)| format!("{k}=\"{}\"", sanitize_label_value(v))).collect();
    if labels.is_empty() { f.name.to_string() } else { format!("{}{{{}}}", f.name, labels.join(",")) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        (dir, store)
    }

    #[test]
    fn http_limits_and_connections_are_exposed() {
        let (_dir, store) = store();
        let m = Metrics::new();
        m.http_connection_opened();
        m.http_connection_opened();
        m.http_connection_closed();
        m.http_limited(HttpLimit::HeaderTimeout);
        m.http_limited(HttpLimit::HeaderTimeout);
        m.http_limited(HttpLimit::MaxConnections);
        assert_eq!(m.http_limited_total(HttpLimit::HeaderTimeout), 2);
        let text = m.render(&store, &StatusBoard::new(), 0);
        assert!(text.contains("# TYPE jirafed_http_connections gauge\njirafed_http_connections 1\n"), "{text}");
        assert!(text.contains("# TYPE jirafed_http_limited_total counter"), "{text}");
        assert!(text.contains("jirafed_http_limited_total{reason=\"header_timeout\"} 2\n"), "{text}");
        assert!(text.contains("jirafed_http_limited_total{reason=\"max_connections\"} 1\n"), "{text}");
        m.http_connection_closed();
        m.http_connection_closed();
        assert_eq!(m.http_connections(), 0, "never below zero");
    }

    #[test]
    fn counters_render_with_help_type_and_labels() {
        let (_dir, store) = store();
        let m = Metrics::new();
        m.webhook("emea", WebhookOutcome::Accepted);
        m.webhook("emea", WebhookOutcome::Accepted);
        m.webhook("emea", WebhookOutcome::Rejected);
        m.changes("emea", "poll", 5);
        m.write("hub", "create", WriteOutcome::Ok);
        let text = m.render(&store, &StatusBoard::new(), 0);
        assert!(text.contains("# HELP jirafed_webhooks_total Webhook requests received, by outcome.\n"));
        assert!(text.contains("# TYPE jirafed_webhooks_total counter\n"));
        assert!(text.contains("jirafed_webhooks_total{instance=\"emea\",outcome=\"accepted\"} 2\n"));
        assert!(text.contains("jirafed_webhooks_total{instance=\"emea\",outcome=\"rejected\"} 1\n"));
        assert!(text.contains("jirafed_changes_total{instance=\"emea\",source=\"poll\"} 5\n"));
        assert!(text.contains("jirafed_writes_total{instance=\"hub\",op=\"create\",outcome=\"ok\"} 1\n"));
        assert!(text.contains("jirafed_up 1\n"));
        assert!(text.contains("jirafed_inbox_depth 0\n"));
        assert!(text.contains("jirafed_store_available 1\n") && text.contains("jirafed_store_recoveries_total 0\n"));
        assert_eq!(m.webhooks_total("emea", WebhookOutcome::Accepted), 2);
    }

    #[test]
    fn histograms_are_cumulative_with_inf_sum_and_count() {
        let (_dir, store) = store();
        let m = Metrics::new();
        for secs in [0.004, 0.2, 0.2, 99.0] {
            m.call_latency("hub", "search", "ok", secs);
        }
        m.call_latency("hub", "search", "ok", f64::NAN);
        let text = m.render(&store, &StatusBoard::new(), 0);
        let line = |le: &str| {
            format!(
                "jirafed_jira_call_seconds_bucket{{instance=\"hub\",operation=\"search\",outcome=\"ok\",le=\"{le}\"}}"
            )
        };
        assert!(text.contains(&format!("{} 1\n", line("0.005"))), "{text}");
        assert!(text.contains(&format!("{} 1\n", line("0.1"))));
        assert!(text.contains(&format!("{} 3\n", line("0.25"))));
        assert!(text.contains(&format!("{} 3\n", line("30"))));
        assert!(text.contains(&format!("{} 4\n", line("+Inf"))));
        let series = "{instance=\"hub\",operation=\"search\",outcome=\"ok\"}";
        assert!(text.contains(&format!("jirafed_jira_call_seconds_sum{series} 99.404\n")), "{text}");
        assert!(text.contains(&format!("jirafed_jira_call_seconds_count{series} 4\n")));
        assert!(text.contains("# TYPE jirafed_jira_call_seconds histogram\n"));
    }

    #[test]
    fn label_values_are_escaped() {
        let (_dir, store) = store();
        let m = Metrics::new();
        m.propagation("we \"quote\"", 1.5);
        let text = m.render(&store, &StatusBoard::new(), 0);
        assert!(text.contains("jirafed_propagation_seconds_count{flow=\"we \\\"quote\\\"\"} 1\n"), "{text}");
    }

    /// The figures `/status` shows per instance and flow are gauges too.
    #[test]
    fn status_figures_are_gauges() {
        let (_dir, store) = store();
        let m = Metrics::new();
        let board = StatusBoard::new();
        board.register_instance(
            "hub",
            crate::config::Role::Primary,
            crate::config::Flavour::Cloud,
            std::sync::Arc::new(|| crate::jira::SiteHealth {
                limiter: Some(crate::jira::limiter::Limiter::new(10.0, 5.0, 7, 4).state()),
                reach: crate::jira::Reachability { reachable: Some(true), last_failure: None },
            }),
        );
        board.set_flow_links("f", 4);
        board.record_reconcile(super::super::status::ReconcileRun {
            pairs: 12,
            missing: 1,
            differing: 2,
            queued: 3,
            duration_ms: 1500,
            finished_ms: 2_000,
            on_demand: false,
        });
        m.call_latency("hub", "get_issue", "server_error", 0.02);
        let text = m.render(&store, &board, 5_000);
        let version = env!("CARGO_PKG_VERSION");
        assert!(text.contains(&format!("jirafed_build_info{{version=\"{version}\",os=")), "{text}");
        assert!(text.contains("jirafed_rate_limit_tokens{instance=\"hub\",kind=\"write\"} 7\n"), "{text}");
        assert!(text.contains("jirafed_rate_limit_paused{instance=\"hub\",kind=\"read\"} 0\n"));
        assert!(text.contains("jirafed_jira_calls_in_flight{instance=\"hub\"} 0\n"));
        assert!(text.contains("jirafed_write_rate_allowed{instance=\"hub\"} 5\n"), "{text}");
        assert!(text.contains("jirafed_reachable{instance=\"hub\"} 1\n"));
        assert!(text.contains("jirafed_auth_ok{instance=\"hub\"} 0\n"), "not authenticated yet");
        assert!(text.contains("jirafed_paused{instance=\"hub\"} 0\n"));
        assert!(text.contains("jirafed_paused_seconds{instance=\"hub\"} 0\n"));
        assert!(text.contains("jirafed_flow_links{flow=\"f\"} 4\n"), "{text}");
        assert!(text.contains("jirafed_pending_links{flow=\"f\"} 0\n"));
        assert!(text.contains("jirafed_reconcile_pairs 12\n") && text.contains("jirafed_reconcile_queued 3\n"));
        assert!(text.contains("jirafed_reconcile_duration_seconds 1.5\n"));
        assert!(text.contains("jirafed_reconcile_last_run_timestamp_seconds 2\n"));
        let call =
            "jirafed_jira_call_seconds_count{instance=\"hub\",operation=\"get_issue\",outcome=\"server_error\"} 1";
        assert!(text.contains(call), "{text}");
    }

    /// A reload that drops an instance drops its series: gauges are not kept.
    #[test]
    fn gauges_follow_the_board() {
        let (_dir, store) = store();
        let m = Metrics::new();
        let board = StatusBoard::new();
        let probe = std::sync::Arc::new(crate::jira::SiteHealth::default);
        board.register_instance("emea", crate::config::Role::Secondary, crate::config::Flavour::Cloud, probe);
        assert!(m.render(&store, &board, 0).contains("jirafed_outbox_depth{instance=\"emea\"} 0\n"));
        let empty = StatusBoard::new();
        assert!(!m.render(&store, &empty, 0).contains("instance=\"emea\""));
    }

    #[test]
    fn kept_counters_read_back() {
        let m = Metrics::new();
        m.task_restart("writer.hub");
        m.task_restart("writer.hub");
        m.webhook("emea", WebhookOutcome::Duplicate);
        assert_eq!(m.task_restarts_total("writer.hub"), 2);
        assert_eq!(m.task_restarts_total("planner"), 0);
        assert_eq!(m.webhooks_total("emea", WebhookOutcome::Duplicate), 1);
        assert_eq!(m.webhooks_total("emea", WebhookOutcome::Accepted), 0);
    }

    #[test]
    fn every_sample_line_is_name_labels_value() {
        let (_dir, store) = store();
        let m = Metrics::new();
        m.propagation("f", 3.0);
        let board = StatusBoard::new();
        board.register_instance(
            "hub",
            crate::config::Role::Primary,
            crate::config::Flavour::Cloud,
            std::sync::Arc::new(|| crate::jira::SiteHealth {
                limiter: Some(crate::jira::limiter::Limiter::new(1.0, 1.0, 1, 1).state()),
                ..Default::default()
            }),
        );
        board.record_poll("hub", 5_000, 2_000);
        board.record_conflict("f", super::super::events::tests::conflict("summary"));
        let text = m.render(&store, &board, 5_000);
        assert!(text.contains("jirafed_poll_lag_seconds{instance=\"hub\"} 3\n"), "{text}");
        assert!(text.contains("jirafed_rate_limited_total{instance=\"hub\"} 0\n"));
        assert!(text.contains("jirafed_outbox_depth{instance=\"hub\"} 0\n"));
        assert!(text.contains("jirafed_conflicts_total{flow=\"f\"} 1\n"));
        for line in text.lines().filter(|l| !l.is_empty() && !l.starts_with('#')) {
            let (series, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("{line}"));
            assert!(value.parse::<f64>().is_ok() || value == "+Inf", "{line}");
            let name = series.split('{').next().unwrap();
            assert!(name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'), "{line}");
        }
    }
}
