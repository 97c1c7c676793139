//! Remote links (web links) on the fake site's issues, kept on their issue
//! as Jira lists them, so that reads go through the real client's
//! [`RemoteLink::parse`]. As in the simulator and in Jira, a write whose
//! `globalId` the issue has already replaces that link (its id stays) and
//! one without a `globalId` is a new link each time; neither moves the
//! issue's `updated`, since the simulator records no change for them.

use serde_json::{Value, json};

use super::FakeSite;
use super::errors::{from_call, no_remote_link, not_found};
use super::state::State;
use crate::jira::error::JiraError;
use crate::jira::model::{RemoteLink, RemoteLinkWrite};

/// One remote link of an issue.
#[derive(Debug, Clone)]
pub(super) struct StoredRemoteLink {
    /// Jira's numeric id, as a string.
    pub id: String,
    /// The body it was last written with (`globalId`, `relationship`,
    /// `object`); an update replaces all of it, as Jira's does.
    pub body: Value,
}

impl StoredRemoteLink {
    fn global_id(&self) -> Option<&str> {
        self.body.get("globalId").and_then(Value::as_str)
    }

    fn read(&self) -> Option<RemoteLink> {
        let mut shown = self.body.clone();
        shown["id"] = json!(self.id.parse::<u64>().ok());
        RemoteLink::parse(&shown)
    }
}

impl State {
    /// The issue's remote links, in id order.
    pub fn remote_links(&self, key: &str, call: &str) -> Result<Vec<RemoteLink>, JiraError> {
        let issue = self.find(key).ok_or_else(|| from_call(not_found(), call))?;
        Ok(issue.remote_links.iter().filter_map(StoredRemoteLink::read).collect())
    }

    /// Writes `body` as the issue's link with its `globalId`, or as a new
    /// link when it has none or the issue has no link with it; returns the
    /// link's id.
    pub fn upsert_remote_link(&mut self, key: &str, body: Value, call: &str) -> Result<String, JiraError> {
        let next = self.next_remote_link_id;
        let issue = self.find_mut(key).ok_or_else(|| from_call(not_found(), call))?;
        let global_id = body.get("globalId").and_then(Value::as_str).map(str::to_string);
        let same = |l: &&mut StoredRemoteLink| global_id.is_some() && l.global_id() == global_id.as_deref();
        if let Some(existing) = issue.remote_links.iter_mut().find(same) {
            existing.body = body;
            return Ok(existing.id.clone());
        }
        let id = next.to_string();
        issue.remote_links.push(StoredRemoteLink { id: id.clone(), body });
        self.next_remote_link_id += 1;
        Ok(id)
    }

    /// Deletes the issue's link with `global_id`: a 404 when the issue or
    /// the link is not there, as Jira answers.
    pub fn delete_remote_link(&mut self, key: &str, global_id: &str, call: &str) -> Result<(), JiraError> {
        let issue = self.find_mut(key).ok_or_else(|| from_call(not_found(), call))?;
        let before = issue.remote_links.len();
        issue.remote_links.retain(|l| l.global_id() != Some(global_id));
        if issue.remote_links.len() == before {
            return Err(from_call(no_remote_link(), call));
        }
        Ok(())
    }
}

impl FakeSite {
    /// A person (or another tool) writes the remote link `link` on `key`,
    /// updating the one with its global id; returns the link's id.
    #[track_caller]
    pub fn remote_link_as_person(&self, key: &str, link: RemoteLinkWrite) -> String {
        self.person_remote_link(key, link.to_json())
    }

    /// A person adds a web link to `key` in Jira's page, which gives it no
    /// global id: each one is a new link. Returns its id.
    #[track_caller]
    pub fn web_link_as_person(&self, key: &str, url: &str, title: &str) -> String {
        self.person_remote_link(key, json!({"object": {"url": url, "title": title}}))
    }

    #[track_caller]
    fn person_remote_link(&self, key: &str, body: Value) -> String {
        let mut s = self.lock();
        match s.upsert_remote_link(key, body, "a person's remote link") {
            Ok(id) => id,
            Err(_) => panic!("no issue {key} on the fake site {}", s.site),
        }
    }

    /// The issue's remote links, in id order; none when the issue is not
    /// there. No call is recorded.
    pub fn remote_links_of(&self, key: &str) -> Vec<RemoteLink> {
        self.lock().remote_links(key, "").unwrap_or_default()
    }
}
