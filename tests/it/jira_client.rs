//! The Jira client's operations against both simulated dialects, and every
//! request it sent checked against the official OpenAPI document, with
//! every operation the client has covered.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use jirafed::config::{Auth, Flavour, InstanceConfig, Secret, SecretSource};
use jirafed::jira::client::JiraClient;
use jirafed::jira::mark::Mark;
use jirafed::jira::model::{LinkDirection, RemoteLink, RemoteLinkWrite};
use jirafed::jira::richtext::Doc;
use jirafed::jira::site::Site;
use jirafed::jira::transport::{RecordedCall, Transport};
use jirafed::jira::values::{FieldValue, FieldWrites, read_value};
use jirafed::sim::default_world;
use serde_json::{Map, Value, json};

use super::support::openapi::Spec;
use super::support::stub::{Seen, Stub};
use super::support::{Sim, reference_dir, sim_secret, site_config};

fn config(sim: &Sim, site: &str) -> InstanceConfig {
    let info = sim.sim.site(site).expect("site");
    InstanceConfig {
        writes_per_second: 200.0,
        burst: 50,
        reads_per_second: 200.0,
        max_in_flight: 8,
        poll_interval: std::time::Duration::from_secs(60),
        poll_overlap: std::time::Duration::from_secs(120),
        ..site_config(site, &info.base_url, info.flavour, sim_secret(info.flavour))
    }
}

type Log = Arc<Mutex<Vec<RecordedCall>>>;

fn recording(cfg: &InstanceConfig, log: &Log) -> JiraClient {
    let sink = log.clone();
    let transport = Transport::new(cfg)
        .expect("transport")
        .with_recorder(Arc::new(move |c: &RecordedCall| sink.lock().expect("lock").push(c.clone())));
    JiraClient::from_transport(cfg.id.clone(), cfg.flavour, transport)
}

fn client(sim: &Sim, site: &str) -> (JiraClient, Log) {
    let log: Log = Arc::default();
    (recording(&config(sim, site), &log), log)
}

/// Every operation the client has, as `METHOD template` of its flavour's
/// document: the requests of the tests below must cover all of them.
const CLOUD_OPERATIONS: &str = "
    GET /rest/api/3/myself
    GET /rest/api/3/serverInfo
    GET /rest/api/3/project/{projectIdOrKey}
    GET /rest/api/3/field
    GET /rest/api/3/status
    GET /rest/api/3/issue/createmeta/{projectIdOrKey}/issuetypes
    GET /rest/api/3/issue/createmeta/{projectIdOrKey}/issuetypes/{issueTypeId}
    GET /rest/api/3/issue/{issueIdOrKey}/editmeta
    GET /rest/api/3/issue/{issueIdOrKey}
    PUT /rest/api/3/issue/{issueIdOrKey}
    DELETE /rest/api/3/issue/{issueIdOrKey}
    POST /rest/api/3/issue
    POST /rest/api/3/search/jql
    GET /rest/api/3/issue/{issueIdOrKey}/transitions
    POST /rest/api/3/issue/{issueIdOrKey}/transitions
    GET /rest/api/3/issueLinkType
    POST /rest/api/3/issueLink
    DELETE /rest/api/3/issueLink/{linkId}
    GET /rest/api/3/issue/{issueIdOrKey}/remotelink
    POST /rest/api/3/issue/{issueIdOrKey}/remotelink
    DELETE /rest/api/3/issue/{issueIdOrKey}/remotelink
    GET /rest/api/3/issue/{issueIdOrKey}/comment
    POST /rest/api/3/issue/{issueIdOrKey}/comment
    PUT /rest/api/3/issue/{issueIdOrKey}/comment/{id}
    DELETE /rest/api/3/issue/{issueIdOrKey}/comment/{id}
    GET /rest/api/3/issue/{issueIdOrKey}/properties/{propertyKey}
    PUT /rest/api/3/issue/{issueIdOrKey}/properties/{propertyKey}
    DELETE /rest/api/3/issue/{issueIdOrKey}/properties/{propertyKey}
    GET /rest/api/3/user/search";

/// The Data Center document's paths start at `/api/2`; the site serves them
/// under `/rest`. Search is `GET search` with `startAt` paging.
fn operations(flavour: Flavour) -> BTreeSet<String> {
    let lines = CLOUD_OPERATIONS.lines().map(str::trim).filter(|l| !l.is_empty());
    lines
        .map(|l| match flavour {
            Flavour::Cloud => l.to_string(),
            Flavour::DataCenter if l == "POST /rest/api/3/search/jql" => "GET /rest/api/2/search".to_string(),
            Flavour::DataCenter => l.replace("/rest/api/3/", "/rest/api/2/"),
        })
        .collect()
}

/// Largest value Jira keeps in an entity property (Cloud documents it;
/// Data Center has the same limit).
const MAX_PROPERTY_BYTES: usize = 32_768;

/// Every recorded request: its method and path exist in the flavour's
/// document and its JSON body validates against the request schema.
/// Returns the operations (`METHOD template`) the requests covered.
fn validate_requests(flavour: Flavour, calls: &[RecordedCall]) -> BTreeSet<String> {
    let (file, prefix) = match flavour {
        Flavour::Cloud => ("openapi/jira-cloud-platform-rest-v3.openapi.json", ""),
        Flavour::DataCenter => ("openapi/jira-software-dc-10.3.openapi.json", "/rest"),
    };
    let spec = Spec::load(&reference_dir().join(file), prefix).expect("spec").json_format_as_document();
    let mut problems = Vec::new();
    let mut covered = BTreeSet::new();
    for c in calls {
        match spec.operation(&c.method, &c.path) {
            Err(e) => problems.push(format!("{} {}: {e}", c.method, c.path)),
            Ok(op) => {
                covered.insert(format!("{} {}", c.method, op.template()));
                for v in op.validate_request(c.body.as_ref()) {
                    problems.push(format!("{} {}: request {v}", c.method, c.path));
                }
                if c.method == "PUT" && op.template().contains("/properties/") {
                    let size = c.body.as_ref().map(|b| b.to_string().len()).unwrap_or(0);
                    if c.body.as_ref().is_none_or(Value::is_null) || size > MAX_PROPERTY_BYTES {
                        problems.push(format!("{} {}: property value empty or {size} bytes", c.method, c.path));
                    }
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    covered
}

/// Runs every operation of the client against `site`, checking the answers.
async fn exercise(c: &JiraClient, site: &str, project: &str) {
    let me = c.myself().await.expect("myself");
    assert!(me.time_zone.is_some());
    let info = c.server_info().await.expect("serverInfo");
    assert!(info.base_url.is_some());
    let p = c.project(project).await.expect("project");
    assert_eq!(p.key, project);
    assert!(p.issue_types.iter().any(|t| t == "Story"), "{p:?}");
    let types = c.link_types().await.expect("link types");
    let blocks = types.iter().find(|t| t.name == "Blocks").expect("Blocks");
    assert_eq!((blocks.outward.as_str(), blocks.inward.as_str()), ("blocks", "is blocked by"));
    let fields = c.fields().await.expect("fields");
    let points = fields.resolve("Story Points").expect("by name").clone();
    let team = fields.resolve("Team").expect("by name").clone();
    assert!(fields.resolve("Story Pints").unwrap_err().to_string().contains("did you mean"));
    let meta = c.create_meta(project, "Story").await.expect("createmeta");
    assert!(meta.iter().any(|f| f.id == points.id), "Story Points is on the create screen");
    let summary = meta.iter().find(|f| f.id == "summary").expect("summary");
    assert!(summary.required);

    let mut f = FieldWrites::new().with("summary", FieldValue::Text("from the client".into()));
    let doc = Doc::from_wiki("Some *bold* text");
    f.set(fields.resolve("description").expect("description"), FieldValue::Rich(doc.clone()));
    f.set(&points, FieldValue::Number(5.0));
    f.set(&team, FieldValue::Option(team_value(site)));
    let desc_schema = fields.resolve("description").expect("description").schema.clone();
    let mark = Mark::from_label(format!("jirafed-test-{site}-1"));
    let created = c.create_issue(project, "Story", &f, Some(&mark)).await.expect("create");
    let key = created.key.as_str();
    let found = c.find_by_mark(project, &mark).await.expect("find").expect("found by its mark");
    assert_eq!(found.key, created.key);
    assert_eq!(c.property(key, "jirafed.origin").await.expect("prop"), Some(json!({"mark": mark})));
    assert!(c.find_by_mark(project, &Mark::from_label("jirafed-never-made")).await.expect("find").is_none());

    let issue = c.issue(key, &[]).await.expect("get");
    assert_eq!(read_value(points.schema.as_ref(), &issue.fields[&points.id]), FieldValue::Number(5.0));
    assert_eq!(read_value(desc_schema.as_ref(), &issue.fields["description"]), FieldValue::Rich(doc));
    let editable = c.edit_meta(key).await.expect("editmeta");
    assert!(editable.iter().any(|f| f.id == "summary" && f.operations.iter().any(|o| o == "set")), "{editable:?}");

    let edit = FieldWrites::new().with("summary", FieldValue::Text("edited by the client".into()));
    c.edit_issue(key, &edit).await.expect("edit");
    let bad = FieldWrites::new().with("customfield_99999", FieldValue::Number(1.0));
    let err = c.edit_issue(key, &bad).await.expect_err("not on screen");
    assert_eq!(err.status(), Some(400));
    let text = err.to_string();
    assert!(
        text.contains(&format!("field customfield_99999 is not on the edit screen of {project} Story ({key})")),
        "{text}"
    );

    let path = c.transition_to(key, "Done", &Map::new()).await.expect("to Done");
    assert_eq!(path, ["Start Progress", "Request Review", "Done"]);
    let done = c.issue(key, &["status", "resolution"]).await.expect("get");
    assert_eq!(done.status.map(|s| s.name).as_deref(), Some("Done"));
    assert!(c.transition_to(key, "Done", &Map::new()).await.expect("again").is_empty(), "already there");
    let err = c.transition_to(key, "Nowhere", &Map::new()).await.expect_err("no such status");
    assert!(
        err.to_string().contains(&format!("status \"Nowhere\" does not exist on {site}; {key} stays at \"Done\"")),
        "{err}"
    );

    let other = c
        .create_issue(project, "Task", &FieldWrites::new().with("summary", FieldValue::Text("other".into())), None)
        .await
        .expect("create");
    let link = c.create_link("Blocks", key, other.key.as_str()).await.expect("link");
    assert_eq!(c.create_link("Blocks", key, other.key.as_str()).await.expect("again"), link, "not made twice");
    let links = c.links(key).await.expect("links");
    assert_eq!(links.len(), 1, "{links:?}");
    let l = &links[0];
    assert_eq!(
        (l.id.as_str(), l.direction, l.other.key.as_str()),
        (link.as_str(), LinkDirection::Outward, other.key.as_str())
    );
    c.delete_link(&link).await.expect("unlink");
    assert!(c.links(key).await.expect("links").is_empty());
    // A link already gone is a 404 from the client and no error through
    // `Site`, and a type the site lacks a 404 in Jira's words: the fake
    // site (jira::fake) answers so too.
    assert!(c.delete_link(&link).await.expect_err("gone").is_not_found());
    Site::delete_link(c, &link).await.expect("already gone is no error");
    let err = Site::create_link(c, "Depends", key, other.key.as_str()).await.expect_err("no such type");
    assert!(err.is_not_found(), "{err}");
    assert_eq!(err.messages, ["No issue link type with name 'Depends' found."]);

    // A global id with the characters Jira asks to escape, as the engine's may hold.
    let other_key = other.key.as_str();
    let first =
        RemoteLinkWrite::new("system=jirafed&id=X-1", "http://example.com/X-1", "X-1").with_relationship("blocks");
    Site::upsert_remote_link(c, other_key, &first).await.expect("remote");
    let renamed = RemoteLinkWrite { title: "X-1 renamed".into(), ..first.clone() };
    c.upsert_remote_link(other_key, &renamed).await.expect("upsert");
    let web = RemoteLinkWrite::new("jirafed:y", "http://example.com/Y-1", "Y-1");
    c.upsert_remote_link(other_key, &web).await.expect("another");
    let remote = Site::remote_links(c, other_key).await.expect("remote links");
    let read = |l: &RemoteLink| (l.global_id.clone(), l.url.clone(), l.title.clone(), l.relationship.clone());
    let shown: Vec<_> = remote.iter().map(read).collect();
    let written =
        |w: &RemoteLinkWrite| (Some(w.global_id.clone()), w.url.clone(), w.title.clone(), w.relationship.clone());
    assert_eq!(shown, [written(&renamed), written(&web)], "updated in place by its global id");
    Site::delete_remote_link(c, other_key, &first.global_id).await.expect("delete remote");
    assert_eq!(c.remote_links(other_key).await.expect("remote links").len(), 1, "the other one stays");
    // One already gone is a 404 from the client and no error through `Site`.
    assert!(c.delete_remote_link(other_key, &first.global_id).await.expect_err("gone").is_not_found());
    Site::delete_remote_link(c, other_key, &first.global_id).await.expect("already gone is no error");
    c.delete_remote_link(other_key, &web.global_id).await.expect("delete remote");
    assert!(c.remote_links(other_key).await.expect("remote links").is_empty());

    let cid = c.add_comment(other.key.as_str(), &Doc::plain("hello")).await.expect("comment");
    c.edit_comment(other.key.as_str(), &cid, &Doc::plain("hello again")).await.expect("edit comment");
    let comments = c.comments(other.key.as_str()).await.expect("comments");
    assert_eq!(comments.len(), 1);
    assert_eq!(comments[0].body.to_plain_text().trim(), "hello again");
    c.delete_comment(other.key.as_str(), &cid).await.expect("delete comment");

    c.set_property(other.key.as_str(), "jirafed.test", &json!({"n": [1, 2], "s": "x"})).await.expect("set property");
    assert_eq!(
        c.property(other.key.as_str(), "jirafed.test").await.expect("get"),
        Some(json!({"n": [1, 2], "s": "x"}))
    );
    c.delete_property(other.key.as_str(), "jirafed.test").await.expect("delete property");
    assert_eq!(c.property(other.key.as_str(), "jirafed.test").await.expect("get"), None);

    let alice = c.find_user_by_email("alice@example.com").await.expect("user search").expect("alice");
    match c.flavour {
        Flavour::Cloud => assert!(alice.account_id.is_some()),
        Flavour::DataCenter => assert_eq!(alice.name.as_deref(), Some("alice")),
    }
    assert!(c.find_user_by_email("nobody@example.com").await.expect("search").is_none());

    let all = c
        .search(format!("project = {project} ORDER BY key ASC"), &["summary", "updated"], 2)
        .all()
        .await
        .expect("search");
    assert!(all.len() >= 4, "{} issues", all.len());
    assert!(all.windows(2).all(|w| w[0].key != w[1].key), "no duplicates across pages");
    assert!(all.iter().all(|i| i.updated.is_some()));

    // Many issues in one call; missing ones are left out. (By id too on
    // real Jira, whose key clause takes ids; the simulator matches keys only.)
    let missing = format!("{project}-999");
    let wanted = [key, other.key.as_str(), missing.as_str(), key, "not a key"];
    let bulk = c.issues(None, &wanted, &["summary", "status"]).await.expect("bulk");
    let got: BTreeSet<&str> = bulk.iter().map(|i| i.key.as_str()).collect();
    assert_eq!(got, BTreeSet::from([key, other.key.as_str()]));
    assert!(bulk.iter().all(|i| i.status.is_some() && i.fields.contains_key("summary")));

    // By id, under a scope, fresh (Cloud: reconcileIssues); an id that names
    // no issue is left out, an issue outside the scope is not returned.
    let ids: Vec<String> = bulk.iter().map(|i| i.id.to_string()).chain(["99999999".to_string()]).collect();
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    let by_id = c.issues(None, &refs, &["summary"]).await.expect("by id");
    assert_eq!(by_id.len(), 2, "the missing id is left out");
    let scoped = c.issues(Some(&format!("key = {key}")), &refs, &["summary"]).await.expect("scoped");
    assert_eq!(scoped.iter().map(|i| i.key.as_str()).collect::<Vec<_>>(), [key]);

    c.delete_issue(other.key.as_str()).await.expect("delete");
    assert!(c.issue(other.key.as_str(), &[]).await.expect_err("gone").is_not_found());
    let bulk = c.issues(None, &[key, other.key.as_str()], &["summary"]).await.expect("bulk");
    assert_eq!(bulk.len(), 1, "the deleted one is left out");
}

fn team_value(site: &str) -> String {
    match site {
        "hub" => "Platform".into(),
        "emea" => "EMEA Core".into(),
        _ => "APAC Core".into(),
    }
}

/// A site that files a POSTed link the other way round from real Jira, so
/// that the client's read-back must notice, delete it and link again.
async fn reversing_site() -> Stub {
    let links: Arc<Mutex<Vec<(u64, String, String)>>> = Arc::default();
    let next_id = std::sync::atomic::AtomicU64::new(10_000);
    Stub::start(move |s: &Seen| {
        let mut links = links.lock().expect("lock");
        let parts: Vec<&str> = s.path.trim_start_matches('/').split('/').collect();
        match (s.method.as_str(), parts.as_slice()) {
            ("POST", ["rest", "api", _, "issueLink"]) => {
                let id = next_id.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let end = |k: &str| s.body[k]["key"].as_str().unwrap_or_default().to_string();
                links.push((id, end("inwardIssue"), end("outwardIssue")));
                (201, vec![], Value::Null)
            }
            ("DELETE", ["rest", "api", _, "issueLink", id]) => {
                links.retain(|(l, ..)| l.to_string() != *id);
                (204, vec![], Value::Null)
            }
            ("GET", ["rest", "api", _, "issue", key]) => {
                let kind = json!({"id": "10000", "name": "Blocks", "inward": "is blocked by", "outward": "blocks"});
                let mut list = Vec::new();
                for (id, inward, outward) in links.iter() {
                    // Reversed: the body's inwardIssue shows the inward text.
                    if inward == key {
                        list.push(
                            json!({"id": id.to_string(), "type": kind, "inwardIssue": {"id": "2", "key": outward}}),
                        );
                    } else if outward == key {
                        list.push(
                            json!({"id": id.to_string(), "type": kind, "outwardIssue": {"id": "1", "key": inward}}),
                        );
                    }
                }
                (200, vec![], json!({"id": "1", "key": key, "fields": {"issuelinks": list}}))
            }
            _ => (404, vec![], json!({"errorMessages": ["null for uri"]})),
        }
    })
    .await
}

/// The reversed-link branch of `create_link`, on a site that needs it.
async fn exercise_reversed_link(flavour: Flavour, log: &Log) {
    let site = reversing_site().await;
    let c = recording(&site.config(flavour), log);
    let id = c.create_link("Blocks", "X-1", "X-2").await.expect("link");
    let links = c.links("X-1").await.expect("links");
    assert_eq!(links.len(), 1, "the reversed link was deleted: {links:?}");
    assert_eq!((links[0].id.as_str(), links[0].direction), (id.as_str(), LinkDirection::Outward));
    let v = if flavour == Flavour::Cloud { 3 } else { 2 };
    assert_eq!(site.count(&format!("POST /rest/api/{v}/issueLink")), 2);
    assert_eq!(site.count(&format!("DELETE /rest/api/{v}/issueLink/10000")), 1);
}

async fn speaks(site: &str, project: &str) {
    let sim = Sim::start().await;
    let (c, log) = client(&sim, site);
    exercise(&c, site, project).await;
    exercise_reversed_link(c.flavour, &log).await;
    let calls = log.lock().expect("lock").clone();
    let covered = validate_requests(c.flavour, &calls);
    let expected = operations(c.flavour);
    let missing: Vec<&String> = expected.difference(&covered).collect();
    assert!(missing.is_empty(), "operations never sent: {missing:?}");
    let unexpected: Vec<&String> = covered.difference(&expected).collect();
    assert!(unexpected.is_empty(), "operations missing from the list: {unexpected:?}");
}

#[tokio::test]
async fn the_client_speaks_cloud() {
    speaks("emea", "EMEA").await;
}

#[tokio::test]
async fn the_client_speaks_data_center() {
    speaks("apac", "APAC").await;
}

#[test]
fn data_center_property_bodies_are_checked_as_json_documents() {
    // The DC document types a property value as `{type: string, format:
    // json}`: the body is a JSON document, so any JSON value passes.
    let path = reference_dir().join("openapi/jira-software-dc-10.3.openapi.json");
    let literal = Spec::load(&path, "/rest").expect("spec");
    let op = literal.operation("PUT", "/rest/api/2/issue/APAC-1/properties/jirafed.origin").expect("op");
    assert!(!op.validate_request(Some(&json!({"mark": "m"}))).is_empty(), "read literally, a string");
    let spec = literal.json_format_as_document();
    let op = spec.operation("PUT", "/rest/api/2/issue/APAC-1/properties/jirafed.origin").expect("op");
    assert!(op.validate_request(Some(&json!({"mark": "m"}))).is_empty());
    assert!(!op.validate_request(None).is_empty(), "a body is required");
}

#[tokio::test]
async fn errors_name_the_call_and_never_the_token() {
    let sim = Sim::start().await;
    let mut cfg = config(&sim, "hub");
    cfg.auth = Auth::CloudToken {
        email: "sync-bot@example.com".into(),
        token: Secret::new("wrong-S3CRET"),
        source: SecretSource::Inline,
    };
    let c = JiraClient::new(&cfg).expect("client");
    let err = c.myself().await.expect_err("401");
    assert_eq!(err.status(), Some(401));
    let text = format!("{err} {err:?} {c:?}");
    assert!(text.contains("GET /rest/api/3/myself"), "{text}");
    assert!(!text.contains("S3CRET"), "{text}");
}

#[tokio::test]
async fn data_center_takes_a_user_and_password() {
    let sim = Sim::start().await;
    let mut cfg = config(&sim, "apac");
    cfg.auth =
        Auth::Basic { user: "sync-bot".into(), password: Secret::new("sim-password"), source: SecretSource::Inline };
    let me = JiraClient::new(&cfg).expect("client").myself().await.expect("myself with Basic auth");
    assert_eq!(me.user.name.as_deref(), Some("sync-bot"));
    cfg.auth =
        Auth::Basic { user: "sync-bot".into(), password: Secret::new("wrong-PASSW0RD"), source: SecretSource::Inline };
    let c = JiraClient::new(&cfg).expect("client");
    let err = c.myself().await.expect_err("401");
    assert_eq!(err.status(), Some(401));
    let text = format!("{err} {err:?} {c:?}");
    assert!(!text.contains("PASSW0RD") && !text.contains("c3luYy1ib3Q6"), "{text}");
}

/// Field errors read as an admin needs them, from the simulator's real
/// answers: which field, which screen, which project, type and issue.
#[tokio::test]
async fn field_errors_name_the_field_the_screen_and_the_issue() {
    let mut world = default_world(0);
    for site in world.sites.iter_mut().filter(|s| s.name == "emea" || s.name == "apac") {
        site.off_screen = vec!["Story Points".into()];
    }
    let sim = Sim::start_world(&world).await;
    let mut messages = Vec::new();
    for (site, project) in [("emea", "EMEA"), ("apac", "APAC")] {
        let (c, _) = client(&sim, site);
        let points = c.fields().await.expect("fields").resolve("Story Points").expect("points").id.clone();
        let summary = |s: &str| FieldWrites::new().with("summary", FieldValue::Text(s.into()));
        let with_points = summary("with points").with(points.clone(), FieldValue::Number(3.0));
        let err = c.create_issue(project, "Story", &with_points, None).await.expect_err("off screen");
        messages.push(err.to_string());
        let created = c.create_issue(project, "Story", &summary("plain"), None).await.expect("create");
        let edit = FieldWrites::new().with(points, FieldValue::Number(3.0));
        let err = c.edit_issue(created.key.as_str(), &edit).await.expect_err("off screen");
        messages.push(err.to_string());
    }
    insta::assert_snapshot!(messages.join("\n"));
}

/// Cloud hides many users' addresses: a search for a full address that
/// finds one active user showing none takes that user.
#[tokio::test]
async fn cloud_users_who_hide_their_address_are_found_when_unambiguous() {
    let site = Stub::start(|s: &Seen| {
        let found = match s.param("query").as_deref() {
            Some("hidden@example.com") => json!([
                {"accountId": "5b10a2844c20165700ede21g", "displayName": "Hidden Person", "active": true},
                {"accountId": "old", "displayName": "Left Long Ago", "active": false}
            ]),
            Some("twice@example.com") => json!([
                {"accountId": "a1", "active": true},
                {"accountId": "a2", "active": true}
            ]),
            Some("shown@example.com") => json!([
                {"accountId": "a3", "active": true},
                {"accountId": "a4", "emailAddress": "shown@example.com", "active": true}
            ]),
            _ => json!([]),
        };
        (200, vec![], found)
    })
    .await;
    let c = site.client(Flavour::Cloud, None);
    let hidden = c.find_user_by_email("hidden@example.com").await.expect("search").expect("found");
    assert_eq!(hidden.account_id.as_deref(), Some("5b10a2844c20165700ede21g"));
    let shown = c.find_user_by_email("shown@example.com").await.expect("search").expect("found");
    assert_eq!(shown.account_id.as_deref(), Some("a4"), "a shown address wins");
    assert!(c.find_user_by_email("nobody@example.com").await.expect("search").is_none());
    let err = c.find_user_by_email("twice@example.com").await.expect_err("ambiguous");
    assert!(!err.is_retriable());
    assert!(err.to_string().contains("twice@example.com matches 2 active users"), "{err}");
}

/// Bulk reads go 50 keys to a search, and leave out keys Jira refuses
/// because no issue has them (deleted since).
#[tokio::test]
async fn bulk_reads_are_chunked_and_leave_out_keys_jira_refuses() {
    let site = Stub::start(|s: &Seen| {
        let jql = s.param("jql").or_else(|| s.body["jql"].as_str().map(str::to_string)).unwrap_or_default();
        if jql.contains("\"X-7\"") {
            let refused = ["An issue with key 'X-7' does not exist for field 'key'."];
            return (400, vec![], json!({"errorMessages": refused, "errors": {}}));
        }
        let inside = jql.split_once('(').and_then(|(_, r)| r.split_once(')')).map(|(l, _)| l).unwrap_or_default();
        let issues: Vec<Value> = inside
            .split(", ")
            .map(|k| k.trim_matches('"'))
            .filter(|k| k.starts_with("X-"))
            .map(|k| json!({"id": k.trim_start_matches("X-"), "key": k, "fields": {"summary": k}}))
            .collect();
        let total = issues.len();
        (200, vec![], json!({"startAt": 0, "maxResults": 100, "total": total, "issues": issues, "isLast": true}))
    })
    .await;
    let keys: Vec<String> = (1..=150).map(|n| format!("X-{n}")).collect();
    let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
    for flavour in [Flavour::Cloud, Flavour::DataCenter] {
        let c = site.client(flavour, None);
        let got = c.issues(None, &refs, &["summary"]).await.expect("bulk");
        assert_eq!(got.len(), 149, "{flavour:?}: all but X-7");
        assert!(got.iter().all(|i| i.key.as_str() != "X-7" && i.fields["summary"] == i.key.as_str()));
    }
    let searches: Vec<String> = site
        .seen()
        .iter()
        .map(|s| s.param("jql").or_else(|| s.body["jql"].as_str().map(str::to_string)).unwrap_or_default())
        .collect();
    assert_eq!(searches.len(), 8, "per flavour: a refused chunk, the chunk again, the second and third chunks");
    assert!(searches[0].starts_with("key in (\"X-1\", \"X-2\", ") && searches[0].ends_with(") ORDER BY key ASC"));
    assert!(!searches[1].contains("\"X-7\"") && searches[1].contains("\"X-50\")"), "{}", searches[1]);
    assert!(searches[2].starts_with("key in (\"X-51\", ") && searches[2].contains("\"X-100\")"));
    assert!(searches[3].starts_with("key in (\"X-101\", ") && searches[3].contains("\"X-150\")"));
    assert_eq!(site.count("POST /rest/api/3/search/jql") + site.count("GET /rest/api/2/search"), 8);
}
