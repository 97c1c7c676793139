//! `jirafed run`: the daemon in the foreground, as systemd runs it:
//! `Type=notify` READY once the store is open and the sites answered,
//! watchdog pings, `STATUS=` lines, SIGHUP reloads the config and
//! credentials (queued work stays in the store), SIGTERM drains and exits 0.

use std::path::Path;

use anyhow::Context;
use sd_notify::NotifyState;
use tokio::signal::unix::{SignalKind, signal};

use crate::config;
use crate::daemon::Daemon;
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

pub async fn run(config_path: &Path, init: bool) -> anyhow::Result<()> {
    let mut term = signal(SignalKind::terminate()).context("SIGTERM handler")?;
    let mut hup = signal(SignalKind::hangup()).context("SIGHUP handler")?;
    let store = StoreOptions { init, ..StoreOptions::default() };
    let mut daemon = Daemon::start_with(load(config_path)?, store).await?;
    notify(&[NotifyState::Ready, NotifyState::Status("running")]);
    let watchdog = sd_notify::watchdog_enabled().map(|d| d / 2);
    loop {
        let ping = async {
            match watchdog {
                Some(d) => tokio::time::sleep(d).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = term.recv() => break,
            _ = tokio::signal::ctrl_c() => break,
            _ = ping => notify(&[NotifyState::Watchdog]),
            _ = hup.recv() => {
                notify(&[NotifyState::Reloading, NotifyState::Status("reloading")]);
                match load(config_path) {
                    Ok(cfg) => {
                        daemon.shutdown().await;
                        daemon = Daemon::start(cfg).await?;
                        tracing::info!("configuration reloaded");
                    }
                    Err(e) => tracing::error!(error = %format!("{e:#}"), "reload refused; keeping the running configuration"),
                }
                notify(&[NotifyState::Ready, NotifyState::Status("running")]);
            }
        }
    }
    notify(&[NotifyState::Stopping, NotifyState::Status("draining")]);
    daemon.shutdown().await;
    Ok(())
}
