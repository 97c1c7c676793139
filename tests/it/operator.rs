//! The operator's commands against a running daemon, through the real
//! binary and its admin socket.

use serde_json::Value;

use super::support::Sim;
use super::support::process::{Jirafed, jirafed_once};

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
