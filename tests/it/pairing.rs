//! `jirafed link` and `jirafed unlink` against the simulator: two issues
//! that exist already paired by hand and brought level (through the running
//! daemon, and on the state file with no daemon running), the refusals that
//! name what is wrong, and a severed pair whose issues stay and are not
//! mirrored again by themselves. Every edit is alice's.

use std::time::Duration;

use serde_json::json;

use super::support::process::{Jirafed, jirafed_once};
use super::support::workload::search_all;
use super::support::{Sim, wait_until};

const WITHIN: Duration = Duration::from_secs(30);

async fn summary(sim: &Sim, site: &str, key: &str) -> String {
    let r = sim.get(site, &format!("/rest/api/2/issue/{key}")).await;
    assert_eq!(r.status, 200, "{site} {key}: {}", r.body);
    r.body["fields"]["summary"].as_str().unwrap_or_default().to_string()
}

async fn set_summary(sim: &Sim, site: &str, key: &str, text: &str) {
    let body = json!({"fields": {"summary": text}});
    let r = sim.call(site, "PUT", &format!("/rest/api/2/issue/{key}"), Some(&body)).await;
    assert_eq!(r.status, 204, "edit {site} {key}: {}", r.body);
}

async fn wait_summary(sim: &Sim, site: &str, key: &str, want: &str) {
    wait_until(WITHIN, &format!("{site} {key} to read {want:?}"), || async {
        (summary(sim, site, key).await == want).then_some(())
    })
    .await;
}

/// The hub's issues whose summary is `text`.
async fn hub_issues_named(sim: &Sim, text: &str) -> Vec<String> {
    let all = search_all(sim, "hub", "project = PORT", &["summary"]).await;
    all.iter().filter(|i| i["fields"]["summary"] == text).filter_map(|i| i["key"].as_str().map(String::from)).collect()
}

/// Pairs the default world's four seeded issues make once mirrored (the
/// first poll finds them).
const SEEDED: u64 = 4;

/// Waits until `/status` counts `n` pairs.
async fn wait_pairs(daemon: &Jirafed, n: u64) {
    let http = reqwest::Client::new();
    wait_until(WITHIN, &format!("{n} pairs on /status"), || async {
        let status = daemon.status(&http).await;
        (status["links"] == json!(n)).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pair_made_by_hand_is_levelled_severed_and_made_again_through_the_daemon() {
    let sim = Sim::start_as("alice").await;
    let state = tempfile::tempdir().expect("tempdir");
    let apac = sim.create("apac", "APAC", "Cache layer (APAC's words)", json!({})).await;
    let port = sim.create("hub", "PORT", "cache layer, copied by hand", json!({})).await;
    // Paired on the state file before the daemon first runs (its first poll
    // would otherwise mirror the APAC issue itself).
    let (code, out, err) =
        jirafed_once(&sim, state.path(), &["link", "apac-platform", &apac, &port, "--prefer", "secondary"]).await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains(&format!("paired {apac} (apac) with {port} in flow apac-platform")), "{out}");
    assert!(
        out.contains(&format!("{apac}'s values are kept: {port} is brought level when `jirafed run` starts")),
        "{out}"
    );
    let daemon = Jirafed::start(&sim, state.path(), None).await;
    wait_summary(&sim, "hub", &port, "Cache layer (APAC's words)").await;
    assert_eq!(summary(&sim, "apac", &apac).await, "Cache layer (APAC's words)", "the preferred side is not written");
    wait_pairs(&daemon, SEEDED + 1).await;

    // Paired: a later edit flows as for any pair.
    set_summary(&sim, "apac", &apac, "Cache layer v2").await;
    wait_summary(&sim, "hub", &port, "Cache layer v2").await;

    // Refusals, through the daemon, name what is wrong and change nothing.
    let other = sim.create("hub", "PORT", "another hub issue", json!({})).await;
    let cases: [(&[&str], String); 4] = [
        (&["link", "apac-platform", &apac, &other], format!("{apac} is already paired with {port}")),
        (
            &["link", "no-such-flow", &apac, &other],
            "no flow named \"no-such-flow\" in the config (flows: emea-delivery, apac-platform)".to_string(),
        ),
        (&["link", "emea-delivery", &apac, &other], format!("{apac} cannot be read on emea")),
        (&["unlink", "NOPE-404"], "no pair holds NOPE-404".to_string()),
    ];
    for (args, want) in cases {
        let (code, out, err) = jirafed_once(&sim, state.path(), args).await;
        assert_eq!(code, 1, "{args:?}: {out}{err}");
        assert!(err.contains(&want), "{args:?}: {err}");
    }

    let (code, out, err) = jirafed_once(&sim, state.path(), &["unlink", &port]).await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains(&format!("unpaired {apac} (apac) and {port} (flow apac-platform)")), "{out}");

    // Severed: alice's next edit of the APAC issue reaches nothing, and no
    // new mirror is made of it. A new APAC issue is mirrored as usual, which
    // also shows the daemon has taken the edit made before it.
    set_summary(&sim, "apac", &apac, "Cache layer, unpaired").await;
    sim.create("apac", "APAC", "A fresh APAC story", json!({})).await;
    wait_until(WITHIN, "the fresh story's mirror", || async {
        (hub_issues_named(&sim, "A fresh APAC story").await.len() == 1).then_some(())
    })
    .await;
    wait_pairs(&daemon, SEEDED + 1).await;
    assert_eq!(summary(&sim, "hub", &port).await, "Cache layer v2", "the old partner keeps what it had");
    assert!(hub_issues_named(&sim, "Cache layer, unpaired").await.is_empty(), "not mirrored again");

    // Paired again by hand, through the daemon, it flows again.
    let (code, out, err) =
        jirafed_once(&sim, state.path(), &["link", "apac-platform", &apac, &port, "--prefer", "secondary"]).await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains(&format!("{port} is brought level now")), "{out}");
    wait_summary(&sim, "hub", &port, "Cache layer, unpaired").await;
    wait_pairs(&daemon, SEEDED + 2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn link_and_unlink_without_a_daemon_work_on_the_state_file() {
    let sim = Sim::start_as("alice").await;
    let state = tempfile::tempdir().expect("tempdir");
    let emea = sim.create("emea", "EMEA", "Rollout plan, EMEA's draft", json!({})).await;
    let port = sim.create("hub", "PORT", "Rollout plan (portfolio)", json!({})).await;

    // emea-delivery's conflict policy is primary_wins: the hub issue's values stay.
    let (code, out, err) = jirafed_once(&sim, state.path(), &["link", "emea-delivery", &emea, &port]).await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains(&format!("{port}'s values are kept: {emea} is brought level when `jirafed run` starts")),
        "{out}"
    );
    assert_eq!(summary(&sim, "emea", &emea).await, "Rollout plan, EMEA's draft", "nothing written without a daemon");

    let daemon = Jirafed::start(&sim, state.path(), None).await;
    wait_summary(&sim, "emea", &emea, "Rollout plan (portfolio)").await;
    wait_pairs(&daemon, SEEDED + 1).await;
    daemon.kill().await;

    let (code, out, err) = jirafed_once(&sim, state.path(), &["unlink", &emea]).await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains(&format!("unpaired {emea} (emea) and {port} (flow emea-delivery)")), "{out}");
    let (code, _, err) = jirafed_once(&sim, state.path(), &["unlink", &emea]).await;
    assert_eq!(code, 1);
    assert!(err.contains(&format!("no pair holds {emea}")), "{err}");
}
