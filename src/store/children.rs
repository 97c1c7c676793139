//! The children index (schema 4): for each issue of a secondary, the pairs
//! whose agreed parent (kept in their shadow) it is. When a pair ends, its
//! children's pairs are found here, without reading every shadow.

use redb::ReadableTable;

use super::records;
use super::tables::{Tbl, UNIT, ids_with_prefix, pair_key, with_u64};
use super::writer::{ApplyError, WriteSet, corrupt};
use crate::mapping::Shadow;

/// The agreed parent of a shadow, if any.
fn parent_of(shadow: &Shadow) -> Option<&str> {
    shadow.parent.as_ref().and_then(|p| p.issue.as_deref())
}

/// The parent in the shadow stored for `link`, if any.
fn stored_parent(ws: &WriteSet<'_>, link: u64) -> Result<Option<String>, ApplyError> {
    let Some(bytes) = ws.get(Tbl::Shadows, &super::tables::u64_key(link))? else { return Ok(None) };
    let shadow = records::shadow(link, &bytes).map_err(corrupt)?;
    Ok(parent_of(&shadow).map(String::from))
}

/// Moves `link` (a pair of `secondary`) under the parent of its new shadow
/// `new`; called before the shadow is stored.
pub(super) fn on_shadow(ws: &mut WriteSet<'_>, link: u64, secondary: &str, new: &Shadow) -> Result<(), ApplyError> {
    let old = stored_parent(ws, link)?;
    let new = parent_of(new);
    if old.as_deref() == new {
        return Ok(());
    }
    if let Some(old) = old {
        ws.remove(Tbl::Children, &with_u64(&pair_key(secondary, &old), link))?;
    }
    if let Some(new) = new {
        ws.put(Tbl::Children, &with_u64(&pair_key(secondary, new), link), UNIT)?;
    }
    Ok(())
}

/// Takes `link` out of the index; called before its shadow is removed.
pub(super) fn on_delete(ws: &mut WriteSet<'_>, link: u64, secondary: &str) -> Result<(), ApplyError> {
    if let Some(old) = stored_parent(ws, link)? {
        ws.remove(Tbl::Children, &with_u64(&pair_key(secondary, &old), link))?;
    }
    Ok(())
}

/// The link ids of the pairs whose agreed parent is `issue` of `secondary`.
pub(super) fn of(
    table: &impl ReadableTable<&'static [u8], &'static [u8]>,
    secondary: &str,
    issue: &str,
) -> Result<Vec<u64>, redb::StorageError> {
    ids_with_prefix(table, &pair_key(secondary, issue))
}

/// Schema 3 to 4: the children index built from every stored shadow, and
/// the links counted per flow.
pub(super) fn v3_to_v4(txn: &redb::WriteTransaction) -> Result<(), redb::Error> {
    let links = txn.open_table(Tbl::Links.def())?;
    let mut per_flow: std::collections::BTreeMap<String, u64> = std::collections::BTreeMap::new();
    for item in links.iter()? {
        let (key, value) = item?;
        let Some(id) = super::tables::read_u64(key.value()) else { continue };
        if let Ok(record) = records::link_record(id, value.value()) {
            *per_flow.entry(record.flow).or_default() += 1;
        }
    }
    let mut counts = txn.open_table(Tbl::LinkCounts.def())?;
    for (flow, n) in per_flow {
        counts.insert(flow.as_bytes(), super::tables::u64_key(n).as_slice())?;
    }
    drop(counts);
    let shadows = txn.open_table(Tbl::Shadows.def())?;
    let mut children = txn.open_table(Tbl::Children.def())?;
    for item in shadows.iter()? {
        let (key, value) = item?;
        let Some(link) = super::tables::read_u64(key.value()) else { continue };
        // A record that does not decode is left to the integrity check,
        // which names it; the index only misses that pair.
        let Ok(shadow) = records::shadow(link, value.value()) else { continue };
        let Some(parent) = parent_of(&shadow) else { continue };
        let Some(bytes) = links.get(super::tables::u64_key(link).as_slice())? else { continue };
        let Ok(record) = records::link_record(link, bytes.value()) else { continue };
        children.insert(with_u64(&pair_key(&record.secondary, parent), link).as_slice(), UNIT)?;
    }
    Ok(())
}
