//! Issues: create, get, edit, delete, transitions, properties.

use std::sync::Arc;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::{
    Caller, Params, body_json, error, holds, json, op_error, param, params, prepare_write, require, require_in,
    visible_issue,
};
use crate::sim::ops::{self, OpError};
use crate::sim::render::{Api, FieldFilter, View};
use crate::sim::state::Site;

/// Resolves `{issueIdOrKey}` to an issue the caller may see, or answers
/// Jira's 404.
pub fn issue_id(site: &Site, caller: &Caller, key: &str) -> Result<u64, Response> {
    visible_issue(site, caller, key).map(|(id, _)| id)
}

/// The project a create body names, if it exists.
fn body_project(site: &Site, body: &Value) -> Option<String> {
    let p = body.pointer("/fields/project")?;
    let key = p.get("key").or_else(|| p.get("id")).and_then(Value::as_str)?;
    site.data().project(key).map(|p| p.key.clone())
}

pub async fn create(
    State(site): State<Arc<Site>>,
    Extension(caller): Extension<Caller>,
    Extension(api): Extension<Api>,
    body: Bytes,
) -> Response {
    if let Err(r) = require(&site, &caller, "CREATE_ISSUES", "create issues in this project") {
        return r;
    }
    let body = match body_json(&body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    if let Some(project) = body_project(&site, &body) {
        // A project the caller cannot see is no valid project to them.
        if !holds(&site, &caller, "BROWSE_PROJECTS", &project) {
            let errors = json!({"project": "Specify a valid project ID or key"});
            return json(StatusCode::BAD_REQUEST, json!({"errorMessages": [], "errors": errors}));
        }
        if let Err(r) = require_in(&site, &caller, "CREATE_ISSUES", "create issues in this project", &project) {
            return r;
        }
    }
    match site.mutate(|d| ops::create_issue(d, api, &caller.login, &body)) {
        Ok(id) => {
            let data = site.data();
            let key = data.issues.get(&id).map(|i| i.key.clone()).unwrap_or_default();
            let url = format!("{}/rest/api/{}/issue/{id}", data.base_url, api.path());
            json(StatusCode::CREATED, json!({"id": id.to_string(), "key": key, "self": url}))
        }
        Err(e) => op_error(e),
    }
}

pub async fn get(
    State(site): State<Arc<Site>>,
    Extension(caller): Extension<Caller>,
    Extension(api): Extension<Api>,
    Path(key): Path<String>,
    q: Params,
) -> Response {
    let id = match issue_id(&site, &caller, &key) {
        Ok(id) => id,
        Err(r) => return r,
    };
    let filter = FieldFilter::parse(&params(&q, "fields"), FieldFilter::All);
    let expand: Vec<String> =
        params(&q, "expand").iter().flat_map(|e| e.split(',')).map(|s| s.trim().to_string()).collect();
    let data = site.data();
    let Some(issue) = data.issues.get(&id) else { return op_error(OpError::issue_not_found()) };
    json(StatusCode::OK, View::new(&data, api, caller.tz).issue(issue, &filter, &expand))
}

pub async fn edit(
    State(site): State<Arc<Site>>,
    Extension(caller): Extension<Caller>,
    Extension(api): Extension<Api>,
    Path(key): Path<String>,
    q: Params,
    body: Bytes,
) -> Response {
    let (id, body) = match prepare_write(&site, &caller, "EDIT_ISSUES", "edit this issue", &key, &body) {
        Ok(x) => x,
        Err(r) => return r,
    };
    if let Err(e) = site.mutate(|d| ops::edit_issue(d, api, &caller.login, id, &body)) {
        return op_error(e);
    }
    if param(&q, "returnIssue") == Some("true") {
        let data = site.data();
        if let Some(issue) = data.issues.get(&id) {
            return json(StatusCode::OK, View::new(&data, api, caller.tz).issue(issue, &FieldFilter::All, &[]));
        }
    }
    StatusCode::NO_CONTENT.into_response()
}

pub async fn delete(
    State(site): State<Arc<Site>>,
    Extension(caller): Extension<Caller>,
    Path(key): Path<String>,
    q: Params,
) -> Response {
    let id = match visible_issue(&site, &caller, &key) {
        Ok((id, project)) => match require_in(&site, &caller, "DELETE_ISSUES", "delete this issue", &project) {
            Ok(()) => id,
            Err(r) => return r,
        },
        Err(r) => return r,
    };
    let subtasks = param(&q, "deleteSubtasks") == Some("true");
    match site.mutate(|d| ops::delete_issue(d, &caller.login, id, subtasks)) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => op_error(e),
    }
}

pub async fn transitions(
    State(site): State<Arc<Site>>,
    Extension(caller): Extension<Caller>,
    Extension(api): Extension<Api>,
    Path(key): Path<String>,
    q: Params,
) -> Response {
    let id = match issue_id(&site, &caller, &key) {
        Ok(id) => id,
        Err(r) => return r,
    };
    let with_fields = params(&q, "expand").iter().any(|e| e.contains("transitions.fields"));
    let data = site.data();
    let Some(issue) = data.issues.get(&id) else { return op_error(OpError::issue_not_found()) };
    let allowed = data
        .user(&caller.login)
        .is_some_and(|u| crate::sim::auth::has_permission_in(u, "TRANSITION_ISSUES", &issue.project));
    let view = View::new(&data, api, caller.tz);
    let list: Vec<Value> = if allowed {
        ops::available_transitions(issue)
            .into_iter()
            .map(|t| {
                let mut v = json!({
                    "id": t.id, "name": t.name, "to": view.status(t.to),
                    "hasScreen": !t.required_fields.is_empty(), "isGlobal": false, "isInitial": false,
                    "isAvailable": true, "isConditional": false, "isLooped": false,
                });
                if with_fields {
                    let fields: serde_json::Map<String, Value> = t
                        .required_fields
                        .iter()
                        .filter_map(|f| data.field(f))
                        .map(|f| (f.id.clone(), crate::sim::http::meta::field_meta(&view, f, true, false)))
                        .collect();
                    v["fields"] = Value::Object(fields);
                }
                v
            })
            .collect()
    } else {
        vec![]
    };
    json(StatusCode::OK, json!({"expand": "transitions", "transitions": list}))
}

pub async fn transition(
    State(site): State<Arc<Site>>,
    Extension(caller): Extension<Caller>,
    Extension(api): Extension<Api>,
    Path(key): Path<String>,
    body: Bytes,
) -> Response {
    let (id, body) = match prepare_write(&site, &caller, "TRANSITION_ISSUES", "transition this issue", &key, &body) {
        Ok(x) => x,
        Err(r) => return r,
    };
    match site.mutate(|d| ops::transition_issue(d, api, &caller.login, id, &body)) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => op_error(e),
    }
}

pub async fn property_keys(
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
    let keys: Vec<Value> = issue
        .properties
        .keys()
        .map(|k| json!({"self": format!("{}/rest/api/{}/issue/{id}/properties/{k}", data.base_url, api.path()), "key": k}))
        .collect();
    json(StatusCode::OK, json!({"keys": keys}))
}

pub async fn property_get(
    State(site): State<Arc<Site>>,
    Extension(caller): Extension<Caller>,
    Path((key, prop)): Path<(String, String)>,
) -> Response {
    let id = match issue_id(&site, &caller, &key) {
        Ok(id) => id,
        Err(r) => return r,
    };
    let data = site.data();
    match data.issues.get(&id).and_then(|i| i.properties.get(&prop)) {
        Some(v) => json(StatusCode::OK, json!({"key": prop, "value": v})),
        None => error(StatusCode::NOT_FOUND, &format!("The property with key '{prop}' does not exist.")),
    }
}

pub async fn property_set(
    State(site): State<Arc<Site>>,
    Extension(caller): Extension<Caller>,
    Path((key, prop)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let (id, value) = match prepare_write(&site, &caller, "EDIT_ISSUES", "edit this issue", &key, &body) {
        Ok(x) => x,
        Err(r) => return r,
    };
    let mut data = site.data();
    let Some(issue) = data.issues.get_mut(&id) else { return op_error(OpError::issue_not_found()) };
    match issue.properties.insert(prop, value) {
        None => StatusCode::CREATED.into_response(),
        Some(_) => StatusCode::OK.into_response(),
    }
}

pub async fn property_delete(
    State(site): State<Arc<Site>>,
    Extension(caller): Extension<Caller>,
    Path((key, prop)): Path<(String, String)>,
) -> Response {
    let id = match visible_issue(&site, &caller, &key) {
        Ok((id, project)) => match require_in(&site, &caller, "EDIT_ISSUES", "edit this issue", &project) {
            Ok(()) => id,
            Err(r) => return r,
        },
        Err(r) => return r,
    };
    let mut data = site.data();
    match data.issues.get_mut(&id).and_then(|i| i.properties.remove(&prop)) {
        Some(_) => StatusCode::NO_CONTENT.into_response(),
        None => error(StatusCode::NOT_FOUND, &format!("The property with key '{prop}' does not exist.")),
    }
}
