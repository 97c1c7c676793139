//! The planner: takes inbox changes in batches, coalesces them per issue,
//! reads each issue's current state (never trusting a payload), diffs it
//! against the shadow through `mapping::plan`, and commits the resulting
//! jobs to the outbox in the same transaction that acknowledges the changes.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::change::{Change, ChangeKind};
use super::engine::{Ctx, EngineEvent, FlowRt, now_ms};
use super::fields::side;
use super::job::{Action, Job, Source, mark};
use crate::config::{CreatePolicy, OnDelete};
use crate::jira::JiraError;
use crate::jira::model::Issue;
use crate::mapping;
use crate::store::{LinkRecord, Op};

/// Changes read from the inbox at once.
const BATCH: usize = 200;
/// How long the planner idles when it has nothing (or only deferred work).
const IDLE: Duration = Duration::from_millis(250);
/// Keys per `key in (...)` search.
const KEYS_PER_SEARCH: usize = 50;

pub async fn run(ctx: Arc<Ctx>, cancel: CancellationToken) {
    loop {
        let progressed = match plan_batch(&ctx).await {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(error = %e, "planning failed; retrying");
                false
            }
        };
        if progressed {
            continue;
        }
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = ctx.wake_planner.notified() => {}
            _ = tokio::time::sleep(IDLE) => {}
        }
    }
}

/// Changes to one issue in this batch.
struct Group {
    seqs: Vec<u64>,
    change: Change,
}

/// What planning one issue produced.
#[derive(Default)]
struct Output {
    ops: Vec<Op>,
    pending: Vec<String>,
}

/// Plans one batch; returns whether anything was acknowledged.
async fn plan_batch(ctx: &Ctx) -> anyhow::Result<bool> {
    let entries = ctx.store.inbox_batch(BATCH)?;
    if entries.is_empty() {
        return Ok(false);
    }
    let mut groups: BTreeMap<(String, String), Group> = BTreeMap::new();
    let mut acked = Vec::new();
    for e in entries {
        let Some(change) = Change::from_bytes(&e.payload) else {
            tracing::warn!(seq = e.seq, "unreadable inbox entry dropped");
            acked.push(e.seq);
            continue;
        };
        let g = groups
            .entry((e.instance.clone(), e.issue.clone()))
            .or_insert(Group { seqs: vec![], change: change.clone() });
        g.seqs.push(e.seq);
        if change.kind == ChangeKind::Deleted || g.change.kind != ChangeKind::Deleted {
            g.change = Change { issue_key: change.issue_key.clone().or(g.change.issue_key.clone()), ..change };
        }
    }
    let mut out = Output::default();
    for ((instance, _), group) in groups {
        let planned = if instance == ctx.primary.as_str() {
            plan_primary(ctx, &group.change).await
        } else {
            plan_secondary(ctx, &group.change).await
        };
        match planned {
            Ok(Some(o)) => {
                out.ops.extend(o.ops);
                out.pending.extend(o.pending);
                acked.extend(group.seqs);
            }
            Ok(None) => {}
            Err(e) if e.is_retriable() => tracing::warn!(instance, error = %e, "issue read failed; kept for later"),
            Err(e) => {
                tracing::warn!(instance, error = %e, "change dropped: the issue cannot be read");
                acked.extend(group.seqs);
            }
        }
    }
    if acked.is_empty() {
        return Ok(false);
    }
    out.ops.push(Op::InboxAck { seqs: acked });
    for p in out.pending {
        ctx.pending_insert(p);
    }
    ctx.store.commit(out.ops).await?;
    ctx.wake_writers.notify_waiters();
    Ok(true)
}

fn link_pending_key(link: u64) -> String {
    format!("link:{link}")
}

fn source_pending_key(instance: &str, issue: &str) -> String {
    format!("src:{instance}:{issue}")
}

/// A link has a job in flight: its own, or the create of its mirror, which
/// stores the link before the shadow (planning in between would find no
/// shadow and settle every difference as a conflict).
fn is_busy(ctx: &Ctx, link: &LinkRecord) -> bool {
    ctx.is_pending(&link_pending_key(link.id))
        || ctx.is_pending(&source_pending_key(&link.secondary, &link.secondary_issue))
}

/// Reads an issue, `None` when it is gone (404).
async fn read(ctx: &Ctx, instance: &str, id_or_key: &str, fields: &[&str]) -> Result<Option<Issue>, JiraError> {
    let Some(c) = ctx.client(instance) else { return Ok(None) };
    match c.issue(id_or_key, fields).await {
        Ok(i) => Ok(Some(i)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e),
    }
}

fn field_ids(flow: &FlowRt, primary: bool) -> Vec<String> {
    let mut ids: Vec<String> =
        flow.fields.iter().map(|f| if primary { f.primary.id.clone() } else { f.secondary.id.clone() }).collect();
    ids.extend(["status", "updated", "issuetype", "project"].map(String::from));
    ids
}

/// The secondary issue is in a flow's scope: one search with its key.
async fn in_scope(ctx: &Ctx, flow: &FlowRt, key: &str) -> Result<Option<Issue>, JiraError> {
    let Some(c) = ctx.client(flow.cfg.secondary.as_str()) else { return Ok(None) };
    let ids = field_ids(flow, false);
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    let jql = format!("({}) AND key in (\"{key}\")", flow.cfg.scope);
    let mut found = c.search(jql, &refs, KEYS_PER_SEARCH).all().await?;
    Ok(found.pop())
}

async fn plan_secondary(ctx: &Ctx, change: &Change) -> Result<Option<Output>, JiraError> {
    let instance = change.instance.as_str();
    let link = ctx.store.link_by_secondary(instance, change.issue_id.as_str()).ok().flatten();
    let busy = match &link {
        Some(l) => is_busy(ctx, l),
        None => ctx.is_pending(&source_pending_key(instance, change.issue_id.as_str())),
    };
    if busy {
        return Ok(None);
    }
    let key = match &change.issue_key {
        Some(k) => k.to_string(),
        None => match read(ctx, instance, change.issue_id.as_str(), &["key"]).await? {
            Some(i) => i.key.to_string(),
            None => return Ok(Some(gone(ctx, link.as_ref(), change))),
        },
    };
    let flows: Vec<&FlowRt> = match &link {
        Some(l) => ctx.flow(&l.flow).into_iter().collect(),
        None => ctx.flows.iter().filter(|f| f.cfg.secondary == change.instance).collect(),
    };
    for flow in flows {
        let Some(issue) = in_scope(ctx, flow, &key).await? else { continue };
        return match &link {
            Some(l) => update_link(ctx, flow, l, &issue, change).await,
            None => Ok(Some(create_mirror(ctx, flow, &issue, change))),
        };
    }
    match link {
        Some(l) => Ok(Some(gone(ctx, Some(&l), change))),
        None => Ok(Some(Output::default())),
    }
}

async fn plan_primary(ctx: &Ctx, change: &Change) -> Result<Option<Output>, JiraError> {
    let links = ctx.store.links_by_primary(change.issue_id.as_str()).unwrap_or_default();
    let mut out = Output::default();
    for l in links {
        if is_busy(ctx, &l) {
            return Ok(None);
        }
        let Some(flow) = ctx.flow(&l.flow) else { continue };
        let primary = read_mirror(ctx, flow, &l).await?;
        if primary.as_ref().is_some_and(|p| settled(ctx, flow, &l, p)) {
            // The mirror holds what the last sync agreed (typically the
            // echo of jirafed's own write): nothing can flow down, and the
            // secondary's own edits come as changes of their own.
            continue;
        }
        let ids = field_ids(flow, false);
        let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
        let Some(secondary) = read(ctx, &l.secondary, &l.secondary_issue, &refs).await? else {
            let g = gone(ctx, Some(&l), change);
            out.ops.extend(g.ops);
            out.pending.extend(g.pending);
            continue;
        };
        let o = plan_link(ctx, flow, &l, &secondary, primary, change);
        out.ops.extend(o.ops);
        out.pending.extend(o.pending);
    }
    Ok(Some(out))
}

/// Reads the mirror of a link on the primary with the flow's fields.
async fn read_mirror(ctx: &Ctx, flow: &FlowRt, link: &LinkRecord) -> Result<Option<Issue>, JiraError> {
    let ids = field_ids(flow, true);
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    read(ctx, ctx.primary.as_str(), &link.primary_issue, &refs).await
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

/// A linked pair: read the mirror, diff both against the shadow.
async fn update_link(
    ctx: &Ctx,
    flow: &FlowRt,
    link: &LinkRecord,
    secondary: &Issue,
    change: &Change,
) -> Result<Option<Output>, JiraError> {
    let primary = read_mirror(ctx, flow, link).await?;
    Ok(Some(plan_link(ctx, flow, link, secondary, primary, change)))
}

/// A linked pair, both sides read (`primary: None`: the mirror is gone).
fn plan_link(
    ctx: &Ctx,
    flow: &FlowRt,
    link: &LinkRecord,
    secondary: &Issue,
    primary: Option<Issue>,
    change: &Change,
) -> Output {
    let Some(primary) = primary else {
        // The mirror is gone: forget the pair; the source stays as it is.
        tracing::info!(flow = %flow.cfg.name, link = link.id, "mirror deleted on the primary; link severed");
        return Output { ops: vec![Op::LinkDelete { id: link.id }], pending: vec![] };
    };
    let s_side = side(secondary, &flow.fields, false, status_of(secondary));
    let p_side = side(&primary, &flow.fields, true, status_of(&primary));
    let shadow = shadow_of(ctx, link.id);
    let plan = mapping::plan(&flow.rules, &flow.status, flow.conflict, &s_side, Some(&p_side), shadow.as_ref());
    report(ctx, flow, &plan);
    let mut out = Output::default();
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
            Some(primary.key.to_string()),
            Action::Update { fields: plan.to_primary.clone(), status: plan.primary_status.clone() },
        );
        out.ops.push(push(ctx.primary.as_str(), primary.id.as_str(), &j));
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
    if out.ops.is_empty() {
        if shadow.as_ref() != Some(&plan.shadow) {
            if let Ok(v) = serde_json::to_value(&plan.shadow) {
                out.ops.push(Op::ShadowPut { link: link.id, value: v });
            }
        }
    } else {
        out.pending.push(link_pending_key(link.id));
    }
    if link.secondary_key != secondary.key.as_str() || link.primary_key != primary.key.as_str() {
        // Keys follow moves; ids stay.
        out.ops.push(Op::LinkPut(LinkRecord {
            secondary_key: secondary.key.to_string(),
            primary_key: primary.key.to_string(),
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

fn report(ctx: &Ctx, flow: &FlowRt, plan: &mapping::Plan) {
    for w in &plan.warnings {
        tracing::warn!(flow = %flow.cfg.name, warning = %w, "mapping");
    }
    for c in &plan.conflicts {
        let winner = format!("{:?}", c.winner).to_lowercase();
        tracing::info!(flow = %flow.cfg.name, field = %c.key, winner = %winner, "conflict resolved");
        ctx.emit(EngineEvent::Conflict { flow: flow.cfg.name.to_string(), field: c.key.clone(), winner });
    }
}

/// A secondary issue in scope with no mirror yet.
fn create_mirror(ctx: &Ctx, flow: &FlowRt, issue: &Issue, change: &Change) -> Output {
    if !matches!(flow.cfg.create, CreatePolicy::ToPrimary | CreatePolicy::Both) {
        return Output::default();
    }
    let s_side = side(issue, &flow.fields, false, status_of(issue));
    let plan = mapping::plan(&flow.rules, &flow.status, flow.conflict, &s_side, None, None);
    report(ctx, flow, &plan);
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
    Output { ops: vec![op], pending: vec![source_pending_key(&source.instance, &source.issue_id)] }
}

/// The source issue is deleted or out of scope: apply `on_delete`.
fn gone(ctx: &Ctx, link: Option<&LinkRecord>, change: &Change) -> Output {
    let Some(l) = link else { return Output::default() };
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
    Output { ops: vec![push(ctx.primary.as_str(), &l.primary_issue, &job)], pending: vec![link_pending_key(l.id)] }
}
