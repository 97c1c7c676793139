//! The plan of one pair: its fields and status three ways against the
//! shadow (`mapping::plan`), its parent, dependencies and remote links, as
//! jobs for the writers; the create of a new mirror; the unlink of a pair
//! whose source is gone.

use super::super::change::Change;
use super::super::engine::Engine;
use super::super::fields::{side, status_of};
use super::super::flows::ResolvedFlow;
use super::super::in_flight::{Claim, SiteIssue};
use super::super::job::{Action, Job, Source};
use super::deps;
use super::hierarchy::{self, AtCreate, Kind, Parent};
use super::pair::{Output, shadow_of};
use super::remote;
use crate::config::{CreatePolicy, OnDelete, ScopeExit};
use crate::jira::model::Issue;
use crate::mapping;
use crate::observe::{ConflictRecord, EngineEvent};
use crate::store::{LinkRecord, Op};

/// The mirror is gone: forget the pair; the source stays as it is.
pub(super) fn plan_link_gone_mirror(engine: &Engine, flow: &ResolvedFlow, link: &LinkRecord) -> Output {
    tracing::info!(flow = %flow.cfg.name, link = link.id, "mirror deleted on the primary; link severed");
    // The source is not mirrored again by itself.
    let ended = Op::EndedPut(crate::sync::pairing::ended_pair(engine, link, "mirror deleted"));
    let mut ops = vec![ended, Op::LinkDelete { id: link.id }];
    ops.extend(crate::sync::writer::replan_children(engine, link));
    Output { ops, ..Output::default() }
}

/// The primary side of a pair as the planner has it.
pub(super) enum Mirror {
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
pub(super) fn plan_link(
    engine: &Engine,
    flow: &ResolvedFlow,
    link: &LinkRecord,
    secondary: &Issue,
    mirror: Mirror,
    s_parent: Option<&(Parent, Kind)>,
    change: &Change,
) -> Output {
    let shadow = shadow_of(engine, link.id);
    let read = match &mirror {
        Mirror::Read(p) => Some(p.as_ref().clone()),
        _ => None,
    };
    let (p_side, p_id, p_key) = match (mirror, &shadow) {
        (Mirror::Gone, _) => return plan_link_gone_mirror(engine, flow, link),
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
    plan.shadow.parent = shadow.as_ref().and_then(|s| s.parent.clone());
    let parent = match s_parent {
        Some((s, kind)) => {
            let p = read.as_ref().and_then(|m| hierarchy::of_mirror(engine, flow, link, m));
            let h = shadow.as_ref().and_then(|h| h.parent.as_ref());
            hierarchy::decide(engine, flow, link, (s, *kind), p.as_ref(), h)
        }
        None => hierarchy::Decision::default(),
    };
    if parent.agreed.is_some() {
        plan.shadow.parent = parent.agreed.clone();
    }
    let mut out = Output { ops: report(engine, flow, link, &plan), ..Output::default() };
    out.ops.extend(parent.ops);
    let job = |target: Option<String>, action: Action| Job {
        flow: flow.cfg.name.to_string(),
        link: Some(link.id),
        target_key: target,
        action,
        shadow_after: Some(plan.shadow.clone()),
        origin_ms: change.seen_ms,
        cause: Some(crate::sync::job::Cause::of(change)),
    };
    if !plan.to_primary.is_empty() || plan.primary_status.is_some() || parent.to_primary.is_some() {
        let action = Action::Update {
            fields: plan.to_primary.clone(),
            status: plan.primary_status.clone(),
            parent: parent.to_primary.clone(),
        };
        let j = job(Some(p_key.clone()), action);
        out.ops.push(push(engine, engine.primary().as_str(), &p_id, &j));
    }
    if !plan.to_secondary.is_empty() || plan.secondary_status.is_some() || parent.to_secondary.is_some() {
        let fields = plan
            .to_secondary
            .iter()
            .filter_map(|(k, v)| flow.fields.iter().find(|f| &f.key == k).map(|f| (f.secondary.id.clone(), v.clone())))
            .collect();
        let action =
            Action::Update { fields, status: plan.secondary_status.clone(), parent: parent.to_secondary.clone() };
        let j = job(Some(secondary.key.to_string()), action);
        out.ops.push(push(engine, flow.cfg.secondary.as_str(), secondary.id.as_str(), &j));
    }
    if plan.is_empty() && parent.to_primary.is_none() && parent.to_secondary.is_none() {
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
        cause: Some(crate::sync::job::Cause::of(change)),
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
pub(super) fn create_mirror(
    engine: &Engine,
    flow: &ResolvedFlow,
    issue: &Issue,
    change: &Change,
    at: AtCreate,
) -> Output {
    if !matches!(flow.cfg.create, CreatePolicy::ToPrimary | CreatePolicy::Both) {
        return Output::default();
    }
    let (parent, agreed, wait) = match at {
        // The parent goes first; the child is planned again once it is mirrored.
        AtCreate::Wait(ops) => return Output { ops, ..Output::default() },
        AtCreate::Parent(write, agreed, ops) => (write, agreed, ops),
    };
    let s_side = side(issue, &flow.fields, false, status_of(issue));
    let mut plan = mapping::plan(&flow.rules, &flow.status, flow.conflict, &s_side, None, None);
    if flow.hierarchy.is_some() {
        plan.shadow.parent = Some(agreed);
    }
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
            parent,
        },
        shadow_after: Some(plan.shadow),
        origin_ms: change.seen_ms,
        cause: Some(crate::sync::job::Cause::of(change)),
    };
    let op = push(engine, engine.primary().as_str(), &format!("create:{}:{}", source.instance, source.issue_id), &job);
    let issue = SiteIssue::new(&source.instance, &source.issue_id);
    let mut ops = vec![op];
    ops.extend(wait);
    Output { ops, claims: vec![(Claim::Source(issue.clone()), vec![issue])], ..Output::default() }
}

/// Why a pair's source is no longer in its flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Gone {
    /// The secondary issue is deleted (or the technical user lost sight of it).
    Deleted,
    /// It exists, but the flow's scope no longer selects it.
    LeftScope,
}

/// The source issue is deleted or out of scope: apply `on_scope_exit` and
/// `on_delete`. The issue links jirafed made between the mirror and other
/// mirrors are removed first (unless the mirror goes, and they with it),
/// then the pair is forgotten and remembered as ended, so that neither
/// issue is mirrored again by itself.
pub(super) fn gone(engine: &Engine, l: &LinkRecord, change: &Change, why: Gone) -> Output {
    let Some(flow) = engine.flows.get(&l.flow) else { return Output::default() };
    if why == Gone::LeftScope && flow.cfg.on_scope_exit == ScopeExit::Keep {
        tracing::info!(flow = %l.flow, issue = %l.secondary_key, "left the scope; pair kept (on_scope_exit = keep)");
        return Output::default();
    }
    let (delete_mirror, label, severed_label) = match flow.cfg.on_delete {
        OnDelete::Sever => (false, false, true),
        OnDelete::DeleteMirror if l.by_hand => {
            tracing::info!(flow = %l.flow, mirror = %l.primary_key, "paired by hand, not made by jirafed: severed, not deleted");
            (false, false, true)
        }
        OnDelete::DeleteMirror => (true, false, false),
        OnDelete::Label => (false, true, false),
    };
    let reason = match why {
        Gone::Deleted => "source deleted",
        Gone::LeftScope => "source left the scope",
    };
    tracing::info!(flow = %l.flow, issue = %l.secondary_key, mirror = %l.primary_key, reason, "pair ends");
    let primary = engine.primary().as_str();
    let job = |action| Job {
        flow: l.flow.clone(),
        link: Some(l.id),
        target_key: Some(l.primary_key.clone()),
        action,
        shadow_after: None,
        origin_ms: change.seen_ms,
        cause: Some(crate::sync::job::Cause::of(change)),
    };
    let mut ops = Vec::new();
    if !delete_mirror {
        let from = engine.store.dependencies_from(l.id).unwrap_or_default();
        let to = engine.store.dependencies_to(l.id).unwrap_or_default();
        for d in from.into_iter().chain(to) {
            if let Some(link_id) = d.primary_link {
                ops.push(push(engine, primary, &l.primary_issue, &job(Action::RemoveLink { link_id, dep: d.id })));
            }
        }
    }
    let ended = Some(reason.to_string());
    let unlink = Action::Unlink { delete_mirror, label, severed_label, ended };
    ops.push(push(engine, primary, &l.primary_issue, &job(unlink)));
    ops.extend(deps::near_end_gone(engine, &l.secondary, &l.secondary_issue));
    Output { ops, claims: vec![(Claim::Link(l.id), SiteIssue::of_link(engine.primary(), l))], ..Output::default() }
}
