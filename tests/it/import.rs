//! `jirafed import` against the simulator: thousands of old issues (seeded
//! with `POST /_sim/seed`: epics, their children, "Blocks" links) mirrored
//! once, parents and links included; a second run and a run killed halfway
//! then run again never duplicate; `--dry-run` writes nothing; issues copied
//! by hand are paired by `--match-field` instead of copied again, through
//! the running daemon.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};

use super::support::process::{Jirafed, command, jirafed_once};
use super::support::workload::search_all;
use super::support::{Sim, wait_until};

/// An import of thousands of issues at 200 writes a second, in a debug build.
const IMPORT_WITHIN: Duration = Duration::from_secs(300);

/// Seeds `count` old issues on `site` (`epics` of them epics, `links`
/// "Blocks" links); their keys, epics first.
async fn seed(sim: &Sim, site: &str, project: &str, body: Value) -> Vec<String> {
    let mut body = body;
    body["project"] = json!(project);
    let r = sim.control(site, "POST", "/_sim/seed", Some(&body)).await;
    assert_eq!(r.status, 200, "seed {site}: {}", r.body);
    r.body["keys"].as_array().expect("keys").iter().map(|k| k.as_str().expect("key").to_string()).collect()
}

/// Runs `jirafed import ARGS` to its end; exit code, stdout, stderr.
async fn import(sim: &Sim, state: &Path, args: &[&str]) -> (i32, String, String) {
    let mut all = vec!["import"];
    all.extend_from_slice(args);
    let mut cmd = command(sim, state, None, &all);
    cmd.stdin(Stdio::null()).kill_on_drop(true);
    let out = tokio::time::timeout(IMPORT_WITHIN, cmd.output())
        .await
        .unwrap_or_else(|_| panic!("jirafed import {args:?} did not end"))
        .expect("jirafed runs");
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (out.status.code().unwrap_or(-1), text(&out.stdout), text(&out.stderr))
}

/// The simulator's count of issue and link writes (searches left out).
async fn mutations(sim: &Sim) -> u64 {
    let mut n = 0;
    for site in ["hub", "emea", "apac"] {
        n += sim.stats(site).await["mutations"].as_u64().expect("mutations");
    }
    n
}

/// What the hub holds of the mirrors of `site`'s issues: per secondary key
/// (from the provenance mark's issue id), the mirrors' keys, their parents
/// and the keys their links point to, as secondary keys.
struct Mirrors {
    /// Secondary key -> the hub keys mirroring it.
    of: BTreeMap<String, Vec<String>>,
    /// Secondary key -> the secondary key of its mirror's parent.
    parent: BTreeMap<String, String>,
    /// (from, to) secondary keys of the mirrors' "Blocks" links.
    links: BTreeSet<(String, String)>,
}

async fn mirrors(sim: &Sim, flow: &str, site: &str, project: &str) -> Mirrors {
    let sources = search_all(sim, site, &format!("project = {project}"), &["summary"]).await;
    let by_id: BTreeMap<String, String> = sources
        .iter()
        .map(|i| (i["id"].as_str().expect("id").to_string(), i["key"].as_str().expect("key").to_string()))
        .collect();
    let hub = search_all(sim, "hub", "project = PORT", &["labels", "parent", "issuelinks"]).await;
    let prefix = format!("jirafed-{flow}-{site}-");
    let source_of = |issue: &Value| -> Option<String> {
        let labels = issue["fields"]["labels"].as_array()?;
        let id = labels.iter().filter_map(Value::as_str).find_map(|l| l.strip_prefix(&prefix))?;
        by_id.get(id).cloned()
    };
    let hub_to_source: BTreeMap<String, String> =
        hub.iter().filter_map(|i| Some((i["key"].as_str()?.to_string(), source_of(i)?))).collect();
    let mut m = Mirrors { of: BTreeMap::new(), parent: BTreeMap::new(), links: BTreeSet::new() };
    for issue in &hub {
        let Some(source) = source_of(issue) else { continue };
        m.of.entry(source.clone()).or_default().push(issue["key"].as_str().expect("key").to_string());
        if let Some(p) = issue["fields"]["parent"]["key"].as_str().and_then(|p| hub_to_source.get(p)) {
            m.parent.insert(source.clone(), p.clone());
        }
        for l in issue["fields"]["issuelinks"].as_array().into_iter().flatten() {
            if let Some(to) = l["outwardIssue"]["key"].as_str().and_then(|k| hub_to_source.get(k)) {
                m.links.insert((source.clone(), to.clone()));
            }
        }
    }
    m
}

/// Every seeded issue is mirrored exactly once, children under their
/// epic's mirror, and every seeded link between the mirrors.
fn assert_mirrored_once(m: &Mirrors, keys: &[String], epics: usize, links: usize, site: &str) {
    for k in keys {
        let found = m.of.get(k).map_or(0, Vec::len);
        assert_eq!(found, 1, "{site} {k} is mirrored {found} times: {:?}", m.of.get(k));
    }
    for (n, k) in keys.iter().enumerate().skip(epics) {
        let epic = &keys[(n - epics) % epics];
        assert_eq!(m.parent.get(k), Some(epic), "{site} {k}'s mirror is under {epic}'s mirror");
    }
    for i in 0..links {
        let pair = (keys[epics + i].clone(), keys[epics + i + 1].clone());
        assert!(m.links.contains(&pair), "{site}: the link {pair:?} is mirrored");
    }
    assert_eq!(m.links.len(), links, "{site}: no other links");
}

/// The value of the summary table's row `name`.
pub(super) fn row<'a>(out: &'a str, name: &str) -> &'a str {
    let line = out.lines().map(str::trim_start).find(|l| l.starts_with(&format!("{name}  ")));
    line.unwrap_or_else(|| panic!("no {name:?} row in:\n{out}"))[name.len()..].trim()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_thousand_issues_per_secondary_are_mirrored_once_with_their_trees_and_links() {
    const N: usize = 2_000;
    const EPICS: usize = 40;
    const LINKS: usize = 150;
    let sim = Sim::start_as("alice").await;
    let state = tempfile::tempdir().expect("tempdir");
    let spec = json!({"count": N, "epics": EPICS, "links": LINKS, "user": "alice", "summary": "Old work {n}"});
    let emea = seed(&sim, "emea", "EMEA", spec.clone()).await;
    let apac = seed(&sim, "apac", "APAC", spec).await;

    // The plan first: every issue to create (the world's own two besides),
    // and not one write anywhere.
    let before = mutations(&sim).await;
    let (code, out, err) = import(&sim, state.path(), &["emea-delivery", "--dry-run"]).await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("import of flow emea-delivery (dry run: nothing is written)"), "{out}");
    assert_eq!(row(&out, "to create"), "2002", "{out}");
    assert!(out.contains(&format!("create {}", emea[0])), "each issue is listed:\n{out}");
    assert_eq!(mutations(&sim).await, before, "a dry run writes nothing");

    for flow in ["emea-delivery", "apac-platform"] {
        let (code, out, err) = import(&sim, state.path(), &[flow]).await;
        assert_eq!(code, 0, "{out}{err}");
        assert!(out.contains(&format!("import of flow {flow} done; everything is written")), "{out}\n{err}");
        assert_eq!(row(&out, "created"), "2002 of 2002", "{out}");
        assert!(err.contains("import: "), "plain progress lines when not on a terminal:\n{err}");
    }
    let hub_count = search_all(&sim, "hub", "project = PORT", &["summary"]).await.len();
    assert_eq!(hub_count, 2 * (N + 2));
    assert_mirrored_once(&mirrors(&sim, "emea-delivery", "emea", "EMEA").await, &emea, EPICS, LINKS, "emea");
    assert_mirrored_once(&mirrors(&sim, "apac-platform", "apac", "APAC").await, &apac, EPICS, LINKS, "apac");

    // Run again: everything is paired already; nothing is written.
    let before = mutations(&sim).await;
    for flow in ["emea-delivery", "apac-platform"] {
        let (code, out, err) = import(&sim, state.path(), &[flow]).await;
        assert_eq!(code, 0, "{out}{err}");
        assert_eq!(row(&out, "created"), "0 of 0", "{out}");
        assert_eq!(row(&out, "skipped"), "2002", "{out}");
    }
    assert_eq!(mutations(&sim).await, before, "a second run writes nothing");
    assert_eq!(search_all(&sim, "hub", "project = PORT", &["summary"]).await.len(), hub_count, "no duplicates");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_killed_halfway_and_run_again_ends_as_an_uninterrupted_one() {
    const N: usize = 2_000;
    const EPICS: usize = 25;
    const LINKS: usize = 100;
    let sim = Sim::start_as("alice").await;
    let state = tempfile::tempdir().expect("tempdir");
    let spec = json!({"count": N, "epics": EPICS, "links": LINKS, "user": "alice"});
    let emea = seed(&sim, "emea", "EMEA", spec).await;

    let mut first = command(&sim, state.path(), None, &["import", "emea-delivery"]);
    first.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null()).kill_on_drop(true);
    let mut child = first.spawn().expect("jirafed import starts");
    // Killed at a point the clock picks, between a tenth and nine tenths.
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").subsec_nanos();
    let at = N / 10 + (nanos as usize) % (N * 8 / 10);
    wait_until(IMPORT_WITHIN, &format!("{at} mirrors made"), || async {
        (search_all(&sim, "hub", "project = PORT", &["summary"]).await.len() >= at).then_some(())
    })
    .await;
    child.kill().await.expect("SIGKILL");
    let made = search_all(&sim, "hub", "project = PORT", &["summary"]).await.len();
    assert!(made < N, "killed before the end ({made} made)");

    let (code, out, err) = import(&sim, state.path(), &["emea-delivery"]).await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("done; everything is written"), "{out}");
    assert_eq!(row(&out, "failed"), "0", "{out}\n{err}");
    assert_mirrored_once(&mirrors(&sim, "emea-delivery", "emea", "EMEA").await, &emea, EPICS, LINKS, "emea");
    assert_eq!(search_all(&sim, "hub", "project = PORT", &["summary"]).await.len(), N + 2, "no duplicates");
}

/// Waits until the daemon has nothing to plan or write.
async fn wait_idle(daemon: &Jirafed) {
    let http = reqwest::Client::new();
    wait_until(Duration::from_secs(30), "the daemon idle", || async {
        let status = daemon.status(&http).await;
        let instances: Vec<Value> = match &status["instances"] {
            Value::Object(m) => m.values().cloned().collect(),
            Value::Array(a) => a.clone(),
            _ => vec![],
        };
        let idle = status["inbox_depth"] == json!(0) && instances.iter().all(|i| i["outbox_depth"] == json!(0));
        (idle && !instances.is_empty()).then_some(())
    })
    .await;
}

async fn wait_links(daemon: &Jirafed, n: u64) {
    let http = reqwest::Client::new();
    wait_until(Duration::from_secs(30), &format!("{n} pairs on /status"), || async {
        (daemon.status(&http).await["links"] == json!(n)).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issues_copied_by_hand_are_paired_by_match_field_through_the_daemon() {
    const COPIED: usize = 200;
    let sim = Sim::start_as("alice").await;
    let state = tempfile::tempdir().expect("tempdir");
    // 300 old EMEA issues; the first 200 copied to the hub by hand long ago
    // (same summaries, no provenance mark).
    let emea = seed(&sim, "emea", "EMEA", json!({"count": 300, "user": "alice", "summary": "Ticket {n}"})).await;
    seed(&sim, "hub", "PORT", json!({"count": COPIED, "user": "alice", "summary": "Ticket {n}"})).await;
    let daemon = Jirafed::start(&sim, state.path(), None).await;
    // The world's own four issues, made just now, are mirrored by its polls,
    // and everything the daemon queued is written.
    wait_links(&daemon, 4).await;
    wait_idle(&daemon).await;

    // The plan names every guess, and writes nothing.
    let before = mutations(&sim).await;
    let (code, out, err) =
        jirafed_once(&sim, state.path(), &["import", "emea-delivery", "--match-field", "summary", "--dry-run"]).await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("(200 by equal summaries: guesses to review)"), "{out}");
    assert!(out.contains(&format!("guess  {} (emea)", emea[0])), "{out}");
    assert!(out.contains("equal summaries (a guess: review it)"), "{out}");
    assert_eq!(row(&out, "to create"), "100", "{out}");
    assert_eq!(row(&out, "to skip"), "2", "the world's two, paired already:\n{out}");
    assert_eq!(mutations(&sim).await, before, "a dry run writes nothing");

    let (code, out, err) = import(&sim, state.path(), &["emea-delivery", "--match-field", "summary"]).await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("the daemon writes what is left of it"), "through the daemon:\n{out}");
    assert_eq!(row(&out, "paired"), "200 of 200", "{out}");
    assert_eq!(row(&out, "created"), "100 of 100", "{out}");
    // One hub issue per issue: the 200 copies paired, 100 made, and the
    // world's four mirrors.
    let hub = search_all(&sim, "hub", "project = PORT", &["summary"]).await;
    assert_eq!(hub.len(), COPIED + 100 + 4, "no duplicates");
    let mut summaries: Vec<&str> = hub.iter().filter_map(|i| i["fields"]["summary"].as_str()).collect();
    summaries.sort_unstable();
    summaries.dedup();
    assert_eq!(summaries.len(), hub.len(), "one hub issue per summary");
    wait_links(&daemon, 304).await;

    // A pair made by the import flows like any: alice edits an EMEA issue.
    let r = sim
        .call(
            "emea",
            "PUT",
            &format!("/rest/api/2/issue/{}", emea[5]),
            Some(&json!({"fields": {"summary": "Ticket 6, edited"}})),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    wait_until(Duration::from_secs(30), "the edit on the hub", || async {
        let hub = search_all(&sim, "hub", "project = PORT", &["summary"]).await;
        hub.iter().any(|i| i["fields"]["summary"] == "Ticket 6, edited").then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_primary_field_holding_the_secondary_key_pairs_without_guessing() {
    let mut world = jirafed::sim::default_world(0);
    let hub = world.sites.iter_mut().find(|s| s.name == "hub").expect("hub");
    hub.custom_fields.push(jirafed::sim::world::CustomFieldConfig {
        id: "customfield_10090".into(),
        name: "External key".into(),
        kind: "text".into(),
        options: vec![],
    });
    let sim = Sim::start_world_as(&world, "alice").await;
    let state = tempfile::tempdir().expect("tempdir");
    // 20 old EMEA issues (EMEA-3 to EMEA-22 after the world's two); the hub
    // has copies of EMEA-1 to EMEA-10 naming them in "External key", under
    // other summaries, and a second copy of EMEA-5.
    seed(&sim, "emea", "EMEA", json!({"count": 20, "user": "alice"})).await;
    let copy =
        |n: &str| json!({"count": 10, "user": "bob", "summary": "Hub copy {n}", "fields": {"customfield_10090": n}});
    seed(&sim, "hub", "PORT", copy("EMEA-{n}")).await;
    let again = json!({"count": 1, "user": "bob", "summary": "Second copy", "fields": {"customfield_10090": "EMEA-5"}});
    seed(&sim, "hub", "PORT", again).await;

    let (code, out, err) =
        jirafed_once(&sim, state.path(), &["import", "emea-delivery", "--match-field", "External key", "--dry-run"])
            .await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("pair   EMEA-3 (emea)           with PORT-3: customfield_10090 of PORT-3 holds EMEA-3"),
        "{out}"
    );
    assert!(!out.contains("guess"), "a field holding the key is no guess:\n{out}");
    assert!(out.contains("skip   EMEA-5 (emea)           several issues match it (PORT-5, PORT-11)"), "{out}");
    assert_eq!(row(&out, "to pair"), "9", "{out}");
    assert_eq!(row(&out, "to create"), "12", "{out}");

    let (code, out, err) = import(&sim, state.path(), &["emea-delivery", "--match-field", "customfield_10090"]).await;
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(row(&out, "paired"), "9 of 9", "{out}");
    assert_eq!(row(&out, "created"), "12 of 12", "{out}");
    assert_eq!(search_all(&sim, "hub", "project = PORT", &["summary"]).await.len(), 11 + 12);
    // The pair is levelled (written before the import ends): the flow's
    // conflict policy (primary_wins) keeps the hub copy's summary, and
    // EMEA-3 takes it.
    let r = sim.get("emea", "/rest/api/2/issue/EMEA-3?fields=summary").await;
    assert_eq!(r.body["fields"]["summary"], "Hub copy 3", "{}", r.body);

    // A bad field is named.
    let (code, _, err) =
        jirafed_once(&sim, state.path(), &["import", "emea-delivery", "--match-field", "Extrnal key"]).await;
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("--match-field:") && err.contains("Extrnal key"), "{err}");
}

/// The demo config with the EMEA flow creating both ways: the hub's issues
/// labelled `to-emea` are pushed to EMEA.
fn pushing(text: &str) -> String {
    let from = "scope = \"project = EMEA\"\nprimary_project = \"PORT\"\ncreate = \"to_primary\"";
    let to = "scope = \"project = EMEA\"\nprimary_project = \"PORT\"\ncreate = \"both\"\n\
              primary_scope = \"project = PORT AND labels = to-emea\"\nsecondary_project = \"EMEA\"";
    assert!(text.contains(from), "the demo config changed shape");
    text.replacen(from, to, 1)
}

/// The emea issues carrying the provenance mark of a hub issue, per hub id.
async fn push_marks(sim: &Sim) -> BTreeMap<String, usize> {
    let prefix = "jirafed-emea-delivery-hub-";
    let mut by_id = BTreeMap::new();
    for issue in search_all(sim, "emea", "project = EMEA", &["labels"]).await {
        for l in issue["fields"]["labels"].as_array().into_iter().flatten().filter_map(Value::as_str) {
            if let Some(id) = l.strip_prefix(prefix) {
                *by_id.entry(id.to_string()).or_default() += 1;
            }
        }
    }
    by_id
}

/// The emea issues per summary "Portfolio item N" (the hub's seeded ones).
async fn pushes(sim: &Sim) -> BTreeMap<String, usize> {
    let mut by_summary = BTreeMap::new();
    for issue in search_all(sim, "emea", "project = EMEA", &["summary"]).await {
        let summary = issue["fields"]["summary"].as_str().unwrap_or_default();
        if summary.starts_with("Portfolio item ") {
            *by_summary.entry(summary.to_string()).or_default() += 1;
        }
    }
    by_summary
}

/// With `create = "both"`, an import mirrors both ways: the secondary's
/// issues to the primary, and the primary's issues in `primary_scope` to the
/// secondary; a copy left by an earlier push whose answer was lost (it
/// carries the mark) is paired, not pushed again; a second run writes
/// nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_of_a_flow_creating_both_ways_pushes_the_primarys_issues_once() {
    const N: usize = 60;
    let sim = Sim::start_as("alice").await;
    let state = tempfile::tempdir().expect("tempdir");
    let spec = json!({"count": N, "user": "alice", "summary": "Portfolio item {n}", "fields": {"labels": ["to-emea"]}});
    let hub = seed(&sim, "hub", "PORT", spec).await;
    let emea = seed(&sim, "emea", "EMEA", json!({"count": 40, "user": "alice", "summary": "Delivery item {n}"})).await;
    // The copy an earlier push made of the first hub issue, its answer lost.
    let first = sim.get("hub", &format!("/rest/api/2/issue/{}", hub[0])).await.body;
    let first_id = first["id"].as_str().expect("id").to_string();
    let labels = json!({"labels": [format!("jirafed-emea-delivery-hub-{first_id}")]});
    sim.create("emea", "EMEA", "Portfolio item 1", labels).await;

    let run = |dry: bool| {
        let mut args = vec!["import", "emea-delivery"];
        if dry {
            args.push("--dry-run");
        }
        let mut cmd = command(&sim, state.path(), Some(&pushing), &args);
        cmd.stdin(Stdio::null()).kill_on_drop(true);
        async move {
            let out = tokio::time::timeout(IMPORT_WITHIN, cmd.output()).await.expect("import ends").expect("runs");
            let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
            (out.status.code().unwrap_or(-1), text(&out.stdout), text(&out.stderr))
        }
    };
    let (code, out, err) = run(true).await;
    assert_eq!(code, 0, "{out}{err}");
    let listed = |verdict: &str, key: &str| {
        let at = format!("{key} (hub)");
        out.lines().any(|l| l.trim_start().starts_with(verdict) && l.contains(&at))
    };
    assert!(listed("pair", &hub[0]), "the marked copy is to be paired:\n{out}");
    assert!(listed("create", &hub[1]), "the hub's issues are to be pushed:\n{out}");

    let (code, out, err) = run(false).await;
    assert_eq!(code, 0, "{out}{err}");
    // The world's two EMEA issues and 40 seeded ones up, 59 pushed down.
    assert_eq!(row(&out, "created"), format!("{0} of {0}", 42 + N - 1), "{out}");
    assert_eq!(row(&out, "paired"), "1 of 1", "{out}");
    let pushed = pushes(&sim).await;
    assert_eq!(pushed.len(), N, "every hub issue has a copy on emea: {pushed:?}");
    assert!(pushed.values().all(|n| *n == 1), "none twice: {pushed:?}");
    // Every copy keeps its mark, the one paired by it too (its labels were
    // levelled with the hub's: the mark is kept through the write).
    let marks = push_marks(&sim).await;
    assert_eq!((marks.len(), marks.get(&first_id)), (N, Some(&1)), "{marks:?}");
    assert!(marks.values().all(|n| *n == 1), "{marks:?}");
    let mirrored = mirrors(&sim, "emea-delivery", "emea", "EMEA").await;
    for k in &emea {
        assert_eq!(mirrored.of.get(k).map_or(0, Vec::len), 1, "{k} mirrored once");
    }

    let before = mutations(&sim).await;
    let (code, out, err) = run(false).await;
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(row(&out, "created"), "0 of 0", "{out}");
    assert_eq!(mutations(&sim).await, before, "a second run writes nothing");
}
