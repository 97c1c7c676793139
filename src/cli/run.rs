//! `jirafed run`: the daemon in the foreground, as systemd runs it:
//! `Type=notify` READY once the store is open and the sites answered,
//! `STATUS=` lines, SIGHUP (or `jirafed reload`) reloads the config and
//! credentials beside the running engine (queued work stays in the store;
//! the process never exits for a reload), SIGTERM drains and exits 0.
//!
//! The watchdog is pinged at half of `WatchdogSec=` only while the
//! planner, every writer and the store make progress (or idle with nothing
//! to do): a stalled part stops the pings and systemd restarts the process.
//! During a reload the pings go on: the reload's own waits are bounded.

use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use sd_notify::NotifyState;
use tokio::signal::unix::{Signal, SignalKind, signal};

use crate::admin::ReloadReply;
use crate::config;
use crate::daemon::Daemon;
use crate::observe::parts::{Heartbeats, ReloadRecord, STALL_AFTER};
use crate::store::StoreOptions;

fn notify(states: &[NotifyState]) {
    // Outside systemd there is no socket; that is fine.
    let _ = sd_notify::notify(states);
}

fn load(path: &Path) -> anyhow::Result<config::Config> {
    let cfg = config::load(path).map_err(|e| anyhow::anyhow!("{e}"))?;
    for w in &cfg.warnings {
        tracing::warn!(warning = %w, "config");
    }
    Ok(cfg)
}

/// What woke the run loop.
enum Wake {
    Stop,
    Ping,
    Hangup,
    Asked(ReloadReply),
}

pub async fn run(config_path: &Path, init: bool) -> anyhow::Result<()> {
    let mut term = signal(SignalKind::terminate()).context("SIGTERM handler")?;
    let mut hup = signal(SignalKind::hangup()).context("SIGHUP handler")?;
    let store = StoreOptions { init, ..StoreOptions::default() };
    let mut daemon = Daemon::start_with(load(config_path)?, store).await?;
    notify(&[NotifyState::Ready, NotifyState::Status("running")]);
    let watchdog = sd_notify::watchdog_enabled();
    loop {
        let wake = tokio::select! {
            _ = term.recv() => Wake::Stop,
            _ = tokio::signal::ctrl_c() => Wake::Stop,
            _ = ping_due(watchdog) => Wake::Ping,
            _ = hup.recv() => Wake::Hangup,
            reply = daemon.reload_asked() => Wake::Asked(reply),
        };
        match wake {
            Wake::Stop => break,
            Wake::Ping => ping_if_progressing(&daemon),
            Wake::Hangup => {
                if reload(&mut daemon, config_path, watchdog, &mut term).await.is_none() {
                    break;
                }
            }
            Wake::Asked(reply) => {
                let Some(record) = reload(&mut daemon, config_path, watchdog, &mut term).await else { break };
                // The asker may have given up; the reload stands.
                let _ = reply.send(record);
            }
        }
    }
    notify(&[NotifyState::Stopping, NotifyState::Status("draining")]);
    daemon.shutdown().await;
    Ok(())
}

/// Half of `WatchdogSec=`, or never without a watchdog.
async fn ping_due(watchdog: Option<Duration>) {
    match watchdog {
        Some(d) => tokio::time::sleep(d / 2).await,
        None => std::future::pending().await,
    }
}

/// Pings the watchdog unless a watched part has not beaten for
/// [`STALL_AFTER`] (the same threshold as `/readyz`: every part beats well
/// within it, the store probe every 5 s, whatever `WatchdogSec=` is).
fn ping_if_progressing(daemon: &Daemon) {
    ping_unless_stalled(&daemon.observer().board.heartbeats, notify);
}

/// Sends `WATCHDOG=1` through `send` unless a part is stalled (each stalled
/// part is logged instead); whether it pinged.
fn ping_unless_stalled(heartbeats: &Heartbeats, send: impl FnOnce(&[NotifyState])) -> bool {
    let stalled = heartbeats.stalled(STALL_AFTER);
    if stalled.is_empty() {
        send(&[NotifyState::Watchdog]);
        return true;
    }
    for (part, age) in stalled {
        tracing::error!(part = %part, stalled_s = age.as_secs(), "no progress; the watchdog is not pinged");
    }
    false
}

/// Reads the config again and applies it, pinging the watchdog meanwhile.
/// SIGTERM (or Ctrl-C) abandons it and returns `None`: the reload only
/// waits for sites to answer and for the running engine to drain, and
/// leaving it at either point leaves a daemon that shuts down cleanly.
async fn reload(
    daemon: &mut Daemon,
    config_path: &Path,
    watchdog: Option<Duration>,
    term: &mut Signal,
) -> Option<ReloadRecord> {
    let mut reloading = vec![NotifyState::Reloading, NotifyState::Status("reloading")];
    // Type=notify-reload wants the time the reload began.
    reloading.extend(NotifyState::monotonic_usec_now().ok());
    notify(&reloading);
    tracing::info!("reloading the configuration");
    let work = daemon.reload(load(config_path));
    tokio::pin!(work);
    let record = loop {
        tokio::select! {
            record = &mut work => break record,
            _ = ping_due(watchdog) => notify(&[NotifyState::Watchdog]),
            _ = term.recv() => return None,
            _ = tokio::signal::ctrl_c() => return None,
        }
    };
    notify(&[NotifyState::Ready, NotifyState::Status("running")]);
    Some(record)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The pings systemd would hear from one ping check.
    fn pings(heartbeats: &Heartbeats) -> usize {
        let mut sent = 0;
        let pinged = ping_unless_stalled(heartbeats, |states| {
            assert!(matches!(states, [NotifyState::Watchdog]), "only WATCHDOG=1 is sent");
            sent += 1;
        });
        assert_eq!(pinged, sent == 1);
        sent
    }

    /// The watchdog is pinged while every part beats (or idles), not while
    /// one has stalled, and again once it beats.
    #[tokio::test(start_paused = true)]
    async fn the_watchdog_is_pinged_only_while_every_part_makes_progress() {
        let heartbeats = Heartbeats::default();
        heartbeats.watch(["planner".to_string(), "writer.hub".to_string(), "store".to_string()]);
        assert_eq!(pings(&heartbeats), 1, "all fresh");
        for _ in 0..4 {
            tokio::time::advance(Duration::from_secs(20)).await;
            heartbeats.beat("planner");
            heartbeats.beat("store");
            // writer.hub does not beat any more: 80 s without progress.
        }
        assert_eq!(pings(&heartbeats), 0, "writer.hub is stalled: no ping");
        heartbeats.beat("writer.hub");
        assert_eq!(pings(&heartbeats), 1, "it moves again: pings again");
        heartbeats.beat("planner");
        heartbeats.beat("store");
        tokio::time::advance(STALL_AFTER).await;
        assert_eq!(pings(&heartbeats), 1, "quiet for exactly the threshold: not stalled yet");
        tokio::time::advance(Duration::from_secs(1)).await;
        assert_eq!(pings(&heartbeats), 0, "past it: every part is stalled");
    }
}
