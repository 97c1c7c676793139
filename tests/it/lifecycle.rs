//! The end of a pair against the simulator: a source leaving its flow's
//! scope under `on_delete = "sever"`, a source deleted under
//! `on_delete = "delete_mirror"`, `on_scope_exit = "keep"`, and neither
//! source mirrored again by itself afterwards. Every edit is alice's.

use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};

use super::support::process::Jirafed;
use super::support::workload::search_all;
use super::support::{Sim, wait_until};

const WITHIN: Duration = Duration::from_secs(30);
/// The EMEA flow's scope: an issue labelled `archived` leaves it.
const EMEA_SCOPE: &str = "project = EMEA AND (labels is EMPTY OR labels not in (archived))";

/// The demo config with the EMEA flow severing on a scope exit (`exit` for
/// `on_scope_exit`), the APAC flow deleting mirrors, and reconciliation
/// every `reconcile` (a scope exit sends no webhook and no poll finds it:
/// reconciliation does).
fn config(exit: &'static str, reconcile: &'static str) -> impl Fn(&str) -> String {
    move |text: &str| {
        let text = text.replacen("[daemon]\n", &format!("[daemon]\nreconcile_interval = \"{reconcile}\"\n"), 1);
        let emea = format!(
            "scope = \"{EMEA_SCOPE}\"\nprimary_project = \"PORT\"\ncreate = \"to_primary\"\non_delete = \"sever\"\non_scope_exit = \"{exit}\""
        );
        let apac = "scope = \"project = APAC\"\nprimary_project = \"PORT\"\ncreate = \"to_primary\"\non_delete = \"delete_mirror\"";
        let text = text.replacen(
            "scope = \"project = EMEA\"\nprimary_project = \"PORT\"\ncreate = \"to_primary\"\non_delete = \"label\"",
            &emea,
            1,
        );
        let text = text.replacen(
            "scope = \"project = APAC\"\nprimary_project = \"PORT\"\ncreate = \"to_primary\"\non_delete = \"label\"",
            apac,
            1,
        );
        assert!(text.contains(EMEA_SCOPE) && text.contains("delete_mirror"), "the demo config changed shape");
        text
    }
}

async fn issue(sim: &Sim, site: &str, key: &str) -> Option<Value> {
    let r = sim.get(site, &format!("/rest/api/2/issue/{key}")).await;
    (r.status == 200).then_some(r.body)
}

async fn edit(sim: &Sim, site: &str, key: &str, fields: Value) {
    let r = sim.call(site, "PUT", &format!("/rest/api/2/issue/{key}"), Some(&json!({"fields": fields}))).await;
    assert_eq!(r.status, 204, "edit {site} {key}: {}", r.body);
}

/// The hub's issues whose summary is `text`.
async fn hub_named(sim: &Sim, text: &str) -> Vec<String> {
    let all = search_all(sim, "hub", "project = PORT", &["summary"]).await;
    all.iter().filter(|i| i["fields"]["summary"] == text).filter_map(|i| i["key"].as_str().map(String::from)).collect()
}

/// Creates an issue and waits for its one mirror on the hub; its key.
async fn mirrored(sim: &Sim, site: &str, project: &str, summary: &str) -> (String, String) {
    let key = sim.create(site, project, summary, json!({})).await;
    let mirror = wait_until(WITHIN, &format!("the mirror of {key}"), || async {
        let found = hub_named(sim, summary).await;
        (found.len() == 1).then(|| found[0].clone())
    })
    .await;
    (key, mirror)
}

fn labels(issue: &Value) -> Vec<String> {
    let all = issue["fields"]["labels"].as_array().cloned().unwrap_or_default();
    all.iter().filter_map(Value::as_str).map(String::from).collect()
}

async fn start(sim: &Sim, state: &Path, exit: &'static str, reconcile: &'static str) -> Jirafed {
    let edit = config(exit, reconcile);
    Jirafed::start(sim, state, Some(&edit)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_source_out_of_scope_is_severed_a_deleted_one_takes_its_mirror_and_neither_comes_back() {
    let sim = Sim::start_as("alice").await;
    let state = tempfile::tempdir().expect("tempdir");
    let _daemon = start(&sim, state.path(), "as_deleted", "1s").await;
    let (emea, emea_mirror) = mirrored(&sim, "emea", "EMEA", "Quarterly close").await;
    let (apac, apac_mirror) = mirrored(&sim, "apac", "APAC", "Data centre move").await;

    // Out of scope (on_delete = sever): the mirror stays, labelled.
    edit(&sim, "emea", &emea, json!({"labels": ["archived"]})).await;
    wait_severed(&sim, &emea_mirror).await;

    // Deleted (on_delete = delete_mirror, a mirror jirafed made): it goes.
    let r = sim.call("apac", "DELETE", &format!("/rest/api/2/issue/{apac}"), None).await;
    assert_eq!(r.status, 204, "{}", r.body);
    wait_until(WITHIN, "the APAC mirror deleted", || async {
        issue(&sim, "hub", &apac_mirror).await.is_none().then_some(())
    })
    .await;

    // Back in scope and edited: not mirrored again, its old mirror untouched.
    edit(&sim, "emea", &emea, json!({"labels": [], "summary": "Quarterly close, back"})).await;
    // A new issue is mirrored as usual, which shows the daemon has taken
    // the edit made before it.
    mirrored(&sim, "emea", "EMEA", "A later EMEA story").await;
    assert!(hub_named(&sim, "Quarterly close, back").await.is_empty(), "not mirrored again");
    let old = issue(&sim, "hub", &emea_mirror).await.expect("the severed mirror stays");
    assert_eq!(old["fields"]["summary"], "Quarterly close", "{old}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_on_scope_exit_keep_a_source_out_of_scope_keeps_its_pair() {
    let sim = Sim::start_as("alice").await;
    let state = tempfile::tempdir().expect("tempdir");
    let _daemon = start(&sim, state.path(), "keep", "1s").await;
    let (emea, mirror) = mirrored(&sim, "emea", "EMEA", "Vendor review").await;

    edit(&sim, "emea", &emea, json!({"labels": ["archived"]})).await;
    mirrored(&sim, "emea", "EMEA", "Another EMEA story").await;
    let m = issue(&sim, "hub", &mirror).await.expect("kept");
    assert!(!labels(&m).iter().any(|l| l == "jirafed-severed" || l == "jirafed-source-deleted"), "{m}");

    // Back in scope: the pair is still there and sync goes on.
    edit(&sim, "emea", &emea, json!({"labels": [], "summary": "Vendor review, resumed"})).await;
    wait_until(WITHIN, "the edit to reach the kept mirror", || async {
        let m = issue(&sim, "hub", &mirror).await?;
        (m["fields"]["summary"] == "Vendor review, resumed").then_some(())
    })
    .await;
}

/// With every webhook dropped, a deleted source is seen by no poll: `jirafed
/// resync FLOW` finds it at once (the periodic pass is an hour away) and the
/// pair ends per `on_delete`; `/status` shows what the pass found.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resync_finds_a_deletion_whose_webhook_was_lost() {
    let sim = Sim::start_as("alice").await;
    let state = tempfile::tempdir().expect("tempdir");
    let daemon = start(&sim, state.path(), "as_deleted", "1h").await;
    let (emea, mirror) = mirrored(&sim, "emea", "EMEA", "Supplier audit").await;
    // The world's two EMEA issues are paired by the first poll, and a
    // mirror shows on the hub just before its pair is committed: wait for
    // the daemon to hold all three pairs.
    let http = reqwest::Client::new();
    wait_until(WITHIN, "three EMEA pairs", || async {
        let s = daemon.status(&http).await;
        (s["flows"]["emea-delivery"]["links"] == json!(3)).then_some(())
    })
    .await;

    let r = sim.control("emea", "POST", "/_sim/faults", Some(&json!({"drop_webhooks": 1.0}))).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = sim.call("emea", "DELETE", &format!("/rest/api/2/issue/{emea}"), None).await;
    assert_eq!(r.status, 204, "{}", r.body);

    let stdout = resync(&sim, state.path(), &["emea-delivery"]).await;
    // The world's two EMEA issues are paired too.
    assert!(stdout.contains("resync of emea-delivery: 3 pair(s) checked in"), "{stdout}");
    assert!(
        stdout.contains("1 with an issue gone or out of scope, 0 not as last synced; 1 change(s) queued"),
        "{stdout}"
    );

    wait_severed(&sim, &mirror).await;
    let status = daemon.status(&http).await;
    let run = &status["reconcile"];
    assert_eq!(
        (run["pairs"].as_u64(), run["missing"].as_u64(), run["on_demand"].as_bool()),
        (Some(3), Some(1), Some(true)),
        "{status}"
    );
    assert!(run["last_run"].as_str().is_some(), "{status}");
}

/// A reconciliation pass costs one search per 50 pairs on each side of a
/// flow, and finds nothing to do where everything is in step.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconciliation_reads_fifty_pairs_per_search_and_finds_nothing_in_step() {
    const CREATED: u64 = 60;
    let sim = Sim::start_as("alice").await;
    let state = tempfile::tempdir().expect("tempdir");
    // No poll after the first one (which only sets the cursor): every read
    // counted below is the pass's own. (The world's seeded issues, found
    // only by polls, stay unpaired.)
    let edit = config("as_deleted", "1h");
    let no_polls: Vec<(String, &str)> =
        ["EMEA", "APAC", "HUB"].iter().map(|s| (format!("JIRAFED_INSTANCES__{s}__POLL_INTERVAL"), "1h")).collect();
    let env: Vec<(&str, &str)> = no_polls.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    let daemon = Jirafed::start_with_env(&sim, state.path(), Some(&edit), &env).await;
    // Webhooks bring the new issues.
    let addr = daemon.addr.parse().expect("daemon address");
    jirafed::harness::register_webhooks(&sim.sim, addr).await.expect("webhooks registered");
    for n in 0..CREATED {
        sim.create("emea", "EMEA", &format!("Backlog item {n}"), json!({})).await;
    }
    let http = reqwest::Client::new();
    wait_until(WITHIN, "every issue mirrored and nothing queued", || async {
        let s = daemon.status(&http).await;
        let queued: u64 = s["instances"].as_object()?.values().filter_map(|i| i["outbox_depth"].as_u64()).sum();
        (s["links"] == json!(CREATED) && s["inbox_depth"] == json!(0) && queued == 0).then_some(())
    })
    .await;

    // Every call the pass makes: reads (GET) and searches (POST, counted in
    // `writes` but not in `mutations`).
    let reads = |stats: &Value| {
        let n = |k: &str| stats[k].as_u64().unwrap_or(0);
        n("reads") + n("writes") - n("mutations")
    };
    let mut before = Vec::new();
    for site in ["emea", "apac", "hub"] {
        before.push(reads(&sim.stats(site).await));
    }
    let stdout = resync(&sim, state.path(), &[]).await;
    assert!(stdout.contains(&format!("resync of every flow: {CREATED} pair(s) checked in")), "{stdout}");
    assert!(
        stdout.contains("0 with an issue gone or out of scope, 0 not as last synced; 0 change(s) queued"),
        "{stdout}"
    );

    // emea-delivery's 60 pairs: 2 searches (50 + 10) on each side; no
    // apac-platform pair: nothing read on apac.
    for (i, (site, want)) in [("emea", 2), ("apac", 0), ("hub", 2)].into_iter().enumerate() {
        let spent = reads(&sim.stats(site).await) - before[i];
        assert_eq!(spent, want, "{site}: reads of the pass");
    }
}

/// Moves (the simulator's `/_sim/issues/{key}/move`, as a person does it in
/// Jira): to another project in the flow's scope the pair and its mirror
/// stay and later edits flow under the new key; to a project outside it,
/// the pair ends as for any scope exit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_move_in_scope_keeps_the_pair_and_a_move_out_of_it_ends_the_pair() {
    let mut world = jirafed::sim::default_world(0);
    let emea_site = world.sites.iter_mut().find(|s| s.name == "emea").expect("emea");
    for (key, name) in [("EMEX", "EMEA Extra"), ("ARCH", "Archive")] {
        emea_site.projects.push(jirafed::sim::world::ProjectConfig {
            key: key.into(),
            name: name.into(),
            components: vec![],
        });
    }
    let sim = Sim::start_world_as(&world, "alice").await;
    let state = tempfile::tempdir().expect("tempdir");
    let edit = |text: &str| config("as_deleted", "1s")(text).replacen(EMEA_SCOPE, "project in (EMEA, EMEX)", 1);
    let daemon = Jirafed::start(&sim, state.path(), Some(&edit)).await;
    let (key, mirror) = mirrored(&sim, "emea", "EMEA", "Release train").await;

    let moved = move_to(&sim, &key, "EMEX").await;
    assert!(moved.starts_with("EMEX-"), "{moved}");
    edit_summary(&sim, &moved, "Release train, moved").await;
    wait_until(WITHIN, "the edit under the new key to reach the mirror", || async {
        let m = issue(&sim, "hub", &mirror).await?;
        (m["fields"]["summary"] == "Release train, moved").then_some(())
    })
    .await;
    assert_eq!(hub_named(&sim, "Release train, moved").await, vec![mirror.clone()], "one mirror, the same");
    let status = daemon.status(&reqwest::Client::new()).await;
    assert_eq!(status["links"], json!(5), "the world's four pairs and this one: {status}");

    move_to(&sim, &moved, "ARCH").await;
    wait_severed(&sim, &mirror).await;
}

async fn move_to(sim: &Sim, key: &str, project: &str) -> String {
    let body = json!({"project": project, "user": "alice"});
    let r = sim.control("emea", "POST", &format!("/_sim/issues/{key}/move"), Some(&body)).await;
    assert_eq!(r.status, 200, "move {key}: {}", r.body);
    r.body["key"].as_str().expect("new key").to_string()
}

async fn edit_summary(sim: &Sim, key: &str, text: &str) {
    edit(sim, "emea", key, json!({"summary": text})).await;
}

async fn wait_severed(sim: &Sim, mirror: &str) {
    wait_until(WITHIN, &format!("{mirror} labelled jirafed-severed"), || async {
        let m = issue(sim, "hub", mirror).await?;
        labels(&m).contains(&"jirafed-severed".to_string()).then_some(())
    })
    .await;
}

/// `jirafed resync ARGS` against the test daemon; its stdout (it must succeed).
async fn resync(sim: &Sim, state: &Path, args: &[&str]) -> String {
    let edit = config("as_deleted", "1h");
    let args: Vec<&str> = std::iter::once("resync").chain(args.iter().copied()).collect();
    let mut cmd = super::support::process::command(sim, state, Some(&edit), &args);
    let out = cmd.stdin(std::process::Stdio::null()).output().await.expect("jirafed resync runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    stdout
}

/// The hub issue's parent key and the keys its links point to.
async fn parent_and_links(sim: &Sim, key: &str) -> (Option<String>, Vec<String>) {
    let Some(i) = issue(sim, "hub", key).await else { return (None, Vec::new()) };
    let parent = i["fields"]["parent"]["key"].as_str().map(String::from);
    let links = i["fields"]["issuelinks"].as_array().cloned().unwrap_or_default();
    let ends = links
        .iter()
        .filter_map(|l| l["outwardIssue"]["key"].as_str().or(l["inwardIssue"]["key"].as_str()).map(String::from))
        .collect();
    (parent, ends)
}

/// An epic with two stories, one of which blocks it, mirrored; the epic is
/// deleted (`on_delete = "sever"`): its mirror stays, labelled, without
/// the mirrored link; the stories keep their mirrors, whose parent is
/// cleared and reported on `/status`, and go on syncing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_parent_leaves_its_children_mirrored_without_a_parent_and_no_link_to_it() {
    let sim = Sim::start_as("alice").await;
    let state = tempfile::tempdir().expect("tempdir");
    let daemon = start(&sim, state.path(), "as_deleted", "1s").await;
    let epic = sim.create("emea", "EMEA", "Payments launch", json!({"issuetype": {"name": "Epic"}})).await;
    let epic_mirror = wait_until(WITHIN, "the epic's mirror", || async {
        let found = hub_named(&sim, "Payments launch").await;
        (found.len() == 1).then(|| found[0].clone())
    })
    .await;
    let mut stories = Vec::new();
    for summary in ["Card payments", "Refunds"] {
        let key = sim.create("emea", "EMEA", summary, json!({"parent": {"key": epic}})).await;
        stories.push(key);
    }
    let link = json!({"type": {"name": "Blocks"}, "inwardIssue": {"key": stories[0]}, "outwardIssue": {"key": epic}});
    let r = sim.call("emea", "POST", "/rest/api/2/issueLink", Some(&link)).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let mut mirrors = Vec::new();
    for summary in ["Card payments", "Refunds"] {
        let found = wait_until(WITHIN, &format!("{summary} mirrored under the epic's mirror"), || async {
            let found = hub_named(&sim, summary).await;
            let key = found.first()?.clone();
            (parent_and_links(&sim, &key).await.0.as_deref() == Some(epic_mirror.as_str())).then_some(key)
        })
        .await;
        mirrors.push(found);
    }
    wait_until(WITHIN, "the link mirrored", || async {
        parent_and_links(&sim, &mirrors[0]).await.1.contains(&epic_mirror).then_some(())
    })
    .await;

    let r = sim.call("emea", "DELETE", &format!("/rest/api/2/issue/{epic}"), None).await;
    assert_eq!(r.status, 204, "{}", r.body);
    wait_severed(&sim, &epic_mirror).await;
    for m in &mirrors {
        wait_until(WITHIN, &format!("{m} without a parent"), || async {
            parent_and_links(&sim, m).await.0.is_none().then_some(())
        })
        .await;
    }
    let (_, links) = parent_and_links(&sim, &epic_mirror).await;
    assert!(links.is_empty(), "the severed epic's mirror keeps no mirrored link: {links:?}");
    let status = daemon.status(&reqwest::Client::new()).await;
    let flow = status["flows"]["emea-delivery"].to_string();
    assert!(flow.contains("pairing ended (source deleted)"), "reported on /status: {flow}");

    // The children's pairs go on.
    edit(&sim, "emea", &stories[1], json!({"summary": "Refunds, partial too"})).await;
    wait_until(WITHIN, "the story's edit to reach its mirror", || async {
        let m = issue(&sim, "hub", &mirrors[1]).await?;
        (m["fields"]["summary"] == "Refunds, partial too").then_some(())
    })
    .await;
}
