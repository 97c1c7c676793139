//! Planning the groups of one pass: which issues each needs read, the
//! batched reads, and per linked pair the three-way plan against the shadow.

use std::collections::HashSet;

use super::super::change::Change;
use super::super::engine::Engine;
use super::super::fields::side;
use super::super::flows::ResolvedFlow;
use super::super::in_flight::{Claim, SiteIssue};
use super::super::job::{Action, Job, Source};
use super::Group;
use super::deps;
use super::reads::{self, Got, Wanted};
use super::remote;
use crate::config::{CreatePolicy, OnDelete, ReadTarget};
use crate::jira::model::Issue;
use crate::mapping;
use crate::observe::{ConflictRecord, EngineEvent};
use crate::store::{LinkRecord, Op};

/// What planning a pass produced: the issues' output, and the changes it
/// acknowledges.
#[derive(Default)]
pub(super) struct Planned {
    pub(super) out: Output,
    pub(super) acked: Vec<u64>,
}

/// What one group needs.
enum Work {
    /// A secondary issue: read it under its flow's scope (every candidate
    /// flow's when unlinked) and, when linked, its mirror.
    Secondary { link: Option<LinkRecord>, flows: Vec<usize>, read_mirror: bool },
    /// A primary issue: read it, then the secondary of every link it mirrors
    /// that is not settled.
    Primary { links: Vec<LinkRecord> },
}

pub(super) async fn plan(engine: &Engine, groups: Vec<Group>, backlog: bool) -> Planned {
    let mut planned = Planned::default();
    let mut work = Vec::new();
    for g in groups {
        match classify(engine, &g, backlog) {
            Class::Defer => {}
            Class::Done => planned.acked.extend(g.seqs),
            Class::Work(w) => work.push((g, w)),
        }
    }
    covered(&mut work, &mut planned.acked);
    let found = first_reads(engine, &work).read(engine).await;
    let second = second_reads(engine, &work, &found);
    let found2 = if second.is_empty() { reads::Found::default() } else { second.read(engine).await };
    for (g, w) in work {
        let result = match &w {
            Work::Secondary { link, flows, read_mirror } => {
                secondary(engine, &g, link.as_ref(), flows, *read_mirror, &found).await
            }
            Work::Primary { links } => primary(engine, &g, links, &found, &found2).await,
        };
        match result {
            Ok(Some(o)) => {
                planned.out.add(o);
                planned.acked.extend(g.seqs);
            }
            Ok(None) => {}
            Err(f) if f.retriable => {
                tracing::warn!(instance = %g.instance, error = %f.text, "issue read failed; kept for later")
            }
            Err(f) => {
                tracing::warn!(instance = %g.instance, error = %f.text, "change dropped: the issue cannot be read");
                planned.acked.extend(g.seqs);
            }
        }
    }
    planned
}

enum Class {
    /// A write of the issue is still in flight: plan it once it is done.
    Defer,
    /// Nothing to read or write: acknowledge.
    Done,
    Work(Work),
}

fn classify(engine: &Engine, g: &Group, backlog: bool) -> Class {
    let issue = g.change.issue_id.as_str();
    if g.instance == engine.primary().as_str() {
        let links = engine.store.links_by_primary(issue).unwrap_or_default();
        if links.iter().any(|l| engine.in_flight.link_busy(l)) {
            return Class::Defer;
        }
        // jirafed's own write to a mirror of one source: nothing can flow
        // from it (with several sources it must reach the others).
        if links.is_empty() || (g.own && links.len() == 1) {
            return Class::Done;
        }
        return Class::Work(Work::Primary { links });
    }
    let link = engine.store.link_by_secondary(&g.instance, issue).ok().flatten();
    let busy = match &link {
        Some(l) => engine.in_flight.link_busy(l),
        None => engine.in_flight.is_claimed(&Claim::Source(SiteIssue::new(&g.instance, issue))),
    };
    if busy {
        return Class::Defer;
    }
    if g.own && link.is_some() {
        return Class::Done;
    }
    let flows: Vec<usize> = match &link {
        Some(l) => engine.flows.iter().position(|f| f.name() == l.flow).into_iter().collect(),
        None => engine
            .flows
            .iter()
            .enumerate()
            .filter(|(_, f)| f.cfg.secondary.as_str() == g.instance)
            .map(|(i, _)| i)
            .collect(),
    };
    if flows.is_empty() {
        return Class::Done;
    }
    let read_mirror = match (&link, flows.first()) {
        (Some(l), Some(&i)) => backlog || !may_assume_mirror(engine, engine.flows.at(i), l),
        _ => false,
    };
    Class::Work(Work::Secondary { link, flows, read_mirror })
}

/// `read_target = "auto"`: the mirror may be taken to hold the shadow
/// (saving its read) when nothing suggests otherwise. See
/// [`crate::config::ReadTarget::Auto`] and [`Activity::quiet`](super::super::activity::Activity::quiet).
fn may_assume_mirror(engine: &Engine, flow: &ResolvedFlow, l: &LinkRecord) -> bool {
    // The policy does not matter here: a mirror taken to hold the shadow
    // has not moved, so no conflict is possible to resolve.
    if flow.cfg.read_target != ReadTarget::Auto {
        return false;
    }
    let Some(shadow) = shadow_of(engine, l.id) else { return false };
    let statuses = flow.status.to_primary.is_empty() && flow.status.to_secondary.is_empty();
    if !(statuses || shadow.status_primary.is_some()) || !flow.rules.iter().all(|r| shadow.values.contains_key(&r.key))
    {
        return false;
    }
    engine.activity.quiet(&SiteIssue::new(engine.primary().as_str(), &l.primary_issue), engine.now_ms())
}

/// A link whose secondary issue is planned in this pass does not need its
/// primary side planned too: the secondary's plan reads both sides.
fn covered(work: &mut Vec<(Group, Work)>, acked: &mut Vec<u64>) {
    let claimed: HashSet<u64> = work
        .iter()
        .filter_map(|(_, w)| match w {
            Work::Secondary { link: Some(l), .. } => Some(l.id),
            _ => None,
        })
        .collect();
    work.retain_mut(|(g, w)| {
        let Work::Primary { links } = w else { return true };
        links.retain(|l| !claimed.contains(&l.id));
        if links.is_empty() {
            acked.append(&mut g.seqs);
            return false;
        }
        true
    });
}

fn first_reads(engine: &Engine, work: &[(Group, Work)]) -> Wanted {
    let mut wanted = Wanted::default();
    let primary = engine.primary().as_str();
    for (g, w) in work {
        let issue = g.change.issue_id.as_str();
        match w {
            Work::Secondary { link, flows, read_mirror } => {
                for &i in flows {
                    let f = engine.flows.at(i);
                    wanted.add(&g.instance, Some(&f.cfg.scope), issue, &f.field_ids(false));
                }
                if let (Some(l), Some(&i), true) = (link, flows.first(), read_mirror) {
                    wanted.add(primary, None, &l.primary_issue, &engine.flows.at(i).field_ids(true));
                }
            }
            Work::Primary { links } => {
                for l in links {
                    if let Some(f) = engine.flows.get(&l.flow) {
                        wanted.add(primary, None, issue, &f.field_ids(true));
                    }
                }
            }
        }
    }
    wanted
}

/// The secondaries of primary changes whose mirror is not what the last
/// sync agreed.
fn second_reads(engine: &Engine, work: &[(Group, Work)], found: &reads::Found) -> Wanted {
    let mut wanted = Wanted::default();
    for (g, w) in work {
        let Work::Primary { links } = w else { continue };
        let Got::Issue(mirror) = found.get(engine.primary().as_str(), None, g.change.issue_id.as_str()) else {
            continue;
        };
        for l in links {
            let Some(f) = engine.flows.get(&l.flow) else { continue };
            if !settled(engine, f, l, mirror) {
                wanted.add(&l.secondary, None, &l.secondary_issue, &f.field_ids(false));
            }
        }
    }
    wanted
}

/// Planning output: ops to commit, claims with the issues they cover (for
/// jobs pushed), and versions read (instance, issue id, updated ms),
/// remembered so that a poll or webhook of the same version is a duplicate.
#[derive(Default)]
pub(crate) struct Output {
    pub(super) ops: Vec<Op>,
    pub(super) claims: Vec<(Claim, Vec<SiteIssue>)>,
    pub(super) seen: Vec<(String, String, i64)>,
}

impl Output {
    fn add(&mut self, o: Output) {
        self.ops.extend(o.ops);
        self.claims.extend(o.claims);
        self.seen.extend(o.seen);
    }

    fn saw(&mut self, instance: &str, issue: &Issue) {
        if let Some(t) = issue.updated {
            self.seen.push((instance.to_string(), issue.id.to_string(), t.timestamp_millis()));
        }
    }
}

type Outcome = Result<Option<Output>, reads::Failed>;

fn failed(e: &crate::jira::JiraError) -> reads::Failed {
    reads::Failed { retriable: e.is_retriable(), text: e.to_string() }
}

async fn secondary(
    engine: &Engine,
    g: &Group,
    link: Option<&LinkRecord>,
    flows: &[usize],
    read_mirror: bool,
    found: &reads::Found,
) -> Outcome {
    let issue_id = g.change.issue_id.as_str();
    for &i in flows {
        let flow = engine.flows.at(i);
        let source = match found.get(&g.instance, Some(&flow.cfg.scope), issue_id) {
            Got::Issue(s) => s.clone(),
            Got::Missing => continue,
            Got::Failed(f) => return Err(f.clone()),
        };
        let mut out = Output::default();
        out.saw(&g.instance, &source);
        let Some(l) = link else {
            out.ops.extend(deps::far_end_in_scope(engine, &g.instance, issue_id));
            out.add(create_mirror(engine, flow, &source, &g.change));
            return Ok(Some(out));
        };
        if !read_mirror {
            out.add(plan_link(engine, flow, l, &source, Mirror::Assumed, &g.change));
            return Ok(Some(out));
        }
        let primary = engine.primary().as_str();
        let mirror = match found.get(primary, None, &l.primary_issue) {
            Got::Issue(m) => Some(m.clone()),
            Got::Missing => reads::confirm(engine, primary, &l.primary_issue, &flow.field_ids(true))
                .await
                .map_err(|e| failed(&e))?,
            Got::Failed(f) => return Err(f.clone()),
        };
        if let Some(m) = &mirror {
            out.saw(primary, m);
        }
        out.add(plan_link(engine, flow, l, &source, Mirror::from(mirror), &g.change));
        return Ok(Some(out));
    }
    // In no flow's scope: deleted, moved out, or never in.
    Ok(Some(match link {
        Some(l) => gone(engine, l, &g.change),
        None => Output { ops: deps::far_end_out_of_scope(engine, &g.instance, issue_id), ..Output::default() },
    }))
}

async fn primary(
    engine: &Engine,
    g: &Group,
    links: &[LinkRecord],
    found: &reads::Found,
    found2: &reads::Found,
) -> Outcome {
    let p = engine.primary().as_str();
    let id = g.change.issue_id.as_str();
    let mut out = Output::default();
    for l in links {
        let Some(flow) = engine.flows.get(&l.flow) else { continue };
        let mirror = match found.get(p, None, id) {
            Got::Issue(m) => Some(m.clone()),
            Got::Missing => reads::confirm(engine, p, id, &flow.field_ids(true)).await.map_err(|e| failed(&e))?,
            Got::Failed(f) => return Err(f.clone()),
        };
        let Some(mirror) = mirror else {
            out.add(plan_link_gone_mirror(flow, l));
            continue;
        };
        out.saw(p, &mirror);
        if settled(engine, flow, l, &mirror) {
            // The mirror holds what the last sync agreed (typically the
            // echo of jirafed's own write): nothing can flow down, and the
            // secondary's own edits come as changes of their own.
            continue;
        }
        let fields = flow.field_ids(false);
        let source = match found2.get(&l.secondary, None, &l.secondary_issue) {
            Got::Issue(s) => Some(s.clone()),
            Got::Missing => {
                reads::confirm(engine, &l.secondary, &l.secondary_issue, &fields).await.map_err(|e| failed(&e))?
            }
            Got::Failed(f) => return Err(f.clone()),
        };
        match source {
            Some(s) => {
                out.saw(&l.secondary, &s);
                out.add(plan_link(engine, flow, l, &s, Mirror::Read(Box::new(mirror)), &g.change));
            }
            None => out.add(gone(engine, l, &g.change)),
        }
    }
    Ok(Some(out))
}

fn shadow_of(engine: &Engine, link: u64) -> Option<mapping::Shadow> {
    engine.store.shadow(link).ok().flatten()
}

/// The mirror's fields and status are exactly the shadow's, and its key is
/// the link's: the primary changed nothing since the last sync.
fn settled(engine: &Engine, flow: &ResolvedFlow, link: &LinkRecord, primary: &Issue) -> bool {
    let Some(shadow) = shadow_of(engine, link.id) else { return false };
    let p = side(primary, &flow.fields, true, status_of(primary));
    let same = |key: &str| match (p.values.get(key), shadow.values.get(key)) {
        (Some(a), Some(b)) => a.clone().normalise() == b.clone().normalise(),
        _ => false,
    };
    link.primary_key == primary.key.as_str()
        && p.status.is_some()
        && p.status == shadow.status_primary
        && flow.rules.iter().all(|r| same(&r.key))
        && deps::settled(engine, flow, link, primary)
        && remote::desired(engine, flow, link, primary).is_none_or(|want| want == shadow.remote_links)
}

fn status_of(issue: &Issue) -> Option<String> {
    issue.status.as_ref().map(|s| s.name.clone())
}

/// The mirror is gone: forget the pair; the source stays as it is.
fn plan_link_gone_mirror(flow: &ResolvedFlow, link: &LinkRecord) -> Output {
    tracing::info!(flow = %flow.cfg.name, link = link.id, "mirror deleted on the primary; link severed");
    Output { ops: vec![Op::LinkDelete { id: link.id }], ..Output::default() }
}

/// The primary side of a pair as the planner has it.
enum Mirror {
    Read(Box<Issue>),
    /// Read, and not there: deleted.
    Gone,
    /// Not read: taken to hold the shadow (`read_target = "auto"`).
    Assumed,
}

impl From<Option<Issue>> for Mirror {
    fn from(i: Option<Issue>) -> Mirror {
        i.map_or(Mirror::Gone, |i| Mirror::Read(Box::new(i)))
    }
}

/// A linked pair, the secondary read, the mirror read or assumed.
fn plan_link(
    engine: &Engine,
    flow: &ResolvedFlow,
    link: &LinkRecord,
    secondary: &Issue,
    mirror: Mirror,
    change: &Change,
) -> Output {
    let shadow = shadow_of(engine, link.id);
    let read = match &mirror {
        Mirror::Read(p) => Some(p.as_ref().clone()),
        _ => None,
    };
    let (p_side, p_id, p_key) = match (mirror, &shadow) {
        (Mirror::Gone, _) => return plan_link_gone_mirror(flow, link),
        (Mirror::Read(p), _) => (side(&p, &flow.fields, true, status_of(&p)), p.id.to_string(), p.key.to_string()),
        (Mirror::Assumed, Some(h)) => {
            let side = mapping::Side { values: h.values.clone(), status: h.status_primary.clone(), updated_ms: 0 };
            (side, link.primary_issue.clone(), link.primary_key.clone())
        }
        (Mirror::Assumed, None) => return Output::default(),
    };
    let s_side = side(secondary, &flow.fields, false, status_of(secondary));
    let mut plan = mapping::plan(&flow.rules, &flow.status, flow.conflict, &s_side, Some(&p_side), shadow.as_ref());
    // Kept by the engine, not the mapping: carried over as they were.
    plan.shadow.remote_links = shadow.as_ref().map(|s| s.remote_links.clone()).unwrap_or_default();
    let mut out = Output { ops: report(engine, flow, link, &plan), ..Output::default() };
    let job = |target: Option<String>, action: Action| Job {
        flow: flow.cfg.name.to_string(),
        link: Some(link.id),
        target_key: target,
        action,
        shadow_after: Some(plan.shadow.clone()),
        origin_ms: change.seen_ms,
    };
    if !plan.to_primary.is_empty() || plan.primary_status.is_some() {
        let j = job(
            Some(p_key.clone()),
            Action::Update { fields: plan.to_primary.clone(), status: plan.primary_status.clone() },
        );
        out.ops.push(push(engine, engine.primary().as_str(), &p_id, &j));
    }
    if !plan.to_secondary.is_empty() || plan.secondary_status.is_some() {
        let fields = plan
            .to_secondary
            .iter()
            .filter_map(|(k, v)| flow.fields.iter().find(|f| &f.key == k).map(|f| (f.secondary.id.clone(), v.clone())))
            .collect();
        let j = job(Some(secondary.key.to_string()), Action::Update { fields, status: plan.secondary_status.clone() });
        out.ops.push(push(engine, flow.cfg.secondary.as_str(), secondary.id.as_str(), &j));
    }
    if plan.is_empty() {
        if shadow.as_ref() != Some(&plan.shadow) {
            out.ops.push(Op::ShadowPut { link: link.id, shadow: plan.shadow.clone() });
        }
    } else {
        out.claims.push((Claim::Link(link.id), SiteIssue::of_link(engine.primary(), link)));
    }
    let moved = link.secondary_key != secondary.key.as_str() || link.primary_key != p_key;
    let link = LinkRecord { secondary_key: secondary.key.to_string(), primary_key: p_key, ..link.clone() };
    if moved {
        // Keys follow moves; ids stay.
        out.ops.push(Op::LinkPut(link.clone()));
    }
    out.add(deps::plan(engine, flow, &link, secondary, read.as_ref(), change));
    if let Some(want) = read.as_ref().and_then(|m| remote::desired(engine, flow, &link, m)) {
        out.add(remote_links(engine, flow, &link, &plan.shadow, want, change));
    }
    out
}

/// The job that brings the secondary issue's remote links to `want`, when
/// they are not what the shadow says was written.
fn remote_links(
    engine: &Engine,
    flow: &ResolvedFlow,
    link: &LinkRecord,
    shadow: &mapping::Shadow,
    want: std::collections::BTreeMap<String, mapping::RemoteLinkState>,
    change: &Change,
) -> Output {
    if want == shadow.remote_links {
        return Output::default();
    }
    let (upsert, delete) = remote::writes(&shadow.remote_links, &want);
    let job = Job {
        flow: flow.name().to_string(),
        link: Some(link.id),
        target_key: Some(link.secondary_key.clone()),
        action: Action::RemoteLinks { upsert, delete },
        shadow_after: Some(mapping::Shadow { remote_links: want, ..shadow.clone() }),
        origin_ms: change.seen_ms,
    };
    Output {
        ops: vec![push(engine, &link.secondary, &link.secondary_issue, &job)],
        claims: vec![(Claim::Link(link.id), SiteIssue::of_link(engine.primary(), link))],
        ..Output::default()
    }
}

pub(super) fn push(engine: &Engine, instance: &str, target: &str, job: &Job) -> Op {
    Op::OutboxPush {
        instance: instance.to_string(),
        target: target.to_string(),
        payload: job.to_bytes(),
        next_at_ms: engine.now_ms(),
    }
}

/// Warnings and conflicts: logged, counted, and conflicts kept in the audit
/// log with both values and the winner (the ops returned).
fn report(engine: &Engine, flow: &ResolvedFlow, link: &LinkRecord, plan: &mapping::Plan) -> Vec<Op> {
    let mut ops = Vec::new();
    let now = engine.now_ms();
    for w in &plan.warnings {
        tracing::warn!(flow = %flow.cfg.name, link = link.id, warning = %w, "mapping");
        engine.observer.board.record_flow_error(flow.name(), now, format!("{}: {w}", link.secondary_key));
    }
    for c in &plan.conflicts {
        let record = ConflictRecord::new(flow.name(), c, &link.secondary_key, &link.primary_key, now);
        tracing::info!(flow = %flow.cfg.name, link = link.id, field = %c.key, winner = %record.winner, "conflict resolved");
        ops.push(Op::Audit { at_ms: now, payload: record.to_bytes() });
        engine.observer.emit(now, EngineEvent::Conflict(record));
    }
    ops
}

/// A secondary issue in scope with no mirror yet.
fn create_mirror(engine: &Engine, flow: &ResolvedFlow, issue: &Issue, change: &Change) -> Output {
    if !matches!(flow.cfg.create, CreatePolicy::ToPrimary | CreatePolicy::Both) {
        return Output::default();
    }
    let s_side = side(issue, &flow.fields, false, status_of(issue));
    let plan = mapping::plan(&flow.rules, &flow.status, flow.conflict, &s_side, None, None);
    for w in &plan.warnings {
        tracing::warn!(flow = %flow.cfg.name, issue = %issue.key, warning = %w, "mapping");
        engine.observer.board.record_flow_error(flow.name(), engine.now_ms(), format!("{}: {w}", issue.key));
    }
    let source = Source {
        instance: change.instance.to_string(),
        issue_id: issue.id.to_string(),
        issue_key: issue.key.to_string(),
    };
    let s_type = issue.issuetype.clone().unwrap_or_else(|| "Task".into());
    let issue_type = flow.cfg.issue_types.get(&s_type).cloned().unwrap_or(s_type);
    let job = Job {
        flow: flow.cfg.name.to_string(),
        link: None,
        target_key: None,
        action: Action::Create {
            project: flow.cfg.primary_project.clone(),
            issue_type,
            fields: plan.to_primary,
            status: plan.primary_status,
            mark: source.mark(flow.name()),
            source: source.clone(),
        },
        shadow_after: Some(plan.shadow),
        origin_ms: change.seen_ms,
    };
    let op = push(engine, engine.primary().as_str(), &format!("create:{}:{}", source.instance, source.issue_id), &job);
    let issue = SiteIssue::new(&source.instance, &source.issue_id);
    Output { ops: vec![op], claims: vec![(Claim::Source(issue.clone()), vec![issue])], ..Output::default() }
}

/// The source issue is deleted or out of scope: apply `on_delete`.
fn gone(engine: &Engine, l: &LinkRecord, change: &Change) -> Output {
    let Some(flow) = engine.flows.get(&l.flow) else { return Output::default() };
    let (delete_mirror, label) = match flow.cfg.on_delete {
        OnDelete::Sever => (false, false),
        OnDelete::DeleteMirror => (true, false),
        OnDelete::Label => (false, true),
    };
    let job = Job {
        flow: l.flow.clone(),
        link: Some(l.id),
        target_key: Some(l.primary_key.clone()),
        action: Action::Unlink { delete_mirror, label },
        shadow_after: None,
        origin_ms: change.seen_ms,
    };
    let mut ops = vec![push(engine, engine.primary().as_str(), &l.primary_issue, &job)];
    ops.extend(deps::near_end_gone(engine, &l.secondary, &l.secondary_issue));
    Output { ops, claims: vec![(Claim::Link(l.id), SiteIssue::of_link(engine.primary(), l))], ..Output::default() }
}
