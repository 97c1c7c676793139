//! Crash safety: the real `jirafed run` process is killed with SIGKILL in the
//! middle of a 1,000-change run, started again on the same state folder, and
//! must converge: every secondary issue has exactly one mirror on the hub,
//! every mapped field matches, and no edit made on a secondary is lost.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Value, json};

use super::support::process::Jirafed;
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

const PRIORITIES: [&str; 5] = ["Highest", "High", "Medium", "Low", "Lowest"];
const HUB_POINTS: &str = "customfield_10016";

/// A secondary of `config/demo.toml`: site, project, flow, Story Points field.
struct Secondary {
    site: &'static str,
    project: &'static str,
    flow: &'static str,
    points: &'static str,
}

const SECONDARIES: [Secondary; 2] = [
    Secondary { site: "emea", project: "EMEA", flow: "emea-delivery", points: "customfield_10026" },
    Secondary { site: "apac", project: "APAC", flow: "apac-platform", points: "customfield_10106" },
];

/// The mapped fields the test edits: as it last wrote them, or as found.
#[derive(Debug, Clone, PartialEq)]
struct Fields {
    summary: String,
    priority: String,
    labels: Vec<String>,
    points: Option<f64>,
}

/// A created secondary issue and what it should hold.
struct Created {
    site: &'static str,
    key: String,
    want: Fields,
}

async fn create(sim: &Sim, n: usize) -> Created {
    let s = &SECONDARIES[n % 2];
    let want = Fields {
        summary: format!("crash {n}"),
        priority: PRIORITIES[n % 5].to_string(),
        labels: vec![format!("batch{}", n % 3)],
        points: (n % 4 != 0).then_some((n % 8) as f64),
    };
    let mut fields = json!({
        "project": {"key": s.project}, "issuetype": {"name": "Story"}, "summary": want.summary,
        "description": format!("Created by the crash test, number {n}"),
        "priority": {"name": want.priority}, "labels": want.labels,
    });
    if let Some(p) = want.points {
        fields[s.points] = json!(p);
    }
    let r = sim.call(s.site, "POST", "/rest/api/2/issue", Some(&json!({"fields": fields}))).await;
    assert_eq!(r.status, 201, "create on {}: {}", s.site, r.body);
    Created { site: s.site, key: r.body["key"].as_str().expect("key").to_string(), want }
}

/// Edit number `i`: summary, priority, labels or Story Points of one issue.
async fn edit(sim: &Sim, issue: &mut Created, i: usize) {
    let s = SECONDARIES.iter().find(|s| s.site == issue.site).expect("secondary");
    let fields = match i % 4 {
        0 => {
            issue.want.summary = format!("crash edit {i}");
            json!({"summary": issue.want.summary})
        }
        1 => {
            issue.want.priority = PRIORITIES[i % 5].to_string();
            json!({"priority": {"name": issue.want.priority}})
        }
        2 => {
            issue.want.labels = (0..i % 3).map(|k| format!("l{}", (i + k) % 7)).collect();
            json!({"labels": issue.want.labels})
        }
        _ => {
            issue.want.points = Some((i % 21) as f64);
            json!({s.points: issue.want.points})
        }
    };
    let r = sim
        .call(issue.site, "PUT", &format!("/rest/api/2/issue/{}", issue.key), Some(&json!({"fields": fields})))
        .await;
    assert_eq!(r.status, 204, "edit {i} of {}: {}", issue.key, r.body);
}

/// A deterministic spread of edits over the issues created so far.
fn pick(i: usize, len: usize) -> usize {
    (i.wrapping_mul(2_654_435_761) >> 7) % len
}

/// Real changes a site took (`mutations`: its `writes` count searches too).
async fn writes(sim: &Sim, site: &str) -> u64 {
    sim.stats(site).await["mutations"].as_u64().unwrap_or(0)
}

/// Every issue of a JQL search on `site` (v2 shapes), paged to the end.
async fn search_all(sim: &Sim, site: &str, jql: &str, fields: &[&str]) -> Vec<Value> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let (path, mut body) = if sim.flavour(site) == jirafed::config::Flavour::Cloud {
            ("/rest/api/2/search/jql", json!({"jql": jql, "fields": fields, "maxResults": 100}))
        } else {
            ("/rest/api/2/search", json!({"jql": jql, "fields": fields, "maxResults": 100, "startAt": out.len()}))
        };
        if let Some(t) = &token {
            body["nextPageToken"] = json!(t);
        }
        let r = sim.call(site, "POST", path, Some(&body)).await;
        assert_eq!(r.status, 200, "search on {site}: {}", r.body);
        let page = r.body["issues"].as_array().cloned().unwrap_or_default();
        let empty = page.is_empty();
        out.extend(page);
        let done = match r.body.get("total").and_then(Value::as_u64) {
            Some(total) => out.len() as u64 >= total || empty,
            None => r.body["isLast"].as_bool().unwrap_or(true),
        };
        if done {
            return out;
        }
        token = r.body["nextPageToken"].as_str().map(String::from);
    }
}

/// The mapped fields of an issue as found (v2 shape), jirafed's labels left out.
fn mapped(issue: &Value, points: &str) -> (Fields, Value, Value) {
    let f = &issue["fields"];
    let mut labels: Vec<String> = f["labels"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .filter(|l| !l.starts_with("jirafed-"))
        .map(String::from)
        .collect();
    labels.sort();
    let fields = Fields {
        summary: f["summary"].as_str().unwrap_or_default().to_string(),
        priority: f["priority"]["name"].as_str().unwrap_or_default().to_string(),
        labels,
        points: f[points].as_f64(),
    };
    (fields, f["description"].clone(), f["status"]["name"].clone())
}

/// What still differs between the secondaries and the hub; panics at once
/// on what can never heal (a second mirror).
async fn differences(sim: &Sim) -> Vec<String> {
    let hub = search_all(
        sim,
        "hub",
        "project = PORT",
        &["summary", "description", "priority", "labels", "status", HUB_POINTS],
    )
    .await;
    let mut by_mark: BTreeMap<String, Vec<&Value>> = BTreeMap::new();
    for m in &hub {
        for l in m["fields"]["labels"].as_array().into_iter().flatten().filter_map(Value::as_str) {
            if l.starts_with("jirafed-") {
                by_mark.entry(l.to_string()).or_default().push(m);
            }
        }
    }
    let mut problems = Vec::new();
    let mut secondaries = 0;
    for s in &SECONDARIES {
        let fields = ["summary", "description", "priority", "labels", "status", s.points];
        for issue in search_all(sim, s.site, &format!("project = {}", s.project), &fields).await {
            secondaries += 1;
            let (key, id) = (issue["key"].as_str().unwrap_or("?"), issue["id"].as_str().unwrap_or("?"));
            let mark = format!("jirafed-{}-{}-{id}", s.flow, s.site);
            let mirrors = by_mark.get(&mark).map(Vec::as_slice).unwrap_or_default();
            let keys: Vec<&str> = mirrors.iter().filter_map(|m| m["key"].as_str()).collect();
            assert!(mirrors.len() <= 1, "{} {key} has {} mirrors: {keys:?}", s.site, mirrors.len());
            let Some(mirror) = mirrors.first() else {
                problems.push(format!("{} {key}: no mirror yet", s.site));
                continue;
            };
            let (want, got) = (mapped(&issue, s.points), mapped(mirror, HUB_POINTS));
            if want != got {
                problems.push(format!("{} {key} {want:?} != mirror {} {got:?}", s.site, keys[0]));
            }
        }
    }
    assert!(hub.len() <= secondaries, "the hub holds {} issues for {secondaries} secondary issues", hub.len());
    if hub.len() < secondaries {
        problems.push(format!("the hub holds {} issues for {secondaries} secondary issues", hub.len()));
    }
    problems
}

/// Nothing waits in the daemon's inbox or outboxes.
fn idle(status: &Value) -> bool {
    let mut outboxes = status["instances"].as_object().into_iter().flatten().map(|(_, i)| &i["outbox_depth"]);
    status["inbox_depth"] == 0 && outboxes.all(|d| *d == 0)
}

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
        issues.push(create(&sim, n).await);
        for _ in 0..EDITS_PER_CREATE {
            let at = pick(edits, issues.len());
            edit(&sim, &mut issues[at], edits).await;
            edits += 1;
        }
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
    let end = tokio::time::Instant::now() + CONVERGE_WITHIN;
    let status = loop {
        let before = daemon.status(&sim.http).await;
        let problems = differences(&sim).await;
        let after = daemon.status(&sim.http).await;
        if problems.is_empty() && idle(&before) && idle(&after) {
            break after;
        }
        assert!(
            tokio::time::Instant::now() < end,
            "no convergence after the restart ({} problems), e.g.:\n{}",
            problems.len(),
            problems.iter().take(10).cloned().collect::<Vec<_>>().join("\n")
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
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
