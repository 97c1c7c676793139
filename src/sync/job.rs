//! An outbox entry's payload: what to do to one issue on one site, with the
//! shadow to store once it is done. Values stay canonical until the writer
//! turns them into the target's dialect.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::jira::mark::Mark;
use crate::jira::model::RemoteLinkWrite;
use crate::mapping;
use crate::store::DependencyRecord;

/// The secondary issue a mirror is created for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Source {
    pub instance: String,
    pub issue_id: String,
    pub issue_key: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Action {
    /// Create the mirror (looked up by `mark` first when it may exist).
    Create {
        project: String,
        issue_type: String,
        fields: BTreeMap<String, mapping::Value>,
        status: Option<String>,
        mark: Mark,
        source: Source,
        /// Its parent there (`hierarchy.parent = true`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        parent: Option<ParentWrite>,
    },
    /// Set fields, the parent and/or move the status of an existing issue.
    Update {
        fields: BTreeMap<String, mapping::Value>,
        status: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        parent: Option<ParentWrite>,
    },
    /// The source is gone: forget the link, and delete or label the mirror.
    Unlink {
        delete_mirror: bool,
        /// Label the mirror `jirafed-source-deleted`.
        label: bool,
        /// Label the mirror `jirafed-severed`.
        #[serde(default)]
        severed_label: bool,
        /// Why the pairing ended, remembered so that neither issue is
        /// mirrored again by itself (`None` in jobs queued by older builds).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        ended: Option<String>,
    },
    /// Link `from` to `to` (keys on the target site; `from` shows the
    /// type's outward text) and record `dep` with the new link's id on the
    /// target's side.
    AddLink { link_type: String, from: String, to: String, dep: DependencyRecord },
    /// Delete the target site's link `link_id`, and forget the dependency
    /// `dep` it belongs to.
    RemoveLink { link_id: String, dep: u64 },
    /// Write (or update) and delete jirafed's remote links on the target
    /// issue; the job's shadow records the set.
    RemoteLinks { upsert: Vec<RemoteLinkWrite>, delete: Vec<String> },
}

/// A parent write: the target's field (`parent`, or a Data Center Epic
/// Link) and the parent's key there; `None` clears it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParentWrite {
    pub field: String,
    pub key: Option<String>,
}

impl Action {
    pub fn name(&self) -> &'static str {
        match self {
            Action::Create { .. } => "create",
            Action::Update { .. } => "update",
            Action::Unlink { .. } => "unlink",
            Action::AddLink { .. } => "add_link",
            Action::RemoveLink { .. } => "remove_link",
            Action::RemoteLinks { .. } => "remote_links",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Job {
    pub flow: String,
    /// The link this job belongs to (None for a create).
    pub link: Option<u64>,
    /// The target issue's key (None for a create).
    pub target_key: Option<String>,
    pub action: Action,
    /// The shadow to store when the job succeeds.
    pub shadow_after: Option<mapping::Shadow>,
    /// When the change that caused it was seen (ms), for propagation latency.
    pub origin_ms: i64,
    /// The change that caused it, for the audit log (absent in jobs queued
    /// by older versions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<Cause>,
}

/// The change a job came from, as the audit log shows it: which issue of
/// which site, seen how, made by whom when the webhook said.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cause {
    pub instance: String,
    /// The issue's key when known, else its id.
    pub issue: String,
    /// `webhook`, `poll` or `reconcile`.
    pub via: String,
    /// Who made it (display name, else a name or account id), when the
    /// webhook said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
}

impl Cause {
    pub fn of(change: &super::change::Change) -> Cause {
        let actor = change.actor.as_ref();
        Cause {
            instance: change.instance.as_str().to_string(),
            issue: change.issue_key.as_ref().map_or_else(|| change.issue_id.to_string(), |k| k.to_string()),
            via: change.source.as_str().to_string(),
            by: actor.and_then(|a| {
                a.display_name
                    .clone()
                    .or_else(|| a.name.clone())
                    .or_else(|| a.account_id.clone())
                    .or_else(|| a.key.clone())
            }),
        }
    }
}

impl Job {
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    pub fn from_bytes(b: &[u8]) -> Option<Job> {
        serde_json::from_slice(b).ok()
    }
}

impl Source {
    /// The provenance mark of this source's mirror in `flow`.
    pub fn mark(&self, flow: &str) -> Mark {
        Mark::of(flow, &self.instance, &self.issue_id)
    }
}
