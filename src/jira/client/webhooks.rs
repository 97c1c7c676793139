//! Jira's admin webhook API, `/rest/webhooks/1.0/webhook`, the same on
//! Cloud and Data Center: list, register, update and remove the
//! registrations that make a site post its events to jirafed. It needs the
//! Jira administrators global permission.

use serde_json::{Value, json};

use super::{JiraClient, refused};
use crate::jira::error::JiraError;
use crate::jira::transport::Call;

/// Where the API lives on every site.
const PATH: &str = "/rest/webhooks/1.0/webhook";
/// The filter key of issue events' JQL in a registration.
const ISSUE_FILTER: &str = "issue-related-events-section";

/// One registration, as the site lists it. Jira never shows a secret back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookRegistration {
    /// The number at the end of its `self` URL.
    pub id: u64,
    pub name: String,
    pub url: String,
    pub events: Vec<String>,
    /// The JQL filter of issue events; None or empty: every issue.
    pub jql: Option<String>,
    pub enabled: bool,
}

/// What to register. The secret is sent, never read back.
pub struct WebhookSpec<'a> {
    pub name: &'a str,
    pub url: &'a str,
    pub events: &'a [&'a str],
    pub jql: Option<&'a str>,
    pub secret: Option<&'a str>,
}

impl std::fmt::Debug for WebhookSpec<'_> {
    // The secret stays out of logs and panics.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookSpec")
            .field("name", &self.name)
            .field("url", &self.url)
            .field("events", &self.events)
            .field("jql", &self.jql)
            .field("secret", &self.secret.map(|_| "***"))
            .finish()
    }
}

impl WebhookSpec<'_> {
    fn body(&self) -> Value {
        let mut body = json!({
            "name": self.name,
            "url": self.url,
            "events": self.events,
            "filters": {ISSUE_FILTER: self.jql.unwrap_or("")},
            "excludeBody": false,
            "enabled": true,
        });
        if let Some(s) = self.secret {
            body["secret"] = json!(s);
        }
        body
    }
}

impl WebhookRegistration {
    /// Reads one registration of a listing; None when it lacks a `self`
    /// URL ending in a number or a `url`.
    pub fn parse(v: &Value) -> Option<WebhookRegistration> {
        let id = v.get("self").and_then(Value::as_str)?.trim_end_matches('/').rsplit('/').next()?.parse().ok()?;
        let jql = v
            .get("filters")
            .and_then(|f| f.get(ISSUE_FILTER))
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from);
        Some(WebhookRegistration {
            id,
            name: v.get("name").and_then(Value::as_str).unwrap_or_default().to_string(),
            url: v.get("url").and_then(Value::as_str)?.to_string(),
            events: v
                .get("events")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_str).map(String::from).collect())
                .unwrap_or_default(),
            jql,
            enabled: v.get("enabled").and_then(Value::as_bool).unwrap_or(true),
        })
    }
}

impl JiraClient {
    /// Every admin webhook registered on the site.
    pub async fn webhooks(&self) -> Result<Vec<WebhookRegistration>, JiraError> {
        let v = self.transport().send_json(Call::get(PATH)).await?;
        let list = v.as_array().ok_or_else(|| refused("GET webhooks", "the answer is not a list".into()))?;
        Ok(list.iter().filter_map(WebhookRegistration::parse).collect())
    }

    /// Registers a webhook; answers the registration made.
    pub async fn register_webhook(&self, spec: &WebhookSpec<'_>) -> Result<WebhookRegistration, JiraError> {
        let v = self.transport().send_json(Call::post(PATH, spec.body())).await?;
        WebhookRegistration::parse(&v).ok_or_else(|| refused("POST webhook", "the answer names no registration".into()))
    }

    /// Replaces registration `id` with `spec`.
    pub async fn update_webhook(&self, id: u64, spec: &WebhookSpec<'_>) -> Result<(), JiraError> {
        self.transport().send(Call::put(format!("{PATH}/{id}"), spec.body())).await.map(|_| ())
    }

    /// Removes registration `id`.
    pub async fn remove_webhook(&self, id: u64) -> Result<(), JiraError> {
        self.transport().send(Call::delete(format!("{PATH}/{id}"))).await.map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_listed_registration_is_read_with_its_id_from_self_and_its_filter() {
        let v = json!({
            "name": "jirafed", "url": "https://sync.acme.io/webhooks/hub",
            "events": ["jira:issue_created", "issuelink_created"],
            "filters": {"issue-related-events-section": "project = PORT"},
            "excludeBody": false, "enabled": true,
            "self": "https://acme.atlassian.net/rest/webhooks/1.0/webhook/42"
        });
        let r = WebhookRegistration::parse(&v).expect("parsed");
        assert_eq!(r.id, 42);
        assert_eq!(r.jql.as_deref(), Some("project = PORT"));
        assert_eq!(r.events, vec!["jira:issue_created", "issuelink_created"]);
        assert!(r.enabled);
        let empty = json!({"url": "u", "self": "x/7", "filters": {"issue-related-events-section": ""}});
        assert_eq!(WebhookRegistration::parse(&empty).expect("parsed").jql, None);
        assert!(WebhookRegistration::parse(&json!({"url": "u"})).is_none(), "no self: no id");
    }

    #[test]
    fn a_spec_shows_no_secret_in_debug_and_sends_it_in_the_body() {
        let spec = WebhookSpec { name: "jirafed", url: "u", events: &["e"], jql: None, secret: Some("s3cret") };
        assert!(!format!("{spec:?}").contains("s3cret"));
        assert_eq!(spec.body()["secret"], "s3cret");
        assert_eq!(spec.body()["filters"]["issue-related-events-section"], "");
    }
}
