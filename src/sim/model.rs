//! The simulator's in-memory state of one site: users, projects, fields,
//! issues and everything hanging off them. Plain data; rendering to Jira
//! JSON lives in `render.rs`, mutations in `ops.rs`.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::Value;

use crate::config::Flavour;
use crate::jira::richtext::Doc;

/// The statuses of the simulated workflow: (id, name, category id).
pub const STATUSES: &[(&str, &str, u8)] = &[
    ("10000", "To Do", 2),
    ("3", "In Progress", 4),
    ("10001", "In Review", 4),
    ("10002", "Blocked", 4),
    ("10003", "Done", 3),
];

/// Status categories: (id, key, colour, name).
pub const STATUS_CATEGORIES: &[(u8, &str, &str, &str)] =
    &[(2, "new", "blue-gray", "To Do"), (4, "indeterminate", "yellow", "In Progress"), (3, "done", "green", "Done")];

/// One workflow transition.
pub struct TransitionDef {
    pub id: &'static str,
    pub name: &'static str,
    pub from: &'static [&'static str],
    pub to: &'static str,
    /// Fields on the transition screen that must be given.
    pub required_fields: &'static [&'static str],
}

/// To Do -> In Progress -> In Review -> Done; Blocked only from In
/// Progress; Done -> To Do reopens. Resolving asks for a resolution.
pub const TRANSITIONS: &[TransitionDef] = &[
    TransitionDef { id: "11", name: "Start Progress", from: &["To Do"], to: "In Progress", required_fields: &[] },
    TransitionDef { id: "21", name: "Request Review", from: &["In Progress"], to: "In Review", required_fields: &[] },
    TransitionDef { id: "31", name: "Done", from: &["In Review"], to: "Done", required_fields: &["resolution"] },
    TransitionDef { id: "41", name: "Block", from: &["In Progress"], to: "Blocked", required_fields: &[] },
    TransitionDef { id: "51", name: "Unblock", from: &["Blocked"], to: "In Progress", required_fields: &[] },
    TransitionDef { id: "61", name: "Back to Progress", from: &["In Review"], to: "In Progress", required_fields: &[] },
    TransitionDef { id: "71", name: "Reopen", from: &["Done"], to: "To Do", required_fields: &[] },
];

/// Issue types: (id, name, subtask, hierarchy level).
pub const ISSUE_TYPES: &[(&str, &str, bool, i32)] = &[
    ("10000", "Epic", false, 1),
    ("10001", "Story", false, 0),
    ("10004", "Bug", false, 0),
    ("10002", "Task", false, 0),
    ("10003", "Sub-task", true, -1),
];

/// Priorities: (id, name, colour).
pub const PRIORITIES: &[(&str, &str, &str)] = &[
    ("1", "Highest", "#d04437"),
    ("2", "High", "#f15C75"),
    ("3", "Medium", "#f79232"),
    ("4", "Low", "#707070"),
    ("5", "Lowest", "#999999"),
];

/// Resolutions: (id, name).
pub const RESOLUTIONS: &[(&str, &str)] = &[("10000", "Done"), ("10001", "Won't Do"), ("10002", "Duplicate")];

/// Permissions the simulator knows: (id, key, name).
pub const PERMISSIONS: &[(&str, &str, &str)] = &[
    ("10", "BROWSE_PROJECTS", "Browse Projects"),
    ("11", "CREATE_ISSUES", "Create Issues"),
    ("12", "EDIT_ISSUES", "Edit Issues"),
    ("46", "TRANSITION_ISSUES", "Transition Issues"),
    ("21", "LINK_ISSUES", "Link Issues"),
    ("15", "ADD_COMMENTS", "Add Comments"),
    ("16", "DELETE_ISSUES", "Delete Issues"),
    ("34", "EDIT_ALL_COMMENTS", "Edit All Comments"),
    ("35", "EDIT_OWN_COMMENTS", "Edit Own Comments"),
    ("36", "DELETE_ALL_COMMENTS", "Delete All Comments"),
    ("37", "DELETE_OWN_COMMENTS", "Delete Own Comments"),
];

/// What kind of value a field holds; decides parsing, rendering and schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    /// Single-line text (summary, text custom fields).
    Text,
    /// Rich text: ADF on v3, wiki markup on v2.
    RichText,
    Number,
    Date,
    DateTime,
    Select,
    MultiSelect,
    Labels,
    Components,
    Priority,
    User,
    Resolution,
    Parent,
    /// Data Center's Epic Link custom field (an epic's key).
    EpicLink,
    IssueType,
    Project,
    Status,
    /// Read-only system fields rendered from issue state (created, updated,
    /// issuelinks, comment, subtasks, ...).
    System,
}

#[derive(Debug, Clone)]
pub struct FieldDef {
    pub id: String,
    pub name: String,
    pub kind: FieldKind,
    pub custom: bool,
    /// Allowed values of selects: (option id, value).
    pub options: Vec<(String, String)>,
    /// On the create and edit screens (settable through REST).
    pub on_screen: bool,
    pub required_on_create: bool,
}

impl FieldDef {
    pub fn custom_id(&self) -> Option<u64> {
        self.id.strip_prefix("customfield_").and_then(|n| n.parse().ok())
    }
}

/// A stored field value.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldValue {
    Text(String),
    Rich(Doc),
    Number(f64),
    Date(NaiveDate),
    DateTime(DateTime<Utc>),
    /// Option id.
    Select(String),
    /// Option ids.
    MultiSelect(Vec<String>),
    Labels(Vec<String>),
    Components(Vec<String>),
    /// Priority id.
    Priority(String),
    /// User login (`User::login`).
    User(String),
    /// Resolution id.
    Resolution(String),
    /// Parent issue id.
    Parent(u64),
    /// Epic issue id.
    EpicLink(u64),
}

#[derive(Clone)]
pub struct User {
    /// Internal handle and Data Center `name`.
    pub login: String,
    /// Data Center `key`.
    pub key: String,
    /// Cloud `accountId`.
    pub account_id: String,
    pub display_name: String,
    pub email: String,
    pub time_zone: chrono_tz::Tz,
    /// Cloud API token / DC personal access token / DC password.
    pub token: Option<String>,
    pub pat: Option<String>,
    pub password: Option<String>,
    pub permissions: Vec<String>,
    /// Keys of the projects the permissions hold in; `None`: every project.
    pub projects: Option<Vec<String>>,
}

impl std::fmt::Debug for User {
    // The secrets stay out of logs and panics.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User")
            .field("login", &self.login)
            .field("key", &self.key)
            .field("account_id", &self.account_id)
            .field("display_name", &self.display_name)
            .field("email", &self.email)
            .field("time_zone", &self.time_zone)
            .field("permissions", &self.permissions)
            .field("projects", &self.projects)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone)]
pub struct Project {
    pub id: String,
    pub key: String,
    pub name: String,
    pub lead: String,
    pub components: Vec<(String, String)>,
    pub next_number: u64,
}

#[derive(Debug, Clone)]
pub struct ChangeItem {
    pub field: String,
    pub field_id: String,
    pub custom: bool,
    pub from: Option<String>,
    pub from_string: Option<String>,
    pub to: Option<String>,
    pub to_string: Option<String>,
}

#[derive(Debug, Clone)]
pub struct History {
    pub id: u64,
    pub author: String,
    pub created: DateTime<Utc>,
    pub items: Vec<ChangeItem>,
}

#[derive(Debug, Clone)]
pub struct Comment {
    pub id: u64,
    pub author: String,
    pub update_author: String,
    pub body: Doc,
    pub created: DateTime<Utc>,
    pub updated: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct RemoteLink {
    pub id: u64,
    pub global_id: Option<String>,
    /// The whole posted body (application, relationship, object).
    pub body: Value,
}

#[derive(Debug, Clone)]
pub struct Issue {
    pub id: u64,
    pub key: String,
    pub project: String,
    pub issuetype: String,
    pub status: String,
    pub fields: BTreeMap<String, FieldValue>,
    pub reporter: String,
    pub created: DateTime<Utc>,
    pub updated: DateTime<Utc>,
    pub resolution_date: Option<DateTime<Utc>>,
    pub changelog: Vec<History>,
    pub comments: Vec<Comment>,
    pub remote_links: Vec<RemoteLink>,
    pub properties: BTreeMap<String, Value>,
}

#[derive(Debug, Clone)]
pub struct LinkType {
    pub id: String,
    pub name: String,
    pub inward: String,
    pub outward: String,
}

/// A link: `source` shows the type's outward text towards `destination`.
#[derive(Debug, Clone)]
pub struct IssueLink {
    pub id: u64,
    pub type_id: String,
    pub source: u64,
    pub destination: u64,
}

/// A webhook registration (admin webhook).
#[derive(Clone, serde::Serialize)]
pub struct WebhookReg {
    pub id: u64,
    pub name: String,
    pub url: String,
    pub events: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jql: Option<String>,
    #[serde(skip)]
    pub secret: Option<String>,
    #[serde(rename = "isSigned")]
    pub is_signed: bool,
}

impl std::fmt::Debug for WebhookReg {
    // The secret stays out of logs and panics.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookReg")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("url", &self.url)
            .field("events", &self.events)
            .field("jql", &self.jql)
            .field("secret", &self.secret.as_ref().map(|_| "***"))
            .finish()
    }
}

/// Everything one site holds.
#[derive(Debug, Clone)]
pub struct SiteData {
    pub name: String,
    pub flavour: Flavour,
    pub base_url: String,
    pub users: Vec<User>,
    pub projects: Vec<Project>,
    pub fields: Vec<FieldDef>,
    pub link_types: Vec<LinkType>,
    pub issues: BTreeMap<u64, Issue>,
    /// Every key an issue ever had (moves keep the old one working).
    pub keys: HashMap<String, u64>,
    pub links: BTreeMap<u64, IssueLink>,
    pub webhooks: Vec<WebhookReg>,
    pub next_id: u64,
    /// Statuses besides [`STATUSES`] that no workflow uses: (id, name).
    pub unused_statuses: Vec<(String, String)>,
}

impl SiteData {
    /// A fresh id for any object (issues, links, comments, histories).
    pub fn next_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    pub fn user(&self, login: &str) -> Option<&User> {
        self.users.iter().find(|u| u.login == login)
    }

    pub fn project(&self, key_or_id: &str) -> Option<&Project> {
        self.projects.iter().find(|p| p.key.eq_ignore_ascii_case(key_or_id) || p.id == key_or_id)
    }

    pub fn field(&self, id: &str) -> Option<&FieldDef> {
        self.fields.iter().find(|f| f.id == id)
    }

    /// Finds an issue by id or key (current or former).
    pub fn issue_id(&self, id_or_key: &str) -> Option<u64> {
        if let Ok(id) = id_or_key.parse::<u64>() {
            return self.issues.contains_key(&id).then_some(id);
        }
        self.keys.get(&id_or_key.to_ascii_uppercase()).copied().filter(|id| self.issues.contains_key(id))
    }

    pub fn link_type(&self, id: &str) -> Option<&LinkType> {
        self.link_types.iter().find(|t| t.id == id)
    }
}

pub fn status_def(name: &str) -> Option<(&'static str, &'static str, u8)> {
    STATUSES.iter().copied().find(|(_, n, _)| n.eq_ignore_ascii_case(name))
}

pub fn issue_type_def(name_or_id: &str) -> Option<(&'static str, &'static str, bool, i32)> {
    ISSUE_TYPES.iter().copied().find(|(id, n, _, _)| n.eq_ignore_ascii_case(name_or_id) || *id == name_or_id)
}

pub fn priority_def(name_or_id: &str) -> Option<(&'static str, &'static str, &'static str)> {
    PRIORITIES.iter().copied().find(|(id, n, _)| n.eq_ignore_ascii_case(name_or_id) || *id == name_or_id)
}

pub fn resolution_def(name_or_id: &str) -> Option<(&'static str, &'static str)> {
    RESOLUTIONS.iter().copied().find(|(id, n)| n.eq_ignore_ascii_case(name_or_id) || *id == name_or_id)
}
