//! Planning the groups of one pass: which issues each needs read, the
//! batched reads, and per linked pair the three-way plan against the shadow.

use std::collections::HashSet;

use super::super::change::Change;
use super::super::engine::{Ctx, EngineEvent, FlowRt, IssuePair, conflict_record, link_issues, now_ms};
use super::super::fields::side;
use super::super::job::{Action, Job, Source, mark};
use super::Group;
use super::reads::{self, Got, Wanted};
use crate::config::{CreatePolicy, OnDelete, ReadTarget};
use crate::jira::model::Issue;
use crate::mapping;
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

pub(super) async fn plan(ctx: &Ctx, groups: Vec<Group>, backlog: bool) -> Planned {
    let mut planned = Planned::default();
    let mut work = Vec::new();
    for g in groups {
        match classify(ctx, &g, backlog) {
            Class::Defer => {}
            Class::Done => planned.acked.extend(g.seqs),
            Class::Work(w) => work.push((g, w)),
        }
    }
    covered(&mut work, &mut planned.acked);
    let found = first_reads(ctx, &work).read(ctx).await;
    let second = second_reads(ctx, &work, &found);
    let found2 = if second.is_empty() { reads::Found::default() } else { second.read(ctx).await };
    for (g, w) in work {
        let result = match &w {
            Work::Secondary { link, flows, read_mirror } => {
                secondary(ctx, &g, link.as_ref(), flows, *read_mirror, &found).await
            }
            Work::Primary { links } => primary(ctx, &g, links, &found, &found2).await,
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

fn classify(ctx: &Ctx, g: &Group, backlog: bool) -> Class {
    let issue = g.change.issue_id.as_str();
    if g.instance == ctx.primary.as_str() {
        let links = ctx.store.links_by_primary(issue).unwrap_or_default();
        if links.iter().any(|l| is_busy(ctx, l)) {
            return Class::Defer;
        }
        // jirafed's own write to a mirror of one source: nothing can flow
        // from it (with several sources it must reach the others).
        if links.is_empty() || (g.own && links.len() == 1) {
            return Class::Done;
        }
        return Class::Work(Work::Primary { links });
    }
    let link = ctx.store.link_by_secondary(&g.instance, issue).ok().flatten();
    let busy = match &link {
        Some(l) => is_busy(ctx, l),
        None => ctx.is_pending(&source_pending_key(&g.instance, issue)),
    };
    if busy {
        return Class::Defer;
    }
    if g.own && link.is_some() {
        return Class::Done;
    }
    let flows: Vec<usize> = match &link {
        Some(l) => ctx.flows.iter().position(|f| f.cfg.name.as_str() == l.flow).into_iter().collect(),
        None => ctx
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
        (Some(l), Some(&i)) => backlog || !may_assume_mirror(ctx, &ctx.flows[i], l),
        _ => false,
    };
    Class::Work(Work::Secondary { link, flows, read_mirror })
}

/// `read_target = "auto"`: the mirror may be taken to hold the shadow
/// (saving its read) when nothing suggests otherwise. See
/// [`crate::config::ReadTarget::Auto`] and [`Activity::quiet`](super::super::engine::Activity::quiet).
fn may_assume_mirror(ctx: &Ctx, flow: &FlowRt, l: &LinkRecord) -> bool {
    // The policy does not matter here: a mirror taken to hold the shadow
    // has not moved, so no conflict is possible to resolve.
    if flow.cfg.read_target != ReadTarget::Auto {
        return false;
    }
    let Some(shadow) = shadow_of(ctx, l.id) else { return false };
    let statuses = flow.status.to_primary.is_empty() && flow.status.to_secondary.is_empty();
    if !(statuses || shadow.status_primary.is_some()) || !flow.rules.iter().all(|r| shadow.values.contains_key(&r.key))
    {
        return false;
    }
    ctx.activity.lock().unwrap_or_else(|p| p.into_inner()).quiet(ctx.primary.as_str(), &l.primary_issue, now_ms())
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

fn first_reads(ctx: &Ctx, work: &[(Group, Work)]) -> Wanted {
    let mut wanted = Wanted::default();
    let primary = ctx.primary.as_str();
    for (g, w) in work {
        let issue = g.change.issue_id.as_str();
        match w {
            Work::Secondary { link, flows, read_mirror } => {
                for &i in flows {
                    let f = &ctx.flows[i];
                    wanted.add(&g.instance, Some(&f.cfg.scope), issue, &field_ids(f, false));
                }
                if let (Some(l), Some(&i), true) = (link, flows.first(), read_mirror) {
                    wanted.add(primary, None, &l.primary_issue, &field_ids(&ctx.flows[i], true));
                }
            }
            Work::Primary { links } => {
                for l in links {
                    if let Some(f) = ctx.flow(&l.flow) {
                        wanted.add(primary, None, issue, &field_ids(f, true));
                    }
                }
            }
        }
    }
    wanted
}

/// The secondaries of primary changes whose mirror is not what the last
/// sync agreed.
fn second_reads(ctx: &Ctx, work: &[(Group, Work)], found: &reads::Found) -> Wanted {
    let mut wanted = Wanted::default();
    for (g, w) in work {
        let Work::Primary { links } = w else { continue };
        let Got::Issue(mirror) = found.get(ctx.primary.as_str(), None, g.change.issue_id.as_str()) else { continue };
        for l in links {
            let Some(f) = ctx.flow(&l.flow) else { continue };
            if !settled(ctx, f, l, mirror) {
                wanted.add(&l.secondary, None, &l.secondary_issue, &field_ids(f, false));
            }
        }
    }
    wanted
}

/// Planning output: ops to commit, pending keys with the issues they pair
/// (for jobs pushed), and versions read (instance, issue id, updated ms),
/// remembered so that a poll or webhook of the same version is a duplicate.
#[derive(Default)]
pub(super) struct Output {
    pub(super) ops: Vec<Op>,
    pub(super) pending: Vec<(String, Vec<IssuePair>)>,
    pub(super) seen: Vec<(String, String, i64)>,
}

impl Output {
    fn add(&mut self, o: Output) {
        self.ops.extend(o.ops);
        self.pending.extend(o.pending);
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
    ctx: &Ctx,
    g: &Group,
    link: Option<&LinkRecord>,
    flows: &[usize],
    read_mirror: bool,
    found: &reads::Found,
) -> Outcome {
    let issue_id = g.change.issue_id.as_str();
    for &i in flows {
        let flow = &ctx.flows[i];
        let source = match found.get(&g.instance, Some(&flow.cfg.scope), issue_id) {
            Got::Issue(s) => s.clone(),
            Got::Missing => continue,
            Got::Failed(f) => return Err(f.clone()),
        };
        let mut out = Output::default();
        out.saw(&g.instance, &source);
        let Some(l) = link else {
            out.add(create_mirror(ctx, flow, &source, &g.change));
            return Ok(Some(out));
        };
        if !read_mirror {
            out.add(plan_link(ctx, flow, l, &source, Mirror::Assumed, &g.change));
            return Ok(Some(out));
        }
        let mirror = match found.get(ctx.primary.as_str(), None, &l.primary_issue) {
            Got::Issue(m) => Some(m.clone()),
            Got::Missing => reads::confirm(ctx, ctx.primary.as_str(), &l.primary_issue, &field_ids(flow, true))
                .await
                .map_err(|e| failed(&e))?,
            Got::Failed(f) => return Err(f.clone()),
        };
        if let Some(m) = &mirror {
            out.saw(ctx.primary.as_str(), m);
        }
        out.add(plan_link(ctx, flow, l, &source, Mirror::from(mirror), &g.change));
        return Ok(Some(out));
    }
    // In no flow's scope: deleted, moved out, or never in.
    Ok(Some(match link {
        Some(l) => gone(ctx, l, &g.change),
        None => Output::default(),
    }))
}

async fn primary(ctx: &Ctx, g: &Group, links: &[LinkRecord], found: &reads::Found, found2: &reads::Found) -> Outcome {
    let p = ctx.primary.as_str();
    let id = g.change.issue_id.as_str();
    let mut out = Output::default();
    for l in links {
        let Some(flow) = ctx.flow(&l.flow) else { continue };
        let mirror = match found.get(p, None, id) {
            Got::Issue(m) => Some(m.clone()),
            Got::Missing => reads::confirm(ctx, p, id, &field_ids(flow, true)).await.map_err(|e| failed(&e))?,
            Got::Failed(f) => return Err(f.clone()),
        };
        let Some(mirror) = mirror else {
            out.add(plan_link_gone_mirror(flow, l));
            continue;
        };
        out.saw(p, &mirror);
        if settled(ctx, flow, l, &mirror) {
            // The mirror holds what the last sync agreed (typically the
            // echo of jirafed's own write): nothing can flow down, and the
            // secondary's own edits come as changes of their own.
            continue;
        }
        let fields = field_ids(flow, false);
        let source = match found2.get(&l.secondary, None, &l.secondary_issue) {
            Got::Issue(s) => Some(s.clone()),
            Got::Missing => {
                reads::confirm(ctx, &l.secondary, &l.secondary_issue, &fields).await.map_err(|e| failed(&e))?
            }
            Got::Failed(f) => return Err(f.clone()),
        };
        match source {
            Some(s) => {
                out.saw(&l.secondary, &s);
                out.add(plan_link(ctx, flow, l, &s, Mirror::Read(Box::new(mirror)), &g.change));
            }
            None => out.add(gone(ctx, l, &g.change)),
        }
    }
    Ok(Some(out))
}

fn link_pending_key(link: u64) -> String {
    format!("link:{link}")
}

fn source_pending_key(instance: &str, issue: &str) -> String {
    format!("src:{instance}:{issue}")
}

/// A link has a job in flight: its own, or the create of its mirror.
fn is_busy(ctx: &Ctx, link: &LinkRecord) -> bool {
    ctx.is_pending(&link_pending_key(link.id))
        || ctx.is_pending(&source_pending_key(&link.secondary, &link.secondary_issue))
}

fn field_ids(flow: &FlowRt, primary: bool) -> Vec<String> {
    let mut ids: Vec<String> =
        flow.fields.iter().map(|f| if primary { f.primary.id.clone() } else { f.secondary.id.clone() }).collect();
    ids.extend(["status", "updated", "issuetype", "project"].map(String::from));
    ids
}

fn shadow_of(ctx: &Ctx, link: u64) -> Option<mapping::Shadow> {
    ctx.store.shadow(link).ok().flatten().and_then(|v| serde_json::from_value(v).ok())
}

/// The mirror's fields and status are exactly the shadow's, and its key is
/// the link's: the primary changed nothing since the last sync.
fn settled(ctx: &Ctx, flow: &FlowRt, link: &LinkRecord, primary: &Issue) -> bool {
    let Some(shadow) = shadow_of(ctx, link.id) else { return false };
    let p = side(primary, &flow.fields, true, status_of(primary));
    let same = |key: &str| match (p.values.get(key), shadow.values.get(key)) {
        (Some(a), Some(b)) => a.clone().normalise() == b.clone().normalise(),
        _ => false,
    };
    link.primary_key == primary.key.as_str()
        && p.status.is_some()
        && p.status == shadow.status_primary
        && flow.rules.iter().all(|r| same(&r.key))
}

fn status_of(issue: &Issue) -> Option<String> {
    issue.status.as_ref().map(|s| s.name.clone())
}

/// The mirror is gone: forget the pair; the source stays as it is.
fn plan_link_gone_mirror(flow: &FlowRt, link: &LinkRecord) -> Output {
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
    ctx: &Ctx,
    flow: &FlowRt,
    link: &LinkRecord,
    secondary: &Issue,
    mirror: Mirror,
    change: &Change,
) -> Output {
    let shadow = shadow_of(ctx, link.id);
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
    let plan = mapping::plan(&flow.rules, &flow.status, flow.conflict, &s_side, Some(&p_side), shadow.as_ref());
    let mut out = Output { ops: report(ctx, flow, link, &plan), ..Output::default() };
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
        out.ops.push(push(ctx.primary.as_str(), &p_id, &j));
    }
    if !plan.to_secondary.is_empty() || plan.secondary_status.is_some() {
        let fields = plan
            .to_secondary
            .iter()
            .filter_map(|(k, v)| flow.fields.iter().find(|f| &f.key == k).map(|f| (f.secondary.id.clone(), v.clone())))
            .collect();
        let j = job(Some(secondary.key.to_string()), Action::Update { fields, status: plan.secondary_status.clone() });
        out.ops.push(push(flow.cfg.secondary.as_str(), secondary.id.as_str(), &j));
    }
    if plan.is_empty() {
        if shadow.as_ref() != Some(&plan.shadow) {
            if let Ok(v) = serde_json::to_value(&plan.shadow) {
                out.ops.push(Op::ShadowPut { link: link.id, value: v });
            }
        }
    } else {
        out.pending.push((link_pending_key(link.id), link_issues(&ctx.primary, link)));
    }
    if link.secondary_key != secondary.key.as_str() || link.primary_key != p_key {
        // Keys follow moves; ids stay.
        out.ops.push(Op::LinkPut(LinkRecord {
            secondary_key: secondary.key.to_string(),
            primary_key: p_key,
            ..link.clone()
        }));
    }
    out
}

fn push(instance: &str, target: &str, job: &Job) -> Op {
    Op::OutboxPush {
        instance: instance.to_string(),
        target: target.to_string(),
        payload: job.to_bytes(),
        next_at_ms: now_ms(),
    }
}

/// Warnings and conflicts: logged, counted, and conflicts kept in the audit
/// log with both values and the winner (the ops returned).
fn report(ctx: &Ctx, flow: &FlowRt, link: &LinkRecord, plan: &mapping::Plan) -> Vec<Op> {
    let mut ops = Vec::new();
    for w in &plan.warnings {
        tracing::warn!(flow = %flow.cfg.name, link = link.id, warning = %w, "mapping");
        ctx.board.record_flow_error(flow.cfg.name.as_str(), now_ms(), format!("{}: {w}", link.secondary_key));
    }
    for c in &plan.conflicts {
        let winner = format!("{:?}", c.winner).to_lowercase();
        tracing::info!(flow = %flow.cfg.name, link = link.id, field = %c.key, winner = %winner, "conflict resolved");
        let event = EngineEvent::Conflict {
            flow: flow.cfg.name.to_string(),
            field: c.key.clone(),
            winner,
            secondary_key: link.secondary_key.clone(),
            primary_key: link.primary_key.clone(),
            secondary: serde_json::to_value(&c.secondary).unwrap_or_default(),
            primary: serde_json::to_value(&c.primary).unwrap_or_default(),
        };
        let record = conflict_record(&event);
        ops.push(Op::Audit { at_ms: now_ms(), payload: record.to_string().into_bytes() });
        ctx.emit(event);
    }
    ops
}

/// A secondary issue in scope with no mirror yet.
fn create_mirror(ctx: &Ctx, flow: &FlowRt, issue: &Issue, change: &Change) -> Output {
    if !matches!(flow.cfg.create, CreatePolicy::ToPrimary | CreatePolicy::Both) {
        return Output::default();
    }
    let s_side = side(issue, &flow.fields, false, status_of(issue));
    let plan = mapping::plan(&flow.rules, &flow.status, flow.conflict, &s_side, None, None);
    for w in &plan.warnings {
        tracing::warn!(flow = %flow.cfg.name, issue = %issue.key, warning = %w, "mapping");
        ctx.board.record_flow_error(flow.cfg.name.as_str(), now_ms(), format!("{}: {w}", issue.key));
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
            mark: mark(flow.cfg.name.as_str(), &source),
            source: source.clone(),
        },
        shadow_after: Some(plan.shadow),
        origin_ms: change.seen_ms,
    };
    let op = push(ctx.primary.as_str(), &format!("create:{}:{}", source.instance, source.issue_id), &job);
    let pending = (source_pending_key(&source.instance, &source.issue_id), vec![(source.instance, source.issue_id)]);
    Output { ops: vec![op], pending: vec![pending], ..Output::default() }
}

/// The source issue is deleted or out of scope: apply `on_delete`.
fn gone(ctx: &Ctx, l: &LinkRecord, change: &Change) -> Output {
    let Some(flow) = ctx.flow(&l.flow) else { return Output::default() };
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
    Output {
        ops: vec![push(ctx.primary.as_str(), &l.primary_issue, &job)],
        pending: vec![(link_pending_key(l.id), link_issues(&ctx.primary, l))],
        ..Output::default()
    }
}
