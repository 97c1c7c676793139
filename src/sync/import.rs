//! `jirafed import`: mirrors the issues of a flow that exist already. The
//! plan reads the flow's issues on both sides (its scope, and its
//! `primary_scope` when it pushes) and tells each one apart: paired already,
//! its pairing ended, to pair with a mirror that exists (by provenance mark,
//! then by `--match-field`), or to create. Pairs are made at once, levelled
//! as `jirafed link` levels them; creates go through the planner as
//! changes of their issues, a window at a time, so that the writers make
//! them at each target's write budget, parents first and links once both
//! ends are mirrored, as for any change. Nothing of an import is kept
//! apart from what it made: run again, it finds what is paired and goes on
//! with the rest, and a create whose answer was lost is found by its mark.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::engine::Engine;
use super::flows::ResolvedFlow;
use super::in_flight::SiteIssue;
use super::job::{Action, Job};
use super::pairing;
use super::writer::replan_issue;
use crate::config::CreatePolicy;
use crate::jira::Site;
use crate::jira::mark::{Mark, is_mark};
use crate::jira::model::Issue;
use crate::store::{Op, StoreError};

/// Issues read per search page.
const PAGE: usize = 100;
/// Marks looked for per search.
const MARKS_PER_SEARCH: usize = 50;
/// Pairs committed at once.
const PAIRS_PER_COMMIT: usize = 50;
/// How often an import looks at what has become of its creates.
const TICK: Duration = Duration::from_millis(200);
/// Creates in flight at once: this many seconds of the target's write
/// budget (at least [`MIN_WINDOW`]), so that the writers never run dry and
/// live changes never wait long behind an import.
const WINDOW_SECONDS: f64 = 5.0;
const MIN_WINDOW: usize = 20;
/// With nothing left to plan or write, creates still not made after this
/// long are reported as not made.
const STALL: Duration = Duration::from_secs(5);

/// What `jirafed import` asks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportRequest {
    pub flow: String,
    /// JQL added to the flow's scopes (`AND`).
    pub jql: Option<String>,
    /// Plan only.
    pub dry_run: bool,
    /// At most this many issues created or paired; the rest are left for
    /// the next run.
    pub limit: Option<usize>,
    /// `summary` (equal summaries: a guess), or a field of the primary
    /// holding the secondary issue's key.
    pub match_field: Option<String>,
}

/// What becomes of one issue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Create,
    Pair,
    Skip,
}

/// One issue of the plan.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Entry {
    pub verdict: Verdict,
    /// The site the issue is on.
    pub instance: String,
    pub key: String,
    pub id: String,
    pub summary: String,
    /// The issue it is paired with, or will be.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub with: Option<String>,
    /// Why: how a pair was found, or why it is skipped.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub why: String,
    /// A pair found by equal summaries: to be reviewed.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub guess: bool,
    /// Both issues, for a pair to make.
    #[serde(skip)]
    pair: Option<Box<PairFound>>,
}

#[derive(Debug, Clone)]
struct PairFound {
    secondary: Issue,
    primary: Issue,
    /// jirafed made the mirror (its provenance mark).
    by_mark: bool,
    /// The mirror is the secondary issue, pushed from the primary one.
    pushed: bool,
}

/// The plan of an import.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Plan {
    pub flow: String,
    pub dry_run: bool,
    pub entries: Vec<Entry>,
    /// Issues to create or pair left out by `--limit`.
    pub beyond_limit: usize,
}

impl Plan {
    pub fn count(&self, verdict: Verdict) -> usize {
        self.entries.iter().filter(|e| e.verdict == verdict).count()
    }
}

/// What an import has done so far.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    pub to_create: usize,
    pub created: usize,
    pub to_pair: usize,
    pub paired: usize,
    /// Issues not mirrored, with why.
    pub failed: Vec<Failure>,
    pub finished: bool,
    /// Why the import stopped before its end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Progress {
    /// Issues dealt with (made, paired or failed), of `total()`.
    pub fn done(&self) -> usize {
        self.created + self.paired + self.failed.len()
    }

    pub fn total(&self) -> usize {
        self.to_create + self.to_pair
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    pub key: String,
    pub error: String,
}

/// How issues are matched beyond their provenance mark.
enum Matching {
    None,
    Summary,
    /// A field of the primary holding the secondary issue's key.
    Field(String),
}

/// Reads both sides of `req.flow` and plans the import; writes nothing.
pub async fn plan(engine: &Engine, req: &ImportRequest) -> anyhow::Result<Plan> {
    let flow = pairing::flow(engine, &req.flow)?;
    let primary = engine.primary().as_str();
    let secondary = flow.cfg.secondary.as_str();
    let p_site = engine.connected(primary)?;
    let s_site = engine.connected(secondary)?;
    let up = matches!(flow.cfg.create, CreatePolicy::ToPrimary | CreatePolicy::Both);
    let down = matches!(flow.cfg.create, CreatePolicy::ToSecondary | CreatePolicy::Both);
    let matching = matching(p_site.as_ref(), req.match_field.as_deref()).await?;

    let mut s_fields = flow.field_ids(false);
    s_fields.extend(["summary", "created"].map(String::from));
    let scope = with_extra(&flow.cfg.scope, req.jql.as_deref());
    let mut sources = search_all(s_site.as_ref(), &scope, &s_fields).await?;
    sort_oldest_first(&mut sources);

    let busy = engine.in_flight.busy_issues();
    let mut entries = Vec::new();
    let mut open = Vec::new();
    for issue in sources {
        if let Some(l) = engine.store.link_by_secondary(secondary, issue.id.as_str())? {
            entries.push(entry(Verdict::Skip, secondary, &issue, Some(l.primary_key), "already paired"));
        } else if let Some(e) = engine.store.ended(secondary, issue.id.as_str())? {
            let why = format!("its pairing ended ({}); `jirafed link` pairs it again", e.reason);
            entries.push(entry(Verdict::Skip, secondary, &issue, Some(e.primary_key), &why));
        } else if issue.labels.iter().any(|l| is_mark(l)) {
            entries.push(entry(Verdict::Skip, secondary, &issue, None, "a copy jirafed made of a primary issue"));
        } else if busy.contains(&SiteIssue::new(secondary, issue.id.as_str())) {
            // Its create is queued (an earlier run): waited for, not planned again.
            entries.push(entry(Verdict::Create, secondary, &issue, None, "being created (queued earlier)"));
        } else {
            open.push(issue);
        }
    }

    // Mirrors jirafed made whose pairing is not recorded (a lost state).
    let p_project = format!("project = \"{}\"", flow.cfg.primary_project);
    let p_fields = flow.field_ids(true);
    let marks: Vec<Mark> = open.iter().map(|i| Mark::of(flow.name(), secondary, i.id.as_str())).collect();
    let marked = by_mark(p_site.as_ref(), &p_project, &marks, &p_fields).await?;
    let index = match &matching {
        Matching::None => Index::default(),
        Matching::Summary => index(engine, flow, p_site.as_ref(), &p_project, "summary", &p_fields).await?,
        Matching::Field(id) => index(engine, flow, p_site.as_ref(), &p_project, id, &p_fields).await?,
    };
    let mut taken: HashSet<String> = HashSet::new();
    for (issue, mark) in open.into_iter().zip(marks) {
        if let Some(mirror) = marked.get(mark.as_str()) {
            if let Some(other) = mirrored_in_flow(engine, flow, mirror)? {
                let why = format!("its mirror {} is paired with {other}", mirror.key);
                entries.push(entry(Verdict::Skip, secondary, &issue, Some(mirror.key.to_string()), &why));
            } else {
                taken.insert(mirror.id.to_string());
                entries.push(pair_entry(secondary, issue, mirror.clone(), "provenance mark", false, true));
            }
            continue;
        }
        let wanted = match &matching {
            Matching::None => None,
            Matching::Summary => issue.text_of("summary"),
            Matching::Field(_) => Some(issue.key.to_string()),
        };
        let found: Vec<Issue> = wanted
            .as_ref()
            .map(|w| index.get(w).into_iter().filter(|m| !taken.contains(m.id.as_str())).collect())
            .unwrap_or_default();
        match (found.len(), &matching) {
            (0, _) if up => entries.push(entry(Verdict::Create, secondary, &issue, None, "")),
            (0, _) => {
                let why =
                    format!("no mirror found, and the flow's create = {:?} makes none on the primary", flow.cfg.create);
                entries.push(entry(Verdict::Skip, secondary, &issue, None, &why));
            }
            (1, Matching::Summary) => {
                let m = found.into_iter().next().expect("one");
                taken.insert(m.id.to_string());
                entries.push(pair_entry(secondary, issue, m, "equal summaries (a guess: review it)", true, false));
            }
            (1, Matching::Field(id)) => {
                let m = found.into_iter().next().expect("one");
                taken.insert(m.id.to_string());
                let why = format!("{id} of {} holds {}", m.key, issue.key);
                entries.push(pair_entry(secondary, issue, m, &why, false, false));
            }
            (_, _) => {
                let keys: Vec<String> = found.iter().map(|m| m.key.to_string()).collect();
                let why = format!("several issues match it ({}): pair it with `jirafed link`", keys.join(", "));
                entries.push(entry(Verdict::Skip, secondary, &issue, None, &why));
            }
        }
    }

    if let Some(primary_scope) = flow.cfg.primary_scope.as_ref().filter(|_| down) {
        let mut p_read = p_fields.clone();
        p_read.extend(["summary", "created"].map(String::from));
        let scope = with_extra(primary_scope, req.jql.as_deref());
        let mut issues = search_all(p_site.as_ref(), &scope, &p_read).await?;
        sort_oldest_first(&mut issues);
        entries.extend(plan_pushes(engine, flow, s_site.as_ref(), issues, &taken).await?);
    }

    let mut beyond_limit = 0;
    if let Some(limit) = req.limit {
        let mut acting = 0;
        entries.retain(|e| {
            if e.verdict == Verdict::Skip {
                return true;
            }
            acting += 1;
            if acting > limit {
                beyond_limit += 1;
            }
            acting <= limit
        });
    }
    Ok(Plan { flow: flow.name().to_string(), dry_run: req.dry_run, entries, beyond_limit })
}

/// The primary issues a pushing flow's `primary_scope` selects: paired,
/// ended, found mirrored by mark on the secondary, or to create there.
async fn plan_pushes(
    engine: &Engine,
    flow: &ResolvedFlow,
    s_site: &dyn Site,
    issues: Vec<Issue>,
    taken: &HashSet<String>,
) -> anyhow::Result<Vec<Entry>> {
    let primary = engine.primary().as_str();
    let mut entries = Vec::new();
    let mut open = Vec::new();
    for issue in issues {
        if taken.contains(issue.id.as_str()) || issue.labels.iter().any(|l| is_mark(l)) {
            // Paired by this plan already, or itself a mirror.
            continue;
        }
        if let Some(l) = mirrored_in_flow(engine, flow, &issue)? {
            entries.push(entry(Verdict::Skip, primary, &issue, Some(l), "already paired"));
        } else if let Some(e) = engine.store.ended(primary, issue.id.as_str())? {
            let why = format!("its pairing ended ({}); `jirafed link` pairs it again", e.reason);
            entries.push(entry(Verdict::Skip, primary, &issue, Some(e.secondary_key), &why));
        } else {
            open.push(issue);
        }
    }
    let s_project = format!("project = \"{}\"", flow.cfg.secondary_project.clone().unwrap_or_default());
    let marks: Vec<Mark> = open.iter().map(|i| Mark::of(flow.name(), primary, i.id.as_str())).collect();
    let marked = by_mark(s_site, &s_project, &marks, &flow.field_ids(false)).await?;
    for (issue, mark) in open.into_iter().zip(marks) {
        match marked.get(mark.as_str()) {
            Some(copy) if engine.store.link_by_secondary(flow.cfg.secondary.as_str(), copy.id.as_str())?.is_none() => {
                // Listed under the primary issue, paired with its copy.
                let mut e = entry(Verdict::Pair, primary, &issue, Some(copy.key.to_string()), "provenance mark");
                e.pair =
                    Some(Box::new(PairFound { secondary: copy.clone(), primary: issue, by_mark: true, pushed: true }));
                entries.push(e);
            }
            Some(copy) => {
                let why = format!("its copy {} is paired with another issue", copy.key);
                entries.push(entry(Verdict::Skip, primary, &issue, Some(copy.key.to_string()), &why));
            }
            None => entries.push(entry(Verdict::Create, primary, &issue, None, "")),
        }
    }
    Ok(entries)
}

fn entry(verdict: Verdict, instance: &str, issue: &Issue, with: Option<String>, why: &str) -> Entry {
    Entry {
        verdict,
        instance: instance.to_string(),
        key: issue.key.to_string(),
        id: issue.id.to_string(),
        summary: issue.text_of("summary").unwrap_or_default(),
        with,
        why: why.to_string(),
        guess: false,
        pair: None,
    }
}

/// A secondary issue to pair with `primary`.
fn pair_entry(instance: &str, secondary: Issue, primary: Issue, why: &str, guess: bool, by_mark: bool) -> Entry {
    let mut e = entry(Verdict::Pair, instance, &secondary, Some(primary.key.to_string()), why);
    e.guess = guess;
    e.pair = Some(Box::new(PairFound { secondary, primary, by_mark, pushed: false }));
    e
}

/// The secondary key a primary issue mirrors in `flow`, if it does.
fn mirrored_in_flow(engine: &Engine, flow: &ResolvedFlow, primary: &Issue) -> anyhow::Result<Option<String>> {
    let links = engine.store.links_by_primary(primary.id.as_str())?;
    Ok(links.into_iter().find(|l| l.flow == flow.name()).map(|l| l.secondary_key))
}

async fn matching(p_site: &dyn Site, field: Option<&str>) -> anyhow::Result<Matching> {
    let Some(field) = field else { return Ok(Matching::None) };
    if field.eq_ignore_ascii_case("summary") {
        return Ok(Matching::Summary);
    }
    let catalogue = p_site.fields().await.map_err(|e| anyhow::anyhow!("{}: {e}", p_site.id()))?;
    let found = catalogue.resolve(field).map_err(|e| anyhow::anyhow!("--match-field: {e}"))?;
    Ok(Matching::Field(found.id.clone()))
}

/// `scope AND (extra)`.
fn with_extra(scope: &str, extra: Option<&str>) -> String {
    match extra.map(str::trim).filter(|e| !e.is_empty()) {
        Some(e) => format!("({scope}) AND ({e})"),
        None => scope.to_string(),
    }
}

fn sort_oldest_first(issues: &mut [Issue]) {
    issues.sort_by_key(|i| (i.created, i.id.as_str().parse::<u64>().unwrap_or(u64::MAX), i.key.to_string()));
}

async fn search_all(site: &dyn Site, jql: &str, fields: &[String]) -> anyhow::Result<Vec<Issue>> {
    let fields: Vec<&str> = fields.iter().map(String::as_str).collect();
    let mut all = Vec::new();
    let mut from = None;
    loop {
        let page = site
            .search_page(jql, &fields, PAGE, from)
            .await
            .map_err(|e| anyhow::anyhow!("{} ({jql}): {e}", site.id()))?;
        all.extend(page.issues);
        match page.next {
            Some(next) => from = Some(next),
            None => return Ok(all),
        }
    }
}

/// The issues of `scope` carrying one of `marks`, by mark.
async fn by_mark(
    site: &dyn Site,
    scope: &str,
    marks: &[Mark],
    fields: &[String],
) -> anyhow::Result<HashMap<String, Issue>> {
    let mut found = HashMap::new();
    let wanted: HashSet<&str> = marks.iter().map(Mark::as_str).collect();
    for chunk in marks.chunks(MARKS_PER_SEARCH) {
        let list: Vec<String> = chunk.iter().map(|m| format!("\"{m}\"")).collect();
        let jql = format!("{scope} AND labels in ({})", list.join(", "));
        for issue in search_all(site, &jql, fields).await? {
            for l in issue.labels.iter().filter(|l| wanted.contains(l.as_str())) {
                found.insert(l.clone(), issue.clone());
            }
        }
    }
    Ok(found)
}

/// Primary issues by the text of one field, those that mirror nothing in
/// the flow and are no copies jirafed made.
#[derive(Default)]
struct Index(HashMap<String, Vec<Issue>>);

impl Index {
    fn get(&self, text: &str) -> Vec<Issue> {
        self.0.get(text).cloned().unwrap_or_default()
    }
}

async fn index(
    engine: &Engine,
    flow: &ResolvedFlow,
    site: &dyn Site,
    scope: &str,
    field: &str,
    fields: &[String],
) -> anyhow::Result<Index> {
    let mut read = fields.to_vec();
    read.push(field.to_string());
    let mut index: HashMap<String, Vec<Issue>> = HashMap::new();
    for issue in search_all(site, scope, &read).await? {
        if issue.labels.iter().any(|l| is_mark(l)) || mirrored_in_flow(engine, flow, &issue)?.is_some() {
            continue;
        }
        if let Some(text) = issue.text_of(field) {
            index.entry(text).or_default().push(issue);
        }
    }
    Ok(Index(index))
}

/// Carries out `plan`: pairs first, then the creates a window at a time,
/// until each is made, refused (a dead letter) or found not to be made.
/// `progress` says how far it got, and `finished` at the end.
pub async fn execute(engine: Arc<Engine>, plan: Plan, progress: Arc<Mutex<Progress>>) {
    let result = execute_inner(&engine, &plan, &progress).await;
    let mut p = progress.lock().expect("import progress");
    if let Err(e) = result {
        tracing::warn!(flow = %plan.flow, error = %format!("{e:#}"), "import stopped");
        p.error = Some(format!("{e:#}"));
    }
    p.finished = true;
    tracing::info!(flow = %plan.flow, created = p.created, paired = p.paired, failed = p.failed.len(), "import done");
}

async fn execute_inner(engine: &Engine, plan: &Plan, progress: &Mutex<Progress>) -> anyhow::Result<()> {
    let flow = pairing::flow(engine, &plan.flow)?;
    let pairs: Vec<&Entry> = plan.entries.iter().filter(|e| e.verdict == Verdict::Pair).collect();
    let creates: Vec<&Entry> = plan.entries.iter().filter(|e| e.verdict == Verdict::Create).collect();
    {
        let mut p = progress.lock().expect("import progress");
        p.to_pair = pairs.len();
        p.to_create = creates.len();
    }
    for chunk in pairs.chunks(PAIRS_PER_COMMIT) {
        let mut batch = Vec::new();
        for e in chunk {
            let Some(found) = &e.pair else { continue };
            let (s, p) = (&found.secondary, &found.primary);
            // Paired meanwhile (a live change, an earlier run): nothing to do.
            let paired = engine.store.link_by_secondary(flow.cfg.secondary.as_str(), s.id.as_str())?.is_some()
                || mirrored_in_flow(engine, flow, p)?.is_some();
            if !paired {
                batch.push((
                    s.id.to_string(),
                    pairing::pair_ops(engine, flow, s, p, None, (!found.by_mark, found.pushed)).0,
                ));
            }
        }
        let all: Vec<Op> = batch.iter().flat_map(|(_, ops)| ops.clone()).collect();
        let made: Vec<String> = match engine.store.commit(all).await {
            Ok(_) => batch.into_iter().map(|(id, _)| id).collect(),
            // One of them was paired meanwhile (a create of an earlier run
            // finishing): each on its own, those paired already left out.
            Err(StoreError::Rejected { .. }) => one_by_one(engine, batch).await?,
            Err(e) => return Err(e.into()),
        };
        for id in &made {
            super::planner::deps::complete(engine, flow.cfg.secondary.as_str(), id).await;
        }
        engine.wake.planner();
        progress.lock().expect("import progress").paired += chunk.len();
    }
    create_all(engine, flow, &creates, progress).await
}

/// Commits each pair of `batch` on its own; the secondary ids paired.
async fn one_by_one(engine: &Engine, batch: Vec<(String, Vec<Op>)>) -> anyhow::Result<Vec<String>> {
    let mut made = Vec::new();
    for (id, ops) in batch {
        match engine.store.commit(ops).await {
            Ok(_) => made.push(id),
            Err(StoreError::Rejected { .. }) => tracing::debug!(issue = %id, "paired meanwhile"),
            Err(e) => return Err(e.into()),
        }
    }
    Ok(made)
}

/// One create being waited for.
struct Waiting<'a> {
    entry: &'a Entry,
}

async fn create_all(
    engine: &Engine,
    flow: &ResolvedFlow,
    creates: &[&Entry],
    progress: &Mutex<Progress>,
) -> anyhow::Result<()> {
    let primary = engine.primary().as_str();
    let window = |instance: &str| {
        let target = if instance == primary { flow.cfg.secondary.as_str() } else { primary };
        let rate = engine.config.instances.get(target).map_or(1.0, |i| i.writes_per_second);
        ((rate * WINDOW_SECONDS) as usize).max(MIN_WINDOW)
    };
    let mut next = 0;
    let mut waiting: Vec<Waiting> = Vec::new();
    let mut quiet_since = engine.now_ms();
    loop {
        // Fill the window.
        let mut ops = Vec::new();
        while next < creates.len() && waiting.len() < window(&creates[next].instance) {
            let e = creates[next];
            ops.push(replan_issue(engine, &e.instance, &e.id, Some(&e.key)));
            waiting.push(Waiting { entry: e });
            next += 1;
        }
        if !ops.is_empty() {
            engine.store.commit(ops).await?;
            engine.wake.planner();
        }
        if waiting.is_empty() {
            return Ok(());
        }
        tokio::time::sleep(TICK).await;
        let refused = refused_creates(engine)?;
        let before = waiting.len();
        let mut made = 0;
        let mut failed = Vec::new();
        waiting.retain(|w| {
            let e = w.entry;
            if is_paired(engine, flow, &e.instance, &e.id) {
                made += 1;
                return false;
            }
            if let Some(error) = refused.get(&(e.instance.clone(), e.id.clone())) {
                failed.push(Failure {
                    key: e.key.clone(),
                    error: format!("refused: {error} (see `jirafed dead-letters list`)"),
                });
                return false;
            }
            true
        });
        if waiting.len() < before {
            quiet_since = engine.now_ms();
        } else if engine.now_ms() - quiet_since >= STALL.as_millis() as i64 && nothing_left(engine, flow)? {
            // Nothing queued would make them: the planner decided not to.
            for w in waiting.drain(..) {
                let error = "not made: the planner found nothing to create (see the log)".to_string();
                failed.push(Failure { key: w.entry.key.clone(), error });
            }
        }
        let mut p = progress.lock().expect("import progress");
        p.created += made;
        p.failed.extend(failed);
    }
}

/// Whether issue `id` on `instance` is paired in `flow`.
fn is_paired(engine: &Engine, flow: &ResolvedFlow, instance: &str, id: &str) -> bool {
    if instance == engine.primary().as_str() {
        engine.store.links_by_primary(id).is_ok_and(|ls| ls.iter().any(|l| l.flow == flow.name()))
    } else {
        engine.store.link_by_secondary(instance, id).ok().flatten().is_some()
    }
}

/// The creates Jira refused (dead letters), by their source issue.
fn refused_creates(engine: &Engine) -> anyhow::Result<BTreeMap<(String, String), String>> {
    let mut refused = BTreeMap::new();
    for d in engine.store.dead_letters()? {
        if let Some(Job { action: Action::Create { source, .. }, .. }) = Job::from_bytes(&d.entry.payload) {
            refused.insert((source.instance, source.issue_id), d.error);
        }
    }
    Ok(refused)
}

/// No change waits to be planned and no create of the flow to be written.
fn nothing_left(engine: &Engine, flow: &ResolvedFlow) -> anyhow::Result<bool> {
    if engine.store.inbox_depth()? > 0 {
        return Ok(false);
    }
    let mut after = None;
    loop {
        let page = engine.store.outbox_after(after, 500)?;
        let Some(last) = page.last() else { return Ok(true) };
        after = Some(last.seq);
        let creating = page
            .iter()
            .filter_map(|e| Job::from_bytes(&e.payload))
            .any(|j| j.flow == flow.name() && matches!(j.action, Action::Create { .. }));
        if creating {
            return Ok(false);
        }
    }
}

/// An import's flow and its progress.
type Running = (String, Arc<Mutex<Progress>>);

/// Imports remembered for their progress to be read.
const KEPT: usize = 16;

/// The imports a daemon runs, by id, and their progress.
#[derive(Default)]
pub struct Imports {
    next: Mutex<u64>,
    running: Mutex<BTreeMap<u64, Running>>,
}

impl Imports {
    /// Starts `plan` on `engine`; refused while another import of the same
    /// flow runs.
    pub fn start(&self, engine: Arc<Engine>, plan: Plan) -> anyhow::Result<u64> {
        let mut running = self.running.lock().expect("imports");
        let busy = running.values().any(|(flow, p)| *flow == plan.flow && !p.lock().expect("import progress").finished);
        if busy {
            anyhow::bail!("an import of flow {} is running already; wait for it to finish", plan.flow);
        }
        let mut next = self.next.lock().expect("imports");
        *next += 1;
        let id = *next;
        let progress = Arc::new(Mutex::new(Progress::default()));
        running.insert(id, (plan.flow.clone(), progress.clone()));
        // The last few are kept for their progress to be read.
        while running.len() > KEPT {
            running.pop_first();
        }
        tokio::spawn(execute(engine, plan, progress));
        Ok(id)
    }

    pub fn progress(&self, id: u64) -> Option<Progress> {
        let running = self.running.lock().expect("imports");
        running.get(&id).map(|(_, p)| p.lock().expect("import progress").clone())
    }
}
