use std::path::{Path, PathBuf};

use serde_json::json;

use super::*;

fn parse_json(body: &Value) -> Result<WebhookEvent, WebhookError> {
    parse(&serde_json::to_vec(body).expect("a Value serialises"))
}

fn subject_of(body: Value) -> Subject {
    parse_json(&body).unwrap_or_else(|e| panic!("{body}: {e}")).subject
}

fn id(s: &str) -> IssueId {
    IssueId::new(s)
}

fn key(s: Option<&str>) -> Option<IssueKey> {
    s.map(IssueKey::new)
}

/// `shared/jira-reference/webhooks` (`$JIRA_REFERENCE`, or found above the crate).
fn webhooks_dir() -> PathBuf {
    if let Some(p) = std::env::var_os("JIRA_REFERENCE") {
        return PathBuf::from(p).join("webhooks");
    }
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .map(|a| a.join("shared/jira-reference/webhooks"))
        .find(|p| p.is_dir())
        .expect("shared/jira-reference/webhooks")
}

/// Every reference body: its name, its bytes as captured, and its JSON.
fn reference_bodies() -> Vec<(String, Vec<u8>, Value)> {
    let mut out = Vec::new();
    let mut dirs = vec![webhooks_dir()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("read webhooks dir") {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "json") {
                let bytes = std::fs::read(&path).expect("read fixture");
                let body = serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                out.push((path.display().to_string(), bytes, body));
            }
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// What the body's own JSON says the event is about.
fn expected_subject(body: &Value) -> Subject {
    let event = body["webhookEvent"].as_str().unwrap_or_default();
    match event {
        "jira:issue_created" | "jira:issue_updated" | "jira:issue_deleted" => Subject::Issue {
            id: id(body["issue"]["id"].as_str().unwrap()),
            key: key(body["issue"]["key"].as_str()),
            deleted: event == "jira:issue_deleted",
            updated_ms: body["issue"]["fields"]["updated"]
                .as_str()
                .map(|u| parse_timestamp(u).unwrap().timestamp_millis()),
        },
        "comment_created" | "comment_updated" | "comment_deleted" => {
            let url = body["comment"]["self"].as_str().unwrap();
            let issue = url.split("/issue/").nth(1).and_then(|s| s.split('/').next()).unwrap();
            Subject::Comment { issue: id(issue), key: key(body["issue"]["key"].as_str()) }
        }
        "issuelink_created" | "issuelink_deleted" => {
            let link = &body["issueLink"];
            Subject::IssueLink {
                source: id(&link["sourceIssueId"].to_string()),
                destination: id(&link["destinationIssueId"].to_string()),
            }
        }
        _ => Subject::Ignored,
    }
}

/// Every real body parses, and names the issues and the user its own
/// JSON names.
#[test]
fn every_reference_body_parses() {
    let bodies = reference_bodies();
    assert!(bodies.len() >= 40, "expected the reference webhooks, found {}", bodies.len());
    for (name, bytes, body) in &bodies {
        let event = parse(bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(event.event, body["webhookEvent"].as_str().unwrap_or_default(), "{name}");
        assert_eq!(event.subject, expected_subject(body), "{name}");
        let user = event.user.as_ref();
        assert_eq!(user.and_then(|u| u.account_id.as_deref()), body["user"]["accountId"].as_str(), "{name}");
        assert_eq!(user.and_then(|u| u.name.as_deref()), body["user"]["name"].as_str(), "{name}");
        assert!(!event.delivery_key(None).is_empty(), "{name}");
    }
}

#[test]
fn reference_bodies_cover_every_kind_we_use() {
    let events: Vec<String> = reference_bodies().iter().map(|(_, _, b)| b["webhookEvent"].to_string()).collect();
    for want in ["jira:issue_created", "jira:issue_updated", "comment_created", "issuelink_created"] {
        assert!(events.iter().any(|e| e.contains(want)), "no reference body for {want}");
    }
}

#[test]
fn project_created_is_ignored() {
    let (name, bytes, _) = reference_bodies()
        .into_iter()
        .find(|(n, _, _)| n.ends_with("project-created.json"))
        .expect("mobitel project-created fixture");
    let event = parse(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!((event.event.as_str(), event.subject), ("project_created", Subject::Ignored), "{name}");
}

#[test]
fn server_comment_without_issue_finds_it_in_comment_self() {
    let body = json!({
        "webhookEvent": "comment_deleted",
        "timestamp": 1559610488109_i64,
        "comment": {"self": "http://jira:8080/jira/rest/api/2/issue/10013/comment/10084", "id": "10084"}
    });
    assert_eq!(subject_of(body), Subject::Comment { issue: id("10013"), key: None });
}

#[test]
fn comment_with_an_idless_issue_falls_back_to_comment_self() {
    let body = json!({
        "webhookEvent": "comment_created",
        "issue": {"key": "PRJX-14"},
        "comment": {"self": "http://jira/rest/api/2/issue/10013/comment/10084"}
    });
    assert_eq!(subject_of(body), Subject::Comment { issue: id("10013"), key: key(Some("PRJX-14")) });
    let body = json!({"webhookEvent": "comment_created", "issue": {"key": "PRJX-14"}});
    assert_eq!(parse_json(&body).unwrap_err().to_string(), "comment_created: issue.id is missing");
}

#[test]
fn issue_events_carry_id_key_deletion_and_version() {
    let body = json!({"webhookEvent": "jira:issue_updated",
        "issue": {"id": 7, "key": "A-1", "fields": {"updated": "2019-02-15T19:10:01.805-0800"}}});
    let want = Subject::Issue { id: id("7"), key: key(Some("A-1")), deleted: false, updated_ms: Some(1550286601805) };
    assert_eq!(subject_of(body), want);
    let body = json!({"webhookEvent": "jira:issue_deleted", "issue": {"id": "7", "key": "A-1"}});
    let want = Subject::Issue { id: id("7"), key: key(Some("A-1")), deleted: true, updated_ms: None };
    assert_eq!(subject_of(body), want);
    let body = json!({"webhookEvent": "jira:issue_created", "issue": {"id": "7", "fields": {"updated": "soon"}}});
    assert_eq!(subject_of(body), Subject::Issue { id: id("7"), key: None, deleted: false, updated_ms: None });
}

#[test]
fn link_ends_may_be_numbers_or_strings() {
    let body = json!({"webhookEvent": "issuelink_deleted",
        "issueLink": {"id": 1, "sourceIssueId": 5, "destinationIssueId": "5"}});
    assert_eq!(subject_of(body), Subject::IssueLink { source: id("5"), destination: id("5") });
}

#[test]
fn user_keeps_only_non_empty_text() {
    let user = |u: Value| parse_json(&json!({"webhookEvent": "sprint_started", "user": u})).unwrap().user;
    let cloud = user(json!({"accountId": "5b10a", "displayName": "Ann", "name": "", "key": 3}));
    let want = UserRef { account_id: Some("5b10a".into()), display_name: Some("Ann".into()), ..UserRef::default() };
    assert_eq!(cloud, Some(want));
    assert_eq!(user(json!({"accountId": "", "active": true})), None);
    assert_eq!(user(json!("admin")), None);
    assert_eq!(parse_json(&json!({"webhookEvent": "sprint_started"})).unwrap().user, None);
}

#[test]
fn unused_and_unknown_events_are_ignored() {
    for event in ["worklog_created", "sprint_started", "project_updated", "board_created", "something_new"] {
        assert_eq!(subject_of(json!({"webhookEvent": event, "issue": {"id": "1"}})), Subject::Ignored, "{event}");
        assert_eq!(subject_of(json!({"webhookEvent": event})), Subject::Ignored, "{event}");
    }
}

#[test]
fn missing_parts_name_what_is_missing() {
    let cases = [
        (json!({"webhookEvent": "jira:issue_updated"}), "jira:issue_updated: issue is missing"),
        (json!({"webhookEvent": "jira:issue_updated", "issue": {"key": "A-1"}}), "issue.id is missing"),
        (json!({"webhookEvent": "jira:issue_created", "issue": {"id": "A-1"}}), "issue.id is not a numeric id"),
        (json!({"webhookEvent": "comment_created"}), "neither issue nor comment is present"),
        (json!({"webhookEvent": "comment_created", "comment": {"id": "1"}}), "comment.self is missing"),
        (
            json!({"webhookEvent": "comment_created", "comment": {"self": "http://x/rest/api/2/comment/1"}}),
            "comment.self does not name an issue",
        ),
        (
            json!({"webhookEvent": "issuelink_created", "issueLink": {"sourceIssueId": 1}}),
            "issueLink.destinationIssueId is missing",
        ),
        (json!({"webhookEvent": "issuelink_created"}), "issueLink is missing"),
        (json!({"timestamp": 1}), "?: webhookEvent is missing"),
        (json!({"webhookEvent": ""}), "?: webhookEvent is missing"),
        (json!([1, 2]), "?: the body is not a JSON object"),
    ];
    for (body, want) in cases {
        let err = parse_json(&body).expect_err(want).to_string();
        assert!(err.contains(want), "{body}: {err:?} should contain {want:?}");
    }
}

#[test]
fn malformed_json_keeps_serdes_words() {
    let err = parse(b"{\"webhookEvent\": ").expect_err("truncated body");
    assert!(matches!(err, WebhookError::Malformed(_)), "{err:?}");
    assert_eq!(err.to_string(), "malformed JSON: EOF while parsing a value at line 1 column 17");
}

fn key_of(body: Value, header: Option<&str>) -> String {
    parse_json(&body).unwrap_or_else(|e| panic!("{body}: {e}")).delivery_key(header)
}

#[test]
fn delivery_key_prefers_the_header() {
    let body = json!({"webhookEvent": "jira:issue_updated", "timestamp": 1550286601840_i64, "issue": {"id": "10040"}});
    assert_eq!(key_of(body.clone(), Some("abc-123")), "abc-123");
    assert_eq!(key_of(body.clone(), Some("  ")), "jira:issue_updated:10040:1550286601840");
    assert_eq!(key_of(body, None), "jira:issue_updated:10040:1550286601840");
}

#[test]
fn delivery_key_without_header_covers_comments_links_and_odd_timestamps() {
    let comment = json!({"webhookEvent": "comment_updated", "timestamp": 5,
        "comment": {"self": "http://j/rest/api/2/issue/10013/comment/10084"}});
    assert_eq!(key_of(comment, None), "comment_updated:10013:5");
    let link = json!({"webhookEvent": "issuelink_created", "timestamp": "2018-12-18 11:57:24,746",
        "issueLink": {"id": 10, "sourceIssueId": 1, "destinationIssueId": 2}});
    assert_eq!(key_of(link, None), "issuelink_created:10:2018-12-18 11:57:24,746");
    let a = json!({"webhookEvent": "jira:issue_updated", "issue": {"id": "1", "fields": {"summary": "a"}}});
    let b = json!({"webhookEvent": "jira:issue_updated", "issue": {"id": "1", "fields": {"summary": "b"}}});
    assert_eq!(key_of(a.clone(), None), key_of(a.clone(), None));
    assert_ne!(key_of(a.clone(), None), key_of(b, None));
    assert!(key_of(a, None).starts_with("jira:issue_updated:1:body-"));
    assert_eq!(key_of(json!({"webhookEvent": "sprint_started"}), None).split(':').nth(1), Some("?"));
}

// The borrowed reader (`body.rs`) against the whole tree.

/// The same body read straight from its bytes and read from its parsed
/// `Value` (the fallback path) gives the same event, error for error.
fn assert_paths_agree(name: &str, bytes: &[u8]) -> Result<WebhookEvent, String> {
    let fast = parse(bytes).map_err(|e| e.to_string());
    let tree = parse_tree(bytes).map_err(|e| e.to_string());
    assert_eq!(fast, tree, "{name}: the borrowed reader and the tree disagree");
    fast
}

/// Jira's delete bodies have the shape of the others: the reference bodies
/// with their event swapped stand for them.
fn with_event(body: &Value, event: &str) -> Vec<u8> {
    let mut body = body.clone();
    body["webhookEvent"] = Value::from(event);
    serde_json::to_vec(&body).expect("a Value serialises")
}

#[test]
fn every_reference_body_reads_the_same_without_a_tree() {
    for (name, bytes, body) in &reference_bodies() {
        let event = assert_paths_agree(name, bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(serde_json::from_slice::<body::Body<'_>>(bytes).is_ok(), "{name}: read without the fallback");
        // Everything intake keeps, against the body's own JSON.
        let user = &body["user"];
        let text = |k: &str| user[k].as_str().filter(|s| !s.is_empty()).map(String::from);
        let want_user = UserRef {
            account_id: text("accountId"),
            name: text("name"),
            key: text("key"),
            email: text("emailAddress"),
            display_name: text("displayName"),
        };
        assert_eq!(event.user.unwrap_or_default(), want_user, "{name}");
        let ts = match &body["timestamp"] {
            Value::Number(n) => n.to_string(),
            other => other.as_str().expect("reference bodies have a timestamp").trim().to_string(),
        };
        assert_eq!(event.delivery.stamp, Stamp::Timestamp(ts), "{name}");
        let about = match body.get("issueLink") {
            Some(link) => Some(link["id"].to_string()),
            None => body["issue"]["id"].as_str().map(String::from).or_else(|| match event.subject {
                Subject::Comment { ref issue, .. } => Some(issue.as_str().to_string()),
                _ => None,
            }),
        };
        assert_eq!(event.delivery.about, about, "{name}");
    }
}

#[test]
fn deletes_of_cloud_and_data_center_issues_and_links_read_like_their_bodies() {
    let bodies = reference_bodies();
    let mut seen = (0, 0, 0);
    for (name, _, body) in &bodies {
        let event = body["webhookEvent"].as_str().unwrap_or_default();
        if event.starts_with("jira:issue_") {
            let bytes = with_event(body, "jira:issue_deleted");
            let got = assert_paths_agree(name, &bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
            let Subject::Issue { id: got_id, deleted, .. } = &got.subject else { panic!("{name}: {:?}", got.subject) };
            assert!(deleted, "{name}");
            assert_eq!(got_id.as_str(), body["issue"]["id"].as_str().unwrap(), "{name}");
            if body["user"].get("accountId").is_some() { seen.0 += 1 } else { seen.1 += 1 }
        } else if event.starts_with("issuelink_") {
            let bytes = with_event(body, "issuelink_deleted");
            let got = assert_paths_agree(name, &bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
            let link = &body["issueLink"];
            let want = Subject::IssueLink {
                source: id(&link["sourceIssueId"].to_string()),
                destination: id(&link["destinationIssueId"].to_string()),
            };
            assert_eq!(got.subject, want, "{name}");
            seen.2 += 1;
        }
    }
    assert!(seen.0 > 0 && seen.1 > 0 && seen.2 > 0, "Cloud, Data Center and link bodies: {seen:?}");
}

#[test]
fn odd_shapes_read_as_the_tree_reads_them() {
    let cases: &[&[u8]] = &[
        // A repeated member keeps its last value.
        br#"{"webhookEvent":"x","webhookEvent":"jira:issue_updated","issue":{"id":"1"},"issue":{"id":"2","key":"A-2"}}"#,
        // Escaped member names and values.
        br#"{"webhook\u0045vent":"jira:issue_updated","issue":{"i\u0064":"1\u0032","key":"A\u002d1"}}"#,
        br#"{"webhookEvent":"jira:issue_updated","issue":null}"#,
        br#"{"webhookEvent":"jira:issue_updated","issue":[{"id":"1"}]}"#,
        br#"{"webhookEvent":"jira:issue_updated","issue":{"id":" 12 ","fields":[]},"user":"admin"}"#,
        br#"{"webhookEvent":"jira:issue_updated","issue":{"id":"1","fields":{"updated":5}},"timestamp":"  "}"#,
        br#"{"webhookEvent":"jira:issue_updated","issue":{"id":"1","fields":{"updated":"2019-02-15T19:10:01.805-0800"},"fields":{}}}"#,
        br#"{"webhookEvent":"issuelink_created","issueLink":{"id":1.5,"sourceIssueId":1.0,"destinationIssueId":2}}"#,
        br#"{"webhookEvent":"issuelink_created","issueLink":{"id":-3,"sourceIssueId":18446744073709551615,"destinationIssueId":"2"}}"#,
        br#"{"webhookEvent":"comment_created","issue":null,"comment":{"self":"http://j/rest/api/2/issue/7/comment/1"}}"#,
        br#"{"webhookEvent":"comment_created","comment":null}"#,
        br#"{"webhookEvent":"sprint_started","issueLink":null,"comment":{"self":"http://j/rest/api/2/issue/7/comment/1"}}"#,
        br#"{"webhookEvent":7,"user":{"accountId":"","name":"ann","key":true}}"#,
        br#"{"webhookEvent":"jira:issue_updated","issue":{"id":"1"},"user":{"accountId":"a\"b","displayName":"Ann \u00e9"}}"#,
        br#"[{"webhookEvent":"jira:issue_updated"}]"#,
        br#""jira:issue_updated""#,
        b"null",
    ];
    for bytes in cases {
        let _ = assert_paths_agree(&String::from_utf8_lossy(bytes), bytes);
    }
}

#[test]
fn bad_json_is_refused_with_serdes_words_on_either_path() {
    let cases: &[&[u8]] = &[
        b"",
        b"{",
        b"{\"webhookEvent\": \"jira:issue_updated\",}",
        b"{\"webhookEvent\": \"jira:issue_updated\"} trailing",
        // Invalid UTF-8 in a member intake skips is refused as before.
        b"{\"webhookEvent\": \"jira:issue_updated\", \"issue\": {\"id\": \"1\"}, \"changelog\": \"\xff\"}",
        b"{\"webhookEvent\": \"jira:issue_updated\", \"x\": [1, 2,]}",
        b"{\"webhookEvent\": \"jira:issue_updated\", \"x\": tru}",
    ];
    for bytes in cases {
        let err = parse(bytes).expect_err("bad JSON");
        assert!(matches!(err, WebhookError::Malformed(_)), "{err:?}");
        let want = serde_json::from_slice::<Value>(bytes).expect_err("bad JSON");
        assert_eq!(err.to_string(), format!("malformed JSON: {want}"), "{}", String::from_utf8_lossy(bytes));
    }
}

#[test]
fn a_body_without_timestamp_keeps_its_digest() {
    use sha2::{Digest, Sha256};
    let bytes = br#"{ "webhookEvent": "jira:issue_updated", "issue": {"key": "A-1", "id": "1"} }"#;
    // The digest of the tree written out again, as intake always computed it.
    let tree: Value = serde_json::from_slice(bytes).unwrap();
    let want = hex::encode(&Sha256::digest(serde_json::to_vec(&tree).unwrap())[..16]);
    let event = parse(bytes).unwrap();
    assert_eq!(event.delivery_key(None), format!("jira:issue_updated:1:body-{want}"));
    // Spacing and member order do not change it.
    let reordered = br#"{"issue":{"id":"1","key":"A-1"},"webhookEvent":"jira:issue_updated"}"#;
    assert_eq!(parse(reordered).unwrap().delivery_key(None), event.delivery_key(None));
}
