//! Parsing the `fields` / `update` of a create, edit or transition request
//! into new field values, with Jira's per-field error messages.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{Map, Value};

use super::model::*;
use super::render::Api;
use crate::config::Flavour;
use crate::jira::richtext::Doc;

/// Field id -> Jira's message, as in an `ErrorCollection`'s `errors`.
pub type FieldErrors = BTreeMap<String, String>;

/// A field's new value; `None` clears it.
pub type Change = (String, Option<FieldValue>);

/// What kind of write the fields belong to; decides which fields are allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen<'a> {
    Create,
    Edit,
    /// A transition screen with these fields.
    Transition(&'a [&'a str]),
}

pub struct WriteCtx<'a> {
    pub site: &'a SiteData,
    pub api: Api,
    pub screen: Screen<'a>,
    /// The issue being edited (None on create).
    pub current: Option<&'a Issue>,
    /// Issue type of the issue being created or edited.
    pub issuetype: &'a str,
    pub project: Option<&'a Project>,
}

pub fn not_settable(id: &str) -> String {
    format!("Field '{id}' cannot be set. It is not on the appropriate screen, or unknown.")
}

/// Parses `fields` and `update` into changes, or Jira's field errors.
pub fn parse_changes(
    ctx: &WriteCtx,
    fields: Option<&Map<String, Value>>,
    update: Option<&Value>,
) -> Result<Vec<Change>, FieldErrors> {
    let mut errors = FieldErrors::new();
    let mut out: Vec<Change> = Vec::new();
    // project and issuetype are read by the create path itself.
    let skip = |id: &str| matches!(id, "project" | "issuetype") && ctx.screen == Screen::Create;
    for (id, value) in fields.into_iter().flatten() {
        if skip(id) {
            continue;
        }
        match settable(ctx, id) {
            Err(e) => {
                errors.insert(id.clone(), e);
            }
            Ok(def) => match parse_value(ctx, def, value) {
                Ok(v) => out.push((def.id.clone(), v)),
                Err(e) => {
                    errors.insert(id.clone(), e);
                }
            },
        }
    }
    if let Some(update) = update {
        let Some(update) = update.as_object() else {
            errors.insert("update".into(), "Operation value must be an object".into());
            return Err(errors);
        };
        for (id, ops) in update {
            if fields.is_some_and(|f| f.contains_key(id)) {
                errors.insert(id.clone(), format!("Field '{id}' cannot be set in both 'fields' and 'update'."));
                continue;
            }
            let def = match settable(ctx, id) {
                Ok(d) => d,
                Err(e) => {
                    errors.insert(id.clone(), e);
                    continue;
                }
            };
            match apply_ops(ctx, def, ops) {
                Ok(v) => out.push((def.id.clone(), v)),
                Err(e) => {
                    errors.insert(id.clone(), e);
                }
            }
        }
    }
    if errors.is_empty() { Ok(out) } else { Err(errors) }
}

fn settable<'a>(ctx: &WriteCtx<'a>, id: &str) -> Result<&'a FieldDef, String> {
    let def = ctx.site.field(id).ok_or_else(|| not_settable(id))?;
    let allowed = match ctx.screen {
        Screen::Create | Screen::Edit => def.on_screen,
        Screen::Transition(screen) => screen.contains(&def.id.as_str()) || def.id == "comment",
    };
    let flavour_ok = !(def.kind == FieldKind::Parent
        && ctx.site.flavour == Flavour::DataCenter
        && !issue_type_def(ctx.issuetype).is_some_and(|t| t.2));
    if allowed && flavour_ok && !matches!(def.kind, FieldKind::System | FieldKind::Status) {
        Ok(def)
    } else {
        Err(not_settable(id))
    }
}

/// The `update` verbs: set, add, remove (edit is treated as set).
fn apply_ops(ctx: &WriteCtx, def: &FieldDef, ops: &Value) -> Result<Option<FieldValue>, String> {
    let ops = ops.as_array().ok_or("Operation value must be an array of operations")?;
    let mut current = ctx.current.and_then(|i| i.fields.get(&def.id).cloned());
    for op in ops {
        let obj = op.as_object().filter(|o| o.len() == 1).ok_or("Each operation must be an object with one verb")?;
        let Some((verb, arg)) = obj.iter().next() else { continue };
        current = match verb.as_str() {
            "set" | "edit" => parse_value(ctx, def, arg)?,
            "add" | "remove" => add_remove(ctx, def, current, verb == "add", arg)?,
            other => return Err(format!("Operation '{other}' is not supported for field {}", def.id)),
        };
    }
    Ok(current)
}

fn add_remove(
    ctx: &WriteCtx,
    def: &FieldDef,
    current: Option<FieldValue>,
    add: bool,
    arg: &Value,
) -> Result<Option<FieldValue>, String> {
    let wrapped = Value::Array(vec![arg.clone()]);
    let item = parse_value(ctx, def, &wrapped)?;
    let (mut list, new) = match (current, item) {
        (Some(FieldValue::Labels(l)), Some(FieldValue::Labels(n))) => (l, n),
        (None, Some(FieldValue::Labels(n))) => (vec![], n),
        (Some(FieldValue::Components(l)), Some(FieldValue::Components(n))) => (l, n),
        (None, Some(FieldValue::Components(n))) => (vec![], n),
        (Some(FieldValue::MultiSelect(l)), Some(FieldValue::MultiSelect(n))) => (l, n),
        (None, Some(FieldValue::MultiSelect(n))) => (vec![], n),
        _ => {
            return Err(format!(
                "Operation '{}' is not supported for field {}",
                if add { "add" } else { "remove" },
                def.id
            ));
        }
    };
    for n in new {
        if add && !list.contains(&n) {
            list.push(n);
        } else if !add {
            list.retain(|x| x != &n);
        }
    }
    Ok(Some(match def.kind {
        FieldKind::Labels => FieldValue::Labels(list),
        FieldKind::Components => FieldValue::Components(list),
        _ => FieldValue::MultiSelect(list),
    }))
}

fn name_or_id(v: &Value) -> Option<&str> {
    v.get("name").or_else(|| v.get("id")).or_else(|| v.get("value")).and_then(Value::as_str)
}

/// One JSON value in the write shape of `def`'s kind.
pub fn parse_value(ctx: &WriteCtx, def: &FieldDef, v: &Value) -> Result<Option<FieldValue>, String> {
    if v.is_null() {
        return if def.kind == FieldKind::Text && def.id == "summary" {
            Err("You must specify a summary of the issue.".into())
        } else {
            Ok(None)
        };
    }
    let value = match def.kind {
        FieldKind::Text => {
            let s = v.as_str().ok_or("Operation value must be a string")?;
            if def.id == "summary" {
                if s.trim().is_empty() {
                    return Err("You must specify a summary of the issue.".into());
                }
                if s.chars().count() > 255 {
                    return Err("Summary must be less than 255 characters.".into());
                }
            }
            FieldValue::Text(s.to_string())
        }
        FieldKind::RichText => FieldValue::Rich(rich_text(ctx.api, v)?),
        FieldKind::Number => FieldValue::Number(v.as_f64().ok_or("Operation value must be a number")?),
        FieldKind::Date => {
            let s = v.as_str().unwrap_or_default();
            let d = NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| format!("Error parsing date string: {s}"))?;
            FieldValue::Date(d)
        }
        FieldKind::DateTime => {
            let s = v.as_str().unwrap_or_default();
            let t = DateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f%z")
                .map_err(|_| format!("Error parsing time: {s}"))?;
            FieldValue::DateTime(t.with_timezone(&Utc))
        }
        FieldKind::Select => FieldValue::Select(option_id(def, v)?),
        FieldKind::MultiSelect => {
            let items = v.as_array().ok_or("Operation value must be an array")?;
            FieldValue::MultiSelect(items.iter().map(|i| option_id(def, i)).collect::<Result<_, _>>()?)
        }
        FieldKind::Labels => FieldValue::Labels(labels(v)?),
        FieldKind::Components => FieldValue::Components(components(ctx, v)?),
        FieldKind::Priority => {
            let n = name_or_id(v).ok_or("Specify the Priority (id or name)")?;
            FieldValue::Priority(priority_def(n).ok_or(format!("Priority name '{n}' is not valid"))?.0.to_string())
        }
        FieldKind::Resolution => {
            let n = name_or_id(v).ok_or("Specify the Resolution (id or name)")?;
            FieldValue::Resolution(
                resolution_def(n).ok_or(format!("Resolution name '{n}' is not valid"))?.0.to_string(),
            )
        }
        FieldKind::User => FieldValue::User(user(ctx.site, v)?),
        FieldKind::Parent => FieldValue::Parent(parent(ctx, v)?),
        FieldKind::EpicLink => FieldValue::EpicLink(epic(ctx.site, v)?),
        FieldKind::IssueType | FieldKind::Project | FieldKind::Status | FieldKind::System => {
            return Err(not_settable(&def.id));
        }
    };
    Ok(Some(value))
}

fn rich_text(api: Api, v: &Value) -> Result<Doc, String> {
    match (api, v) {
        (Api::V3, Value::Object(o)) if o.get("type").and_then(Value::as_str) == Some("doc") => Ok(Doc::from_adf(v)),
        (Api::V3, _) => Err("Operation value must be an Atlassian Document (see the Atlassian Document Format)".into()),
        (Api::V2, Value::String(s)) => Ok(Doc::from_wiki(s)),
        (Api::V2, _) => Err("Operation value must be a string".into()),
    }
}

fn option_id(def: &FieldDef, v: &Value) -> Result<String, String> {
    let wanted = v.get("value").or_else(|| v.get("id")).and_then(Value::as_str).unwrap_or_default();
    def.options
        .iter()
        .find(|(id, value)| id == wanted || value == wanted)
        .map(|(id, _)| id.clone())
        .ok_or_else(|| format!("Option value '{wanted}' is not valid for field {}", def.name))
}

fn labels(v: &Value) -> Result<Vec<String>, String> {
    let items = v.as_array().ok_or("Operation value must be an array of strings")?;
    let mut out = Vec::new();
    for i in items {
        let l = i.as_str().ok_or("Operation value must be a string")?;
        if l.contains(char::is_whitespace) {
            return Err(format!("The label '{l}' contains spaces which is invalid."));
        }
        if !out.iter().any(|x| x == l) {
            out.push(l.to_string());
        }
    }
    Ok(out)
}

fn components(ctx: &WriteCtx, v: &Value) -> Result<Vec<String>, String> {
    let items = v.as_array().ok_or("Operation value must be an array")?;
    let known: Vec<&(String, String)> = ctx.project.map(|p| p.components.iter().collect()).unwrap_or_default();
    items
        .iter()
        .map(|i| {
            let n = name_or_id(i).unwrap_or_default();
            known
                .iter()
                .find(|(id, name)| id == n || name == n)
                .map(|(id, _)| id.clone())
                .ok_or_else(|| format!("Component name '{n}' is not valid"))
        })
        .collect()
}

fn user(site: &SiteData, v: &Value) -> Result<String, String> {
    let found = match site.flavour {
        Flavour::Cloud => {
            let id = v.get("accountId").and_then(Value::as_str).unwrap_or_default();
            site.users.iter().find(|u| u.account_id == id)
        }
        Flavour::DataCenter => {
            let n = v.get("name").or_else(|| v.get("key")).and_then(Value::as_str).unwrap_or_default();
            site.users.iter().find(|u| u.login == n || u.key == n)
        }
    };
    found.map(|u| u.login.clone()).ok_or_else(|| match site.flavour {
        Flavour::Cloud => "Specified user does not exist or you do not have required permissions".to_string(),
        Flavour::DataCenter => format!("User '{}' does not exist.", name_or_id(v).unwrap_or_default()),
    })
}

fn issue_ref(site: &SiteData, v: &Value) -> Option<u64> {
    let s = v.get("key").or_else(|| v.get("id")).and_then(Value::as_str)?;
    site.issue_id(s)
}

fn parent(ctx: &WriteCtx, v: &Value) -> Result<u64, String> {
    let id = issue_ref(ctx.site, v).ok_or("Could not find valid parent issue.")?;
    let parent = ctx.site.issues.get(&id).ok_or("Could not find valid parent issue.")?;
    let child_level = issue_type_def(ctx.issuetype).map(|t| t.3).unwrap_or(0);
    let parent_level = issue_type_def(&parent.issuetype).map(|t| t.3).unwrap_or(0);
    if ctx.current.is_some_and(|c| c.id == id) || parent_level != child_level + 1 {
        return Err("Given parent work item does not belong to appropriate hierarchy.".into());
    }
    Ok(id)
}

fn epic(site: &SiteData, v: &Value) -> Result<u64, String> {
    let key = v.as_str().ok_or("Operation value must be an issue key")?;
    let id = site.issue_id(key).ok_or(format!("Issue '{key}' does not exist."))?;
    match site.issues.get(&id) {
        Some(i) if i.issuetype == "Epic" => Ok(id),
        _ => Err(format!("Issue '{key}' is not an Epic.")),
    }
}
