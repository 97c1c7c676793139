//! Webhook bodies, read into a typed event: which event it is, which issues
//! it is about, who made it, and what names the delivery. The engine turns
//! the event into changes (`sync::intake`) without seeing the JSON.
//!
//! Jira's bodies vary by event and by version: issue events carry `issue`,
//! Server's comment events may carry only `comment` (its `self` URL names the
//! issue), link events carry only `issueLink` with numeric ids, and old
//! Server bodies lack `issue_event_type_name`. Only `webhookEvent` decides.

mod body;

use serde::Deserialize;
use serde_json::Value;

use self::body::{Body, Scalar};

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
///
/// The body is read straight into the few parts intake uses ([`body`]),
/// without building a JSON tree. A body that reading refuses is parsed
/// again in full as a `serde_json::Value`, so that the error is serde's own
/// (with its line and column), as it always was; and if the full parse
/// accepts it after all, the event is read from the tree.
pub fn parse(bytes: &[u8]) -> Result<WebhookEvent, WebhookError> {
    // serde_json checks UTF-8 only in the strings it reads, not in those it
    // skips; checking the whole body keeps refusing what it always refused.
    let fast = std::str::from_utf8(bytes).ok().and_then(|_| serde_json::from_slice::<Body<'_>>(bytes).ok());
    match fast {
        Some(body) => event_of(&body, || digest(bytes)),
        None => parse_tree(bytes),
    }
}

/// Reads the body as a whole `serde_json::Value` first, then the same parts
/// from the tree: the fallback of [`parse`].
fn parse_tree(bytes: &[u8]) -> Result<WebhookEvent, WebhookError> {
    let tree: Value = serde_json::from_slice(bytes).map_err(WebhookError::Malformed)?;
    let body = Body::deserialize(&tree).map_err(WebhookError::Malformed)?;
    event_of(&body, || digest(bytes))
}

/// The event a body's parts make; `digest` names a body without a usable
/// timestamp.
fn event_of(body: &Body<'_>, digest: impl FnOnce() -> String) -> Result<WebhookEvent, WebhookError> {
    let event = event_name(body)?;
    let subject = subject(&event, body).map_err(|missing| incomplete(&event, &missing))?;
    Ok(WebhookEvent { subject, user: user_of(body), delivery: delivery_of(body, digest), event })
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

fn event_name(body: &Body<'_>) -> Result<String, WebhookError> {
    match body.webhook_event.as_ref().and_then(Scalar::as_str) {
        Some(e) if !e.is_empty() => Ok(e.to_string()),
        _ if !body.object => Err(incomplete("?", "the body is not a JSON object")),
        _ => Err(incomplete("?", "webhookEvent is missing")),
    }
}

/// The subject of the events jirafed acts on; any other event is ignored
/// whatever its body holds.
fn subject(event: &str, body: &Body<'_>) -> Result<Subject, String> {
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

/// Non-empty text, owned.
fn text(v: &Option<Scalar<'_>>) -> Option<String> {
    v.as_ref().and_then(Scalar::as_str).filter(|s| !s.is_empty()).map(String::from)
}

/// The body's `user`. Only non-empty strings count: the user is compared
/// with jirafed's own to recognise echoes, and an empty id must match no one.
fn user_of(body: &Body<'_>) -> Option<UserRef> {
    let user = body.user.as_ref()?;
    let user = UserRef {
        account_id: text(&user.account_id),
        name: text(&user.name),
        key: text(&user.key),
        email: text(&user.email),
        display_name: text(&user.display_name),
    };
    (user != UserRef::default()).then_some(user)
}

fn updated_ms(body: &Body<'_>) -> Option<i64> {
    let updated = body.issue.as_ref()?.updated.as_ref()?.as_str()?;
    parse_timestamp(updated).map(|t| t.timestamp_millis())
}

/// The delivery's names. `about` is read whatever the event, so that any
/// body, even one of an ignored event, has a key.
fn delivery_of(body: &Body<'_>, digest: impl FnOnce() -> String) -> Delivery {
    let about = match &body.issue_link {
        Some(link) => link.id.as_ref().and_then(Scalar::id_text),
        None => comment_issue(body).ok().map(|(id, _)| id.as_str().to_string()),
    };
    let stamp = match body.timestamp.as_ref().and_then(Scalar::id_text) {
        Some(ts) => Stamp::Timestamp(ts),
        None => Stamp::BodyDigest(digest()),
    };
    Delivery { about, stamp }
}

/// A digest of the body's JSON: of the whole tree written out again, so
/// that bodies equal as JSON (whatever their spacing or member order) have
/// the same digest. Only bodies without a timestamp need it.
fn digest(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    // serde_json's map is ordered, so equal bodies serialise equally.
    let tree: Value = serde_json::from_slice(bytes).unwrap_or_default();
    let bytes = serde_json::to_vec(&tree).unwrap_or_default();
    hex::encode(&Sha256::digest(&bytes)[..16])
}

/// A numeric Jira issue id, from a string or a number.
fn numeric_id(v: Option<&Scalar<'_>>) -> Option<IssueId> {
    v.and_then(Scalar::id_text).filter(|s| s.bytes().all(|b| b.is_ascii_digit())).map(IssueId::new)
}

fn issue_of(body: &Body<'_>) -> Result<(IssueId, Option<IssueKey>), String> {
    let issue = body.issue.as_ref().ok_or("issue is missing")?;
    let id = issue.id.as_ref().ok_or("issue.id is missing")?;
    let id = numeric_id(Some(id)).ok_or("issue.id is not a numeric id")?;
    Ok((id, issue_key(body)))
}

fn issue_key(body: &Body<'_>) -> Option<IssueKey> {
    let key = body.issue.as_ref()?.key.as_ref()?.as_str()?;
    (!key.is_empty()).then(|| IssueKey::new(key))
}

/// The issue of a comment event: `issue` when the body has one (Cloud),
/// else the id inside `comment.self` (`…/issue/{issueId}/comment/{id}`).
fn comment_issue(body: &Body<'_>) -> Result<(IssueId, Option<IssueKey>), String> {
    let from_issue = issue_of(body);
    if from_issue.is_ok() {
        return from_issue;
    }
    let Some(comment) = &body.comment else {
        return match body.issue {
            Some(_) => from_issue,
            None => Err("neither issue nor comment is present".to_string()),
        };
    };
    let url = comment.self_url.as_ref().and_then(Scalar::as_str).ok_or("comment.self is missing")?;
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

fn link_ends(body: &Body<'_>) -> Result<(IssueId, IssueId), String> {
    let link = body.issue_link.as_ref().ok_or("issueLink is missing")?;
    let end = |name: &str, v: &Option<Scalar<'_>>| {
        numeric_id(v.as_ref()).ok_or_else(|| format!("issueLink.{name} is missing or not a numeric id"))
    };
    Ok((end("sourceIssueId", &link.source)?, end("destinationIssueId", &link.destination)?))
}

#[cfg(test)]
mod tests;
