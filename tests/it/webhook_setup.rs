//! `jirafed webhooks install|list|remove` against the simulator's copy of
//! Jira's admin webhook API, through the real binary: idempotent installs,
//! signed deliveries, and `check` flagging a registration that is gone.

use std::time::Duration;

use serde_json::{Value, json};

use super::support::process::{Jirafed, jirafed_once_env};
use super::support::{Sim, wait_until};

const SITES: [&str; 3] = ["hub", "emea", "apac"];

/// `jirafed ARGS` with the test daemon's config and `daemon.public_url`
/// set to `public` (when given); its exit code, stdout and stderr.
async fn jirafed(sim: &Sim, state: &std::path::Path, public: Option<&str>, args: &[&str]) -> (i32, String, String) {
    let env: Vec<(&str, &str)> = public.map(|url| ("JIRAFED_DAEMON__PUBLIC_URL", url)).into_iter().collect();
    jirafed_once_env(sim, state, &env, args).await
}

/// The registrations of `site` as the simulator keeps them.
async fn registrations(sim: &Sim, site: &str) -> Vec<Value> {
    sim.control(site, "GET", "/_sim/webhooks", None).await.body.as_array().cloned().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn installing_twice_leaves_one_signed_registration_per_site_and_check_flags_a_removed_one() {
    let sim = Sim::start_as("alice").await;
    let state = tempfile::tempdir().expect("tempdir");
    let daemon = Jirafed::start(&sim, state.path(), None).await;
    let public = format!("http://{}", daemon.addr);
    let url = |site: &str| format!("{public}/webhooks/{site}");

    // Someone else's webhook on emea stays untouched throughout.
    let theirs = json!({"name": "other tool", "url": "http://127.0.0.1:9/hook", "events": ["jira:issue_created"]});
    assert_eq!(sim.control("emea", "POST", "/_sim/webhooks", Some(&theirs)).await.status, 201);

    let (code, out, err) = jirafed(&sim, state.path(), None, &["webhooks", "install"]).await;
    assert_eq!(code, 1, "{out}{err}");
    assert!(err.contains("daemon.public_url is not set"), "{err}");

    let (code, out, err) = jirafed(&sim, state.path(), Some(&public), &["webhooks", "install"]).await;
    assert_eq!(code, 0, "{out}{err}");
    for site in SITES {
        assert!(out.contains(&format!("{site}: registered webhook")), "{site}: {out}");
    }
    let (code, again, err) = jirafed(&sim, state.path(), Some(&public), &["webhooks", "install"]).await;
    assert_eq!(code, 0, "{again}{err}");
    for site in SITES {
        assert!(again.contains(&format!("{site}: updated webhook")), "{site}: {again}");
        let ours: Vec<Value> = registrations(&sim, site).await.into_iter().filter(|r| r["url"] == url(site)).collect();
        assert_eq!(ours.len(), 1, "{site}: exactly one registration after two installs: {ours:?}");
        assert_eq!(ours[0]["isSigned"], true, "{site}");
        assert_eq!(ours[0]["events"], json!(jirafed::jira::webhook::CONSUMED_EVENTS), "{site}");
    }
    // The filters are the JQL the daemon polls.
    let emea = registrations(&sim, "emea").await;
    assert_eq!(emea.len(), 2, "the other tool's webhook is kept: {emea:?}");
    let ours = emea.iter().find(|r| r["url"] == url("emea")).expect("ours");
    assert_eq!(ours["jql"], "(project = EMEA)", "{ours}");
    let hub = registrations(&sim, "hub").await;
    assert!(hub[0]["jql"].as_str().is_some_and(|q| q.contains("project in (PORT")), "{hub:?}");

    // Deliveries arrive signed: the daemon (which refuses unsigned ones)
    // accepts an event of alice's.
    sim.create("emea", "EMEA", "Announced by webhook", json!({})).await;
    let http = reqwest::Client::new();
    wait_until(Duration::from_secs(30), "a signed webhook accepted from emea", || async {
        let m = daemon.metrics(&http).await;
        m.lines()
            .any(|l| l.starts_with("jirafed_webhooks_total{") && l.contains("\"emea\"") && l.contains("accepted"))
            .then_some(())
    })
    .await;
    let m = daemon.metrics(&http).await;
    assert!(
        !m.lines().any(|l| l.starts_with("jirafed_webhooks_total{") && l.contains("rejected") && !l.ends_with(" 0")),
        "no delivery refused: {m}"
    );

    let (code, listed, err) = jirafed(&sim, state.path(), Some(&public), &["webhooks", "list", "--json"]).await;
    assert_eq!(code, 0, "{listed}{err}");
    let doc: Value = serde_json::from_str(&listed).expect("JSON");
    for site in SITES {
        let entry = doc.as_array().and_then(|a| a.iter().find(|e| e["instance"] == site)).expect(site);
        assert_eq!(entry["state"], "registered", "{entry}");
        assert_eq!(entry["url"], url(site), "{entry}");
    }

    let (code, out, err) = jirafed(&sim, state.path(), Some(&public), &["check"]).await;
    assert_eq!(code, 0, "{out}{err}");
    for site in SITES {
        assert!(out.contains(&format!("webhook {}: registered", url(site))), "{site}: {out}");
    }

    // An admin removes jirafed's webhook on apac by hand: check flags it.
    let id = registrations(&sim, "apac").await[0]["id"].as_u64().expect("id");
    assert_eq!(sim.control("apac", "DELETE", &format!("/_sim/webhooks/{id}"), None).await.status, 204);
    let (_, out, err) = jirafed(&sim, state.path(), Some(&public), &["check"]).await;
    assert!(out.contains(&format!("webhook {}: missing", url("apac"))), "{out}{err}");
    assert!(out.contains("`jirafed webhooks install` fixes it"), "{out}");
    let (_, listed, _) = jirafed(&sim, state.path(), Some(&public), &["webhooks", "list", "apac"]).await;
    assert!(listed.starts_with("apac: missing"), "{listed}");

    // Remove takes jirafed's registrations only.
    let (code, out, err) = jirafed(&sim, state.path(), Some(&public), &["webhooks", "remove", "emea"]).await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.starts_with("emea: removed webhook"), "{out}");
    let left = registrations(&sim, "emea").await;
    assert_eq!((left.len(), left[0]["name"].as_str()), (1, Some("other tool")), "{left:?}");
}

/// The technical user without Jira admin rights gets a message saying so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn managing_webhooks_without_admin_rights_says_what_is_needed() {
    let sim = Sim::start_as("alice").await;
    let carol = sim.call_as("carol", "hub", "GET", "/rest/webhooks/1.0/webhook", None).await;
    assert_eq!(carol.status, 403, "{:?}", carol.body);
    let alice = sim.call_as("alice", "hub", "GET", "/rest/webhooks/1.0/webhook", None).await;
    assert_eq!((alice.status, alice.body.clone()), (200, json!([])));
    // Jira's own shape: a filter section and a self URL naming the id.
    let body = json!({"name": "x", "url": "http://127.0.0.1:9/h", "events": ["jira:issue_created"],
        "filters": {"issue-related-events-section": "project = PORT"}, "excludeBody": false});
    let made = sim.call_as("alice", "hub", "POST", "/rest/webhooks/1.0/webhook", Some(&body)).await;
    assert_eq!(made.status, 201, "{:?}", made.body);
    assert_eq!(made.body["filters"]["issue-related-events-section"], "project = PORT");
    let id = made.body["self"].as_str().and_then(|s| s.rsplit('/').next()).expect("self").to_string();
    let bad = json!({"name": "x", "url": "http://127.0.0.1:9/h", "filters": {"issue-related-events-section": "project = = X"}});
    let refused = sim.call_as("alice", "hub", "PUT", &format!("/rest/webhooks/1.0/webhook/{id}"), Some(&bad)).await;
    assert_eq!(refused.status, 400, "{:?}", refused.body);
    let gone = sim.call_as("alice", "hub", "DELETE", &format!("/rest/webhooks/1.0/webhook/{id}"), None).await;
    assert_eq!(gone.status, 204);
    let again = sim.call_as("alice", "hub", "GET", &format!("/rest/webhooks/1.0/webhook/{id}"), None).await;
    assert_eq!(again.status, 404);
}
