//! `/metrics` after a change has flowed, checked by Prometheus' own tools:
//! the exposition by `promtool check metrics`, the shipped alert rules by
//! `promtool check rules`, and the shipped dashboard's and rules' queries
//! against the names the daemon really exposes; and the Jira transport's
//! timing of each attempt, which feeds `jirafed_jira_call_seconds`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use jirafed::jira::{Call, CallOp, CallOutcome, CallTimer, CallTiming, RetryConfig, Transport};

use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;

use super::support::process::{Jirafed, jirafed_once};
use super::support::tools::find as require_tool;
use super::support::workload::search_all;
use super::support::{Sim, instance_config, wait_until};

const WITHIN: Duration = Duration::from_secs(60);
const FLOW: &str = "emea-delivery";

/// What one scrape showed: the text, and each sample's value by series.
struct Scrape {
    text: String,
    samples: BTreeMap<String, f64>,
}

impl Scrape {
    fn parse(text: String) -> Scrape {
        let samples = text
            .lines()
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .filter_map(|l| {
                let (series, value) = l.rsplit_once(' ')?;
                Some((series.to_string(), value.parse().ok()?))
            })
            .collect();
        Scrape { text, samples }
    }

    fn get(&self, series: &str) -> Option<f64> {
        self.samples.get(series).copied()
    }

    /// The sum over the series of `name` whose labels include every `label`.
    fn sum(&self, name: &str, labels: &[&str]) -> f64 {
        let prefix = format!("{name}{{");
        let matching = self.samples.iter().filter(|(s, _)| s.starts_with(&prefix) || s.as_str() == name);
        matching.filter(|(s, _)| labels.iter().all(|l| s.contains(l))).map(|(_, v)| v).sum()
    }

    /// The names of every sample (`_bucket`, `_count`... included).
    fn names(&self) -> BTreeSet<String> {
        self.samples.keys().map(|s| s.split('{').next().unwrap_or_default().to_string()).collect()
    }
}

/// Families that have samples only once something happened: a scrape is
/// taken when every one of them has.
const HAPPENED: &[&str] = &[
    "jirafed_jira_call_seconds_count",
    "jirafed_propagation_seconds_count",
    "jirafed_writes_total",
    "jirafed_changes_total",
    "jirafed_webhooks_total",
    "jirafed_reconcile_pairs",
    "jirafed_poll_lag_seconds",
];

/// A daemon on the simulator after an issue created on emea was mirrored
/// on the hub and `jirafed resync` checked the flow; with the `/status`
/// document read at the scrape.
async fn after_a_change_flow() -> (Scrape, Value) {
    let sim = Sim::start_as("alice").await;
    let state = tempfile::tempdir().expect("tempdir");
    let http = reqwest::Client::new();
    let daemon = Jirafed::start(&sim, state.path(), None).await;
    let addr = daemon.addr.parse().expect("daemon address");
    jirafed::harness::register_webhooks(&sim.sim, addr).await.expect("webhooks registered");

    sim.create("emea", "EMEA", "Counted by the metrics", json!({})).await;
    wait_until(WITHIN, "the mirror made on the hub", || async {
        let found = search_all(&sim, "hub", "project = PORT", &["summary"]).await;
        found.iter().any(|i| i["fields"]["summary"] == "Counted by the metrics").then_some(())
    })
    .await;
    let (code, out, err) = jirafed_once(&sim, state.path(), &["resync", FLOW]).await;
    assert_eq!(code, 0, "{out}{err}");
    let (scrape, status) = wait_until(WITHIN, "every family with samples, the queues empty", || async {
        let status = daemon.status(&http).await;
        let scrape = Scrape::parse(daemon.metrics(&http).await);
        let names = scrape.names();
        let settled = status["inbox_depth"] == 0
            && status["instances"].as_object()?.values().all(|i| i["outbox_depth"] == 0)
            && status["reconcile"].is_object();
        // Read again: nothing moved between the two reads.
        let again = daemon.status(&http).await;
        (settled && again["flows"] == status["flows"] && HAPPENED.iter().all(|n| names.contains(*n)))
            .then_some((scrape, status))
    })
    .await;
    daemon.stop().await;
    (scrape, status)
}

/// Jira calls are timed by instance, operation and outcome; the figures of
/// `/status` are gauges with the same values; and `promtool check metrics`
/// finds nothing to say about the exposition.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_exposition_has_every_series_and_passes_promtool() {
    let (m, status) = after_a_change_flow().await;
    let text = &m.text;

    for instance in ["hub", "emea", "apac"] {
        let myself = format!("instance=\"{instance}\",operation=\"myself\",outcome=\"ok\"");
        assert!(m.sum("jirafed_jira_call_seconds_count", &[&myself]) >= 1.0, "{instance}: {text}");
        assert_eq!(m.get(&format!("jirafed_paused{{instance=\"{instance}\"}}")), Some(0.0), "{text}");
        assert_eq!(m.get(&format!("jirafed_paused_seconds{{instance=\"{instance}\"}}")), Some(0.0));
        assert_eq!(m.get(&format!("jirafed_reachable{{instance=\"{instance}\"}}")), Some(1.0), "{text}");
        assert_eq!(m.get(&format!("jirafed_auth_ok{{instance=\"{instance}\"}}")), Some(1.0), "{text}");
        for kind in ["read", "write"] {
            let tokens = m.get(&format!("jirafed_rate_limit_tokens{{instance=\"{instance}\",kind=\"{kind}\"}}"));
            assert!(tokens.is_some_and(|t| t >= 0.0), "{instance} {kind}: {text}");
        }
    }
    let on_hub = |op: &str| m.sum("jirafed_jira_call_seconds_count", &["instance=\"hub\"", op, "outcome=\"ok\""]);
    assert!(on_hub("operation=\"create\"") >= 1.0, "the mirror's create: {text}");
    assert!(m.sum("jirafed_jira_call_seconds_count", &["instance=\"emea\"", "operation=\"search\""]) >= 1.0);
    let buckets =
        m.sum("jirafed_jira_call_seconds_bucket", &["instance=\"hub\"", "operation=\"create\"", "le=\"+Inf\""]);
    assert_eq!(buckets, on_hub("operation=\"create\""), "+Inf counts every create");
    assert!(m.sum("jirafed_writes_total", &["instance=\"hub\"", "outcome=\"ok\""]) >= 1.0, "{text}");
    assert!(m.sum("jirafed_propagation_seconds_count", &[&format!("flow=\"{FLOW}\"")]) >= 1.0);

    let version = env!("CARGO_PKG_VERSION");
    assert!(text.contains(&format!("jirafed_build_info{{version=\"{version}\",")), "{text}");
    let flow = &status["flows"][FLOW];
    let links = flow["links"].as_f64().expect("links in /status");
    assert!(links >= 1.0, "{status}");
    assert_eq!(m.get(&format!("jirafed_flow_links{{flow=\"{FLOW}\"}}")), Some(links), "{text}");
    assert_eq!(m.get(&format!("jirafed_pending_links{{flow=\"{FLOW}\"}}")), flow["pending_links"].as_f64());
    assert_eq!(m.get("jirafed_links"), status["links"].as_f64());
    assert_eq!(m.get("jirafed_reconcile_pairs"), status["reconcile"]["pairs"].as_f64(), "{text}");
    assert_eq!(m.get("jirafed_reconcile_queued"), status["reconcile"]["queued"].as_f64());

    let Some(promtool) = require_tool("promtool", "prometheus") else { return };
    let mut child = tokio::process::Command::new(promtool)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("promtool runs");
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(text.as_bytes()).await.expect("exposition written");
    drop(stdin);
    let out = tokio::time::timeout(WITHIN, child.wait_with_output()).await.expect("promtool ends").expect("output");
    let said = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "promtool check metrics: {said}\n{text}");
    assert_eq!(said.trim(), "", "promtool's lint has something to say");
}

/// The shipped alert rules pass `promtool check rules`, and every metric
/// the rules and the dashboard query is one the daemon exposes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alert_rules_and_dashboard_query_what_the_daemon_exposes() {
    let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs");
    let rules_text = std::fs::read_to_string(docs.join("alerts.yml")).expect("docs/alerts.yml");
    let dashboard: Value =
        serde_json::from_str(&std::fs::read_to_string(docs.join("grafana-dashboard.json")).expect("dashboard"))
            .expect("docs/grafana-dashboard.json is JSON");
    let mut exprs = Vec::new();
    collect_exprs(&dashboard, &mut exprs);
    assert!(exprs.len() >= 10, "the dashboard's queries: {exprs:?}");
    for alert in ["SiteUnreachable", "AuthFailing", "DeadLettersGrowing", "PollLag", "PausedTooLong"] {
        assert!(rules_text.contains(&format!("alert: Jirafed{alert}\n")), "{alert} missing");
    }

    let (m, _) = after_a_change_flow().await;
    let exposed = m.names();
    for (source, text) in exprs.iter().map(|e| ("dashboard", e.as_str())).chain([("alerts.yml", rules_text.as_str())]) {
        let used = metric_names(text);
        assert!(!used.is_empty() || source == "dashboard", "{source}: no metric");
        for name in used {
            assert!(exposed.contains(&name), "{source} uses {name}, which /metrics does not expose: {exposed:?}");
        }
    }

    let Some(promtool) = require_tool("promtool", "prometheus") else { return };
    let out = tokio::process::Command::new(promtool)
        .args(["check", "rules"])
        .arg(docs.join("alerts.yml"))
        .output()
        .await
        .expect("promtool runs");
    let said = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "promtool check rules: {said}");
    assert!(said.contains("SUCCESS: 6 rules found"), "{said}");
}

/// Every `expr` of the dashboard's panels.
fn collect_exprs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(o) => {
            if let Some(Value::String(e)) = o.get("expr") {
                out.push(e.clone());
            }
            o.values().for_each(|v| collect_exprs(v, out));
        }
        Value::Array(a) => a.iter().for_each(|v| collect_exprs(v, out)),
        _ => {}
    }
}

/// The `jirafed_...` names a query or a rules file mentions.
fn metric_names(text: &str) -> BTreeSet<String> {
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == ':';
    text.split(|c: char| !word(c)).filter(|w| w.starts_with("jirafed_")).map(str::to_string).collect()
}

/// Every attempt the transport makes is timed, with the operation its
/// caller named and how it ended: the rows of `jirafed_jira_call_seconds`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_attempt_is_timed_with_its_operation_and_outcome() {
    let sim = Sim::start().await;
    let seen: Arc<Mutex<Vec<CallTiming>>> = Arc::default();
    let timer: CallTimer = {
        let seen = seen.clone();
        Arc::new(move |t: &CallTiming| seen.lock().expect("timings").push(*t))
    };
    let retry = RetryConfig {
        min_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(50),
        max_attempts: 2,
        max_rate_limited: 5,
    };
    let t = Transport::new(&instance_config(&sim, "emea", 10.0, 5)).expect("transport").with_retry(retry);
    let t = t.with_timer(timer);
    let taken = |expected: &[(CallOp, CallOutcome)]| {
        let got: Vec<_> = seen.lock().expect("timings").drain(..).collect();
        let kinds: Vec<_> = got.iter().map(|t| (t.op, t.outcome)).collect();
        assert_eq!(kinds, expected, "{got:?}");
        assert!(got.iter().all(|t| t.seconds.is_finite() && t.seconds >= 0.0), "{got:?}");
    };
    let myself = || Call::get("/rest/api/3/myself").op(CallOp::Myself);
    let edit = |summary: &str| {
        Call::put("/rest/api/3/issue/EMEA-1", json!({"fields": {"summary": summary}})).op(CallOp::Edit).issue("EMEA-1")
    };

    t.send(myself()).await.expect("myself");
    taken(&[(CallOp::Myself, CallOutcome::Ok)]);

    let bad = Call::put("/rest/api/3/issue/EMEA-1", json!({"fields": {"nonexistent": "x"}})).op(CallOp::Edit);
    t.send(bad).await.expect_err("a field Jira does not know");
    taken(&[(CallOp::Edit, CallOutcome::ClientError)]);

    sim_faults(&sim, json!({"error_rate": 1.0})).await;
    t.send(myself()).await.expect_err("5xx twice");
    taken(&[(CallOp::Myself, CallOutcome::ServerError), (CallOp::Myself, CallOutcome::ServerError)]);

    sim_faults(&sim, json!({"error_rate": 0.0, "reset_rate": 1.0})).await;
    t.send(myself()).await.expect_err("no answer twice");
    taken(&[(CallOp::Myself, CallOutcome::Network), (CallOp::Myself, CallOutcome::Network)]);

    // One write a second, then 429 with Retry-After: 1; the retry passes.
    let rate = json!({"per_second": 1.0, "burst": 1, "retry_after": 1});
    sim_faults(&sim, json!({"reset_rate": 0.0, "write_rate": rate})).await;
    t.send(edit("first")).await.expect("first write");
    t.send(edit("second")).await.expect("second write, after its 429");
    taken(&[
        (CallOp::Edit, CallOutcome::Ok),
        (CallOp::Edit, CallOutcome::RateLimited),
        (CallOp::Edit, CallOutcome::Ok),
    ]);
}

async fn sim_faults(sim: &Sim, body: Value) {
    let r = sim.control("emea", "POST", "/_sim/faults", Some(&body)).await;
    assert_eq!(r.status, 200, "{}", r.body);
}
