//! Dependency and pending-link ops.
//!
//! A dependency is indexed by each of its pairs, so that removing a pair finds
//! the dependencies it ends, and by each of its Jira link ids within its flow,
//! which are unique there. A pending link is indexed by its Jira link (unique)
//! and by its near and far issues. Every put removes the old record's index
//! entries before it writes the new ones, so a replace that changes an indexed
//! field moves its entries instead of leaving stale ones behind.

use std::collections::BTreeSet;

use super::error::Rejection;
use super::model::{DependencyRecord, OpResult, PendingLink};
use super::records;
use super::tables::{Tbl, UNIT, ids_with_prefix, meta, pair_key, read_u64, u64_key, with_u64};
use super::writer::{ApplyError, WriteSet, corrupt};
use crate::mapping::Site;

/// The tables schema 3 added.
pub(super) const V3_TABLES: [Tbl; 9] = [
    Tbl::Dependencies,
    Tbl::DependenciesByFrom,
    Tbl::DependenciesByTo,
    Tbl::DependenciesBySecondaryLink,
    Tbl::DependenciesByPrimaryLink,
    Tbl::Pending,
    Tbl::PendingByLink,
    Tbl::PendingByFar,
    Tbl::PendingByNear,
];

/// The index of a dependency's Jira link ids on one site.
pub(super) fn link_index(site: Site) -> Tbl {
    match site {
        Site::Secondary => Tbl::DependenciesBySecondaryLink,
        Site::Primary => Tbl::DependenciesByPrimaryLink,
    }
}

fn load_dependency(ws: &WriteSet<'_>, id: u64) -> Result<Option<DependencyRecord>, ApplyError> {
    match ws.get(Tbl::Dependencies, &u64_key(id))? {
        Some(bytes) => Ok(Some(records::dependency_record(id, &bytes).map_err(corrupt)?)),
        None => Ok(None),
    }
}

/// The dependency holding a Jira link on one site of a flow, if any.
fn link_holder(ws: &WriteSet<'_>, site: Site, key: &[u8]) -> Result<Option<u64>, ApplyError> {
    match ws.get(link_index(site), key)? {
        Some(bytes) => Ok(Some(read_u64(&bytes).ok_or_else(|| corrupt("dependency link index entry".to_string()))?)),
        None => Ok(None),
    }
}

/// The dependency's Jira link on each site, with its index key.
fn link_keys(dep: &DependencyRecord) -> impl Iterator<Item = (Site, Vec<u8>, &str)> {
    [(Site::Secondary, &dep.secondary_link), (Site::Primary, &dep.primary_link)]
        .into_iter()
        .filter_map(|(site, link)| link.as_deref().map(|link| (site, pair_key(&dep.flow, link), link)))
}

/// Inserts or replaces a dependency with its four index entries.
pub(super) fn dependency_put(ws: &mut WriteSet<'_>, dep: &DependencyRecord) -> Result<OpResult, ApplyError> {
    let (id, old) = if dep.id == 0 {
        (ws.next_id(meta::NEXT_DEPENDENCY)?, None)
    } else {
        let old = load_dependency(ws, dep.id)?.ok_or(Rejection::UnknownDependency { id: dep.id })?;
        (dep.id, Some(old))
    };
    for pair in [dep.from_pair, dep.to_pair] {
        if ws.get(Tbl::Links, &u64_key(pair))?.is_none() {
            return Err(Rejection::UnknownLink { id: pair }.into());
        }
    }
    for (site, key, link) in link_keys(dep) {
        if let Some(existing) = link_holder(ws, site, &key)?.filter(|&holder| holder != id) {
            let (flow, link) = (dep.flow.clone(), link.to_string());
            return Err(Rejection::DependencyConflict { flow, site, link, existing }.into());
        }
    }
    if let Some(old) = &old {
        remove_dependency_indexes(ws, old)?;
    }
    let record = DependencyRecord { id, ..dep.clone() };
    let value = records::dependency_value(&record).map_err(corrupt)?;
    ws.put(Tbl::Dependencies, &u64_key(id), &value)?;
    ws.put(Tbl::DependenciesByFrom, &with_u64(&u64_key(record.from_pair), id), UNIT)?;
    ws.put(Tbl::DependenciesByTo, &with_u64(&u64_key(record.to_pair), id), UNIT)?;
    for (site, key, _) in link_keys(&record) {
        ws.put(link_index(site), &key, &u64_key(id))?;
    }
    Ok(OpResult::DependencyId(id))
}

fn remove_dependency_indexes(ws: &mut WriteSet<'_>, dep: &DependencyRecord) -> Result<(), ApplyError> {
    ws.remove(Tbl::DependenciesByFrom, &with_u64(&u64_key(dep.from_pair), dep.id))?;
    ws.remove(Tbl::DependenciesByTo, &with_u64(&u64_key(dep.to_pair), dep.id))?;
    for (site, key, _) in link_keys(dep) {
        // Only the dependency's own entry: a damaged index must not free
        // another dependency's link.
        if link_holder(ws, site, &key)? == Some(dep.id) {
            ws.remove(link_index(site), &key)?;
        }
    }
    Ok(())
}

/// Removes a dependency and its index entries.
pub(super) fn dependency_delete(ws: &mut WriteSet<'_>, id: u64) -> Result<OpResult, ApplyError> {
    let Some(old) = load_dependency(ws, id)? else {
        return Ok(OpResult::NotFound);
    };
    remove_dependency_indexes(ws, &old)?;
    ws.remove(Tbl::Dependencies, &u64_key(id))?;
    Ok(OpResult::Done)
}

/// Removes every dependency that has `pair` at either end (the cascade of a
/// removed link).
pub(super) fn delete_dependencies_of(ws: &mut WriteSet<'_>, pair: u64) -> Result<(), ApplyError> {
    let prefix = u64_key(pair);
    let mut ids: BTreeSet<u64> = ids_with_prefix(ws.table(Tbl::DependenciesByFrom), &prefix)?.into_iter().collect();
    ids.extend(ids_with_prefix(ws.table(Tbl::DependenciesByTo), &prefix)?);
    for id in ids {
        if dependency_delete(ws, id)? == OpResult::NotFound {
            // An entry naming no dependency would otherwise outlive its pair.
            ws.remove(Tbl::DependenciesByFrom, &with_u64(&prefix, id))?;
            ws.remove(Tbl::DependenciesByTo, &with_u64(&prefix, id))?;
        }
    }
    Ok(())
}

fn load_pending(ws: &WriteSet<'_>, id: u64) -> Result<Option<PendingLink>, ApplyError> {
    match ws.get(Tbl::Pending, &u64_key(id))? {
        Some(bytes) => Ok(Some(records::pending_link(id, &bytes).map_err(corrupt)?)),
        None => Ok(None),
    }
}

fn far_key(p: &PendingLink) -> Vec<u8> {
    with_u64(&pair_key(&p.instance, &p.far_issue), p.id)
}

fn near_key(p: &PendingLink) -> Vec<u8> {
    with_u64(&pair_key(&p.instance, &p.near_issue), p.id)
}

/// Inserts or replaces a pending link with its three index entries. With id
/// 0, the Jira link's existing pending entry (if any) is the one replaced.
pub(super) fn pending_put(ws: &mut WriteSet<'_>, pending: &PendingLink) -> Result<OpResult, ApplyError> {
    let link_key = pair_key(&pending.instance, &pending.link_id);
    let holder = match ws.get(Tbl::PendingByLink, &link_key)? {
        Some(bytes) => Some(read_u64(&bytes).ok_or_else(|| corrupt("pending link index entry".to_string()))?),
        None => None,
    };
    let id = match (pending.id, holder) {
        (0, Some(existing)) => existing,
        (0, None) => ws.next_id(meta::NEXT_PENDING)?,
        (id, _) => id,
    };
    let old = load_pending(ws, id)?;
    if pending.id != 0 && old.is_none() {
        // Completed or dropped by an earlier op (of this request, often):
        // an update of it has nothing left to update.
        return Ok(OpResult::NotFound);
    }
    if let Some(existing) = holder.filter(|&holder| holder != id) {
        let (instance, link_id) = (pending.instance.clone(), pending.link_id.clone());
        return Err(Rejection::PendingConflict { instance, link_id, existing }.into());
    }
    if let Some(old) = &old {
        remove_pending_indexes(ws, old)?;
    }
    let record = PendingLink { id, ..pending.clone() };
    let value = records::pending_value(&record).map_err(corrupt)?;
    ws.put(Tbl::Pending, &u64_key(id), &value)?;
    ws.put(Tbl::PendingByLink, &link_key, &u64_key(id))?;
    ws.put(Tbl::PendingByFar, &far_key(&record), UNIT)?;
    ws.put(Tbl::PendingByNear, &near_key(&record), UNIT)?;
    Ok(OpResult::PendingId(id))
}

fn remove_pending_indexes(ws: &mut WriteSet<'_>, pending: &PendingLink) -> Result<(), ApplyError> {
    let link_key = pair_key(&pending.instance, &pending.link_id);
    if ws.get(Tbl::PendingByLink, &link_key)?.and_then(|b| read_u64(&b)) == Some(pending.id) {
        ws.remove(Tbl::PendingByLink, &link_key)?;
    }
    ws.remove(Tbl::PendingByFar, &far_key(pending))?;
    ws.remove(Tbl::PendingByNear, &near_key(pending))?;
    Ok(())
}

/// Removes a pending link and its index entries.
pub(super) fn pending_delete(ws: &mut WriteSet<'_>, id: u64) -> Result<OpResult, ApplyError> {
    let Some(old) = load_pending(ws, id)? else {
        return Ok(OpResult::NotFound);
    };
    remove_pending_indexes(ws, &old)?;
    ws.remove(Tbl::Pending, &u64_key(id))?;
    Ok(OpResult::Done)
}

/// Schema 3 adds the dependency and pending-link tables. Nothing else needs
/// writing: their id counters start at 1 on first use, and their counts are
/// the tables' lengths, which redb keeps.
pub(super) fn v2_to_v3(txn: &redb::WriteTransaction) -> Result<(), redb::Error> {
    for table in V3_TABLES {
        txn.open_table(table.def())?;
    }
    Ok(())
}
