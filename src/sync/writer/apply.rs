//! Carrying out one job on its target site: an update (fields, then the
//! status through the workflow), the create of a mirror (idempotent through
//! its provenance mark), or the unlink of a pair whose source is gone.

use std::collections::BTreeMap;

use super::super::change::{Change, ChangeKind, ChangeSource};
use super::super::engine::Engine;
use super::super::job::{Action, Job, ParentWrite, Source};
use super::shadow::shadow_after;
use super::values::field_writes;
use super::{Done, RESCHEDULE_BASE_MS, WriteError};
use crate::ids::{InstanceId, IssueId, IssueKey};
use crate::jira::mark::{SEVERED_LABEL, SOURCE_DELETED_LABEL};
use crate::jira::model::{IssueRef, RemoteLinkWrite};
use crate::jira::values::{FieldValue, FieldWrites};
use crate::jira::{JiraError, Site};
use crate::mapping;
use crate::store::{DependencyRecord, LinkRecord, Op, OpResult, OutboxEntry};
use crate::sync::pairing::ended_pair;

type Outcome = Result<Done, WriteError>;

pub(super) async fn apply(engine: &Engine, site: &dyn Site, e: &OutboxEntry, job: &Job) -> Outcome {
    match &job.action {
        Action::Create { .. } => create(engine, site, e, job).await,
        Action::Update { fields, status, parent } => {
            update(engine, site, job, fields, status.as_deref(), parent.as_ref()).await
        }
        Action::Unlink { delete_mirror, label, severed_label, ended } => {
            let labels = [(*label, SOURCE_DELETED_LABEL), (*severed_label, SEVERED_LABEL)];
            unlink(engine, site, job, *delete_mirror, &labels, ended.as_deref()).await
        }
        Action::AddLink { link_type, from, to, dep } => add_link(engine, site, job, link_type, (from, to), dep).await,
        Action::RemoveLink { link_id, dep } => remove_link(engine, site, job, link_id, *dep).await,
        Action::RemoteLinks { upsert, delete } => remote_links(site, job, upsert, delete).await,
    }
}

fn shadow_op(link: Option<u64>, shadow: Option<mapping::Shadow>) -> Option<Op> {
    Some(Op::ShadowPut { link: link?, shadow: shadow? })
}

async fn update(
    engine: &Engine,
    site: &dyn Site,
    job: &Job,
    fields: &BTreeMap<String, mapping::Value>,
    status: Option<&str>,
    parent: Option<&ParentWrite>,
) -> Outcome {
    let key = job.target_key.clone().unwrap_or_default();
    let mut written = field_writes(engine, job, site, fields).await?;
    set_parent(site, parent, &mut written.writes).await?;
    keep_mark(engine, job, site.id() == engine.primary(), &mut written.writes);
    let result = async {
        if !written.writes.is_empty() {
            site.edit_issue(&key, &written.writes).await?;
        }
        if let Some(s) = status {
            site.transition_to(&key, s).await?;
        }
        Ok::<_, JiraError>(())
    }
    .await;
    match result {
        Ok(()) => {
            let shadow = shadow_after(engine, job, site.id(), &written, false);
            Ok(Done { key, ops: shadow_op(job.link, shadow).into_iter().collect() })
        }
        // The target is gone (deleted or moved out of sight): the planner
        // reads both sides again and applies the flow's rules to the pair.
        Err(err) if err.is_not_found() => {
            tracing::info!(flow = %job.flow, instance = %site.id(), issue = %key, "target issue gone; pair planned again");
            Ok(Done { key, ops: job.link.and_then(|l| replan_link(engine, l)).into_iter().collect() })
        }
        Err(err) => Err(err.into()),
    }
}

/// A change of the link's secondary issue for the planner, from the writer:
/// "read this pair again".
pub(super) fn replan_link(engine: &Engine, link: u64) -> Option<Op> {
    let l = engine.store.link(link).ok().flatten()?;
    Some(replan_issue(engine, &l.secondary, &l.secondary_issue, Some(&l.secondary_key)))
}

/// Changes of both issues of pair `l` for the planner: "read the pair
/// again, both sides".
pub(crate) fn replan_pair(engine: &Engine, l: &LinkRecord) -> [Op; 2] {
    [
        replan_issue(engine, &l.secondary, &l.secondary_issue, Some(&l.secondary_key)),
        replan_issue(engine, engine.primary().as_str(), &l.primary_issue, Some(&l.primary_key)),
    ]
}

/// The pairs whose parent is `l`'s secondary issue, queued to be planned
/// again once `l`'s pairing has ended: their mirrors lose the parent, and
/// that is reported (`hierarchy::orphaned`).
pub(crate) fn replan_children(engine: &Engine, l: &LinkRecord) -> Vec<Op> {
    let children = engine.store.children_of(&l.secondary, &l.secondary_issue).unwrap_or_default();
    children.iter().flat_map(|c| replan_pair(engine, c)).collect()
}

pub(super) fn replan(engine: &Engine, source: &Source) -> Op {
    replan_issue(engine, &source.instance, &source.issue_id, Some(&source.issue_key))
}

/// A change of `issue` on `instance` from the engine itself: "read it
/// again" (a write found its target gone, a mirror was just made).
pub(crate) fn replan_issue(engine: &Engine, instance: &str, issue: &str, key: Option<&str>) -> Op {
    let change = Change {
        instance: InstanceId::new(instance),
        issue_id: IssueId::new(issue),
        issue_key: key.map(IssueKey::new),
        source: ChangeSource::Reconcile,
        kind: ChangeKind::Updated,
        seen_ms: engine.now_ms(),
        actor: None,
        version_ms: None,
        link_ends: None,
    };
    Op::InboxPush {
        instance: instance.to_string(),
        issue: issue.to_string(),
        payload: change.to_bytes(),
        delivery: None,
    }
}

/// Creates a mirror. The link and the shadow of what was created are
/// committed together as soon as Jira answers (before any transition), so a
/// later failure never leaves a mirror without its pairing; a status that
/// cannot be set is planned again as an update of the pair, where a
/// permanent failure is dead-lettered like any other.
async fn create(engine: &Engine, site: &dyn Site, e: &OutboxEntry, job: &Job) -> Outcome {
    let Action::Create { project, issue_type, fields, status, mark, source, parent } = &job.action else {
        unreachable!("apply() sends only creates here");
    };
    // The mirror exists already (an earlier attempt of this job got as far
    // as its link): what is left is planned again from fresh reads.
    if let Some(l) = paired(engine, job, source)? {
        let key = if site.id() == engine.primary() { l.primary_key } else { l.secondary_key };
        return Ok(Done { key, ops: vec![replan(engine, source)] });
    }
    let mut written = field_writes(engine, job, site, fields).await?;
    set_parent(site, parent.as_ref(), &mut written.writes).await?;
    // A first attempt is recorded before anything is sent, so that after a
    // crash the mark is looked for instead of creating a second mirror.
    let existing = if e.attempts > 0 {
        site.find_by_mark(project, mark).await?
    } else {
        let next_at_ms = engine.now_ms() + RESCHEDULE_BASE_MS;
        engine.store.commit(vec![Op::OutboxReschedule { seq: e.seq, next_at_ms, error: "creating".into() }]).await?;
        None
    };
    let created = match existing {
        Some(r) => r,
        None => site.create_issue(project, issue_type, &written.writes, Some(mark)).await?,
    };
    let key = created.key.to_string();
    let shadow = shadow_after(engine, job, site.id(), &written, true).unwrap_or_default();
    let link = if site.id() == engine.primary() {
        LinkRecord {
            id: 0,
            flow: job.flow.clone(),
            secondary: source.instance.clone(),
            secondary_issue: source.issue_id.clone(),
            secondary_key: source.issue_key.clone(),
            primary_issue: created.id.to_string(),
            primary_key: key.clone(),
            created_ms: engine.now_ms(),
            by_hand: false,
            pushed: false,
        }
    } else {
        // Pushed from the primary: the new issue is the secondary side.
        LinkRecord {
            id: 0,
            flow: job.flow.clone(),
            secondary: site.id().to_string(),
            secondary_issue: created.id.to_string(),
            secondary_key: key.clone(),
            primary_issue: source.issue_id.clone(),
            primary_key: source.issue_key.clone(),
            created_ms: engine.now_ms(),
            by_hand: false,
            pushed: true,
        }
    };
    // Its own links are planned once it is paired (those that waited for
    // it are completed once the pairing is committed: see `execute`).
    let links = engine.flows.get(&job.flow).is_some_and(|f| !f.link_types.is_empty());
    let own_links = links.then(|| replan(engine, source));
    let Some(target) = status else {
        let mut ops = vec![Op::LinkWithShadow { link, shadow }];
        ops.extend(own_links);
        return Ok(Done { key, ops });
    };
    // Statuses unknown until the transition is done: a pair planned in
    // between moves the status from the secondary.
    let pre = mapping::Shadow { status_secondary: None, status_primary: None, ..shadow.clone() };
    let mut ops = vec![Op::LinkWithShadow { link, shadow: pre }];
    ops.extend(own_links);
    let results = engine.store.commit(ops).await?;
    let Some(OpResult::LinkId(id)) = results.first() else {
        unreachable!("a committed LinkWithShadow answers with the link id");
    };
    match site.transition_to(&key, target).await {
        Ok(_) => Ok(Done { key, ops: vec![Op::ShadowPut { link: *id, shadow }] }),
        Err(err) => {
            tracing::warn!(flow = %job.flow, instance = %site.id(), issue = %key, error = %err, "mirror created; its status is planned again");
            Ok(Done { key, ops: vec![replan(engine, source)] })
        }
    }
}

/// The pair a create's source has already, in the job's flow: its mirror
/// was made by an earlier attempt.
fn paired(engine: &Engine, job: &Job, source: &Source) -> Result<Option<LinkRecord>, crate::store::StoreError> {
    if source.instance == engine.primary().as_str() {
        let pairs = engine.store.links_by_primary(&source.issue_id)?;
        return Ok(pairs.into_iter().find(|l| l.flow == job.flow));
    }
    engine.store.link_by_secondary(&source.instance, &source.issue_id)
}

/// Adds the parent write to the field writes: the parent's key in the
/// field the planner chose (`parent`, or a Data Center Epic Link), or the
/// field cleared.
async fn set_parent(site: &dyn Site, parent: Option<&ParentWrite>, writes: &mut FieldWrites) -> Result<(), JiraError> {
    let Some(p) = parent else { return Ok(()) };
    let catalogue = site.fields().await?;
    let value = match &p.key {
        Some(key) => FieldValue::Issue(IssueRef { id: IssueId::new(""), key: IssueKey::new(key) }),
        None => FieldValue::Empty,
    };
    match catalogue.by_id(&p.field) {
        Some(info) => writes.set(info, value),
        None => writes.set_id(p.field.clone(), value),
    }
    Ok(())
}

/// A mirror's labels are rewritten whole (cleared ones too), so its
/// provenance mark is put back: on the primary's mirror of a secondary
/// issue, and on the secondary's copy of a pushed primary issue (never on a
/// source).
fn keep_mark(engine: &Engine, job: &Job, to_primary: bool, writes: &mut FieldWrites) {
    let Some(value) = writes.get_mut("labels") else { return };
    let Some(link) = job.link.and_then(|l| engine.store.link(l).ok().flatten()) else { return };
    let source = match (to_primary, link.pushed) {
        (true, false) => {
            Source { instance: link.secondary, issue_id: link.secondary_issue, issue_key: link.secondary_key }
        }
        (false, true) => {
            Source { instance: engine.primary().to_string(), issue_id: link.primary_issue, issue_key: link.primary_key }
        }
        _ => return,
    };
    match value {
        FieldValue::Labels(labels) => source.mark(&job.flow).keep_in(labels),
        FieldValue::Empty => *value = FieldValue::Labels(vec![source.mark(&job.flow).to_string()]),
        _ => {}
    }
}

async fn unlink(
    engine: &Engine,
    site: &dyn Site,
    job: &Job,
    delete_mirror: bool,
    labels: &[(bool, &str)],
    ended: Option<&str>,
) -> Outcome {
    let key = job.target_key.clone().unwrap_or_default();
    if delete_mirror {
        match site.delete_issue(&key).await {
            Err(e) if !e.is_not_found() => return Err(e.into()),
            _ => {}
        }
    } else {
        for (_, label) in labels.iter().filter(|(on, _)| *on) {
            match site.add_label(&key, label).await {
                // The mirror is gone too: nothing to label.
                Err(e) if !e.is_not_found() => return Err(e.into()),
                _ => {}
            }
        }
    }
    let Some(id) = job.link else { return Ok(Done { key, ops: Vec::new() }) };
    let mut ops = Vec::new();
    let pair = engine.store.link(id)?;
    if let (Some(reason), Some(l)) = (ended, &pair) {
        ops.push(Op::EndedPut(ended_pair(engine, l, reason)));
    }
    ops.push(Op::LinkDelete { id });
    if let Some(l) = &pair {
        ops.extend(replan_children(engine, l));
    }
    Ok(Done { key, ops })
}

/// Links two issues of the target site and records the dependency with the
/// link's id on this side. Jira answers an existing identical link with its
/// id, so a retry never makes two.
async fn add_link(
    engine: &Engine,
    site: &dyn Site,
    job: &Job,
    link_type: &str,
    (from, to): (&str, &str),
    dep: &DependencyRecord,
) -> Outcome {
    let key = job.target_key.clone().unwrap_or_else(|| from.to_string());
    expect_echo(engine, site, dep);
    let id = match site.create_link(link_type, from, to).await {
        Ok(id) => id,
        // An end is gone: the pair is planned again from fresh reads. (Jira
        // answers an unknown link type with a 404 too: that one is refused
        // for good, not planned again and again.)
        Err(err) if err.is_not_found() && !err.to_string().contains("link type") => {
            tracing::info!(flow = %job.flow, instance = %site.id(), from, to, "an end of the link is gone; pair planned again");
            return Ok(Done { key, ops: job.link.and_then(|l| replan_link(engine, l)).into_iter().collect() });
        }
        Err(err) => return Err(err.into()),
    };
    let mut dep = known(engine, dep);
    if site.id() == engine.primary() {
        dep.primary_link = Some(id);
    } else {
        dep.secondary_link = Some(id);
    }
    Ok(Done { key, ops: vec![Op::DependencyPut(dep)] })
}

/// The issue-link webhook the write of `dep`'s link on `site` will bring
/// back is announced, so that the planner acknowledges it unread.
fn expect_echo(engine: &Engine, site: &dyn Site, dep: &DependencyRecord) {
    let primary = site.id() == engine.primary();
    let end = |pair: u64| {
        let l = engine.store.link(pair).ok().flatten()?;
        Some(if primary { l.primary_issue } else { l.secondary_issue })
    };
    if let (Some(a), Some(b)) = (end(dep.from_pair), end(dep.to_pair)) {
        engine.link_echoes.expect(site.id().as_str(), &a, &b, engine.now_ms());
    }
}

/// The dependency `dep` as the store has it now: one recorded meanwhile
/// for the same link (the other side's id known) is updated rather than
/// recorded twice.
fn known(engine: &Engine, dep: &DependencyRecord) -> DependencyRecord {
    let by = |site, link: &Option<String>| {
        let link = link.as_deref()?;
        engine.store.dependency_by_link(&dep.flow, site, link).ok().flatten()
    };
    let found =
        by(mapping::Site::Secondary, &dep.secondary_link).or_else(|| by(mapping::Site::Primary, &dep.primary_link));
    match found {
        Some(f) if f.id != dep.id => DependencyRecord {
            secondary_link: f.secondary_link.or(dep.secondary_link.clone()),
            primary_link: f.primary_link.or(dep.primary_link.clone()),
            ..f
        },
        _ => dep.clone(),
    }
}

async fn remove_link(engine: &Engine, site: &dyn Site, job: &Job, link_id: &str, dep: u64) -> Outcome {
    if let Some(d) = engine.store.dependency(dep).ok().flatten() {
        expect_echo(engine, site, &d);
    }
    match site.delete_link(link_id).await {
        // Gone already (removed by a person, or with its issue): done.
        Err(e) if !e.is_not_found() => return Err(e.into()),
        _ => {}
    }
    let key = job.target_key.clone().unwrap_or_default();
    Ok(Done { key, ops: (dep != 0).then_some(Op::DependencyDelete { id: dep }).into_iter().collect() })
}

/// Writes and deletes jirafed's remote links on the target issue (each
/// write is an upsert by global id, so a retry never makes two); the
/// shadow records the set.
async fn remote_links(site: &dyn Site, job: &Job, upsert: &[RemoteLinkWrite], delete: &[String]) -> Outcome {
    let key = job.target_key.clone().unwrap_or_default();
    for link in upsert {
        site.upsert_remote_link(&key, link).await?;
    }
    for global_id in delete {
        site.delete_remote_link(&key, global_id).await?;
    }
    Ok(Done { key, ops: shadow_op(job.link, job.shadow_after.clone()).into_iter().collect() })
}
