//! The daemon's HTTP face (design §5): Jira webhooks in; health, status,
//! metrics and a small page out. Mutating admin actions are not here; they go
//! through the admin socket.
//!
//! Every request runs inside a tracing span (method, path, status, latency)
//! and every body is capped at `daemon.webhook_body_limit`. Handlers read the
//! store directly: its reads are short and never wait for the writer.

mod health;
mod listener;
mod page;
mod status;
mod webhooks;

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::clock::Clock;
use crate::config::Config;
use crate::current::Current;
use crate::observe::Observer;
use crate::store::Store;

/// What the handlers share. Cheap to clone.
///
/// The config is the running one, replaced at each reload: instance
/// lookups and webhook secrets are read from it at each request; `listen`
/// and `webhook_body_limit` only when the server starts (they need a
/// restart).
#[derive(Clone)]
pub struct HttpState {
    pub config: Arc<Current<Config>>,
    pub store: Store,
    /// Where requests are counted and what `/status` and `/metrics` show.
    pub observer: Arc<Observer>,
    /// Rung after webhook changes are committed, so the planner wakes.
    pub wake: Arc<Notify>,
    pub clock: Clock,
}

impl HttpState {
    fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }
}

/// Every route of the HTTP face.
pub fn router(state: HttpState) -> Router {
    let limit = usize::try_from(state.config.get().daemon.webhook_body_limit).unwrap_or(usize::MAX);
    Router::new()
        .route("/webhooks/{instance}", post(webhooks::receive))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/status", get(status::status))
        .route("/metrics", get(status::metrics))
        .route("/", get(page::page))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(limit))
        .layer(middleware::from_fn(trace))
        .with_state(state)
}

/// Serves `router(state)` on `listener`, within the `daemon.http_*`
/// limits (see `listener.rs`), until `shutdown` is cancelled, then stops
/// accepting and lets requests in flight finish.
pub async fn serve(listener: TcpListener, state: HttpState, shutdown: CancellationToken) {
    let addr = listener.local_addr().map(|a| a.to_string()).unwrap_or_default();
    // Restart-only: the listener is built once (see daemon/reload.rs).
    let limits = state.config.get().daemon.http;
    tracing::info!(
        listen = %addr,
        header_timeout_ms = limits.header_timeout.as_millis() as u64,
        request_timeout_ms = limits.request_timeout.as_millis() as u64,
        max_connections = limits.max_connections,
        max_requests_per_connection = limits.max_requests_per_connection,
        "http server started"
    );
    let observer = state.observer.clone();
    listener::serve(listener, router(state), limits, observer, shutdown).await;
    tracing::info!(listen = %addr, "http server stopped");
}

/// The body of every error answer.
#[derive(serde::Serialize)]
struct ErrorBody {
    error: String,
}

/// A JSON error body: `{"error": message}`.
pub(crate) fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, axum::Json(ErrorBody { error: message.into() })).into_response()
}

async fn not_found() -> Response {
    error(StatusCode::NOT_FOUND, "no such route")
}

/// One span per request; one event when it ends. Probes, scrapes and
/// accepted webhooks log at debug so they do not drown the rest (and so a
/// busy intake does not spend its CPU writing a line per delivery; webhooks
/// are counted in `jirafed_webhooks_total` and `/status`). Refusals and
/// errors stay at info. The query string is never logged.
async fn trace(req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let span = tracing::info_span!(
        "http",
        method = %method,
        path = %path,
        status = tracing::field::Empty,
        latency_ms = tracing::field::Empty,
    );
    let started = Instant::now();
    let response = next.run(req).instrument(span.clone()).await;
    let status = response.status().as_u16();
    let quiet = matches!(path.as_str(), "/healthz" | "/readyz" | "/metrics") || path.starts_with("/webhooks/");
    let debug = quiet && status < 400;
    // Recording into the span costs a formatting pass: only for a line
    // that is written.
    let written =
        if debug { tracing::enabled!(tracing::Level::DEBUG) } else { tracing::enabled!(tracing::Level::INFO) };
    if !written {
        return response;
    }
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    span.record("status", status);
    span.record("latency_ms", latency_ms);
    let _entered = span.enter();
    if debug {
        tracing::debug!(status, latency_ms, "request");
    } else {
        tracing::info!(status, latency_ms, "request");
    }
    response
}
