//! Liveness and readiness probes.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::HttpState;

#[derive(Serialize)]
struct Alive {
    status: &'static str,
}

/// `/readyz`'s answer: the reasons only when not ready.
#[derive(Serialize)]
struct Readiness {
    ready: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    reasons: Option<std::collections::BTreeMap<String, String>>,
}

/// `GET /healthz`: the process answers.
pub(super) async fn healthz() -> Response {
    Json(Alive { status: "ok" }).into_response()
}

/// `GET /readyz`: the store answers (its writer thread takes a request and
/// the store is not recovering from a storage failure), the config is valid
/// (it is, or the daemon would not run) and every instance authenticated
/// recently.
pub(super) async fn readyz(State(state): State<HttpState>) -> Response {
    let mut reasons = state.observer.board.readiness(&state.store, state.now_ms());
    if !reasons.contains_key("store")
        && let Err(e) = state.store.probe().await
    {
        reasons.insert("store".to_string(), format!("the store does not take writes: {e}"));
    }
    if reasons.is_empty() {
        Json(Readiness { ready: true, reasons: None }).into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, Json(Readiness { ready: false, reasons: Some(reasons) })).into_response()
    }
}
