//! Jira's admin webhook API, `/rest/webhooks/1.0/webhook`, over the same
//! registrations as `/_sim/webhooks`: list, read, register, update and
//! remove, for Jira administrators only (in the simulator: users whose
//! permissions are not restricted). Bodies have Jira's shape: `filters`
//! holds the issue events' JQL, `self` names the registration, and the
//! secret is taken but never shown.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Caller, error};
use crate::sim::model::{SiteData, WebhookReg};
use crate::sim::state::Site;

/// The filter key of issue events' JQL.
const ISSUE_FILTER: &str = "issue-related-events-section";

pub fn routes() -> Router<Arc<Site>> {
    Router::new().route("/", get(list).post(create)).route("/{id}", get(read).put(update).delete(remove))
}

/// A registration as Jira sends one: `name`, `url`, `events`, `filters`,
/// `excludeBody`, `enabled`, `secret` (write only).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Body {
    name: Option<String>,
    url: Option<String>,
    #[serde(default)]
    events: Vec<String>,
    #[serde(default)]
    filters: serde_json::Map<String, Value>,
    #[serde(default)]
    #[allow(dead_code)]
    exclude_body: bool,
    #[serde(default)]
    secret: Option<String>,
}

fn admin(site: &Site, caller: &Caller) -> Result<(), Response> {
    let data = site.data();
    match data.user(&caller.login) {
        Some(u) if is_admin(u) => Ok(()),
        _ => Err(error(
            StatusCode::FORBIDDEN,
            "You are not authorized to perform this action. Administrator rights are required.",
        )),
    }
}

/// A user holding every permission in every project stands for a Jira
/// administrator; one whose permissions the world restricts is not.
fn is_admin(u: &crate::sim::model::User) -> bool {
    u.projects.is_none()
        && crate::sim::model::PERMISSIONS.iter().all(|(_, key, _)| u.permissions.iter().any(|p| p == key))
}

fn shown(data: &SiteData, w: &WebhookReg) -> Value {
    json!({
        "name": w.name,
        "url": w.url,
        "events": w.events,
        "filters": {ISSUE_FILTER: w.jql.clone().unwrap_or_default()},
        "excludeBody": false,
        "enabled": true,
        "self": format!("{}/rest/webhooks/1.0/webhook/{}", data.base_url, w.id),
        "lastUpdatedUser": "sync-bot",
    })
}

/// The registration `body` describes, with `id`; or Jira's 400.
fn parsed(body: &Bytes, id: u64) -> Result<WebhookReg, Response> {
    let bad = |m: &str| error(StatusCode::BAD_REQUEST, m);
    let b: Body = serde_json::from_slice(body).map_err(|e| bad(&format!("Invalid webhook: {e}")))?;
    let name = b.name.filter(|n| !n.trim().is_empty()).ok_or_else(|| bad("Webhook name must be specified."))?;
    let url = b.url.unwrap_or_default();
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(bad("Webhook URL must be an absolute http(s) URL."));
    }
    let jql = b.filters.get(ISSUE_FILTER).and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty());
    if let Some(q) = jql {
        if let Err(e) = crate::sim::jql::parse(q) {
            return Err(bad(&format!("Invalid JQL filter: {}", e.message)));
        }
    }
    let is_signed = b.secret.is_some();
    Ok(WebhookReg { id, name, url, events: b.events, jql: jql.map(String::from), secret: b.secret, is_signed })
}

async fn list(State(site): State<Arc<Site>>, Extension(caller): Extension<Caller>) -> Response {
    if let Err(r) = admin(&site, &caller) {
        return r;
    }
    let data = site.data();
    let all: Vec<Value> = data.webhooks.iter().map(|w| shown(&data, w)).collect();
    super::json(StatusCode::OK, Value::Array(all))
}

async fn read(State(site): State<Arc<Site>>, Extension(caller): Extension<Caller>, Path(id): Path<u64>) -> Response {
    if let Err(r) = admin(&site, &caller) {
        return r;
    }
    let data = site.data();
    match data.webhooks.iter().find(|w| w.id == id) {
        Some(w) => super::json(StatusCode::OK, shown(&data, w)),
        None => error(StatusCode::NOT_FOUND, &format!("Webhook with id {id} does not exist.")),
    }
}

async fn create(State(site): State<Arc<Site>>, Extension(caller): Extension<Caller>, body: Bytes) -> Response {
    if let Err(r) = admin(&site, &caller) {
        return r;
    }
    let mut data = site.data();
    let id = data.next_id();
    match parsed(&body, id) {
        Ok(reg) => {
            let answer = shown(&data, &reg);
            data.webhooks.push(reg);
            super::json(StatusCode::CREATED, answer)
        }
        Err(r) => r,
    }
}

async fn update(
    State(site): State<Arc<Site>>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<u64>,
    body: Bytes,
) -> Response {
    if let Err(r) = admin(&site, &caller) {
        return r;
    }
    let reg = match parsed(&body, id) {
        Ok(r) => r,
        Err(r) => return r,
    };
    let mut data = site.data();
    let Some(at) = data.webhooks.iter().position(|w| w.id == id) else {
        return error(StatusCode::NOT_FOUND, &format!("Webhook with id {id} does not exist."));
    };
    data.webhooks[at] = reg;
    let answer = shown(&data, &data.webhooks[at]);
    super::json(StatusCode::OK, answer)
}

async fn remove(State(site): State<Arc<Site>>, Extension(caller): Extension<Caller>, Path(id): Path<u64>) -> Response {
    if let Err(r) = admin(&site, &caller) {
        return r;
    }
    let mut data = site.data();
    let before = data.webhooks.len();
    data.webhooks.retain(|w| w.id != id);
    if data.webhooks.len() == before {
        return error(StatusCode::NOT_FOUND, &format!("Webhook with id {id} does not exist."));
    }
    StatusCode::NO_CONTENT.into_response()
}
