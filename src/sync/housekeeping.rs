//! Periodic upkeep (at start, then every minute): plan again the pending
//! links whose far end is mirrored (a crash came between the two), forget
//! webhook-delivery ids and dedupe keys older than
//! `daemon.webhook_replay_window`. (Links per flow are counted by the store
//! as it stores them: nothing here reads every pair.)

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::engine::Engine;
use crate::store::Op;

/// How often upkeep runs.
const EVERY: Duration = Duration::from_secs(60);

pub async fn run(engine: Arc<Engine>, cancel: CancellationToken) {
    loop {
        if let Err(e) = once(&engine).await {
            tracing::warn!(error = %e, "housekeeping failed");
        }
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(EVERY) => {}
        }
    }
}

async fn once(engine: &Engine) -> anyhow::Result<()> {
    super::planner::deps::sweep(engine).await?;
    let window = i64::try_from(engine.config.daemon.webhook_replay_window.as_millis()).unwrap_or(i64::MAX);
    let older_than_ms = engine.now_ms().saturating_sub(window);
    engine.store.commit(vec![Op::PruneDeliveries { older_than_ms }]).await?;
    Ok(())
}
