//! What a fake site starts with: the system fields of a Jira site with the
//! schemas Jira gives them, the custom field kinds a test can add, a small
//! workflow's statuses and the usual link types.

use crate::jira::model::{FieldInfo, FieldSchema, LinkType, Project, StatusRef};

/// Where Jira's own custom field types live.
const CUSTOM_TYPES: &str = "com.atlassian.jira.plugin.system.customfieldtypes";

fn system(id: &str, name: &str, kind: &str, items: Option<&str>) -> FieldInfo {
    FieldInfo {
        id: id.into(),
        name: name.into(),
        custom: false,
        schema: Some(FieldSchema {
            kind: kind.into(),
            items: items.map(Into::into),
            system: Some(id.into()),
            custom: None,
        }),
    }
}

/// The system fields every site lists in `GET /field`.
pub(super) fn system_fields() -> Vec<FieldInfo> {
    vec![
        system("summary", "Summary", "string", None),
        system("description", "Description", "string", None),
        system("issuetype", "Issue Type", "issuetype", None),
        system("project", "Project", "project", None),
        system("status", "Status", "status", None),
        system("priority", "Priority", "priority", None),
        system("resolution", "Resolution", "resolution", None),
        system("labels", "Labels", "array", Some("string")),
        system("components", "Components", "array", Some("component")),
        system("fixVersions", "Fix versions", "array", Some("version")),
        system("assignee", "Assignee", "user", None),
        system("reporter", "Reporter", "user", None),
        system("duedate", "Due date", "date", None),
        system("parent", "Parent", "issuelink", None),
        system("created", "Created", "datetime", None),
        system("updated", "Updated", "datetime", None),
    ]
}

/// Fields Jira shows but no screen lets anyone set through `fields`.
pub(super) const NOT_SETTABLE: &[&str] = &["status", "created", "updated"];

/// The kinds of custom field a test can add with [`custom_field`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CustomKind {
    /// A number field, such as Story Points.
    Number,
    /// A single-line text field.
    Text,
    /// A multi-line text field, read as rich text.
    TextArea,
    Select,
    MultiSelect,
    Date,
    DateTime,
    User,
    Labels,
    /// Data Center's Epic Link: an issue key as a plain string.
    EpicLink,
}

/// A custom field with the schema Jira gives a field of `kind`.
pub fn custom_field(id: &str, name: &str, kind: CustomKind) -> FieldInfo {
    let (schema_type, items, custom) = match kind {
        CustomKind::Number => ("number", None, "float"),
        CustomKind::Text => ("string", None, "textfield"),
        CustomKind::TextArea => ("string", None, "textarea"),
        CustomKind::Select => ("option", None, "select"),
        CustomKind::MultiSelect => ("array", Some("option"), "multiselect"),
        CustomKind::Date => ("date", None, "datepicker"),
        CustomKind::DateTime => ("datetime", None, "datetime"),
        CustomKind::User => ("user", None, "userpicker"),
        CustomKind::Labels => ("array", Some("string"), "labels"),
        CustomKind::EpicLink => ("any", None, ""),
    };
    let custom = match kind {
        CustomKind::EpicLink => "com.pyxis.greenhopper.jira:gh-epic-link".to_string(),
        _ => format!("{CUSTOM_TYPES}:{custom}"),
    };
    FieldInfo {
        id: id.into(),
        name: name.into(),
        custom: true,
        schema: Some(FieldSchema {
            kind: schema_type.into(),
            items: items.map(Into::into),
            system: None,
            custom: Some(custom),
        }),
    }
}

/// The issue types a project made with [`project`] offers.
const ISSUE_TYPES: &[&str] = &["Task", "Story", "Bug", "Epic"];

/// A project with the usual issue types and these components and versions;
/// its id is given when it is added to a site.
pub fn project(key: &str, components: &[&str], versions: &[&str]) -> Project {
    let names = |list: &[&str]| list.iter().map(|s| s.to_string()).collect();
    Project {
        id: String::new(),
        key: key.into(),
        name: key.into(),
        issue_types: names(ISSUE_TYPES),
        subtask_types: Vec::new(),
        components: names(components),
        versions: names(versions),
    }
}

/// The statuses of a simple workflow, with their categories.
pub(super) const STATUSES: &[(&str, &str)] =
    &[("To Do", "new"), ("In Progress", "indeterminate"), ("In Review", "indeterminate"), ("Done", "done")];

/// Statuses from `(name, category key)` pairs, numbered in order.
pub(super) fn statuses(list: &[(&str, &str)]) -> Vec<StatusRef> {
    list.iter()
        .enumerate()
        .map(|(i, (name, category))| StatusRef {
            id: Some((i + 1).to_string()),
            name: name.to_string(),
            category: Some(category.to_string()),
        })
        .collect()
}

/// The link types a new Jira site has.
pub(super) fn link_types() -> Vec<LinkType> {
    [
        ("10000", "Blocks", "is blocked by", "blocks"),
        ("10001", "Cloners", "is cloned by", "clones"),
        ("10002", "Duplicate", "is duplicated by", "duplicates"),
        ("10003", "Relates", "relates to", "relates to"),
    ]
    .into_iter()
    .map(|(id, name, inward, outward)| LinkType {
        id: id.into(),
        name: name.into(),
        inward: inward.into(),
        outward: outward.into(),
    })
    .collect()
}
