//! Metadata: myself, serverInfo, fields, create/edit metadata, projects,
//! statuses, priorities, resolutions, link types, permissions.

use std::sync::Arc;

use axum::Extension;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Map, Value, json};

use super::issues::issue_id;
use super::{Caller, Params, error, json, op_error, param, visible_issue};
use crate::config::Flavour;
use crate::sim::model::*;
use crate::sim::ops::OpError;
use crate::sim::render::{Api, View};
use crate::sim::state::Site;

const CF: &str = "com.atlassian.jira.plugin.system.customfieldtypes:";

/// A field's `schema` (`JsonTypeBean`).
pub fn schema(def: &FieldDef) -> Value {
    let (ty, items, custom) = match def.kind {
        FieldKind::Text => ("string", None, "textfield"),
        FieldKind::RichText => ("string", None, "textarea"),
        FieldKind::Number => ("number", None, "float"),
        FieldKind::Date => ("date", None, "datepicker"),
        FieldKind::DateTime => ("datetime", None, "datetime"),
        FieldKind::Select => ("option", None, "select"),
        FieldKind::MultiSelect => ("array", Some("option"), "multiselect"),
        FieldKind::Labels => ("array", Some("string"), "labels"),
        FieldKind::Components => ("array", Some("component"), ""),
        FieldKind::Priority => ("priority", None, ""),
        FieldKind::User => ("user", None, "userpicker"),
        FieldKind::Resolution => ("resolution", None, ""),
        FieldKind::Parent => ("issuelink", None, ""),
        FieldKind::EpicLink => ("any", None, ""),
        FieldKind::IssueType => ("issuetype", None, ""),
        FieldKind::Project => ("project", None, ""),
        FieldKind::Status => ("status", None, ""),
        FieldKind::System => match def.id.as_str() {
            "created" | "updated" | "resolutiondate" => ("datetime", None, ""),
            "creator" | "reporter" => ("user", None, ""),
            "issuelinks" | "subtasks" => ("array", Some("issuelinks"), ""),
            "comment" => ("comments-page", None, ""),
            "watches" => ("watches", None, ""),
            _ => ("any", None, ""),
        },
    };
    let mut s = json!({"type": ty});
    if let Some(i) = items {
        s["items"] = json!(i);
    }
    if def.kind == FieldKind::EpicLink {
        s["custom"] = json!("com.pyxis.greenhopper.jira:gh-epic-link");
        s["customId"] = json!(def.custom_id());
    } else if def.custom {
        s["custom"] = json!(format!("{CF}{custom}"));
        s["customId"] = json!(def.custom_id());
    } else {
        s["system"] = json!(def.id);
    }
    s
}

fn operations(def: &FieldDef) -> Vec<&'static str> {
    match def.kind {
        FieldKind::Labels | FieldKind::Components | FieldKind::MultiSelect => vec!["add", "set", "remove"],
        FieldKind::IssueType | FieldKind::Project => vec![],
        _ => vec!["set"],
    }
}

fn allowed_values(view: &View, def: &FieldDef, project: Option<&Project>) -> Option<Value> {
    let base = format!("{}/rest/api/{}", view.site.base_url, view.api.path());
    Some(match def.kind {
        FieldKind::Select | FieldKind::MultiSelect => def
            .options
            .iter()
            .map(|(id, v)| json!({"self": format!("{base}/customFieldOption/{id}"), "value": v, "id": id}))
            .collect(),
        FieldKind::Priority => PRIORITIES.iter().map(|p| view.priority(p.0)).collect(),
        FieldKind::Resolution => RESOLUTIONS.iter().map(|r| view.resolution(r.0)).collect(),
        FieldKind::IssueType => ISSUE_TYPES.iter().map(|t| view.issue_type(t.1)).collect(),
        FieldKind::Project => project.map(|p| vec![view.project_ref(p)]).unwrap_or_default().into(),
        FieldKind::Components => project
            .map(|p| p.components.iter().map(|(id, n)| view.component(id, n)).collect::<Vec<_>>())
            .unwrap_or_default()
            .into(),
        _ => return None,
    })
}

/// A field entry of createmeta, editmeta or a transition screen.
pub fn field_meta(view: &View, def: &FieldDef, required: bool, with_field_id: bool) -> Value {
    let mut v = json!({
        "required": required,
        "schema": schema(def),
        "name": def.name,
        "key": def.id,
        "hasDefaultValue": false,
        "operations": operations(def),
    });
    if with_field_id {
        v["fieldId"] = json!(def.id);
    }
    if let Some(a) = allowed_values(view, def, None) {
        v["allowedValues"] = a;
    }
    if def.kind == FieldKind::User {
        v["autoCompleteUrl"] = json!(format!("{}/rest/api/{}/user/search?query=", view.site.base_url, view.api.path()));
    }
    if def.kind == FieldKind::Labels {
        v["autoCompleteUrl"] = json!(format!("{}/rest/api/1.0/labels/suggest?query=", view.site.base_url));
    }
    v
}

pub async fn myself(
    State(site): State<Arc<Site>>,
    Extension(caller): Extension<Caller>,
    Extension(api): Extension<Api>,
) -> Response {
    let data = site.data();
    json(StatusCode::OK, View::new(&data, api, caller.tz).myself(&caller.login))
}

pub async fn server_info(State(site): State<Arc<Site>>, Extension(caller): Extension<Caller>) -> Response {
    let data = site.data();
    let now = crate::sim::render::timestamp(chrono::Utc::now(), caller.tz);
    let (version, numbers, deployment) = match data.flavour {
        Flavour::Cloud => ("1001.0.0-SNAPSHOT", json!([1001, 0, 0]), "Cloud"),
        Flavour::DataCenter => ("10.3.4", json!([10, 3, 4]), "Server"),
    };
    let mut v = json!({
        "baseUrl": data.base_url,
        "version": version,
        "versionNumbers": numbers,
        "deploymentType": deployment,
        "buildNumber": 100_289,
        "buildDate": "2026-01-01T00:00:00.000+0000",
        "serverTime": now,
        "scmInfo": "jirafed-simulator",
        "serverTitle": format!("{} (jirafed simulator)", data.name),
        "defaultLocale": {"locale": "en_US"},
    });
    if data.flavour == Flavour::DataCenter {
        v["databaseBuildNumber"] = json!(100_289);
    }
    json(StatusCode::OK, v)
}

pub async fn fields(State(site): State<Arc<Site>>) -> Response {
    let data = site.data();
    let list: Vec<Value> = data
        .fields
        .iter()
        .map(|f| {
            let mut names = vec![f.id.clone()];
            if f.custom {
                names.push(f.name.clone());
                if let Some(n) = f.custom_id() {
                    names.push(format!("cf[{n}]"));
                }
            }
            json!({
                "id": f.id, "key": f.id, "name": f.name, "custom": f.custom,
                "orderable": f.on_screen, "navigable": true, "searchable": true,
                "clauseNames": names, "schema": schema(f),
            })
        })
        .collect();
    json(StatusCode::OK, Value::Array(list))
}

/// The project `key` names, if the caller may browse it: Jira answers one
/// 404 for a project that does not exist and one the caller cannot see.
fn project_or_404(data: &SiteData, caller: &Caller, key: &str) -> Result<Project, Response> {
    let visible = |p: &&Project| data.user(&caller.login).is_some_and(|u| crate::sim::auth::can_browse(u, &p.key));
    data.project(key)
        .filter(visible)
        .cloned()
        .ok_or_else(|| error(StatusCode::NOT_FOUND, &format!("No project could be found with key '{key}'.")))
}

fn page_args(q: &Params) -> (usize, usize) {
    let start = param(q, "startAt").and_then(|s| s.parse().ok()).unwrap_or(0);
    let max = param(q, "maxResults").and_then(|s| s.parse().ok()).unwrap_or(50).clamp(1, 200);
    (start, max)
}

/// Cloud pages carry their items under `name`; Data Center under `values`.
fn page(flavour: Flavour, name: &str, items: Vec<Value>, start: usize, max: usize) -> Value {
    let total = items.len();
    let items: Vec<Value> = items.into_iter().skip(start).take(max).collect();
    let key = if flavour == Flavour::Cloud { name } else { "values" };
    let mut v = json!({"maxResults": max, "startAt": start, "total": total, key: items});
    if flavour == Flavour::DataCenter {
        v["isLast"] = json!(start + max >= total);
    }
    v
}

pub async fn createmeta_types(
    State(site): State<Arc<Site>>,
    Extension(caller): Extension<Caller>,
    Extension(api): Extension<Api>,
    Path(project): Path<String>,
    q: Params,
) -> Response {
    let data = site.data();
    if let Err(r) = project_or_404(&data, &caller, &project) {
        return r;
    }
    let view = View::new(&data, api, caller.tz);
    let types: Vec<Value> = ISSUE_TYPES.iter().map(|t| view.issue_type(t.1)).collect();
    let (start, max) = page_args(&q);
    json(StatusCode::OK, page(data.flavour, "issueTypes", types, start, max))
}

pub async fn createmeta_fields(
    State(site): State<Arc<Site>>,
    Extension(caller): Extension<Caller>,
    Extension(api): Extension<Api>,
    Path((project, type_id)): Path<(String, String)>,
    q: Params,
) -> Response {
    let data = site.data();
    let project = match project_or_404(&data, &caller, &project) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let Some((_, _, subtask, _)) = issue_type_def(&type_id) else {
        return error(StatusCode::NOT_FOUND, &format!("Issue type with id '{type_id}' does not exist."));
    };
    let view = View::new(&data, api, caller.tz);
    let fields: Vec<Value> = data
        .fields
        .iter()
        .filter(|f| f.on_screen && settable_for(data.flavour, f, subtask))
        .map(|f| {
            let mut v = field_meta(&view, f, f.required_on_create || (subtask && f.kind == FieldKind::Parent), true);
            if let Some(a) = allowed_values(&view, f, Some(&project)) {
                v["allowedValues"] = a;
            }
            v
        })
        .collect();
    let (start, max) = page_args(&q);
    json(StatusCode::OK, page(data.flavour, "fields", fields, start, max))
}

/// Data Center sets `parent` only on sub-tasks (epics use Epic Link).
fn settable_for(flavour: Flavour, f: &FieldDef, subtask: bool) -> bool {
    !(flavour == Flavour::DataCenter && f.kind == FieldKind::Parent && !subtask)
}

pub async fn editmeta(
    State(site): State<Arc<Site>>,
    Extension(caller): Extension<Caller>,
    Extension(api): Extension<Api>,
    Path(key): Path<String>,
) -> Response {
    let id = match issue_id(&site, &caller, &key) {
        Ok(id) => id,
        Err(r) => return r,
    };
    let data = site.data();
    let Some(issue) = data.issues.get(&id) else { return op_error(OpError::issue_not_found()) };
    let project = data.project(&issue.project).cloned();
    let subtask = issue_type_def(&issue.issuetype).is_some_and(|t| t.2);
    let view = View::new(&data, api, caller.tz);
    let can_edit =
        data.user(&caller.login).is_some_and(|u| crate::sim::auth::has_permission_in(u, "EDIT_ISSUES", &issue.project));
    let fields: Map<String, Value> = data
        .fields
        .iter()
        .filter(|f| {
            can_edit && f.on_screen && !matches!(f.kind, FieldKind::Project) && settable_for(data.flavour, f, subtask)
        })
        .map(|f| {
            let mut v = field_meta(&view, f, f.id == "summary" || f.id == "issuetype", false);
            if let Some(a) = allowed_values(&view, f, project.as_ref()) {
                v["allowedValues"] = a;
            }
            (f.id.clone(), v)
        })
        .collect();
    json(StatusCode::OK, json!({"fields": fields}))
}

pub async fn link_types(
    State(site): State<Arc<Site>>,
    Extension(caller): Extension<Caller>,
    Extension(api): Extension<Api>,
) -> Response {
    let data = site.data();
    let view = View::new(&data, api, caller.tz);
    let list: Vec<Value> = data.link_types.iter().map(|t| view.link_type(t)).collect();
    json(StatusCode::OK, json!({"issueLinkTypes": list}))
}

pub async fn project(
    State(site): State<Arc<Site>>,
    Extension(caller): Extension<Caller>,
    Extension(api): Extension<Api>,
    Path(key): Path<String>,
) -> Response {
    let data = site.data();
    match project_or_404(&data, &caller, &key) {
        Ok(p) => json(StatusCode::OK, View::new(&data, api, caller.tz).project(&p)),
        Err(r) => r,
    }
}

pub async fn statuses(
    State(site): State<Arc<Site>>,
    Extension(caller): Extension<Caller>,
    Extension(api): Extension<Api>,
) -> Response {
    let data = site.data();
    let view = View::new(&data, api, caller.tz);
    let workflow = STATUSES.iter().map(|s| view.status(s.1));
    let unused = data.unused_statuses.iter().map(|(id, name)| view.unused_status(id, name));
    json(StatusCode::OK, workflow.chain(unused).collect())
}

/// `GET /project/{key}/statuses`: each issue type with its workflow's
/// statuses; a project the caller cannot browse is a 404.
pub async fn project_statuses(
    State(site): State<Arc<Site>>,
    Extension(caller): Extension<Caller>,
    Extension(api): Extension<Api>,
    Path(key): Path<String>,
) -> Response {
    let data = site.data();
    if let Err(r) = project_or_404(&data, &caller, &key) {
        return r;
    }
    let view = View::new(&data, api, caller.tz);
    json(StatusCode::OK, ISSUE_TYPES.iter().map(|t| view.issue_type_statuses(t.1)).collect())
}

pub async fn priorities(
    State(site): State<Arc<Site>>,
    Extension(caller): Extension<Caller>,
    Extension(api): Extension<Api>,
) -> Response {
    let data = site.data();
    let view = View::new(&data, api, caller.tz);
    json(StatusCode::OK, PRIORITIES.iter().map(|p| view.priority(p.0)).collect())
}

pub async fn resolutions(
    State(site): State<Arc<Site>>,
    Extension(caller): Extension<Caller>,
    Extension(api): Extension<Api>,
) -> Response {
    let data = site.data();
    let view = View::new(&data, api, caller.tz);
    json(StatusCode::OK, RESOLUTIONS.iter().map(|r| view.resolution(r.0)).collect())
}

/// `GET /mypermissions`: Cloud requires `permissions`; Data Center lists all.
pub async fn my_permissions(
    State(site): State<Arc<Site>>,
    Extension(caller): Extension<Caller>,
    q: Params,
) -> Response {
    let data = site.data();
    let wanted: Option<Vec<String>> =
        param(&q, "permissions").map(|p| p.split(',').map(|s| s.trim().to_string()).collect());
    if data.flavour == Flavour::Cloud && wanted.is_none() {
        return error(StatusCode::BAD_REQUEST, "The permissions query parameter is required.");
    }
    if let Some(w) = &wanted {
        if let Some(bad) = w.iter().find(|k| !PERMISSIONS.iter().any(|p| p.1 == k.as_str())) {
            return error(StatusCode::BAD_REQUEST, &format!("Invalid permission key: {bad}"));
        }
    }
    drop(data);
    let project = match permission_context(&site, &caller, &q) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let data = site.data();
    let user = data.user(&caller.login);
    let perms: Map<String, Value> = PERMISSIONS
        .iter()
        .filter(|p| wanted.as_ref().is_none_or(|w| w.iter().any(|k| k == p.1)))
        .map(|(id, key, name)| {
            let have = user.is_some_and(|u| match &project {
                Some(p) => crate::sim::auth::has_permission_in(u, key, p),
                None => crate::sim::auth::has_permission(u, key),
            });
            (
                key.to_string(),
                json!({"id": id, "key": key, "name": name, "type": "PROJECT", "description": format!("Ability to {}.", name.to_lowercase()), "havePermission": have}),
            )
        })
        .collect();
    json(StatusCode::OK, json!({"permissions": perms}))
}

/// The project `mypermissions` answers for (`projectKey`/`projectId`, or the
/// project of `issueKey`/`issueId`), or none: the global context. A project
/// or issue the caller cannot see is a 404, as Jira answers.
fn permission_context(site: &Site, caller: &Caller, q: &Params) -> Result<Option<String>, Response> {
    if let Some(p) = param(q, "projectKey").or(param(q, "projectId")) {
        return project_or_404(&site.data(), caller, p).map(|p| Some(p.key));
    }
    match param(q, "issueKey").or(param(q, "issueId")) {
        Some(i) => visible_issue(site, caller, i).map(|(_, project)| Some(project)),
        None => Ok(None),
    }
}
