//! Comments: list, add, get, update, delete.

use std::sync::Arc;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::issues::issue_id;
use super::{Caller, Params, body_json, error, json, op_error, param, prepare_write, require};
use crate::sim::ops::{self, OpError};
use crate::sim::render::{Api, View};
use crate::sim::state::Site;

fn comment_id(s: &str) -> Result<u64, Response> {
    s.parse().map_err(|_| error(StatusCode::NOT_FOUND, &format!("Can not find a comment for the id: {s}.")))
}

pub async fn list(
    State(site): State<Arc<Site>>,
    Extension(caller): Extension<Caller>,
    Extension(api): Extension<Api>,
    Path(key): Path<String>,
    q: Params,
) -> Response {
    let id = match issue_id(&site, &key) {
        Ok(id) => id,
        Err(r) => return r,
    };
    let start: usize = param(&q, "startAt").and_then(|s| s.parse().ok()).unwrap_or(0);
    let max: usize = param(&q, "maxResults").and_then(|s| s.parse().ok()).unwrap_or(5000).min(5000);
    let data = site.data();
    let Some(issue) = data.issues.get(&id) else { return op_error(OpError::issue_not_found()) };
    json(StatusCode::OK, View::new(&data, api, caller.tz).comments_page(issue, start, max))
}

pub async fn add(
    State(site): State<Arc<Site>>,
    Extension(caller): Extension<Caller>,
    Extension(api): Extension<Api>,
    Path(key): Path<String>,
    body: Bytes,
) -> Response {
    let (id, body) = match prepare_write(&site, &caller, "ADD_COMMENTS", "comment on this issue", &key, &body) {
        Ok(x) => x,
        Err(r) => return r,
    };
    match site.mutate(|d| ops::add_comment(d, api, &caller.login, id, &body)) {
        Ok(cid) => render_one(&site, &caller, api, id, cid, StatusCode::CREATED),
        Err(e) => op_error(e),
    }
}

fn render_one(site: &Site, caller: &Caller, api: Api, id: u64, cid: u64, status: StatusCode) -> Response {
    let data = site.data();
    let issue = data.issues.get(&id);
    match issue.and_then(|i| i.comments.iter().find(|c| c.id == cid).map(|c| (i, c))) {
        Some((i, c)) => json(status, View::new(&data, api, caller.tz).comment(i, c)),
        None => error(StatusCode::NOT_FOUND, &format!("Can not find a comment for the id: {cid}.")),
    }
}

pub async fn get(
    State(site): State<Arc<Site>>,
    Extension(caller): Extension<Caller>,
    Extension(api): Extension<Api>,
    Path((key, cid)): Path<(String, String)>,
) -> Response {
    match (issue_id(&site, &key), comment_id(&cid)) {
        (Ok(id), Ok(cid)) => render_one(&site, &caller, api, id, cid, StatusCode::OK),
        (Err(r), _) | (_, Err(r)) => r,
    }
}

pub async fn update(
    State(site): State<Arc<Site>>,
    Extension(caller): Extension<Caller>,
    Extension(api): Extension<Api>,
    Path((key, cid)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    if let Err(r) = require(&site, &caller, "EDIT_ALL_COMMENTS", "edit this comment") {
        return r;
    }
    let (id, cid, body) = match (issue_id(&site, &key), comment_id(&cid), body_json(&body)) {
        (Ok(id), Ok(cid), Ok(b)) => (id, cid, b),
        (Err(r), _, _) | (_, Err(r), _) | (_, _, Err(r)) => return r,
    };
    match site.mutate(|d| ops::update_comment(d, api, &caller.login, id, cid, &body)) {
        Ok(()) => render_one(&site, &caller, api, id, cid, StatusCode::OK),
        Err(e) => op_error(e),
    }
}

pub async fn delete(
    State(site): State<Arc<Site>>,
    Extension(caller): Extension<Caller>,
    Path((key, cid)): Path<(String, String)>,
) -> Response {
    if let Err(r) = require(&site, &caller, "DELETE_ALL_COMMENTS", "delete this comment") {
        return r;
    }
    let (id, cid) = match (issue_id(&site, &key), comment_id(&cid)) {
        (Ok(id), Ok(cid)) => (id, cid),
        (Err(r), _) | (_, Err(r)) => return r,
    };
    match site.mutate(|d| ops::delete_comment(d, &caller.login, id, cid)) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => op_error(e),
    }
}
