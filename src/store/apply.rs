//! How each op changes the tables, inside the writer's transaction. Outbox and
//! dead-letter ops live in `outbox.rs`, dependency and pending-link ops in
//! `deps.rs`.

use redb::ReadableTable;

use super::children;
use super::deps;
use super::error::Rejection;
use super::model::{EndedPair, LinkRecord, Op, OpResult};
use super::outbox;
use super::records;
use super::tables::{Tbl, UNIT, i64_key, meta, pair_key, read_u64, str_key, u64_key, with_u64};
use super::writer::{ApplyError, WriteSet, corrupt};
use crate::mapping::Shadow;

/// Where delivery ids sit among the dedupe keys: a prefix no change key
/// (an issue version, `deleted:...`, `{delivery}#{n}`) starts with.
const DELIVERY_ID_PREFIX: &str = "\u{0}delivery-id\u{0}";

/// Applies one op.
pub(super) fn apply(ws: &mut WriteSet<'_>, op: &Op) -> Result<OpResult, ApplyError> {
    match op {
        Op::InboxPush { instance, issue, payload, delivery } => {
            inbox_push(ws, instance, issue, payload, delivery.as_deref())
        }
        Op::DeliverySeen { instance, delivery } => {
            remember_delivery(ws, instance, delivery)?;
            Ok(OpResult::Done)
        }
        Op::DeliveryClaim { instance, delivery } => {
            let key = format!("{DELIVERY_ID_PREFIX}{delivery}");
            Ok(if remember_delivery(ws, instance, &key)? { OpResult::Done } else { OpResult::Duplicate })
        }
        Op::InboxAck { seqs } => {
            for seq in seqs {
                ws.remove(Tbl::Inbox, &u64_key(*seq))?;
            }
            Ok(OpResult::Done)
        }
        Op::OutboxPush { instance, target, payload, next_at_ms } => {
            outbox::push(ws, instance, target, payload, *next_at_ms)
        }
        Op::OutboxDone { seq } => outbox::done(ws, *seq),
        Op::OutboxReschedule { seq, next_at_ms, error } => outbox::reschedule(ws, *seq, *next_at_ms, error),
        Op::OutboxDeadLetter { seq, error, at_ms } => outbox::dead_letter(ws, *seq, error, *at_ms),
        Op::DeadLetterRetry { id, now_ms } => outbox::retry(ws, *id, *now_ms),
        Op::DeadLetterDrop { id } => outbox::drop_dead(ws, *id),
        Op::LinkPut(link) => link_put(ws, link),
        Op::LinkDelete { id } => link_delete(ws, *id),
        Op::ShadowPut { link, shadow } => shadow_put(ws, *link, shadow),
        Op::LinkWithShadow { link, shadow } => {
            let result = link_put(ws, link)?;
            if let OpResult::LinkId(id) = result {
                shadow_put(ws, id, shadow)?;
            }
            Ok(result)
        }
        Op::DependencyPut(dependency) => deps::dependency_put(ws, dependency),
        Op::DependencyDelete { id } => deps::dependency_delete(ws, *id),
        Op::PendingPut(pending) => deps::pending_put(ws, pending),
        Op::PendingDelete { id } => deps::pending_delete(ws, *id),
        Op::EndedPut(ended) => {
            for (instance, issue) in ended_ends(ended) {
                ended_delete(ws, instance, issue)?;
            }
            let bytes = records::ended_value(ended).map_err(corrupt)?;
            for (instance, issue) in ended_ends(ended) {
                ws.put(Tbl::Ended, &pair_key(instance, issue), &bytes)?;
            }
            Ok(OpResult::Done)
        }
        Op::EndedDelete { instance, issue } => ended_delete(ws, instance, issue),
        Op::PauseSet { instance, since_ms } => {
            if ws.get(Tbl::Paused, &str_key(instance))?.is_none() {
                ws.put(Tbl::Paused, &str_key(instance), &i64_key(*since_ms))?;
            }
            Ok(OpResult::Done)
        }
        Op::PauseClear { instance } => {
            Ok(if ws.remove(Tbl::Paused, &str_key(instance))?.is_some() { OpResult::Done } else { OpResult::NotFound })
        }
        Op::CursorSet { instance, at_ms } => {
            ws.put(Tbl::Cursors, instance.as_bytes(), &i64_key(*at_ms))?;
            Ok(OpResult::Done)
        }
        Op::Audit { at_ms, payload } => audit(ws, *at_ms, payload),
        Op::PruneDeliveries { older_than_ms } => prune_deliveries(ws, *older_than_ms),
    }
}

fn inbox_push(
    ws: &mut WriteSet<'_>,
    instance: &str,
    issue: &str,
    payload: &[u8],
    delivery: Option<&str>,
) -> Result<OpResult, ApplyError> {
    if let Some(delivery) = delivery {
        if !remember_delivery(ws, instance, delivery)? {
            return Ok(OpResult::Duplicate);
        }
    }
    let seq = ws.next_id(meta::NEXT_INBOX)?;
    let value = records::inbox_value(instance, issue, ws.now_ms, payload).map_err(corrupt)?;
    ws.put(Tbl::Inbox, &u64_key(seq), &value)?;
    Ok(OpResult::Pushed { seq })
}

/// Records a dedupe key as seen now; false when it was seen already.
fn remember_delivery(ws: &mut WriteSet<'_>, instance: &str, delivery: &str) -> Result<bool, ApplyError> {
    let key = pair_key(instance, delivery);
    if ws.get(Tbl::Deliveries, &key)?.is_some() {
        return Ok(false);
    }
    let seen = i64_key(ws.now_ms);
    ws.put(Tbl::Deliveries, &key, &seen)?;
    let mut by_time = seen.to_vec();
    by_time.extend_from_slice(&key);
    ws.put(Tbl::DeliveriesByTime, &by_time, UNIT)?;
    Ok(true)
}

/// Forgets deliveries first seen before the cut-off, oldest first.
fn prune_deliveries(ws: &mut WriteSet<'_>, older_than_ms: i64) -> Result<OpResult, ApplyError> {
    // Keys are ts ++ delivery key; every key of an instant >= the cut-off
    // sorts at or after the bare cut-off timestamp.
    let cut = i64_key(older_than_ms);
    let keys = ws
        .table(Tbl::DeliveriesByTime)
        .range::<&[u8]>(..cut.as_slice())?
        .map(|item| item.map(|(k, _)| k.value().to_vec()))
        .collect::<Result<Vec<_>, _>>()?;
    for key in keys {
        ws.remove(Tbl::DeliveriesByTime, &key)?;
        if let Some(delivery) = key.get(8..) {
            ws.remove(Tbl::Deliveries, delivery)?;
        }
    }
    Ok(OpResult::Done)
}

/// Appends to the audit log and drops the oldest entries beyond the bound
/// and those older than the age bound, in the same transaction, so the log
/// never outgrows them.
fn audit(ws: &mut WriteSet<'_>, at_ms: i64, payload: &[u8]) -> Result<OpResult, ApplyError> {
    let seq = ws.next_id(meta::NEXT_AUDIT)?;
    let value = records::audit_value(at_ms, payload).map_err(corrupt)?;
    ws.put(Tbl::Audit, &u64_key(seq), &value)?;
    prune_audit(ws)?;
    Ok(OpResult::Pushed { seq })
}

/// Most entries one prune drops by age: the rest go with the next ones, so
/// that no commit grows large after a long quiet time.
const AUDIT_PRUNE_BATCH: usize = 1_000;

/// Drops the oldest audit entries beyond `audit_limit`, and (up to
/// [`AUDIT_PRUNE_BATCH`]) those older than `audit_max_age_ms`.
pub(super) fn prune_audit(ws: &mut WriteSet<'_>) -> Result<(), ApplyError> {
    let excess = ws.len(Tbl::Audit)?.saturating_sub(ws.audit_limit);
    let cutoff = ws.audit_max_age_ms.map(|age| ws.now_ms.saturating_sub(age));
    let mut drop = Vec::new();
    for (i, item) in ws.table(Tbl::Audit).iter()?.enumerate() {
        let (k, v) = item?;
        let over_count = (i as u64) < excess;
        let too_old = i < AUDIT_PRUNE_BATCH
            && cutoff.is_some_and(|c| records::audit_entry(0, v.value()).is_ok_and(|e| e.at_ms < c));
        if !(over_count || too_old) {
            break;
        }
        drop.push(k.value().to_vec());
    }
    for key in drop {
        ws.remove(Tbl::Audit, &key)?;
    }
    Ok(())
}

fn load_link(ws: &WriteSet<'_>, id: u64) -> Result<Option<LinkRecord>, ApplyError> {
    match ws.get(Tbl::Links, &u64_key(id))? {
        Some(bytes) => Ok(Some(records::link_record(id, &bytes).map_err(corrupt)?)),
        None => Ok(None),
    }
}

fn primary_key(link: &LinkRecord) -> Vec<u8> {
    with_u64(&str_key(&link.primary_issue), link.id)
}

/// Inserts or replaces a link with its two index entries. The secondary
/// pairing is unique; a primary issue may mirror several secondaries (one per
/// flow), so that index is keyed by issue and link id.
fn link_put(ws: &mut WriteSet<'_>, link: &LinkRecord) -> Result<OpResult, ApplyError> {
    let (id, old) = if link.id == 0 {
        (ws.next_id(meta::NEXT_LINK)?, None)
    } else {
        let old = load_link(ws, link.id)?.ok_or(Rejection::UnknownLink { id: link.id })?;
        (link.id, Some(old))
    };
    let secondary = pair_key(&link.secondary, &link.secondary_issue);
    if let Some(bytes) = ws.get(Tbl::LinksBySecondary, &secondary)? {
        let existing = read_u64(&bytes).ok_or_else(|| corrupt(format!("secondary index entry of link {id}")))?;
        if existing != id {
            return Err(Rejection::LinkConflict {
                instance: link.secondary.clone(),
                issue: link.secondary_issue.clone(),
                existing,
            }
            .into());
        }
    }
    if let Some(old) = &old {
        remove_indexes(ws, old)?;
        outbox::count(ws, Tbl::LinkCounts, &old.flow, false)?;
    }
    outbox::count(ws, Tbl::LinkCounts, &link.flow, true)?;
    let record = LinkRecord { id, ..link.clone() };
    let value = records::link_value(&record).map_err(corrupt)?;
    ws.put(Tbl::Links, &u64_key(id), &value)?;
    ws.put(Tbl::LinksBySecondary, &secondary, &u64_key(id))?;
    ws.put(Tbl::LinksByPrimary, &primary_key(&record), UNIT)?;
    Ok(OpResult::LinkId(id))
}

fn remove_indexes(ws: &mut WriteSet<'_>, link: &LinkRecord) -> Result<(), ApplyError> {
    let secondary = pair_key(&link.secondary, &link.secondary_issue);
    // Only the link's own entry: a damaged index must not unpair another link.
    if ws.get(Tbl::LinksBySecondary, &secondary)?.and_then(|b| read_u64(&b)) == Some(link.id) {
        ws.remove(Tbl::LinksBySecondary, &secondary)?;
    }
    ws.remove(Tbl::LinksByPrimary, &primary_key(link))?;
    Ok(())
}

fn link_delete(ws: &mut WriteSet<'_>, id: u64) -> Result<OpResult, ApplyError> {
    let Some(old) = load_link(ws, id)? else {
        return Ok(OpResult::NotFound);
    };
    remove_indexes(ws, &old)?;
    outbox::count(ws, Tbl::LinkCounts, &old.flow, false)?;
    children::on_delete(ws, id, &old.secondary)?;
    ws.remove(Tbl::Links, &u64_key(id))?;
    ws.remove(Tbl::Shadows, &u64_key(id))?;
    deps::delete_dependencies_of(ws, id)?;
    Ok(OpResult::Done)
}

/// The two (instance, issue) keys an ended pairing is remembered under.
fn ended_ends(e: &EndedPair) -> [(&str, &str); 2] {
    [(e.secondary.as_str(), e.secondary_issue.as_str()), (e.primary.as_str(), e.primary_issue.as_str())]
}

/// Forgets the ended pairing under `(instance, issue)`, under both its keys.
fn ended_delete(ws: &mut WriteSet<'_>, instance: &str, issue: &str) -> Result<OpResult, ApplyError> {
    let Some(bytes) = ws.get(Tbl::Ended, &pair_key(instance, issue))? else {
        return Ok(OpResult::NotFound);
    };
    let old = records::ended_pair(&bytes).map_err(corrupt)?;
    for (instance, issue) in ended_ends(&old) {
        ws.remove(Tbl::Ended, &pair_key(instance, issue))?;
    }
    Ok(OpResult::Done)
}

fn shadow_put(ws: &mut WriteSet<'_>, link: u64, shadow: &Shadow) -> Result<OpResult, ApplyError> {
    let Some(record) = load_link(ws, link)? else {
        return Err(Rejection::UnknownLink { id: link }.into());
    };
    children::on_shadow(ws, link, &record.secondary, shadow)?;
    let bytes = records::shadow_value(shadow).map_err(corrupt)?;
    ws.put(Tbl::Shadows, &u64_key(link), &bytes)?;
    Ok(OpResult::Done)
}
