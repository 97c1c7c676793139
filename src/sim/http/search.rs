//! Search: Data Center's `search` (startAt/maxResults/total) and Cloud's
//! `search/jql` (nextPageToken, no total). Cloud answers 410 on the removed
//! `search`, as real Cloud does since CHANGE-2046.

use std::sync::Arc;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use base64::Engine;
use serde_json::{Value, json};

use super::{Caller, Params, body_json, error, json, param, params};
use crate::config::Flavour;
use crate::sim::query;
use crate::sim::render::{Api, FieldFilter, View};
use crate::sim::state::Site;

/// One search request, whichever way it came.
struct SearchArgs {
    jql: String,
    start_at: usize,
    max_results: Option<usize>,
    next_page_token: Option<String>,
    fields: Vec<String>,
    expand: Vec<String>,
}

fn split(v: &[String]) -> Vec<String> {
    v.iter().flat_map(|s| s.split(',')).map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect()
}

fn from_query(q: &Params) -> SearchArgs {
    SearchArgs {
        jql: param(q, "jql").unwrap_or_default().to_string(),
        start_at: param(q, "startAt").and_then(|s| s.parse().ok()).unwrap_or(0),
        max_results: param(q, "maxResults").and_then(|s| s.parse().ok()),
        next_page_token: param(q, "nextPageToken").map(str::to_string),
        fields: split(&params(q, "fields")),
        expand: split(&params(q, "expand")),
    }
}

fn strings(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).map(str::to_string).collect(),
        Some(Value::String(s)) => split(std::slice::from_ref(s)),
        _ => vec![],
    }
}

fn from_body(b: &Value) -> SearchArgs {
    SearchArgs {
        jql: b.get("jql").and_then(Value::as_str).unwrap_or_default().to_string(),
        start_at: b.get("startAt").and_then(Value::as_u64).unwrap_or(0) as usize,
        max_results: b.get("maxResults").and_then(Value::as_u64).map(|n| n as usize),
        next_page_token: b.get("nextPageToken").and_then(Value::as_str).map(str::to_string),
        fields: strings(b.get("fields")),
        expand: strings(b.get("expand")),
    }
}

fn removed() -> Response {
    error(
        StatusCode::GONE,
        "The requested API has been removed. Please migrate to the /rest/api/3/search/jql API. A full migration guideline is available at https://developer.atlassian.com/changelog/#CHANGE-2046",
    )
}

pub async fn legacy_get(
    State(site): State<Arc<Site>>,
    Extension(c): Extension<Caller>,
    Extension(api): Extension<Api>,
    q: Params,
) -> Response {
    legacy(&site, &c, api, from_query(&q))
}

pub async fn legacy_post(
    State(site): State<Arc<Site>>,
    Extension(c): Extension<Caller>,
    Extension(api): Extension<Api>,
    body: Bytes,
) -> Response {
    match body_json(&body) {
        Ok(b) => legacy(&site, &c, api, from_body(&b)),
        Err(r) => r,
    }
}

fn legacy(site: &Site, caller: &Caller, api: Api, args: SearchArgs) -> Response {
    let data = site.data();
    if data.flavour == Flavour::Cloud {
        return removed();
    }
    let ids = match query::search(&data, &args.jql, &caller.login, caller.tz) {
        Ok(ids) => ids,
        Err(msgs) => return json(StatusCode::BAD_REQUEST, json!({"errorMessages": msgs, "errors": {}})),
    };
    let max = args.max_results.unwrap_or(50).min(1000);
    let filter = FieldFilter::parse(&args.fields, FieldFilter::Navigable);
    let view = View::new(&data, api, caller.tz);
    let issues: Vec<Value> = ids
        .iter()
        .skip(args.start_at)
        .take(max)
        .filter_map(|id| data.issues.get(id))
        .map(|i| view.issue(i, &filter, &args.expand))
        .collect();
    json(
        StatusCode::OK,
        json!({"expand": "schema,names", "startAt": args.start_at, "maxResults": max, "total": ids.len(), "issues": issues}),
    )
}

pub async fn jql_get(
    State(site): State<Arc<Site>>,
    Extension(c): Extension<Caller>,
    Extension(api): Extension<Api>,
    q: Params,
) -> Response {
    enhanced(&site, &c, api, from_query(&q))
}

pub async fn jql_post(
    State(site): State<Arc<Site>>,
    Extension(c): Extension<Caller>,
    Extension(api): Extension<Api>,
    body: Bytes,
) -> Response {
    match body_json(&body) {
        Ok(b) => enhanced(&site, &c, api, from_body(&b)),
        Err(r) => r,
    }
}

fn token(offset: usize, jql: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{offset}\n{jql}"))
}

fn untoken(t: &str, jql: &str) -> Option<usize> {
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(t).ok()?;
    let text = String::from_utf8(raw).ok()?;
    let (offset, q) = text.split_once('\n')?;
    (q == jql).then(|| offset.parse().ok()).flatten()
}

fn enhanced(site: &Site, caller: &Caller, api: Api, args: SearchArgs) -> Response {
    let data = site.data();
    if data.flavour == Flavour::DataCenter {
        return error(StatusCode::NOT_FOUND, "null for uri: /rest/api/2/search/jql");
    }
    let offset = match &args.next_page_token {
        None => 0,
        Some(t) => match untoken(t, &args.jql) {
            Some(o) => o,
            None => return error(StatusCode::BAD_REQUEST, "The provided next page token is invalid or expired."),
        },
    };
    let bounded = crate::sim::jql::parse(&args.jql).map(|q| q.clause.is_some()).unwrap_or(true);
    if !bounded {
        return error(
            StatusCode::BAD_REQUEST,
            "Unbounded JQL queries are not allowed here. Please add a search restriction to your query.",
        );
    }
    let ids = match query::search(&data, &args.jql, &caller.login, caller.tz) {
        Ok(ids) => ids,
        Err(msgs) => return json(StatusCode::BAD_REQUEST, json!({"errorMessages": msgs, "errors": {}})),
    };
    let filter =
        FieldFilter::parse(&args.fields, FieldFilter::List { include: vec!["id".into()], exclude: vec![], base: None });
    let cap = if filter.is_id_only() { 5000 } else { 100 };
    let max = args.max_results.unwrap_or(50).clamp(1, cap);
    let view = View::new(&data, api, caller.tz);
    let issues: Vec<Value> = ids
        .iter()
        .skip(offset)
        .take(max)
        .filter_map(|id| data.issues.get(id))
        .map(|i| {
            if filter.is_id_only() {
                let mut v = json!({"id": i.id.to_string()});
                if args.fields.iter().any(|f| f == "key") {
                    v["key"] = json!(i.key);
                }
                v
            } else {
                view.issue(i, &filter, &args.expand)
            }
        })
        .collect();
    let is_last = offset + max >= ids.len();
    let mut body = json!({"issues": issues, "isLast": is_last});
    if !is_last {
        body["nextPageToken"] = json!(token(offset + max, &args.jql));
    }
    json(StatusCode::OK, body)
}
