//! The operator's commands against a running daemon, through the real
//! binary and its admin socket.

use std::time::Duration;

use serde_json::{Value, json};

use super::support::process::{Jirafed, jirafed_once};
use super::support::workload::search_all;
use super::support::{Sim, wait_until};

/// `jirafed status` shows every instance and flow of the config with their
/// health at a glance; `--json` is the `/status` document.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_shows_every_instance_and_flow_and_json_is_the_status_document() {
    let sim = Sim::start_as("alice").await;
    let state = tempfile::tempdir().expect("tempdir");
    let daemon = Jirafed::start(&sim, state.path(), None).await;

    let (code, out, err) = jirafed_once(&sim, state.path(), &["status"]).await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.starts_with(&format!("jirafed {}: ready", env!("CARGO_PKG_VERSION"))), "{out}");
    for (name, role) in [("hub", "primary"), ("emea", "secondary"), ("apac", "secondary")] {
        let line = out.lines().find(|l| l.starts_with(&format!("{name} "))).unwrap_or_else(|| panic!("{name}: {out}"));
        let cells: Vec<&str> = line.split_whitespace().collect();
        assert_eq!((cells[1], cells[2], cells[3]), (role, "yes", "ok"), "{line}");
    }
    for flow in ["emea-delivery", "apac-platform"] {
        assert!(out.lines().any(|l| l.starts_with(&format!("{flow} "))), "{flow}: {out}");
    }
    assert!(out.contains("INSTANCE") && out.contains("FLOW") && out.contains("reconciliation: none yet"), "{out}");

    let (code, json, err) = jirafed_once(&sim, state.path(), &["status", "--json"]).await;
    assert_eq!(code, 0, "{json}{err}");
    let doc: Value = serde_json::from_str(&json).expect("JSON");
    let http = daemon.status(&reqwest::Client::new()).await;
    let keys = |v: &Value| v.as_object().map(|o| o.keys().cloned().collect::<Vec<_>>()).unwrap_or_default();
    assert_eq!(keys(&doc), keys(&http), "the /status document's names");
    assert_eq!(keys(&doc["instances"]), keys(&http["instances"]));
    assert_eq!(keys(&doc["flows"]), keys(&http["flows"]));
}

/// Without a daemon the command says where it looked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_without_a_daemon_names_the_socket() {
    let sim = Sim::start_as("alice").await;
    let state = tempfile::tempdir().expect("tempdir");
    let (code, out, err) = jirafed_once(&sim, state.path(), &["status"]).await;
    assert_eq!(code, 1, "{out}{err}");
    assert!(err.contains("admin.sock"), "{err}");
}

/// `jirafed pause hub` during the hub's maintenance: a change on emea is
/// planned and waits in the hub's outbox, through a restart of the daemon;
/// status and metrics show the pause; `jirafed resume hub` lets it go.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_site_gets_no_writes_across_a_restart_until_it_is_resumed() {
    let sim = Sim::start_as("alice").await;
    let state = tempfile::tempdir().expect("tempdir");
    let http = reqwest::Client::new();
    let daemon = Jirafed::start_with_webhooks(&sim, state.path()).await;

    let (code, out, err) = jirafed_once(&sim, state.path(), &["pause", "hub"]).await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.starts_with("hub paused: writes to it wait (0 queued)"), "{out}");
    let (code, _, err) = jirafed_once(&sim, state.path(), &["pause", "nowhere"]).await;
    assert!(code == 1 && err.contains("no instance named \"nowhere\"") && err.contains("hub"), "{err}");

    let hub_before = sim.stats("hub").await["mutations"].clone();
    sim.create("emea", "EMEA", "Written after the maintenance", json!({})).await;
    wait_until(Duration::from_secs(30), "the mirror's create queued for the hub", || async {
        let s = daemon.status(&http).await;
        (s["instances"]["hub"]["outbox_depth"].as_u64() >= Some(1)).then_some(())
    })
    .await;
    let s = daemon.status(&http).await;
    assert_eq!(
        (s["instances"]["hub"]["paused"].as_bool(), s["instances"]["emea"]["paused"].as_bool()),
        (Some(true), Some(false))
    );
    assert!(daemon.metrics(&http).await.contains("jirafed_paused{instance=\"hub\"} 1\n"));
    let (_, out, _) = jirafed_once(&sim, state.path(), &["status"]).await;
    let hub_line = out.lines().find(|l| l.starts_with("hub ")).expect("hub row");
    assert!(hub_line.contains("BY HAND"), "{out}");

    // Restarted, still paused: the write waits.
    daemon.stop().await;
    let daemon = Jirafed::start(&sim, state.path(), None).await;
    let s = daemon.status(&http).await;
    assert_eq!(s["instances"]["hub"]["paused"], json!(true), "{s}");
    assert!(s["instances"]["hub"]["outbox_depth"].as_u64() >= Some(1), "{s}");
    assert_eq!(sim.stats("hub").await["mutations"], hub_before, "nothing written to the paused hub");

    let (code, out, err) = jirafed_once(&sim, state.path(), &["resume", "hub"]).await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.starts_with("hub resumed: "), "{out}");
    wait_until(Duration::from_secs(30), "the mirror made once resumed", || async {
        let found = search_all(&sim, "hub", "project = PORT", &["summary"]).await;
        found.iter().any(|i| i["fields"]["summary"] == "Written after the maintenance").then_some(())
    })
    .await;
    assert!(daemon.metrics(&http).await.contains("jirafed_paused{instance=\"hub\"} 0\n"));
}

/// `jirafed audit` lists the writes done and given up, newest first, with
/// their outcome, latency and the change (issue, site, how seen, by whom)
/// that caused them; `--issue`, `--flow`, `--since`, `--limit` and
/// `--json` narrow and shape it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_shows_each_write_with_its_outcome_latency_and_cause() {
    let sim = Sim::start_as("alice").await;
    let state = tempfile::tempdir().expect("tempdir");
    let http = reqwest::Client::new();
    let daemon = Jirafed::start_with_webhooks(&sim, state.path()).await;

    let key = sim.create("emea", "EMEA", "Audited by alice", json!({})).await;
    let mirror = wait_until(Duration::from_secs(30), "the mirror made", || async {
        let (code, out, _) = jirafed_once(&sim, state.path(), &["audit", "--issue", &key, "--json"]).await;
        let list: Value = serde_json::from_str(&out).ok()?;
        let create = list.as_array()?.iter().find(|e| e["record"]["op"] == "create")?.clone();
        (code == 0).then_some(create)
    })
    .await;
    let r = &mirror["record"];
    assert_eq!(
        (r["flow"].as_str(), r["instance"].as_str(), r["outcome"].as_str()),
        (Some("emea-delivery"), Some("hub"), Some("ok")),
        "{mirror}"
    );
    assert!(r["key"].as_str().is_some_and(|k| k.starts_with("PORT-")), "{mirror}");
    assert!(r["latency_ms"].as_i64().is_some_and(|ms| ms >= 0), "{mirror}");
    assert_eq!(
        r["cause"],
        json!({"instance": "emea", "issue": key, "via": "webhook", "by": "Alice Example"}),
        "{mirror}"
    );
    assert!(mirror["at"].as_str().is_some_and(|t| t.ends_with('Z') || t.contains('+')), "{mirror}");

    // A write Jira refuses for good is audited with Jira's own words.
    let hub_key = r["key"].as_str().expect("mirror key").to_string();
    let set = sim.control("hub", "POST", "/_sim/faults", Some(&json!({"reject_issues": [hub_key]}))).await;
    assert_eq!(set.status, 200);
    let path = format!("/rest/api/3/issue/{key}");
    let edit = sim.call("emea", "PUT", &path, Some(&json!({"fields": {"summary": "Refused on the hub"}}))).await;
    assert_eq!(edit.status, 204);
    let table = wait_until(Duration::from_secs(30), "the refused write audited", || async {
        let (code, out, _) =
            jirafed_once(&sim, state.path(), &["audit", "--flow", "emea-delivery", "--since", "1h"]).await;
        (code == 0 && out.contains("dead_letter")).then_some(out)
    })
    .await;
    let lines: Vec<&str> = table.lines().collect();
    assert!(lines[0].starts_with("WHEN") && lines[0].contains("OUTCOME") && lines[0].contains("CAUSE"), "{table}");
    assert!(
        lines[1].contains("update") && lines[1].contains("dead_letter") && lines[1].contains(&hub_key),
        "newest first: {table}"
    );
    assert!(lines[2].contains("cannot be set"), "Jira's message under it: {table}");
    assert!(table.contains(&format!("emea {key} (webhook by Alice Example)")), "{table}");
    assert!(table.lines().any(|l| l.contains("create") && l.contains(" ok ")), "{table}");

    let (code, out, err) = jirafed_once(&sim, state.path(), &["audit", "--flow", "apac-platform"]).await;
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("no audit records match"), "{out}");
    let (_, out, _) = jirafed_once(&sim, state.path(), &["audit", "--limit", "1", "--json"]).await;
    let one: Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(one.as_array().map(Vec::len), Some(1), "{out}");
    let (code, _, err) = jirafed_once(&sim, state.path(), &["audit", "--since", "soon"]).await;
    assert!(code == 2 && err.contains("--since"), "a bad duration is named: {err}");
    let s = daemon.status(&http).await;
    assert!(s["dead_letters"].as_u64() >= Some(1), "{s}");
}
