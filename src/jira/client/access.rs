//! What `jirafed check` reads to tell, before run time, whether the
//! technical user may do what a flow needs and whether the statuses a
//! flow maps exist: the site's statuses, a project's statuses per issue
//! type (its workflows, readable with Browse Projects alone), and the
//! caller's permissions in a project.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::JiraClient;
use crate::jira::error::JiraError;
use crate::jira::model::{IssueTypeStatuses, StatusRef, parse_permissions};
use crate::jira::timing::CallOp;

impl JiraClient {
    /// Every status of the site (`GET /status`), read once.
    pub async fn site_statuses(&self) -> Result<Arc<Vec<StatusRef>>, JiraError> {
        self.statuses().await
    }

    /// The issue types of `project`, each with the statuses of its
    /// workflow (`GET /project/{key}/statuses`).
    pub async fn project_statuses(&self, project: &str) -> Result<Vec<IssueTypeStatuses>, JiraError> {
        let raw = self.get(CallOp::Metadata, &format!("project/{project}/statuses"), &[]).await?;
        Self::decode("GET project statuses", IssueTypeStatuses::parse_list(&raw))
    }

    /// Whether the caller holds each of `keys` in `project` (`GET
    /// /mypermissions`; Cloud requires the keys to be named). A key the
    /// site does not answer for is missing from the map.
    pub async fn my_permissions(&self, project: &str, keys: &[&str]) -> Result<BTreeMap<String, bool>, JiraError> {
        let query = [("projectKey", project.to_string()), ("permissions", keys.join(","))];
        let raw = self.get(CallOp::Metadata, "mypermissions", &query).await?;
        Self::decode("GET mypermissions", parse_permissions(&raw))
    }
}
