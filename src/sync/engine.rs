//! Wiring of the engine: clients and resolved flows shared by the poller,
//! planner and writers, and the tasks that run them until shutdown.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};

use tokio::sync::{Notify, broadcast};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::change::Actor;
use super::fields::{self, ResolvedField};
use super::metrics::Metrics;
use super::status::StatusBoard;
use crate::config::{Config, ConflictPolicy, FlowConfig, Role};
use crate::ids::InstanceId;
use crate::jira::client::JiraClient;
use crate::mapping;
use crate::store::Store;

/// An issue on a site: (instance, Jira issue id).
pub type IssuePair = (String, String);

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
    Conflict {
        flow: String,
        field: String,
        winner: String,
        secondary_key: String,
        primary_key: String,
        /// Both values as found (canonical form).
        secondary: serde_json::Value,
        primary: serde_json::Value,
    },
}

/// How long an answer in a [`SiteCache`] is used before it is asked again.
const SITE_CACHE_MS: i64 = 10 * 60 * 1000;

/// Answers a site gave (a user by e-mail, a project), by (instance, name),
/// used for [`SITE_CACHE_MS`] so that writes do not ask again and again.
pub struct SiteCache<V> {
    entries: Mutex<HashMap<(String, String), (i64, V)>>,
}

impl<V> Default for SiteCache<V> {
    fn default() -> Self {
        SiteCache { entries: Mutex::default() }
    }
}

impl<V: Clone> SiteCache<V> {
    pub fn get(&self, instance: &str, name: &str, now_ms: i64) -> Option<V> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let (at, v) = entries.get(&(instance.to_string(), name.to_string()))?;
        (now_ms - at < SITE_CACHE_MS).then(|| v.clone())
    }

    pub fn put(&self, instance: &str, name: &str, now_ms: i64, v: V) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.insert((instance.to_string(), name.to_string()), (now_ms, v));
    }
}

/// A change of an issue this recent may still have webhooks on the way.
pub const HOT: std::time::Duration = std::time::Duration::from_secs(60);
/// How long after a write its echo may take before the site's webhooks
/// count as not confirmed.
pub const ECHO_GRACE: std::time::Duration = std::time::Duration::from_secs(10);
/// Entries kept in [`Activity::changed`] before old ones are pruned.
const ACTIVITY_LIMIT: usize = 10_000;

/// What the engine has recently seen happen on the sites.
#[derive(Debug, Default)]
pub struct Activity {
    /// Issue -> when a change not made by jirafed was last seen.
    changed: HashMap<IssuePair, i64>,
    /// Instance -> when jirafed's last write there succeeded.
    writes: HashMap<String, i64>,
    /// Instance -> when the last webhook for jirafed's own write arrived.
    echoes: HashMap<String, i64>,
}

impl Activity {
    pub fn changed(&mut self, issue: IssuePair, at_ms: i64) {
        if self.changed.len() >= ACTIVITY_LIMIT {
            let cut = at_ms - HOT.as_millis() as i64;
            self.changed.retain(|_, t| *t >= cut);
        }
        let t = self.changed.entry(issue).or_insert(at_ms);
        *t = (*t).max(at_ms);
    }

    pub fn wrote(&mut self, instance: &str, at_ms: i64) {
        self.writes.insert(instance.to_string(), at_ms);
    }

    pub fn echoed(&mut self, instance: &str, at_ms: i64) {
        let t = self.echoes.entry(instance.to_string()).or_insert(at_ms);
        *t = (*t).max(at_ms);
    }

    /// Nothing suggests `issue` on `instance` changed without jirafed
    /// knowing yet: no change of it in the last [`HOT`], and the site is
    /// seen to deliver webhooks (jirafed's own writes come back as echoes).
    pub fn quiet(&self, instance: &str, issue: &str, now_ms: i64) -> bool {
        let hot = HOT.as_millis() as i64;
        let grace = ECHO_GRACE.as_millis() as i64;
        let recent = self.changed.get(&(instance.to_string(), issue.to_string())).is_some_and(|t| now_ms - t < hot);
        let Some(echo) = self.echoes.get(instance) else { return false };
        let live = match self.writes.get(instance) {
            Some(w) => *echo + grace >= *w || now_ms - w < grace,
            None => true,
        };
        !recent && live
    }
}

/// What every engine task shares.
pub struct Ctx {
    pub config: Arc<Config>,
    pub store: Store,
    pub clients: BTreeMap<InstanceId, Arc<JiraClient>>,
    pub flows: Vec<FlowRt>,
    pub primary: InstanceId,
    /// Each site's technical user (from `/myself`): webhooks it caused are
    /// jirafed's own writes coming back.
    pub me: BTreeMap<InstanceId, Actor>,
    pub wake_planner: Arc<Notify>,
    pub wake_writers: Arc<Notify>,
    /// Links (or source issues, before their link exists) with jobs not
    /// yet done, each with the issues it pairs (instance, issue id): the
    /// planner waits for them, so it never plans on top of a write still in
    /// flight.
    pub pending: Mutex<HashMap<String, Vec<IssuePair>>>,
    pub events: broadcast::Sender<EngineEvent>,
    /// Recent changes and echoes, for deciding when a write's target must
    /// be read first (`read_target = "auto"`).
    pub activity: Mutex<Activity>,
    /// (instance, e-mail) -> the user found there, if any.
    pub users: SiteCache<Option<crate::jira::model::UserRef>>,
    /// (instance, project key) -> the project (its components and versions).
    pub projects: SiteCache<crate::jira::model::Project>,
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

    pub fn pending_insert(&self, key: String, issues: Vec<IssuePair>) {
        self.pending.lock().unwrap_or_else(|p| p.into_inner()).insert(key, issues);
    }

    /// Every issue some job in flight is about.
    pub fn busy_issues(&self) -> HashSet<IssuePair> {
        let pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        pending.values().flatten().cloned().collect()
    }

    pub fn pending_remove(&self, key: &str) {
        self.pending.lock().unwrap_or_else(|p| p.into_inner()).remove(key);
    }

    pub fn is_pending(&self, key: &str) -> bool {
        self.pending.lock().unwrap_or_else(|p| p.into_inner()).contains_key(key)
    }

    pub fn emit(&self, e: EngineEvent) {
        match &e {
            EngineEvent::Conflict { flow, .. } => self.board.record_conflict(flow, conflict_record(&e)),
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

/// A conflict as the audit log and `/status` show it.
pub fn conflict_record(e: &EngineEvent) -> serde_json::Value {
    let EngineEvent::Conflict { flow, field, winner, secondary_key, primary_key, secondary, primary } = e else {
        return serde_json::Value::Null;
    };
    serde_json::json!({
        "kind": "conflict", "flow": flow, "field": field, "winner": winner,
        "secondary_key": secondary_key, "primary_key": primary_key,
        "secondary": secondary, "primary": primary, "at_ms": now_ms(),
    })
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
    let mut me = BTreeMap::new();
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
            Ok(m) => {
                let u = m.user;
                me.insert(id.clone(), Actor { account_id: u.account_id, name: u.name, key: u.key });
                board.record_auth(id.as_str(), true, now_ms(), None)
            }
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
    let pending = Mutex::new(pending_in_outbox(&store, &primary)?);
    Ok(Arc::new(Ctx {
        config,
        store,
        clients,
        flows,
        primary,
        me,
        wake_planner: Arc::new(Notify::new()),
        wake_writers: Arc::new(Notify::new()),
        pending,
        events,
        activity: Mutex::default(),
        users: SiteCache::default(),
        projects: SiteCache::default(),
        board,
        metrics: Arc::new(Metrics::new()),
    }))
}

/// Jobs left in the outbox by an earlier run (a crash, a reload) are in
/// flight as much as those planned in this one: planning on top of them would
/// diff against a shadow they are about to replace (and lose an edit to a
/// conflict), or queue a second create of the same mirror. Every entry
/// counts, also those waiting behind a dead letter; the outbox is read in
/// pages so memory stays flat.
fn pending_in_outbox(store: &Store, primary: &InstanceId) -> anyhow::Result<HashMap<String, Vec<IssuePair>>> {
    const PAGE: usize = 1_000;
    let mut pending = HashMap::new();
    let mut after = None;
    loop {
        let page = store.outbox_after(after, PAGE)?;
        let Some(last) = page.last() else { return Ok(pending) };
        after = Some(last.seq);
        for job in page.iter().filter_map(|e| super::job::Job::from_bytes(&e.payload)) {
            let key = super::writer::pending_key(&job);
            if key.is_empty() || pending.contains_key(&key) {
                continue;
            }
            let issues = job_issues(store, primary, &job);
            pending.insert(key, issues);
        }
    }
}

/// The issues a job is about, for [`Ctx::busy_issues`].
pub fn job_issues(store: &Store, primary: &InstanceId, job: &super::job::Job) -> Vec<IssuePair> {
    if let super::job::Action::Create { source, .. } = &job.action {
        return vec![(source.instance.clone(), source.issue_id.clone())];
    }
    match job.link.and_then(|l| store.link(l).ok().flatten()) {
        Some(l) => link_issues(primary, &l),
        None => Vec::new(),
    }
}

/// Both issues of a link.
pub fn link_issues(primary: &InstanceId, l: &crate::store::LinkRecord) -> Vec<IssuePair> {
    vec![(l.secondary.clone(), l.secondary_issue.clone()), (primary.to_string(), l.primary_issue.clone())]
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
