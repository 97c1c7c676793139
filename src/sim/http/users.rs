//! `GET /user/search`: Cloud matches `query` against e-mail and display
//! name; Data Center matches `username` against name, e-mail and display name.

use std::sync::Arc;

use axum::Extension;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::Value;

use super::{Caller, Params, error, json, param};
use crate::config::Flavour;
use crate::sim::render::{Api, View};
use crate::sim::state::Site;

pub async fn search(
    State(site): State<Arc<Site>>,
    Extension(caller): Extension<Caller>,
    Extension(api): Extension<Api>,
    q: Params,
) -> Response {
    let data = site.data();
    let key = if data.flavour == Flavour::Cloud { "query" } else { "username" };
    let Some(wanted) = param(&q, key).map(str::to_lowercase).filter(|w| !w.is_empty()) else {
        return error(StatusCode::BAD_REQUEST, &format!("The '{key}' query parameter is required."));
    };
    let view = View::new(&data, api, caller.tz);
    let found: Vec<Value> = data
        .users
        .iter()
        .filter(|u| {
            let hay = [u.email.to_lowercase(), u.display_name.to_lowercase(), u.login.to_lowercase()];
            hay.iter().any(|h| h.starts_with(&wanted) || h == &wanted)
        })
        .map(|u| view.user(&u.login))
        .collect();
    json(StatusCode::OK, Value::Array(found))
}
