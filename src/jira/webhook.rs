//! Webhook bodies, read into a typed event: which event it is, which issues
//! it is about, who made it, and what names the delivery. The engine turns
//! the event into changes (`sync::intake`) without seeing the JSON.
//!
//! Jira's bodies vary by event and by version: issue events carry `issue`,
//! Server's comment events may carry only `comment` (its `self` URL names the
//! issue), link events carry only `issueLink` with numeric ids, and old
//! Server bodies lack `issue_event_type_name`. Only `webhookEvent` decides.

use serde_json::Value;

use super::model::{UserRef, parse_timestamp};
use crate::ids::{IssueId, IssueKey};

/// The events jirafed consumes, as `jirafed webhooks install` registers
/// them on every site.
pub const CONSUMED_EVENTS: &[&str] =
    &["jira:issue_created", "jira:issue_updated", "jira:issue_deleted", "issuelink_created", "issuelink_deleted"];

/// One webhook body, as much of it as jirafed uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookEvent {
    /// The body's `webhookEvent`, e.g. `jira:issue_updated`.
    pub event: String,
    /// The issues the event is about.
    pub subject: Subject,
    /// The body's `user`, who made the change; `None` when the body names
    /// nobody.
    pub user: Option<UserRef>,
    /// What names the delivery when Jira sends no delivery id.
    pub delivery: Delivery,
}

/// What an event is about, by the kind of event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    /// `jira:issue_created`, `jira:issue_updated`, `jira:issue_deleted`.
    Issue {
        id: IssueId,
        key: Option<IssueKey>,
        /// The event is `jira:issue_deleted`.
        deleted: bool,
        /// The body's `issue.fields.updated` (ms since the epoch): the
        /// version of the issue the body shows.
        updated_ms: Option<i64>,
    },
    /// `comment_created`, `comment_updated`, `comment_deleted`: the
    /// commented issue (its key only when the body carries `issue`).
    Comment { issue: IssueId, key: Option<IssueKey> },
    /// `issuelink_created`, `issuelink_deleted`: both ends, which link
    /// bodies name by numeric id only.
    IssueLink { source: IssueId, destination: IssueId },
    /// An event jirafed does not use (projects, sprints, worklogs...):
    /// acknowledge it and store nothing.
    Ignored,
}

/// The parts of a body that name its delivery, for bodies that come
/// without Jira Cloud's delivery id header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// The id the body is about: the link's own id when it has an
    /// `issueLink`, else the issue's; `None` when it names neither.
    pub about: Option<String>,
    pub stamp: Stamp,
}

/// When a delivery was made, or, failing that, what it contained.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stamp {
    /// The body's `timestamp` as text: epoch ms on Cloud, a local date on
    /// some Server versions.
    Timestamp(String),
    /// A digest of the body, for bodies without a usable timestamp: a
    /// retried identical body is still recognised.
    BodyDigest(String),
}

/// A body that is not a webhook jirafed can read. The HTTP face answers 400
/// with the text.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    /// Not JSON at all. The serde error is part of the text, not a source,
    /// so that a cause chain does not print it twice.
    #[error("malformed JSON: {0}")]
    Malformed(serde_json::Error),
    /// JSON without what its event needs.
    #[error("{event}: {missing}")]
    Incomplete {
        /// The body's `webhookEvent` (`?` when there is none).
        event: String,
        /// What is missing or malformed, e.g. `issue.id is missing`.
        missing: String,
    },
}

/// Reads one raw webhook body.
pub fn parse(body: &[u8]) -> Result<WebhookEvent, WebhookError> {
    let body: Value = serde_json::from_slice(body).map_err(WebhookError::Malformed)?;
    let event = event_name(&body)?;
    let subject = subject(&event, &body).map_err(|missing| incomplete(&event, &missing))?;
    Ok(WebhookEvent { subject, user: user_of(&body), delivery: delivery_of(&body), event })
}

impl WebhookEvent {
    /// The dedupe key of this delivery: Jira Cloud's
    /// `X-Atlassian-Webhook-Identifier` (the same across retries) when
    /// present, else `{webhookEvent}:{issue or link id}:{timestamp}`, with
    /// `body-{digest}` in place of a missing timestamp.
    pub fn delivery_key(&self, header: Option<&str>) -> String {
        if let Some(id) = header.map(str::trim).filter(|h| !h.is_empty()) {
            return id.to_string();
        }
        let (event, about) = (&self.event, self.delivery.about.as_deref().unwrap_or("?"));
        match &self.delivery.stamp {
            Stamp::Timestamp(ts) => format!("{event}:{about}:{ts}"),
            Stamp::BodyDigest(digest) => format!("{event}:{about}:body-{digest}"),
        }
    }
}

fn event_name(body: &Value) -> Result<String, WebhookError> {
    match body.get("webhookEvent") {
        Some(Value::String(e)) if !e.is_empty() => Ok(e.clone()),
        _ if !body.is_object() => Err(incomplete("?", "the body is not a JSON object")),
        _ => Err(incomplete("?", "webhookEvent is missing")),
    }
}

/// The subject of the events jirafed acts on; any other event is ignored
/// whatever its body holds.
fn subject(event: &str, body: &Value) -> Result<Subject, String> {
    match event {
        "jira:issue_created" | "jira:issue_updated" | "jira:issue_deleted" => {
            let (id, key) = issue_of(body)?;
            Ok(Subject::Issue { id, key, deleted: event == "jira:issue_deleted", updated_ms: updated_ms(body) })
        }
        "comment_created" | "comment_updated" | "comment_deleted" => {
            let (issue, key) = comment_issue(body)?;
            Ok(Subject::Comment { issue, key })
        }
        "issuelink_created" | "issuelink_deleted" => {
            let (source, destination) = link_ends(body)?;
            Ok(Subject::IssueLink { source, destination })
        }
        _ => Ok(Subject::Ignored),
    }
}

fn incomplete(event: &str, missing: &str) -> WebhookError {
    WebhookError::Incomplete { event: event.to_string(), missing: missing.to_string() }
}

/// The body's `user`. Only non-empty strings count: the user is compared
/// with jirafed's own to recognise echoes, and an empty id must match no one.
fn user_of(body: &Value) -> Option<UserRef> {
    let user = body.get("user")?;
    let text = |k: &str| user.get(k).and_then(Value::as_str).filter(|s| !s.is_empty()).map(String::from);
    let user = UserRef {
        account_id: text("accountId"),
        name: text("name"),
        key: text("key"),
        email: text("emailAddress"),
        display_name: text("displayName"),
    };
    (user != UserRef::default()).then_some(user)
}

fn updated_ms(body: &Value) -> Option<i64> {
    let updated = body.pointer("/issue/fields/updated").and_then(Value::as_str)?;
    parse_timestamp(updated).map(|t| t.timestamp_millis())
}

/// The delivery's names. `about` is read whatever the event, so that any
/// body, even one of an ignored event, has a key.
fn delivery_of(body: &Value) -> Delivery {
    let about = match body.get("issueLink") {
        Some(link) => link.get("id").and_then(scalar),
        None => comment_issue(body).ok().map(|(id, _)| id.as_str().to_string()),
    };
    let stamp = match body.get("timestamp").and_then(scalar) {
        Some(ts) => Stamp::Timestamp(ts),
        None => Stamp::BodyDigest(digest(body)),
    };
    Delivery { about, stamp }
}

fn digest(body: &Value) -> String {
    use sha2::{Digest, Sha256};
    // serde_json's map is ordered, so equal bodies serialise equally.
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    hex::encode(&Sha256::digest(&bytes)[..16])
}

/// A string or number as text (Jira sends ids as strings in `issue` and as
/// numbers in `issueLink`).
fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A numeric Jira issue id, from a string or a number.
fn numeric_id(v: Option<&Value>) -> Option<IssueId> {
    v.and_then(scalar).filter(|s| s.bytes().all(|b| b.is_ascii_digit())).map(IssueId::new)
}

fn issue_of(body: &Value) -> Result<(IssueId, Option<IssueKey>), String> {
    let issue = body.get("issue").ok_or("issue is missing")?;
    let id = issue.get("id").ok_or("issue.id is missing")?;
    let id = numeric_id(Some(id)).ok_or("issue.id is not a numeric id")?;
    Ok((id, issue_key(body)))
}

fn issue_key(body: &Value) -> Option<IssueKey> {
    body.pointer("/issue/key").and_then(Value::as_str).filter(|k| !k.is_empty()).map(IssueKey::new)
}

/// The issue of a comment event: `issue` when the body has one (Cloud),
/// else the id inside `comment.self` (`…/issue/{issueId}/comment/{id}`).
fn comment_issue(body: &Value) -> Result<(IssueId, Option<IssueKey>), String> {
    let from_issue = issue_of(body);
    if from_issue.is_ok() {
        return from_issue;
    }
    let Some(comment) = body.get("comment") else {
        return match body.get("issue") {
            Some(_) => from_issue,
            None => Err("neither issue nor comment is present".to_string()),
        };
    };
    let url = comment.get("self").and_then(Value::as_str).ok_or("comment.self is missing")?;
    issue_id_in_comment_url(url)
        .map(|id| (id, issue_key(body)))
        .ok_or_else(|| "comment.self does not name an issue (…/issue/{id}/comment/{id})".to_string())
}

fn issue_id_in_comment_url(url: &str) -> Option<IssueId> {
    let path = url.split(['?', '#']).next()?;
    let (before, _) = path.rsplit_once("/comment/")?;
    let (_, id) = before.rsplit_once("/issue/")?;
    (!id.is_empty() && id.bytes().all(|b| b.is_ascii_digit())).then(|| IssueId::new(id))
}

fn link_ends(body: &Value) -> Result<(IssueId, IssueId), String> {
    let link = body.get("issueLink").ok_or("issueLink is missing")?;
    let end = |name: &str| {
        numeric_id(link.get(name)).ok_or_else(|| format!("issueLink.{name} is missing or not a numeric id"))
    };
    Ok((end("sourceIssueId")?, end("destinationIssueId")?))
}

#[cfg(test)]
mod tests {
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
        let want =
            Subject::Issue { id: id("7"), key: key(Some("A-1")), deleted: false, updated_ms: Some(1550286601805) };
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
        let body =
            json!({"webhookEvent": "jira:issue_updated", "timestamp": 1550286601840_i64, "issue": {"id": "10040"}});
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
}
