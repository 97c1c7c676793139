//! Comments: list, add, get, update, delete.

use std::sync::Arc;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::issues::issue_id;
use super::{Caller, Params, body_json, error, holds, json, op_error, param, prepare_write, visible_issue};
use crate::sim::ops::{self, OpError};
use crate::sim::render::{Api, View};
use crate::sim::state::Site;

fn comment_not_found(id: &str) -> Response {
    error(StatusCode::NOT_FOUND, &format!("Can not find a comment for the id: {id}."))
}

fn comment_id(s: &str) -> Result<u64, Response> {
    s.parse().map_err(|_| comment_not_found(s))
}

/// The checks before changing comment `cid` of issue `key`: the issue is
/// visible, the comment exists, and the caller holds `all` (anyone's
/// comments) or, for their own comment, `own`, as Jira's comment
/// permissions go. Gives the issue and comment ids.
fn prepare_comment_change(
    site: &Site,
    caller: &Caller,
    key: &str,
    cid: &str,
    (all, own): (&str, &str),
    what: &str,
) -> Result<(u64, u64), Response> {
    let (id, project) = visible_issue(site, caller, key)?;
    let cid = comment_id(cid)?;
    let author = {
        let data = site.data();
        let comment = data.issues.get(&id).and_then(|i| i.comments.iter().find(|c| c.id == cid));
        comment.map(|c| c.author.clone()).ok_or_else(|| comment_not_found(&cid.to_string()))?
    };
    let mine = author == caller.login;
    if holds(site, caller, all, &project) || (mine && holds(site, caller, own, &project)) {
        Ok((id, cid))
    } else {
        Err(error(StatusCode::FORBIDDEN, &format!("You do not have permission to {what}.")))
    }
}

pub async fn list(
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
    match (issue_id(&site, &caller, &key), comment_id(&cid)) {
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
    let perms = ("EDIT_ALL_COMMENTS", "EDIT_OWN_COMMENTS");
    let (id, cid, body) = match prepare_comment_change(&site, &caller, &key, &cid, perms, "edit this comment") {
        Ok((id, cid)) => match body_json(&body) {
            Ok(b) => (id, cid, b),
            Err(r) => return r,
        },
        Err(r) => return r,
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
    let perms = ("DELETE_ALL_COMMENTS", "DELETE_OWN_COMMENTS");
    let (id, cid) = match prepare_comment_change(&site, &caller, &key, &cid, perms, "delete this comment") {
        Ok(x) => x,
        Err(r) => return r,
    };
    match site.mutate(|d| ops::delete_comment(d, &caller.login, id, cid)) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => op_error(e),
    }
}
