//! The one closed input type of the engine: "issue X on instance I may have
//! changed". Webhooks, polls, reconciliation and admin actions all produce
//! it; only the planner consumes it (from the durable inbox).

use serde::{Deserialize, Serialize};

use crate::ids::{InstanceId, IssueId, IssueKey};

/// Where a change came from (for metrics and the audit log; the planner
/// treats them all alike).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeSource {
    Webhook,
    Poll,
    Reconcile,
    Admin,
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
}

impl Change {
    pub fn to_bytes(&self) -> Vec<u8> {
        // A struct of strings and enums always serialises.
        serde_json::to_vec(self).unwrap_or_default()
    }

    pub fn from_bytes(b: &[u8]) -> Option<Change> {
        serde_json::from_slice(b).ok()
    }
}
