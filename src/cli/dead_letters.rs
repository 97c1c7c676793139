//! `jirafed dead-letters list|retry|drop`: the CLI side of the admin socket.

use std::fmt::Write as _;
use std::path::Path;

use serde_json::Value;

use super::{DeadLetterAction, DeadLettersArgs};
use crate::admin::{Request, call};

/// Runs the command against the daemon of the config at `config`; returns
/// what to print.
pub async fn run(config: &Path, args: DeadLettersArgs) -> anyhow::Result<String> {
    let path = super::admin_socket(config, args.socket.as_deref())?;
    let req = match args.action {
        DeadLetterAction::List => Request::DeadLetters,
        DeadLetterAction::Retry { all: true, .. } => Request::RetryAll,
        DeadLetterAction::Retry { id: Some(id), .. } => Request::Retry { id },
        DeadLetterAction::Retry { id: None, all: false } => anyhow::bail!("retry needs a dead letter id or --all"),
        DeadLetterAction::Drop { id } => Request::Drop { id },
    };
    let reply = call(&path, &req).await?;
    Ok(match req {
        Request::DeadLetters => render_list(&reply),
        Request::RetryAll => format!("retried {} dead letter(s)\n", reply["retried"]),
        Request::Retry { id } => format!("dead letter {id} queued again\n"),
        Request::Drop { id } => format!("dead letter {id} dropped\n"),
        Request::StateCheck
        | Request::StateBackup { .. }
        | Request::Reload
        | Request::Link(_)
        | Request::Unlink { .. }
        | Request::Resync { .. }
        | Request::Import(_)
        | Request::ImportProgress { .. }
        | Request::Status
        | Request::Pause { .. }
        | Request::Resume { .. }
        | Request::Audit { .. } => String::new(),
    })
}

fn render_list(reply: &Value) -> String {
    let list = reply["dead_letters"].as_array().cloned().unwrap_or_default();
    if list.is_empty() {
        return "no dead letters\n".into();
    }
    let mut out = String::new();
    for d in list {
        let s = |k: &str| d[k].as_str().unwrap_or("-").to_string();
        let _ = writeln!(
            out,
            "{:>6}  {:<8} {:<12} {:<7} {:<20} {}",
            d["id"],
            s("instance"),
            s("target"),
            s("op"),
            s("flow"),
            s("at")
        );
        let _ = writeln!(out, "        {}", s("error"));
    }
    out
}
