//! The daemon: store, clients, engine tasks and the HTTP face, started
//! together and stopped together. `jirafed run` wraps it with signals and
//! systemd notification; the demo and the tests embed it.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::broadcast;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::clock::Clock;
use crate::config::Config;
use crate::observe::{EngineEvent, Observer};
use crate::store::{Store, StoreOptions};
use crate::sync::Engine;

/// A running daemon.
pub struct Daemon {
    pub engine: Arc<Engine>,
    /// Where the HTTP face listens (webhooks, health, status, metrics).
    pub addr: SocketAddr,
    cancel: CancellationToken,
    tasks: JoinSet<()>,
    shutdown_timeout: Duration,
}

impl Daemon {
    /// Opens the store, checks every site and starts everything.
    pub async fn start(config: Config) -> anyhow::Result<Daemon> {
        Daemon::start_with(config, StoreOptions::default()).await
    }

    /// [`Daemon::start`] with the store opened with `store_options`
    /// (`jirafed run --init`, injected storage faults in tests). A damaged,
    /// missing or empty state file fails with a [`crate::store::StoreError`]
    /// for which `is_data_error` holds.
    pub async fn start_with(config: Config, store_options: StoreOptions) -> anyhow::Result<Daemon> {
        let config = Arc::new(config);
        let store = Store::open_with(&config.daemon.state_dir, store_options)?;
        let observer = Arc::new(Observer::new(&config));
        let clock = Clock::system();
        let engine = Arc::new(Engine::prepare(config.clone(), store, observer, clock.clone()).await?);
        let cancel = CancellationToken::new();
        let mut tasks = engine.spawn(&cancel);
        let listener = tokio::net::TcpListener::bind(config.daemon.listen)
            .await
            .map_err(|e| anyhow::anyhow!("daemon.listen {}: {e}", config.daemon.listen))?;
        let addr = listener.local_addr()?;
        let admin = crate::admin::bind(&config.daemon.admin_socket)?;
        tasks.spawn(crate::admin::serve(admin, engine.clone(), cancel.clone()));
        let state = crate::http::HttpState {
            config: config.clone(),
            store: engine.store.clone(),
            observer: engine.observer.clone(),
            wake: engine.wake.planner_bell(),
            clock,
        };
        tasks.spawn(crate::http::serve(listener, state, cancel.clone()));
        let (instances, flows) = (config.instances.len(), engine.flows.len());
        tracing::info!(listen = %addr, instances, flows, "jirafed running");
        Ok(Daemon { engine, addr, cancel, tasks, shutdown_timeout: config.daemon.shutdown_timeout })
    }

    pub fn events(&self) -> broadcast::Receiver<EngineEvent> {
        self.engine.observer.subscribe()
    }

    pub fn store(&self) -> &Store {
        &self.engine.store
    }

    /// Stops intake, lets in-flight writes finish (bounded by
    /// `shutdown_timeout`), and returns. Nothing depends on a clean stop:
    /// everything acknowledged is already committed.
    pub async fn shutdown(mut self) {
        self.engine.observer.board.set_ready_store(false);
        self.cancel.cancel();
        let drain = async { while self.tasks.join_next().await.is_some() {} };
        if tokio::time::timeout(self.shutdown_timeout, drain).await.is_err() {
            tracing::warn!("shutdown deadline reached; abandoning unfinished tasks (they will be retried)");
            self.tasks.abort_all();
        }
    }
}
