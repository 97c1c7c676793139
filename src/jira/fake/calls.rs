//! The calls a fake site records, typed, so that a test can say which
//! operations the engine asked for and with what.

use crate::config::Flavour;
use crate::jira::values::{FieldValue, FieldWrites};

/// The kind of a site operation: what a queued fault waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FakeOp {
    Myself,
    Fields,
    Project,
    LinkTypes,
    CreateMeta,
    Statuses,
    ProjectStatuses,
    Permissions,
    FindUser,
    Issue,
    Issues,
    Search,
    Create,
    FindByMark,
    Edit,
    AddLabel,
    Transition,
    Delete,
    CreateLink,
    DeleteLink,
    RemoteLinks,
    UpsertRemoteLink,
    DeleteRemoteLink,
}

impl FakeOp {
    /// Whether the operation changes the site.
    pub fn is_write(self) -> bool {
        matches!(
            self,
            FakeOp::Create
                | FakeOp::Edit
                | FakeOp::AddLabel
                | FakeOp::Transition
                | FakeOp::Delete
                | FakeOp::CreateLink
                | FakeOp::DeleteLink
                | FakeOp::UpsertRemoteLink
                | FakeOp::DeleteRemoteLink
        )
    }
}

/// One call made through the `Site` trait, with its arguments. Field
/// writes are listed in field id order.
#[derive(Debug, Clone, PartialEq)]
pub enum FakeCall {
    Myself,
    Fields,
    Project {
        key: String,
    },
    LinkTypes,
    CreateMeta {
        project: String,
        issue_type: String,
    },
    Statuses,
    ProjectStatuses {
        project: String,
    },
    Permissions {
        project: String,
    },
    FindUser {
        email: String,
    },
    /// `key` is the key or id the caller gave.
    Issue {
        key: String,
    },
    Issues {
        scope: Option<String>,
        ids: Vec<String>,
    },
    Search {
        jql: String,
    },
    Create {
        project: String,
        issue_type: String,
        fields: Vec<(String, FieldValue)>,
        mark: Option<String>,
    },
    FindByMark {
        project: String,
        mark: String,
    },
    Edit {
        key: String,
        fields: Vec<(String, FieldValue)>,
    },
    AddLabel {
        key: String,
        label: String,
    },
    Transition {
        key: String,
        status: String,
    },
    Delete {
        key: String,
    },
    /// `from` and `to` as the caller gave them (key or id).
    CreateLink {
        type_name: String,
        from: String,
        to: String,
    },
    DeleteLink {
        id: String,
    },
    RemoteLinks {
        key: String,
    },
    UpsertRemoteLink {
        key: String,
        global_id: String,
        url: String,
        title: String,
    },
    DeleteRemoteLink {
        key: String,
        global_id: String,
    },
}

/// Field writes as a call records them.
pub(super) fn listed(writes: &FieldWrites) -> Vec<(String, FieldValue)> {
    writes.iter().map(|(id, v)| (id.to_string(), v.clone())).collect()
}

impl FakeCall {
    pub fn op(&self) -> FakeOp {
        match self {
            FakeCall::Myself => FakeOp::Myself,
            FakeCall::Fields => FakeOp::Fields,
            FakeCall::Project { .. } => FakeOp::Project,
            FakeCall::LinkTypes => FakeOp::LinkTypes,
            FakeCall::CreateMeta { .. } => FakeOp::CreateMeta,
            FakeCall::Statuses => FakeOp::Statuses,
            FakeCall::ProjectStatuses { .. } => FakeOp::ProjectStatuses,
            FakeCall::Permissions { .. } => FakeOp::Permissions,
            FakeCall::FindUser { .. } => FakeOp::FindUser,
            FakeCall::Issue { .. } => FakeOp::Issue,
            FakeCall::Issues { .. } => FakeOp::Issues,
            FakeCall::Search { .. } => FakeOp::Search,
            FakeCall::Create { .. } => FakeOp::Create,
            FakeCall::FindByMark { .. } => FakeOp::FindByMark,
            FakeCall::Edit { .. } => FakeOp::Edit,
            FakeCall::AddLabel { .. } => FakeOp::AddLabel,
            FakeCall::Transition { .. } => FakeOp::Transition,
            FakeCall::Delete { .. } => FakeOp::Delete,
            FakeCall::CreateLink { .. } => FakeOp::CreateLink,
            FakeCall::DeleteLink { .. } => FakeOp::DeleteLink,
            FakeCall::RemoteLinks { .. } => FakeOp::RemoteLinks,
            FakeCall::UpsertRemoteLink { .. } => FakeOp::UpsertRemoteLink,
            FakeCall::DeleteRemoteLink { .. } => FakeOp::DeleteRemoteLink,
        }
    }

    pub fn is_write(&self) -> bool {
        self.op().is_write()
    }

    /// `METHOD /path` of the request the real client would send, so that
    /// errors read as they would against a real site.
    pub fn label(&self, flavour: Flavour) -> String {
        let api = match flavour {
            Flavour::Cloud => "/rest/api/3",
            Flavour::DataCenter => "/rest/api/2",
        };
        let search = match flavour {
            Flavour::Cloud => "POST /rest/api/3/search/jql".to_string(),
            Flavour::DataCenter => "GET /rest/api/2/search".to_string(),
        };
        match self {
            FakeCall::Myself => format!("GET {api}/myself"),
            FakeCall::Fields => format!("GET {api}/field"),
            FakeCall::Project { key } => format!("GET {api}/project/{key}"),
            FakeCall::LinkTypes => format!("GET {api}/issueLinkType"),
            FakeCall::CreateMeta { project, .. } => format!("GET {api}/issue/createmeta/{project}/issuetypes"),
            FakeCall::Statuses => format!("GET {api}/status"),
            FakeCall::ProjectStatuses { project } => format!("GET {api}/project/{project}/statuses"),
            FakeCall::Permissions { .. } => format!("GET {api}/mypermissions"),
            FakeCall::FindUser { .. } => format!("GET {api}/user/search"),
            FakeCall::Issue { key } => format!("GET {api}/issue/{key}"),
            FakeCall::Issues { .. } | FakeCall::Search { .. } | FakeCall::FindByMark { .. } => search,
            FakeCall::Create { .. } => format!("POST {api}/issue"),
            FakeCall::Edit { key, .. } | FakeCall::AddLabel { key, .. } => format!("PUT {api}/issue/{key}"),
            FakeCall::Transition { key, .. } => format!("POST {api}/issue/{key}/transitions"),
            FakeCall::Delete { key } => format!("DELETE {api}/issue/{key}"),
            FakeCall::CreateLink { .. } => format!("POST {api}/issueLink"),
            FakeCall::DeleteLink { id } => format!("DELETE {api}/issueLink/{id}"),
            FakeCall::RemoteLinks { key } => format!("GET {api}/issue/{key}/remotelink"),
            FakeCall::UpsertRemoteLink { key, .. } => format!("POST {api}/issue/{key}/remotelink"),
            FakeCall::DeleteRemoteLink { key, .. } => format!("DELETE {api}/issue/{key}/remotelink"),
        }
    }
}
