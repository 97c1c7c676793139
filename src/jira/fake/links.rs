//! Issue links between the fake site's issues, kept as Jira keeps them: one
//! record per link, with a type, a source (which shows the type's outward
//! text, "blocks") and a destination (which shows the inward one, "is
//! blocked by"). A read shows each link on both issues' `issuelinks`, the
//! other end as `outwardIssue` on the source and as `inwardIssue` on the
//! destination, as Cloud and Data Center both do.

use serde_json::{Map, Value, json};

use super::FakeSite;
use super::errors::{from_call, no_link_type, not_found};
use super::state::{State, Stored, key_order};
use crate::ids::IssueId;
use crate::jira::error::JiraError;
use crate::jira::model::{LinkDirection, LinkType};

/// The fields Jira shows of the other issue in an `issuelinks` entry.
const LINKED_ISSUE_FIELDS: &[&str] = &["summary", "status", "priority", "issuetype"];

/// One issue link.
#[derive(Debug, Clone)]
pub(super) struct StoredLink {
    /// Jira's numeric id, as a string.
    pub id: String,
    /// The type as it was when the link was made.
    pub link_type: LinkType,
    /// The end that shows the outward text.
    pub source: IssueId,
    /// The end that shows the inward text.
    pub destination: IssueId,
}

impl StoredLink {
    /// How the link looks from issue `id`, and its other end; `None` when
    /// `id` is neither end. A link of an issue to itself shows once, outward.
    fn seen_from(&self, id: &IssueId) -> Option<(LinkDirection, &IssueId)> {
        if self.source == *id {
            Some((LinkDirection::Outward, &self.destination))
        } else if self.destination == *id {
            Some((LinkDirection::Inward, &self.source))
        } else {
            None
        }
    }

    pub fn touches(&self, id: &IssueId) -> bool {
        self.seen_from(id).is_some()
    }
}

impl State {
    /// Links `from` to `to` (each by key or id) with the type named
    /// `type_name` (in any case), or finds the identical link already
    /// there; returns its id. The checks come in the order the real client
    /// meets them: it reads `from` before it posts the link, and Jira
    /// looks for the type before the issues.
    pub fn create_link(&mut self, type_name: &str, from: &str, to: &str, call: &str) -> Result<String, JiraError> {
        let source = self.find(from).ok_or_else(|| from_call(not_found(), call))?.id.clone();
        let link_type = self.link_types.iter().find(|t| t.name.eq_ignore_ascii_case(type_name)).cloned();
        let link_type = link_type.ok_or_else(|| from_call(no_link_type(type_name), call))?;
        let destination = self.find(to).ok_or_else(|| from_call(not_found(), call))?.id.clone();
        let same =
            |l: &&StoredLink| l.link_type.id == link_type.id && l.source == source && l.destination == destination;
        if let Some(existing) = self.links.iter().find(same) {
            return Ok(existing.id.clone());
        }
        let id = self.next_link_id.to_string();
        self.next_link_id += 1;
        self.touch_ends(&source, &destination);
        self.links.push(StoredLink { id: id.clone(), link_type, source, destination });
        Ok(id)
    }

    /// Deletes the link `id`; whether it was there.
    pub fn delete_link(&mut self, id: &str) -> bool {
        let Some(at) = self.links.iter().position(|l| l.id == id) else { return false };
        let gone = self.links.remove(at);
        self.touch_ends(&gone.source, &gone.destination);
        true
    }

    /// Jira records a link's change on both its issues, which moves their
    /// `updated`.
    fn touch_ends(&mut self, source: &IssueId, destination: &IssueId) {
        let now = self.now();
        for issue in self.issues.iter_mut().filter(|i| i.id == *source || i.id == *destination) {
            issue.touch(now);
        }
    }

    /// Forgets the links of an issue that is gone. The other ends keep
    /// their `updated`, as in Jira, where deleting an issue changes no other.
    pub fn drop_links_of(&mut self, id: &IssueId) {
        self.links.retain(|l| !l.touches(id));
    }

    /// The `issuelinks` field of the issue `id`, in link id order.
    pub fn issuelinks_json(&self, id: &IssueId) -> Value {
        let entries = self.links.iter().filter_map(|l| {
            let (direction, other) = l.seen_from(id)?;
            Some(link_json(l, direction, self.find(other.as_str())?))
        });
        Value::Array(entries.collect())
    }
}

/// One `issuelinks` entry: the link, its type, and the other issue under
/// the key that says which way the link points.
fn link_json(link: &StoredLink, direction: LinkDirection, other: &Stored) -> Value {
    let t = &link.link_type;
    let end = match direction {
        LinkDirection::Outward => "outwardIssue",
        LinkDirection::Inward => "inwardIssue",
    };
    let fields: Map<String, Value> = LINKED_ISSUE_FIELDS
        .iter()
        .filter_map(|f| other.fields.get(*f).filter(|v| !v.is_null()).map(|v| (f.to_string(), v.clone())))
        .collect();
    let mut entry = json!({
        "id": link.id,
        "type": {"id": t.id, "name": t.name, "inward": t.inward, "outward": t.outward},
    });
    entry[end] = json!({"id": other.id.as_str(), "key": other.key.as_str(), "fields": fields});
    entry
}

impl FakeSite {
    /// A person links `from_key` to `to_key` with the type named
    /// `type_name`, so that `from_key` shows its outward text; returns the
    /// link's id (the existing one when the same link is there).
    #[track_caller]
    pub fn link_as_person(&self, type_name: &str, from_key: &str, to_key: &str) -> String {
        let mut s = self.lock();
        match s.create_link(type_name, from_key, to_key, "a person's link") {
            Ok(id) => id,
            Err(e) => panic!("cannot link {from_key} to {to_key} as {type_name} on the fake site {}: {e}", s.site),
        }
    }

    /// A person deletes the link `link_id`.
    #[track_caller]
    pub fn unlink_as_person(&self, link_id: &str) {
        let mut s = self.lock();
        if !s.delete_link(link_id) {
            panic!("no issue link {link_id} on the fake site {}", s.site);
        }
    }

    /// The issue's links as `(type name, direction, other issue's key)`,
    /// sorted; none when the issue is not there. No call is recorded.
    pub fn links_of(&self, key: &str) -> Vec<(String, LinkDirection, String)> {
        let s = self.lock();
        let Some(id) = s.find(key).map(|i| i.id.clone()) else { return Vec::new() };
        let mut links: Vec<(String, LinkDirection, String)> = s
            .links
            .iter()
            .filter_map(|l| {
                let (direction, other) = l.seen_from(&id)?;
                Some((l.link_type.name.clone(), direction, s.find(other.as_str())?.key.to_string()))
            })
            .collect();
        links.sort_by_key(|(name, direction, other)| (name.clone(), *direction, key_order(other)));
        links
    }
}
