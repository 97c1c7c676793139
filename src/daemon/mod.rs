//! The daemon: store, clients, engine tasks and the HTTP face, started
//! together and stopped together. `jirafed run` wraps it with signals and
//! systemd notification; the demo and the tests embed it.
//!
//! The store, the observer, the HTTP server and the admin socket live as
//! long as the process; a reload ([`Daemon::reload`], in `reload.rs`)
//! replaces only the configuration and the engine (sites, flows, tasks)
//! beside them, so an open connection never holds a reload up and the
//! state file is opened once.

mod reload;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::{broadcast, mpsc};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

pub use self::reload::RESTART_ONLY;
use crate::admin::{ReloadAsks, ReloadReply};
use crate::clock::Clock;
use crate::config::Config;
use crate::current::Current;
use crate::observe::{EngineEvent, Observer};
use crate::store::{Store, StoreOptions};
use crate::sync::Engine;

/// Reload requests from the admin socket waiting for `jirafed run`.
const RELOAD_QUEUE: usize = 4;

/// A running daemon.
pub struct Daemon {
    /// Where the HTTP face listens (webhooks, health, status, metrics).
    pub addr: SocketAddr,
    store: Store,
    observer: Arc<Observer>,
    clock: Clock,
    /// The running configuration, as the HTTP face reads it.
    config: Arc<Current<Config>>,
    /// The running engine, as the admin socket reads it.
    engine: Arc<Current<Engine>>,
    /// The engine's supervised tasks and their stop signal.
    engine_cancel: CancellationToken,
    engine_tasks: JoinSet<()>,
    /// The HTTP face and the admin socket, which outlive reloads.
    face_cancel: CancellationToken,
    face_tasks: JoinSet<()>,
    reloads: mpsc::Receiver<ReloadReply>,
    /// Set by [`Daemon::reload_asked`]: the admin socket hands reloads over.
    reloads_taken: Arc<AtomicBool>,
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
        let store_options = StoreOptions {
            audit_limit: config.daemon.audit_max_entries,
            audit_max_age: Some(config.daemon.audit_max_age),
            ..store_options
        };
        let store = Store::open_with(&config.daemon.state_dir, store_options)?;
        let observer = Arc::new(Observer::new(&config));
        let clock = Clock::system();
        let engine = Arc::new(Engine::prepare(config.clone(), store.clone(), observer.clone(), clock.clone()).await?);
        let engine_cancel = CancellationToken::new();
        let engine_tasks = engine.spawn(&engine_cancel);
        let listener = tokio::net::TcpListener::bind(config.daemon.listen)
            .await
            .map_err(|e| anyhow::anyhow!("daemon.listen {}: {e}", config.daemon.listen))?;
        let addr = listener.local_addr()?;
        let admin = crate::admin::bind(&config.daemon.admin_socket)?;
        let (sender, reloads) = mpsc::channel(RELOAD_QUEUE);
        let ask = ReloadAsks { sender, taken: Arc::default() };
        let reloads_taken = ask.taken.clone();
        let live_engine = Arc::new(Current::new(engine.clone()));
        let live_config = Arc::new(Current::new(config.clone()));
        let face_cancel = CancellationToken::new();
        let mut face_tasks = JoinSet::new();
        face_tasks.spawn(crate::admin::serve(admin, live_engine.clone(), ask, face_cancel.clone()));
        let state = crate::http::HttpState {
            config: live_config.clone(),
            store: store.clone(),
            observer: observer.clone(),
            wake: engine.wake.planner_bell(),
            clock: clock.clone(),
        };
        face_tasks.spawn(crate::http::serve(listener, state, face_cancel.clone()));
        let (instances, flows) = (config.instances.len(), engine.flows.len());
        tracing::info!(listen = %addr, instances, flows, "jirafed running");
        Ok(Daemon {
            addr,
            store,
            observer,
            clock,
            config: live_config,
            engine: live_engine,
            engine_cancel,
            engine_tasks,
            face_cancel,
            face_tasks,
            reloads,
            reloads_taken,
        })
    }

    pub fn events(&self) -> broadcast::Receiver<EngineEvent> {
        self.observer.subscribe()
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn observer(&self) -> &Arc<Observer> {
        &self.observer
    }

    /// The engine running now (a reload replaces it).
    pub fn engine(&self) -> Arc<Engine> {
        self.engine.get()
    }

    /// The configuration running now.
    pub fn config(&self) -> Arc<Config> {
        self.config.get()
    }

    /// The next reload asked for over the admin socket; the caller reloads
    /// and answers on the reply. Pending while nobody asks.
    pub async fn reload_asked(&mut self) -> ReloadReply {
        self.reloads_taken.store(true, Ordering::Relaxed);
        match self.reloads.recv().await {
            Some(reply) => reply,
            None => std::future::pending().await,
        }
    }

    /// Stops the engine's tasks: intake stops, in-flight writes finish
    /// within `shutdown_timeout`, the rest is abandoned (and retried from
    /// the outbox by whatever runs next).
    async fn stop_engine(&mut self, deadline: Instant) {
        self.engine_cancel.cancel();
        let tasks = &mut self.engine_tasks;
        let drain = async { while tasks.join_next().await.is_some() {} };
        if tokio::time::timeout_at(deadline, drain).await.is_err() {
            tracing::warn!("drain deadline reached; abandoning unfinished engine tasks (they will be retried)");
            self.engine_tasks.abort_all();
            while self.engine_tasks.join_next().await.is_some() {}
        }
    }

    /// Starts `engine`'s tasks and makes it the running engine.
    fn start_engine(&mut self, engine: Arc<Engine>) {
        self.engine_cancel = CancellationToken::new();
        self.engine_tasks = engine.spawn(&self.engine_cancel);
        self.engine.set(engine);
    }

    /// Stops intake, lets in-flight writes finish (bounded by
    /// `shutdown_timeout`), and returns. Nothing depends on a clean stop:
    /// everything acknowledged is already committed.
    pub async fn shutdown(mut self) {
        self.observer.board.set_ready_store(false);
        let deadline = Instant::now() + self.config.get().daemon.shutdown_timeout;
        self.face_cancel.cancel();
        self.stop_engine(deadline).await;
        let tasks = &mut self.face_tasks;
        let drain = async { while tasks.join_next().await.is_some() {} };
        if tokio::time::timeout_at(deadline, drain).await.is_err() {
            tracing::warn!("shutdown deadline reached; abandoning open connections");
            self.face_tasks.abort_all();
        }
    }
}
