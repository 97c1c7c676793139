//! Mutations of a site, as Jira performs them: validation, changelog,
//! `updated` bumps, and the webhook events each one raises.

use chrono::Utc;
use serde_json::{Map, Value, json};

use super::input::{Change, FieldErrors, Screen, WriteCtx, parse_changes};
use super::model::*;
use super::render::{Api, FieldFilter, View};
use crate::config::Flavour;
use crate::jira::richtext::Doc;

/// Why an operation was refused, in Jira's terms.
#[derive(Debug)]
pub enum OpError {
    /// 404 with this message.
    NotFound(String),
    /// 400 with `errorMessages` and `errors`.
    Invalid { messages: Vec<String>, errors: FieldErrors },
}

impl OpError {
    pub fn message(m: impl Into<String>) -> Self {
        OpError::Invalid { messages: vec![m.into()], errors: FieldErrors::new() }
    }

    pub fn issue_not_found() -> Self {
        OpError::NotFound("Issue does not exist or you do not have permission to see it.".into())
    }

    /// The error as one line: Jira's messages, then its field errors.
    pub fn text(&self) -> String {
        match self {
            OpError::NotFound(m) => m.clone(),
            OpError::Invalid { messages, errors } => {
                let mut parts = messages.clone();
                parts.extend(errors.iter().map(|(f, m)| format!("{f}: {m}")));
                parts.join("; ")
            }
        }
    }
}

/// A webhook event raised by a mutation, with its full body (v2 shape).
#[derive(Debug, Clone)]
pub struct Event {
    pub name: &'static str,
    /// The issue it concerns, for registrations' JQL filters.
    pub issue_id: Option<u64>,
    pub body: Value,
}

pub type OpResult<T> = Result<(T, Vec<Event>), OpError>;

/// The site's own clock zone for webhook bodies: its technical user's.
fn site_view(site: &SiteData) -> View<'_> {
    let tz = site.users.first().map(|u| u.time_zone).unwrap_or(chrono_tz::UTC);
    View::new(site, Api::V2, tz)
}

/// The common envelope of every webhook body.
fn envelope(site: &SiteData, name: &'static str, actor: &str) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("timestamp".into(), json!(Utc::now().timestamp_millis()));
    m.insert("webhookEvent".into(), json!(name));
    // The actor, e-mail included, as the captured Cloud and Server webhooks show.
    m.insert("user".into(), site_view(site).user(actor));
    m
}

fn issue_event(
    site: &SiteData,
    name: &'static str,
    type_name: &str,
    actor: &str,
    issue: &Issue,
    history: Option<&History>,
) -> Event {
    let view = site_view(site);
    let mut m = envelope(site, name, actor);
    m.insert("issue_event_type_name".into(), json!(type_name));
    m.insert("issue".into(), view.issue(issue, &FieldFilter::All, &[]));
    if let Some(h) = history {
        let items = view.history(h)["items"].clone();
        m.insert("changelog".into(), json!({"id": h.id.to_string(), "items": items}));
    }
    Event { name, issue_id: Some(issue.id), body: Value::Object(m) }
}

fn comment_event(site: &SiteData, name: &'static str, actor: &str, issue: &Issue, c: &Comment) -> Event {
    let view = site_view(site);
    let mut m = envelope(site, name, actor);
    m.insert("comment".into(), view.comment(issue, c));
    // The issue as in a link, plus its project and assignee (mattermost's Cloud comment webhooks).
    let mut issue_ref = view.issue_ref(issue.id);
    issue_ref["fields"]["project"] = site.project(&issue.project).map(|p| view.project_ref(p)).unwrap_or(Value::Null);
    issue_ref["fields"]["assignee"] = match issue.fields.get("assignee") {
        Some(FieldValue::User(login)) => view.user(login),
        _ => Value::Null,
    };
    m.insert("issue".into(), issue_ref);
    Event { name, issue_id: Some(issue.id), body: Value::Object(m) }
}

fn link_event(site: &SiteData, name: &'static str, l: &IssueLink) -> Event {
    let ty = site.link_type(&l.type_id);
    let mut m = Map::new();
    m.insert("timestamp".into(), json!(Utc::now().timestamp_millis()));
    m.insert("webhookEvent".into(), json!(name));
    m.insert(
        "issueLink".into(),
        json!({
            "id": l.id,
            "sourceIssueId": l.source,
            "destinationIssueId": l.destination,
            "issueLinkType": {
                "id": ty.map(|t| t.id.parse::<u64>().unwrap_or(0)),
                "name": ty.map(|t| t.name.clone()),
                "outwardName": ty.map(|t| t.outward.clone()),
                "inwardName": ty.map(|t| t.inward.clone()),
                "isSubTaskLinkType": false,
                "isSystemLinkType": false,
            },
            "systemLink": false,
        }),
    );
    Event { name, issue_id: Some(l.source), body: Value::Object(m) }
}

/// The (id, display) strings of a value, for changelog items.
fn value_strings(site: &SiteData, def: &FieldDef, v: Option<&FieldValue>) -> (Option<String>, Option<String>) {
    let Some(v) = v else { return (None, None) };
    let opt = |id: &str| def.options.iter().find(|o| o.0 == id).map(|o| o.1.clone());
    match v {
        FieldValue::Text(s) => (None, Some(s.clone())),
        FieldValue::Rich(d) => (None, Some(d.to_wiki())),
        FieldValue::Number(n) => (None, Some(n.to_string())),
        FieldValue::Date(d) => (Some(d.to_string()), Some(d.format("%-d/%b/%y").to_string())),
        FieldValue::DateTime(t) => (Some(t.to_rfc3339()), Some(t.to_rfc3339())),
        FieldValue::Select(id) => (Some(id.clone()), opt(id)),
        FieldValue::MultiSelect(ids) => {
            (Some(ids.join(",")), Some(ids.iter().filter_map(|i| opt(i)).collect::<Vec<_>>().join(",")))
        }
        FieldValue::Labels(l) => (None, Some(l.join(" "))),
        FieldValue::Components(ids) => (Some(ids.join(",")), Some(ids.join(","))),
        FieldValue::Priority(id) => (Some(id.clone()), priority_def(id).map(|p| p.1.to_string())),
        FieldValue::Resolution(id) => (Some(id.clone()), resolution_def(id).map(|r| r.1.to_string())),
        FieldValue::User(login) => {
            let u = site.user(login);
            let id = match site.flavour {
                Flavour::Cloud => u.map(|u| u.account_id.clone()),
                Flavour::DataCenter => u.map(|u| u.login.clone()),
            };
            (id, u.map(|u| u.display_name.clone()))
        }
        FieldValue::Parent(id) | FieldValue::EpicLink(id) => {
            (Some(id.to_string()), site.issues.get(id).map(|i| i.key.clone()))
        }
    }
}

fn change_item(site: &SiteData, def: &FieldDef, old: Option<&FieldValue>, new: Option<&FieldValue>) -> ChangeItem {
    let (from, from_string) = value_strings(site, def, old);
    let (to, to_string) = value_strings(site, def, new);
    let field = if def.custom { def.name.clone() } else { def.id.clone() };
    ChangeItem { field, field_id: def.id.clone(), custom: def.custom, from, from_string, to, to_string }
}

/// Applies changes to an issue, returning the changelog items of those that
/// changed anything.
fn apply(site: &mut SiteData, id: u64, changes: Vec<Change>) -> Vec<ChangeItem> {
    let mut items = Vec::new();
    for (field, new) in changes {
        let Some(def) = site.field(&field).cloned() else { continue };
        let old = site.issues.get(&id).and_then(|i| i.fields.get(&field).cloned());
        let empty = |v: &Option<FieldValue>| match v {
            None => true,
            Some(FieldValue::Labels(l)) | Some(FieldValue::Components(l)) | Some(FieldValue::MultiSelect(l)) => {
                l.is_empty()
            }
            Some(FieldValue::Rich(d)) => d.is_empty(),
            _ => false,
        };
        if old == new || (empty(&old) && empty(&new)) {
            continue;
        }
        items.push(change_item(site, &def, old.as_ref(), new.as_ref()));
        if let Some(issue) = site.issues.get_mut(&id) {
            match new {
                Some(v) => issue.fields.insert(field, v),
                None => issue.fields.remove(&field),
            };
        }
    }
    items
}

/// Records a history entry and bumps `updated`.
fn record(site: &mut SiteData, id: u64, actor: &str, items: Vec<ChangeItem>) -> Option<History> {
    let now = Utc::now();
    if let Some(i) = site.issues.get_mut(&id) {
        // Every change moves `updated`, even two within one millisecond.
        i.updated = now.max(i.updated + chrono::Duration::milliseconds(1));
    }
    if items.is_empty() {
        return None;
    }
    let h = History { id: site.next_id(), author: actor.to_string(), created: now, items };
    if let Some(i) = site.issues.get_mut(&id) {
        i.changelog.push(h.clone());
    }
    Some(h)
}

fn invalid(errors: FieldErrors) -> OpError {
    OpError::Invalid { messages: vec![], errors }
}

fn required(site: &SiteData, changes: &[Change], errors: &mut FieldErrors) {
    for def in site.fields.iter().filter(|f| f.required_on_create) {
        let given = changes.iter().any(|(id, v)| id == &def.id && v.is_some());
        if !given && !errors.contains_key(&def.id) && !matches!(def.kind, FieldKind::Project | FieldKind::IssueType) {
            let msg = if def.id == "summary" {
                "You must specify a summary of the issue.".to_string()
            } else {
                format!("{} is required.", def.name)
            };
            errors.insert(def.id.clone(), msg);
        }
    }
}

/// `POST /issue`: returns the new issue's id.
pub fn create_issue(site: &mut SiteData, api: Api, actor: &str, body: &Value) -> OpResult<u64> {
    let fields = body.get("fields").and_then(Value::as_object);
    let mut errors = FieldErrors::new();
    let project_ref = fields.and_then(|f| f.get("project"));
    let project = project_ref.and_then(|p| p.get("key").or_else(|| p.get("id"))).and_then(Value::as_str);
    let project = project.and_then(|k| site.project(k)).cloned();
    if project.is_none() {
        errors.insert("project".into(), "Specify a valid project ID or key".into());
    }
    let it_ref = fields.and_then(|f| f.get("issuetype"));
    let it_name = it_ref.and_then(|t| t.get("name").or_else(|| t.get("id"))).and_then(Value::as_str);
    let issuetype = it_name.and_then(issue_type_def);
    if issuetype.is_none() {
        errors.insert("issuetype".into(), "Specify an issue type".into());
    }
    let type_name = issuetype.map(|t| t.1).unwrap_or("Story");
    let ctx =
        WriteCtx { site, api, screen: Screen::Create, current: None, issuetype: type_name, project: project.as_ref() };
    let changes = match parse_changes(&ctx, fields, body.get("update")) {
        Ok(c) => c,
        Err(e) => {
            errors.extend(e);
            vec![]
        }
    };
    required(site, &changes, &mut errors);
    let properties = create_properties(body.get("properties"), &mut errors);
    if issuetype.is_some_and(|t| t.2) && !changes.iter().any(|(id, v)| id == "parent" && v.is_some()) {
        errors.entry("parent".into()).or_insert_with(|| "Could not find valid parent issue.".into());
    }
    let (Some(project), true) = (project, errors.is_empty()) else { return Err(invalid(errors)) };
    let id = insert_issue(site, &project.key, type_name, actor, changes);
    if let Some(issue) = site.issues.get_mut(&id) {
        issue.properties.extend(properties);
    }
    let history = creation_history(site, id, actor);
    let issue = site.issues.get(&id).ok_or_else(OpError::issue_not_found)?;
    let event = issue_event(site, "jira:issue_created", "issue_created", actor, issue, Some(&history));
    Ok((id, vec![event]))
}

/// Entity properties set by a create (`properties: [{key, value}]`, on
/// Cloud and Data Center alike; Jira takes at most 5 properties of at most
/// 32,768 bytes each on one create).
fn create_properties(given: Option<&Value>, errors: &mut FieldErrors) -> Vec<(String, Value)> {
    let Some(given) = given else { return vec![] };
    let Some(list) = given.as_array() else {
        errors.insert("properties".into(), "Properties must be a list of keys and values.".into());
        return vec![];
    };
    let mut out = Vec::new();
    for p in list {
        let key = p.get("key").and_then(Value::as_str).filter(|k| !k.is_empty() && k.len() <= 255);
        let value = p.get("value").filter(|v| v.to_string().len() <= 32_768);
        match (key, value) {
            (Some(k), Some(v)) => out.push((k.to_string(), v.clone())),
            _ => {
                errors.insert(
                    "properties".into(),
                    "Each property needs a key of at most 255 characters and a value of at most 32768 bytes.".into(),
                );
            }
        }
    }
    if out.len() > 5 {
        errors.insert("properties".into(), "At most 5 properties can be set when creating an issue.".into());
    }
    out
}

/// The changelog a created webhook carries: every value the new issue starts with. Jira does not keep it in
/// the issue's own changelog.
fn creation_history(site: &mut SiteData, id: u64, actor: &str) -> History {
    let mut items = Vec::new();
    if let Some(issue) = site.issues.get(&id) {
        for (field, value) in &issue.fields {
            if let Some(def) = site.field(field) {
                items.push(change_item(site, def, None, Some(value)));
            }
        }
        let reporter = FieldValue::User(issue.reporter.clone());
        items.extend(site.field("reporter").map(|def| change_item(site, def, None, Some(&reporter))));
        items.push(ChangeItem { from: None, from_string: None, ..status_item(&issue.status, &issue.status) });
    }
    History { id: site.next_id(), author: actor.to_string(), created: Utc::now(), items }
}

/// Creates an issue without validation (also used for seeding).
pub fn insert_issue(site: &mut SiteData, project: &str, issuetype: &str, actor: &str, changes: Vec<Change>) -> u64 {
    let id = site.next_id();
    let number = match site.projects.iter_mut().find(|p| p.key == project) {
        Some(p) => {
            p.next_number += 1;
            p.next_number
        }
        None => id,
    };
    let key = format!("{project}-{number}");
    let now = Utc::now();
    let mut fields = std::collections::BTreeMap::new();
    fields.insert("priority".to_string(), FieldValue::Priority("3".into()));
    for (f, v) in changes {
        if let Some(v) = v {
            fields.insert(f, v);
        }
    }
    let issue = Issue {
        id,
        key: key.clone(),
        project: project.to_string(),
        issuetype: issuetype.to_string(),
        status: STATUSES[0].1.to_string(),
        fields,
        reporter: actor.to_string(),
        created: now,
        updated: now,
        resolution_date: None,
        changelog: vec![],
        comments: vec![],
        remote_links: vec![],
        properties: Default::default(),
    };
    site.issues.insert(id, issue);
    site.keys.insert(key, id);
    id
}

/// `PUT /issue/{key}`.
pub fn edit_issue(site: &mut SiteData, api: Api, actor: &str, id: u64, body: &Value) -> OpResult<()> {
    let issue = site.issues.get(&id).ok_or_else(OpError::issue_not_found)?;
    let project = site.project(&issue.project).cloned();
    let ctx = WriteCtx {
        site,
        api,
        screen: Screen::Edit,
        current: Some(issue),
        issuetype: &issue.issuetype,
        project: project.as_ref(),
    };
    let changes =
        parse_changes(&ctx, body.get("fields").and_then(Value::as_object), body.get("update")).map_err(invalid)?;
    let only_assignee = !changes.is_empty() && changes.iter().all(|(f, _)| f == "assignee");
    let items = apply(site, id, changes);
    let history = record(site, id, actor, items);
    let issue = site.issues.get(&id).ok_or_else(OpError::issue_not_found)?;
    let type_name = if only_assignee { "issue_assigned" } else { "issue_updated" };
    let events = vec![issue_event(site, "jira:issue_updated", type_name, actor, issue, history.as_ref())];
    Ok(((), events))
}

/// A person moves an issue to another project of the site (Jira's "Move"):
/// a new key there, the same id; the old key keeps finding it. Raises
/// `jira:issue_updated` with the key and project in its changelog. The new
/// key.
pub fn move_issue(site: &mut SiteData, actor: &str, id: u64, project: &str) -> OpResult<String> {
    let issue = site.issues.get(&id).ok_or_else(OpError::issue_not_found)?;
    let (old_key, old_project) = (issue.key.clone(), issue.project.clone());
    let Some(target) = site.projects.iter_mut().find(|p| p.key.eq_ignore_ascii_case(project)) else {
        return Err(OpError::message(format!("No project could be found with key '{project}'.")));
    };
    if target.key == old_project {
        return Err(OpError::message(format!("The issue is already in project '{}'.", target.key)));
    }
    target.next_number += 1;
    let (new_project, key) = (target.key.clone(), format!("{}-{}", target.key, target.next_number));
    if let Some(i) = site.issues.get_mut(&id) {
        i.key = key.clone();
        i.project = new_project.clone();
    }
    site.keys.insert(key.clone(), id);
    let item = |field: &str, from: &str, to: &str| ChangeItem {
        field: field.to_string(),
        field_id: field.to_string(),
        custom: false,
        from: None,
        from_string: Some(from.to_string()),
        to: None,
        to_string: Some(to.to_string()),
    };
    let items = vec![item("Key", &old_key, &key), item("project", &old_project, &new_project)];
    let history = record(site, id, actor, items);
    let issue = site.issues.get(&id).ok_or_else(OpError::issue_not_found)?;
    let events = vec![issue_event(site, "jira:issue_updated", "issue_moved", actor, issue, history.as_ref())];
    Ok((key, events))
}

/// Transitions available from an issue's status.
pub fn available_transitions(issue: &Issue) -> Vec<&'static TransitionDef> {
    TRANSITIONS.iter().filter(|t| t.from.iter().any(|f| f.eq_ignore_ascii_case(&issue.status))).collect()
}

/// `POST /issue/{key}/transitions`.
pub fn transition_issue(site: &mut SiteData, api: Api, actor: &str, id: u64, body: &Value) -> OpResult<()> {
    let issue = site.issues.get(&id).ok_or_else(OpError::issue_not_found)?;
    let tid = body
        .pointer("/transition/id")
        .and_then(|v| v.as_str().map(str::to_string).or_else(|| v.as_u64().map(|n| n.to_string())));
    let Some(tid) = tid else { return Err(OpError::message("Missing 'transition' identifier")) };
    let Some(t) = available_transitions(issue).into_iter().find(|t| t.id == tid) else {
        return Err(OpError::message(format!("Transition id '{tid}' is not valid for this issue.")));
    };
    let project = site.project(&issue.project).cloned();
    let ctx = WriteCtx {
        site,
        api,
        screen: Screen::Transition(t.required_fields),
        current: Some(issue),
        issuetype: &issue.issuetype,
        project: project.as_ref(),
    };
    let mut changes =
        parse_changes(&ctx, body.get("fields").and_then(Value::as_object), body.get("update")).map_err(invalid)?;
    let mut errors = FieldErrors::new();
    for f in t.required_fields {
        if !changes.iter().any(|(id, v)| id == f && v.is_some()) {
            let name = site.field(f).map(|d| d.name.clone()).unwrap_or_else(|| f.to_string());
            errors.insert(f.to_string(), format!("{name} is required."));
        }
    }
    if !errors.is_empty() {
        return Err(invalid(errors));
    }
    let old_status = issue.status.clone();
    if t.to == "To Do" {
        changes.push(("resolution".into(), None));
    }
    let mut items = vec![status_item(&old_status, t.to)];
    items.extend(apply(site, id, changes));
    if let Some(i) = site.issues.get_mut(&id) {
        i.status = t.to.to_string();
        i.resolution_date = i.fields.contains_key("resolution").then(Utc::now);
    }
    let history = record(site, id, actor, items);
    let type_name = match t.to {
        "Done" => "issue_resolved",
        "To Do" => "issue_reopened",
        "In Progress" if old_status == "To Do" => "issue_work_started",
        _ => "issue_generic",
    };
    let issue = site.issues.get(&id).ok_or_else(OpError::issue_not_found)?;
    Ok(((), vec![issue_event(site, "jira:issue_updated", type_name, actor, issue, history.as_ref())]))
}

fn status_item(from: &str, to: &str) -> ChangeItem {
    let id = |n: &str| status_def(n).map(|s| s.0.to_string());
    ChangeItem {
        field: "status".into(),
        field_id: "status".into(),
        custom: false,
        from: id(from),
        from_string: Some(from.to_string()),
        to: id(to),
        to_string: Some(to.to_string()),
    }
}

/// `DELETE /issue/{key}`: the issue, its links and comments go; webhooks
/// for the links and comments follow the issue's own.
pub fn delete_issue(site: &mut SiteData, actor: &str, id: u64, delete_subtasks: bool) -> OpResult<()> {
    let subtasks: Vec<u64> = site
        .issues
        .values()
        .filter(|i| matches!(i.fields.get("parent"), Some(FieldValue::Parent(p)) if *p == id))
        .filter(|i| issue_type_def(&i.issuetype).is_some_and(|t| t.2))
        .map(|i| i.id)
        .collect();
    if !subtasks.is_empty() && !delete_subtasks {
        return Err(OpError::message(
            "The issue has subtasks. Set deleteSubtasks=true to delete the issue and its subtasks.",
        ));
    }
    let mut events = Vec::new();
    for sub in subtasks {
        events.extend(delete_issue(site, actor, sub, false)?.1);
    }
    let issue = site.issues.get(&id).ok_or_else(OpError::issue_not_found)?;
    events.push(issue_event(site, "jira:issue_deleted", "issue_deleted", actor, issue, None));
    for c in &issue.comments {
        events.push(comment_event(site, "comment_deleted", actor, issue, c));
    }
    let links: Vec<u64> = site.links.values().filter(|l| l.source == id || l.destination == id).map(|l| l.id).collect();
    for l in links {
        if let Some(link) = site.links.remove(&l) {
            events.push(link_event(site, "issuelink_deleted", &link));
        }
    }
    site.issues.remove(&id);
    // As Jira does, the issues under a deleted parent (an epic's stories)
    // no longer have one.
    for issue in site.issues.values_mut() {
        issue.fields.retain(|_, v| !matches!(v, FieldValue::Parent(p) | FieldValue::EpicLink(p) if *p == id));
    }
    Ok(((), events))
}

/// `POST /issueLink`: `inwardIssue` becomes the link's source (it shows
/// the outward text, "blocks"), `outwardIssue` its destination.
pub fn create_link(site: &mut SiteData, actor: &str, body: &Value) -> OpResult<()> {
    let ty = body.get("type");
    let by_name = ty.and_then(|t| t.get("name")).and_then(Value::as_str);
    let by_id = ty.and_then(|t| t.get("id")).and_then(Value::as_str);
    let link_type = site
        .link_types
        .iter()
        .find(|t| by_name.is_some_and(|n| t.name.eq_ignore_ascii_case(n)) || by_id == Some(t.id.as_str()))
        .cloned();
    let Some(link_type) = link_type else {
        let n = by_name.or(by_id).unwrap_or_default();
        return Err(OpError::NotFound(format!("No issue link type with name '{n}' found.")));
    };
    let find = |k: &str| body.get(k).and_then(|i| i.get("key").or_else(|| i.get("id"))).and_then(Value::as_str);
    let source = find("inwardIssue").and_then(|k| site.issue_id(k));
    let destination = find("outwardIssue").and_then(|k| site.issue_id(k));
    let (Some(source), Some(destination)) = (source, destination) else { return Err(OpError::issue_not_found()) };
    let exists =
        site.links.values().any(|l| l.source == source && l.destination == destination && l.type_id == link_type.id);
    if exists {
        return Ok(((), vec![]));
    }
    let link = IssueLink { id: site.next_id(), type_id: link_type.id.clone(), source, destination };
    site.links.insert(link.id, link.clone());
    let mut events = vec![link_event(site, "issuelink_created", &link)];
    for (me, other, text) in [(source, destination, &link_type.outward), (destination, source, &link_type.inward)] {
        events.extend(link_history(site, actor, me, other, text, true));
    }
    Ok(((), events))
}

fn link_history(site: &mut SiteData, actor: &str, me: u64, other: u64, text: &str, added: bool) -> Option<Event> {
    let other_key = site.issues.get(&other).map(|i| i.key.clone())?;
    let s = Some(format!("This issue {text} {other_key}"));
    let (from, from_string, to, to_string) =
        if added { (None, None, Some(other_key), s) } else { (Some(other_key), s, None, None) };
    let item = ChangeItem {
        field: "Link".into(),
        field_id: "issuelinks".into(),
        custom: false,
        from,
        from_string,
        to,
        to_string,
    };
    let history = record(site, me, actor, vec![item]);
    let issue = site.issues.get(&me)?;
    Some(issue_event(site, "jira:issue_updated", "issue_generic", actor, issue, history.as_ref()))
}

/// `DELETE /issueLink/{id}`.
pub fn delete_link(site: &mut SiteData, actor: &str, link_id: u64) -> OpResult<()> {
    let link = site
        .links
        .remove(&link_id)
        .ok_or_else(|| OpError::NotFound(format!("No issue link with id '{link_id}' exists.")))?;
    let ty = site.link_type(&link.type_id).cloned();
    let mut events = vec![link_event(site, "issuelink_deleted", &link)];
    if let Some(t) = ty {
        events.extend(link_history(site, actor, link.source, link.destination, &t.outward, false));
        events.extend(link_history(site, actor, link.destination, link.source, &t.inward, false));
    }
    Ok(((), events))
}

fn comment_body(api: Api, body: &Value) -> Result<Doc, OpError> {
    let b = body
        .get("body")
        .ok_or_else(|| invalid([("comment".to_string(), "Comment body can not be empty!".to_string())].into()))?;
    let doc = match (api, b) {
        (Api::V3, Value::Object(_)) => Doc::from_adf(b),
        (Api::V2, Value::String(s)) => Doc::from_wiki(s),
        (Api::V3, _) => return Err(OpError::message("Comment body must be an Atlassian Document")),
        (Api::V2, _) => return Err(OpError::message("Comment body must be a string")),
    };
    if doc.is_empty() {
        return Err(invalid([("comment".to_string(), "Comment body can not be empty!".to_string())].into()));
    }
    Ok(doc)
}

fn comment_events(
    site: &mut SiteData,
    id: u64,
    actor: &str,
    cid: u64,
    name: &'static str,
    type_name: &str,
) -> Vec<Event> {
    record(site, id, actor, vec![]);
    let Some(issue) = site.issues.get(&id) else { return vec![] };
    let c = issue.comments.iter().find(|c| c.id == cid).cloned().unwrap_or(Comment {
        id: cid,
        author: actor.into(),
        update_author: actor.into(),
        body: Doc::default(),
        created: Utc::now(),
        updated: Utc::now(),
    });
    let mut updated = issue_event(site, "jira:issue_updated", type_name, actor, issue, None);
    if let Value::Object(m) = &mut updated.body {
        m.insert("comment".into(), site_view(site).comment(issue, &c));
    }
    vec![comment_event(site, name, actor, issue, &c), updated]
}

/// `POST /issue/{key}/comment`: returns the comment id.
pub fn add_comment(site: &mut SiteData, api: Api, actor: &str, id: u64, body: &Value) -> OpResult<u64> {
    let doc = comment_body(api, body)?;
    let cid = site.next_id();
    let now = Utc::now();
    let issue = site.issues.get_mut(&id).ok_or_else(OpError::issue_not_found)?;
    issue.comments.push(Comment {
        id: cid,
        author: actor.into(),
        update_author: actor.into(),
        body: doc,
        created: now,
        updated: now,
    });
    Ok((cid, comment_events(site, id, actor, cid, "comment_created", "issue_commented")))
}

/// `PUT /issue/{key}/comment/{id}`.
pub fn update_comment(site: &mut SiteData, api: Api, actor: &str, id: u64, cid: u64, body: &Value) -> OpResult<()> {
    let doc = comment_body(api, body)?;
    let issue = site.issues.get_mut(&id).ok_or_else(OpError::issue_not_found)?;
    let c = issue
        .comments
        .iter_mut()
        .find(|c| c.id == cid)
        .ok_or_else(|| OpError::NotFound(format!("Can not find a comment for the id: {cid}.")))?;
    c.body = doc;
    c.update_author = actor.into();
    c.updated = Utc::now();
    Ok(((), comment_events(site, id, actor, cid, "comment_updated", "issue_comment_edited")))
}

/// `DELETE /issue/{key}/comment/{id}`.
pub fn delete_comment(site: &mut SiteData, actor: &str, id: u64, cid: u64) -> OpResult<()> {
    let issue = site.issues.get(&id).ok_or_else(OpError::issue_not_found)?;
    let c = issue
        .comments
        .iter()
        .find(|c| c.id == cid)
        .cloned()
        .ok_or_else(|| OpError::NotFound(format!("Can not find a comment for the id: {cid}.")))?;
    let deleted = comment_event(site, "comment_deleted", actor, issue, &c);
    if let Some(i) = site.issues.get_mut(&id) {
        i.comments.retain(|x| x.id != cid);
    }
    record(site, id, actor, vec![]);
    let issue = site.issues.get(&id).ok_or_else(OpError::issue_not_found)?;
    let updated = issue_event(site, "jira:issue_updated", "issue_comment_deleted", actor, issue, None);
    Ok(((), vec![deleted, updated]))
}

/// `POST /issue/{key}/remotelink`: upsert by `globalId`. Returns the link
/// id and whether it was created.
pub fn upsert_remote_link(site: &mut SiteData, id: u64, body: &Value) -> Result<(u64, bool), OpError> {
    if body.pointer("/object/url").and_then(Value::as_str).is_none()
        || body.pointer("/object/title").and_then(Value::as_str).is_none()
    {
        return Err(invalid(
            [("object".to_string(), "'object' with 'url' and 'title' is required.".to_string())].into(),
        ));
    }
    let global_id = body.get("globalId").and_then(Value::as_str).map(str::to_string);
    let new_id = site.next_id();
    let issue = site.issues.get_mut(&id).ok_or_else(OpError::issue_not_found)?;
    if let Some(existing) = issue.remote_links.iter_mut().find(|r| global_id.is_some() && r.global_id == global_id) {
        existing.body = body.clone();
        return Ok((existing.id, false));
    }
    issue.remote_links.push(RemoteLink { id: new_id, global_id, body: body.clone() });
    Ok((new_id, true))
}
