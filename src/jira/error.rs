//! One error type for every call to Jira: what happened, Jira's own words,
//! and whether trying again can help. Retry decisions are made from it in
//! one place (`transport.rs`); it never carries credentials.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

/// What went wrong with one call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorKind {
    /// No connection could be made (refused, DNS, TLS handshake, connect
    /// timeout): the request never left, so sending it again is always safe.
    Connect,
    /// No answer on an open connection (reset, closed early): the site may
    /// have acted on the request.
    Network,
    /// No answer in time.
    Timeout,
    /// Jira answered with a non-success status.
    Status(u16),
    /// Jira answered 2xx with a body we could not read.
    Decode,
    /// Jira's answer was larger than the instance's `response_body_limit`
    /// (bytes): it was not read further. Permanent: the same call gets the
    /// same answer until the limit or the data changes.
    TooLarge(u64),
    /// The site cannot do what was asked as configured (no workflow path to
    /// a status, a required screen field with no value): permanent.
    Refused,
}

/// A failed call to a Jira site.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct JiraError {
    pub kind: ErrorKind,
    /// `METHOD /path` of the call (no query string, no credentials).
    pub call: String,
    /// Jira's `errorMessages`.
    pub messages: Vec<String>,
    /// Jira's `errors`: field id -> message.
    pub errors: BTreeMap<String, String>,
    /// `Retry-After`, when Jira sent one.
    pub retry_after: Option<Duration>,
    /// `RateLimit-Reason`, when Jira sent one (a 429's scope).
    pub rate_limit_reason: Option<String>,
    /// Extra words for people, e.g. which field or screen is meant.
    pub detail: Option<String>,
}

impl JiraError {
    pub fn new(kind: ErrorKind, call: impl Into<String>) -> Self {
        Self {
            kind,
            call: call.into(),
            messages: Vec::new(),
            errors: BTreeMap::new(),
            retry_after: None,
            rate_limit_reason: None,
            detail: None,
        }
    }

    pub fn status(&self) -> Option<u16> {
        match self.kind {
            ErrorKind::Status(s) => Some(s),
            _ => None,
        }
    }

    /// Network errors, timeouts, 5xx and 429 may succeed later; every other
    /// 4xx is permanent until the config or the site changes.
    pub fn is_retriable(&self) -> bool {
        match self.kind {
            ErrorKind::Connect | ErrorKind::Network | ErrorKind::Timeout => true,
            ErrorKind::Status(s) => s == 429 || s >= 500,
            ErrorKind::Decode | ErrorKind::Refused | ErrorKind::TooLarge(_) => false,
        }
    }

    /// Whether the site surely did not act on the request: it refused it
    /// for the rate (429), or no connection was ever made.
    pub fn surely_not_applied(&self) -> bool {
        matches!(self.kind, ErrorKind::Connect | ErrorKind::Status(429))
    }

    /// Whether the transport may send the same request again at once. An
    /// idempotent call may be repeated after any retriable failure; one that
    /// must not run twice (creating an issue, a comment, a link; a
    /// transition) only when it surely did not take effect. Otherwise the
    /// error goes back to the caller, which may retry the whole operation
    /// after checking what happened (the writer's outbox, a create's mark).
    pub fn may_resend(&self, idempotent: bool) -> bool {
        self.is_retriable() && (idempotent || self.surely_not_applied())
    }

    pub fn is_rate_limited(&self) -> bool {
        self.kind == ErrorKind::Status(429)
    }

    pub fn is_not_found(&self) -> bool {
        self.kind == ErrorKind::Status(404)
    }

    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    /// Reads Jira's error body leniently: `ErrorCollection`, the bulk
    /// `{"errors": [{"message"}]}` form, `{"message"}`, a bare string, or
    /// plain text.
    pub fn read_body(&mut self, body: &[u8]) {
        let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) else {
            let text = String::from_utf8_lossy(body).trim().to_string();
            if !text.is_empty() && text.len() < 500 && !text.starts_with('<') {
                self.messages.push(text);
            }
            return;
        };
        if let Some(list) = v.get("errorMessages").and_then(|m| m.as_array()) {
            self.messages.extend(list.iter().filter_map(|m| m.as_str()).map(str::to_string));
        }
        match v.get("errors") {
            Some(serde_json::Value::Object(map)) => {
                for (k, m) in map {
                    let text = m.as_str().map(str::to_string).unwrap_or_else(|| m.to_string());
                    self.errors.insert(k.clone(), text);
                }
            }
            Some(serde_json::Value::Array(list)) => {
                let found = list.iter().filter_map(|e| e.get("message").and_then(|m| m.as_str()));
                self.messages.extend(found.map(str::to_string));
            }
            _ => {}
        }
        if let Some(m) = v.get("message").and_then(|m| m.as_str()) {
            self.messages.push(m.to_string());
        }
        if let Some(s) = v.as_str() {
            self.messages.push(s.to_string());
        }
    }
}

impl fmt::Display for JiraError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            ErrorKind::Connect => write!(f, "{}: cannot connect", self.call)?,
            ErrorKind::Network => write!(f, "{}: no connection", self.call)?,
            ErrorKind::Timeout => write!(f, "{}: timed out", self.call)?,
            ErrorKind::Status(s) => write!(f, "{}: HTTP {s}", self.call)?,
            ErrorKind::Decode => write!(f, "{}: unreadable answer", self.call)?,
            ErrorKind::TooLarge(limit) => {
                write!(f, "{}: answer larger than response_body_limit ({limit} bytes); not read further", self.call)?
            }
            ErrorKind::Refused => write!(f, "{}: cannot be done", self.call)?,
        }
        for m in &self.messages {
            write!(f, "; {m}")?;
        }
        for (field, m) in &self.errors {
            write!(f, "; {field}: {m}")?;
        }
        if let Some(d) = &self.detail {
            write!(f, " ({d})")?;
        }
        if let Some(r) = self.retry_after {
            write!(f, " [retry after {}s]", r.as_secs())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_error_shape_leniently() {
        let mut e = JiraError::new(ErrorKind::Status(400), "POST /rest/api/3/issue");
        e.read_body(br#"{"errorMessages":["a"],"errors":{"summary":"You must specify a summary of the issue."}}"#);
        assert_eq!(e.messages, ["a"]);
        assert_eq!(e.errors["summary"], "You must specify a summary of the issue.");
        assert_eq!(
            e.to_string(),
            "POST /rest/api/3/issue: HTTP 400; a; summary: You must specify a summary of the issue."
        );
        let mut e = JiraError::new(ErrorKind::Status(400), "x");
        e.read_body(br#"{"errors":[{"message":"bulk says no"}]}"#);
        assert_eq!(e.messages, ["bulk says no"]);
        let mut e = JiraError::new(ErrorKind::Status(401), "x");
        e.read_body(b"Client must be authenticated to access this resource.");
        assert_eq!(e.messages, ["Client must be authenticated to access this resource."]);
        let mut e = JiraError::new(ErrorKind::Status(502), "x");
        e.read_body(b"<html>bad gateway</html>");
        assert!(e.messages.is_empty(), "HTML pages are not messages");
    }

    #[test]
    fn an_answer_too_large_says_so_and_names_the_limit() {
        let e = JiraError::new(ErrorKind::TooLarge(65_536), "GET /rest/api/3/search/jql");
        assert_eq!(
            e.to_string(),
            "GET /rest/api/3/search/jql: answer larger than response_body_limit (65536 bytes); not read further"
        );
        assert!(!e.is_retriable() && !e.may_resend(true));
    }

    #[test]
    fn retriable_is_decided_by_kind_and_status() {
        let st = |s| JiraError::new(ErrorKind::Status(s), "x").is_retriable();
        assert!(st(429) && st(500) && st(503));
        assert!(!st(400) && !st(401) && !st(403) && !st(404) && !st(409));
        assert!(JiraError::new(ErrorKind::Network, "x").is_retriable());
        assert!(JiraError::new(ErrorKind::Timeout, "x").is_retriable());
        assert!(JiraError::new(ErrorKind::Connect, "x").is_retriable());
    }

    #[test]
    fn only_calls_that_surely_did_not_happen_are_resent_when_not_idempotent() {
        let kinds = [
            (ErrorKind::Connect, true, true),
            (ErrorKind::Status(429), true, true),
            (ErrorKind::Network, true, false),
            (ErrorKind::Timeout, true, false),
            (ErrorKind::Status(502), true, false),
            (ErrorKind::Status(500), true, false),
            (ErrorKind::Status(400), false, false),
            (ErrorKind::Decode, false, false),
            (ErrorKind::Refused, false, false),
            (ErrorKind::TooLarge(1024), false, false),
        ];
        for (kind, idempotent, not_idempotent) in kinds {
            let e = JiraError::new(kind.clone(), "POST /rest/api/3/issue");
            assert_eq!(e.may_resend(true), idempotent, "{kind:?} idempotent");
            assert_eq!(e.may_resend(false), not_idempotent, "{kind:?} not idempotent");
            // What the transport does not repeat, the caller still may.
            assert_eq!(e.is_retriable(), idempotent, "{kind:?} for the caller");
        }
    }
}
