//! Storage faults: failed commits and recovery without a restart, damaged,
//! missing and empty files at open, offline checks and live backups.

use std::path::Path;
use std::time::{Duration, Instant};

use super::super::{
    DB_FILE_NAME, Op, StorageFaults, Store, StoreError, StoreOptions, StoreState, check_file, marker_path,
};
use super::{inbox_push, link_id, new_link, one, open, temp_dir};

fn with_faults(faults: &std::sync::Arc<StorageFaults>) -> StoreOptions {
    StoreOptions { faults: Some(faults.clone()), ..StoreOptions::default() }
}

/// Waits (bounded) until the store takes commits again.
fn wait_available(store: &Store) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !store.is_available() {
        assert!(Instant::now() < deadline, "the store did not recover: {:?}", store.health());
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn a_commit_failing_with_enospc_makes_the_store_unavailable_then_it_recovers_by_itself() {
    let dir = temp_dir();
    let faults = StorageFaults::new();
    let store = Store::open_with(dir.path(), with_faults(&faults)).unwrap();
    let kept = link_id(one(&store, Op::LinkPut(new_link("emea", "10001", "20001"))));

    faults.fail_next_commits(1);
    let err = store.commit_blocking(vec![inbox_push("emea", "10002", Some("d-lost"))]).unwrap_err();
    assert!(matches!(err, StoreError::Commit { .. }), "{err}");
    assert!(err.to_string().contains(DB_FILE_NAME), "{err}");

    wait_available(&store);
    let health = store.health();
    assert_eq!(health.state, StoreState::Ready);
    assert_eq!(health.recoveries, 1);
    assert!(health.last_error.as_deref().unwrap_or_default().to_lowercase().contains("space"), "{health:?}");
    // What was acknowledged is there; the failed batch is not; writes go on.
    assert!(store.link(kept).unwrap().is_some());
    assert_eq!(store.inbox_depth().unwrap(), 0);
    one(&store, inbox_push("emea", "10002", Some("d-again")));
    assert_eq!(store.inbox_depth().unwrap(), 1);
}

#[test]
fn while_the_disk_stays_full_callers_get_unavailable_naming_the_file_and_cause() {
    let dir = temp_dir();
    let faults = StorageFaults::new();
    let store = Store::open_with(dir.path(), with_faults(&faults)).unwrap();
    faults.set_disk_full(true);
    assert!(store.commit_blocking(vec![inbox_push("emea", "1", Some("d-1"))]).is_err());
    assert!(!store.is_available());
    // Several reopen attempts fail while the disk is full.
    std::thread::sleep(crate::store::RECOVERY_MIN_DELAY * 4);
    let err = store.commit_blocking(vec![inbox_push("emea", "2", Some("d-2"))]).unwrap_err();
    assert!(matches!(err, StoreError::Unavailable { .. }), "{err}");
    let text = err.to_string();
    assert!(text.contains(DB_FILE_NAME) && text.to_lowercase().contains("space"), "{text}");
    assert!(matches!(store.inbox_depth(), Err(StoreError::Unavailable { .. })));
    assert_eq!(store.health().state, StoreState::Recovering);

    faults.set_disk_full(false);
    wait_available(&store);
    one(&store, inbox_push("emea", "3", Some("d-3")));
    assert_eq!(store.inbox_depth().unwrap(), 1);
}

#[test]
fn an_in_memory_store_recovers_from_eio_too() {
    let faults = StorageFaults::new();
    let store = Store::open_in_memory(with_faults(&faults)).unwrap();
    one(&store, inbox_push("emea", "1", Some("d-1")));
    faults.fail_next_commits_eio(1);
    assert!(store.commit_blocking(vec![inbox_push("emea", "2", Some("d-2"))]).is_err());
    wait_available(&store);
    // After a failed fsync the commit may or may not be there (as on a real
    // disk); what was acknowledged is, and writes go on.
    let depth = store.inbox_depth().unwrap();
    assert!((1..=2).contains(&depth), "{depth}");
    one(&store, inbox_push("emea", "3", Some("d-3")));
    assert_eq!(store.inbox_depth().unwrap(), depth + 1);
}

#[tokio::test]
async fn the_probe_answers_unavailable_while_recovering() {
    let faults = StorageFaults::new();
    let store = Store::open_in_memory(with_faults(&faults)).unwrap();
    store.probe().await.unwrap();
    faults.set_disk_full(true);
    assert!(store.commit(vec![inbox_push("emea", "1", Some("d-1"))]).await.is_err());
    assert!(matches!(store.probe().await, Err(StoreError::Unavailable { .. })));
    faults.set_disk_full(false);
    let deadline = Instant::now() + Duration::from_secs(20);
    while store.probe().await.is_err() {
        assert!(Instant::now() < deadline, "no recovery");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A store with a few records, closed.
fn populated(dir: &Path) {
    let store = open(dir);
    for i in 0..50 {
        one(&store, Op::LinkPut(new_link("emea", &format!("{}", 10_000 + i), &format!("{}", 20_000 + i))));
    }
}

/// Overwrites the middle of the file with garbage, as a bad disk would.
fn damage(dir: &Path) {
    let path = dir.join(DB_FILE_NAME);
    let mut bytes = std::fs::read(&path).unwrap();
    let len = bytes.len();
    for b in &mut bytes[4096..len - 1] {
        *b ^= 0x5a;
    }
    std::fs::write(&path, bytes).unwrap();
}

#[test]
fn a_damaged_file_is_refused_as_a_data_error_naming_the_file() {
    let dir = temp_dir();
    populated(dir.path());
    damage(dir.path());
    let err = Store::open(dir.path()).unwrap_err();
    assert!(err.is_data_error(), "{err}");
    let text = err.to_string();
    assert!(text.contains(&dir.path().join(DB_FILE_NAME).display().to_string()), "{text}");
    assert!(text.contains("damaged") && text.contains("--init"), "{text}");
    assert!(check_file(&dir.path().join(DB_FILE_NAME)).is_err());
}

#[test]
fn a_file_that_is_not_redb_is_refused_as_a_data_error() {
    let dir = temp_dir();
    std::fs::write(dir.path().join(DB_FILE_NAME), vec![0x42u8; 10_000]).unwrap();
    let err = Store::open(dir.path()).unwrap_err();
    assert!(err.is_data_error(), "{err}");
}

#[test]
fn an_empty_or_missing_file_is_refused_once_a_store_existed_unless_init() {
    let dir = temp_dir();
    let file = dir.path().join(DB_FILE_NAME);
    assert!(!marker_path(&file).exists());
    populated(dir.path());
    assert!(marker_path(&file).exists(), "the first start leaves a marker");

    std::fs::write(&file, b"").unwrap();
    let err = Store::open(dir.path()).unwrap_err();
    assert!(matches!(err, StoreError::Missing { what: "empty (0 bytes)", .. }), "{err}");
    assert!(err.is_data_error() && err.to_string().contains("--init"), "{err}");

    std::fs::remove_file(&file).unwrap();
    assert!(matches!(Store::open(dir.path()), Err(StoreError::Missing { what: "missing", .. })));

    let store = Store::open_with(dir.path(), StoreOptions { init: true, ..StoreOptions::default() }).unwrap();
    assert_eq!(store.link_count().unwrap(), 0);
}

#[test]
fn check_file_reports_version_and_counts_and_refuses_damage() {
    let dir = temp_dir();
    populated(dir.path());
    let file = dir.path().join(DB_FILE_NAME);
    let before = std::fs::read(&file).unwrap();
    let report = check_file(&file).unwrap();
    assert_eq!(report.schema_version, crate::store::SCHEMA_VERSION);
    assert_eq!(report.counts["links"], 50);
    assert_eq!(std::fs::read(&file).unwrap(), before, "the check leaves the file untouched");

    let empty = dir.path().join("empty.redb");
    std::fs::write(&empty, b"").unwrap();
    assert!(check_file(&empty).is_err());
}

#[test]
fn a_live_backup_is_a_consistent_file_that_checks_clean() {
    let dir = temp_dir();
    let store = open(dir.path());
    for i in 0..20 {
        one(&store, Op::LinkPut(new_link("emea", &format!("{}", 10_000 + i), &format!("{}", 20_000 + i))));
    }
    let dest = dir.path().join("backup.redb");
    let report = store.backup(&dest, false).unwrap();
    assert_eq!(report.counts["links"], 20);
    let err = store.backup(&dest, false).unwrap_err();
    assert!(err.to_string().contains("--force"), "{err}");
    one(&store, Op::LinkPut(new_link("emea", "99999", "88888")));
    store.backup(&dest, true).unwrap();
    assert!(store.backup(&dir.path().join(DB_FILE_NAME), true).is_err(), "never over the live file");
    drop(store);

    let checked = check_file(&dest).unwrap();
    assert_eq!(checked.counts["links"], 21);
    let restored = temp_dir();
    std::fs::copy(&dest, restored.path().join(DB_FILE_NAME)).unwrap();
    assert_eq!(open(restored.path()).link_count().unwrap(), 21);
}
