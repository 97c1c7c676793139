//! Crash safety: the real `jirafed run` process is killed with SIGKILL in the
//! middle of a 1,000-change run, started again on the same state folder, and
//! must converge: every secondary issue has exactly one mirror on the hub,
//! every mapped field matches, and no edit made on a secondary is lost.

use std::time::Duration;

use serde_json::json;

use super::support::process::Jirafed;
use super::support::workload::{Created, SECONDARIES, converged, create_with_edits, edit, mapped, pick, writes};
use super::support::{Sim, wait_until};

/// Issues created on the secondaries (half each) while the daemon runs.
const ISSUES: usize = 100;
/// Issues the default world seeds on the secondaries (EMEA-1, EMEA-2, APAC-1, APAC-2).
const SEEDED: usize = 4;
/// Edits made after each create, on issues created so far.
const EDITS_PER_CREATE: usize = 8;
/// Edits made after the kill, while no daemon runs (1,000 changes in all).
const EDITS_AFTER_KILL: usize = ISSUES * (9 - EDITS_PER_CREATE);
/// The kill comes once the hub has taken this many writes from the daemon:
/// creating the mirrors alone takes more (an issue and a property each), so
/// it always comes, with creates and updates in flight.
const KILL_AT_HUB_WRITES: u64 = 150;
/// Pause between creates, so that the workload overlaps the daemon's work.
const PACE: Duration = Duration::from_millis(40);
const CONVERGE_WITHIN: Duration = Duration::from_secs(60);

/// `kill -9` of the daemon in the middle of 100 creates and 900 edits on the
/// secondaries, more edits while it is down, a restart on the same state:
/// one mirror per secondary issue, every mapped field equal, no edit lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_mid_run_then_restart_converges() {
    let sim = Sim::start_as("alice").await;
    let state = tempfile::tempdir().expect("tempdir");
    let mut daemon = Some(Jirafed::start(&sim, state.path(), None).await);
    let mut issues: Vec<Created> = Vec::new();
    let mut edits = 0;
    let mut changes_at_kill = 0;
    for n in 0..ISSUES {
        create_with_edits(&sim, &mut issues, n, &mut edits, EDITS_PER_CREATE).await;
        if daemon.is_some() && writes(&sim, "hub").await >= KILL_AT_HUB_WRITES {
            daemon.take().expect("running").kill().await;
            changes_at_kill = issues.len() + edits;
        }
        tokio::time::sleep(PACE).await;
    }
    if let Some(d) = daemon.take() {
        wait_until(CONVERGE_WITHIN, "the hub's writes to reach the kill mark", || async {
            (writes(&sim, "hub").await >= KILL_AT_HUB_WRITES).then_some(())
        })
        .await;
        d.kill().await;
        changes_at_kill = issues.len() + edits;
    }
    let at_kill = writes(&sim, "hub").await;
    for _ in 0..EDITS_AFTER_KILL {
        let at = pick(edits, issues.len());
        edit(&sim, &mut issues[at], edits).await;
        edits += 1;
    }
    assert_eq!(issues.len() + edits, 1_000);
    let daemon = Jirafed::start(&sim, state.path(), None).await;

    // Converged: the sites agree while the daemon has nothing queued before
    // and after the comparison, so no write left from before the kill can
    // still undo it.
    let status = converged(&sim, &daemon, CONVERGE_WITHIN).await;
    assert_eq!(status["links"], ISSUES + SEEDED, "one link per secondary issue: {status}");
    assert_eq!(status["dead_letters"], 0, "{status}");
    // No edit was lost: the secondaries hold what the test wrote, and
    // jirafed wrote nothing to them (the hub is only written by jirafed).
    for issue in &issues {
        let s = SECONDARIES.iter().find(|s| s.site == issue.site).expect("secondary");
        let got = sim.get(issue.site, &format!("/rest/api/2/issue/{}", issue.key)).await.body;
        let mut want = issue.want.clone();
        want.labels.sort();
        assert_eq!(mapped(&got, s.points).0, want, "{} {}", issue.site, issue.key);
    }
    let secondary_writes = writes(&sim, "emea").await + writes(&sim, "apac").await;
    assert_eq!(secondary_writes, 1_000, "the secondaries took only the test's own 1,000 writes");
    let hub_writes = writes(&sim, "hub").await;
    eprintln!("killed after {changes_at_kill} changes, at {at_kill} hub writes; the hub took {hub_writes} in all");
}

/// A link waiting for its far end and a child waiting for its parent are
/// durable: `kill -9` while they wait, their far ends enter the scope while
/// no daemon runs, and both complete after the restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pending_links_and_waiting_children_survive_a_kill() {
    let sim = Sim::start_as("alice").await;
    let state = tempfile::tempdir().expect("tempdir");
    let edit = |text: &str| {
        super::check::without_structure(text).replacen(
            "scope = \"project = EMEA\"",
            "scope = \"project = EMEA AND (labels is EMPTY OR labels != hold)\"\nlinks = { types = { Blocks = \"Dependency\" } }\nhierarchy = { parent = true }",
            1,
        )
    };
    let register = |addr: String| {
        let sim = &sim;
        async move {
            let addr = addr.parse().expect("daemon address");
            jirafed::harness::register_webhooks(&sim.sim, addr).await.expect("webhooks");
        }
    };
    let daemon = Jirafed::start(&sim, state.path(), Some(&edit)).await;
    register(daemon.addr.clone()).await;
    let held = json!({"labels": ["hold"]});
    let epic =
        sim.create("emea", "EMEA", "held epic", json!({"issuetype": {"name": "Epic"}, "labels": ["hold"]})).await;
    let story = sim.create("emea", "EMEA", "story", json!({"parent": {"key": epic}})).await;
    let near = sim.create("emea", "EMEA", "blocker", json!({})).await;
    let far = sim.create("emea", "EMEA", "held far end", held).await;
    let body = json!({"type": {"name": "Blocks"}, "inwardIssue": {"key": near}, "outwardIssue": {"key": far}});
    assert_eq!(sim.call("emea", "POST", "/rest/api/2/issueLink", Some(&body)).await.status, 201);
    wait_until(CONVERGE_WITHIN, "the child and the link to wait", || async {
        let s = daemon.status(&sim.http).await;
        (s["flows"]["emea-delivery"]["pending_links"].as_u64() == Some(2)).then_some(())
    })
    .await;
    daemon.kill().await;

    for key in [&epic, &far] {
        let r = sim
            .call("emea", "PUT", &format!("/rest/api/2/issue/{key}"), Some(&json!({"fields": {"labels": []}})))
            .await;
        assert_eq!(r.status, 204);
    }
    let daemon = Jirafed::start(&sim, state.path(), Some(&edit)).await;
    register(daemon.addr.clone()).await;
    let mirror_of = |key: String| {
        let sim = &sim;
        async move {
            let id = sim.get("emea", &format!("/rest/api/2/issue/{key}?fields=summary")).await.body["id"]
                .as_str()?
                .to_string();
            let hub = sim
                .get(
                    "hub",
                    &format!(
                        "/rest/api/3/search/jql?jql=labels%3D%22jirafed-emea-delivery-emea-{id}%22&fields=parent,issuelinks"
                    ),
                )
                .await;
            hub.body["issues"].as_array()?.first().cloned()
        }
    };
    wait_until(CONVERGE_WITHIN, "the child under its parent's mirror, the link made", || async {
        let all = (
            mirror_of(epic.clone()).await,
            mirror_of(story.clone()).await,
            mirror_of(near.clone()).await,
            mirror_of(far.clone()).await,
        );
        let (m_epic, m_story, m_near, m_far) = (all.0?, all.1?, all.2?, all.3?);
        let parent_ok = m_story["fields"]["parent"]["key"] == m_epic["key"];
        let links = m_near["fields"]["issuelinks"].as_array().cloned().unwrap_or_default();
        let link_ok =
            links.iter().any(|l| l["type"]["name"] == "Dependency" && l["outwardIssue"]["key"] == m_far["key"]);
        let pending = daemon.status(&sim.http).await["flows"]["emea-delivery"]["pending_links"].as_u64();
        (parent_ok && link_ok && pending == Some(0)).then_some(())
    })
    .await;
}
