//! Issue links and remote links.

use std::sync::Arc;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::issues::issue_id;
use super::{
    Caller, Params, body_json, error, json, op_error, param, prepare_write, require, require_in, visible_issue,
};
use crate::sim::ops::{self, OpError};
use crate::sim::render::{Api, View};
use crate::sim::state::Site;

pub async fn create(State(site): State<Arc<Site>>, Extension(caller): Extension<Caller>, body: Bytes) -> Response {
    if let Err(r) = require(&site, &caller, "LINK_ISSUES", "link issues") {
        return r;
    }
    let body = match body_json(&body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    if let Err(r) = linkable(&site, &caller, &body) {
        return r;
    }
    match site.mutate(|d| ops::create_link(d, &caller.login, &body)) {
        Ok(()) => StatusCode::CREATED.into_response(),
        Err(e) => op_error(e),
    }
}

/// Both issues of a new link must be visible (404 otherwise, as Jira
/// answers), and the caller must hold LINK_ISSUES in the project of the
/// `outwardIssue`, the one Jira's documentation names.
fn linkable(site: &Site, caller: &Caller, body: &Value) -> Result<(), Response> {
    let named = |k: &str| body.get(k).and_then(|i| i.get("key").or_else(|| i.get("id"))).and_then(Value::as_str);
    let mut outward_project = None;
    for side in ["inwardIssue", "outwardIssue"] {
        // A missing side is the operation's own 404 or 400 to give.
        if let Some(key) = named(side) {
            let (_, project) = visible_issue(site, caller, key)?;
            if side == "outwardIssue" {
                outward_project = Some(project);
            }
        }
    }
    match outward_project {
        Some(p) => require_in(site, caller, "LINK_ISSUES", "link issues", &p),
        None => Ok(()),
    }
}

/// Whether the caller may see both ends of `link`.
fn sees_link(site: &Site, caller: &Caller, link: u64) -> bool {
    let ends = {
        let data = site.data();
        data.links.get(&link).map(|l| [l.source, l.destination])
    };
    ends.is_some_and(|ends| ends.iter().all(|id| visible_issue(site, caller, &id.to_string()).is_ok()))
}

fn link_not_found(id: &str) -> Response {
    error(StatusCode::NOT_FOUND, &format!("No issue link with id '{id}' exists."))
}

pub async fn get(
    State(site): State<Arc<Site>>,
    Extension(caller): Extension<Caller>,
    Extension(api): Extension<Api>,
    Path(id): Path<String>,
) -> Response {
    if !id.parse::<u64>().is_ok_and(|n| sees_link(&site, &caller, n)) {
        return link_not_found(&id);
    }
    let data = site.data();
    match id.parse::<u64>().ok().and_then(|n| data.links.get(&n)) {
        Some(l) => json(StatusCode::OK, View::new(&data, api, caller.tz).issue_link_full(l)),
        None => link_not_found(&id),
    }
}

pub async fn delete(
    State(site): State<Arc<Site>>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Response {
    if let Err(r) = require(&site, &caller, "LINK_ISSUES", "delete this link") {
        return r;
    }
    let Some(n) = id.parse::<u64>().ok().filter(|n| sees_link(&site, &caller, *n)) else {
        return link_not_found(&id);
    };
    match site.mutate(|d| ops::delete_link(d, &caller.login, n)) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => op_error(e),
    }
}

fn remote_json(base: &str, api: Api, issue: u64, r: &crate::sim::model::RemoteLink) -> Value {
    let mut v = r.body.clone();
    if let Value::Object(m) = &mut v {
        m.insert("id".into(), json!(r.id));
        m.insert("self".into(), json!(format!("{base}/rest/api/{}/issue/{issue}/remotelink/{}", api.path(), r.id)));
    }
    v
}

pub async fn remote_list(
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
    let data = site.data();
    let Some(issue) = data.issues.get(&id) else { return op_error(OpError::issue_not_found()) };
    let global = param(&q, "globalId");
    let list: Vec<Value> = issue
        .remote_links
        .iter()
        .filter(|r| global.is_none() || r.global_id.as_deref() == global)
        .map(|r| remote_json(&data.base_url, api, id, r))
        .collect();
    if global.is_some() {
        return match list.into_iter().next() {
            Some(one) => json(StatusCode::OK, one),
            None => error(StatusCode::NOT_FOUND, "No remote link with that globalId exists."),
        };
    }
    json(StatusCode::OK, Value::Array(list))
}

pub async fn remote_get(
    State(site): State<Arc<Site>>,
    Extension(caller): Extension<Caller>,
    Extension(api): Extension<Api>,
    Path((key, link)): Path<(String, String)>,
) -> Response {
    let id = match issue_id(&site, &caller, &key) {
        Ok(id) => id,
        Err(r) => return r,
    };
    let data = site.data();
    let found = data.issues.get(&id).and_then(|i| i.remote_links.iter().find(|r| r.id.to_string() == link));
    match found {
        Some(r) => json(StatusCode::OK, remote_json(&data.base_url, api, id, r)),
        None => error(StatusCode::NOT_FOUND, &format!("No remote link with id '{link}' exists.")),
    }
}

pub async fn remote_upsert(
    State(site): State<Arc<Site>>,
    Extension(caller): Extension<Caller>,
    Extension(api): Extension<Api>,
    Path(key): Path<String>,
    body: Bytes,
) -> Response {
    let (id, body) = match prepare_write(&site, &caller, "LINK_ISSUES", "link issues", &key, &body) {
        Ok(x) => x,
        Err(r) => return r,
    };
    let result = ops::upsert_remote_link(&mut site.data(), id, &body);
    match result {
        Ok((link, created)) => {
            let base = site.data().base_url.clone();
            // Cloud documents 201 for a new link; the Data Center document only ever 200.
            let cloud = site.data().flavour == crate::config::Flavour::Cloud;
            let status = if created && cloud { StatusCode::CREATED } else { StatusCode::OK };
            let url = format!("{base}/rest/api/{}/issue/{id}/remotelink/{link}", api.path());
            json(status, json!({"id": link, "self": url}))
        }
        Err(e) => op_error(e),
    }
}

/// The visible issue whose remote links the caller may change.
fn linked_issue(site: &Site, caller: &Caller, key: &str) -> Result<u64, Response> {
    let (id, project) = visible_issue(site, caller, key)?;
    require_in(site, caller, "LINK_ISSUES", "delete this link", &project)?;
    Ok(id)
}

fn remove_remote(site: &Site, id: u64, pred: impl Fn(&crate::sim::model::RemoteLink) -> bool) -> Response {
    let mut data = site.data();
    let Some(issue) = data.issues.get_mut(&id) else { return op_error(OpError::issue_not_found()) };
    let before = issue.remote_links.len();
    issue.remote_links.retain(|r| !pred(r));
    if issue.remote_links.len() == before {
        return error(StatusCode::NOT_FOUND, "No such remote link exists.");
    }
    StatusCode::NO_CONTENT.into_response()
}

pub async fn remote_delete(
    State(site): State<Arc<Site>>,
    Extension(caller): Extension<Caller>,
    Path((key, link)): Path<(String, String)>,
) -> Response {
    match linked_issue(&site, &caller, &key) {
        Ok(id) => remove_remote(&site, id, |r| r.id.to_string() == link),
        Err(r) => r,
    }
}

pub async fn remote_delete_by_global_id(
    State(site): State<Arc<Site>>,
    Extension(caller): Extension<Caller>,
    Path(key): Path<String>,
    q: Params,
) -> Response {
    let Some(global) = param(&q, "globalId").map(str::to_string) else {
        return error(StatusCode::BAD_REQUEST, "The globalId parameter is required.");
    };
    match linked_issue(&site, &caller, &key) {
        Ok(id) => remove_remote(&site, id, |r| r.global_id.as_deref() == Some(global.as_str())),
        Err(r) => r,
    }
}
