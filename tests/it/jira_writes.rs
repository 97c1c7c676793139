//! Writes that must not happen twice: the transport sends a non-idempotent
//! call again only when the site surely did not act on it, and the
//! client's operations are safe for the caller to call again.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use jirafed::config::Flavour;
use jirafed::jira::client::JiraClient;
use jirafed::jira::model::RemoteLinkWrite;
use jirafed::jira::richtext::Doc;
use jirafed::jira::transport::{RecordedCall, Transport};
use jirafed::jira::{ErrorKind, FieldValue, FieldWrites};
use serde_json::{Map, Value, json};

use super::support::stub::{Seen, Stub, quick_retry, stub_config};

fn issue(key: &str, links: Value) -> Value {
    json!({"id": "10001", "key": key, "fields": {
        "status": {"name": "To Do", "statusCategory": {"key": "new"}},
        "project": {"key": "EMEA"}, "issuetype": {"name": "Story"}, "issuelinks": links}})
}

/// A site that acts on every write and then answers 502, as when a proxy
/// loses Jira's answer.
async fn lossy_site() -> Stub {
    let status = Arc::new(Mutex::new("To Do".to_string()));
    Stub::start(move |s: &Seen| {
        let parts: Vec<&str> = s.path.trim_start_matches('/').split('/').collect();
        let mut status = status.lock().expect("lock");
        match (s.method.as_str(), parts.as_slice()) {
            ("GET", [.., "issue", key]) => {
                let mut v = issue(key, json!([]));
                v["fields"]["status"]["name"] = json!(*status);
                (200, vec![], v)
            }
            ("GET", [.., "transitions"]) => {
                let to = json!({"name": "In Progress", "statusCategory": {"key": "indeterminate"}});
                (200, vec![], json!({"transitions": [{"id": "11", "name": "Start", "to": to}]}))
            }
            ("POST", [.., "transitions"]) => {
                *status = "In Progress".into();
                (502, vec![], Value::Null)
            }
            _ => (502, vec![], Value::Null),
        }
    })
    .await
}

#[tokio::test]
async fn a_post_the_site_acted_on_is_not_sent_again_after_a_502() {
    let site = lossy_site().await;
    let c = site.client(Flavour::Cloud, None);
    let summary = FieldWrites::new().with("summary", FieldValue::Text("once".into()));
    let err = c.create_issue("EMEA", "Story", &summary, None).await.expect_err("502");
    assert_eq!(err.status(), Some(502));
    assert!(err.is_retriable(), "the caller may still retry, after looking");
    assert_eq!(site.count("POST /rest/api/3/issue"), 1);

    let err = c.add_comment("EMEA-1", &Doc::plain("once")).await.expect_err("502");
    assert!(err.is_retriable());
    assert_eq!(site.count("POST /rest/api/3/issue/EMEA-1/comment"), 1);

    assert!(c.create_link("Blocks", "EMEA-1", "EMEA-2").await.is_err());
    assert_eq!(site.count("POST /rest/api/3/issueLink"), 1);

    let err = c.transition_to("EMEA-1", "In Progress", &Map::new()).await.expect_err("502");
    assert!(err.is_retriable());
    assert_eq!(site.count("POST /rest/api/3/issue/EMEA-1/transitions"), 1);
    // Called again, the transition sees it happened and does nothing.
    assert!(c.transition_to("EMEA-1", "In Progress", &Map::new()).await.expect("safe again").is_empty());
    assert_eq!(site.count("POST /rest/api/3/issue/EMEA-1/transitions"), 1);

    // An idempotent write is sent again at once.
    let edit = FieldWrites::new().with("summary", FieldValue::Text("again".into()));
    assert!(c.edit_issue("EMEA-1", &edit).await.is_err());
    assert_eq!(site.count("PUT /rest/api/3/issue/EMEA-1"), 4, "every attempt of quick_retry(4)");
    // An upsert by globalId too.
    assert!(c.upsert_remote_link("EMEA-1", &RemoteLinkWrite::new("g", "http://x", "x")).await.is_err());
    assert_eq!(site.count("POST /rest/api/3/issue/EMEA-1/remotelink"), 4);
}

#[tokio::test]
async fn a_429_on_a_post_is_sent_again() {
    let calls = Arc::new(AtomicUsize::new(0));
    let site = Stub::start(move |s: &Seen| match (s.method.as_str(), calls.fetch_add(1, Ordering::SeqCst)) {
        ("POST", 0) => (429, vec![("retry-after", "0".into())], json!({"errorMessages": ["Rate limit exceeded."]})),
        ("POST", _) => (201, vec![], json!({"id": "10001", "key": "EMEA-1", "self": "x"})),
        _ => (404, vec![], Value::Null),
    })
    .await;
    let c = site.client(Flavour::DataCenter, None);
    let summary = FieldWrites::new().with("summary", FieldValue::Text("rate limited".into()));
    let created = c.create_issue("EMEA", "Story", &summary, None).await.expect("retried after the 429");
    assert_eq!(created.key.as_str(), "EMEA-1");
    assert_eq!(site.count("POST /rest/api/2/issue"), 2);
    assert_eq!(c.transport().limiter().state().rate_limited_total, 1);
}

#[tokio::test]
async fn a_post_that_could_not_connect_is_sent_again() {
    let calls: Arc<Mutex<Vec<RecordedCall>>> = Arc::default();
    let sink = calls.clone();
    let cfg = stub_config("http://127.0.0.1:1", Flavour::Cloud);
    let t = Transport::new(&cfg)
        .expect("transport")
        .with_retry(quick_retry(3))
        .with_recorder(Arc::new(move |c: &RecordedCall| sink.lock().expect("lock").push(c.clone())));
    let c = JiraClient::from_transport(cfg.id.clone(), cfg.flavour, t);
    let err = c.add_comment("EMEA-1", &Doc::plain("never sent")).await.expect_err("refused");
    assert_eq!(err.kind, ErrorKind::Connect, "{err}");
    assert!(err.is_retriable());
    let attempts = calls.lock().expect("lock").clone();
    assert_eq!(attempts.len(), 3, "nothing left, so it was tried again: {attempts:?}");
    assert!(attempts.iter().all(|a| a.method == "POST" && a.status.is_none()));
}

#[tokio::test]
async fn a_delete_whose_answer_was_lost_counts_as_done() {
    let calls = Arc::new(AtomicUsize::new(0));
    let site = Stub::start(move |_: &Seen| match calls.fetch_add(1, Ordering::SeqCst) {
        0 => (502, vec![], Value::Null),
        _ => (404, vec![], json!({"errorMessages": ["Issue does not exist or you do not have permission to see it."]})),
    })
    .await;
    let c = site.client(Flavour::Cloud, None);
    c.delete_issue("EMEA-1").await.expect("the first attempt deleted it");
    assert_eq!(site.count("DELETE /rest/api/3/issue/EMEA-1"), 2);
    let err = c.delete_comment("EMEA-1", "5").await.expect_err("a first 404 is an error");
    assert!(err.is_not_found());
}

#[tokio::test]
async fn a_link_whose_answer_was_lost_is_not_made_twice() {
    let links: Arc<Mutex<Vec<Value>>> = Arc::default();
    let site = Stub::start(move |s: &Seen| {
        let mut links = links.lock().expect("lock");
        match s.method.as_str() {
            "POST" => {
                // Real Jira's twist: the body's inwardIssue shows the outward text.
                let kind = json!({"id": "1", "name": "Blocks", "inward": "is blocked by", "outward": "blocks"});
                let to = &s.body["outwardIssue"]["key"];
                links.push(json!({"id": "10100", "type": kind, "outwardIssue": {"id": "10002", "key": to}}));
                (502, vec![], Value::Null)
            }
            _ => (200, vec![], issue("EMEA-1", Value::Array(links.clone()))),
        }
    })
    .await;
    let c = site.client(Flavour::Cloud, None);
    assert!(c.create_link("Blocks", "EMEA-1", "EMEA-2").await.expect_err("502").is_retriable());
    let id = c.create_link("Blocks", "EMEA-1", "EMEA-2").await.expect("found, not made again");
    assert_eq!(id, "10100");
    assert_eq!(site.count("POST /rest/api/3/issueLink"), 1);
}
