//! `jirafed audit`: the audit log of the running daemon, newest first, over
//! its admin socket: the writes done or given up (with outcome, latency
//! and the change that caused them) and the conflicts resolved, filtered
//! by issue, flow and age; `--json` for scripts.

use std::fmt::Write as _;
use std::path::Path;

use chrono::Utc;
use serde_json::Value;

use super::AuditArgs;
use super::status::{age, parse};
use crate::admin::{Request, call};

/// Asks the daemon of the config at `config`; returns what to print.
pub async fn run(config: &Path, args: AuditArgs) -> anyhow::Result<String> {
    let path = super::admin_socket(config, args.socket.as_deref())?;
    let request = Request::Audit {
        issue: args.issue,
        flow: args.flow,
        since_seconds: args.since.map(|d| d.as_secs()),
        limit: args.limit,
    };
    let reply = call(&path, &request).await?;
    if args.json {
        return Ok(format!("{}\n", serde_json::to_string_pretty(&reply["audit"])?));
    }
    Ok(render(&reply))
}

/// The records as a table, newest first, and how many the log keeps.
fn render(reply: &Value) -> String {
    let list = reply["audit"].as_array().cloned().unwrap_or_default();
    let now = Utc::now();
    let mut out = String::new();
    if list.is_empty() {
        let _ = writeln!(out, "no audit records match ({} kept in all)", reply["kept"]);
        return out;
    }
    let _ = writeln!(
        out,
        "{:<10} {:<16} {:<9} {:<12} {:<12} {:<11} {:>8}  CAUSE",
        "WHEN", "FLOW", "INSTANCE", "OP", "KEY", "OUTCOME", "LATENCY"
    );
    for e in &list {
        let when = e["at"].as_str().and_then(parse).map_or_else(|| "?".into(), |t| age(t, now));
        let r = &e["record"];
        let s = |v: &Value| v.as_str().unwrap_or("-").to_string();
        if r["kind"] == "conflict" {
            let _ = writeln!(
                out,
                "{when:<10} {:<16} {:<9} {:<12} {:<12} {:<11} {:>8}  {} vs {}: {} kept",
                s(&r["flow"]),
                "-",
                "conflict",
                s(&r["field"]),
                "resolved",
                "-",
                s(&r["secondary_key"]),
                s(&r["primary_key"]),
                s(&r["winner"])
            );
            continue;
        }
        let latency = r["latency_ms"].as_i64().map_or_else(|| "-".into(), |ms| format!("{ms} ms"));
        let c = &r["cause"];
        let cause = if c.is_object() {
            let by = c["by"].as_str().map(|b| format!(" by {b}")).unwrap_or_default();
            format!("{} {} ({}{by})", s(&c["instance"]), s(&c["issue"]), s(&c["via"]))
        } else {
            "-".into()
        };
        let _ = writeln!(
            out,
            "{when:<10} {:<16} {:<9} {:<12} {:<12} {:<11} {latency:>8}  {cause}",
            s(&r["flow"]),
            s(&r["instance"]),
            s(&r["op"]),
            s(&r["key"]),
            r["outcome"].as_str().unwrap_or("ok"),
        );
        if let Some(err) = r["error"].as_str() {
            let _ = writeln!(out, "{:<10} error: {err}", "");
        }
    }
    let _ = writeln!(out, "{} record(s) shown, newest first; {} kept in all", list.len(), reply["kept"]);
    out
}
