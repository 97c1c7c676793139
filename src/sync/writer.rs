//! A writer per target instance: outbox entries run in order per target
//! issue and in parallel across issues, each under the client's rate
//! limiter. Success stores the shadow (and the link) in the same commit that
//! removes the entry; retriable failures are rescheduled with backoff;
//! permanent ones become dead letters without blocking other issues.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Map, Value, json};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::engine::{Ctx, EngineEvent, now_ms};
use super::fields::to_jira;
use super::job::{Action, Job, SOURCE_DELETED_LABEL, Source};
use super::metrics::WriteOutcome;
use crate::ids::InstanceId;
use crate::jira::JiraError;
use crate::jira::client::JiraClient;
use crate::jira::values::{FieldValue, ValueKind, write_value};
use crate::mapping;
use crate::store::{LinkRecord, Op, OpResult, OutboxEntry};

/// Longest the writer sleeps before looking at the outbox again.
const TICK: Duration = Duration::from_millis(250);
/// Backoff of a rescheduled entry: base doubled per attempt, capped.
const RESCHEDULE_BASE_MS: i64 = 2_000;
const RESCHEDULE_MAX_MS: i64 = 300_000;

pub async fn run(ctx: Arc<Ctx>, instance: InstanceId, cancel: CancellationToken) {
    let running: Arc<Mutex<HashSet<u64>>> = Arc::default();
    let mut tasks = JoinSet::new();
    loop {
        while tasks.try_join_next().is_some() {}
        match ctx.store.outbox_ready(now_ms(), 256) {
            Ok(ready) => {
                for e in ready.into_iter().filter(|e| e.instance == instance.as_str()) {
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
            let delay = (RESCHEDULE_BASE_MS << e.attempts.min(16)).min(RESCHEDULE_MAX_MS);
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

fn shadow_op(link: Option<u64>, shadow: &Option<mapping::Shadow>) -> Option<Op> {
    let value = serde_json::to_value(shadow.as_ref()?).ok()?;
    Some(Op::ShadowPut { link: link?, value })
}

/// Canonical values as this site's `fields` JSON. Users are found by
/// e-mail; one that cannot be found is reported and left unset.
async fn fields_json(
    client: &JiraClient,
    fields: &std::collections::BTreeMap<String, mapping::Value>,
) -> Result<Map<String, Value>, JiraError> {
    let catalogue = client.fields().await?;
    let mut out = Map::new();
    for (id, v) in fields {
        let Some(info) = catalogue.by_id(id) else { continue };
        let kind = ValueKind::of(info.schema.as_ref());
        let mut value = to_jira(v, kind);
        if let FieldValue::User(u) = &value {
            match u.email.as_deref() {
                Some(email) => match client.find_user_by_email(email).await? {
                    Some(found) => value = FieldValue::User(found),
                    None => {
                        tracing::warn!(instance = %client.id, field = %id, "user not found by e-mail on the target; left unset");
                        continue;
                    }
                },
                None => continue,
            }
        }
        if let Some(json) = write_value(client.flavour, info.schema.as_ref(), &value) {
            out.insert(id.clone(), json);
        }
    }
    Ok(out)
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
    let mut json = fields_json(client, fields).await?;
    if client.id == ctx.primary {
        keep_mark(ctx, job, &mut json);
    }
    if !json.is_empty() {
        client.edit_issue(&key, json).await?;
    }
    if let Some(s) = status {
        client.transition_to(&key, s, &Map::new()).await?;
    }
    Ok((key, shadow_op(job.link, &job.shadow_after).into_iter().collect()))
}

async fn create(ctx: &Ctx, client: &JiraClient, e: &OutboxEntry, job: &Job) -> Outcome {
    let Action::Create { project, issue_type, fields, status, mark, source } = &job.action else { unreachable!() };
    // A second create for the same source (planned again after a restart,
    // before the first ran) finds the link the first one made.
    if let Ok(Some(l)) = ctx.store.link_by_secondary(&source.instance, &source.issue_id) {
        return Ok((l.primary_key, vec![]));
    }
    // A first attempt is recorded before anything is sent, so that after a
    // crash the mark is looked for instead of creating a second mirror.
    let existing = if e.attempts > 0 {
        client.find_by_mark(project, mark).await?
    } else {
        let op =
            Op::OutboxReschedule { seq: e.seq, next_at_ms: now_ms() + RESCHEDULE_BASE_MS, error: "creating".into() };
        ctx.store.commit(vec![op]).await.map_err(|err| store_error(&err.to_string()))?;
        None
    };
    let created = match existing {
        Some(r) => r,
        None => client.create_issue(project, issue_type, fields_json(client, fields).await?, Some(mark)).await?,
    };
    if let Some(s) = status {
        client.transition_to(created.key.as_str(), s, &Map::new()).await?;
    }
    let link = link_for(ctx, job, source, created.id.as_str(), created.key.as_str()).await?;
    Ok((created.key.to_string(), shadow_op(Some(link), &job.shadow_after).into_iter().collect()))
}

/// A mirror's labels are rewritten whole, so its provenance mark is put back.
fn keep_mark(ctx: &Ctx, job: &Job, json: &mut Map<String, Value>) {
    let Some(link) = job.link.and_then(|l| ctx.store.link(l).ok().flatten()) else { return };
    let source = Source { instance: link.secondary, issue_id: link.secondary_issue, issue_key: link.secondary_key };
    let m = super::job::mark(&job.flow, &source);
    if let Some(Value::Array(labels)) = json.get_mut("labels") {
        if !labels.iter().any(|l| l.as_str() == Some(m.as_str())) {
            labels.push(Value::String(m));
        }
    }
}

fn store_error(text: &str) -> JiraError {
    JiraError::new(crate::jira::ErrorKind::Network, "store").with_detail(text.to_string())
}

/// The link of a new mirror: the existing one (a retried create), or a new one.
async fn link_for(
    ctx: &Ctx,
    job: &Job,
    source: &Source,
    primary_id: &str,
    primary_key: &str,
) -> Result<u64, JiraError> {
    if let Ok(Some(l)) = ctx.store.link_by_secondary(&source.instance, &source.issue_id) {
        return Ok(l.id);
    }
    let record = LinkRecord {
        id: 0,
        flow: job.flow.clone(),
        secondary: source.instance.clone(),
        secondary_issue: source.issue_id.clone(),
        secondary_key: source.issue_key.clone(),
        primary_issue: primary_id.to_string(),
        primary_key: primary_key.to_string(),
        created_ms: now_ms(),
    };
    let results = ctx.store.commit(vec![Op::LinkPut(record)]).await.map_err(|e| store_error(&e.to_string()))?;
    match results.first() {
        Some(OpResult::LinkId(id)) => Ok(*id),
        _ => Err(store_error("the link was not stored")),
    }
}

async fn unlink(client: &JiraClient, job: &Job, delete_mirror: bool, label: bool) -> Outcome {
    let key = job.target_key.clone().unwrap_or_default();
    if delete_mirror {
        match client.delete_issue(&key).await {
            Err(e) if !e.is_not_found() => return Err(e),
            _ => {}
        }
    } else if label {
        let issue = client.issue(&key, &["labels"]).await?;
        let mut labels = issue.labels.clone();
        if !labels.iter().any(|l| l == SOURCE_DELETED_LABEL) {
            labels.push(SOURCE_DELETED_LABEL.to_string());
            let mut f = Map::new();
            f.insert("labels".into(), json!(labels));
            client.edit_issue(&key, f).await?;
        }
    }
    Ok((key, job.link.map(|id| Op::LinkDelete { id }).into_iter().collect()))
}
