//! `GET /`: the status page for people. Server-rendered from the `/status`
//! document and a few bounded reads (the audit log's tail, the newest dead
//! letters, the latency ring): overall health in green, amber or red with
//! the reasons, a card per instance and per flow with its own badge, the
//! last hour's propagation latency, the latest writes and the dead letters
//! with Jira's own message.
//!
//! Self-contained (no script, no external asset: inline CSS and SVG),
//! refreshed by the browser every 10 s, readable on a phone (cards wrap,
//! tables scroll), and every value from data escaped.

mod chart;
mod health;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};

use health::Health;

use super::HttpState;
use crate::observe::audit::AuditLine;
use crate::observe::latency::LatencyMinute;
use crate::observe::status::{FlowDoc, InstanceDoc, StatusDoc, rfc3339, snapshot};
use crate::store::{Store, StoreState};
use crate::sync::job::Job;

/// Latest writes and dead letters shown (the page stays small).
pub const LATEST: usize = 20;
/// Seconds between the browser's reloads.
const REFRESH_SECONDS: u32 = 10;

const STYLE: &str = "\
*{box-sizing:border-box}body{font:15px/1.45 system-ui,sans-serif;margin:0;padding:1em;color:#1d1d1f;background:#f6f7f9}\
h1{font-size:1.5em;margin:0 0 .3em}h2{font-size:1.15em;margin:1.4em 0 .5em}h3{font-size:1.05em;margin:0 0 .4em}\
.banner{border-radius:8px;padding:.8em 1em;color:#fff}.banner ul{margin:.2em 0 0;padding-left:1.2em}\
.banner.green{background:#1e7e34}.banner.amber{background:#b26a00}.banner.red{background:#b00020}\
.summary{display:flex;flex-wrap:wrap;gap:.4em 1.2em;margin:.7em 0;color:#444}\
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(300px,1fr));gap:.8em}\
.card{background:#fff;border:1px solid #d8dbe0;border-left:6px solid #999;border-radius:6px;padding:.7em .9em}\
.card.green{border-left-color:#1e7e34}.card.amber{border-left-color:#e09000}.card.red{border-left-color:#b00020}\
.badge{display:inline-block;border-radius:99px;padding:0 .6em;font-size:.8em;font-weight:600;color:#fff;vertical-align:middle}\
.badge.green{background:#1e7e34}.badge.amber{background:#b26a00}.badge.red{background:#b00020}\
.reasons{margin:.2em 0 .5em;padding-left:1.1em}.reasons .red{color:#b00020}.reasons .amber{color:#8a5200}\
dl{display:grid;grid-template-columns:auto 1fr;gap:.1em .8em;margin:0}dt{color:#666}dd{margin:0;overflow-wrap:anywhere}\
.muted{color:#666;font-size:.9em}.bad{color:#b00020;font-weight:600}\
.scroll{overflow-x:auto;background:#fff;border:1px solid #d8dbe0;border-radius:6px}\
table{border-collapse:collapse;width:100%}th,td{padding:.3em .6em;text-align:left;vertical-align:top;border-bottom:1px solid #eee}\
th{background:#f0f1f4;white-space:nowrap}td{white-space:nowrap}td.msg{white-space:normal;overflow-wrap:anywhere;min-width:16em}\
.chart{width:100%;max-width:720px;height:auto;background:#fff;border:1px solid #d8dbe0;border-radius:6px}\
.chart .axis{stroke:#888}.chart .grid{stroke:#ddd;stroke-dasharray:3 3}.chart .label{font-size:10px;fill:#555}\
.chart .max,.key.max{fill:#b7c7e8;background:#b7c7e8}.chart .p50,.key.p50{fill:#2d5bb9;background:#2d5bb9}\
.key{display:inline-block;width:.8em;height:.8em;margin:0 .2em 0 .6em}\
time{border-bottom:1px dotted #999}footer{margin-top:1.5em}";

/// A dead letter as the page shows it.
#[derive(Debug, Clone)]
pub struct DeadRow {
    pub id: u64,
    pub at_ms: i64,
    pub instance: String,
    pub flow: Option<String>,
    pub op: Option<&'static str>,
    /// The issue written (or the ordering key when the job does not say).
    pub target: String,
    /// Jira's own error text.
    pub error: String,
}

/// Everything the page shows; built by the handler, rendered by [`render`].
pub struct PageData {
    pub status: StatusDoc,
    pub now_ms: i64,
    /// `/readyz`'s reasons by part, empty when ready.
    pub readiness: BTreeMap<String, String>,
    /// Each instance's configured poll interval.
    pub poll_intervals: BTreeMap<String, Duration>,
    /// Each flow's instances (the primary, then the secondary).
    pub flow_sites: BTreeMap<String, Vec<String>>,
    pub latency: Vec<LatencyMinute>,
    /// The newest audit records, newest first.
    pub writes: Vec<AuditLine>,
    /// The newest dead letters, newest first.
    pub dead: Vec<DeadRow>,
}

pub(super) async fn page(State(state): State<HttpState>) -> Response {
    let html = render(&gather(&state));
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

fn gather(state: &HttpState) -> PageData {
    let now_ms = state.now_ms();
    let board = &state.observer.board;
    let config = state.config.get();
    let primary = config.primary().id.to_string();
    PageData {
        status: snapshot(board, &state.store, now_ms),
        now_ms,
        readiness: board.readiness(&state.store, now_ms),
        poll_intervals: config.instances.iter().map(|(id, i)| (id.to_string(), i.poll_interval)).collect(),
        flow_sites: config
            .flows
            .iter()
            .map(|f| (f.name.to_string(), vec![primary.clone(), f.secondary.to_string()]))
            .collect(),
        latency: state.observer.latency.last_hour(now_ms),
        writes: latest_writes(&state.store),
        dead: newest_dead_letters(&state.store),
    }
}

/// The newest [`LATEST`] audit records we can read, newest first. A store
/// that cannot be read shows none (the banner says why).
fn latest_writes(store: &Store) -> Vec<AuditLine> {
    let tail = store.audit_tail(LATEST).unwrap_or_default();
    tail.iter().rev().filter_map(AuditLine::parse).collect()
}

fn newest_dead_letters(store: &Store) -> Vec<DeadRow> {
    let list = store.dead_letters_newest(LATEST).unwrap_or_default();
    list.into_iter()
        .map(|d| {
            let job = Job::from_bytes(&d.entry.payload);
            DeadRow {
                id: d.id,
                at_ms: d.at_ms,
                instance: d.entry.instance.clone(),
                flow: job.as_ref().map(|j| j.flow.clone()),
                op: job.as_ref().map(|j| j.action.name()),
                target: job.and_then(|j| j.target_key).unwrap_or(d.entry.target),
                error: d.error,
            }
        })
        .collect()
}

/// The verdicts of every instance and flow, and of the whole.
struct Verdicts {
    overall: Health,
    instances: BTreeMap<String, Health>,
    flows: BTreeMap<String, Health>,
}

fn judge(data: &PageData) -> Verdicts {
    let now = data.now_ms;
    let instances: BTreeMap<String, Health> = data
        .status
        .instances
        .iter()
        .map(|(name, i)| (name.clone(), health::instance(i, data.poll_intervals.get(name).copied(), now)))
        .collect();
    let flows: BTreeMap<String, Health> = data
        .status
        .flows
        .iter()
        .map(|(name, f)| {
            let names = data.flow_sites.get(name).map(Vec::as_slice).unwrap_or_default();
            let sites: Vec<(&str, &Health)> =
                names.iter().filter_map(|n| instances.get(n).map(|h| (n.as_str(), h))).collect();
            (name.clone(), health::flow(f, &sites, now))
        })
        .collect();
    let store = &data.status.store;
    let store_error = (store.state != StoreState::Ready)
        .then(|| store.last_error.as_deref().unwrap_or("no detail"))
        .map(str::to_string);
    let readiness: Vec<(String, String)> = data.readiness.clone().into_iter().collect();
    let overall = health::overall(
        store_error.as_deref(),
        &readiness,
        instances.iter().map(|(k, v)| (k.as_str(), v)),
        flows.iter().map(|(k, v)| (k.as_str(), v)),
    );
    Verdicts { overall, instances, flows }
}

/// The page for `data`.
pub fn render(data: &PageData) -> String {
    let verdicts = judge(data);
    let status = &data.status;
    let mut out = String::with_capacity(16 * 1024);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta http-equiv=\"refresh\" content=\"{REFRESH_SECONDS}\">\
         <title>jirafed: {}</title><style>{STYLE}</style></head><body>\n",
        verdicts.overall.level.word()
    );
    banner(&mut out, &verdicts.overall);
    summary(&mut out, data);
    out.push_str("<h2>Instances</h2>\n<div class=\"cards\">\n");
    for (name, i) in &status.instances {
        if let Some(h) = verdicts.instances.get(name) {
            instance_card(&mut out, name, i, h, data.now_ms);
        }
    }
    out.push_str("</div>\n<h2>Flows</h2>\n<div class=\"cards\">\n");
    for (name, f) in &status.flows {
        if let Some(h) = verdicts.flows.get(name) {
            flow_card(&mut out, name, f, h, data.now_ms);
        }
    }
    out.push_str("</div>\n");
    // What needs a person first, then what went well.
    dead_table(&mut out, &data.dead, status.dead_letters, data.now_ms);
    out.push_str("<h2>Propagation latency, last hour</h2>\n");
    chart::render(&mut out, &data.latency);
    writes_table(&mut out, &data.writes, data.now_ms);
    let _ = writeln!(
        out,
        "<footer class=\"muted\">jirafed {} &middot; page of {} &middot; refreshed every {REFRESH_SECONDS} s \
         &middot; <a href=\"status\">status JSON</a> &middot; <a href=\"metrics\">metrics</a></footer>",
        escape(status.version),
        escape(status.now.as_deref().unwrap_or("")),
    );
    out.push_str("</body></html>\n");
    out
}

fn banner(out: &mut String, h: &Health) {
    let level = h.level.as_str();
    let _ = write!(
        out,
        "<header class=\"banner {level}\" id=\"overall\" data-health=\"{level}\"><h1>jirafed: {}</h1><ul>",
        h.level.word()
    );
    for (_, reason) in &h.reasons {
        let _ = write!(out, "<li>{}</li>", escape(reason));
    }
    out.push_str("</ul></header>\n");
}

fn count(v: Option<u64>) -> String {
    v.map_or_else(|| "&ndash;".to_string(), |n| n.to_string())
}

fn summary(out: &mut String, data: &PageData) {
    let s = &data.status;
    let reconcile = match &s.reconcile {
        Some(r) => format!(
            "last reconciliation {}: {} pairs checked, {} differing, {} missing",
            ago(Some(r.run.finished_ms), data.now_ms),
            r.run.pairs,
            r.run.differing,
            r.run.missing
        ),
        None => "no reconciliation yet".to_string(),
    };
    let store = match s.store.state {
        StoreState::Ready => "store ready".to_string(),
        _ => "<span class=\"bad\">store recovering</span>".to_string(),
    };
    let _ = writeln!(
        out,
        "<div class=\"summary\"><span>{}</span><span>{store}</span><span>inbox {}</span><span>pairs {}</span>\
         <span>dead letters {}</span><span>{reconcile}</span></div>",
        if s.ready { "ready" } else { "<span class=\"bad\">not ready</span>" },
        count(s.inbox_depth),
        count(s.links),
        count(s.dead_letters),
    );
}

/// An age ("12 s ago") with the exact time on hover.
fn ago(at_ms: Option<i64>, now_ms: i64) -> String {
    let Some(t) = at_ms else { return "never".to_string() };
    let iso = escape(&rfc3339(t).unwrap_or_default());
    format!("<time datetime=\"{iso}\" title=\"{iso}\">{}</time>", health::age(t, now_ms))
}

fn doc_ago(t: &Option<String>, now_ms: i64) -> String {
    ago(health::ms(t), now_ms)
}

fn card_head(out: &mut String, kind: &str, name: &str, sub: &str, h: &Health) {
    let level = h.level.as_str();
    let name = escape(name);
    let _ = write!(
        out,
        "<section class=\"card {level}\" data-{kind}=\"{name}\" data-health=\"{level}\">\
         <h3>{name} <span class=\"badge {level}\" data-badge=\"{level}\">{}</span></h3>\
         <div class=\"muted\">{}</div><ul class=\"reasons\">",
        h.level.word(),
        escape(sub),
    );
    for (level, reason) in &h.reasons {
        let _ = write!(out, "<li class=\"{}\">{}</li>", level.as_str(), escape(reason));
    }
    out.push_str("</ul><dl>");
}

/// The configured write rate, and the one allowed now when the site's
/// answers have slowed it (others spend part of its budget).
fn write_rate(l: &crate::jira::LimiterState) -> String {
    if l.writes_per_second_allowed < l.writes_per_second {
        format!("{:.1}/s of {}/s: the site's budget is shared", l.writes_per_second_allowed, l.writes_per_second)
    } else {
        format!("{}/s", l.writes_per_second)
    }
}

fn row(out: &mut String, term: &str, html: &str) {
    let _ = write!(out, "<dt>{term}</dt><dd>{html}</dd>");
}

fn yes_no(v: bool) -> &'static str {
    if v { "yes" } else { "<span class=\"bad\">no</span>" }
}

fn with_age(text: &Option<String>, at: &Option<String>, now_ms: i64) -> String {
    match text {
        Some(e) => format!("{} ({})", escape(e), doc_ago(at, now_ms)),
        None => "none".to_string(),
    }
}

fn instance_card(out: &mut String, name: &str, i: &InstanceDoc, h: &Health, now_ms: i64) {
    card_head(out, "instance", name, &format!("{}, {}", i.role, i.flavour), h);
    row(out, "Reachable", yes_no(i.reachable));
    row(out, "Auth", &format!("{}, last OK {}", yes_no(i.auth), doc_ago(&i.last_auth_ok, now_ms)));
    row(out, "Last poll", &doc_ago(&i.last_poll, now_ms));
    let lag = i.poll_lag_seconds.map_or_else(|| "&ndash;".to_string(), |s| format!("{s:.0} s"));
    row(out, "Poll lag", &lag);
    row(out, "Last webhook", &doc_ago(&i.last_webhook, now_ms));
    row(out, "Outbox", &count(i.outbox_depth));
    let dead = count(i.dead_letters);
    row(
        out,
        "Dead letters",
        &if i.dead_letters.unwrap_or(0) > 0 { format!("<span class=\"bad\">{dead}</span>") } else { dead },
    );
    if let Some(l) = &i.rate_limit {
        row(
            out,
            "Rate limit",
            &format!(
                "{} / {} write tokens ({}), {} read tokens, {} / {} in flight",
                l.write_tokens,
                l.burst,
                write_rate(l),
                l.read_tokens,
                l.in_flight,
                l.max_in_flight
            ),
        );
        let last =
            l.last_429.map(|t| format!(", last {}", ago(Some(t.timestamp_millis()), now_ms))).unwrap_or_default();
        row(out, "429s", &format!("{}{last}", l.rate_limited_total));
    }
    let paused = if i.paused {
        format!("<span class=\"bad\">by hand</span>, since {}", doc_ago(&i.paused_since, now_ms))
    } else if health::ms(&i.paused_until).is_some_and(|t| t > now_ms) {
        format!("<span class=\"bad\">429</span>, until {}", doc_ago(&i.paused_until, now_ms))
    } else {
        "no".to_string()
    };
    row(out, "Paused", &paused);
    row(out, "Last error", &with_age(&i.last_error, &i.last_error_at, now_ms));
    out.push_str("</dl></section>\n");
}

fn flow_card(out: &mut String, name: &str, f: &FlowDoc, h: &Health, now_ms: i64) {
    card_head(out, "flow", name, "", h);
    row(out, "Pairs", &count(f.links));
    row(out, "Pending links", &count(f.pending_links));
    let conflicts = match &f.last_conflict {
        Some(c) => format!(
            "{}, last on {} {} ({} kept)",
            f.conflicts,
            escape(&c.field),
            ago(Some(c.at_ms), now_ms),
            escape(&c.winner)
        ),
        None => f.conflicts.to_string(),
    };
    row(out, "Conflicts", &conflicts);
    row(out, "Last sync", &doc_ago(&f.last_sync, now_ms));
    row(out, "Last error", &with_age(&f.last_error, &f.last_error_at, now_ms));
    if !f.unmapped_link_types.is_empty() {
        row(out, "Unmapped link types", &escape(&f.unmapped_link_types.join(", ")));
    }
    out.push_str("</dl></section>\n");
}

fn writes_table(out: &mut String, writes: &[AuditLine], now_ms: i64) {
    out.push_str("<h2>Latest writes</h2>\n");
    if writes.is_empty() {
        out.push_str("<p class=\"muted\">No writes yet.</p>\n");
        return;
    }
    out.push_str(
        "<div class=\"scroll\"><table id=\"writes\"><tr><th>When</th><th>Flow</th><th>Instance</th><th>Write</th>\
         <th>Issue</th><th>Outcome</th></tr>\n",
    );
    for w in writes {
        let _ = writeln!(
            out,
            "<tr data-write-flow=\"{flow}\"><td>{}</td><td>{flow}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            ago(Some(w.at_ms), now_ms),
            escape(&w.instance),
            escape(&w.op),
            escape(&w.key),
            escape(w.outcome.as_deref().unwrap_or("done")),
            flow = escape(&w.flow),
        );
    }
    out.push_str("</table></div>\n");
}

fn dead_table(out: &mut String, dead: &[DeadRow], total: Option<u64>, now_ms: i64) {
    out.push_str("<h2>Dead letters</h2>\n");
    if dead.is_empty() {
        out.push_str("<p class=\"muted\">None.</p>\n");
        return;
    }
    let total = total.unwrap_or(dead.len() as u64);
    if total > dead.len() as u64 {
        let _ = writeln!(
            out,
            "<p class=\"muted\">The newest {} of {total}; all with <code>jirafed dead-letters</code>.</p>",
            dead.len()
        );
    }
    out.push_str(
        "<div class=\"scroll\"><table id=\"dead-letters\"><tr><th>Id</th><th>When</th><th>Instance</th><th>Flow</th>\
         <th>Write</th><th>Issue</th><th>Jira said</th></tr>\n",
    );
    for d in dead {
        let _ = writeln!(
            out,
            "<tr data-dead-letter=\"{}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
             <td class=\"msg\">{}</td></tr>",
            d.id,
            d.id,
            ago(Some(d.at_ms), now_ms),
            escape(&d.instance),
            escape(d.flow.as_deref().unwrap_or("?")),
            escape(d.op.unwrap_or("?")),
            escape(&d.target),
            escape(&d.error),
        );
    }
    out.push_str("</table></div>\n");
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
mod tests;
