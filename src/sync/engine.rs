//! The engine: its parts, put together once at start, and the tasks that
//! run them until shutdown. Each part has one job and can be built alone
//! (the planner's and writer's unit tests build an engine from in-memory
//! sites, an in-memory store and a manual clock).

use std::sync::Arc;

use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::activity::Activity;
use super::flows::Flows;
use super::in_flight::InFlight;
use super::link_echoes::LinkEchoes;
use super::sites::Sites;
use super::supervise::{self, Task};
use super::wake::Wakeups;
use super::writer::Lookups;
use crate::clock::Clock;
use crate::config::{Config, Role};
use crate::ids::InstanceId;
use crate::jira::Site;
use crate::observe::Observer;
use crate::store::Store;

/// Everything the poller, planner and writers share.
pub struct Engine {
    /// The configuration it runs with.
    pub config: Arc<Config>,
    pub store: Store,
    /// Fixed at start: the connected sites and the flows resolved on them.
    pub sites: Sites,
    pub flows: Flows,
    /// Coordination between planner and writers.
    pub in_flight: InFlight,
    /// Shared with the engine a reload replaces this one with, so that
    /// recent activity and expected link echoes are not forgotten.
    pub activity: Arc<Activity>,
    /// The issue-link webhooks of jirafed's own link writes, expected.
    pub link_echoes: Arc<LinkEchoes>,
    /// The issues the planner planned lately, whose next changes settle.
    pub bursts: super::planner::settle::Bursts,
    pub wake: Wakeups,
    /// The writers' cache of users and projects per site.
    pub lookups: Lookups,
    /// Where status, metrics and events go.
    pub observer: Arc<Observer>,
    pub clock: Clock,
}

impl Engine {
    /// Connects every site, resolves every flow and picks up the work an
    /// earlier run left queued. Every problem is reported at once.
    pub async fn prepare(
        config: Arc<Config>,
        store: Store,
        observer: Arc<Observer>,
        clock: Clock,
    ) -> anyhow::Result<Engine> {
        let sites = Sites::connect_observed(&config, &observer).await;
        Engine::assemble(config, store, sites, observer, clock)
    }

    /// [`Engine::prepare`] with sites already connected (tests connect
    /// in-memory ones).
    pub fn assemble(
        config: Arc<Config>,
        store: Store,
        sites: Sites,
        observer: Arc<Observer>,
        clock: Clock,
    ) -> anyhow::Result<Engine> {
        report_sites(&sites, &observer, clock.now_ms());
        let mut problems = sites.problems();
        let flows = match Flows::resolve(&config, &sites) {
            Ok(flows) => Some(flows),
            Err(p) => {
                problems.extend(p);
                None
            }
        };
        let Some(flows) = flows.filter(|_| problems.is_empty()) else {
            anyhow::bail!("cannot start:\n  - {}", problems.join("\n  - "));
        };
        let in_flight = InFlight::rebuild(&store, &flows.primary)?;
        Ok(Engine {
            wake: Wakeups::new(config.instances.keys().cloned()),
            config,
            store,
            sites,
            flows,
            in_flight,
            activity: Arc::default(),
            link_echoes: Arc::default(),
            bursts: Default::default(),
            lookups: Lookups::default(),
            observer,
            clock,
        })
    }

    pub fn primary(&self) -> &InstanceId {
        &self.flows.primary
    }

    pub fn site(&self, id: &str) -> Option<&Arc<dyn Site>> {
        self.sites.get(id)
    }

    /// [`Engine::site`], or an error naming the instance.
    pub fn connected(&self, id: &str) -> anyhow::Result<Arc<dyn Site>> {
        self.site(id).cloned().ok_or_else(|| anyhow::anyhow!("site {id} is not connected"))
    }

    pub fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    /// The engine's tasks: the poller of every instance that has something
    /// to poll, a writer per instance, the planner, housekeeping and the
    /// store probe; each stops when `cancel` fires.
    pub fn tasks(self: &Arc<Self>, cancel: &CancellationToken) -> Vec<Task> {
        let mut tasks = Vec::new();
        for inst in self.config.instances.values() {
            let id = inst.id.clone();
            let polls = inst.role == Role::Primary || self.flows.of_secondary(id.as_str()).next().is_some();
            if polls {
                let (engine, id, cancel) = (self.clone(), id.clone(), cancel.clone());
                let name = format!("poller.{id}");
                tasks.push(Task::new(name, move || super::poller::run(engine.clone(), id.clone(), cancel.clone())));
            }
            let (engine, name, cancel) = (self.clone(), super::writer::heartbeat(&id), cancel.clone());
            tasks.push(Task::new(name, move || super::writer::run(engine.clone(), id.clone(), cancel.clone())));
        }
        let (engine, c) = (self.clone(), cancel.clone());
        tasks.push(Task::new(super::planner::HEARTBEAT, move || super::planner::run(engine.clone(), c.clone())));
        let (engine, c) = (self.clone(), cancel.clone());
        tasks.push(Task::new("housekeeping", move || super::housekeeping::run(engine.clone(), c.clone())));
        let (engine, c) = (self.clone(), cancel.clone());
        tasks.push(Task::new("reconcile", move || super::reconcile::run(engine.clone(), c.clone())));
        let (store, observer, c) = (self.store.clone(), self.observer.clone(), cancel.clone());
        tasks.push(Task::new(supervise::STORE, move || {
            supervise::probe_store(store.clone(), observer.clone(), c.clone())
        }));
        tasks
    }

    /// Starts [`Engine::tasks`], each under a supervisor that restarts it
    /// when it ends or panics before `cancel` fires, and watches the
    /// heartbeats of the planner, the writers and the store. The caller
    /// joins the set after cancelling.
    pub fn spawn(self: &Arc<Self>, cancel: &CancellationToken) -> JoinSet<()> {
        self.spawn_tasks(self.tasks(cancel), cancel)
    }

    /// [`Engine::spawn`] without the pollers and reconciliation: the
    /// planner and the writers carry out what is queued (a standalone
    /// `jirafed import`), and nothing new is looked for.
    pub fn spawn_writing(self: &Arc<Self>, cancel: &CancellationToken) -> JoinSet<()> {
        let tasks = self
            .tasks(cancel)
            .into_iter()
            .filter(|t| !t.name.starts_with("poller.") && t.name != "reconcile")
            .collect();
        self.spawn_tasks(tasks, cancel)
    }

    fn spawn_tasks(self: &Arc<Self>, tasks: Vec<Task>, cancel: &CancellationToken) -> JoinSet<()> {
        let mut watched = vec![super::planner::HEARTBEAT.to_string(), supervise::STORE.to_string()];
        watched.extend(self.config.instances.keys().map(super::writer::heartbeat));
        self.observer.board.heartbeats.watch(watched);
        let mut set = JoinSet::new();
        for task in tasks {
            set.spawn(supervise::supervise(task, self.observer.clone(), cancel.clone()));
        }
        set
    }
}

/// Each site's probe and the outcome of its authentication, on the board.
fn report_sites(sites: &Sites, observer: &Observer, now_ms: i64) {
    for (id, entry) in sites.entries() {
        let Some(site) = entry.site.clone() else { continue };
        observer.board.register_instance(id.as_str(), entry.role, site.flavour(), Arc::new(move || site.health()));
        match &entry.connection {
            Ok(_) => observer.board.record_auth(id.as_str(), true, now_ms, None),
            Err(e) => observer.board.record_auth(id.as_str(), false, now_ms, Some(e.clone())),
        }
    }
}
