//! `jirafed check` against the simulator: what carrying dependencies and
//! parents needs, and what pushing flows share, every finding on its own
//! line naming the flow and the site.

use std::path::{Path, PathBuf};

use jirafed::sim::{WorldConfig, default_world};
use serde_json::{Value, json};

use super::cli::jirafed;
use super::support::Sim;

/// The demo config written with its secrets into `dir`, without the demo's
/// own links and hierarchy, each edit's text added on the line after the
/// first line that is its anchor; with `pushing`, every flow's `create` is
/// "both".
fn demo_config(dir: &Path, pushing: bool, edits: &[(&str, &str)]) -> PathBuf {
    let path = jirafed::harness::write_config(dir).expect("demo config");
    let mut toml = without_structure(&std::fs::read_to_string(&path).expect("read the config"));
    if pushing {
        assert!(toml.contains(TO_PRIMARY), "{toml}");
        toml = toml.replace(TO_PRIMARY, "create = \"both\"");
    }
    for (anchor, add) in edits {
        assert!(toml.contains(anchor), "no {anchor:?} in the demo config");
        toml = toml.replacen(anchor, &format!("{anchor}\n{add}"), 1);
    }
    std::fs::write(&path, toml).expect("write the config");
    path
}

/// `toml` without its flows' `links` and `hierarchy` lines.
pub(crate) fn without_structure(toml: &str) -> String {
    let kept: Vec<&str> =
        toml.lines().filter(|l| !l.starts_with("links = ") && !l.starts_with("hierarchy = ")).collect();
    kept.join("\n") + "\n"
}

/// The anchors of the demo config's two flows.
const EMEA_FLOW: &str = "conflict = \"primary_wins\"";
const APAC_FLOW: &str = "conflict = \"newest_wins\"";

/// The demo flows' own `create`, which pushing flows replace.
const TO_PRIMARY: &str = "create = \"to_primary\"";

/// `jirafed check` (online) on `config` pointed at `sim`: exit code, output.
async fn check(sim: &Sim, config: &Path) -> (Option<i32>, String) {
    let (code, stdout, stderr) = check_with(sim, config, &[]).await;
    (code, format!("{stdout}{stderr}"))
}

/// `jirafed check` with `flags` on `config` pointed at `sim`: exit code,
/// stdout, stderr.
async fn check_with(sim: &Sim, config: &Path, flags: &[&str]) -> (Option<i32>, String, String) {
    let envs: Vec<(String, String)> = ["hub", "emea", "apac"]
        .iter()
        .map(|s| (format!("JIRAFED_INSTANCES__{}__URL", s.to_uppercase()), sim.base(s)))
        .collect();
    let mut args: Vec<String> = vec!["check".into(), "--config".into(), config.display().to_string()];
    args.extend(flags.iter().map(|f| f.to_string()));
    let out = tokio::task::spawn_blocking(move || {
        let env: Vec<(&str, &str)> = envs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        jirafed(&args, &env)
    })
    .await
    .expect("check ran");
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.code(), stdout.into_owned(), stderr.into_owned())
}

/// The report's lines that start (after their indent) with `prefix`.
fn lines<'a>(report: &'a str, prefix: &str) -> Vec<&'a str> {
    report.lines().map(str::trim_start).filter(|l| l.starts_with(prefix)).collect()
}

/// One config wrong in every way the online check knows for links and
/// parents: each finding is there, once, and the errors fail the check.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_reports_what_links_parents_and_pushes_need_all_at_once() {
    let sim = Sim::start_as("alice").await;
    // A person's dependencies on the secondary: one of a mapped type, one not.
    let a = sim.create("emea", "EMEA", "Checkout", json!({})).await;
    let b = sim.create("emea", "EMEA", "Wallet", json!({})).await;
    for link_type in ["Blocks", "Relates"] {
        let body = json!({"type": {"name": link_type}, "outwardIssue": {"key": a}, "inwardIssue": {"key": b}});
        let r = sim.call("emea", "POST", "/rest/api/3/issueLink", Some(&body)).await;
        assert_eq!(r.status, 201, "{link_type}: {}", r.body);
    }
    // Issues of the primary: one both pushing scopes match, one only the wider.
    let shared = sim.create("hub", "PORT", "Shared roadmap item", json!({"labels": ["shared"]})).await;
    let only_emea = sim.create("hub", "PORT", "EMEA roadmap item", json!({})).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let config = demo_config(
        dir.path(),
        true,
        &[
            (
                EMEA_FLOW,
                "primary_scope = \"project = PORT\"\nsecondary_project = \"EMEA\"\n\
                 issue_types = { Sub-task = \"Story\", Story = \"Sub-task\", Epic = \"Epic\" }\n\
                 links = { types = { Blocks = \"Dependency\", Duplicates = \"Depends\" } }\n\
                 hierarchy = { parent = true }",
            ),
            (
                APAC_FLOW,
                "primary_scope = \"project = PORT AND labels = shared\"\n\
                 secondary_project = \"APAC\"\nhierarchy = { parent = true }",
            ),
        ],
    );
    let (code, t) = check(&sim, &config).await;
    assert_eq!(code, Some(1), "{t}");
    let errors = lines(&t, "error: flow emea-delivery: ");
    let expected = [
        "error: flow emea-delivery: issue type \"Story\" is a standard type on emea but maps to \"Sub-task\", a sub-task type on hub; a sub-task mirror needs a parent its standard source does not have",
        "error: flow emea-delivery: issue type \"Sub-task\" is a sub-task type on emea but maps to \"Story\", a standard type on hub; the mirror of a sub-task could not have its parent",
        "error: flow emea-delivery: link type \"Depends\" does not exist on the primary (hub); it has Blocks, Cloners, Relates, Dependency",
        "error: flow emea-delivery: link type \"Duplicates\" does not exist on the secondary (emea); it has Blocks, Cloners, Relates",
    ];
    let mut sorted = errors.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, expected, "{t}");
    assert_eq!(
        lines(&t, "warning: flow emea-delivery: "),
        [
            "warning: flow emea-delivery: link type \"Relates\" is used on emea but not mapped; such links are not carried"
        ],
        "{t}"
    );
    // Cloud keeps a story's epic in `parent`: no Epic Link needed there.
    assert!(!t.contains("flow emea-delivery: hierarchy.parent"), "{t}");
    assert_eq!(
        lines(&t, "info: "),
        ["info: flow apac-platform: hierarchy.parent uses the Epic Link field customfield_10100 'Epic Link' on apac"],
        "{t}"
    );
    assert!(lines(&t, "error: flow apac-platform").is_empty(), "{t}");
    assert!(t.contains("flow apac-platform: 6 field(s) resolved, scope and project OK"), "{t}");
    let overlap = format!(
        "warning: flows emea-delivery and apac-platform: both primary_scopes match {shared} on hub; an issue both match would be mirrored by neither"
    );
    assert_eq!(lines(&t, "warning: flows "), [overlap.as_str()], "{t}");
    assert!(!t.contains(&only_emea), "only the common issue is named: {t}");
    assert_eq!(t.lines().last(), Some("FAILED"), "{t}");
}

/// A Data Center site without Jira Software has no Epic Link field: a
/// flow carrying parents from it fails `check`; one that does not, passes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_data_center_secondary_without_epic_link_cannot_carry_parents() {
    let mut world = default_world(0);
    let apac = world.sites.iter_mut().find(|s| s.name == "apac").expect("apac");
    apac.absent_fields = vec!["Epic Link".into()];
    let sim = Sim::start_world(&world).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let plain = demo_config(dir.path(), false, &[]);
    let (code, t) = check(&sim, &plain).await;
    assert_eq!(code, Some(0), "parents not carried, nothing needed: {t}");
    assert!(!t.contains("Epic Link"), "{t}");
    let carried = demo_config(dir.path(), false, &[(APAC_FLOW, "hierarchy = { parent = true }")]);
    let (code, t) = check(&sim, &carried).await;
    assert_eq!(code, Some(1), "{t}");
    assert_eq!(
        lines(&t, "error: "),
        [
            "error: flow apac-platform: hierarchy.parent needs the Epic Link field on apac (Data Center keeps a story's epic there); none found"
        ],
        "{t}"
    );
}

/// The demo config with the first occurrence of `old` replaced by `new`.
fn with_replaced(dir: &Path, old: &str, new: &str) -> PathBuf {
    let path = demo_config(dir, false, &[]);
    let toml = std::fs::read_to_string(&path).expect("read the config");
    assert!(toml.contains(old), "no {old:?} in {toml}");
    std::fs::write(&path, toml.replacen(old, new, 1)).expect("write the config");
    path
}

/// A status map naming a status the site does not have fails `check`,
/// naming the flow, the map entry, the site and the statuses it has.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_status_map_naming_a_status_the_site_lacks_fails_check() {
    let sim = Sim::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    // The first `"Done" = "Done" }` is emea-delivery's `to_primary`.
    let config = with_replaced(dir.path(), "\"Done\" = \"Done\" }", "\"Done\" = \"Finished\" }");
    let (code, t) = check(&sim, &config).await;
    assert_eq!(code, Some(1), "{t}");
    assert_eq!(
        lines(&t, "error: "),
        [
            "error: flow emea-delivery: status \"Finished\" of status.to_primary \"Done\" = \"Finished\" does not exist on hub; it has To Do, In Progress, In Review, Blocked, Done"
        ],
        "{t}"
    );
    assert!(t.contains("flow apac-platform: 6 field(s) resolved, scope and project OK"), "{t}");
    assert_eq!(t.lines().rev().nth(1), Some("1 error(s), 0 warning(s)"), "{t}");
    assert_eq!(t.lines().last(), Some("FAILED"), "{t}");
}

/// A status the site has but no workflow of the flow's project reaches
/// (left behind by a retired workflow) fails `check` too, naming the
/// project; the same map against the demo world's statuses passes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_status_outside_the_projects_workflows_fails_check() {
    let mut world = default_world(0);
    let apac = world.sites.iter_mut().find(|s| s.name == "apac").expect("apac");
    apac.unused_statuses = vec!["Closed".into()];
    let sim = Sim::start_world(&world).await;
    let dir = tempfile::tempdir().expect("tempdir");
    // The third `"Done" = "Done" }` is apac-platform's `to_primary`.
    let path = demo_config(dir.path(), false, &[]);
    let toml = std::fs::read_to_string(&path).expect("read the config");
    let entry = "\"Done\" = \"Done\" }";
    let at = toml.match_indices(entry).nth(2).map(|(i, _)| i).expect("apac's to_primary");
    let edited = format!("{}\"Done\" = \"Done\", \"Closed\" = \"Done\" }}{}", &toml[..at], &toml[at + entry.len()..]);
    std::fs::write(&path, edited).expect("write the config");
    let (code, t) = check(&sim, &path).await;
    assert_eq!(code, Some(1), "{t}");
    assert_eq!(
        lines(&t, "error: "),
        [
            "error: flow apac-platform: status \"Closed\" of status.to_primary \"Closed\" = \"Done\" is in the workflow of no issue type of project APAC on apac"
        ],
        "{t}"
    );
}

/// The default world with hub's sync-bot holding every permission but
/// `lacking` (in every project).
fn world_lacking(lacking: &str) -> WorldConfig {
    site_lacking(default_world(0), "hub", lacking)
}

/// `world` with `site`'s sync-bot holding every permission but `lacking`.
fn site_lacking(mut world: WorldConfig, site: &str, lacking: &str) -> WorldConfig {
    let hub = world.sites.iter_mut().find(|s| s.name == site).expect("site");
    let bot = hub.users.iter_mut().find(|u| u.name == "sync-bot").expect("sync-bot");
    let all = ["BROWSE_PROJECTS", "CREATE_ISSUES", "EDIT_ISSUES", "TRANSITION_ISSUES", "LINK_ISSUES", "DELETE_ISSUES"];
    bot.permissions = Some(all.iter().filter(|p| **p != lacking).map(|p| p.to_string()).collect());
    world
}

/// A permission the technical user lacks on the primary project is an
/// error for every flow that needs it, naming the user, the site, the
/// project, the permission and what it is needed for.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_permission_the_technical_user_lacks_is_named_with_its_feature() {
    let sim = Sim::start_world(&world_lacking("EDIT_ISSUES")).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let config = demo_config(dir.path(), false, &[]);
    let (code, t) = check(&sim, &config).await;
    assert_eq!(code, Some(1), "{t}");
    assert_eq!(
        lines(&t, "error: "),
        [
            "error: flow emea-delivery: Sync Bot lacks EDIT_ISSUES on hub project PORT: needed to update mirrors",
            "error: flow apac-platform: Sync Bot lacks EDIT_ISSUES on hub project PORT: needed to update mirrors",
        ],
        "{t}"
    );
    assert_eq!(t.lines().rev().nth(1), Some("2 error(s), 0 warning(s)"), "{t}");
    // Without Browse Projects, Jira hides the project: that is said once.
    let sim = Sim::start_world(&world_lacking("BROWSE_PROJECTS")).await;
    let (code, t) = check(&sim, &config).await;
    assert_eq!(code, Some(1), "{t}");
    let hidden = "error: flow emea-delivery: Sync Bot cannot see hub project PORT (it lacks BROWSE_PROJECTS there, or there is no such project)";
    assert_eq!(lines(&t, hidden).len(), 1, "{t}");
    // On a secondary (Data Center here), the projects of the scope are checked.
    let sim = Sim::start_world(&site_lacking(default_world(0), "apac", "TRANSITION_ISSUES")).await;
    let (code, t) = check(&sim, &config).await;
    assert_eq!(code, Some(1), "{t}");
    assert_eq!(
        lines(&t, "error: "),
        [
            "error: flow apac-platform: Sync Bot lacks TRANSITION_ISSUES on apac project APAC: needed to move issues to the mapped status (status.to_secondary)"
        ],
        "{t}"
    );
    // Deleting mirrors needs DELETE_ISSUES only where on_delete deletes them.
    let sim = Sim::start_world(&world_lacking("DELETE_ISSUES")).await;
    let (code, t) = check(&sim, &config).await;
    assert_eq!(code, Some(0), "on_delete = \"label\" deletes nothing: {t}");
    let deleting = with_replaced(dir.path(), "on_delete = \"label\"", "on_delete = \"delete_mirror\"");
    let (code, t) = check(&sim, &deleting).await;
    assert_eq!(code, Some(1), "{t}");
    assert_eq!(
        lines(&t, "error: "),
        [
            "error: flow emea-delivery: Sync Bot lacks DELETE_ISSUES on hub project PORT: needed to delete mirrors (on_delete = \"delete_mirror\")"
        ],
        "{t}"
    );
}

/// The names of an object's members, sorted.
fn keys(v: &Value) -> Vec<&str> {
    let mut k: Vec<&str> =
        v.as_object().unwrap_or_else(|| panic!("not an object: {v}")).keys().map(String::as_str).collect();
    k.sort_unstable();
    k
}

/// `check --json` prints one document whose names stay as documented, its
/// findings grouped by instance and flow and counted, online and offline.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_json_is_one_stable_document() {
    let sim = Sim::start_world(&world_lacking("LINK_ISSUES")).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let config = demo_config(dir.path(), false, &[(EMEA_FLOW, "links = { types = { Blocks = \"Dependency\" } }")]);
    let (code, stdout, stderr) = check_with(&sim, &config, &["--json"]).await;
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    let doc: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    assert_eq!(
        keys(&doc),
        ["across_flows", "config", "errors", "flows", "instances", "ok", "sites_checked", "warnings"],
        "{doc:#}"
    );
    assert_eq!(keys(&doc["config"]), ["path", "problems", "valid", "warnings"]);
    assert_eq!(doc["config"]["valid"], true);
    assert_eq!(doc["sites_checked"], true);
    let instances = doc["instances"].as_array().expect("instances");
    let ids: Vec<&str> = instances.iter().map(|i| i["id"].as_str().unwrap_or_default()).collect();
    assert_eq!(ids, ["apac", "emea", "hub"], "{doc:#}");
    for i in instances {
        assert_eq!(keys(i), ["findings", "flavour", "id", "reachable", "role", "user"], "{i}");
        assert_eq!(i["reachable"], true, "{i}");
        assert_eq!(i["user"], "Sync Bot", "{i}");
    }
    let flows = doc["flows"].as_array().expect("flows");
    for f in flows {
        assert_eq!(keys(f), ["checked", "findings", "name", "secondary"], "{f}");
    }
    let emea = &flows[0];
    assert_eq!(emea["name"], "emea-delivery");
    assert_eq!(
        emea["findings"],
        json!([{"level": "error", "text": "flow emea-delivery: Sync Bot lacks LINK_ISSUES on hub project PORT: needed to carry dependencies (links.types)"}]),
        "{doc:#}"
    );
    assert_eq!(flows[1]["findings"], json!([]), "{doc:#}");
    assert_eq!((doc["errors"].as_u64(), doc["warnings"].as_u64(), &doc["ok"]), (Some(1), Some(0), &json!(false)));
    assert!(!stdout.contains("sites:") && !stdout.contains("FAILED"), "only the document: {stdout}");

    let (code, stdout, stderr) = check_with(&sim, &config, &["--json", "--offline"]).await;
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    let doc: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    assert_eq!((&doc["sites_checked"], &doc["ok"], &doc["errors"]), (&json!(false), &json!(true), &json!(0)));
    assert!(doc["instances"].as_array().is_some_and(|i| i.len() == 3 && i.iter().all(|i| i["reachable"].is_null())));

    std::fs::write(&config, "[daemon]\nlisten = \"nowhere\"\n").expect("break the config");
    let (code, stdout, _) = check_with(&sim, &config, &["--json", "--offline"]).await;
    assert_eq!(code, Some(1), "{stdout}");
    let doc: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    assert_eq!(doc["config"]["valid"], false);
    let problems = doc["config"]["problems"].as_array().map_or(0, Vec::len);
    assert!(problems > 0 && doc["errors"] == json!(problems), "{doc:#}");
    assert_eq!((&doc["instances"], &doc["flows"]), (&json!([]), &json!([])));
}
