//! A writer per target instance: outbox entries run in order per target
//! issue and in parallel across issues, each under the client's rate
//! limiter. Success stores the shadow (and the link) in the same commit that
//! removes the entry; retriable failures are rescheduled with backoff;
//! permanent ones become dead letters without blocking other issues.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Map, json};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::change::{Change, ChangeKind, ChangeSource};
use super::engine::{Ctx, EngineEvent, now_ms};
use super::fields::to_jira;
use super::job::{Action, Job, SOURCE_DELETED_LABEL, Source};
use super::metrics::WriteOutcome;
use crate::ids::{InstanceId, IssueId, IssueKey};
use crate::jira::JiraError;
use crate::jira::client::JiraClient;
use crate::jira::mark::Mark;
use crate::jira::values::{FieldValue, FieldWrites, ValueKind, can_write};
use crate::mapping;
use crate::store::{LinkRecord, Op, OpResult, OutboxEntry};

/// Longest the writer sleeps before looking at the outbox again.
const TICK: Duration = Duration::from_millis(250);
/// Ready entries read per look at the outbox (this instance's only).
const READY_BATCH: usize = 256;
/// Backoff of a rescheduled entry: base doubled per attempt, capped.
const RESCHEDULE_BASE_MS: i64 = 2_000;
const RESCHEDULE_MAX_MS: i64 = 300_000;

pub async fn run(ctx: Arc<Ctx>, instance: InstanceId, cancel: CancellationToken) {
    let running: Arc<Mutex<HashSet<u64>>> = Arc::default();
    let mut tasks = JoinSet::new();
    loop {
        while tasks.try_join_next().is_some() {}
        match ctx.store.outbox_ready(instance.as_str(), now_ms(), READY_BATCH) {
            Ok(ready) => {
                for e in ready {
                    if !running.lock().unwrap_or_else(|p| p.into_inner()).insert(e.seq) {
                        continue;
                    }
                    let (ctx, running) = (ctx.clone(), running.clone());
                    tasks.spawn(async move {
                        let seq = e.seq;
                        execute(&ctx, e).await;
                        running.lock().unwrap_or_else(|p| p.into_inner()).remove(&seq);
                        ctx.wake_writers.notify_waiters();
                    });
                }
            }
            Err(e) => tracing::warn!(instance = %instance, error = %e, "outbox unreadable"),
        }
        tokio::select! {
            _ = cancel.cancelled() => break,
            _ = ctx.wake_writers.notified() => {}
            _ = tokio::time::sleep(TICK) => {}
        }
    }
    // Drain: writes already sent finish and are committed.
    while tasks.join_next().await.is_some() {}
}

pub(super) fn pending_key(job: &Job) -> String {
    match (&job.link, &job.action) {
        (Some(l), _) => format!("link:{l}"),
        (None, Action::Create { source, .. }) => format!("src:{}:{}", source.instance, source.issue_id),
        (None, _) => String::new(),
    }
}

async fn execute(ctx: &Ctx, e: OutboxEntry) {
    let Some(job) = Job::from_bytes(&e.payload) else {
        let op = Op::OutboxDeadLetter { seq: e.seq, error: "unreadable outbox entry".into(), at_ms: now_ms() };
        let _ = ctx.store.commit(vec![op]).await;
        return;
    };
    let Some(client) = ctx.client(&e.instance).cloned() else { return };
    let result = match &job.action {
        Action::Create { .. } => create(ctx, &client, &e, &job).await,
        Action::Update { fields, status } => update(ctx, &client, &job, fields, status.as_deref()).await,
        Action::Unlink { delete_mirror, label } => unlink(&client, &job, *delete_mirror, *label).await,
    };
    let done = match result {
        Ok((key, mut ops)) => {
            ops.push(Op::OutboxDone { seq: e.seq });
            let audit = json!({"flow": job.flow, "instance": e.instance, "op": job.action.name(), "key": key});
            ops.push(Op::Audit { at_ms: now_ms(), payload: audit.to_string().into_bytes() });
            match ctx.store.commit(ops).await {
                Ok(_) => {
                    ctx.activity.lock().unwrap_or_else(|p| p.into_inner()).wrote(&e.instance, now_ms());
                    ctx.metrics.write(&e.instance, job.action.name(), WriteOutcome::Ok);
                    let latency_ms = now_ms() - job.origin_ms;
                    tracing::info!(flow = %job.flow, instance = %e.instance, op = job.action.name(), issue = %key, latency_ms, "written");
                    let action = job.action.name();
                    ctx.emit(EngineEvent::Written {
                        flow: job.flow.clone(),
                        instance: e.instance.clone(),
                        action,
                        key,
                        latency_ms,
                    });
                    true
                }
                Err(err) => {
                    tracing::error!(error = %err, "cannot record a finished write; it will be retried");
                    false
                }
            }
        }
        Err(err) if err.is_retriable() => {
            let delay = backoff_ms(e.attempts, err.retry_after);
            let op = Op::OutboxReschedule { seq: e.seq, next_at_ms: now_ms() + delay, error: err.to_string() };
            tracing::warn!(flow = %job.flow, instance = %e.instance, error = %err, "write failed; rescheduled");
            ctx.metrics.write(&e.instance, job.action.name(), WriteOutcome::Retry);
            let _ = ctx.store.commit(vec![op]).await;
            false
        }
        Err(err) => {
            tracing::warn!(flow = %job.flow, instance = %e.instance, error = %err, "write refused; dead-lettered");
            ctx.metrics.write(&e.instance, job.action.name(), WriteOutcome::DeadLetter);
            let op = Op::OutboxDeadLetter { seq: e.seq, error: err.to_string(), at_ms: now_ms() };
            let _ = ctx.store.commit(vec![op]).await;
            ctx.emit(EngineEvent::DeadLettered {
                flow: job.flow.clone(),
                instance: e.instance.clone(),
                error: err.to_string(),
            });
            true
        }
    };
    if done {
        ctx.pending_remove(&pending_key(&job));
        ctx.wake_planner.notify_one();
    }
}

/// The wait before a failed write is tried again: exponential in the
/// attempts, capped, with equal jitter (half fixed, half random) so that
/// writes that failed together do not come back together; never before a
/// `Retry-After` Jira gave.
fn backoff_ms(attempts: u32, retry_after: Option<Duration>) -> i64 {
    let ceiling = (RESCHEDULE_BASE_MS << attempts.min(16)).min(RESCHEDULE_MAX_MS);
    let jittered = ceiling / 2 + rand::random_range(0..=ceiling / 2);
    let floor = retry_after.map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(RESCHEDULE_MAX_MS));
    jittered.max(floor)
}

fn shadow_op(link: Option<u64>, shadow: &Option<mapping::Shadow>) -> Option<Op> {
    let value = serde_json::to_value(shadow.as_ref()?).ok()?;
    Some(Op::ShadowPut { link: link?, value })
}

/// A job's fields as typed writes for this site, and the fields left out.
struct Written {
    json: FieldWrites,
    /// Field ids (on this site) not written: a user not found by e-mail, a
    /// field missing from the site's catalogue.
    skipped: Vec<String>,
    /// Field ids written without some of their values (components or
    /// versions the project lacks).
    partial: Vec<(String, Vec<String>)>,
}

/// Canonical values as this site's `fields` JSON. Users are found by
/// e-mail; one that cannot be found is reported and left unset.
async fn fields_json(
    ctx: &Ctx,
    job: &Job,
    client: &JiraClient,
    fields: &std::collections::BTreeMap<String, mapping::Value>,
) -> Result<Written, JiraError> {
    let catalogue = client.fields().await?;
    let mut out = Written { json: FieldWrites::new(), skipped: Vec::new(), partial: Vec::new() };
    for (id, v) in fields {
        let Some(info) = catalogue.by_id(id) else {
            report(ctx, job, client, id, "the field is not in the site's field list; not written");
            out.skipped.push(id.clone());
            continue;
        };
        let kind = ValueKind::of(info.schema.as_ref());
        let mut value = to_jira(v, kind);
        if let FieldValue::User(u) = &value {
            let found = match u.email.as_deref() {
                Some(email) => user_by_email(ctx, client, email).await,
                None => Ok(None),
            };
            match found {
                Ok(Some(found)) => value = FieldValue::User(found),
                Ok(None) => {
                    report(ctx, job, client, id, "no user with this e-mail on the site; left unset");
                    out.skipped.push(id.clone());
                    continue;
                }
                Err(e) if e.is_retriable() => return Err(e),
                // Several users could be the one: never guess; the rest of
                // the write goes through.
                Err(e) => {
                    report(ctx, job, client, id, &format!("{e}; left unset"));
                    out.skipped.push(id.clone());
                    continue;
                }
            }
        }
        if let (FieldValue::Named(names), Some(items)) =
            (&mut value, info.schema.as_ref().and_then(|s| s.items.clone()))
        {
            if let Some(missing) = missing_names(ctx, client, job, &items, names).await? {
                let why = format!("no {items} named {} in the project; left out", missing.join(", "));
                report(ctx, job, client, id, &why);
                if names.is_empty() && !missing.is_empty() {
                    out.skipped.push(id.clone());
                    continue;
                }
                out.partial.push((id.clone(), names.clone()));
            }
        }
        if can_write(client.flavour, info.schema.as_ref(), &value) {
            out.json.set(info, value);
        } else {
            out.skipped.push(id.clone());
        }
    }
    Ok(out)
}

/// The names of `items` (components or versions) that the target project
/// lacks, removed from `names`; `None` when all exist (or the kind is not
/// one a project lists). Writing them would make Jira refuse the whole
/// write; they are reported instead.
async fn missing_names(
    ctx: &Ctx,
    client: &JiraClient,
    job: &Job,
    items: &str,
    names: &mut Vec<String>,
) -> Result<Option<Vec<String>>, JiraError> {
    if !matches!(items, "component" | "version") || names.is_empty() {
        return Ok(None);
    }
    let project = match &job.action {
        Action::Create { project, .. } => project.clone(),
        _ => match job.target_key.as_deref().and_then(|k| k.rsplit_once('-')) {
            Some((p, _)) => p.to_string(),
            None => return Ok(None),
        },
    };
    let known = project_names(ctx, client, &project, items, false).await?;
    let mut missing: Vec<String> = names.iter().filter(|n| !known.iter().any(|k| k == *n)).cloned().collect();
    if !missing.is_empty() {
        // Made since the cache was filled? Look once more before leaving them out.
        let known = project_names(ctx, client, &project, items, true).await?;
        missing.retain(|n| !known.iter().any(|k| k == n));
    }
    if missing.is_empty() {
        return Ok(None);
    }
    names.retain(|n| !missing.contains(n));
    Ok(Some(missing))
}

/// A project's component or version names.
async fn project_names(
    ctx: &Ctx,
    client: &JiraClient,
    project: &str,
    items: &str,
    fresh: bool,
) -> Result<Vec<String>, JiraError> {
    let names =
        |p: &crate::jira::model::Project| if items == "component" { p.components.clone() } else { p.versions.clone() };
    let now = now_ms();
    if let Some(p) = ctx.projects.get(client.id.as_str(), project, now).filter(|_| !fresh) {
        return Ok(names(&p));
    }
    let p = client.project(project).await?;
    ctx.projects.put(client.id.as_str(), project, now, p.clone());
    Ok(names(&p))
}

/// A user of `client`'s site by e-mail, remembered for a while so that
/// writes do not search for the same person again and again.
async fn user_by_email(
    ctx: &Ctx,
    client: &JiraClient,
    email: &str,
) -> Result<Option<crate::jira::model::UserRef>, JiraError> {
    let (email, now) = (email.to_lowercase(), now_ms());
    if let Some(found) = ctx.users.get(client.id.as_str(), &email, now) {
        return Ok(found);
    }
    let found = client.find_user_by_email(&email).await?;
    ctx.users.put(client.id.as_str(), &email, now, found.clone());
    Ok(found)
}

/// A value that could not be written: logged and shown as the flow's last
/// error on `/status` (it is not a failed write: the rest went through).
fn report(ctx: &Ctx, job: &Job, client: &JiraClient, field: &str, why: &str) {
    tracing::warn!(flow = %job.flow, instance = %client.id, field, why, "value not written");
    ctx.board.record_flow_error(&job.flow, now_ms(), format!("{}: field {field}: {why}", client.id));
}

/// The shadow to store after a write that left `skipped` fields out: the
/// shadow records what the sites agree on, so a field not written keeps the
/// value it had (a new mirror holds nothing for it). Otherwise the next pass
/// would take the target's unchanged value for an edit there and carry it
/// back over the source.
fn shadow_after(
    ctx: &Ctx,
    job: &Job,
    target: &InstanceId,
    written: &Written,
    created: bool,
) -> Option<mapping::Shadow> {
    let mut shadow = job.shadow_after.clone()?;
    let skipped = &written.skipped;
    if skipped.is_empty() && written.partial.is_empty() {
        return Some(shadow);
    }
    let flow = ctx.flow(&job.flow)?;
    let on_primary = *target == ctx.primary;
    // Written in part: the shadow holds what was written, in primary space.
    for (id, names) in &written.partial {
        let field = |f: &&super::fields::ResolvedField| if on_primary { &f.primary.id } else { &f.secondary.id } == id;
        let Some(f) = flow.fields.iter().find(field) else { continue };
        let translate = |n: &String| match f.values.iter().find(|(s, _)| s == n) {
            Some((_, p)) if !on_primary => p.clone(),
            _ => n.clone(),
        };
        let value = mapping::Value::Choices(names.iter().map(translate).collect()).normalise();
        shadow.values.insert(f.key.clone(), value);
    }
    let before: Option<mapping::Shadow> = match job.link {
        Some(l) if !created => ctx.store.shadow(l).ok().flatten().and_then(|v| serde_json::from_value(v).ok()),
        _ => None,
    };
    for id in skipped {
        let Some(f) = flow.fields.iter().find(|f| if on_primary { &f.primary.id } else { &f.secondary.id } == id)
        else {
            continue;
        };
        match (created, before.as_ref().and_then(|b| b.values.get(&f.key))) {
            (true, _) => {
                shadow.values.insert(f.key.clone(), mapping::Value::Empty);
            }
            (false, Some(old)) => {
                shadow.values.insert(f.key.clone(), old.clone());
            }
            (false, None) => {
                shadow.values.remove(&f.key);
            }
        }
    }
    Some(shadow)
}

type Outcome = Result<(String, Vec<Op>), JiraError>;

async fn update(
    ctx: &Ctx,
    client: &JiraClient,
    job: &Job,
    fields: &std::collections::BTreeMap<String, mapping::Value>,
    status: Option<&str>,
) -> Outcome {
    let key = job.target_key.clone().unwrap_or_default();
    let mut written = fields_json(ctx, job, client, fields).await?;
    if client.id == ctx.primary {
        keep_mark(ctx, job, &mut written.json);
    }
    let result = async {
        if !written.json.is_empty() {
            client.edit_issue(&key, &written.json).await?;
        }
        if let Some(s) = status {
            client.transition_to(&key, s, &Map::new()).await?;
        }
        Ok::<_, JiraError>(())
    }
    .await;
    match result {
        Ok(()) => {
            let shadow = shadow_after(ctx, job, &client.id, &written, false);
            Ok((key, shadow_op(job.link, &shadow).into_iter().collect()))
        }
        // The target is gone (deleted or moved out of sight): the planner
        // reads both sides again and applies the flow's rules to the pair.
        Err(err) if err.is_not_found() => {
            tracing::info!(flow = %job.flow, instance = %client.id, issue = %key, "target issue gone; pair planned again");
            Ok((key, job.link.and_then(|l| replan_link(ctx, l)).into_iter().collect()))
        }
        Err(err) => Err(err),
    }
}

/// A change of the link's secondary issue for the planner, from the writer:
/// "read this pair again".
fn replan_link(ctx: &Ctx, link: u64) -> Option<Op> {
    let l = ctx.store.link(link).ok().flatten()?;
    Some(replan(&Source { instance: l.secondary, issue_id: l.secondary_issue, issue_key: l.secondary_key }))
}

fn replan(source: &Source) -> Op {
    let change = Change {
        instance: InstanceId::new(&source.instance),
        issue_id: IssueId::new(&source.issue_id),
        issue_key: Some(IssueKey::new(&source.issue_key)),
        source: ChangeSource::Reconcile,
        kind: ChangeKind::Updated,
        seen_ms: now_ms(),
        actor: None,
        version_ms: None,
    };
    Op::InboxPush {
        instance: source.instance.clone(),
        issue: source.issue_id.clone(),
        payload: change.to_bytes(),
        delivery: None,
    }
}

/// Creates a mirror. The link and the shadow of what was created are
/// committed together as soon as Jira answers (before any transition), so a
/// later failure never leaves a mirror without its pairing; a status that
/// cannot be set is planned again as an update of the pair, where a
/// permanent failure is dead-lettered like any other.
async fn create(ctx: &Ctx, client: &JiraClient, e: &OutboxEntry, job: &Job) -> Outcome {
    let Action::Create { project, issue_type, fields, status, mark, source } = &job.action else {
        return Err(store_error("not a create"));
    };
    // The mirror exists already (an earlier attempt of this job got as far
    // as its link): what is left is planned again from fresh reads.
    if let Ok(Some(l)) = ctx.store.link_by_secondary(&source.instance, &source.issue_id) {
        return Ok((l.primary_key, vec![replan(source)]));
    }
    let written = fields_json(ctx, job, client, fields).await?;
    // A first attempt is recorded before anything is sent, so that after a
    // crash the mark is looked for instead of creating a second mirror.
    let existing = if e.attempts > 0 {
        client.find_by_mark(project, &Mark::from_label(mark.clone())).await?
    } else {
        let op =
            Op::OutboxReschedule { seq: e.seq, next_at_ms: now_ms() + RESCHEDULE_BASE_MS, error: "creating".into() };
        ctx.store.commit(vec![op]).await.map_err(|err| store_error(&err.to_string()))?;
        None
    };
    let created = match existing {
        Some(r) => r,
        None => client.create_issue(project, issue_type, &written.json, Some(&Mark::from_label(mark.clone()))).await?,
    };
    let key = created.key.to_string();
    let shadow = shadow_after(ctx, job, &client.id, &written, true).unwrap_or_default();
    let link = LinkRecord {
        id: 0,
        flow: job.flow.clone(),
        secondary: source.instance.clone(),
        secondary_issue: source.issue_id.clone(),
        secondary_key: source.issue_key.clone(),
        primary_issue: created.id.to_string(),
        primary_key: key.clone(),
        created_ms: now_ms(),
    };
    let Some(target) = status else {
        return Ok((key, vec![link_with_shadow(link, &shadow)]));
    };
    // Statuses unknown until the transition is done: a pair planned in
    // between moves the status from the secondary.
    let pre = mapping::Shadow { status_secondary: None, status_primary: None, ..shadow.clone() };
    let results =
        ctx.store.commit(vec![link_with_shadow(link, &pre)]).await.map_err(|err| store_error(&err.to_string()))?;
    let Some(OpResult::LinkId(id)) = results.first() else { return Err(store_error("the link was not stored")) };
    match client.transition_to(&key, target, &Map::new()).await {
        Ok(_) => Ok((key, shadow_op(Some(*id), &Some(shadow)).into_iter().collect())),
        Err(err) => {
            tracing::warn!(flow = %job.flow, instance = %client.id, issue = %key, error = %err, "mirror created; its status is planned again");
            Ok((key, vec![replan(source)]))
        }
    }
}

fn link_with_shadow(link: LinkRecord, shadow: &mapping::Shadow) -> Op {
    // A struct of maps and strings always serialises.
    let shadow = serde_json::to_value(shadow).unwrap_or_else(|_| json!({}));
    Op::LinkWithShadow { link, shadow }
}

/// A mirror's labels are rewritten whole, so its provenance mark is put back.
fn keep_mark(ctx: &Ctx, job: &Job, json: &mut FieldWrites) {
    let Some(link) = job.link.and_then(|l| ctx.store.link(l).ok().flatten()) else { return };
    let source = Source { instance: link.secondary, issue_id: link.secondary_issue, issue_key: link.secondary_key };
    let m = super::job::mark(&job.flow, &source);
    if let Some(FieldValue::Labels(labels)) = json.get_mut("labels") {
        Mark::from_label(m).keep_in(labels);
    }
}

fn store_error(text: &str) -> JiraError {
    JiraError::new(crate::jira::ErrorKind::Network, "store").with_detail(text.to_string())
}

async fn unlink(client: &JiraClient, job: &Job, delete_mirror: bool, label: bool) -> Outcome {
    let key = job.target_key.clone().unwrap_or_default();
    if delete_mirror {
        match client.delete_issue(&key).await {
            Err(e) if !e.is_not_found() => return Err(e),
            _ => {}
        }
    } else if label {
        client.add_label(&key, SOURCE_DELETED_LABEL).await?;
    }
    Ok((key, job.link.map(|id| Op::LinkDelete { id }).into_iter().collect()))
}
