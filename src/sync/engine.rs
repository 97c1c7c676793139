//! Wiring of the engine: clients and resolved flows shared by the poller,
//! planner and writers, and the tasks that run them until shutdown.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};

use tokio::sync::{Notify, broadcast};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::fields::{self, ResolvedField};
use super::metrics::Metrics;
use super::status::StatusBoard;
use crate::config::{Config, ConflictPolicy, FlowConfig, Role};
use crate::ids::InstanceId;
use crate::jira::client::JiraClient;
use crate::mapping;
use crate::store::Store;

/// A flow with its fields resolved on both sites.
pub struct FlowRt {
    pub cfg: FlowConfig,
    pub fields: Vec<ResolvedField>,
    pub rules: Vec<mapping::FieldRule>,
    pub status: mapping::StatusRule,
    pub conflict: mapping::Conflict,
}

/// Something that happened, for people watching (the demo) and tests.
#[derive(Debug, Clone)]
pub enum EngineEvent {
    /// A write to Jira succeeded.
    Written { flow: String, instance: String, action: &'static str, key: String, latency_ms: i64 },
    /// A write was given up and dead-lettered.
    DeadLettered { flow: String, instance: String, error: String },
    /// Both sides changed one field; the policy chose.
    Conflict { flow: String, field: String, winner: String },
}

/// What every engine task shares.
pub struct Ctx {
    pub config: Arc<Config>,
    pub store: Store,
    pub clients: BTreeMap<InstanceId, Arc<JiraClient>>,
    pub flows: Vec<FlowRt>,
    pub primary: InstanceId,
    pub wake_planner: Arc<Notify>,
    pub wake_writers: Arc<Notify>,
    /// Links (or source issues, before their link exists) with jobs not
    /// yet done: the planner waits for them, so it never plans on top of a
    /// write still in flight.
    pub pending: Mutex<HashSet<String>>,
    pub events: broadcast::Sender<EngineEvent>,
    pub board: Arc<StatusBoard>,
    pub metrics: Arc<Metrics>,
}

impl Ctx {
    pub fn client(&self, id: &str) -> Option<&Arc<JiraClient>> {
        self.clients.get(id)
    }

    pub fn flow(&self, name: &str) -> Option<&FlowRt> {
        self.flows.iter().find(|f| f.cfg.name.as_str() == name)
    }

    pub fn pending_insert(&self, key: String) {
        self.pending.lock().unwrap_or_else(|p| p.into_inner()).insert(key);
    }

    pub fn pending_remove(&self, key: &str) {
        self.pending.lock().unwrap_or_else(|p| p.into_inner()).remove(key);
    }

    pub fn is_pending(&self, key: &str) -> bool {
        self.pending.lock().unwrap_or_else(|p| p.into_inner()).contains(key)
    }

    pub fn emit(&self, e: EngineEvent) {
        match &e {
            EngineEvent::Conflict { flow, .. } => self.board.record_conflict(flow),
            EngineEvent::DeadLettered { flow, error, .. } => {
                self.board.record_flow_error(flow, now_ms(), error.clone())
            }
            EngineEvent::Written { flow, latency_ms, .. } => {
                self.board.record_sync(flow, now_ms());
                self.metrics.propagation(flow, *latency_ms as f64 / 1000.0);
            }
        }
        // Nobody listening is fine.
        let _ = self.events.send(e);
    }
}

pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn conflict(p: ConflictPolicy) -> mapping::Conflict {
    match p {
        ConflictPolicy::PrimaryWins => mapping::Conflict::PrimaryWins,
        ConflictPolicy::SecondaryWins => mapping::Conflict::SecondaryWins,
        ConflictPolicy::NewestWins => mapping::Conflict::NewestWins,
    }
}

/// Builds the clients and resolves every flow's fields against the live
/// sites. Every problem is reported at once.
pub async fn prepare(config: Arc<Config>, store: Store) -> anyhow::Result<Arc<Ctx>> {
    let mut clients = BTreeMap::new();
    for inst in config.instances.values() {
        let c = JiraClient::new(inst).map_err(|e| anyhow::anyhow!("instance {}: {e}", inst.id))?;
        clients.insert(inst.id.clone(), Arc::new(c));
    }
    let primary = config.primary().id.clone();
    let board = Arc::new(StatusBoard::from_config(&config));
    let mut problems = Vec::new();
    let mut catalogues = BTreeMap::new();
    for (id, c) in &clients {
        let inst = &config.instances[id];
        let probe = c.clone();
        board.register_instance(
            id.as_str(),
            inst.role,
            inst.flavour,
            Arc::new(move || probe.transport().limiter().state()),
        );
        match c.myself().await {
            Ok(_) => board.record_auth(id.as_str(), true, now_ms(), None),
            Err(e) => {
                board.record_auth(id.as_str(), false, now_ms(), Some(e.to_string()));
                problems.push(format!("instance {id}: cannot authenticate: {e}"));
                continue;
            }
        }
        match c.fields().await {
            Ok(cat) => {
                catalogues.insert(id.clone(), cat);
            }
            Err(e) => problems.push(format!("instance {id}: cannot read fields: {e}")),
        }
    }
    let mut flows = Vec::new();
    for f in &config.flows {
        let (Some(s), Some(p)) = (catalogues.get(&f.secondary), catalogues.get(&primary)) else { continue };
        match fields::resolve(f, s, p) {
            Ok(resolved) => flows.push(FlowRt {
                rules: fields::rules(&resolved),
                fields: resolved,
                status: mapping::StatusRule {
                    to_primary: f.status.to_primary.iter().map(|(a, b)| (a.clone(), b.clone())).collect(),
                    to_secondary: f.status.to_secondary.iter().map(|(a, b)| (a.clone(), b.clone())).collect(),
                },
                conflict: conflict(f.conflict),
                cfg: f.clone(),
            }),
            Err(p) => problems.extend(p),
        }
    }
    if !problems.is_empty() {
        anyhow::bail!("cannot start:\n  - {}", problems.join("\n  - "));
    }
    let (events, _) = broadcast::channel(1024);
    let pending = Mutex::new(pending_in_outbox(&store)?);
    Ok(Arc::new(Ctx {
        config,
        store,
        clients,
        flows,
        primary,
        wake_planner: Arc::new(Notify::new()),
        wake_writers: Arc::new(Notify::new()),
        pending,
        events,
        board,
        metrics: Arc::new(Metrics::new()),
    }))
}

/// Jobs left in the outbox by an earlier run (a crash, a reload) are in
/// flight as much as those planned in this one: planning on top of them would
/// diff against a shadow they are about to replace (and lose an edit to a
/// conflict), or queue a second create of the same mirror. The heads of the
/// queues are enough: a target's queue belongs to one link or one source.
fn pending_in_outbox(store: &Store) -> anyhow::Result<HashSet<String>> {
    let heads = store.outbox_ready(i64::MAX, usize::MAX)?;
    let jobs = heads.iter().filter_map(|e| super::job::Job::from_bytes(&e.payload));
    Ok(jobs.map(|j| super::writer::pending_key(&j)).filter(|k| !k.is_empty()).collect())
}

/// Starts the poller of every instance, the planner and a writer per
/// instance; they stop when `cancel` fires and are joined by the caller.
pub fn spawn(ctx: &Arc<Ctx>, cancel: &CancellationToken) -> JoinSet<()> {
    let mut set = JoinSet::new();
    for inst in ctx.config.instances.values() {
        let polls = inst.role == Role::Primary || ctx.flows.iter().any(|f| f.cfg.secondary == inst.id);
        if polls {
            set.spawn(super::poller::run(ctx.clone(), inst.id.clone(), cancel.clone()));
        }
        set.spawn(super::writer::run(ctx.clone(), inst.id.clone(), cancel.clone()));
    }
    set.spawn(super::planner::run(ctx.clone(), cancel.clone()));
    set.spawn(super::housekeeping::run(ctx.clone(), cancel.clone()));
    set
}
