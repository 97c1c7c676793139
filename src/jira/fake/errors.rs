//! Errors as a real site gives them, for faults a test queues and for the
//! fake's own refusals. The helpers leave `call` empty: the fake fills in
//! the request of the call that returns the error.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::jira::error::{ErrorKind, JiraError};

/// Jira's words for an issue that is not there (or hidden).
pub const ISSUE_MISSING: &str = "Issue does not exist or you do not have permission to see it.";

/// Jira's words for a field that no screen of the call shows.
pub(super) fn cannot_be_set(field: &str) -> String {
    format!("Field '{field}' cannot be set. It is not on the appropriate screen, or unknown.")
}

fn status(code: u16) -> JiraError {
    JiraError::new(ErrorKind::Status(code), "")
}

/// A 400 with Jira's `errors` (field id -> message) and `errorMessages`.
pub fn bad_request(errors: &[(&str, &str)], messages: &[&str]) -> JiraError {
    let mut e = status(400);
    e.errors = errors.iter().map(|(f, m)| (f.to_string(), m.to_string())).collect();
    e.messages = messages.iter().map(|m| m.to_string()).collect();
    e
}

/// A 429 that asks to wait `retry_after`.
pub fn rate_limited(retry_after: Duration) -> JiraError {
    let mut e = status(429);
    e.retry_after = Some(retry_after);
    e.messages.push("Rate limit exceeded.".into());
    e
}

/// A 404 for an issue.
pub fn not_found() -> JiraError {
    let mut e = status(404);
    e.messages.push(ISSUE_MISSING.into());
    e
}

/// A 404 for a link type the site has none of, in Jira's words.
pub(super) fn no_link_type(name: &str) -> JiraError {
    let mut e = status(404);
    e.messages.push(format!("No issue link type with name '{name}' found."));
    e
}

/// A 404 for a remote link the issue has none of, in the simulator's words.
pub(super) fn no_remote_link() -> JiraError {
    let mut e = status(404);
    e.messages.push("No such remote link exists.".into());
    e
}

/// A 503, as a site in maintenance or out of resources answers.
pub fn unavailable() -> JiraError {
    let mut e = status(503);
    e.messages.push("Service Unavailable".into());
    e
}

/// No answer came back although the request may have been acted on.
pub fn answer_lost() -> JiraError {
    JiraError::new(ErrorKind::Network, "").with_detail("the answer was lost")
}

/// No connection could be made: the request never left.
pub fn cannot_connect() -> JiraError {
    JiraError::new(ErrorKind::Connect, "").with_detail("the site is unreachable")
}

/// A 400 for the fields whose messages are given.
pub(super) fn field_errors(errors: BTreeMap<String, String>) -> JiraError {
    let mut e = status(400);
    e.errors = errors;
    e
}

/// A refusal before anything is sent, as the real client makes one.
pub(super) fn refused(call: &str, detail: String) -> JiraError {
    JiraError::new(ErrorKind::Refused, call).with_detail(detail)
}

/// `e` as returned by the call `label`, unless it names its call already.
pub(super) fn from_call(mut e: JiraError, label: &str) -> JiraError {
    if e.call.is_empty() {
        e.call = label.to_string();
    }
    e
}
