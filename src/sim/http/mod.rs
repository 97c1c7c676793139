//! The simulator's HTTP face: Jira's REST paths per flavour and version,
//! the `/_sim/` control paths, and a connection loop that can reset.

// Handlers answer early with a ready `Response` as their error: that is the
// axum idiom, and its size does not matter on this path.
#![allow(clippy::result_large_err)]

mod comments;
mod control;
mod issues;
mod links;
mod meta;
mod search;
mod users;
mod webhooks;

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::body::{Body, Bytes};
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use chrono_tz::Tz;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use super::auth;
use super::faults::{Headroom, Limit, LostResponse, Refusal};
use super::ops::OpError;
use super::render::{Api, error_body};
use super::state::{LogEntry, Site};
use crate::config::Flavour;

/// Who is calling, as the auth middleware found them.
#[derive(Debug, Clone)]
pub struct Caller {
    pub login: String,
    pub tz: Tz,
}

/// Query parameters, possibly repeated (`fields=a&fields=b`).
pub type Params = axum::extract::Query<Vec<(String, String)>>;

pub fn param<'a>(q: &'a Params, name: &str) -> Option<&'a str> {
    q.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

pub fn params(q: &Params, name: &str) -> Vec<String> {
    q.0.iter().filter(|(k, _)| k == name).map(|(_, v)| v.clone()).collect()
}

pub fn json(status: StatusCode, v: Value) -> Response {
    (status, axum::Json(v)).into_response()
}

pub fn error(status: StatusCode, message: &str) -> Response {
    json(status, error_body(&[message], &[]))
}

pub fn op_error(e: OpError) -> Response {
    match e {
        OpError::NotFound(m) => error(StatusCode::NOT_FOUND, &m),
        OpError::Invalid { messages, errors } => {
            json(StatusCode::BAD_REQUEST, serde_json::json!({"errorMessages": messages, "errors": errors}))
        }
    }
}

/// Parses a JSON request body, answering 400 as Jira does when it is not.
pub fn body_json(bytes: &Bytes) -> Result<Value, Response> {
    serde_json::from_slice(bytes).map_err(|e| {
        error(StatusCode::BAD_REQUEST, &format!("Unexpected character or end of input in the JSON body: {e}"))
    })
}

/// The checks every write to one issue starts with: the issue exists and
/// the caller may see it (404), the caller holds `permission` in its
/// project (403), the body is JSON. Gives the issue id and the body.
pub fn prepare_write(
    site: &Site,
    caller: &Caller,
    permission: &str,
    what: &str,
    key: &str,
    body: &Bytes,
) -> Result<(u64, Value), Response> {
    let (id, project) = visible_issue(site, caller, key)?;
    require_in(site, caller, permission, what, &project)?;
    Ok((id, body_json(body)?))
}

/// Resolves `{issueIdOrKey}` to an issue the caller may browse, with its
/// project's key. Jira answers one 404 for an issue that does not exist and
/// one the caller cannot see, so that its existence does not leak.
pub fn visible_issue(site: &Site, caller: &Caller, key: &str) -> Result<(u64, String), Response> {
    let data = site.data();
    let issue = data.issue_id(key).and_then(|id| data.issues.get(&id));
    let user = data.user(&caller.login);
    match (issue, user) {
        (Some(i), Some(u)) if auth::can_browse(u, &i.project) => Ok((i.id, i.project.clone())),
        _ => Err(op_error(OpError::issue_not_found())),
    }
}

fn forbidden(what: &str) -> Response {
    error(StatusCode::FORBIDDEN, &format!("You do not have permission to {what}."))
}

/// 403 unless the caller holds `permission` in some project (Jira's global
/// context; the project is checked once known).
pub fn require(site: &Site, caller: &Caller, permission: &str, what: &str) -> Result<(), Response> {
    let data = site.data();
    match data.user(&caller.login) {
        Some(u) if auth::has_permission(u, permission) => Ok(()),
        _ => Err(forbidden(what)),
    }
}

/// 403 unless the caller holds `permission` in `project`.
pub fn require_in(site: &Site, caller: &Caller, permission: &str, what: &str, project: &str) -> Result<(), Response> {
    let data = site.data();
    match data.user(&caller.login) {
        Some(u) if auth::has_permission_in(u, permission, project) => Ok(()),
        _ => Err(forbidden(what)),
    }
}

/// Whether the caller holds `permission` in `project` (no answer: for lists
/// that leave out what the caller may not do).
pub fn holds(site: &Site, caller: &Caller, permission: &str, project: &str) -> bool {
    site.data().user(&caller.login).is_some_and(|u| auth::has_permission_in(u, permission, project))
}

fn api_routes(site: Arc<Site>, api: Api) -> Router {
    Router::new()
        .route("/myself", get(meta::myself))
        .route("/serverInfo", get(meta::server_info))
        .route("/field", get(meta::fields))
        .route("/issue/createmeta/{projectIdOrKey}/issuetypes", get(meta::createmeta_types))
        .route("/issue/createmeta/{projectIdOrKey}/issuetypes/{issueTypeId}", get(meta::createmeta_fields))
        .route("/issue", post(issues::create))
        .route("/issue/{issueIdOrKey}", get(issues::get).put(issues::edit).delete(issues::delete))
        .route("/issue/{issueIdOrKey}/editmeta", get(meta::editmeta))
        .route("/issue/{issueIdOrKey}/transitions", get(issues::transitions).post(issues::transition))
        .route("/issue/{issueIdOrKey}/comment", get(comments::list).post(comments::add))
        .route("/issue/{issueIdOrKey}/comment/{id}", get(comments::get).put(comments::update).delete(comments::delete))
        .route(
            "/issue/{issueIdOrKey}/remotelink",
            get(links::remote_list).post(links::remote_upsert).delete(links::remote_delete_by_global_id),
        )
        .route("/issue/{issueIdOrKey}/remotelink/{linkId}", get(links::remote_get).delete(links::remote_delete))
        .route("/issue/{issueIdOrKey}/properties", get(issues::property_keys))
        .route(
            "/issue/{issueIdOrKey}/properties/{propertyKey}",
            get(issues::property_get).put(issues::property_set).delete(issues::property_delete),
        )
        .route("/issueLink", post(links::create))
        .route("/issueLink/{linkId}", get(links::get).delete(links::delete))
        .route("/issueLinkType", get(meta::link_types))
        .route("/project/{projectIdOrKey}", get(meta::project))
        .route("/project/{projectIdOrKey}/statuses", get(meta::project_statuses))
        .route("/status", get(meta::statuses))
        .route("/priority", get(meta::priorities))
        .route("/resolution", get(meta::resolutions))
        .route("/mypermissions", get(meta::my_permissions))
        .route("/user/search", get(users::search))
        .route("/search", get(search::legacy_get).post(search::legacy_post))
        .route("/search/jql", get(search::jql_get).post(search::jql_post))
        .route_layer(middleware::from_fn_with_state(site.clone(), rest_layer))
        .layer(Extension(api))
        .with_state(site)
}

/// The whole router of one site.
pub fn router(site: Arc<Site>) -> Router {
    let flavour = site.data().flavour;
    let mut r = Router::new()
        .nest("/rest/api/2", api_routes(site.clone(), Api::V2))
        .nest("/rest/api/latest", api_routes(site.clone(), Api::V2));
    if flavour == Flavour::Cloud {
        r = r.nest("/rest/api/3", api_routes(site.clone(), Api::V3));
    }
    // Jira's admin webhook API: one path on both flavours.
    r = r.nest(
        "/rest/webhooks/1.0/webhook",
        webhooks::routes()
            .route_layer(middleware::from_fn_with_state(site.clone(), rest_layer))
            .layer(Extension(Api::V2))
            .with_state(site.clone()),
    );
    r.merge(control::routes(site.clone())).fallback(not_found)
}

async fn not_found(req: Request) -> Response {
    error(StatusCode::NOT_FOUND, &format!("null for uri: {}", req.uri()))
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Counting, latency, injected errors, auth and rate limits, in that order.
async fn rest_layer(State(site): State<Arc<Site>>, matched: MatchedPath, mut req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let template = matched.as_str().to_string();
    // Nested routers see a stripped path; the log wants the full one.
    let path = req
        .extensions()
        .get::<axum::extract::OriginalUri>()
        .map(|u| u.path().to_string())
        .unwrap_or_else(|| req.uri().path().to_string());
    let at_ms = now_ms();
    site.stats.count_request(format!("{method} {template}"));
    let spared = site.spared(req.headers());
    let latency = if spared { std::time::Duration::ZERO } else { site.faults().latency() };
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let response = match admit(&site, &req, &path, spared) {
        Err(resp) => resp,
        Ok((caller, headroom)) => {
            req.extensions_mut().insert(caller);
            let resp = next.run(req).await;
            let ok = resp.status().is_success();
            if ok {
                site.stats.count_success(method == axum::http::Method::GET, is_search(&template));
            }
            let lost =
                if ok && !spared && method != axum::http::Method::GET { site.faults().lost_response() } else { None };
            let huge = if ok && !spared && is_read(&method, &path) { site.faults().huge_body() } else { None };
            let mut resp = match (lost, huge) {
                (Some(how), _) => lose(&site, how),
                (None, Some(bytes)) => pad(resp, bytes).await,
                (None, None) => resp,
            };
            if let Some(h) = headroom {
                rate_limit_headers(&mut resp, h, flavour_of(&site));
            }
            resp
        }
    };
    site.stats.log(LogEntry { at_ms, method: method.to_string(), template, path, status: response.status().as_u16() });
    response
}

fn flavour_of(site: &Site) -> Flavour {
    site.data().flavour
}

/// Lets a request in, with what is left of the budget it spent from.
fn admit(site: &Site, req: &Request, path: &str, spared: bool) -> Result<(Caller, Option<Headroom>), Response> {
    if let Some(status) = site.faults().injected_error().filter(|_| !spared) {
        site.stats.errors_injected.fetch_add(1, Ordering::Relaxed);
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        return Err(error(status, "Internal server error (injected by the simulator)."));
    }
    let data = site.data();
    let Some(user) = auth::authenticate(&data, req.headers()) else {
        let mut resp = error(StatusCode::UNAUTHORIZED, auth::unauthorized_message(data.flavour));
        resp.headers_mut().insert("WWW-Authenticate", HeaderValue::from_static("Basic realm=\"protected-area\""));
        return Err(resp);
    };
    let caller = Caller { login: user.login.clone(), tz: user.time_zone };
    let write = !is_read(req.method(), path);
    let named = issue_in_path(path);
    let issue = named.and_then(|k| data.issue_id(k));
    let key = issue.and_then(|id| data.issues.get(&id)).map(|i| i.key.clone());
    let flavour = data.flavour;
    drop(data);
    let rejected = write && [named.map(str::to_string), key].iter().flatten().any(|k| site.faults().rejects(k));
    if rejected {
        let field = ("summary", "Field 'summary' cannot be set. It is not on the appropriate screen, or unknown.");
        return Err(json(StatusCode::BAD_REQUEST, error_body(&[], &[field])));
    }
    if spared {
        return Ok((caller, None));
    }
    let admitted = site.faults().admit(write, issue);
    let headroom = admitted.map_err(|r| {
        site.stats.rate_limited.fetch_add(1, Ordering::Relaxed);
        too_many_requests(r, flavour)
    })?;
    Ok((caller, headroom.filter(|_| site.faults().rate_limit_headers())))
}

/// The rate-limit headers of an answer that got through, as Jira sends
/// them on every answer: Cloud says `X-RateLimit-NearLimit: true` under 20%
/// left; Data Center instead says how the bucket fills. (Data Center's
/// `Retry-After: 0` on answers with tokens left is not sent: a client reads
/// `Retry-After` only on a refusal.)
fn rate_limit_headers(resp: &mut Response, h: Headroom, flavour: Flavour) {
    let mut pairs =
        vec![("X-RateLimit-Limit", h.spec.burst.to_string()), ("X-RateLimit-Remaining", h.remaining.to_string())];
    match flavour {
        Flavour::Cloud if h.near_limit() => pairs.push(("X-RateLimit-NearLimit", "true".into())),
        Flavour::Cloud => {}
        Flavour::DataCenter => {
            pairs.push(("X-RateLimit-Interval-Seconds", "1".into()));
            pairs.push(("X-RateLimit-FillRate", format!("{}", h.spec.per_second)));
        }
    }
    for (k, v) in pairs {
        if let Ok(v) = HeaderValue::from_str(&v) {
            resp.headers_mut().insert(k, v);
        }
    }
}

/// GETs, and the POSTs that only read (searches): Jira's rate limits take
/// them from the read budget. (The counters put searches with `writes`, as
/// non-GET calls, but not with `mutations`.)
fn is_read(method: &axum::http::Method, path: &str) -> bool {
    method == axum::http::Method::GET || (method == axum::http::Method::POST && is_search(path))
}

/// `search`, `search/jql`: a POST there changes nothing.
fn is_search(path: &str) -> bool {
    path.contains("/search")
}

/// Marks a response whose connection [`serve`] drops instead of answering.
#[derive(Debug, Clone, Copy)]
struct DropConnection;

/// The answer to a write whose effect stays but whose response is lost
/// (`lost_response_rate`): a 502, or a 502 marked for [`serve`] to reset
/// the connection instead (the log shows 502 either way).
fn lose(site: &Site, how: LostResponse) -> Response {
    site.stats.errors_injected.fetch_add(1, Ordering::Relaxed);
    let mut resp = error(StatusCode::BAD_GATEWAY, "Bad gateway (response lost by the simulator).");
    if how == LostResponse::Reset {
        resp.extensions_mut().insert(DropConnection);
    }
    resp
}

/// The answer with its body padded with spaces to `bytes` (`huge_body_bytes`).
async fn pad(resp: Response, bytes: u64) -> Response {
    let (mut parts, body) = resp.into_parts();
    let mut body = axum::body::to_bytes(body, usize::MAX).await.map(|b| b.to_vec()).unwrap_or_default();
    body.resize(usize::try_from(bytes).unwrap_or(usize::MAX).max(body.len()), b' ');
    parts.headers.remove(axum::http::header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(body))
}

/// The `{issueIdOrKey}` of an issue path, if any.
fn issue_in_path(path: &str) -> Option<&str> {
    let mut parts = path.split('/');
    parts.by_ref().find(|p| *p == "issue")?;
    parts.next().filter(|p| !p.is_empty() && *p != "createmeta" && *p != "bulkfetch")
}

fn too_many_requests(r: Refusal, flavour: Flavour) -> Response {
    let secs = r.wait.as_secs_f64().ceil().max(1.0) as u64;
    let reset = chrono::Utc::now() + chrono::Duration::seconds(secs as i64);
    let reason = match r.limit {
        Limit::Issue => "jira-per-issue-on-write",
        Limit::Read | Limit::Write => "jira-burst-based",
    };
    let mut resp = error(StatusCode::TOO_MANY_REQUESTS, "Rate limit exceeded.");
    let h = resp.headers_mut();
    let mut set = |k: &'static str, v: String| {
        if let Ok(v) = HeaderValue::from_str(&v) {
            h.insert(k, v);
        }
    };
    set("Retry-After", secs.to_string());
    set("X-RateLimit-Limit", r.spec.burst.to_string());
    set("X-RateLimit-Remaining", "0".into());
    set("X-RateLimit-Reset", reset.format("%Y-%m-%dT%H:%MZ").to_string());
    set("RateLimit-Reason", reason.into());
    if flavour == Flavour::DataCenter {
        set("X-RateLimit-Interval-Seconds", "1".into());
        set("X-RateLimit-FillRate", format!("{}", r.spec.per_second));
    }
    resp
}

/// Serves `router` on `listener` until cancelled. Each connection is served
/// by hyper directly so that a reset fault can drop it without an answer.
pub async fn serve(listener: TcpListener, site: Arc<Site>, cancel: CancellationToken) {
    let app = router(site.clone());
    loop {
        let stream = tokio::select! {
            _ = cancel.cancelled() => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    tracing::warn!(site = %site.name, error = %e, "accept failed");
                    continue;
                }
            },
        };
        let (app, site, cancel) = (app.clone(), site.clone(), cancel.clone());
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                let app = app.clone();
                let reset = req.uri().path().starts_with("/rest/")
                    && site.faults().reset_rate_set()
                    && !site.spared(req.headers())
                    && site.faults().should_reset();
                if reset {
                    site.stats.errors_injected.fetch_add(1, Ordering::Relaxed);
                }
                async move {
                    if reset {
                        return Err(ResetFault);
                    }
                    let resp = tower::ServiceExt::oneshot(app, req.map(Body::new)).await;
                    let resp = resp.unwrap_or_else(|never| match never {});
                    if resp.extensions().get::<DropConnection>().is_some() {
                        return Err(ResetFault);
                    }
                    Ok::<_, ResetFault>(resp)
                }
            });
            let conn = hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service);
            tokio::select! {
                _ = conn => {}
                _ = cancel.cancelled() => {}
            }
        });
    }
}

/// Makes hyper drop the connection without answering.
#[derive(Debug)]
struct ResetFault;

impl std::fmt::Display for ResetFault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection reset (simulated fault)")
    }
}

impl std::error::Error for ResetFault {}
