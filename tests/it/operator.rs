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
    let daemon = Jirafed::start(&sim, state.path(), None).await;
    let addr = daemon.addr.parse().expect("daemon address");
    jirafed::harness::register_webhooks(&sim.sim, addr).await.expect("webhooks registered");

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
