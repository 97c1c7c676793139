//! Webhook bodies to changes. Pure: the HTTP face verifies and reads the
//! body, this module says which issues it names, and the inbox takes the
//! changes from there like any poll's.
//!
//! Jira's bodies vary by event and by version: issue events carry `issue`,
//! Server's comment events may carry only `comment` (its `self` URL names the
//! issue), link events carry only `issueLink` with numeric ids, and old
//! Server bodies lack `issue_event_type_name`. Only `webhookEvent` decides.

use serde_json::Value;

use super::change::{Actor, Change, ChangeKind, ChangeSource, version_key};
use crate::ids::{InstanceId, IssueId, IssueKey};

/// What one webhook body asks of the engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Intake {
    /// The issues that may have changed, in body order, without repeats.
    pub changes: Vec<Change>,
    /// The body's `webhookEvent`.
    pub event: String,
    /// The event is not one jirafed uses (projects, sprints, worklogs...):
    /// acknowledge it and store nothing.
    pub ignored: bool,
}

/// A JSON body that does not have what its event needs. The text names the
/// missing part; the HTTP face answers 400 with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{event}: {missing}")]
pub struct IntakeError {
    /// The body's `webhookEvent` (`?` when there is none).
    pub event: String,
    /// What is missing or malformed, e.g. `issue.id is missing`.
    pub missing: String,
}

/// The events jirafed acts on, and what they mean.
enum Event {
    Issue(ChangeKind),
    Comment,
    IssueLink,
}

fn classify(event: &str) -> Option<Event> {
    match event {
        "jira:issue_created" | "jira:issue_updated" => Some(Event::Issue(ChangeKind::Updated)),
        "jira:issue_deleted" => Some(Event::Issue(ChangeKind::Deleted)),
        "comment_created" | "comment_updated" | "comment_deleted" => Some(Event::Comment),
        "issuelink_created" | "issuelink_deleted" => Some(Event::IssueLink),
        _ => None,
    }
}

/// Reads one webhook body of `instance`. `now_ms` stamps the changes.
pub fn parse_webhook(instance: &InstanceId, body: &Value, now_ms: i64) -> Result<Intake, IntakeError> {
    let event = match body.get("webhookEvent") {
        Some(Value::String(e)) if !e.is_empty() => e.clone(),
        _ if !body.is_object() => return Err(error("?", "the body is not a JSON object")),
        _ => return Err(error("?", "webhookEvent is missing")),
    };
    let Some(kind) = classify(&event) else {
        return Ok(Intake { changes: Vec::new(), event, ignored: true });
    };
    let subjects = match kind {
        Event::Issue(kind) => vec![(issue_of(body).map_err(|m| error(&event, &m))?, kind)],
        Event::Comment => vec![(comment_issue(body).map_err(|m| error(&event, &m))?, ChangeKind::Updated)],
        Event::IssueLink => {
            let (source, destination) = link_ends(body).map_err(|m| error(&event, &m))?;
            vec![((source, None), ChangeKind::Updated), ((destination, None), ChangeKind::Updated)]
        }
    };
    let actor = actor_of(body);
    let version_ms = match kind {
        Event::Issue(ChangeKind::Updated) => body
            .pointer("/issue/fields/updated")
            .and_then(Value::as_str)
            .and_then(crate::jira::model::parse_timestamp)
            .map(|t| t.timestamp_millis()),
        _ => None,
    };
    let mut changes: Vec<Change> = Vec::with_capacity(subjects.len());
    for ((issue_id, issue_key), kind) in subjects {
        if changes.iter().any(|c| c.issue_id == issue_id) {
            continue;
        }
        changes.push(Change {
            instance: instance.clone(),
            issue_id,
            issue_key,
            source: ChangeSource::Webhook,
            kind,
            seen_ms: now_ms,
            actor: actor.clone(),
            version_ms,
        });
    }
    Ok(Intake { changes, event, ignored: false })
}

/// The body's `user`: who made the change.
fn actor_of(body: &Value) -> Option<Actor> {
    let user = body.get("user")?;
    let text = |k: &str| user.get(k).and_then(Value::as_str).filter(|s| !s.is_empty()).map(String::from);
    let actor = Actor { account_id: text("accountId"), name: text("name"), key: text("key") };
    (actor != Actor::default()).then_some(actor)
}

/// The inbox dedupe key of one change of a delivery: the issue version it
/// is about when the body says (so that the same version seen by a poll or
/// a read counts once, and a delete once per issue), else the delivery's
/// own key with the change's place in it.
pub fn change_key(delivery: &str, n: usize, change: &Change) -> String {
    match (change.kind, change.version_ms) {
        (ChangeKind::Deleted, _) => format!("deleted:{}", change.issue_id.as_str()),
        (ChangeKind::Updated, Some(v)) => version_key(change.issue_id.as_str(), v),
        (ChangeKind::Updated, None) => format!("{delivery}#{n}"),
    }
}

/// The dedupe key of one delivery: Jira Cloud's
/// `X-Atlassian-Webhook-Identifier` (the same across retries) when present,
/// else `{webhookEvent}:{issue id}:{timestamp}` (Jira's timestamp is epoch
/// ms). A body without a usable timestamp is keyed by a digest of its
/// content instead, so a retried identical body is still recognised.
pub fn delivery_key(header: Option<&str>, body: &Value) -> String {
    if let Some(id) = header.map(str::trim).filter(|h| !h.is_empty()) {
        return id.to_string();
    }
    let event = body.get("webhookEvent").and_then(Value::as_str).unwrap_or("?");
    let subject = subject_id(body).unwrap_or_else(|| "?".to_string());
    match body.get("timestamp").and_then(scalar) {
        Some(ts) => format!("{event}:{subject}:{ts}"),
        None => format!("{event}:{subject}:body-{}", digest(body)),
    }
}

/// The id a delivery is about, for the dedupe key: the issue, or for link
/// events the link's own id.
fn subject_id(body: &Value) -> Option<String> {
    if let Some(link) = body.get("issueLink") {
        return link.get("id").and_then(scalar);
    }
    issue_of(body).or_else(|_| comment_issue(body)).ok().map(|(id, _)| id.as_str().to_string())
}

fn digest(body: &Value) -> String {
    use sha2::{Digest, Sha256};
    // serde_json's map is ordered, so equal bodies serialise equally.
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    hex::encode(&Sha256::digest(&bytes)[..16])
}

fn error(event: &str, missing: &str) -> IntakeError {
    IntakeError { event: event.to_string(), missing: missing.to_string() }
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
    let key = issue.get("key").and_then(Value::as_str).filter(|k| !k.is_empty()).map(IssueKey::new);
    Ok((id, key))
}

/// The issue of a comment event: `issue` when the body has one (Cloud),
/// else the id inside `comment.self` (`…/issue/{issueId}/comment/{id}`).
fn comment_issue(body: &Value) -> Result<(IssueId, Option<IssueKey>), String> {
    let from_issue = issue_of(body);
    if from_issue.is_ok() {
        return from_issue;
    }
    let key = body.pointer("/issue/key").and_then(Value::as_str).filter(|k| !k.is_empty()).map(IssueKey::new);
    let Some(comment) = body.get("comment") else {
        return match body.get("issue") {
            Some(_) => from_issue,
            None => Err("neither issue nor comment is present".to_string()),
        };
    };
    let url = comment.get("self").and_then(Value::as_str).ok_or("comment.self is missing")?;
    issue_id_in_comment_url(url)
        .map(|id| (id, key))
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

    const NOW: i64 = 1_700_000_000_000;

    fn hub() -> InstanceId {
        InstanceId::new("hub")
    }

    fn parse(body: &Value) -> Result<Intake, IntakeError> {
        parse_webhook(&hub(), body, NOW)
    }

    fn ids(intake: &Intake) -> Vec<(&str, Option<&str>, ChangeKind)> {
        intake
            .changes
            .iter()
            .map(|c| (c.issue_id.as_str(), c.issue_key.as_ref().map(IssueKey::as_str), c.kind))
            .collect()
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

    fn reference_bodies() -> Vec<(String, Value)> {
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
                    out.push((path.display().to_string(), body));
                }
            }
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    /// Every real body parses, and names the issues its own JSON names.
    #[test]
    fn every_reference_body_parses() {
        let bodies = reference_bodies();
        assert!(bodies.len() >= 40, "expected the reference webhooks, found {}", bodies.len());
        for (name, body) in &bodies {
            let intake = parse(body).unwrap_or_else(|e| panic!("{name}: {e}"));
            let event = body["webhookEvent"].as_str().unwrap_or_default();
            assert_eq!(intake.event, event, "{name}");
            match event {
                "jira:issue_created" | "jira:issue_updated" | "jira:issue_deleted" => {
                    let kind = if event == "jira:issue_deleted" { ChangeKind::Deleted } else { ChangeKind::Updated };
                    let want = (body["issue"]["id"].as_str().unwrap(), body["issue"]["key"].as_str(), kind);
                    assert_eq!(ids(&intake), vec![want], "{name}");
                }
                "comment_created" | "comment_updated" | "comment_deleted" => {
                    let url = body["comment"]["self"].as_str().unwrap();
                    let id = url.split("/issue/").nth(1).and_then(|s| s.split('/').next()).unwrap();
                    assert_eq!(ids(&intake), vec![(id, body["issue"]["key"].as_str(), ChangeKind::Updated)], "{name}");
                }
                "issuelink_created" | "issuelink_deleted" => {
                    let link = &body["issueLink"];
                    let (s, d) = (link["sourceIssueId"].to_string(), link["destinationIssueId"].to_string());
                    let want = vec![(s.as_str(), None, ChangeKind::Updated), (d.as_str(), None, ChangeKind::Updated)];
                    assert_eq!(ids(&intake), want, "{name}");
                }
                _ => assert!(intake.ignored && intake.changes.is_empty(), "{name}: {intake:?}"),
            }
            assert!(intake.changes.iter().all(|c| c.source == ChangeSource::Webhook && c.seen_ms == NOW));
            assert!(!delivery_key(None, body).is_empty(), "{name}");
        }
    }

    #[test]
    fn reference_bodies_cover_every_kind_we_use() {
        let events: Vec<String> = reference_bodies().iter().map(|(_, b)| b["webhookEvent"].to_string()).collect();
        for want in ["jira:issue_created", "jira:issue_updated", "comment_created", "issuelink_created"] {
            assert!(events.iter().any(|e| e.contains(want)), "no reference body for {want}");
        }
    }

    #[test]
    fn project_created_is_ignored() {
        let (name, body) = reference_bodies()
            .into_iter()
            .find(|(n, _)| n.ends_with("project-created.json"))
            .expect("mobitel project-created fixture");
        let intake = parse(&body).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(intake.ignored, "{name}");
        assert!(intake.changes.is_empty());
        assert_eq!(intake.event, "project_created");
    }

    #[test]
    fn server_comment_without_issue_finds_it_in_comment_self() {
        let body = json!({
            "webhookEvent": "comment_deleted",
            "timestamp": 1559610488109_i64,
            "comment": {"self": "http://jira:8080/jira/rest/api/2/issue/10013/comment/10084", "id": "10084"}
        });
        assert_eq!(ids(&parse(&body).unwrap()), vec![("10013", None, ChangeKind::Updated)]);
    }

    #[test]
    fn comment_with_an_idless_issue_falls_back_to_comment_self() {
        let body = json!({
            "webhookEvent": "comment_created",
            "issue": {"key": "PRJX-14"},
            "comment": {"self": "http://jira/rest/api/2/issue/10013/comment/10084"}
        });
        assert_eq!(ids(&parse(&body).unwrap()), vec![("10013", Some("PRJX-14"), ChangeKind::Updated)]);
        let body = json!({"webhookEvent": "comment_created", "issue": {"key": "PRJX-14"}});
        assert!(parse(&body).unwrap_err().to_string().contains("issue.id is missing"));
    }

    #[test]
    fn deleted_issue_is_a_deleted_change() {
        let body = json!({"webhookEvent": "jira:issue_deleted", "issue": {"id": "7", "key": "A-1"}});
        assert_eq!(ids(&parse(&body).unwrap()), vec![("7", Some("A-1"), ChangeKind::Deleted)]);
    }

    #[test]
    fn a_link_between_one_issue_and_itself_is_one_change() {
        let body = json!({"webhookEvent": "issuelink_deleted",
            "issueLink": {"id": 1, "sourceIssueId": 5, "destinationIssueId": "5"}});
        assert_eq!(ids(&parse(&body).unwrap()), vec![("5", None, ChangeKind::Updated)]);
    }

    #[test]
    fn unused_and_unknown_events_are_ignored() {
        for event in ["worklog_created", "sprint_started", "project_updated", "board_created", "something_new"] {
            let intake = parse(&json!({"webhookEvent": event, "issue": {"id": "1"}})).unwrap();
            assert!(intake.ignored && intake.changes.is_empty(), "{event}");
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
            (json!({"timestamp": 1}), "webhookEvent is missing"),
            (json!([1, 2]), "the body is not a JSON object"),
        ];
        for (body, want) in cases {
            let err = parse(&body).expect_err(want).to_string();
            assert!(err.contains(want), "{body}: {err:?} should contain {want:?}");
        }
    }

    #[test]
    fn delivery_key_prefers_the_header() {
        let body =
            json!({"webhookEvent": "jira:issue_updated", "timestamp": 1550286601840_i64, "issue": {"id": "10040"}});
        assert_eq!(delivery_key(Some("abc-123"), &body), "abc-123");
        assert_eq!(delivery_key(Some("  "), &body), "jira:issue_updated:10040:1550286601840");
        assert_eq!(delivery_key(None, &body), "jira:issue_updated:10040:1550286601840");
    }

    #[test]
    fn delivery_key_without_header_covers_comments_links_and_odd_timestamps() {
        let comment = json!({"webhookEvent": "comment_updated", "timestamp": 5,
            "comment": {"self": "http://j/rest/api/2/issue/10013/comment/10084"}});
        assert_eq!(delivery_key(None, &comment), "comment_updated:10013:5");
        let link = json!({"webhookEvent": "issuelink_created", "timestamp": "2018-12-18 11:57:24,746",
            "issueLink": {"id": 10, "sourceIssueId": 1, "destinationIssueId": 2}});
        assert_eq!(delivery_key(None, &link), "issuelink_created:10:2018-12-18 11:57:24,746");
        let a = json!({"webhookEvent": "jira:issue_updated", "issue": {"id": "1", "fields": {"summary": "a"}}});
        let b = json!({"webhookEvent": "jira:issue_updated", "issue": {"id": "1", "fields": {"summary": "b"}}});
        assert_eq!(delivery_key(None, &a), delivery_key(None, &a.clone()));
        assert_ne!(delivery_key(None, &a), delivery_key(None, &b));
        assert!(delivery_key(None, &a).starts_with("jira:issue_updated:1:body-"));
    }
}
