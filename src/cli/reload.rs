//! `jirafed reload`: the CLI side of the admin socket's reload, answered
//! once the daemon has applied or refused the config.

use std::fmt::Write as _;
use std::path::Path;

use serde_json::Value;

use super::ReloadArgs;
use crate::admin::{Request, call};

/// Asks the daemon of the config at `config` to reload; returns what to
/// print. A refused reload is an error (exit 1): the old config runs.
pub async fn run(config: &Path, args: ReloadArgs) -> anyhow::Result<String> {
    let path = super::admin_socket(config, args.socket.as_deref())?;
    let reply = call(&path, &Request::Reload).await?;
    let errors: Vec<String> =
        reply["errors"].as_array().into_iter().flatten().filter_map(Value::as_str).map(String::from).collect();
    match reply["outcome"].as_str() {
        Some("refused") => {
            anyhow::bail!("reload refused; the running configuration is kept:\n  - {}", errors.join("\n  - "))
        }
        outcome => {
            let mut out = format!("reload {}\n", outcome.unwrap_or("done"));
            for e in errors {
                let _ = writeln!(out, "warning: {e}");
            }
            Ok(out)
        }
    }
}
