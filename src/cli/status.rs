//! `jirafed status [--json]`: what `/status` says, asked of the running
//! daemon over its admin socket: readable at a glance on a terminal (times
//! as "12 s ago"), or the `/status` document itself with `--json`.

use std::fmt::Write as _;
use std::path::Path;

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::{PauseArgs, StatusArgs};
use crate::admin::{Request, call};

/// Asks the daemon of the config at `config`; returns what to print.
pub async fn run(config: &Path, args: StatusArgs) -> anyhow::Result<String> {
    let path = super::admin_socket(config, args.socket.as_deref())?;
    let reply = call(&path, &Request::Status).await?;
    let doc = &reply["status"];
    if args.json {
        return Ok(format!("{}\n", serde_json::to_string_pretty(doc)?));
    }
    Ok(render(doc))
}

/// `jirafed pause INSTANCE` (`pause`) or `jirafed resume INSTANCE`.
pub async fn pause(config: &Path, args: PauseArgs, pause: bool) -> anyhow::Result<String> {
    let path = super::admin_socket(config, args.socket.as_deref())?;
    let request = if pause {
        Request::Pause { instance: args.instance.clone() }
    } else {
        Request::Resume { instance: args.instance.clone() }
    };
    let reply = call(&path, &request).await?;
    let p = &reply["pause"];
    let (instance, queued) = (&args.instance, p["queued"].as_u64().unwrap_or(0));
    Ok(match (pause, p["was_paused"] == true) {
        (true, false) => format!(
            "{instance} paused: writes to it wait ({queued} queued), also across restarts; `jirafed resume {instance}` lets them go\n"
        ),
        (true, true) => {
            format!("{instance} was paused already, since {} ({queued} queued)\n", p["since"].as_str().unwrap_or("?"))
        }
        (false, true) => format!("{instance} resumed: {queued} queued write(s) go now\n"),
        (false, false) => format!("{instance} was not paused ({queued} queued)\n"),
    })
}

/// The document as tables: the whole, the instances, the flows, the last
/// reconciliation and reload.
pub fn render(doc: &Value) -> String {
    let now = doc["now"].as_str().and_then(parse);
    let ago = |v: &Value| v.as_str().and_then(parse).zip(now).map_or_else(|| "-".to_string(), |(t, n)| age(t, n));
    let n = |v: &Value| v.as_u64().map_or_else(|| "?".to_string(), |x| x.to_string());
    let mut out = String::new();
    let health = if doc["ready"] == true { "ready" } else { "NOT READY (see GET /readyz for why)" };
    let _ = writeln!(out, "jirafed {}: {health}", doc["version"].as_str().unwrap_or("?"));
    let store = &doc["store"];
    let _ = writeln!(
        out,
        "store {} ({}); inbox {}, pairs {}, dead letters {}{}",
        store["state"].as_str().unwrap_or("?"),
        store["file"].as_str().unwrap_or("?"),
        n(&doc["inbox_depth"]),
        n(&doc["links"]),
        n(&doc["dead_letters"]),
        store["last_error"]
            .as_str()
            .map(|e| format!("; last storage error {}: {e}", ago(&store["last_error_at"])))
            .unwrap_or_default(),
    );

    let mut rows = vec![row(&[
        "INSTANCE",
        "ROLE",
        "REACHABLE",
        "AUTH",
        "LAST POLL",
        "POLL LAG",
        "OUTBOX",
        "DEAD",
        "WRITE TOKENS",
        "PAUSED",
        "LAST ERROR",
    ])];
    for (name, i) in doc["instances"].as_object().into_iter().flatten() {
        let limit = &i["rate_limit"];
        let tokens = match (limit["write_tokens"].as_u64(), limit["burst"].as_u64()) {
            (Some(t), Some(b)) => format!("{t}/{b}"),
            _ => "-".into(),
        };
        let lag = i["poll_lag_seconds"].as_f64().map_or_else(|| "-".into(), |s| format!("{s:.1} s"));
        let paused = if i["paused"] == true {
            format!("BY HAND, {}", ago(&i["paused_since"]))
        } else {
            i["paused_until"].as_str().map_or_else(|| "-".to_string(), |t| format!("429 until {t}"))
        };
        let error = match i["last_error"].as_str() {
            Some(e) => format!("{} ({})", e, ago(&i["last_error_at"])),
            None => "-".into(),
        };
        rows.push(vec![
            name.clone(),
            i["role"].as_str().unwrap_or("?").into(),
            yes_no(&i["reachable"]),
            if i["auth"] == true { "ok".into() } else { "FAILING".into() },
            ago(&i["last_poll"]),
            lag,
            n(&i["outbox_depth"]),
            n(&i["dead_letters"]),
            tokens,
            paused,
            error,
        ]);
    }
    out.push('\n');
    out.push_str(&table(&rows));

    let mut rows = vec![row(&["FLOW", "PAIRS", "PENDING LINKS", "CONFLICTS", "LAST SYNC", "LAST ERROR"])];
    for (name, f) in doc["flows"].as_object().into_iter().flatten() {
        let error = match f["last_error"].as_str() {
            Some(e) => format!("{} ({})", e, ago(&f["last_error_at"])),
            None => "-".into(),
        };
        rows.push(vec![
            name.clone(),
            n(&f["links"]),
            n(&f["pending_links"]),
            n(&f["conflicts"]),
            ago(&f["last_sync"]),
            error,
        ]);
    }
    out.push('\n');
    out.push_str(&table(&rows));

    out.push('\n');
    let r = &doc["reconcile"];
    if r.is_null() {
        out.push_str("reconciliation: none yet\n");
    } else {
        let _ = writeln!(
            out,
            "reconciliation: {}, {} pairs in {} ms; {} gone or out of scope, {} not as last synced, {} changes queued{}",
            ago(&r["last_run"]),
            n(&r["pairs"]),
            n(&r["duration_ms"]),
            n(&r["missing"]),
            n(&r["differing"]),
            n(&r["queued"]),
            if r["on_demand"] == true { " (jirafed resync)" } else { "" },
        );
    }
    let reload = &doc["reload"];
    if reload["attempts"].as_u64().unwrap_or(0) > 0 {
        let _ = writeln!(
            out,
            "reloads: {} since start, the last {} ({})",
            n(&reload["attempts"]),
            reload["outcome"].as_str().unwrap_or("?"),
            ago(&reload["last_attempt"])
        );
    }
    out
}

pub(super) fn parse(t: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(t).ok().map(|t| t.with_timezone(&Utc))
}

/// "12 s ago", "3 min ago", ... (as the status page says it).
pub(super) fn age(t: DateTime<Utc>, now: DateTime<Utc>) -> String {
    crate::observe::status::age(t.timestamp_millis(), now.timestamp_millis())
}

fn yes_no(v: &Value) -> String {
    if *v == true { "yes".into() } else { "NO".into() }
}

fn row(cells: &[&str]) -> Vec<String> {
    cells.iter().map(|c| c.to_string()).collect()
}

/// Left-aligned columns two spaces apart; the last column is not padded.
fn table(rows: &[Vec<String>]) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| rows.iter().filter_map(|r| r.get(c)).map(|s| s.chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for r in rows {
        let last = r.len().saturating_sub(1);
        for (c, cell) in r.iter().enumerate() {
            if c == last {
                out.push_str(cell);
            } else {
                let _ = write!(out, "{cell:<w$}  ", w = widths[c]);
            }
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_read_at_a_glance() {
        let now = parse("2026-12-03T12:00:00Z").expect("now");
        let at = |t: &str| age(parse(t).expect("t"), now);
        assert_eq!(at("2026-12-03T11:59:48Z"), "12 s ago");
        assert_eq!(at("2026-12-03T11:57:00Z"), "3 min ago");
        assert_eq!(at("2026-12-03T09:00:00Z"), "3 h ago");
        assert_eq!(at("2026-11-29T12:00:00Z"), "4 d ago");
        assert_eq!(at("2026-12-03T12:00:05Z"), "in 5 s");
    }

    #[test]
    fn columns_line_up() {
        let rows = vec![row(&["A", "BB", "C"]), row(&["aaa", "b", "c"])];
        assert_eq!(table(&rows), "A    BB  C\naaa  b   c\n");
    }
}
