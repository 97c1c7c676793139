//! Group commit and per-request rollback.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use super::super::writer::{WriterConfig, apply_batch};
use super::super::{Op, OpResult, Rejection, Store, StoreError};
use super::{inbox_push, link_id, new_link, one, open, outbox_push, seq, shadow, temp_dir};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_commits_share_transactions_and_get_their_own_results() {
    let dir = temp_dir();
    let store = open(dir.path());
    let before = store.commit_count();
    let barrier = Arc::new(tokio::sync::Barrier::new(200));
    let mut tasks = Vec::new();
    for i in 0..200 {
        let store = store.clone();
        let barrier = barrier.clone();
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            let issue = format!("{i}");
            let results = store.commit(vec![inbox_push("emea", &issue, Some(&issue))]).await.unwrap();
            (issue, results)
        }));
    }
    let mut seqs = HashSet::new();
    for task in tasks {
        let (issue, results) = task.await.unwrap();
        assert_eq!(results.len(), 1);
        let s = seq(results[0]);
        assert!(seqs.insert(s), "seq {s} handed out twice");
        // Each caller's seq is the entry with its own issue.
        let entry = store.inbox_batch(1_000).unwrap().into_iter().find(|e| e.seq == s).unwrap();
        assert_eq!(entry.issue, issue);
    }
    assert_eq!(store.inbox_depth().unwrap(), 200);
    let commits = store.commit_count() - before;
    assert!(commits >= 1);
    eprintln!("200 concurrent commits: {commits} write transactions");
    assert!(commits <= 50, "200 concurrent commits took {commits} write transactions");
}

#[test]
fn a_rejected_request_is_rolled_back_alone_inside_the_batch() {
    let dir = temp_dir();
    let store = open(dir.path());
    let id = link_id(one(&store, Op::LinkPut(new_link("emea", "10001", "20001"))));
    let commits = Arc::new(AtomicU64::new(0));
    let config = WriterConfig {
        path: store.path().to_path_buf(),
        clock: crate::clock::Clock::fixed(0),
        audit_limit: 10,
        audit_max_age_ms: None,
        batch_limit: 10,
        commits: commits.clone(),
        schema_version: crate::store::SCHEMA_VERSION,
    };
    let good = vec![inbox_push("emea", "1", Some("d-1")), outbox_push("hub", "PORT-1", "w", 0)];
    // Everything before the failing op must vanish: a delivery id, an inbox
    // entry, an outbox entry with its indexes and counters, a shadow, a cursor.
    let bad = vec![
        inbox_push("emea", "2", Some("d-2")),
        outbox_push("hub", "PORT-2", "x", 0),
        Op::ShadowPut { link: id, shadow: shadow(&[("summary", "rolled back")]) },
        Op::CursorSet { instance: "emea".to_string(), at_ms: 9 },
        Op::LinkDelete { id },
        Op::LinkPut(new_link("emea", "10002", "20002")),
        Op::LinkPut(new_link("emea", "10002", "20003")),
    ];
    let also_good = vec![inbox_push("emea", "3", None)];
    let answers = apply_batch(&store.db().unwrap(), &config, &[good, bad, also_good]).unwrap();
    assert_eq!(commits.load(std::sync::atomic::Ordering::Relaxed), 1);

    assert!(answers[0].is_ok());
    match &answers[1] {
        Err(StoreError::Rejected { index: 6, reason: Rejection::LinkConflict { .. }, path }) => {
            assert_eq!(path, store.path());
        }
        other => panic!("unexpected {other:?}"),
    }
    let third = answers[2].as_ref().unwrap();
    // The rolled-back request's seq was given back, so the third got the next.
    let first_seq = seq(answers[0].as_ref().unwrap()[0]);
    assert_eq!(seq(third[0]), first_seq + 1);

    assert_eq!(store.inbox_depth().unwrap(), 2);
    assert_eq!(store.outbox_depth("hub").unwrap(), 1);
    assert_eq!(store.outbox_ready("hub", 0, 10).unwrap().len(), 1);
    assert_eq!(store.shadow(id).unwrap(), None);
    assert_eq!(store.cursor("emea").unwrap(), None);
    assert!(store.link(id).unwrap().is_some());
    assert_eq!(store.link_by_secondary("emea", "10001").unwrap().map(|l| l.id), Some(id));
    assert_eq!(store.link_by_secondary("emea", "10002").unwrap(), None);
    assert_eq!(store.link_count().unwrap(), 1);
    // The rolled-back delivery id was not remembered; the committed one was.
    assert!(matches!(one(&store, inbox_push("emea", "2", Some("d-2"))), OpResult::Pushed { .. }));
    assert_eq!(one(&store, inbox_push("emea", "1", Some("d-1"))), OpResult::Duplicate);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_and_blocking_callers_share_the_writer() {
    let dir = temp_dir();
    let store = open(dir.path());
    assert_eq!(store.commit(Vec::new()).await.unwrap(), Vec::new());
    let blocking = store.clone();
    let result = tokio::task::spawn_blocking(move || blocking.commit_blocking(vec![inbox_push("emea", "1", None)]))
        .await
        .unwrap();
    assert!(matches!(result.unwrap()[0], OpResult::Pushed { .. }));
    let err = store.commit(vec![Op::LinkDelete { id: 3 }, Op::ShadowPut { link: 3, shadow: shadow(&[]) }]).await;
    assert!(matches!(err, Err(StoreError::Rejected { index: 1, .. })));
    assert_eq!(store.inbox_depth().unwrap(), 1);
}

#[test]
fn requests_that_change_nothing_do_not_commit() {
    let dir = temp_dir();
    let store = open(dir.path());
    let before = store.commit_count();
    assert_eq!(one(&store, Op::OutboxDone { seq: 1 }), OpResult::NotFound);
    assert!(store.commit_blocking(vec![Op::ShadowPut { link: 1, shadow: shadow(&[]) }]).is_err());
    // A request rolled back after it changed something leaves nothing to commit.
    assert!(
        store
            .commit_blocking(vec![inbox_push("emea", "1", None), Op::ShadowPut { link: 1, shadow: shadow(&[]) }])
            .is_err()
    );
    assert_eq!(store.commit_count(), before);
    one(&store, inbox_push("emea", "1", None));
    assert_eq!(store.commit_count(), before + 1);
}

#[test]
fn the_last_clone_stops_the_writer_after_queued_work() {
    let dir = temp_dir();
    let store = open(dir.path());
    let threads: Vec<_> = (0..8)
        .map(|i| {
            let store: Store = store.clone();
            std::thread::spawn(move || store.commit_blocking(vec![inbox_push("emea", &format!("{i}"), None)]))
        })
        .collect();
    drop(store);
    for thread in threads {
        assert!(thread.join().unwrap().is_ok());
    }
    // Every clone is gone, so the writer has exited and released the file.
    let reopened = open(dir.path());
    assert_eq!(reopened.inbox_depth().unwrap(), 8);
}
