//! The simulator's permissions, as Jira's: what a caller cannot browse does
//! not exist for them (404, left out of searches), comment permissions tell
//! own comments from others', and refusals have the shape of Jira's 403s.

use jirafed::sim::world::{ProjectConfig, UserConfig};
use jirafed::sim::{WorldConfig, default_world};
use serde_json::{Value, json};

use super::support::shape::{ShapeOptions, compare};
use super::support::{Sim, reference_json};

const NOT_VISIBLE: &str = "Issue does not exist or you do not have permission to see it.";

/// A user signing in as `Sim::call_as` expects (`name@example.com` /
/// `name-token`, PAT `name-pat`).
fn user(name: &str, permissions: Option<&[&str]>, projects: Option<&[&str]>) -> UserConfig {
    let own = |l: &[&str]| l.iter().map(|s| s.to_string()).collect();
    UserConfig {
        name: name.into(),
        display_name: format!("{name} Example"),
        email: format!("{name}@example.com"),
        time_zone: "UTC".into(),
        token: Some(format!("{name}-token")),
        pat: Some(format!("{name}-pat")),
        password: None,
        permissions: permissions.map(own),
        projects: projects.map(own),
    }
}

/// The default world, with a second hub project `SEC` and users:
/// dave (everything, but only in PORT), erin (comments: add and edit her
/// own), frank (nothing at all).
fn world() -> WorldConfig {
    let mut w = default_world(0);
    let hub = w.sites.iter_mut().find(|s| s.name == "hub").expect("hub");
    hub.projects.push(ProjectConfig { key: "SEC".into(), name: "Secret".into(), components: vec![] });
    hub.users.push(user("dave", None, Some(&["PORT"])));
    hub.users.push(user("erin", Some(&["BROWSE_PROJECTS", "ADD_COMMENTS", "EDIT_OWN_COMMENTS"]), None));
    hub.users.push(user("frank", Some(&[]), None));
    w
}

async fn search_keys(s: &Sim, who: &str, jql: &str) -> (u16, Value) {
    let body = json!({"jql": jql, "fields": ["key"]});
    let r = s.call_as(who, "hub", "POST", "/rest/api/3/search/jql", Some(&body)).await;
    let keys = match r.status {
        200 => r.body["issues"].as_array().unwrap().iter().map(|i| i["key"].clone()).collect(),
        _ => r.body,
    };
    (r.status, keys)
}

async fn have(s: &Sim, who: &str, query: &str) -> (u16, Value) {
    let r = s
        .call_as(who, "hub", "GET", &format!("/rest/api/3/mypermissions?permissions=BROWSE_PROJECTS{query}"), None)
        .await;
    (r.status, r.body["permissions"]["BROWSE_PROJECTS"]["havePermission"].clone())
}

#[tokio::test]
async fn what_a_caller_cannot_browse_does_not_exist_for_them() {
    let s = Sim::start_world(&world()).await;
    let open = s.create("hub", "PORT", "open", json!({})).await;
    let secret = s.create("hub", "SEC", "secret", json!({})).await;

    for (who, key, status) in [("dave", &open, 200), ("dave", &secret, 404), ("frank", &open, 404)] {
        let r = s.call_as(who, "hub", "GET", &format!("/rest/api/3/issue/{key}"), None).await;
        assert_eq!(r.status, status, "{who} GET {key}: {}", r.body);
        if status == 404 {
            assert_eq!(
                r.body,
                json!({"errorMessages": [NOT_VISIBLE], "errors": {}}),
                "the same 404 as a missing issue"
            );
        }
    }
    // Writes to an invisible issue are 404 too, not 403: its existence does not leak.
    let edit = json!({"fields": {"summary": "peek"}});
    assert_eq!(s.call_as("dave", "hub", "PUT", &format!("/rest/api/3/issue/{secret}"), Some(&edit)).await.status, 404);
    let comment = json!({"body": "peek"});
    let r = s.call_as("dave", "hub", "POST", &format!("/rest/api/2/issue/{secret}/comment"), Some(&comment)).await;
    assert_eq!(r.status, 404);
    let link = json!({"type": {"name": "Blocks"}, "inwardIssue": {"key": open}, "outwardIssue": {"key": secret}});
    assert_eq!(s.call_as("dave", "hub", "POST", "/rest/api/3/issueLink", Some(&link)).await.status, 404);
    let create = json!({"fields": {"project": {"key": "SEC"}, "issuetype": {"name": "Story"}, "summary": "x"}});
    let r = s.call_as("dave", "hub", "POST", "/rest/api/3/issue", Some(&create)).await;
    assert_eq!((r.status, &r.body["errors"]["project"]), (400, &json!("Specify a valid project ID or key")));
    assert_eq!(s.call_as("dave", "hub", "GET", "/rest/api/3/project/SEC", None).await.status, 404);

    // Searches leave invisible issues out silently; naming their project is Jira's 400.
    let everything = "issuetype = Story ORDER BY key";
    assert_eq!(search_keys(&s, "sync-bot", everything).await, (200, json!([open, secret])));
    assert_eq!(search_keys(&s, "dave", everything).await, (200, json!([open])));
    assert_eq!(search_keys(&s, "frank", everything).await, (200, json!([])));
    let (status, body) = search_keys(&s, "dave", "project = SEC").await;
    assert_eq!(status, 400);
    assert_eq!(body["errorMessages"], json!(["The value 'SEC' does not exist for the field 'project'."]));
    assert_eq!(search_keys(&s, "sync-bot", "project = SEC").await, (200, json!([secret])));

    // mypermissions: globally (any project), per project, per issue.
    assert_eq!(have(&s, "dave", "").await, (200, json!(true)));
    assert_eq!(have(&s, "dave", "&projectKey=PORT").await, (200, json!(true)));
    assert_eq!(have(&s, "dave", &format!("&issueKey={open}")).await, (200, json!(true)));
    assert_eq!(have(&s, "dave", "&projectKey=SEC").await.0, 404, "a project dave cannot see");
    assert_eq!(have(&s, "dave", &format!("&issueKey={secret}")).await.0, 404);
    assert_eq!(have(&s, "frank", "").await, (200, json!(false)));
    assert_eq!(have(&s, "carol", "&projectKey=SEC").await, (200, json!(true)), "carol browses everything");
}

#[tokio::test]
async fn own_comments_take_the_own_permissions() {
    let s = Sim::start_world(&world()).await;
    let key = s.create("hub", "PORT", "talk", json!({})).await;
    let path = format!("/rest/api/2/issue/{key}/comment");
    let add = |who: &'static str, text: &'static str| {
        let (s, path) = (&s, &path);
        async move {
            let r = s.call_as(who, "hub", "POST", path, Some(&json!({"body": text}))).await;
            assert_eq!(r.status, 201, "{who} comments: {}", r.body);
            r.body["id"].as_str().unwrap().to_string()
        }
    };
    let hers = add("erin", "mine").await;
    let bots = add("sync-bot", "not hers").await;
    let edit = json!({"body": "edited"});
    let r = s.call_as("erin", "hub", "PUT", &format!("{path}/{hers}"), Some(&edit)).await;
    assert_eq!(r.status, 200, "EDIT_OWN_COMMENTS is enough for her own comment: {}", r.body);
    let r = s.call_as("erin", "hub", "PUT", &format!("{path}/{bots}"), Some(&edit)).await;
    assert_eq!(r.status, 403, "someone else's comment needs EDIT_ALL_COMMENTS");
    let r = s.call_as("erin", "hub", "DELETE", &format!("{path}/{hers}"), None).await;
    assert_eq!(r.status, 403, "deleting takes DELETE_OWN_COMMENTS, which erin lacks");
    let r = s.call("hub", "PUT", &format!("{path}/{hers}"), Some(&json!({"body": "moderated"}))).await;
    assert_eq!(r.status, 200, "EDIT_ALL_COMMENTS covers anyone's");
    let r = s.call_as("erin", "hub", "GET", "/rest/api/3/mypermissions?permissions=EDIT_OWN_COMMENTS", None).await;
    assert_eq!(r.body["permissions"]["EDIT_OWN_COMMENTS"]["havePermission"], true);
}

#[tokio::test]
async fn refusals_have_the_shape_of_jiras_403s() {
    let s = Sim::start().await;
    let key = s.create("hub", "PORT", "guarded", json!({})).await;
    let apac = s.create("apac", "APAC", "guarded", json!({})).await;
    let create = json!({"fields": {"project": {"key": "PORT"}, "issuetype": {"name": "Story"}, "summary": "x"}});
    let refusals = [
        s.call_as("carol", "hub", "POST", "/rest/api/3/issue", Some(&create)).await,
        s.call_as("carol", "hub", "PUT", &format!("/rest/api/3/issue/{key}"), Some(&json!({"fields": {}}))).await,
        s.call_as("carol", "hub", "DELETE", &format!("/rest/api/3/issue/{key}"), None).await,
        s.call_as("carol", "apac", "POST", &format!("/rest/api/2/issue/{apac}/comment"), Some(&json!({"body": "x"})))
            .await,
    ];
    let real = ["cloud-v3_GET_field_search_403.json", "cloud-v3_POST_priority_403.json"]
        .map(|f| reference_json(&format!("rest/atlassian-spec-examples/{f}")));
    for r in &refusals {
        assert_eq!(r.status, 403, "{}", r.body);
        for example in &real {
            let differences = compare(example, &r.body, &ShapeOptions::default());
            assert!(differences.is_empty(), "{} vs {example}: {differences:?}", r.body);
        }
        assert!(r.body["errorMessages"][0].as_str().unwrap().starts_with("You do not have permission to "));
    }
}
