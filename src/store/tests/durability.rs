//! Reopening, crashes, schema versions and migrations.

use std::io::Write;
use std::path::Path;
use std::process::Command;

use redb::{Database, ReadableDatabase, ReadableTable, TableHandle, WriteTransaction};

use super::super::deps::V3_TABLES;
use super::super::schema::Migration;
use super::super::tables::{Tbl, meta};
use super::super::{
    DB_FILE_NAME, DependencyRecord, LinkRecord, Op, OpResult, SCHEMA_VERSION, Store, StoreError, StoreOptions,
};
use super::{
    dependency_id, inbox_push, link_id, new_dependency, new_link, new_pending, one, open, outbox_push, pending_id, seq,
    shadow, temp_dir,
};

#[test]
fn everything_survives_a_reopen() {
    let dir = temp_dir();
    let (link, dead, queued) = {
        let store = open(dir.path());
        let link = link_id(one(&store, Op::LinkPut(new_link("emea", "10001", "20001"))));
        one(&store, Op::ShadowPut { link, shadow: shadow(&[("summary", "s")]) });
        one(&store, inbox_push("emea", "10001", Some("d-1")));
        let doomed = seq(one(&store, outbox_push("hub", "PORT-1", "a1", 0)));
        let queued = seq(one(&store, outbox_push("hub", "PORT-2", "b1", 0)));
        let dead = match one(&store, Op::OutboxDeadLetter { seq: doomed, error: "400".to_string(), at_ms: 3 }) {
            OpResult::DeadLettered { id } => id,
            other => panic!("{other:?}"),
        };
        one(&store, Op::CursorSet { instance: "emea".to_string(), at_ms: 77 });
        one(&store, Op::Audit { at_ms: 5, payload: b"audit".to_vec() });
        (link, dead, queued)
    };

    let store = open(dir.path());
    assert_eq!(store.path(), dir.path().join(DB_FILE_NAME));
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    assert_eq!(store.link(link).unwrap(), Some(LinkRecord { id: link, ..new_link("emea", "10001", "20001") }));
    assert_eq!(store.link_by_secondary("emea", "10001").unwrap().map(|l| l.id), Some(link));
    assert_eq!(store.shadow(link).unwrap(), Some(shadow(&[("summary", "s")])));
    assert_eq!(store.inbox_batch(10).unwrap().len(), 1);
    assert_eq!(one(&store, inbox_push("emea", "10001", Some("d-1"))), OpResult::Duplicate);
    assert_eq!(store.outbox_ready("hub", 0, 10).unwrap().iter().map(|e| e.seq).collect::<Vec<_>>(), vec![queued]);
    assert_eq!(store.dead_letters().unwrap().iter().map(|d| d.id).collect::<Vec<_>>(), vec![dead]);
    assert_eq!(store.cursor("emea").unwrap(), Some(77));
    assert_eq!(store.audit_tail(10).unwrap()[0].payload, b"audit");
    // Counters continue where they were.
    assert!(link_id(one(&store, Op::LinkPut(new_link("emea", "10002", "20002")))) > link);
    assert!(seq(one(&store, outbox_push("hub", "PORT-3", "c", 0))) > queued);
}

const CRASH_DIR: &str = "JIRAFED_STORE_CRASH_CHILD_DIR";
const CRASH_COMMITS: usize = 25;

/// The child side of `a_killed_process_loses_nothing_acknowledged`: without
/// its environment variable it does nothing.
#[test]
fn crash_child() {
    let Ok(dir) = std::env::var(CRASH_DIR) else {
        return;
    };
    let store = Store::open(Path::new(&dir)).unwrap();
    for i in 0..CRASH_COMMITS {
        store.commit_blocking(vec![inbox_push("emea", &format!("{i}"), None)]).unwrap();
        println!("acknowledged {i}");
    }
    std::io::stdout().flush().unwrap();
    // No destructor runs: the store is not closed, as with kill -9.
    std::process::abort();
}

#[test]
fn a_killed_process_loses_nothing_acknowledged() {
    let dir = temp_dir();
    // The test's own path, whatever crate it was moved into.
    let module = module_path!().split_once("::").map_or(module_path!(), |(_, rest)| rest);
    let output = Command::new(std::env::current_exe().unwrap())
        .args([&format!("{module}::crash_child"), "--exact", "--nocapture", "--test-threads=1"])
        .env(CRASH_DIR, dir.path())
        .output()
        .unwrap();
    assert!(!output.status.success(), "the child was meant to abort");
    let stdout = String::from_utf8_lossy(&output.stdout);
    // The harness prints its own text on the same lines; count the markers.
    let acknowledged = stdout.matches("acknowledged ").count();
    assert_eq!(acknowledged, CRASH_COMMITS, "child output: {stdout}");

    let store = open(dir.path());
    assert_eq!(store.inbox_depth().unwrap(), CRASH_COMMITS as u64);
}

fn set_raw_version(dir: &Path, version: u32) {
    let db = Database::create(dir.join(DB_FILE_NAME)).unwrap();
    let txn = db.begin_write().unwrap();
    {
        let mut table = txn.open_table(Tbl::Meta.def()).unwrap();
        table.insert(meta::SCHEMA_VERSION, version.to_be_bytes().as_slice()).unwrap();
    }
    txn.commit().unwrap();
}

#[test]
fn a_newer_schema_is_refused_with_both_versions_and_the_file() {
    let dir = temp_dir();
    drop(open(dir.path()));
    set_raw_version(dir.path(), 99);
    let err = Store::open(dir.path()).unwrap_err();
    assert!(matches!(err, StoreError::SchemaTooNew { found: 99, supported: SCHEMA_VERSION, .. }), "{err:?}");
    let message = err.to_string();
    assert!(message.contains(&dir.path().join(DB_FILE_NAME).display().to_string()), "{message}");
    assert!(message.contains("99") && message.contains(&format!("version {SCHEMA_VERSION}")), "{message}");
}

#[test]
fn a_version_0_file_is_migrated_to_the_current_version() {
    let dir = temp_dir();
    // Version 0: a links table written before the version was recorded.
    {
        let db = Database::create(dir.path().join(DB_FILE_NAME)).unwrap();
        let txn = db.begin_write().unwrap();
        {
            let mut links = txn.open_table(Tbl::Links.def()).unwrap();
            let record = LinkRecord { id: 4, ..new_link("emea", "10001", "20001") };
            links.insert(4_u64.to_be_bytes().as_slice(), serde_json::to_vec(&record).unwrap().as_slice()).unwrap();
        }
        txn.commit().unwrap();
    }
    let store = open(dir.path());
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    assert_eq!(store.link(4).unwrap().map(|l| l.secondary_issue), Some("10001".to_string()));
    assert!(matches!(one(&store, inbox_push("emea", "1", None)), OpResult::Pushed { .. }));
}

fn mark(txn: &WriteTransaction, key: &'static [u8]) -> Result<(), redb::Error> {
    let mut table = txn.open_table(Tbl::Meta.def())?;
    let runs = table.get(key)?.map_or(0, |v| v.value()[0]);
    table.insert(key, [runs + 1].as_slice())?;
    Ok(())
}

fn v1_to_v2(txn: &WriteTransaction) -> Result<(), redb::Error> {
    mark(txn, b"test_v2")
}

fn v2_to_v3(txn: &WriteTransaction) -> Result<(), redb::Error> {
    // Steps run in order: v2's mark is already there.
    let table = txn.open_table(Tbl::Meta.def())?;
    if table.get(b"test_v2".as_slice())?.is_none() {
        return Err(redb::Error::Corrupted("v1 -> v2 did not run first".to_string()));
    }
    drop(table);
    mark(txn, b"test_v3")
}

fn marks(dir: &Path) -> (u8, u8) {
    let db = Database::create(dir.join(DB_FILE_NAME)).unwrap();
    let txn = db.begin_read().unwrap();
    let table = txn.open_table(Tbl::Meta.def()).unwrap();
    let get = |k: &[u8]| table.get(k).unwrap().map_or(0, |v| v.value()[0]);
    (get(b"test_v2"), get(b"test_v3"))
}

#[test]
fn migrations_run_step_by_step_and_once() {
    let dir = temp_dir();
    // Two steps beyond this build's version, as a later build would have.
    let base = SCHEMA_VERSION;
    let steps = [Migration { from: base, run: v1_to_v2 }, Migration { from: base + 1, run: v2_to_v3 }];
    drop(open(dir.path()));
    let store = Store::open_versioned(dir.path(), StoreOptions::default(), base + 2, &steps).unwrap();
    assert_eq!(store.schema_version().unwrap(), base + 2);
    drop(store);
    assert_eq!(marks(dir.path()), (1, 1));
    drop(Store::open_versioned(dir.path(), StoreOptions::default(), base + 2, &steps).unwrap());
    assert_eq!(marks(dir.path()), (1, 1), "a file at the current version is not migrated again");

    // Without a step from the last version, a build one later refuses to open it.
    let err = Store::open_versioned(dir.path(), StoreOptions::default(), base + 3, &steps).unwrap_err();
    assert!(matches!(err, StoreError::MissingMigration { from, .. } if from == base + 2), "{err:?}");
}

#[test]
fn a_failed_migration_leaves_the_previous_version() {
    let dir = temp_dir();
    drop(open(dir.path()));
    let base = SCHEMA_VERSION;
    let steps = [Migration { from: base, run: |_| Err(redb::Error::Corrupted("boom".to_string())) }];
    let err = Store::open_versioned(dir.path(), StoreOptions::default(), base + 1, &steps).unwrap_err();
    assert!(matches!(err, StoreError::Migration { from, to, .. } if from == base && to == base + 1), "{err:?}");
    assert!(err.to_string().contains("boom"));
    assert_eq!(open(dir.path()).schema_version().unwrap(), base);
}

/// A schema 1 file keyed its due index by time alone; opening it rebuilds
/// the index per instance, and every queued write is found by its writer.
#[test]
fn a_version_1_outbox_is_migrated_to_per_instance_due_keys() {
    let dir = temp_dir();
    let (hub, emea) = {
        let store = open(dir.path());
        let hub = seq(one(&store, outbox_push("hub", "PORT-1", "h", 5)));
        let emea = seq(one(&store, outbox_push("emea", "EMEA-1", "e", 3)));
        (hub, emea)
    };
    // Rewrite the file as schema 1 wrote it: due keys ts ++ seq, version 1.
    {
        let db = Database::create(dir.path().join(DB_FILE_NAME)).unwrap();
        let txn = db.begin_write().unwrap();
        {
            let mut due = txn.open_table(Tbl::OutboxDue.def()).unwrap();
            let keys: Vec<Vec<u8>> = due.iter().unwrap().map(|i| i.unwrap().0.value().to_vec()).collect();
            for k in keys {
                due.remove(k.as_slice()).unwrap();
            }
            for (at, seq) in [(5_i64, hub), (3, emea)] {
                let mut key = super::super::tables::i64_key(at).to_vec();
                key.extend_from_slice(&seq.to_be_bytes());
                due.insert(key.as_slice(), [].as_slice()).unwrap();
            }
            let mut table = txn.open_table(Tbl::Meta.def()).unwrap();
            table.insert(meta::SCHEMA_VERSION, 1_u32.to_be_bytes().as_slice()).unwrap();
        }
        txn.commit().unwrap();
    }
    let store = open(dir.path());
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    let seqs = |instance: &str| store.outbox_ready(instance, 10, 10).unwrap().iter().map(|e| e.seq).collect::<Vec<_>>();
    assert_eq!(seqs("hub"), vec![hub]);
    assert_eq!(seqs("emea"), vec![emea]);
    assert_eq!(store.next_outbox_at("emea").unwrap(), Some(3));
    assert_eq!(store.next_outbox_at("hub").unwrap(), Some(5));
}

/// Turns a file of this build back into a schema 2 file: without the tables
/// schema 3 added.
fn rewind_to_v2(dir: &Path) {
    let db = Database::create(dir.join(DB_FILE_NAME)).unwrap();
    let txn = db.begin_write().unwrap();
    for table in V3_TABLES.iter().chain([&Tbl::Children]) {
        assert!(txn.delete_table(table.def()).unwrap(), "{table:?} existed");
    }
    {
        let mut meta_table = txn.open_table(Tbl::Meta.def()).unwrap();
        meta_table.insert(meta::SCHEMA_VERSION, 2_u32.to_be_bytes().as_slice()).unwrap();
    }
    txn.commit().unwrap();
}

fn table_names(dir: &Path) -> Vec<String> {
    let db = Database::create(dir.join(DB_FILE_NAME)).unwrap();
    let txn = db.begin_read().unwrap();
    txn.list_tables().unwrap().map(|t| t.name().to_string()).collect()
}

#[test]
fn the_2_to_3_step_creates_the_dependency_and_pending_tables() {
    let dir = temp_dir();
    drop(open(dir.path()));
    rewind_to_v2(dir.path());
    let names = table_names(dir.path());
    assert!(V3_TABLES.iter().all(|t| !names.contains(&t.def().name().to_string())), "{names:?}");
    {
        let db = Database::create(dir.path().join(DB_FILE_NAME)).unwrap();
        let txn = db.begin_write().unwrap();
        super::super::deps::v2_to_v3(&txn).unwrap();
        txn.commit().unwrap();
    }
    let names = table_names(dir.path());
    assert!(V3_TABLES.iter().all(|t| names.contains(&t.def().name().to_string())), "{names:?}");
}

#[test]
fn a_version_2_file_is_migrated_and_keeps_its_links() {
    let dir = temp_dir();
    let (a, b) = {
        let store = open(dir.path());
        let a = link_id(one(&store, Op::LinkPut(new_link("emea", "10001", "20001"))));
        let b = link_id(one(&store, Op::LinkPut(new_link("emea", "10002", "20002"))));
        one(&store, Op::ShadowPut { link: a, shadow: shadow(&[("summary", "s")]) });
        (a, b)
    };
    rewind_to_v2(dir.path());

    let (dependency, pending) = {
        let store = open(dir.path());
        assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
        assert_eq!(store.link(a).unwrap(), Some(LinkRecord { id: a, ..new_link("emea", "10001", "20001") }));
        assert_eq!(store.link_by_secondary("emea", "10002").unwrap().map(|l| l.id), Some(b));
        assert_eq!(store.shadow(a).unwrap(), Some(shadow(&[("summary", "s")])));
        assert_eq!((store.link_count().unwrap(), store.dependency_count().unwrap()), (2, 0));
        assert_eq!(store.pending_count().unwrap(), 0);
        let dependency = dependency_id(one(&store, Op::DependencyPut(new_dependency(a, b, Some("s1"), None))));
        let pending = pending_id(one(&store, Op::PendingPut(new_pending("emea", "l1", "10001", "10009"))));
        (dependency, pending)
    };

    // What the migrated file took in survives a reopen, which migrates nothing.
    let store = open(dir.path());
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    assert_eq!(
        store.dependency(dependency).unwrap(),
        Some(DependencyRecord { id: dependency, ..new_dependency(a, b, Some("s1"), None) })
    );
    assert_eq!(store.dependencies_to(b).unwrap().len(), 1);
    assert_eq!(
        store.pending_waiting_on("emea", "10009").unwrap().iter().map(|p| p.id).collect::<Vec<_>>(),
        vec![pending]
    );
    assert_eq!((store.dependency_count().unwrap(), store.pending_count().unwrap()), (1, 1));
    assert!(dependency_id(one(&store, Op::DependencyPut(new_dependency(b, a, None, None)))) > dependency);
    assert!(pending_id(one(&store, Op::PendingPut(new_pending("emea", "l2", "10001", "10009")))) > pending);
}

/// A schema 3 file had no children index: opening it builds the index from
/// the stored shadows.
#[test]
fn a_version_3_file_gets_its_children_index() {
    let dir = temp_dir();
    let child = {
        let store = open(dir.path());
        link_id(one(&store, Op::LinkPut(new_link("emea", "10001", "20001"))));
        let child = link_id(one(&store, Op::LinkPut(new_link("emea", "10002", "20002"))));
        let parent = crate::mapping::AgreedParent { issue: Some("10001".to_string()) };
        let s = crate::mapping::Shadow { parent: Some(parent), ..shadow(&[("summary", "a")]) };
        one(&store, Op::ShadowPut { link: child, shadow: s });
        child
    };
    {
        let db = Database::create(dir.path().join(DB_FILE_NAME)).unwrap();
        let txn = db.begin_write().unwrap();
        txn.delete_table(Tbl::Children.def()).unwrap();
        {
            let mut table = txn.open_table(Tbl::Meta.def()).unwrap();
            table.insert(meta::SCHEMA_VERSION, 3_u32.to_be_bytes().as_slice()).unwrap();
        }
        txn.commit().unwrap();
    }
    let store = open(dir.path());
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    let found: Vec<u64> = store.children_of("emea", "10001").unwrap().iter().map(|l| l.id).collect();
    assert_eq!(found, vec![child]);
}
