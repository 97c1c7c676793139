//! The scenario: every operation jirafed uses, run against one simulated site, each exchange recorded and each
//! webhook body received by a small receiver of our own.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

use crate::support::{Sim, wait_until};

/// How long a webhook may take to arrive.
const HOOK_DEADLINE: Duration = Duration::from_secs(5);

/// One request to the simulator and its answer.
pub struct Exchange {
    pub method: &'static str,
    pub path: String,
    pub request: Option<Value>,
    pub status: u16,
    pub response: Value,
}

/// Webhook bodies received by the test's receiver.
type Bodies = Arc<Mutex<Vec<Value>>>;

/// A scenario run against one site: every exchange, and the payloads kept for comparison by name.
pub struct Run {
    pub sim: Sim,
    pub site: &'static str,
    project: &'static str,
    pub log: Vec<Exchange>,
    pub ours: BTreeMap<String, Value>,
    hooks: Bodies,
}

impl Run {
    pub fn cloud(&self) -> bool {
        self.sim.api(self.site) == "/rest/api/3"
    }

    /// A call on the site's own REST version (`rel` below `/rest/api/N`), recorded; panics unless `want` comes back.
    async fn call(&mut self, method: &'static str, rel: &str, body: Option<Value>, want: u16) -> Value {
        self.call_as("sync-bot", method, rel, body, want).await
    }

    async fn call_as(&mut self, who: &str, method: &'static str, rel: &str, body: Option<Value>, want: u16) -> Value {
        let path = format!("{}{rel}", self.sim.api(self.site));
        let resp = self.sim.call_as(who, self.site, method, &path, body.as_ref()).await;
        assert_eq!(resp.status, want, "{method} {path} on {}: {}", self.site, resp.body);
        self.log.push(Exchange { method, path, request: body, status: resp.status, response: resp.body.clone() });
        resp.body
    }

    async fn get(&mut self, rel: &str) -> Value {
        self.call("GET", rel, None, 200).await
    }

    fn keep(&mut self, name: &str, value: Value) {
        self.ours.insert(name.to_string(), value);
    }

    /// A rich-text value in the site's own REST version: ADF on v3, wiki markup on v2.
    fn rich(&self, text: &str) -> Value {
        match self.cloud() {
            true => json!({"type": "doc", "version": 1, "content": [
                {"type": "paragraph", "content": [{"type": "text", "text": text}]}]}),
            false => json!(text),
        }
    }
}

/// Serves `POST /hook` on 127.0.0.1:0, storing each JSON body; returns its URL.
async fn receiver(bodies: Bodies) -> String {
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |body: axum::body::Bytes| {
            let bodies = bodies.clone();
            async move {
                if let Ok(value) = serde_json::from_slice::<Value>(&body) {
                    bodies.lock().unwrap_or_else(|p| p.into_inner()).push(value);
                }
                axum::http::StatusCode::NO_CONTENT
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind the webhook receiver");
    let addr = listener.local_addr().expect("receiver address");
    tokio::spawn(async move { axum::serve(listener, app).await.ok() });
    format!("http://{addr}/hook")
}

/// Drives every operation jirafed uses on `site`, keeping the payloads the tables compare.
pub async fn scenario(site: &'static str, project: &'static str) -> Run {
    let sim = Sim::start().await;
    let hooks = Bodies::default();
    let url = receiver(hooks.clone()).await;
    let hook = json!({"name": "conformance", "url": url, "events": ["*"]});
    assert_eq!(sim.control(site, "POST", "/_sim/webhooks", Some(&hook)).await.status, 201);
    let mut run = Run { sim, site, project, log: Vec::new(), ours: BTreeMap::new(), hooks };
    metadata(&mut run).await;
    issues(&mut run).await;
    errors(&mut run).await;
    run
}

/// Who we are, what the site is, and what its fields and screens look like.
async fn metadata(run: &mut Run) {
    let project = run.project;
    for (name, rel) in [
        ("myself", "/myself".to_string()),
        ("server_info", "/serverInfo".into()),
        ("fields", "/field".into()),
        ("link_types", "/issueLinkType".into()),
        ("project", format!("/project/{project}")),
        ("statuses", "/status".into()),
        ("project_statuses", format!("/project/{project}/statuses")),
        ("priorities", "/priority".into()),
        ("resolutions", "/resolution".into()),
        ("permissions", "/mypermissions?permissions=BROWSE_PROJECTS,EDIT_ISSUES".into()),
        ("createmeta_types", format!("/issue/createmeta/{project}/issuetypes")),
        ("createmeta_fields", format!("/issue/createmeta/{project}/issuetypes/10001")),
    ] {
        let body = run.get(&rel).await;
        run.keep(name, body);
    }
    let alice = run.call_as("alice", "GET", "/myself", None, 200).await;
    run.keep("alice", alice);
    let by = if run.cloud() { "query" } else { "username" };
    let users = run.get(&format!("/user/search?{by}=alice@example.com")).await;
    run.keep("users", users);
}

/// The id of the field named `name` in our `/field` answer.
fn field_id(run: &Run, name: &str) -> String {
    let fields = run.ours["fields"].as_array().cloned().unwrap_or_default();
    let found = fields.iter().find(|f| f["name"] == name).and_then(|f| f["id"].as_str());
    found.unwrap_or_else(|| panic!("no field {name}")).to_string()
}

/// The first allowed value of the create-screen field named `name`.
fn first_option(run: &Run, name: &str) -> Value {
    let fields =
        run.ours["createmeta_fields"]["fields"].as_array().or(run.ours["createmeta_fields"]["values"].as_array());
    let field = fields.into_iter().flatten().find(|f| f["name"] == name);
    field.map(|f| f["allowedValues"][0].clone()).unwrap_or_else(|| panic!("no allowed values for {name}"))
}

fn user_ref(run: &Run, who: &str) -> Value {
    match run.cloud() {
        true => json!({"accountId": run.ours[who]["accountId"]}),
        false => json!({"name": run.ours[who]["name"]}),
    }
}

async fn create(run: &mut Run, fields: Value) -> String {
    let mut all = json!({"project": {"key": run.project}, "issuetype": {"name": "Story"}});
    if let (Some(all), Some(more)) = (all.as_object_mut(), fields.as_object()) {
        all.extend(more.clone());
    }
    let created = run.call("POST", "/issue", Some(json!({"fields": all})), 201).await;
    created["key"].as_str().expect("created key").to_string()
}

/// Creates, edits, transitions, links, comments and deletes issues.
async fn issues(run: &mut Run) {
    let (points, team, start) = (field_id(run, "Story Points"), field_id(run, "Team"), field_id(run, "Target start"));
    let team_value = json!({"value": first_option(run, "Team")["value"]});
    let component = json!([{"name": first_option(run, "Components")["name"]}]);
    let alpha = json!({
        "summary": "Alpha", "description": run.rich("The alpha issue."), "labels": ["one"],
        "priority": {"name": "High"}, "assignee": user_ref(run, "alice"), "components": component,
        "duedate": "2026-03-01", points.clone(): 3, team: team_value, start: "2026-02-01",
    });
    let a = create(run, alpha).await;
    let created = run.log.last().map(|e| e.response.clone()).unwrap_or_default();
    run.keep("created", created);
    let b = create(run, json!({"summary": "Beta"})).await;
    let epic = create(run, json!({"summary": "Gamma epic", "issuetype": {"name": "Epic"}})).await;
    let child = match run.cloud() {
        true => json!({"summary": "Delta", "parent": {"key": epic}}),
        false => json!({"summary": "Delta", field_id(run, "Epic Link"): epic}),
    };
    create(run, child).await;
    create(run, json!({"summary": "Epsilon", "issuetype": {"name": "Sub-task"}, "parent": {"key": a}})).await;
    let doomed = create(run, json!({"summary": "Zeta"})).await;

    let issue = format!("/issue/{a}");
    run.call("PUT", &issue, Some(json!({"fields": {"description": run.rich("Edited.")}})), 204).await;
    run.call("PUT", &issue, Some(json!({"fields": {"assignee": user_ref(run, "myself")}})), 204).await;
    run.call("PUT", &issue, Some(json!({"update": {"labels": [{"add": "two"}]}})), 204).await;
    run.call("PUT", &issue, Some(json!({"fields": {"priority": {"name": "Low"}}})), 204).await;
    run.call("PUT", &issue, Some(json!({"fields": {points: 5}})), 204).await;

    let transitions = format!("{issue}/transitions");
    let available = run.get(&format!("{transitions}?expand=transitions.fields")).await;
    run.keep("transitions", available);
    for (id, fields) in
        [("11", None), ("21", None), ("31", Some(json!({"resolution": {"name": "Done"}}))), ("71", None)]
    {
        if id == "31" {
            // In Review: the Done transition has a screen asking for the resolution.
            let review = run.get(&format!("{transitions}?expand=transitions.fields")).await;
            run.keep("transitions_review", review);
        }
        let mut body = json!({"transition": {"id": id}});
        if let Some(f) = fields {
            body["fields"] = f;
        }
        run.call("POST", &transitions, Some(body), 204).await;
    }

    links(run, &a, &b).await;
    comments(run, &a).await;
    properties(run, &a).await;

    let editmeta = run.get(&format!("{issue}/editmeta")).await;
    run.keep("editmeta", editmeta);
    let full = run.get(&format!("{issue}?expand=changelog,renderedFields,names")).await;
    run.keep("issue", full);
    run.get(&format!("{issue}?fields=summary,status,issuelinks")).await;
    search(run).await;
    run.call("DELETE", &format!("/issue/{doomed}"), None, 204).await;
}

async fn links(run: &mut Run, a: &str, b: &str) {
    let link = json!({"type": {"name": "Blocks"}, "inwardIssue": {"key": a}, "outwardIssue": {"key": b}});
    run.call("POST", "/issueLink", Some(link), 201).await;
    let linked = run.get(&format!("/issue/{a}?fields=issuelinks")).await;
    let id = linked["fields"]["issuelinks"][0]["id"].as_str().expect("link id").to_string();
    let one = run.get(&format!("/issueLink/{id}")).await;
    run.keep("issue_link", one);

    let remote = json!({
        "globalId": format!("jirafed:{}:{a}", run.site), "application": {"type": "jirafed", "name": "jirafed"},
        "relationship": "mirrored by", "object": {"url": "https://example.com/browse/X-1", "title": "X-1"},
    });
    // Cloud documents 201 for a new remote link, the Data Center document only 200.
    let new = if run.cloud() { 201 } else { 200 };
    let created = run.call("POST", &format!("/issue/{a}/remotelink"), Some(remote.clone()), new).await;
    run.call("POST", &format!("/issue/{a}/remotelink"), Some(remote), 200).await;
    let remote_id = created["id"].as_u64().expect("remote link id");
    run.get(&format!("/issue/{a}/remotelink")).await;
    run.get(&format!("/issue/{a}/remotelink/{remote_id}")).await;
    run.call("DELETE", &format!("/issue/{a}/remotelink/{remote_id}"), None, 204).await;
    let by_global = json!({"globalId": "jirafed:other", "object": {"url": "https://example.com/Y-1", "title": "Y-1"}});
    run.call("POST", &format!("/issue/{a}/remotelink"), Some(by_global), new).await;
    run.call("DELETE", &format!("/issue/{a}/remotelink?globalId=jirafed:other"), None, 204).await;

    // A second link to delete, so that the first stays for the issue payloads.
    let other = json!({"type": {"name": "Relates"}, "inwardIssue": {"key": b}, "outwardIssue": {"key": a}});
    run.call("POST", "/issueLink", Some(other), 201).await;
    let linked = run.get(&format!("/issue/{b}?fields=issuelinks")).await;
    let relates =
        linked["fields"]["issuelinks"].as_array().into_iter().flatten().find(|l| l["type"]["name"] == "Relates");
    let id = relates.and_then(|l| l["id"].as_str()).expect("relates link id").to_string();
    run.call("DELETE", &format!("/issueLink/{id}"), None, 204).await;
}

async fn comments(run: &mut Run, a: &str) {
    let path = format!("/issue/{a}/comment");
    let added = run.call("POST", &path, Some(json!({"body": run.rich("First comment.")})), 201).await;
    run.keep("comment_added", added.clone());
    let id = added["id"].as_str().expect("comment id").to_string();
    let page = run.get(&path).await;
    run.keep("comments", page);
    run.get(&format!("{path}/{id}")).await;
    let updated =
        run.call("PUT", &format!("{path}/{id}"), Some(json!({"body": run.rich("First, edited.")})), 200).await;
    run.keep("comment_updated", updated);
    let second = run.call("POST", &path, Some(json!({"body": run.rich("Second comment.")})), 201).await;
    let second = second["id"].as_str().expect("comment id").to_string();
    run.call("DELETE", &format!("{path}/{second}"), None, 204).await;
}

async fn properties(run: &mut Run, a: &str) {
    let path = format!("/issue/{a}/properties/jirafed.origin");
    run.call("PUT", &path, Some(json!({"site": run.site, "key": a})), 201).await;
    run.call("PUT", &path, Some(json!({"site": run.site, "key": a, "v": 2})), 200).await;
    run.get(&path).await;
    run.get(&format!("/issue/{a}/properties")).await;
    run.call("DELETE", &path, None, 204).await;
}

async fn search(run: &mut Run) {
    let jql = format!("project = {} ORDER BY key", run.project);
    let query = jql.replace(' ', "%20").replace('=', "%3D");
    if run.cloud() {
        let page = run.get(&format!("/search/jql?jql={query}&fields=*all&maxResults=2")).await;
        run.keep("search", page);
        run.call(
            "POST",
            "/search/jql",
            Some(json!({"jql": jql, "fields": ["summary", "status"], "maxResults": 50})),
            200,
        )
        .await;
    } else {
        let page = run.get(&format!("/search?jql={query}&maxResults=2")).await;
        run.keep("search", page);
        let body = json!({"jql": jql, "startAt": 0, "maxResults": 50, "fields": ["summary", "status"]});
        run.call("POST", "/search", Some(body), 200).await;
    }
}

/// Jira's error answers: unknown issue, a field that cannot be set, no credentials.
async fn errors(run: &mut Run) {
    let missing = run.call("GET", &format!("/issue/{}-99999", run.project), None, 404).await;
    run.keep("error_404", missing);
    let fields = json!({"project": {"key": run.project}, "issuetype": {"name": "Story"}, "summary": "x", "nosuch": 1});
    let bad = json!({"fields": fields});
    let invalid = run.call("POST", "/issue", Some(bad), 400).await;
    run.keep("error_400", invalid);
    let path = format!("{}/myself", run.sim.api(run.site));
    let resp = run.sim.http.get(format!("{}{path}", run.sim.base(run.site))).send().await.expect("request");
    let status = resp.status().as_u16();
    let response: Value = resp.json().await.unwrap_or(Value::Null);
    assert_eq!(status, 401, "{response}");
    run.keep("error_401", response.clone());
    run.log.push(Exchange { method: "GET", path, request: None, status, response });
}

/// A webhook body to wait for: the event, `issue_event_type_name` ("" any), a changelog item's field ("" any)
/// and the issue's summary ("" any).
struct Hook {
    name: &'static str,
    event: &'static str,
    type_name: &'static str,
    item: &'static str,
    summary: &'static str,
}

const fn hook(name: &'static str, event: &'static str, type_name: &'static str, item: &'static str) -> Hook {
    Hook { name, event, type_name, item, summary: "" }
}

/// The bodies the structural cases compare; `hook_deleted` has no capture to compare with and is awaited so that a
/// missing delete webhook fails.
const HOOKS: &[Hook] = &[
    Hook { summary: "Alpha", ..hook("hook_created", "jira:issue_created", "issue_created", "") },
    Hook { summary: "Beta", ..hook("hook_created_plain", "jira:issue_created", "issue_created", "") },
    Hook { summary: "Gamma epic", ..hook("hook_created_epic", "jira:issue_created", "issue_created", "") },
    Hook { summary: "Delta", ..hook("hook_created_child", "jira:issue_created", "issue_created", "") },
    hook("hook_edited", "jira:issue_updated", "issue_updated", "description"),
    hook("hook_assigned", "jira:issue_updated", "issue_assigned", "assignee"),
    hook("hook_labels", "jira:issue_updated", "issue_updated", "labels"),
    hook("hook_priority", "jira:issue_updated", "issue_updated", "priority"),
    hook("hook_custom", "jira:issue_updated", "issue_updated", "Story Points"),
    hook("hook_started", "jira:issue_updated", "issue_work_started", "status"),
    hook("hook_resolved", "jira:issue_updated", "issue_resolved", "resolution"),
    hook("hook_reopened", "jira:issue_updated", "issue_reopened", "resolution"),
    hook("hook_commented", "jira:issue_updated", "issue_commented", ""),
    hook("hook_comment_edited", "jira:issue_updated", "issue_comment_edited", ""),
    hook("hook_comment_deleted_issue", "jira:issue_updated", "issue_comment_deleted", ""),
    hook("hook_comment_created", "comment_created", "", ""),
    hook("hook_comment_updated", "comment_updated", "", ""),
    hook("hook_comment_deleted", "comment_deleted", "", ""),
    hook("hook_link_created", "issuelink_created", "", ""),
    hook("hook_link_deleted", "issuelink_deleted", "", ""),
    hook("hook_deleted", "jira:issue_deleted", "", ""),
];

fn hook_matches(h: &Hook, body: &Value) -> bool {
    let mut items = body.pointer("/changelog/items").and_then(Value::as_array).into_iter().flatten();
    body["webhookEvent"] == h.event
        && (h.type_name.is_empty() || body["issue_event_type_name"] == h.type_name)
        && (h.item.is_empty() || items.any(|i| i["field"] == h.item))
        && (h.summary.is_empty() || body.pointer("/issue/fields/summary") == Some(&json!(h.summary)))
}

/// Waits for every [`HOOKS`] body and keeps it under its name.
pub async fn collect_hooks(run: &mut Run) {
    for h in HOOKS {
        let bodies = run.hooks.clone();
        let found = wait_until(HOOK_DEADLINE, h.name, || {
            let bodies = bodies.lock().unwrap_or_else(|p| p.into_inner()).clone();
            async move { bodies.into_iter().find(|b| hook_matches(h, b)) }
        })
        .await;
        run.keep(h.name, found);
    }
}
