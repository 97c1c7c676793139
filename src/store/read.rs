//! Reads: each runs in its own redb read transaction, which never waits for
//! the writer and sees only committed data. They are short, so async code may
//! call them directly.

use redb::{ReadOnlyTable, ReadTransaction, ReadableDatabase, ReadableTable, ReadableTableMetadata};

use super::deps::link_index;
use super::error::StoreError;
use super::handle::Store;
use super::model::{
    AuditEntry, DeadLetter, DependencyRecord, EndedPair, InboxEntry, LinkRecord, OutboxEntry, PendingLink,
};
use super::outbox::due_key;
use super::records;
use super::schema;
use super::tables::{
    Tbl, first_with_prefix, ids_with_prefix, pair_key, read_i64, read_u64, str_key, suffix_u64, u64_key, with_u64,
};
use crate::mapping::{Shadow, Site};

type RoTable = ReadOnlyTable<&'static [u8], &'static [u8]>;

/// Skipped inbox entries [`Store::inbox_batch_skipping`] returns at most.
const INBOX_SKIPPED_LIMIT: usize = 10_000;

enum ReadError {
    Db(redb::Error),
    Corrupt(String),
}

macro_rules! from_redb {
    ($($t:ty),*) => {$(
        impl From<$t> for ReadError {
            fn from(e: $t) -> Self {
                ReadError::Db(e.into())
            }
        }
    )*};
}

from_redb!(redb::StorageError, redb::TableError);

struct Reader(ReadTransaction);

impl Reader {
    fn table(&self, t: Tbl) -> Result<RoTable, ReadError> {
        Ok(self.0.open_table(t.def())?)
    }
}

fn get(table: &RoTable, key: &[u8]) -> Result<Option<Vec<u8>>, ReadError> {
    Ok(table.get(key)?.map(|v| v.value().to_vec()))
}

fn id_of(bytes: &[u8], what: &str) -> Result<u64, ReadError> {
    read_u64(bytes).ok_or_else(|| ReadError::Corrupt(format!("{what}: not a u64")))
}

impl Store {
    fn read<T>(&self, action: &'static str, f: impl FnOnce(&Reader) -> Result<T, ReadError>) -> Result<T, StoreError> {
        let path = &self.inner.path;
        let txn = self.db()?.begin_read().map_err(|e| StoreError::db(path, action, e))?;
        f(&Reader(txn)).map_err(|e| match e {
            ReadError::Db(source) => StoreError::Db { path: path.clone(), action, source: Box::new(source) },
            ReadError::Corrupt(what) => StoreError::Corrupt { path: path.clone(), what },
        })
    }

    /// The schema version recorded in the file (doubles as a cheap "the store
    /// is readable" probe for readiness checks).
    pub fn schema_version(&self) -> Result<u32, StoreError> {
        schema::read_version(&*self.db()?, &self.inner.path)
    }

    /// The link with this id.
    pub fn link(&self, id: u64) -> Result<Option<LinkRecord>, StoreError> {
        self.read("read link", |r| load_link(&r.table(Tbl::Links)?, id))
    }

    /// The link pairing this secondary issue (by Jira issue id).
    pub fn link_by_secondary(&self, instance: &str, issue: &str) -> Result<Option<LinkRecord>, StoreError> {
        self.read("read link by secondary issue", |r| {
            let Some(bytes) = get(&r.table(Tbl::LinksBySecondary)?, &pair_key(instance, issue))? else {
                return Ok(None);
            };
            load_link(&r.table(Tbl::Links)?, id_of(&bytes, "secondary index entry")?)
        })
    }

    /// The link (lowest id) whose primary mirror is this issue; see
    /// [`Store::links_by_primary`] when one primary issue mirrors several
    /// secondaries.
    pub fn link_by_primary(&self, issue: &str) -> Result<Option<LinkRecord>, StoreError> {
        self.read("read link by primary issue", |r| {
            let Some(key) = first_with_prefix(&r.table(Tbl::LinksByPrimary)?, &str_key(issue))? else {
                return Ok(None);
            };
            let id = suffix_u64(&key).ok_or_else(|| ReadError::Corrupt("primary index key".to_string()))?;
            load_link(&r.table(Tbl::Links)?, id)
        })
    }

    /// Every link whose primary mirror is this issue, by id.
    pub fn links_by_primary(&self, issue: &str) -> Result<Vec<LinkRecord>, StoreError> {
        self.read("read links by primary issue", |r| {
            let index = r.table(Tbl::LinksByPrimary)?;
            let links = r.table(Tbl::Links)?;
            let prefix = str_key(issue);
            let (lo, hi) = (with_u64(&prefix, 0), with_u64(&prefix, u64::MAX));
            let mut out = Vec::new();
            for item in index.range::<&[u8]>(lo.as_slice()..=hi.as_slice())? {
                let (key, _) = item?;
                let id = suffix_u64(key.value()).ok_or_else(|| ReadError::Corrupt("primary index key".to_string()))?;
                out.extend(load_link(&links, id)?);
            }
            Ok(out)
        })
    }

    /// The pairs of `secondary` whose agreed parent is its issue `issue`
    /// (by Jira issue id): the children of that issue's pair.
    pub fn children_of(&self, secondary: &str, issue: &str) -> Result<Vec<LinkRecord>, StoreError> {
        self.read("read the children of a pair", |r| {
            let ids = super::children::of(&r.table(Tbl::Children)?, secondary, issue)?;
            let links = r.table(Tbl::Links)?;
            let mut out = Vec::new();
            for id in ids {
                out.extend(load_link(&links, id)?);
            }
            Ok(out)
        })
    }

    /// Up to `limit` links with ids above `after` (from the first with
    /// `None`), by id: page through all links with flat memory by passing the
    /// last id of each page.
    pub fn links_after(&self, after: Option<u64>, limit: usize) -> Result<Vec<LinkRecord>, StoreError> {
        let Some(start) = page_start(after) else { return Ok(Vec::new()) };
        self.read("page links", |r| {
            let links = r.table(Tbl::Links)?;
            let lo = u64_key(start);
            let mut out = Vec::with_capacity(limit.min(1024));
            for item in links.range::<&[u8]>(lo.as_slice()..)?.take(limit) {
                let (key, value) = item?;
                let id = id_of(key.value(), "link key")?;
                out.push(records::link_record(id, value.value()).map_err(ReadError::Corrupt)?);
            }
            Ok(out)
        })
    }

    /// How many links are stored.
    pub fn link_count(&self) -> Result<u64, StoreError> {
        self.read("count links", |r| Ok(r.table(Tbl::Links)?.len()?))
    }

    /// The links of each flow that has any, counted as they are stored.
    pub fn link_counts(&self) -> Result<std::collections::BTreeMap<String, u64>, StoreError> {
        self.read("count links per flow", |r| {
            let mut out = std::collections::BTreeMap::new();
            for item in r.table(Tbl::LinkCounts)?.iter()? {
                let (k, v) = item?;
                let flow = String::from_utf8_lossy(k.value()).into_owned();
                out.insert(flow, read_u64(v.value()).ok_or_else(|| ReadError::Corrupt("link count".into()))?);
            }
            Ok(out)
        })
    }

    /// The shadow of a link (last synced value per mapped field).
    pub fn shadow(&self, link: u64) -> Result<Option<Shadow>, StoreError> {
        self.read("read shadow", |r| match get(&r.table(Tbl::Shadows)?, &u64_key(link))? {
            Some(bytes) => Ok(Some(records::shadow(link, &bytes).map_err(ReadError::Corrupt)?)),
            None => Ok(None),
        })
    }

    /// The dependency with this id.
    pub fn dependency(&self, id: u64) -> Result<Option<DependencyRecord>, StoreError> {
        self.read("read dependency", |r| load_dependency(&r.table(Tbl::Dependencies)?, id))
    }

    /// Every dependency whose outward end ("A" of "A blocks B") is this
    /// pair, by id.
    pub fn dependencies_from(&self, pair: u64) -> Result<Vec<DependencyRecord>, StoreError> {
        self.read("read dependencies by outward pair", |r| {
            let ids = ids_with_prefix(&r.table(Tbl::DependenciesByFrom)?, &u64_key(pair))?;
            load_dependencies(&r.table(Tbl::Dependencies)?, ids)
        })
    }

    /// Every dependency whose inward end ("B" of "A blocks B") is this pair,
    /// by id.
    pub fn dependencies_to(&self, pair: u64) -> Result<Vec<DependencyRecord>, StoreError> {
        self.read("read dependencies by inward pair", |r| {
            let ids = ids_with_prefix(&r.table(Tbl::DependenciesByTo)?, &u64_key(pair))?;
            load_dependencies(&r.table(Tbl::Dependencies)?, ids)
        })
    }

    /// The dependency of `flow` that holds this Jira link id on `site`.
    pub fn dependency_by_link(
        &self,
        flow: &str,
        site: Site,
        link: &str,
    ) -> Result<Option<DependencyRecord>, StoreError> {
        self.read("read dependency by Jira link", |r| {
            let Some(bytes) = get(&r.table(link_index(site))?, &pair_key(flow, link))? else {
                return Ok(None);
            };
            let id = id_of(&bytes, "dependency link index entry")?;
            load_dependencies(&r.table(Tbl::Dependencies)?, [id]).map(|mut found| found.pop())
        })
    }

    /// How many dependencies are stored.
    pub fn dependency_count(&self) -> Result<u64, StoreError> {
        self.read("count dependencies", |r| Ok(r.table(Tbl::Dependencies)?.len()?))
    }

    /// The pending link with this id.
    pub fn pending(&self, id: u64) -> Result<Option<PendingLink>, StoreError> {
        self.read("read pending link", |r| load_pending(&r.table(Tbl::Pending)?, id))
    }

    /// Every pending link on `instance` that waits for this issue (its far
    /// end) to be paired, by id.
    pub fn pending_waiting_on(&self, instance: &str, issue: &str) -> Result<Vec<PendingLink>, StoreError> {
        self.read("read pending links by far issue", |r| {
            let ids = ids_with_prefix(&r.table(Tbl::PendingByFar)?, &pair_key(instance, issue))?;
            load_pendings(&r.table(Tbl::Pending)?, ids)
        })
    }

    /// Every pending link on `instance` whose paired end (its near end) is
    /// this issue, by id.
    pub fn pending_from(&self, instance: &str, issue: &str) -> Result<Vec<PendingLink>, StoreError> {
        self.read("read pending links by near issue", |r| {
            let ids = ids_with_prefix(&r.table(Tbl::PendingByNear)?, &pair_key(instance, issue))?;
            load_pendings(&r.table(Tbl::Pending)?, ids)
        })
    }

    /// The ended pairing remembered under this issue (unlinked by hand, or
    /// ended by a deletion or a scope exit), if any.
    pub fn ended(&self, instance: &str, issue: &str) -> Result<Option<EndedPair>, StoreError> {
        self.read("read ended pairing", |r| match get(&r.table(Tbl::Ended)?, &pair_key(instance, issue))? {
            Some(bytes) => records::ended_pair(&bytes).map(Some).map_err(ReadError::Corrupt),
            None => Ok(None),
        })
    }

    /// Since when writes to `instance` wait (`jirafed pause`), if they do.
    pub fn paused_since(&self, instance: &str) -> Result<Option<i64>, StoreError> {
        self.read("read paused instance", |r| match get(&r.table(Tbl::Paused)?, &str_key(instance))? {
            Some(bytes) => read_i64(&bytes).map(Some).ok_or_else(|| ReadError::Corrupt("paused instance".into())),
            None => Ok(None),
        })
    }

    /// The pending link of this Jira link on `instance`.
    pub fn pending_by_link(&self, instance: &str, link_id: &str) -> Result<Option<PendingLink>, StoreError> {
        self.read("read pending link by Jira link", |r| {
            let Some(bytes) = get(&r.table(Tbl::PendingByLink)?, &pair_key(instance, link_id))? else {
                return Ok(None);
            };
            let id = id_of(&bytes, "pending link index entry")?;
            load_pendings(&r.table(Tbl::Pending)?, [id]).map(|mut found| found.pop())
        })
    }

    /// Up to `limit` pending links with ids above `after` (from the first
    /// with `None`), by id: pages through them all with flat memory.
    pub fn pending_after(&self, after: Option<u64>, limit: usize) -> Result<Vec<PendingLink>, StoreError> {
        let Some(start) = page_start(after) else { return Ok(Vec::new()) };
        self.read("page pending links", |r| {
            let lo = u64_key(start);
            let mut out = Vec::with_capacity(limit.min(1024));
            for item in r.table(Tbl::Pending)?.range::<&[u8]>(lo.as_slice()..)?.take(limit) {
                let (key, value) = item?;
                let id = id_of(key.value(), "pending link key")?;
                out.push(records::pending_link(id, value.value()).map_err(ReadError::Corrupt)?);
            }
            Ok(out)
        })
    }

    /// How many links are pending.
    pub fn pending_count(&self) -> Result<u64, StoreError> {
        self.read("count pending links", |r| Ok(r.table(Tbl::Pending)?.len()?))
    }

    /// The oldest `limit` changes not yet acknowledged, oldest first.
    pub fn inbox_batch(&self, limit: usize) -> Result<Vec<InboxEntry>, StoreError> {
        self.read("read inbox", |r| {
            let mut out = Vec::with_capacity(limit.min(1024));
            for item in r.table(Tbl::Inbox)?.iter()?.take(limit) {
                let (key, value) = item?;
                let seq = id_of(key.value(), "inbox key")?;
                out.push(records::inbox_entry(seq, value.value()).map_err(ReadError::Corrupt)?);
            }
            Ok(out)
        })
    }

    /// The oldest `limit` changes not yet acknowledged for which `skip` is
    /// false, oldest first, and the entries it skipped on the way (at most
    /// 10,000 of them). `skip` gets
    /// each entry's instance and issue: the planner passes the issues whose
    /// writes are still in flight, so that they neither hold up the others
    /// nor are read before their writes are done.
    pub fn inbox_batch_skipping(
        &self,
        limit: usize,
        skip: impl Fn(&str, &str) -> bool,
    ) -> Result<(Vec<InboxEntry>, Vec<InboxEntry>), StoreError> {
        self.read("read inbox", |r| {
            let mut taken = Vec::with_capacity(limit.min(1024));
            let mut skipped = Vec::new();
            for item in r.table(Tbl::Inbox)?.iter()? {
                let (key, value) = item?;
                let seq = id_of(key.value(), "inbox key")?;
                let entry = records::inbox_entry(seq, value.value()).map_err(ReadError::Corrupt)?;
                if skip(&entry.instance, &entry.issue) {
                    // Bounded: past this many, the rest are found on a later pass.
                    if skipped.len() < INBOX_SKIPPED_LIMIT {
                        skipped.push(entry);
                    }
                    continue;
                }
                taken.push(entry);
                if taken.len() >= limit {
                    break;
                }
            }
            Ok((taken, skipped))
        })
    }

    /// How many changes wait in the inbox.
    pub fn inbox_depth(&self) -> Result<u64, StoreError> {
        self.read("count inbox", |r| Ok(r.table(Tbl::Inbox)?.len()?))
    }

    /// Up to `limit` writes to `instance` that may run now: due at or before
    /// `now_ms`, each the first of its target, whose target no dead letter
    /// blocks. Earliest due first. Other instances' entries are never read,
    /// so a long queue on one site does not hide another's.
    pub fn outbox_ready(&self, instance: &str, now_ms: i64, limit: usize) -> Result<Vec<OutboxEntry>, StoreError> {
        self.read("read ready outbox entries", |r| {
            // Nothing is ready for an instance paused by hand (`jirafed pause`).
            if get(&r.table(Tbl::Paused)?, &str_key(instance))?.is_some() {
                return Ok(Vec::new());
            }
            let due = r.table(Tbl::OutboxDue)?;
            let outbox = r.table(Tbl::Outbox)?;
            let lo = due_key(instance, i64::MIN, 0);
            let hi = due_key(instance, now_ms, u64::MAX);
            let mut out = Vec::with_capacity(limit.min(1024));
            for item in due.range::<&[u8]>(lo.as_slice()..=hi.as_slice())?.take(limit) {
                let (key, _) = item?;
                let seq = suffix_u64(key.value()).ok_or_else(|| ReadError::Corrupt("outbox due key".to_string()))?;
                let bytes = get(&outbox, &u64_key(seq))?
                    .ok_or_else(|| ReadError::Corrupt(format!("outbox due index names missing entry {seq}")))?;
                let (header, payload) = records::outbox_parts(seq, &bytes).map_err(ReadError::Corrupt)?;
                out.push(records::outbox_entry(seq, header, payload));
            }
            Ok(out)
        })
    }

    /// Up to `limit` outbox entries with seqs above `after` (from the first
    /// with `None`), ready or not, blocked or not, by seq: pages through the
    /// whole outbox with flat memory.
    pub fn outbox_after(&self, after: Option<u64>, limit: usize) -> Result<Vec<OutboxEntry>, StoreError> {
        let Some(start) = page_start(after) else { return Ok(Vec::new()) };
        self.read("page outbox", |r| {
            let lo = u64_key(start);
            let mut out = Vec::with_capacity(limit.min(1024));
            for item in r.table(Tbl::Outbox)?.range::<&[u8]>(lo.as_slice()..)?.take(limit) {
                let (key, value) = item?;
                let seq = id_of(key.value(), "outbox key")?;
                let (header, payload) = records::outbox_parts(seq, value.value()).map_err(ReadError::Corrupt)?;
                out.push(records::outbox_entry(seq, header, payload));
            }
            Ok(out)
        })
    }

    /// One outbox entry by seq, whether ready or not.
    pub fn outbox_entry(&self, seq: u64) -> Result<Option<OutboxEntry>, StoreError> {
        self.read("read outbox entry", |r| match get(&r.table(Tbl::Outbox)?, &u64_key(seq))? {
            Some(bytes) => {
                let (header, payload) = records::outbox_parts(seq, &bytes).map_err(ReadError::Corrupt)?;
                Ok(Some(records::outbox_entry(seq, header, payload)))
            }
            None => Ok(None),
        })
    }

    /// How many writes to this instance wait in the outbox (dead letters not
    /// included).
    pub fn outbox_depth(&self, instance: &str) -> Result<u64, StoreError> {
        self.read("count outbox", |r| count(&r.table(Tbl::OutboxCounts)?, instance))
    }

    /// The earliest due time among `instance`'s writes that could run (heads
    /// of unblocked targets), to sleep until; `None` when there is nothing to
    /// run.
    pub fn next_outbox_at(&self, instance: &str) -> Result<Option<i64>, StoreError> {
        self.read("read next outbox time", |r| {
            let lo = due_key(instance, i64::MIN, 0);
            let hi = due_key(instance, i64::MAX, u64::MAX);
            let due = r.table(Tbl::OutboxDue)?;
            let mut range = due.range::<&[u8]>(lo.as_slice()..=hi.as_slice())?;
            match range.next() {
                Some(item) => {
                    let (key, _) = item?;
                    let k = key.value();
                    let at = k.len().checked_sub(16).and_then(|start| k.get(start..start + 8)).and_then(read_i64);
                    at.map(Some).ok_or_else(|| ReadError::Corrupt("outbox due key".to_string()))
                }
                None => Ok(None),
            }
        })
    }

    /// Every dead letter, oldest first.
    pub fn dead_letters(&self) -> Result<Vec<DeadLetter>, StoreError> {
        self.read("read dead letters", |r| {
            let mut out = Vec::new();
            for item in r.table(Tbl::DeadLetters)?.iter()? {
                let (key, value) = item?;
                let id = id_of(key.value(), "dead letter key")?;
                out.push(records::dead_letter(id, value.value()).map_err(ReadError::Corrupt)?);
            }
            Ok(out)
        })
    }

    /// The newest `limit` dead letters, newest first (the status page).
    pub fn dead_letters_newest(&self, limit: usize) -> Result<Vec<DeadLetter>, StoreError> {
        self.read("read dead letters", |r| {
            let mut out = Vec::with_capacity(limit.min(1024));
            for item in r.table(Tbl::DeadLetters)?.iter()?.rev().take(limit) {
                let (key, value) = item?;
                let id = id_of(key.value(), "dead letter key")?;
                out.push(records::dead_letter(id, value.value()).map_err(ReadError::Corrupt)?);
            }
            Ok(out)
        })
    }

    /// One dead letter by id.
    pub fn dead_letter(&self, id: u64) -> Result<Option<DeadLetter>, StoreError> {
        self.read("read dead letter", |r| match get(&r.table(Tbl::DeadLetters)?, &u64_key(id))? {
            Some(bytes) => Ok(Some(records::dead_letter(id, &bytes).map_err(ReadError::Corrupt)?)),
            None => Ok(None),
        })
    }

    /// How many dead letters there are, for one instance or in all.
    pub fn dead_letter_count(&self, instance: Option<&str>) -> Result<u64, StoreError> {
        self.read("count dead letters", |r| match instance {
            Some(instance) => count(&r.table(Tbl::DeadCounts)?, instance),
            None => Ok(r.table(Tbl::DeadLetters)?.len()?),
        })
    }

    /// The poll cursor of an instance, in ms since the epoch.
    pub fn cursor(&self, instance: &str) -> Result<Option<i64>, StoreError> {
        self.read("read cursor", |r| match get(&r.table(Tbl::Cursors)?, instance.as_bytes())? {
            Some(bytes) => {
                read_i64(&bytes).map(Some).ok_or_else(|| ReadError::Corrupt(format!("cursor of {instance}")))
            }
            None => Ok(None),
        })
    }

    /// The newest `limit` audit entries, oldest first.
    pub fn audit_tail(&self, limit: usize) -> Result<Vec<AuditEntry>, StoreError> {
        self.read("read audit log", |r| {
            let mut out = Vec::with_capacity(limit.min(1024));
            for item in r.table(Tbl::Audit)?.iter()?.rev().take(limit) {
                let (key, value) = item?;
                let seq = id_of(key.value(), "audit key")?;
                out.push(records::audit_entry(seq, value.value()).map_err(ReadError::Corrupt)?);
            }
            out.reverse();
            Ok(out)
        })
    }

    /// Audit entries at or after `since_ms` that `keep` accepts, newest
    /// first, at most `limit`; reads back from the newest and stops at the
    /// first entry older than `since_ms` (the log is in time order).
    pub fn audit_newest(
        &self,
        since_ms: i64,
        limit: usize,
        keep: &dyn Fn(&AuditEntry) -> bool,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        self.read("read audit log", |r| {
            let mut out = Vec::with_capacity(limit.min(1024));
            for item in r.table(Tbl::Audit)?.iter()?.rev() {
                if out.len() >= limit {
                    break;
                }
                let (key, value) = item?;
                let seq = id_of(key.value(), "audit key")?;
                let entry = records::audit_entry(seq, value.value()).map_err(ReadError::Corrupt)?;
                if entry.at_ms < since_ms {
                    break;
                }
                if keep(&entry) {
                    out.push(entry);
                }
            }
            Ok(out)
        })
    }

    /// How many audit entries are kept.
    pub fn audit_len(&self) -> Result<u64, StoreError> {
        self.read("count audit log", |r| Ok(r.table(Tbl::Audit)?.len()?))
    }
}

/// The first key of the page after `after` (`None` after the last u64).
fn page_start(after: Option<u64>) -> Option<u64> {
    match after {
        None => Some(0),
        Some(n) => n.checked_add(1),
    }
}

fn load_link(links: &RoTable, id: u64) -> Result<Option<LinkRecord>, ReadError> {
    match get(links, &u64_key(id))? {
        Some(bytes) => Ok(Some(records::link_record(id, &bytes).map_err(ReadError::Corrupt)?)),
        None => Ok(None),
    }
}

fn load_dependency(table: &RoTable, id: u64) -> Result<Option<DependencyRecord>, ReadError> {
    match get(table, &u64_key(id))? {
        Some(bytes) => Ok(Some(records::dependency_record(id, &bytes).map_err(ReadError::Corrupt)?)),
        None => Ok(None),
    }
}

/// The dependencies an index names; one it names but that is gone is
/// corruption, not absence.
fn load_dependencies(table: &RoTable, ids: impl IntoIterator<Item = u64>) -> Result<Vec<DependencyRecord>, ReadError> {
    ids.into_iter()
        .map(|id| {
            load_dependency(table, id)?
                .ok_or_else(|| ReadError::Corrupt(format!("dependency index names missing dependency {id}")))
        })
        .collect()
}

fn load_pending(table: &RoTable, id: u64) -> Result<Option<PendingLink>, ReadError> {
    match get(table, &u64_key(id))? {
        Some(bytes) => Ok(Some(records::pending_link(id, &bytes).map_err(ReadError::Corrupt)?)),
        None => Ok(None),
    }
}

/// The pending links an index names; see [`load_dependencies`].
fn load_pendings(table: &RoTable, ids: impl IntoIterator<Item = u64>) -> Result<Vec<PendingLink>, ReadError> {
    ids.into_iter()
        .map(|id| {
            load_pending(table, id)?
                .ok_or_else(|| ReadError::Corrupt(format!("pending link index names missing pending link {id}")))
        })
        .collect()
}

fn count(table: &RoTable, instance: &str) -> Result<u64, ReadError> {
    match get(table, instance.as_bytes())? {
        Some(bytes) => id_of(&bytes, "counter"),
        None => Ok(0),
    }
}
