//! `/_sim/`: counters, faults, webhook registrations, reset and a request
//! log, for tests, benchmarks and people. No auth, by design: the simulator
//! only listens on loopback.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{error, json, op_error};
use crate::sim::faults::FaultSpec;
use crate::sim::model::WebhookReg;
use crate::sim::state::Site;

pub fn routes(site: Arc<Site>) -> Router {
    Router::new()
        .route("/_sim/stats", get(stats))
        .route("/_sim/faults", get(get_faults).post(set_faults).delete(clear_faults))
        .route("/_sim/webhooks", get(list_webhooks).post(add_webhook))
        .route("/_sim/webhooks/{id}", delete(delete_webhook))
        .route("/_sim/reset", post(reset))
        .route("/_sim/log", get(log))
        .route("/_sim/issues/{key}/move", post(move_issue))
        .route("/_sim/seed", post(seed_history))
        .with_state(site)
}

/// `POST /_sim/seed`: old issues, epics, children and links, made at once
/// without webhooks (see `sim::history`). Answers the keys made, epics
/// first.
async fn seed_history(State(site): State<Arc<Site>>, body: Bytes) -> Response {
    let spec: crate::sim::history::HistorySpec = match serde_json::from_slice(&body) {
        Ok(s) => s,
        Err(e) => return error(StatusCode::BAD_REQUEST, &format!("invalid seed: {e}")),
    };
    // Made on a copy: a seed that fails halfway leaves the site as it was.
    let mut data = site.data();
    let mut copy = data.clone();
    match crate::sim::history::seed(&mut copy, &spec) {
        Ok(seeded) => {
            *data = copy;
            json(StatusCode::OK, json!({"keys": seeded.keys, "links": seeded.links}))
        }
        Err(e) => error(StatusCode::BAD_REQUEST, &format!("invalid seed: {e}")),
    }
}

/// `POST /_sim/issues/{key}/move`: `{"project": "KEY", "user": "login"}`,
/// the user moving the issue (webhooks name them).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MoveBody {
    project: String,
    user: String,
}

async fn move_issue(State(site): State<Arc<Site>>, Path(key): Path<String>, body: Bytes) -> Response {
    let body: MoveBody = match serde_json::from_slice(&body) {
        Ok(b) => b,
        Err(e) => return error(StatusCode::BAD_REQUEST, &format!("invalid move: {e}")),
    };
    let found = {
        let data = site.data();
        if data.user(&body.user).is_none() {
            return error(StatusCode::BAD_REQUEST, &format!("invalid move: no user {:?}", body.user));
        }
        data.issue_id(&key)
    };
    let Some(id) = found else { return error(StatusCode::NOT_FOUND, &format!("no issue {key}")) };
    match site.mutate(|d| crate::sim::ops::move_issue(d, &body.user, id, &body.project)) {
        Ok(new_key) => json(StatusCode::OK, json!({"id": id.to_string(), "key": new_key})),
        Err(e) => op_error(e),
    }
}

async fn stats(State(site): State<Arc<Site>>) -> Response {
    let mut v = site.stats.snapshot();
    // Whole calls: the background client is a steady stream, counted in fractions.
    let b = site.faults().background();
    v["background"] = json!({"writes": b.writes.floor() as u64, "refused": b.refused.floor() as u64});
    json(StatusCode::OK, v)
}

async fn log(State(site): State<Arc<Site>>) -> Response {
    json(StatusCode::OK, json!({"requests": site.stats.log_entries()}))
}

async fn get_faults(State(site): State<Arc<Site>>) -> Response {
    let spec = site.faults().spec().clone();
    json(StatusCode::OK, serde_json::to_value(spec).unwrap_or(Value::Null))
}

async fn set_faults(State(site): State<Arc<Site>>, body: Bytes) -> Response {
    let spec: FaultSpec = match serde_json::from_slice(&body) {
        Ok(s) => s,
        Err(e) => return error(StatusCode::BAD_REQUEST, &format!("invalid faults: {e}")),
    };
    if let Err(e) = spec.validate() {
        return error(StatusCode::BAD_REQUEST, &format!("invalid faults: {e}"));
    }
    site.faults().set(spec);
    let now = site.faults().spec().clone();
    json(StatusCode::OK, serde_json::to_value(now).unwrap_or(Value::Null))
}

async fn clear_faults(State(site): State<Arc<Site>>) -> Response {
    site.faults().clear();
    StatusCode::NO_CONTENT.into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewWebhook {
    name: String,
    url: String,
    events: Vec<String>,
    #[serde(default)]
    jql: Option<String>,
    #[serde(default)]
    secret: Option<String>,
}

async fn add_webhook(State(site): State<Arc<Site>>, body: Bytes) -> Response {
    let hook: NewWebhook = match serde_json::from_slice(&body) {
        Ok(h) => h,
        Err(e) => return error(StatusCode::BAD_REQUEST, &format!("invalid webhook: {e}")),
    };
    if !(hook.url.starts_with("http://") || hook.url.starts_with("https://")) {
        return error(StatusCode::BAD_REQUEST, "invalid webhook: url must be http(s)");
    }
    if let Some(q) = &hook.jql {
        if let Err(e) = crate::sim::jql::parse(q) {
            return error(StatusCode::BAD_REQUEST, &format!("invalid webhook: jql: {}", e.message));
        }
    }
    let mut data = site.data();
    let id = data.next_id();
    let is_signed = hook.secret.is_some();
    data.webhooks.push(WebhookReg {
        id,
        name: hook.name,
        url: hook.url,
        events: hook.events,
        jql: hook.jql,
        secret: hook.secret,
        is_signed,
    });
    json(StatusCode::CREATED, json!({"id": id}))
}

async fn list_webhooks(State(site): State<Arc<Site>>) -> Response {
    let data = site.data();
    json(StatusCode::OK, serde_json::to_value(&data.webhooks).unwrap_or(Value::Null))
}

async fn delete_webhook(State(site): State<Arc<Site>>, Path(id): Path<u64>) -> Response {
    let mut data = site.data();
    let before = data.webhooks.len();
    data.webhooks.retain(|w| w.id != id);
    if data.webhooks.len() == before {
        return error(StatusCode::NOT_FOUND, &format!("no webhook {id}"));
    }
    StatusCode::NO_CONTENT.into_response()
}

async fn reset(State(site): State<Arc<Site>>) -> Response {
    site.reset();
    StatusCode::NO_CONTENT.into_response()
}
