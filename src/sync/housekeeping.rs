//! Periodic upkeep (at start, then every minute): plan again the pending
//! links whose far end is mirrored (a crash came between the two), forget
//! webhook-delivery ids and dedupe keys older than
//! `daemon.webhook_replay_window`, and count links per flow for the
//! status page (streamed page by page, so memory stays flat however many
//! links there are).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::engine::Engine;
use crate::store::Op;

/// How often upkeep runs.
const EVERY: Duration = Duration::from_secs(60);
/// Links read per page while counting.
const PAGE: usize = 1_000;

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
    let mut counts: BTreeMap<String, u64> = engine.flows.iter().map(|f| (f.name().to_string(), 0)).collect();
    let mut after = None;
    loop {
        let page = engine.store.links_after(after, PAGE)?;
        let Some(last) = page.last() else { break };
        after = Some(last.id);
        for l in &page {
            *counts.entry(l.flow.clone()).or_default() += 1;
        }
        tokio::task::yield_now().await;
    }
    for (flow, n) in counts {
        engine.observer.board.set_flow_links(&flow, n);
    }
    Ok(())
}
