//! `GET /`: the `/status` document as HTML tables for people. Self-contained
//! (no script, no external asset), refreshed by the browser every 10 s, and
//! every value escaped.

use std::fmt::Write as _;

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};

use super::HttpState;
use crate::observe::status::{FlowDoc, InstanceDoc, StatusDoc, snapshot};

const STYLE: &str = "body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}\
table{border-collapse:collapse;margin-bottom:1.5em}\
th,td{border:1px solid #ccc;padding:.3em .6em;text-align:left;vertical-align:top}\
th{background:#f3f3f3}.bad{color:#b00020;font-weight:600}.ok{color:#1b5e20}";

/// A cell of a table: how a value reads, and whether it is bad news.
enum Cell {
    Missing,
    Text(String),
    Yes(bool),
    Count(u64),
    Seconds(f64),
}

impl Cell {
    fn text(v: &Option<String>) -> Cell {
        v.clone().map_or(Cell::Missing, Cell::Text)
    }

    fn count(v: Option<u64>) -> Cell {
        v.map_or(Cell::Missing, Cell::Count)
    }

    fn html(&self) -> String {
        match self {
            Cell::Missing => "&ndash;".to_string(),
            Cell::Yes(true) => "yes".to_string(),
            Cell::Yes(false) => "no".to_string(),
            Cell::Text(s) => escape(s),
            Cell::Count(n) => n.to_string(),
            Cell::Seconds(f) => escape(&format!("{f:.1}")),
        }
    }
}

const INSTANCE_HEADINGS: &[&str] = &[
    "Role",
    "Flavour",
    "Reachable",
    "Auth",
    "Last auth OK",
    "Last poll",
    "Last webhook",
    "Poll lag (s)",
    "Outbox",
    "Dead letters",
    "Paused",
    "Last error",
];

/// An instance's cells, each with whether it is bad news.
fn instance_cells(i: &InstanceDoc) -> Vec<(Cell, bool)> {
    vec![
        (Cell::Text(i.role.to_string()), false),
        (Cell::Text(i.flavour.to_string()), false),
        (Cell::Yes(i.reachable), !i.reachable),
        (Cell::Yes(i.auth), !i.auth),
        (Cell::text(&i.last_auth_ok), false),
        (Cell::text(&i.last_poll), false),
        (Cell::text(&i.last_webhook), false),
        (i.poll_lag_seconds.map_or(Cell::Missing, Cell::Seconds), false),
        (Cell::count(i.outbox_depth), false),
        (Cell::count(i.dead_letters), i.dead_letters.is_some_and(|n| n > 0)),
        (
            Cell::text(
                &i.paused_since.as_ref().map(|t| format!("by hand, since {t}")).or_else(|| i.paused_until.clone()),
            ),
            i.paused,
        ),
        (Cell::text(&i.last_error), i.last_error.is_some()),
    ]
}

const FLOW_HEADINGS: &[&str] = &["Links", "Conflicts", "Last sync", "Last error"];

fn flow_cells(f: &FlowDoc) -> Vec<(Cell, bool)> {
    vec![
        (Cell::count(f.links), false),
        (Cell::Count(f.conflicts), false),
        (Cell::text(&f.last_sync), false),
        (Cell::text(&f.last_error), f.last_error.is_some()),
    ]
}

pub(super) async fn page(State(state): State<HttpState>) -> Response {
    let html = render(&snapshot(&state.observer.board, &state.store, state.now_ms()));
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
pub fn render(status: &StatusDoc) -> String {
    let mut out = String::with_capacity(8192);
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">");
    out.push_str("<meta http-equiv=\"refresh\" content=\"10\"><title>jirafed</title>");
    let _ = write!(out, "<style>{STYLE}</style></head><body>\n<h1>jirafed</h1>\n");
    let _ = writeln!(
        out,
        "<p>Version {} &middot; <span class=\"{}\">{}</span> &middot; inbox {} &middot; links {} &middot; \
         dead letters {} &middot; {}</p>",
        escape(status.version),
        if status.ready { "ok" } else { "bad" },
        if status.ready { "ready" } else { "not ready" },
        Cell::count(status.inbox_depth).html(),
        Cell::count(status.links).html(),
        Cell::count(status.dead_letters).html(),
        Cell::text(&status.now).html(),
    );
    if status.store.state != crate::store::StoreState::Ready {
        let _ = writeln!(
            out,
            "<p class=\"bad\">The store {} is recovering from a storage failure (webhooks are answered 503 \
             until it has reopened): {}</p>",
            escape(&status.store.file),
            escape(status.store.last_error.as_deref().unwrap_or("")),
        );
    }
    let instances = status.instances.iter().map(|(name, i)| (name, instance_cells(i)));
    table(&mut out, "Instances", "Instance", INSTANCE_HEADINGS, instances);
    let flows = status.flows.iter().map(|(name, f)| (name, flow_cells(f)));
    table(&mut out, "Flows", "Flow", FLOW_HEADINGS, flows);
    out.push_str("<p><a href=\"status\">status JSON</a> &middot; <a href=\"metrics\">metrics</a></p>\n");
    out.push_str("</body></html>\n");
    out
}

fn table<'a>(
    out: &mut String,
    title: &str,
    first: &str,
    headings: &[&str],
    rows: impl Iterator<Item = (&'a String, Vec<(Cell, bool)>)>,
) {
    let _ = write!(out, "<h2>{}</h2>\n<table><tr><th>{}</th>", escape(title), escape(first));
    for heading in headings {
        let _ = write!(out, "<th>{}</th>", escape(heading));
    }
    out.push_str("</tr>\n");
    for (name, cells) in rows {
        let _ = write!(out, "<tr><td>{}</td>", escape(name));
        for (cell, bad) in cells {
            if bad {
                let _ = write!(out, "<td class=\"bad\">{}</td>", cell.html());
            } else {
                let _ = write!(out, "<td>{}</td>", cell.html());
            }
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</table>\n");
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
    use super::*;
    use crate::observe::StatusBoard;
    use crate::store::{Store, StoreOptions};

    #[test]
    fn every_value_is_escaped() {
        let store = Store::open_in_memory(StoreOptions::default()).unwrap();
        let board = StatusBoard::new();
        let config_like = |b: &StatusBoard| {
            b.record_flow_error("<f>", 1, "x");
            b.set_flow_links("<f>", 1);
        };
        config_like(&board);
        let mut status = snapshot(&board, &store, 0);
        let mut emea = InstanceDoc {
            role: "secondary",
            flavour: "cloud",
            reachable: false,
            auth: true,
            last_auth_ok: None,
            last_poll: None,
            last_webhook: None,
            poll_lag_seconds: Some(1.25),
            outbox_depth: Some(0),
            dead_letters: Some(0),
            paused: false,
            paused_since: None,
            paused_until: None,
            rate_limit: None,
            last_error: None,
            last_error_at: None,
        };
        emea.last_error = Some("<script>alert('x')</script> & \"more\"".into());
        status.instances.insert("emea".into(), emea);
        status.ready = false;
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
