//! The redb layout: table names, key encodings and the value codec.
//!
//! Every table maps bytes to bytes. Keys are encoded so that redb's byte order
//! is the order the store needs (big-endian integers, sign-flipped
//! timestamps, length-prefixed strings); one key type lets the writer keep a
//! single undo log for every table (see `writer.rs`).

use redb::{ReadableTable, TableDefinition};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// A table of the store: bytes to bytes.
pub(super) type Def = TableDefinition<'static, &'static [u8], &'static [u8]>;

/// The tables, in the order the writer opens them. `Tbl as usize` indexes
/// [`ALL`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Tbl {
    /// Schema version and id counters.
    Meta,
    /// link id -> `LinkRecord` JSON.
    Links,
    /// (secondary, secondary issue) -> link id.
    LinksBySecondary,
    /// (primary issue) ++ link id -> ().
    LinksByPrimary,
    /// link id -> shadow JSON.
    Shadows,
    /// seq -> inbox header + payload.
    Inbox,
    /// (instance, delivery) -> first seen ms.
    Deliveries,
    /// ts(first seen) ++ (instance, delivery) -> (); for pruning.
    DeliveriesByTime,
    /// seq -> outbox header + payload.
    Outbox,
    /// (instance, target) ++ seq -> (); the FIFO of each target.
    OutboxQueue,
    /// instance ++ ts(next_at) ++ seq -> (); exactly the head of every target
    /// that is not blocked by a dead letter (schema 2; schema 1 had no
    /// instance prefix).
    OutboxDue,
    /// instance -> number of outbox entries.
    OutboxCounts,
    /// id -> dead letter header + payload.
    DeadLetters,
    /// (instance, target) ++ id -> (); the dead letters blocking a target.
    DeadByTarget,
    /// instance -> number of dead letters.
    DeadCounts,
    /// instance -> poll cursor ms.
    Cursors,
    /// seq -> audit header + payload.
    Audit,
    /// dependency id -> `DependencyRecord` JSON (schema 3).
    Dependencies,
    /// from pair ++ dependency id -> ().
    DependenciesByFrom,
    /// to pair ++ dependency id -> ().
    DependenciesByTo,
    /// (flow, secondary Jira link id) -> dependency id.
    DependenciesBySecondaryLink,
    /// (flow, primary Jira link id) -> dependency id.
    DependenciesByPrimaryLink,
    /// pending link id -> `PendingLink` JSON (schema 3).
    Pending,
    /// (instance, Jira link id) -> pending link id.
    PendingByLink,
    /// (instance, far issue) ++ pending link id -> ().
    PendingByFar,
    /// (instance, near issue) ++ pending link id -> ().
    PendingByNear,
    /// (instance, issue) -> `EndedPair` JSON, once under each end: pairings
    /// that ended (unlinked, deleted, out of scope), whose issues are not
    /// mirrored again by themselves.
    Ended,
    /// (secondary, parent issue) ++ link id -> (): the pairs whose agreed
    /// parent is that issue (schema 4).
    Children,
    /// instance -> when it was paused (i64 ms): writes to it wait
    /// (`jirafed pause`; schema 4).
    Paused,
    /// flow -> number of its links (schema 4).
    LinkCounts,
}

/// Every table with its redb name, indexed by `Tbl as usize`.
pub(super) const ALL: [(Tbl, Def); 30] = [
    (Tbl::Meta, TableDefinition::new("meta")),
    (Tbl::Links, TableDefinition::new("links")),
    (Tbl::LinksBySecondary, TableDefinition::new("links_by_secondary")),
    (Tbl::LinksByPrimary, TableDefinition::new("links_by_primary")),
    (Tbl::Shadows, TableDefinition::new("shadows")),
    (Tbl::Inbox, TableDefinition::new("inbox")),
    (Tbl::Deliveries, TableDefinition::new("deliveries")),
    (Tbl::DeliveriesByTime, TableDefinition::new("deliveries_by_time")),
    (Tbl::Outbox, TableDefinition::new("outbox")),
    (Tbl::OutboxQueue, TableDefinition::new("outbox_queue")),
    (Tbl::OutboxDue, TableDefinition::new("outbox_due")),
    (Tbl::OutboxCounts, TableDefinition::new("outbox_counts")),
    (Tbl::DeadLetters, TableDefinition::new("dead_letters")),
    (Tbl::DeadByTarget, TableDefinition::new("dead_by_target")),
    (Tbl::DeadCounts, TableDefinition::new("dead_counts")),
    (Tbl::Cursors, TableDefinition::new("cursors")),
    (Tbl::Audit, TableDefinition::new("audit")),
    (Tbl::Dependencies, TableDefinition::new("dependencies")),
    (Tbl::DependenciesByFrom, TableDefinition::new("dependencies_by_from")),
    (Tbl::DependenciesByTo, TableDefinition::new("dependencies_by_to")),
    (Tbl::DependenciesBySecondaryLink, TableDefinition::new("dependencies_by_secondary_link")),
    (Tbl::DependenciesByPrimaryLink, TableDefinition::new("dependencies_by_primary_link")),
    (Tbl::Pending, TableDefinition::new("pending_links")),
    (Tbl::PendingByLink, TableDefinition::new("pending_by_link")),
    (Tbl::PendingByFar, TableDefinition::new("pending_by_far")),
    (Tbl::PendingByNear, TableDefinition::new("pending_by_near")),
    (Tbl::Ended, TableDefinition::new("ended_pairs")),
    (Tbl::Children, TableDefinition::new("children_by_parent")),
    (Tbl::Paused, TableDefinition::new("paused_instances")),
    (Tbl::LinkCounts, TableDefinition::new("link_counts")),
];

impl Tbl {
    /// The table's definition.
    pub(super) fn def(self) -> Def {
        ALL[self as usize].1
    }
}

/// Keys of the meta table.
pub(super) mod meta {
    /// The schema version (u32, big-endian).
    pub(in super::super) const SCHEMA_VERSION: &[u8] = b"schema_version";
    /// The next link id to allocate.
    pub(in super::super) const NEXT_LINK: &[u8] = b"next_link_id";
    /// The next inbox seq.
    pub(in super::super) const NEXT_INBOX: &[u8] = b"next_inbox_seq";
    /// The next outbox seq.
    pub(in super::super) const NEXT_OUTBOX: &[u8] = b"next_outbox_seq";
    /// The next dead letter id.
    pub(in super::super) const NEXT_DEAD: &[u8] = b"next_dead_id";
    /// The next audit seq.
    pub(in super::super) const NEXT_AUDIT: &[u8] = b"next_audit_seq";
    /// The next dependency id.
    pub(in super::super) const NEXT_DEPENDENCY: &[u8] = b"next_dependency_id";
    /// The next pending link id.
    pub(in super::super) const NEXT_PENDING: &[u8] = b"next_pending_id";
    /// When the store last proved after a reopen that writes go through (i64 ms).
    pub(in super::super) const PROBE: &[u8] = b"write_probe_ms";
}

/// Empty value of the index tables.
pub(super) const UNIT: &[u8] = &[];

/// A u64 as a key that sorts numerically.
pub(super) fn u64_key(n: u64) -> [u8; 8] {
    n.to_be_bytes()
}

/// An i64 (a timestamp) as a key that sorts numerically, negatives first.
pub(super) fn i64_key(n: i64) -> [u8; 8] {
    (u64::from_ne_bytes(n.to_ne_bytes()) ^ (1 << 63)).to_be_bytes()
}

/// Reads a u64 stored with [`u64_key`].
pub(super) fn read_u64(bytes: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(bytes.try_into().ok()?))
}

/// Reads an i64 stored with [`i64_key`].
pub(super) fn read_i64(bytes: &[u8]) -> Option<i64> {
    Some(i64::from_ne_bytes((read_u64(bytes)? ^ (1 << 63)).to_ne_bytes()))
}

/// The trailing u64 of a composite key (`prefix ++ u64_key`).
pub(super) fn suffix_u64(key: &[u8]) -> Option<u64> {
    read_u64(key.get(key.len().checked_sub(8)?..)?)
}

/// Appends a string so that no encoded string is a prefix of another (the
/// length comes first). Strings that long cannot be stored by redb anyway, so
/// saturating the length is harmless.
fn push_str(buf: &mut Vec<u8>, s: &str) {
    buf.extend_from_slice(&u32::try_from(s.len()).unwrap_or(u32::MAX).to_be_bytes());
    buf.extend_from_slice(s.as_bytes());
}

/// The key of one string.
pub(super) fn str_key(a: &str) -> Vec<u8> {
    let mut buf = Vec::with_capacity(4 + a.len() + 8);
    push_str(&mut buf, a);
    buf
}

/// The key of a pair of strings; a prefix for `pair ++ u64` keys.
pub(super) fn pair_key(a: &str, b: &str) -> Vec<u8> {
    let mut buf = Vec::with_capacity(8 + a.len() + b.len() + 8);
    push_str(&mut buf, a);
    push_str(&mut buf, b);
    buf
}

/// `prefix ++ u64_key(n)`.
pub(super) fn with_u64(prefix: &[u8], n: u64) -> Vec<u8> {
    let mut buf = Vec::with_capacity(prefix.len() + 8);
    buf.extend_from_slice(prefix);
    buf.extend_from_slice(&u64_key(n));
    buf
}

/// The trailing u64 of every `prefix ++ u64` key of a table, ascending: one
/// range scan. Encoded strings are prefix-free, so the range holds only keys
/// of this prefix.
pub(super) fn ids_with_prefix(
    table: &impl ReadableTable<&'static [u8], &'static [u8]>,
    prefix: &[u8],
) -> Result<Vec<u64>, redb::StorageError> {
    let lo = with_u64(prefix, 0);
    let hi = with_u64(prefix, u64::MAX);
    let mut ids = Vec::new();
    for item in table.range::<&[u8]>(lo.as_slice()..=hi.as_slice())? {
        ids.extend(suffix_u64(item?.0.value()));
    }
    Ok(ids)
}

/// The first `prefix ++ u64` key of a table, if any.
pub(super) fn first_with_prefix(
    table: &impl ReadableTable<&'static [u8], &'static [u8]>,
    prefix: &[u8],
) -> Result<Option<Vec<u8>>, redb::StorageError> {
    let lo = with_u64(prefix, 0);
    let hi = with_u64(prefix, u64::MAX);
    let mut range = table.range::<&[u8]>(lo.as_slice()..=hi.as_slice())?;
    match range.next() {
        Some(item) => Ok(Some(item?.0.value().to_vec())),
        None => Ok(None),
    }
}

/// Encodes a value as `u32 header length ++ header JSON ++ payload`, so that
/// payloads are stored as they are, not as JSON arrays of numbers.
pub(super) fn encode<H: Serialize>(header: &H, payload: &[u8]) -> Result<Vec<u8>, serde_json::Error> {
    let head = serde_json::to_vec(header)?;
    let mut buf = Vec::with_capacity(4 + head.len() + payload.len());
    buf.extend_from_slice(&u32::try_from(head.len()).unwrap_or(u32::MAX).to_be_bytes());
    buf.extend_from_slice(&head);
    buf.extend_from_slice(payload);
    Ok(buf)
}

/// Decodes a value written by [`encode`]; the error says what is wrong.
pub(super) fn decode<H: DeserializeOwned>(bytes: &[u8]) -> Result<(H, Vec<u8>), String> {
    let (header, end) = split(bytes)?;
    Ok((header, bytes.get(end..).unwrap_or_default().to_vec()))
}

/// Decodes only the header of a value written by [`encode`], without copying
/// the payload.
pub(super) fn decode_header<H: DeserializeOwned>(bytes: &[u8]) -> Result<H, String> {
    Ok(split(bytes)?.0)
}

fn split<H: DeserializeOwned>(bytes: &[u8]) -> Result<(H, usize), String> {
    let len_bytes: [u8; 4] =
        bytes.get(..4).and_then(|b| b.try_into().ok()).ok_or("value shorter than its header length")?;
    let len = usize::try_from(u32::from_be_bytes(len_bytes)).map_err(|_| "header length out of range")?;
    let end = len.checked_add(4).ok_or("header length out of range")?;
    let head = bytes.get(4..end).ok_or("value shorter than its header")?;
    let header = serde_json::from_slice(head).map_err(|e| format!("bad header: {e}"))?;
    Ok((header, end))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integer_keys_sort_numerically() {
        assert!(u64_key(2) < u64_key(10));
        let times = [i64::MIN, -5, -1, 0, 1, 7, i64::MAX];
        for pair in times.windows(2) {
            assert!(i64_key(pair[0]) < i64_key(pair[1]));
        }
        for t in times {
            assert_eq!(read_i64(&i64_key(t)), Some(t));
        }
        assert_eq!(suffix_u64(&with_u64(&pair_key("a", "b"), 42)), Some(42));
        assert_eq!(suffix_u64(b"short"), None);
    }

    #[test]
    fn string_pairs_do_not_collide() {
        assert_ne!(pair_key("ab", "c"), pair_key("a", "bc"));
        // A target's prefix never covers another target's keys.
        assert!(!with_u64(&pair_key("a", "b"), 1).starts_with(&pair_key("a", "")));
    }

    #[test]
    fn codec_round_trips_and_rejects_garbage() {
        let bytes = encode(&("x", 1), b"\x00\xffpayload").unwrap();
        let (head, payload): ((String, u32), Vec<u8>) = decode(&bytes).unwrap();
        assert_eq!(head, ("x".to_string(), 1));
        assert_eq!(payload, b"\x00\xffpayload");
        assert!(decode::<(String, u32)>(b"\x00\x00").is_err());
        assert!(decode::<(String, u32)>(b"\x00\x00\x00\x09{}").is_err());
    }
}
