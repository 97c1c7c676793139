//! Outbox and dead-letter ops.
//!
//! Writes to one `(instance, target)` run one at a time in seq order. The
//! `outbox_queue` index keeps each target's FIFO; the `outbox_due` index holds
//! exactly one entry per target that can run: the head of its queue, keyed by
//! its instance and due time, unless a dead letter of the same target blocks it. Every op
//! below notes the target's due member before it changes anything and fixes
//! the index afterwards ([`refresh`]), so `outbox_ready` is a single range
//! scan however long the queues are.

use super::model::OpResult;
use super::records::{self, OutboxHeader};
use super::tables::{
    Tbl, UNIT, first_with_prefix, i64_key, meta, pair_key, read_u64, str_key, suffix_u64, u64_key, with_u64,
};
use super::writer::{ApplyError, WriteSet, corrupt};

/// The key of an entry in the due index: per instance, by due time, so
/// that each instance's writer scans only its own ready entries.
pub(super) fn due_key(instance: &str, next_at_ms: i64, seq: u64) -> Vec<u8> {
    let mut key = str_key(instance);
    key.extend_from_slice(&i64_key(next_at_ms));
    with_u64(&key, seq)
}

fn header(ws: &WriteSet<'_>, seq: u64) -> Result<Option<OutboxHeader>, ApplyError> {
    match ws.get(Tbl::Outbox, &u64_key(seq))? {
        Some(bytes) => Ok(Some(records::outbox_header(seq, &bytes).map_err(corrupt)?)),
        None => Ok(None),
    }
}

/// The due-index key the target should have now: its head, unless blocked.
fn due_member(ws: &WriteSet<'_>, target: &[u8]) -> Result<Option<Vec<u8>>, ApplyError> {
    if first_with_prefix(ws.table(Tbl::DeadByTarget), target)?.is_some() {
        return Ok(None);
    }
    let Some(head) = first_with_prefix(ws.table(Tbl::OutboxQueue), target)? else {
        return Ok(None);
    };
    let seq = suffix_u64(&head).ok_or_else(|| corrupt("outbox queue key".to_string()))?;
    let h = header(ws, seq)?.ok_or_else(|| corrupt(format!("outbox queue names missing entry {seq}")))?;
    Ok(Some(due_key(&h.instance, h.next_at_ms, seq)))
}

/// Replaces the target's due member noted before a change by the one it has
/// after it.
fn refresh(ws: &mut WriteSet<'_>, target: &[u8], before: Option<Vec<u8>>) -> Result<(), ApplyError> {
    let after = due_member(ws, target)?;
    if before != after {
        if let Some(old) = before {
            ws.remove(Tbl::OutboxDue, &old)?;
        }
        if let Some(new) = after {
            ws.put(Tbl::OutboxDue, &new, UNIT)?;
        }
    }
    Ok(())
}

/// Adds one to (or takes one from) a per-instance counter, removing it at zero.
pub(super) fn count(ws: &mut WriteSet<'_>, table: Tbl, instance: &str, add: bool) -> Result<(), ApplyError> {
    let key = instance.as_bytes();
    let current = ws.get(table, key)?.and_then(|b| read_u64(&b)).unwrap_or(0);
    let next = if add { current.saturating_add(1) } else { current.saturating_sub(1) };
    if next == 0 {
        ws.remove(table, key)?;
    } else {
        ws.put(table, key, &u64_key(next))?;
    }
    Ok(())
}

/// Stores an entry under `seq` and queues it behind its target.
fn insert(ws: &mut WriteSet<'_>, seq: u64, h: &OutboxHeader, payload: &[u8], target: &[u8]) -> Result<(), ApplyError> {
    let value = records::outbox_value(h, payload).map_err(corrupt)?;
    ws.put(Tbl::Outbox, &u64_key(seq), &value)?;
    ws.put(Tbl::OutboxQueue, &with_u64(target, seq), UNIT)?;
    count(ws, Tbl::OutboxCounts, &h.instance, true)
}

/// Queues a write behind the others of its target.
pub(super) fn push(
    ws: &mut WriteSet<'_>,
    instance: &str,
    target: &str,
    payload: &[u8],
    next_at_ms: i64,
) -> Result<OpResult, ApplyError> {
    let key = pair_key(instance, target);
    let before = due_member(ws, &key)?;
    let seq = ws.next_id(meta::NEXT_OUTBOX)?;
    let h = OutboxHeader {
        instance: instance.to_string(),
        target: target.to_string(),
        attempts: 0,
        next_at_ms,
        last_error: None,
    };
    insert(ws, seq, &h, payload, &key)?;
    refresh(ws, &key, before)?;
    Ok(OpResult::Pushed { seq })
}

/// An entry taken out of the outbox, with what its caller needs to finish.
struct Taken {
    header: OutboxHeader,
    payload: Vec<u8>,
    target: Vec<u8>,
    before: Option<Vec<u8>>,
}

fn take(ws: &mut WriteSet<'_>, seq: u64) -> Result<Option<Taken>, ApplyError> {
    let Some(bytes) = ws.get(Tbl::Outbox, &u64_key(seq))? else {
        return Ok(None);
    };
    let (header, payload) = records::outbox_parts(seq, &bytes).map_err(corrupt)?;
    let target = pair_key(&header.instance, &header.target);
    let before = due_member(ws, &target)?;
    ws.remove(Tbl::Outbox, &u64_key(seq))?;
    ws.remove(Tbl::OutboxQueue, &with_u64(&target, seq))?;
    count(ws, Tbl::OutboxCounts, &header.instance, false)?;
    Ok(Some(Taken { header, payload, target, before }))
}

/// The write succeeded: remove it and release the next of its target.
pub(super) fn done(ws: &mut WriteSet<'_>, seq: u64) -> Result<OpResult, ApplyError> {
    let Some(taken) = take(ws, seq)? else {
        return Ok(OpResult::NotFound);
    };
    refresh(ws, &taken.target, taken.before)?;
    Ok(OpResult::Done)
}

/// The write failed and waits until `next_at_ms`; it stays at the head.
pub(super) fn reschedule(
    ws: &mut WriteSet<'_>,
    seq: u64,
    next_at_ms: i64,
    error: &str,
) -> Result<OpResult, ApplyError> {
    let Some(bytes) = ws.get(Tbl::Outbox, &u64_key(seq))? else {
        return Ok(OpResult::NotFound);
    };
    let (mut h, payload) = records::outbox_parts(seq, &bytes).map_err(corrupt)?;
    let target = pair_key(&h.instance, &h.target);
    let before = due_member(ws, &target)?;
    h.attempts = h.attempts.saturating_add(1);
    h.next_at_ms = next_at_ms;
    h.last_error = Some(error.to_string());
    let value = records::outbox_value(&h, &payload).map_err(corrupt)?;
    ws.put(Tbl::Outbox, &u64_key(seq), &value)?;
    refresh(ws, &target, before)?;
    Ok(OpResult::Done)
}

/// The write failed for good: it becomes a dead letter that blocks its target.
pub(super) fn dead_letter(ws: &mut WriteSet<'_>, seq: u64, error: &str, at_ms: i64) -> Result<OpResult, ApplyError> {
    let Some(taken) = take(ws, seq)? else {
        return Ok(OpResult::NotFound);
    };
    let id = ws.next_id(meta::NEXT_DEAD)?;
    let value = records::dead_value(seq, &taken.header, error, at_ms, &taken.payload).map_err(corrupt)?;
    ws.put(Tbl::DeadLetters, &u64_key(id), &value)?;
    ws.put(Tbl::DeadByTarget, &with_u64(&taken.target, id), UNIT)?;
    count(ws, Tbl::DeadCounts, &taken.header.instance, true)?;
    refresh(ws, &taken.target, taken.before)?;
    Ok(OpResult::DeadLettered { id })
}

/// A dead letter taken out of its table, with what its caller needs to finish.
struct Raised {
    seq: u64,
    header: OutboxHeader,
    payload: Vec<u8>,
    target: Vec<u8>,
    before: Option<Vec<u8>>,
}

fn raise(ws: &mut WriteSet<'_>, id: u64) -> Result<Option<Raised>, ApplyError> {
    let Some(bytes) = ws.get(Tbl::DeadLetters, &u64_key(id))? else {
        return Ok(None);
    };
    let dead = records::dead_letter(id, &bytes).map_err(corrupt)?;
    let entry = dead.entry;
    let target = pair_key(&entry.instance, &entry.target);
    let before = due_member(ws, &target)?;
    ws.remove(Tbl::DeadLetters, &u64_key(id))?;
    ws.remove(Tbl::DeadByTarget, &with_u64(&target, id))?;
    count(ws, Tbl::DeadCounts, &entry.instance, false)?;
    let header = OutboxHeader {
        instance: entry.instance,
        target: entry.target,
        attempts: 0,
        next_at_ms: entry.next_at_ms,
        last_error: Some(dead.error),
    };
    Ok(Some(Raised { seq: entry.seq, header, payload: entry.payload, target, before }))
}

/// Puts a dead letter back in the outbox under its original seq. Everything
/// queued for the target since it failed has a higher seq, so it runs first.
pub(super) fn retry(ws: &mut WriteSet<'_>, id: u64, now_ms: i64) -> Result<OpResult, ApplyError> {
    let Some(mut raised) = raise(ws, id)? else {
        return Ok(OpResult::NotFound);
    };
    if ws.get(Tbl::Outbox, &u64_key(raised.seq))?.is_some() {
        return Err(corrupt(format!("dead letter {id}: its outbox seq {} is in use", raised.seq)));
    }
    raised.header.next_at_ms = now_ms;
    insert(ws, raised.seq, &raised.header, &raised.payload, &raised.target)?;
    refresh(ws, &raised.target, raised.before)?;
    Ok(OpResult::Pushed { seq: raised.seq })
}

/// Forgets a dead letter, releasing its target.
pub(super) fn drop_dead(ws: &mut WriteSet<'_>, id: u64) -> Result<OpResult, ApplyError> {
    let Some(raised) = raise(ws, id)? else {
        return Ok(OpResult::NotFound);
    };
    refresh(ws, &raised.target, raised.before)?;
    Ok(OpResult::Done)
}

/// Schema 1 keyed the due index by time alone, so every writer scanned every
/// instance's ready entries; schema 2 puts the instance first. The index is
/// rebuilt from the entries it names.
pub(super) fn v1_to_v2(txn: &redb::WriteTransaction) -> Result<(), redb::Error> {
    use redb::ReadableTable;
    let mut due = txn.open_table(Tbl::OutboxDue.def())?;
    let outbox = txn.open_table(Tbl::Outbox.def())?;
    let old: Vec<Vec<u8>> = due.iter()?.map(|item| item.map(|(k, _)| k.value().to_vec())).collect::<Result<_, _>>()?;
    for key in old {
        due.remove(key.as_slice())?;
        let Some(seq) = suffix_u64(&key) else { continue };
        let Some(bytes) = outbox.get(u64_key(seq).as_slice())? else { continue };
        let h = records::outbox_header(seq, bytes.value()).map_err(redb::Error::Corrupted)?;
        due.insert(due_key(&h.instance, h.next_at_ms, seq).as_slice(), UNIT)?;
    }
    Ok(())
}
