//! `jirafed resync [FLOW|KEY]`: the running daemon checks pairs against
//! both sites now (every pair, a flow's, or the one holding KEY), as its
//! periodic reconciliation does, and says what it found.

use std::path::Path;

use super::ResyncArgs;
use crate::admin::{Request, call};
use crate::sync::reconcile::Report;

/// Asks the daemon of the config at `config`; returns what to print.
pub async fn run(config: &Path, args: ResyncArgs) -> anyhow::Result<String> {
    let path = super::admin_socket(config, args.socket.as_deref())?;
    let reply = call(&path, &Request::Resync { target: args.target.clone() }).await?;
    let r: Report = serde_json::from_value(reply["resync"].clone())?;
    let what = args.target.as_deref().unwrap_or("every flow");
    Ok(format!(
        "resync of {what}: {} pair(s) checked in {} ms; {} with an issue gone or out of scope, {} not as last synced; {} change(s) queued\n",
        r.pairs, r.duration_ms, r.missing, r.differing, r.queued
    ))
}
