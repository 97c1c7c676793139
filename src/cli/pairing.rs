//! `jirafed link` and `jirafed unlink`: pair two existing issues by hand, or
//! sever a pair. Through the running daemon's admin socket when one answers
//! (one writer per site); otherwise on the state file directly, the writes
//! then being made when `jirafed run` starts.

use std::future::Future;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use serde::de::DeserializeOwned;

use super::{LinkArgs, PreferArg, UnlinkArgs};
use crate::admin::{Request, call};
use crate::clock::Clock;
use crate::observe::Observer;
use crate::store::Store;
use crate::sync::Engine;
use crate::sync::pairing::{self, LinkRequest, Linked, Prefer, Unlinked};

/// Runs `jirafed link`; returns what to print.
pub async fn link(config: &Path, args: LinkArgs) -> anyhow::Result<String> {
    let req = LinkRequest {
        flow: args.flow,
        secondary_key: args.secondary_key,
        primary_key: args.primary_key,
        prefer: args.prefer.map(|p| match p {
            PreferArg::Primary => Prefer::Primary,
            PreferArg::Secondary => Prefer::Secondary,
        }),
    };
    let (linked, by_daemon): (Linked, bool) =
        match ask_daemon(config, args.socket.as_deref(), &Request::Link(req.clone()), "linked").await? {
            Some(linked) => (linked, true),
            None => (standalone(config, |engine| async move { pairing::link(&engine, &req).await }).await?, false),
        };
    let (from, to) = match linked.winner.as_str() {
        "primary" => (&linked.primary_key, &linked.secondary_key),
        _ => (&linked.secondary_key, &linked.primary_key),
    };
    let when = if by_daemon { "now" } else { "when `jirafed run` starts" };
    Ok(format!(
        "paired {} ({}) with {} in flow {}\n{from}'s values are kept: {to} is brought level {when}\n",
        linked.secondary_key, linked.secondary, linked.primary_key, linked.flow
    ))
}

/// Runs `jirafed unlink`; returns what to print.
pub async fn unlink(config: &Path, args: UnlinkArgs) -> anyhow::Result<String> {
    let key = args.key;
    let request = Request::Unlink { key: key.clone() };
    let unlinked: Unlinked = match ask_daemon(config, args.socket.as_deref(), &request, "unlinked").await? {
        Some(unlinked) => unlinked,
        None => standalone(config, |engine| async move { pairing::unlink(&engine, &key).await }).await?,
    };
    Ok(format!(
        "unpaired {} ({}) and {} (flow {}); both issues stay, and neither is mirrored again unless `jirafed link` pairs it\n",
        unlinked.secondary_key, unlinked.secondary, unlinked.primary_key, unlinked.flow
    ))
}

/// The daemon's answer under `field`, or `None` when no daemon answers at
/// the config's admin socket (with `--socket`, it must answer).
pub(super) async fn ask_daemon<T: DeserializeOwned>(
    config: &Path,
    socket: Option<&Path>,
    request: &Request,
    field: &str,
) -> anyhow::Result<Option<T>> {
    let path = super::admin_socket(config, socket)?;
    if socket.is_none() && tokio::net::UnixStream::connect(&path).await.is_err() {
        return Ok(None);
    }
    let reply = call(&path, request).await?;
    Ok(Some(serde_json::from_value(reply[field].clone())?))
}

/// Runs `work` on an engine over the state file, with no daemon running.
pub(super) async fn standalone<T, F, Fut>(config: &Path, work: F) -> anyhow::Result<T>
where
    F: FnOnce(Arc<Engine>) -> Fut,
    Fut: Future<Output = anyhow::Result<T>>,
{
    let cfg = Arc::new(crate::config::load(config).map_err(|e| anyhow::anyhow!("{e}"))?);
    let store = Store::open(&cfg.daemon.state_dir).with_context(|| {
        format!("no daemon answers at {}, and the state file cannot be opened", cfg.daemon.admin_socket.display())
    })?;
    let observer = Arc::new(Observer::new(&cfg));
    let engine = Arc::new(Engine::prepare(cfg, store, observer, Clock::system()).await?);
    work(engine).await
}
