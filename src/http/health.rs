//! Liveness and readiness probes.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::HttpState;

/// `GET /healthz`: the process answers.
pub(super) async fn healthz() -> Response {
    Json(json!({ "status": "ok" })).into_response()
}

/// `GET /readyz`: the store answers, the config is valid (it is, or the
/// daemon would not run) and every instance authenticated recently.
pub(super) async fn readyz(State(state): State<HttpState>) -> Response {
    let reasons = state.board.readiness(&state.store, state.now_ms());
    if reasons.is_empty() {
        Json(json!({ "ready": true })).into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, Json(json!({ "ready": false, "reasons": reasons }))).into_response()
    }
}
