//! The dialect-neutral model of what jirafed reads from Jira, parsed
//! leniently from Cloud v3 and Data Center v2 JSON alike: missing optional
//! keys are `None`, unknown keys are ignored. A write that is no field
//! value ([`RemoteLinkWrite`]) lives here too, beside what it is read as.

use std::collections::BTreeMap;

use chrono::{DateTime, FixedOffset};
use serde_json::{Value, json};

use super::richtext::Doc;
use crate::ids::{IssueId, IssueKey};

fn s(v: &Value, key: &str) -> Option<String> {
    match v.get(key)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Jira's timestamp format, `2024-01-05T10:15:30.123+0100` (also RFC 3339).
pub fn parse_timestamp(text: &str) -> Option<DateTime<FixedOffset>> {
    DateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f%z").ok().or_else(|| DateTime::parse_from_rfc3339(text).ok())
}

/// A user as either dialect names them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserRef {
    /// Cloud.
    pub account_id: Option<String>,
    /// Data Center.
    pub name: Option<String>,
    pub key: Option<String>,
    pub email: Option<String>,
    pub display_name: Option<String>,
}

impl UserRef {
    pub fn parse(v: &Value) -> Option<UserRef> {
        if !v.is_object() {
            return None;
        }
        Some(UserRef {
            account_id: s(v, "accountId"),
            name: s(v, "name"),
            key: s(v, "key"),
            email: s(v, "emailAddress"),
            display_name: s(v, "displayName"),
        })
    }
}

/// `GET /myself`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Myself {
    pub user: UserRef,
    /// IANA zone of the profile; JQL dates are read in it.
    pub time_zone: Option<String>,
}

impl Myself {
    pub fn parse(v: &Value) -> Option<Myself> {
        Some(Myself { user: UserRef::parse(v)?, time_zone: s(v, "timeZone") })
    }
}

/// A field's `schema`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldSchema {
    pub kind: String,
    pub items: Option<String>,
    pub system: Option<String>,
    pub custom: Option<String>,
}

impl FieldSchema {
    pub fn parse(v: &Value) -> Option<FieldSchema> {
        Some(FieldSchema { kind: s(v, "type")?, items: s(v, "items"), system: s(v, "system"), custom: s(v, "custom") })
    }

    /// The custom type's short name (`float`, `select`, `textarea`...).
    pub fn custom_short(&self) -> Option<&str> {
        self.custom.as_deref().map(|c| c.rsplit(':').next().unwrap_or(c))
    }
}

/// One entry of `GET /field`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldInfo {
    pub id: String,
    pub name: String,
    pub custom: bool,
    pub schema: Option<FieldSchema>,
}

impl FieldInfo {
    pub fn parse(v: &Value) -> Option<FieldInfo> {
        Some(FieldInfo {
            id: s(v, "id")?,
            name: s(v, "name").unwrap_or_default(),
            custom: v.get("custom").and_then(Value::as_bool).unwrap_or(false),
            schema: v.get("schema").and_then(FieldSchema::parse),
        })
    }
}

/// An allowed value of createmeta/editmeta/transition fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowedValue {
    pub id: Option<String>,
    /// `name` or `value`, whichever the kind uses.
    pub name: Option<String>,
}

/// A field of a create, edit or transition screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldMeta {
    pub id: String,
    pub name: String,
    pub required: bool,
    pub schema: Option<FieldSchema>,
    pub operations: Vec<String>,
    pub allowed_values: Vec<AllowedValue>,
}

impl FieldMeta {
    /// `id` is the map key the entry sat under (editmeta, transition
    /// screens: the id a write uses, whatever the entry's `key` says), else
    /// `fieldId`, else `key`.
    pub fn parse(v: &Value, map_key: Option<&str>) -> Option<FieldMeta> {
        let id = map_key.map(str::to_string).or_else(|| s(v, "fieldId")).or_else(|| s(v, "key"))?;
        let allowed = v.get("allowedValues").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
        Some(FieldMeta {
            id,
            name: s(v, "name").unwrap_or_default(),
            required: v.get("required").and_then(Value::as_bool).unwrap_or(false),
            schema: v.get("schema").and_then(FieldSchema::parse),
            operations: v
                .get("operations")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(|o| o.as_str().map(str::to_string)).collect())
                .unwrap_or_default(),
            allowed_values: allowed
                .iter()
                .map(|a| match a {
                    Value::String(x) => AllowedValue { id: None, name: Some(x.clone()) },
                    _ => AllowedValue { id: s(a, "id"), name: s(a, "name").or_else(|| s(a, "value")) },
                })
                .collect(),
        })
    }

    /// Entries of an `{"fields": {"id": {...}}}` map (editmeta, transitions, legacy createmeta).
    pub fn parse_map(v: &Value) -> Vec<FieldMeta> {
        v.as_object().map(|m| m.iter().filter_map(|(k, f)| FieldMeta::parse(f, Some(k))).collect()).unwrap_or_default()
    }
}

/// A status with its category key (`new`, `indeterminate`, `done`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusRef {
    pub id: Option<String>,
    pub name: String,
    pub category: Option<String>,
}

impl StatusRef {
    pub fn parse(v: &Value) -> Option<StatusRef> {
        Some(StatusRef {
            id: s(v, "id"),
            name: s(v, "name")?,
            category: v.get("statusCategory").and_then(|c| s(c, "key")),
        })
    }
}

/// `GET /issue/{key}/transitions` entries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    pub id: String,
    pub name: String,
    pub to: Option<StatusRef>,
    pub fields: Vec<FieldMeta>,
}

impl Transition {
    pub fn parse(v: &Value) -> Option<Transition> {
        Some(Transition {
            id: s(v, "id")?,
            name: s(v, "name").unwrap_or_default(),
            to: v.get("to").and_then(StatusRef::parse),
            fields: v.get("fields").map(FieldMeta::parse_map).unwrap_or_default(),
        })
    }

    pub fn parse_list(v: &Value) -> Vec<Transition> {
        v.get("transitions")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Transition::parse).collect())
            .unwrap_or_default()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkType {
    pub id: String,
    pub name: String,
    pub inward: String,
    pub outward: String,
}

impl LinkType {
    pub fn parse(v: &Value) -> Option<LinkType> {
        Some(LinkType {
            id: s(v, "id")?,
            name: s(v, "name")?,
            inward: s(v, "inward").unwrap_or_default(),
            outward: s(v, "outward").unwrap_or_default(),
        })
    }

    /// `{"issueLinkTypes": [...]}`, or a bare array.
    pub fn parse_list(v: &Value) -> Vec<LinkType> {
        let list = v.get("issueLinkTypes").unwrap_or(v);
        list.as_array().map(|a| a.iter().filter_map(LinkType::parse).collect()).unwrap_or_default()
    }
}

/// Another issue, as links, parents and subtasks name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssueRef {
    pub id: IssueId,
    pub key: IssueKey,
}

impl IssueRef {
    pub fn parse(v: &Value) -> Option<IssueRef> {
        Some(IssueRef { id: IssueId::new(s(v, "id")?), key: IssueKey::new(s(v, "key").unwrap_or_default()) })
    }
}

/// Outward sorts before inward.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LinkDirection {
    /// This issue is the link's source ("blocks" the other).
    Outward,
    /// The other issue is the source ("is blocked by" it).
    Inward,
}

/// One `issuelinks[]` entry, seen from the issue that carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssueLink {
    pub id: String,
    pub link_type: LinkType,
    pub direction: LinkDirection,
    pub other: IssueRef,
    /// The other issue's summary, when the entry carries it (Jira's do).
    pub other_summary: Option<String>,
}

impl IssueLink {
    pub fn parse(v: &Value) -> Option<IssueLink> {
        let link_type = v.get("type").and_then(LinkType::parse)?;
        let (direction, other_json) = match (v.get("outwardIssue"), v.get("inwardIssue")) {
            (Some(o), _) => (LinkDirection::Outward, o),
            (None, Some(i)) => (LinkDirection::Inward, i),
            _ => return None,
        };
        let other = IssueRef::parse(other_json)?;
        let other_summary = other_json.get("fields").and_then(|f| s(f, "summary"));
        Some(IssueLink { id: s(v, "id")?, link_type, direction, other, other_summary })
    }

    /// The link's text as this issue shows it: the type's outward text
    /// ("blocks") on its outward end, the inward one on the other.
    pub fn text(&self) -> &str {
        match self.direction {
            LinkDirection::Outward => &self.link_type.outward,
            LinkDirection::Inward => &self.link_type.inward,
        }
    }
}

/// An issue: the parts every flow needs, typed; every field raw, for the
/// value conversions (`values.rs`) that need the field's schema.
#[derive(Debug, Clone, PartialEq)]
pub struct Issue {
    pub id: IssueId,
    pub key: IssueKey,
    pub project: Option<String>,
    pub issuetype: Option<String>,
    pub status: Option<StatusRef>,
    pub created: Option<DateTime<FixedOffset>>,
    pub updated: Option<DateTime<FixedOffset>>,
    pub parent: Option<IssueRef>,
    pub links: Vec<IssueLink>,
    pub labels: Vec<String>,
    pub fields: BTreeMap<String, Value>,
}

impl Issue {
    pub fn parse(v: &Value) -> Option<Issue> {
        let id = IssueId::new(s(v, "id")?);
        let key = IssueKey::new(s(v, "key").unwrap_or_default());
        let fields = v.get("fields").and_then(Value::as_object).cloned().unwrap_or_default();
        let f = |k: &str| fields.get(k).filter(|x| !x.is_null());
        Some(Issue {
            id,
            key,
            project: f("project").and_then(|p| s(p, "key")),
            issuetype: f("issuetype").and_then(|t| s(t, "name")),
            status: f("status").and_then(StatusRef::parse),
            created: f("created").and_then(Value::as_str).and_then(parse_timestamp),
            updated: f("updated").and_then(Value::as_str).and_then(parse_timestamp),
            parent: f("parent").and_then(IssueRef::parse),
            links: f("issuelinks")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(IssueLink::parse).collect())
                .unwrap_or_default(),
            labels: f("labels")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(|l| l.as_str().map(str::to_string)).collect())
                .unwrap_or_default(),
            fields: fields.into_iter().collect(),
        })
    }

    /// A field's value as one text, for matching issues by it: a text, a
    /// number, an option's value, a user's or an issue's name or key, the
    /// items of a list joined by ", "; `None` when empty or not read.
    pub fn text_of(&self, field: &str) -> Option<String> {
        fn text(v: &Value) -> Option<String> {
            match v {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                Value::Bool(b) => Some(b.to_string()),
                Value::Array(a) => {
                    let items: Vec<String> = a.iter().filter_map(text).collect();
                    (!items.is_empty()).then(|| items.join(", "))
                }
                Value::Object(o) => ["value", "key", "name", "displayName"]
                    .iter()
                    .find_map(|k| o.get(*k).and_then(Value::as_str).map(str::to_string)),
                Value::Null => None,
            }
        }
        self.fields.get(field).and_then(text).map(|t| t.trim().to_string()).filter(|t| !t.is_empty())
    }
}

/// One comment; the body in the model, whichever dialect wrote it.
#[derive(Debug, Clone, PartialEq)]
pub struct Comment {
    pub id: String,
    pub author: Option<UserRef>,
    pub body: Doc,
    pub created: Option<DateTime<FixedOffset>>,
    pub updated: Option<DateTime<FixedOffset>>,
}

impl Comment {
    pub fn parse(v: &Value) -> Option<Comment> {
        let body = match v.get("body") {
            Some(Value::String(w)) => Doc::from_wiki(w),
            Some(adf @ Value::Object(_)) => Doc::from_adf(adf),
            _ => Doc::default(),
        };
        Some(Comment {
            id: s(v, "id")?,
            author: v.get("author").and_then(UserRef::parse),
            body,
            created: v.get("created").and_then(Value::as_str).and_then(parse_timestamp),
            updated: v.get("updated").and_then(Value::as_str).and_then(parse_timestamp),
        })
    }

    /// `{"comments": [...]}` pages, or a bare array.
    pub fn parse_list(v: &Value) -> Vec<Comment> {
        let list = v.get("comments").unwrap_or(v);
        list.as_array().map(|a| a.iter().filter_map(Comment::parse).collect()).unwrap_or_default()
    }
}

/// A remote link (a web link on an issue), as `GET issue/{key}/remotelink`
/// lists it. Only the id is required: a link some other tool made without
/// an object still shows, with an empty url and title.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteLink {
    pub id: String,
    /// The id its writer chose to find it again by; people's links have none.
    pub global_id: Option<String>,
    pub url: String,
    pub title: String,
    /// How the issue relates to the object ("causes", "mirrors"...).
    pub relationship: Option<String>,
}

impl RemoteLink {
    pub fn parse(v: &Value) -> Option<RemoteLink> {
        let object = v.get("object").unwrap_or(&Value::Null);
        Some(RemoteLink {
            id: s(v, "id")?,
            global_id: s(v, "globalId"),
            url: s(object, "url").unwrap_or_default(),
            title: s(object, "title").unwrap_or_default(),
            relationship: s(v, "relationship"),
        })
    }
}

/// A remote link to create, or to update when its issue has one with the
/// same `global_id` already.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RemoteLinkWrite {
    /// The stable id that makes writing the link again an update, never a
    /// second link.
    pub global_id: String,
    pub url: String,
    pub title: String,
    /// Left out, the link has none (an update clears the one it had).
    pub relationship: Option<String>,
}

impl RemoteLinkWrite {
    pub fn new(global_id: impl Into<String>, url: impl Into<String>, title: impl Into<String>) -> RemoteLinkWrite {
        RemoteLinkWrite { global_id: global_id.into(), url: url.into(), title: title.into(), relationship: None }
    }

    pub fn with_relationship(mut self, relationship: impl Into<String>) -> RemoteLinkWrite {
        self.relationship = Some(relationship.into());
        self
    }

    /// The body of `POST issue/{key}/remotelink`, the same in both dialects.
    pub fn to_json(&self) -> Value {
        let mut body = json!({"globalId": self.global_id, "object": {"url": self.url, "title": self.title}});
        if let Some(relationship) = &self.relationship {
            body["relationship"] = json!(relationship);
        }
        body
    }
}

/// A project, as `GET /project/{key}` gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Project {
    pub id: String,
    pub key: String,
    pub name: String,
    pub issue_types: Vec<String>,
    /// Those of `issue_types` that are sub-task types (`subtask: true`):
    /// an issue of one always has a parent of the standard level.
    pub subtask_types: Vec<String>,
    pub components: Vec<String>,
    pub versions: Vec<String>,
}

impl Project {
    pub fn parse(v: &Value) -> Option<Project> {
        let names = |k: &str| {
            v.get(k)
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(|t| s(t, "name")).collect())
                .unwrap_or_default()
        };
        let subtask_types = v
            .get("issueTypes")
            .and_then(Value::as_array)
            .map(|a| {
                let subtask = |t: &&Value| t.get("subtask").and_then(Value::as_bool).unwrap_or(false);
                a.iter().filter(subtask).filter_map(|t| s(t, "name")).collect()
            })
            .unwrap_or_default();
        Some(Project {
            id: s(v, "id")?,
            key: s(v, "key")?,
            name: s(v, "name").unwrap_or_default(),
            issue_types: names("issueTypes"),
            subtask_types,
            components: names("components"),
            versions: names("versions"),
        })
    }
}

/// One issue type of a project with the statuses its workflow holds
/// (`GET /project/{key}/statuses`, an array of these; Browse Projects is
/// all it needs, no admin right).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssueTypeStatuses {
    pub issue_type: String,
    pub subtask: bool,
    pub statuses: Vec<StatusRef>,
}

impl IssueTypeStatuses {
    pub fn parse(v: &Value) -> Option<IssueTypeStatuses> {
        let statuses = v.get("statuses")?.as_array()?.iter().filter_map(StatusRef::parse).collect();
        Some(IssueTypeStatuses {
            issue_type: s(v, "name")?,
            subtask: v.get("subtask").and_then(Value::as_bool).unwrap_or(false),
            statuses,
        })
    }

    /// The answer of `GET /project/{key}/statuses`.
    pub fn parse_list(v: &Value) -> Option<Vec<IssueTypeStatuses>> {
        v.as_array()?.iter().map(IssueTypeStatuses::parse).collect()
    }
}

/// Which of the asked permission keys the caller holds (`GET
/// /mypermissions`: `{"permissions": {KEY: {"havePermission": bool}}}`).
pub fn parse_permissions(v: &Value) -> Option<BTreeMap<String, bool>> {
    let map = v.get("permissions")?.as_object()?;
    Some(
        map.iter()
            .map(|(k, p)| (k.clone(), p.get("havePermission").and_then(Value::as_bool).unwrap_or(false)))
            .collect(),
    )
}

/// `GET /serverInfo`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerInfo {
    pub base_url: Option<String>,
    pub version: Option<String>,
    pub deployment_type: Option<String>,
}

impl ServerInfo {
    pub fn parse(v: &Value) -> Option<ServerInfo> {
        v.is_object().then(|| ServerInfo {
            base_url: s(v, "baseUrl"),
            version: s(v, "version"),
            deployment_type: s(v, "deploymentType"),
        })
    }
}
