//! `GET /`: the `/status` document as HTML tables for people. Self-contained
//! (no script, no external asset), refreshed by the browser every 10 s, and
//! every value escaped.

use std::fmt::Write as _;

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::HttpState;
use crate::sync::status::snapshot;

const STYLE: &str = "body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}\
table{border-collapse:collapse;margin-bottom:1.5em}\
th,td{border:1px solid #ccc;padding:.3em .6em;text-align:left;vertical-align:top}\
th{background:#f3f3f3}.bad{color:#b00020;font-weight:600}.ok{color:#1b5e20}";

const INSTANCE_COLUMNS: &[(&str, &str)] = &[
    ("role", "Role"),
    ("flavour", "Flavour"),
    ("reachable", "Reachable"),
    ("auth", "Auth"),
    ("last_auth_ok", "Last auth OK"),
    ("last_poll", "Last poll"),
    ("last_webhook", "Last webhook"),
    ("poll_lag_seconds", "Poll lag (s)"),
    ("outbox_depth", "Outbox"),
    ("dead_letters", "Dead letters"),
    ("paused_until", "Paused until"),
    ("last_error", "Last error"),
];

const FLOW_COLUMNS: &[(&str, &str)] =
    &[("links", "Links"), ("conflicts", "Conflicts"), ("last_sync", "Last sync"), ("last_error", "Last error")];

pub(super) async fn page(State(state): State<HttpState>) -> Response {
    let html = render(&snapshot(&state.board, &state.store, state.now_ms()));
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CONTENT_SECURITY_POLICY, "default-src 'none'; style-src 'unsafe-inline'"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        html,
    )
        .into_response()
}

/// The page for one `/status` document.
pub fn render(status: &Value) -> String {
    let mut out = String::with_capacity(8192);
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">");
    out.push_str("<meta http-equiv=\"refresh\" content=\"10\"><title>jirafed</title>");
    let _ = write!(out, "<style>{STYLE}</style></head><body>\n<h1>jirafed</h1>\n");
    let ready = status["ready"].as_bool().unwrap_or(false);
    let _ = writeln!(
        out,
        "<p>Version {} &middot; <span class=\"{}\">{}</span> &middot; inbox {} &middot; links {} &middot; \
         dead letters {} &middot; {}</p>",
        cell(&status["version"]),
        if ready { "ok" } else { "bad" },
        if ready { "ready" } else { "not ready" },
        cell(&status["inbox_depth"]),
        cell(&status["links"]),
        cell(&status["dead_letters"]),
        cell(&status["now"]),
    );
    table(&mut out, "Instances", "Instance", &status["instances"], INSTANCE_COLUMNS);
    table(&mut out, "Flows", "Flow", &status["flows"], FLOW_COLUMNS);
    out.push_str("<p><a href=\"status\">status JSON</a> &middot; <a href=\"metrics\">metrics</a></p>\n");
    out.push_str("</body></html>\n");
    out
}

fn table(out: &mut String, title: &str, first: &str, rows: &Value, columns: &[(&str, &str)]) {
    let _ = write!(out, "<h2>{}</h2>\n<table><tr><th>{}</th>", escape(title), escape(first));
    for (_, heading) in columns {
        let _ = write!(out, "<th>{}</th>", escape(heading));
    }
    out.push_str("</tr>\n");
    for (name, row) in rows.as_object().into_iter().flatten() {
        let _ = write!(out, "<tr><td>{}</td>", escape(name));
        for (key, _) in columns {
            let value = &row[*key];
            let bad = matches!((*key, value), ("reachable" | "auth", Value::Bool(false)))
                || (*key == "last_error" && !value.is_null())
                || (*key == "dead_letters" && value.as_u64().is_some_and(|n| n > 0));
            if bad {
                let _ = write!(out, "<td class=\"bad\">{}</td>", cell(value));
            } else {
                let _ = write!(out, "<td>{}</td>", cell(value));
            }
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</table>\n");
}

/// A JSON value as escaped cell text.
fn cell(v: &Value) -> String {
    match v {
        Value::Null => "&ndash;".to_string(),
        Value::Bool(true) => "yes".to_string(),
        Value::Bool(false) => "no".to_string(),
        Value::String(s) => escape(s),
        Value::Number(n) => match n.as_f64() {
            Some(f) if n.is_f64() => escape(&format!("{f:.1}")),
            _ => escape(&n.to_string()),
        },
        other => escape(&other.to_string()),
    }
}

/// Escapes text for HTML element content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn every_value_is_escaped() {
        let status = json!({
            "version": "0.1.0", "ready": false, "inbox_depth": 2, "links": 1, "dead_letters": 0, "now": "t",
            "instances": {"emea": {"role": "secondary", "reachable": false, "poll_lag_seconds": 1.25,
                "last_error": "<script>alert('x')</script> & \"more\""}},
            "flows": {"<f>": {"links": 1, "conflicts": 0, "last_error": null}},
        });
        let html = render(&status);
        assert!(!html.contains("<script>"), "{html}");
        assert!(html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;more&quot;"));
        assert!(html.contains("<td>&lt;f&gt;</td>"));
        assert!(html.contains("<td>emea</td>"));
        assert!(html.contains("<td class=\"bad\">no</td>"));
        assert!(html.contains("<td>1.2</td>") || html.contains("<td>1.3</td>"));
        assert!(html.contains("not ready"));
    }
}
