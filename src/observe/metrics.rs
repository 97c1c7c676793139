//! Prometheus metrics, hand-written: the text exposition format is small and
//! a registry of a dozen families needs no crate.
//!
//! Counters and histograms are kept here and bumped by the engine and the
//! HTTP face through [`Metrics`]' typed methods, so label names and values
//! stay bounded (instance ids and flow names come from the config; ops and
//! outcomes are `&'static str` or enums). Gauges are not kept: they are read
//! from the store and the [`StatusBoard`] at each scrape.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

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

/// Label values in the order of the family's label names.
type Labels = Vec<String>;

/// A family of counters.
struct Counters {
    name: &'static str,
    help: &'static str,
    labels: &'static [&'static str],
    series: Mutex<BTreeMap<Labels, u64>>,
}

impl Counters {
    fn new(name: &'static str, help: &'static str, labels: &'static [&'static str]) -> Self {
        Counters { name, help, labels, series: Mutex::default() }
    }

    fn add(&self, values: &[&str], n: u64) {
        *lock(&self.series).entry(owned(values)).or_default() += n;
    }

    fn get(&self, values: &[&str]) -> u64 {
        lock(&self.series).get(&owned(values)).copied().unwrap_or(0)
    }

    fn render(&self, out: &mut String) {
        header(out, self.name, self.help, "counter");
        for (values, n) in lock(&self.series).iter() {
            sample(out, self.name, "", self.labels, values, None, &n.to_string());
        }
    }
}

#[derive(Clone)]
struct HistogramData {
    /// Per bucket (not cumulative); rendered cumulatively.
    counts: Vec<u64>,
    sum: f64,
    count: u64,
}

/// A family of histograms with fixed buckets.
struct Histograms {
    name: &'static str,
    help: &'static str,
    labels: &'static [&'static str],
    buckets: &'static [f64],
    series: Mutex<BTreeMap<Labels, HistogramData>>,
}

impl Histograms {
    fn new(name: &'static str, help: &'static str, labels: &'static [&'static str], buckets: &'static [f64]) -> Self {
        Histograms { name, help, labels, buckets, series: Mutex::default() }
    }

    fn observe(&self, values: &[&str], v: f64) {
        if !v.is_finite() {
            return;
        }
        let v = v.max(0.0);
        let mut series = lock(&self.series);
        let h = series.entry(owned(values)).or_insert_with(|| HistogramData {
            counts: vec![0; self.buckets.len()],
            sum: 0.0,
            count: 0,
        });
        if let Some(i) = self.buckets.iter().position(|b| v <= *b) {
            h.counts[i] += 1;
        }
        h.sum += v;
        h.count += 1;
    }

    fn render(&self, out: &mut String) {
        header(out, self.name, self.help, "histogram");
        for (values, h) in lock(&self.series).iter() {
            let mut cumulative = 0;
            for (bound, n) in self.buckets.iter().zip(&h.counts) {
                cumulative += n;
                let le = number(*bound);
                sample(out, self.name, "_bucket", self.labels, values, Some(&le), &cumulative.to_string());
            }
            sample(out, self.name, "_bucket", self.labels, values, Some("+Inf"), &h.count.to_string());
            sample(out, self.name, "_sum", self.labels, values, None, &number(h.sum));
            sample(out, self.name, "_count", self.labels, values, None, &h.count.to_string());
        }
    }
}

/// The daemon's metrics. Shared as `Arc<Metrics>`.
pub struct Metrics {
    webhooks: Counters,
    changes: Counters,
    writes: Counters,
    call_seconds: Histograms,
    propagation_seconds: Histograms,
    http_limited: Counters,
    /// Connections the HTTP listener serves now.
    http_connections: AtomicU64,
    task_restarts: Counters,
    reloads: Counters,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        Metrics {
            webhooks: Counters::new(
                "jirafed_webhooks_total",
                "Webhook requests received, by outcome.",
                &["instance", "outcome"],
            ),
            changes: Counters::new(
                "jirafed_changes_total",
                "Changes queued in the inbox, by where they came from.",
                &["instance", "source"],
            ),
            writes: Counters::new(
                "jirafed_writes_total",
                "Write attempts to Jira, by operation and outcome.",
                &["instance", "op", "outcome"],
            ),
            call_seconds: Histograms::new(
                "jirafed_jira_call_seconds",
                "Latency of calls to Jira, by outcome.",
                &["instance", "outcome"],
                CALL_BUCKETS,
            ),
            propagation_seconds: Histograms::new(
                "jirafed_propagation_seconds",
                "Time from a change entering the inbox to its write succeeding on the other side.",
                &["flow"],
                PROPAGATION_BUCKETS,
            ),
            http_limited: Counters::new(
                "jirafed_http_limited_total",
                "Clients the HTTP listener cut short or held back, by reason.",
                &["reason"],
            ),
            http_connections: AtomicU64::new(0),
            task_restarts: Counters::new(
                "jirafed_task_restarts_total",
                "Engine tasks restarted by the supervisor after they ended or panicked.",
                &["task"],
            ),
            reloads: Counters::new("jirafed_reloads_total", "Configuration reloads, by outcome.", &["outcome"]),
        }
    }

    /// The HTTP listener applied one of its limits.
    pub fn http_limited(&self, reason: HttpLimit) {
        self.http_limited.add(&[reason.as_str()], 1);
    }

    /// The current value of `jirafed_http_limited_total` (for tests).
    pub fn http_limited_total(&self, reason: HttpLimit) -> u64 {
        self.http_limited.get(&[reason.as_str()])
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
        self.task_restarts.add(&[task], 1);
    }

    /// The current value of `jirafed_task_restarts_total` for `task`.
    pub fn task_restarts_total(&self, task: &str) -> u64 {
        self.task_restarts.get(&[task])
    }

    /// A reload ended with `outcome` (`"applied"`, `"partial"`, `"refused"`).
    pub fn reload(&self, outcome: &'static str) {
        self.reloads.add(&[outcome], 1);
    }

    /// One webhook request of a configured `instance` ended with `outcome`.
    pub fn webhook(&self, instance: &str, outcome: WebhookOutcome) {
        self.webhooks.add(&[instance, outcome.as_str()], 1);
    }

    /// `n` changes of `instance` from `source` (`"webhook"`, `"poll"`,
    /// `"reconcile"`) were queued.
    pub fn changes(&self, instance: &str, source: &'static str, n: u64) {
        self.changes.add(&[instance, source], n);
    }

    /// A write `op` (`"create"`, `"edit"`, `"transition"`...) to `instance`.
    pub fn write(&self, instance: &str, op: &'static str, outcome: WriteOutcome) {
        self.writes.add(&[instance, op, outcome.as_str()], 1);
    }

    /// One call to `instance` took `secs`; `outcome` is a short fixed word
    /// (`"ok"`, `"client_error"`, `"server_error"`, `"rate_limited"`,
    /// `"network"`).
    pub fn call_latency(&self, instance: &str, outcome: &'static str, secs: f64) {
        self.call_seconds.observe(&[instance, outcome], secs);
    }

    /// A change of `flow` reached the other side `secs` after it was seen.
    pub fn propagation(&self, flow: &str, secs: f64) {
        self.propagation_seconds.observe(&[flow], secs);
    }

    /// The current value of `jirafed_webhooks_total` (for tests and the CLI).
    pub fn webhooks_total(&self, instance: &str, outcome: WebhookOutcome) -> u64 {
        self.webhooks.get(&[instance, outcome.as_str()])
    }

    /// The whole exposition: kept counters and histograms, then gauges read
    /// now from the store and the board. A store counter that cannot be read
    /// is left out rather than reported as zero.
    pub fn render(&self, store: &Store, board: &StatusBoard, now_ms: i64) -> String {
        let mut out = String::with_capacity(4096);
        header(&mut out, "jirafed_up", "1 while the daemon runs.", "gauge");
        out.push_str("jirafed_up 1\n");
        self.webhooks.render(&mut out);
        self.changes.render(&mut out);
        self.writes.render(&mut out);
        self.call_seconds.render(&mut out);
        self.propagation_seconds.render(&mut out);
        self.http_limited.render(&mut out);
        header(&mut out, "jirafed_http_connections", "Connections the HTTP listener serves now.", "gauge");
        let _ = writeln!(out, "jirafed_http_connections {}", self.http_connections());
        self.task_restarts.render(&mut out);
        self.reloads.render(&mut out);
        render_gauges(&mut out, store, board, now_ms);
        out
    }
}

fn render_gauges(out: &mut String, store: &Store, board: &StatusBoard, now_ms: i64) {
    let instances = board.instances();
    let one = |out: &mut String, name: &str, help: &str, value: Option<u64>| {
        header(out, name, help, "gauge");
        if let Some(v) = value {
            sample(out, name, "", &[], &[], None, &v.to_string());
        }
    };
    let health = store.health();
    let available = u64::from(health.state == crate::store::StoreState::Ready);
    one(out, "jirafed_store_available", "1 while the store takes commits, 0 while it recovers.", Some(available));
    header(
        out,
        "jirafed_store_recoveries_total",
        "Times the store reopened itself after a storage failure.",
        "counter",
    );
    sample(out, "jirafed_store_recoveries_total", "", &[], &[], None, &health.recoveries.to_string());
    one(out, "jirafed_inbox_depth", "Changes waiting to be planned.", store.inbox_depth().ok());
    one(out, "jirafed_links", "Stored pairings of a secondary issue and its mirror.", store.link_count().ok());

    let per_instance = |out: &mut String, name: &str, help: &str, kind: &str, f: &dyn Fn(&str) -> Option<String>| {
        header(out, name, help, kind);
        for (id, _) in &instances {
            if let Some(v) = f(id) {
                sample(out, name, "", &["instance"], std::slice::from_ref(id), None, &v);
            }
        }
    };
    per_instance(out, "jirafed_outbox_depth", "Writes waiting for this instance.", "gauge", &|id| {
        store.outbox_depth(id).ok().map(|v| v.to_string())
    });
    per_instance(
        out,
        "jirafed_paused",
        "1 while writes to this instance wait (jirafed pause), else 0.",
        "gauge",
        &|id| store.paused_since(id).ok().map(|p| u64::from(p.is_some()).to_string()),
    );
    per_instance(out, "jirafed_dead_letters", "Writes to this instance that failed for good.", "gauge", &|id| {
        store.dead_letter_count(Some(id)).ok().map(|v| v.to_string())
    });
    per_instance(out, "jirafed_poll_lag_seconds", "Now minus the instance's poll cursor.", "gauge", &|id| {
        let cursor = store.cursor(id).ok().flatten();
        let status = instances.iter().find(|(i, _)| i == id).map(|(_, s)| s);
        let cursor = cursor.or_else(|| status.and_then(|s| s.poll_cursor_ms));
        cursor.map(|c| number((now_ms - c).max(0) as f64 / 1000.0))
    });
    per_instance(out, "jirafed_rate_limited_total", "429 answers received from this instance.", "counter", &|id| {
        let status = instances.iter().find(|(i, _)| i == id).map(|(_, s)| s);
        status.and_then(|s| s.health()).and_then(|h| h.limiter).map(|l| l.rate_limited_total.to_string())
    });

    header(out, "jirafed_conflicts_total", "Conflicts resolved by the flow's policy.", "counter");
    for (flow, f) in board.flows() {
        sample(out, "jirafed_conflicts_total", "", &["flow"], &[flow], None, &f.conflicts.to_string());
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Counters stay consistent even if a holder panicked.
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn owned(values: &[&str]) -> Labels {
    values.iter().map(|v| (*v).to_string()).collect()
}

fn header(out: &mut String, name: &str, help: &str, kind: &str) {
    let _ = writeln!(out, "# HELP {name} {}", escape_help(help));
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

fn sample(
    out: &mut String,
    name: &str,
    suffix: &str,
    labels: &[&str],
    values: &[String],
    le: Option<&str>,
    value: &str,
) {
    out.push_str(name);
    out.push_str(suffix);
    let mut pairs: Vec<(&str, &str)> = labels.iter().copied().zip(values.iter().map(String::as_str)).collect();
    if let Some(le) = le {
        pairs.push(("le", le));
    }
    if !pairs.is_empty() {
        out.push('{');
        for (i, (k, v)) in pairs.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            let _ = write!(out, "{k}=\"{}\"", escape_label(v));
        }
        out.push('}');
    }
    out.push(' ');
    out.push_str(value);
    out.push('\n');
}

/// Label values escape backslash, double quote and newline.
pub fn escape_label(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// HELP text escapes backslash and newline.
fn escape_help(v: &str) -> String {
    v.replace('\\', "\\\\").replace('\n', "\\n")
}

/// A float as Prometheus writes it (`+Inf`, `NaN`, shortest round trip).
fn number(v: f64) -> String {
    if v.is_nan() {
        "NaN".to_string()
    } else if v.is_infinite() {
        if v > 0.0 { "+Inf" } else { "-Inf" }.to_string()
    } else {
        format!("{v}")
    }
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
            m.call_latency("hub", "ok", secs);
        }
        m.call_latency("hub", "ok", f64::NAN);
        let text = m.render(&store, &StatusBoard::new(), 0);
        let line =
            |le: &str| format!("jirafed_jira_call_seconds_bucket{{instance=\"hub\",outcome=\"ok\",le=\"{le}\"}}");
        assert!(text.contains(&format!("{} 1\n", line("0.005"))), "{text}");
        assert!(text.contains(&format!("{} 1\n", line("0.1"))));
        assert!(text.contains(&format!("{} 3\n", line("0.25"))));
        assert!(text.contains(&format!("{} 3\n", line("30"))));
        assert!(text.contains(&format!("{} 4\n", line("+Inf"))));
        assert!(text.contains("jirafed_jira_call_seconds_sum{instance=\"hub\",outcome=\"ok\"} 99.404\n"));
        assert!(text.contains("jirafed_jira_call_seconds_count{instance=\"hub\",outcome=\"ok\"} 4\n"));
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape_label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
        let (_dir, store) = store();
        let m = Metrics::new();
        m.propagation("we \"quote\"", 1.5);
        let text = m.render(&store, &StatusBoard::new(), 0);
        assert!(text.contains("jirafed_propagation_seconds_count{flow=\"we \\\"quote\\\"\"} 1\n"), "{text}");
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
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let (series, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("{line}"));
            assert!(value.parse::<f64>().is_ok() || value == "+Inf", "{line}");
            let name = series.split('{').next().unwrap();
            assert!(name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'), "{line}");
        }
    }
}
