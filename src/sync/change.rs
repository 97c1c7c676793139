//! The one closed input type of the engine: "issue X on instance I may have
//! changed". Webhooks, polls and the writer (asking for a pair to be read
//! again) produce it; only the planner consumes it (from the durable inbox).

use serde::{Deserialize, Serialize};

use crate::ids::{InstanceId, IssueId, IssueKey};

/// Where a change came from (for metrics and the audit log; the planner
/// treats them all alike).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeSource {
    Webhook,
    Poll,
    /// The engine itself asks for an issue to be read again (a write found
    /// its target gone, a create is followed up).
    Reconcile,
}

impl ChangeSource {
    /// The name in metrics labels.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeSource::Webhook => "webhook",
            ChangeSource::Poll => "poll",
            ChangeSource::Reconcile => "reconcile",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// Created, edited, transitioned, commented, linked...: read it again.
    Updated,
    /// Jira said it is gone (`jira:issue_deleted`).
    Deleted,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    pub instance: InstanceId,
    /// Jira's numeric id: stable across moves, unlike the key.
    pub issue_id: IssueId,
    pub issue_key: Option<IssueKey>,
    pub source: ChangeSource,
    pub kind: ChangeKind,
    /// When jirafed learned of it (ms since the epoch).
    pub seen_ms: i64,
    /// Who made the change, when the webhook says (absent for polls).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<Actor>,
    /// The issue's `updated` in the webhook body (ms): which version of the
    /// issue this change is about, for dedupe with polls and reads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_ms: Option<i64>,
    /// For a change an issue-link webhook made: the link's two ends (this
    /// issue is one of them), by which jirafed knows its own link writes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link_ends: Option<(IssueId, IssueId)>,
}

/// The user a webhook names as the one who made the change, by whichever
/// ids the dialect gives (Cloud `accountId`, Data Center `name` and `key`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// For people reading the audit log; never used to tell users apart.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
}

impl Actor {
    /// The same user as `other` by any id both carry.
    pub fn same_as(&self, other: &Actor) -> bool {
        let same = |a: &Option<String>, b: &Option<String>| a.is_some() && a == b;
        same(&self.account_id, &other.account_id) || same(&self.key, &other.key) || same(&self.name, &other.name)
    }
}

/// The inbox dedupe key of one version of an issue: a webhook, a poll and a
/// read that saw the same `updated` of the same issue are one change.
pub fn version_key(issue_id: &str, updated_ms: i64) -> String {
    format!("v:{issue_id}:{updated_ms}")
}

impl Change {
    /// The webhook's actor is this user: jirafed's own technical user, so
    /// the change is jirafed's own write coming back.
    pub fn made_by(&self, me: &Actor) -> bool {
        self.actor.as_ref().is_some_and(|a| a.same_as(me))
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        // A struct of strings and enums always serialises.
        serde_json::to_vec(self).unwrap_or_default()
    }

    pub fn from_bytes(b: &[u8]) -> Option<Change> {
        serde_json::from_slice(b).ok()
    }
}
