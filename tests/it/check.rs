//! `jirafed check` against the simulator: what carrying dependencies and
//! parents needs, and what pushing flows share, every finding on its own
//! line naming the flow and the site.

use std::path::{Path, PathBuf};

use jirafed::sim::default_world;
use serde_json::json;

use super::cli::{jirafed, text};
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
    let envs: Vec<(String, String)> = ["hub", "emea", "apac"]
        .iter()
        .map(|s| (format!("JIRAFED_INSTANCES__{}__URL", s.to_uppercase()), sim.base(s)))
        .collect();
    let config = config.display().to_string();
    let out = tokio::task::spawn_blocking(move || {
        let env: Vec<(&str, &str)> = envs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        jirafed(&["check", "--config", &config], &env)
    })
    .await
    .expect("check ran");
    (out.status.code(), text(&out))
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
