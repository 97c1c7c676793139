//! `GET /status` (JSON) and `GET /metrics` (Prometheus text).

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};

use super::HttpState;
use crate::observe::status::snapshot;

/// The content type of the Prometheus text exposition format.
pub const PROMETHEUS_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

pub(super) async fn status(State(state): State<HttpState>) -> Response {
    Json(snapshot(&state.observer.board, &state.store, state.now_ms())).into_response()
}

pub(super) async fn metrics(State(state): State<HttpState>) -> Response {
    let text = state.observer.metrics.render(&state.store, &state.observer.board, state.now_ms());
    ([(header::CONTENT_TYPE, PROMETHEUS_CONTENT_TYPE)], text).into_response()
}
