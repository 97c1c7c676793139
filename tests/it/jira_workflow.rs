//! Finding a way through a workflow: learning it from the transitions Jira
//! lists, backing out of dead ends, remembering it for later calls, and
//! failing with words that name the issue, where it is and where it should
//! go. The simulator's workflow is fixed (its world file has no workflows),
//! so branching workflows are played by a stub site.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use jirafed::config::Flavour;
use jirafed::jira::client::JiraClient;
use serde_json::{Map, Value, json};

use super::support::stub::{Seen, Stub};
use super::support::{Sim, instance_config};

/// A workflow: statuses with their category, and transitions `(id, name,
/// from, to)` listed in this order.
struct Workflow {
    statuses: Vec<(&'static str, &'static str)>,
    transitions: Vec<(&'static str, &'static str, &'static str, &'static str)>,
}

impl Workflow {
    /// The transitions listed at status `at`, in order.
    fn from(&self, at: &str) -> Vec<(&'static str, &'static str, &'static str, &'static str)> {
        self.transitions.iter().filter(|t| t.2 == at).copied().collect()
    }

    fn status(&self, name: &str) -> Value {
        let category = self.statuses.iter().find(|(n, _)| *n == name).map(|(_, c)| *c).unwrap_or("indeterminate");
        json!({"name": name, "id": name.len().to_string(), "statusCategory": {"key": category}})
    }
}

/// To Do -> In Progress; In Progress lists "Block" first, and Blocked only
/// goes back; In Review -> Done. Blocked is in `blocked_category`.
fn branching(blocked_category: &'static str) -> Workflow {
    Workflow {
        statuses: vec![
            ("To Do", "new"),
            ("In Progress", "indeterminate"),
            ("Blocked", blocked_category),
            ("In Review", "indeterminate"),
            ("Done", "done"),
            ("Archived", "done"),
        ],
        transitions: vec![
            ("11", "Start", "To Do", "In Progress"),
            ("41", "Block", "In Progress", "Blocked"),
            ("21", "Review", "In Progress", "In Review"),
            ("51", "Unblock", "Blocked", "In Progress"),
            ("31", "Close", "In Review", "Done"),
            ("61", "Rework", "In Review", "In Progress"),
            ("71", "Reopen", "Done", "To Do"),
        ],
    }
}

/// A Cloud site running `flow`, with issues EMEA-1.. at the given statuses.
/// Transition screens require a resolution when they lead to Done.
async fn workflow_site(flow: Workflow, issues: &[&str]) -> Stub {
    let state: HashMap<String, String> =
        issues.iter().enumerate().map(|(i, s)| (format!("EMEA-{}", i + 1), s.to_string())).collect();
    let state = Mutex::new(state);
    Stub::start(move |s: &Seen| {
        let parts: Vec<&str> = s.path.trim_start_matches('/').split('/').collect();
        let mut state = state.lock().expect("lock");
        match (s.method.as_str(), parts.as_slice()) {
            ("GET", ["rest", "api", "3", "status"]) => {
                (200, vec![], flow.statuses.iter().map(|(n, _)| flow.status(n)).collect())
            }
            ("GET", ["rest", "api", "3", "issue", key]) => match state.get(*key) {
                Some(at) => {
                    let fields =
                        json!({"status": flow.status(at), "project": {"key": "EMEA"}, "issuetype": {"name": "Story"}});
                    (200, vec![], json!({"id": "10001", "key": key, "fields": fields}))
                }
                None => (404, vec![], json!({"errorMessages": ["Issue does not exist"]})),
            },
            ("GET", ["rest", "api", "3", "issue", key, "transitions"]) => {
                let at = state.get(*key).cloned().unwrap_or_default();
                let list: Vec<Value> = flow
                    .from(&at)
                    .into_iter()
                    .map(|(id, name, _, to)| {
                        let fields = if to == "Done" {
                            let allowed = [json!({"id": "1", "name": "Won't Do"}), json!({"id": "2", "name": "Fixed"})];
                            json!({"resolution": {"required": true, "name": "Resolution", "allowedValues": allowed}})
                        } else {
                            json!({})
                        };
                        json!({"id": id, "name": name, "to": flow.status(to), "fields": fields})
                    })
                    .collect();
                (200, vec![], json!({"transitions": list}))
            }
            ("POST", ["rest", "api", "3", "issue", key, "transitions"]) => {
                let at = state.get(*key).cloned().unwrap_or_default();
                let id = s.body["transition"]["id"].as_str().unwrap_or_default();
                match flow.from(&at).into_iter().find(|t| t.0 == id) {
                    Some(t) => {
                        state.insert(key.to_string(), t.3.to_string());
                        (204, vec![], Value::Null)
                    }
                    None => (
                        400,
                        vec![],
                        json!({"errorMessages": [format!("Transition id '{id}' is not valid for this issue.")]}),
                    ),
                }
            }
            _ => (404, vec![], json!({"errorMessages": ["null for uri"]})),
        }
    })
    .await
}

fn posts(site: &Stub, key: &str) -> Vec<String> {
    let line = format!("POST /rest/api/3/issue/{key}/transitions");
    let seen = site.seen();
    seen.iter()
        .filter(|s| s.line() == line)
        .map(|s| s.body["transition"]["id"].as_str().unwrap_or("?").to_string())
        .collect()
}

#[tokio::test]
async fn a_dead_end_listed_first_is_backed_out_of_and_the_way_is_remembered() {
    let site = workflow_site(branching("indeterminate"), &["To Do", "To Do"]).await;
    let c = site.client(Flavour::Cloud, None);
    // Blocked and In Review are as near and in the same category, so the
    // listed order sends the issue to Blocked, which only leads back.
    let taken = c.transition_to("EMEA-1", "Done", &Map::new()).await.expect("reaches Done");
    assert_eq!(taken, ["Start", "Block", "Unblock", "Review", "Close"]);
    let at = c.issue("EMEA-1", &["status"]).await.expect("issue").status.expect("status");
    assert_eq!(at.name, "Done");
    // The second issue of the same project and type goes the known way.
    let taken = c.transition_to("EMEA-2", "Done", &Map::new()).await.expect("reaches Done");
    assert_eq!(taken, ["Start", "Review", "Close"]);
    assert_eq!(site.count("GET /rest/api/3/status"), 1, "the statuses are read once");
    // The resolution was not configured: the allowed value named like the
    // target is missing, so the first one was sent.
    let close = site.seen().into_iter().rfind(|s| s.body["transition"]["id"] == "31").expect("close");
    assert_eq!(close.body["fields"], json!({"resolution": {"name": "Won't Do"}}));
}

#[tokio::test]
async fn exploration_prefers_the_category_of_the_target() {
    // Blocked is an "On Hold" kind of status (category new): from In
    // Progress, In Review is the step towards done.
    let site = workflow_site(branching("new"), &["To Do"]).await;
    let c = site.client(Flavour::Cloud, None);
    let taken = c.transition_to("EMEA-1", "Done", &Map::new()).await.expect("reaches Done");
    assert_eq!(taken, ["Start", "Review", "Close"]);
    assert_eq!(posts(&site, "EMEA-1"), ["11", "21", "31"]);
}

#[tokio::test]
async fn a_status_at_the_target_or_missing_moves_nothing() {
    let site = workflow_site(branching("indeterminate"), &["Done", "In Progress"]).await;
    let c = site.client(Flavour::Cloud, None);
    assert!(c.transition_to("EMEA-1", "done", &Map::new()).await.expect("there already").is_empty());
    assert_eq!(site.count("GET /rest/api/3/issue/EMEA-1/transitions"), 0);
    let err = c.transition_to("EMEA-2", "Nowhere", &Map::new()).await.expect_err("no such status");
    assert_eq!(
        err.to_string(),
        "POST transitions: cannot be done (status \"Nowhere\" does not exist on stub; EMEA-2 stays at \"In Progress\")"
    );
    assert!(posts(&site, "EMEA-2").is_empty());
}

#[tokio::test]
async fn an_unreachable_status_fails_naming_the_issue_where_it_is_and_the_target() {
    let site = workflow_site(branching("indeterminate"), &["In Review"]).await;
    let c = site.client(Flavour::Cloud, None);
    let err = c.transition_to("EMEA-1", "Archived", &Map::new()).await.expect_err("unreachable");
    assert!(!err.is_retriable());
    let text = err.to_string();
    assert!(
        text.contains("no workflow path of EMEA Story leads from \"Blocked\" to \"Archived\" for EMEA-1 on stub"),
        "{text}"
    );
    assert!(text.contains("statuses seen: Blocked, Done, In Progress, In Review, To Do"), "{text}");
}

#[tokio::test]
async fn a_long_walk_stops_after_the_step_cap() {
    const NAMES: [&str; 16] =
        ["S0", "S1", "S2", "S3", "S4", "S5", "S6", "S7", "S8", "S9", "S10", "S11", "S12", "S13", "S14", "S15"];
    const IDS: [&str; 15] = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "13", "14", "15"];
    let flow = Workflow {
        statuses: NAMES.iter().map(|n| (*n, "indeterminate")).collect(),
        transitions: (0..15).map(|i| (IDS[i], IDS[i], NAMES[i], NAMES[i + 1])).collect(),
    };
    let site = workflow_site(flow, &["S0"]).await;
    let c = site.client(Flavour::Cloud, None);
    let err = c.transition_to("EMEA-1", "S15", &Map::new()).await.expect_err("too far");
    assert_eq!(
        err.to_string(),
        "POST transitions: cannot be done (EMEA-1 (EMEA Story) did not reach \"S15\" within 12 transitions on stub; it is at \"S12\")"
    );
    assert_eq!(posts(&site, "EMEA-1").len(), 12);
}

/// A writer for the captured log of one test.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        std::io::Write::write(&mut *self.0.lock().expect("lock"), buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn a_required_screen_field_without_a_value_is_warned_about() {
    let log = Captured::default();
    let writer = log.clone();
    let subscriber = tracing_subscriber::fmt().with_ansi(false).with_writer(move || writer.clone()).finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let site = workflow_site(branching("indeterminate"), &["In Review"]).await;
    let c = site.client(Flavour::Cloud, None);
    c.transition_to("EMEA-1", "Done", &Map::new()).await.expect("closed");
    let text = String::from_utf8(log.0.lock().expect("lock").clone()).expect("utf-8");
    let line =
        text.lines().find(|l| l.contains("first allowed value")).unwrap_or_else(|| panic!("no warning in {text}"));
    assert!(
        line.contains("WARN") && line.contains("field=resolution") && line.contains("value=\"Won't Do\""),
        "{line}"
    );
    assert!(line.contains("issue=\"EMEA-1\"") || line.contains("issue=EMEA-1"), "{line}");
    // A configured value is used as it is, without a warning.
    let site2 = workflow_site(branching("indeterminate"), &["In Review"]).await;
    let c2 = site2.client(Flavour::Cloud, None);
    let extra = Map::from_iter([("resolution".to_string(), json!({"name": "Fixed"}))]);
    c2.transition_to("EMEA-1", "Done", &extra).await.expect("closed");
    assert_eq!(posts(&site2, "EMEA-1"), ["31"]);
    let close = site2.seen().into_iter().rfind(|s| s.body["transition"]["id"] == "31").expect("close");
    assert_eq!(close.body["fields"]["resolution"], json!({"name": "Fixed"}));
}

/// The simulator's own workflow, through the statuses off the main line.
#[tokio::test]
async fn the_simulated_workflow_is_walked_both_ways() {
    let sim = Sim::start().await;
    for (site, project) in [("emea", "EMEA"), ("apac", "APAC")] {
        let c = JiraClient::new(&instance_config(&sim, site, 50.0, 10)).expect("client");
        let key = sim.create(site, project, "walk", json!({})).await;
        assert_eq!(c.transition_to(&key, "Blocked", &Map::new()).await.expect("blocked"), ["Start Progress", "Block"]);
        let taken = c.transition_to(&key, "Done", &Map::new()).await.expect("done");
        assert_eq!(taken, ["Unblock", "Request Review", "Done"]);
        let taken = c.transition_to(&key, "In Review", &Map::new()).await.expect("reopened and reviewed");
        assert_eq!(taken, ["Reopen", "Start Progress", "Request Review"]);
    }
}
