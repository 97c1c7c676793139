//! Inbox, delivery dedupe, cursors and the audit log.

use std::time::Duration;

use super::super::{DEFAULT_AUDIT_LIMIT, Op, OpResult, Store, StoreOptions};
use super::{TestClock, inbox_push, one, open, seq, temp_dir};

#[test]
fn inbox_keeps_order_until_acknowledged() {
    let dir = temp_dir();
    let clock = TestClock::new(5_000);
    let store = Store::open_with(dir.path(), clock.options()).unwrap();
    let results = store
        .commit_blocking(vec![
            inbox_push("emea", "10001", None),
            inbox_push("emea", "10002", None),
            inbox_push("hub", "20001", None),
        ])
        .unwrap();
    let seqs: Vec<u64> = results.into_iter().map(seq).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
    assert_eq!(store.inbox_depth().unwrap(), 3);

    let batch = store.inbox_batch(2).unwrap();
    assert_eq!(batch.iter().map(|e| e.seq).collect::<Vec<_>>(), seqs[..2]);
    assert_eq!(batch[0].instance, "emea");
    assert_eq!(batch[0].issue, "10001");
    assert_eq!(batch[0].payload, b"change of 10001");
    assert_eq!(batch[0].received_ms, 5_000);

    assert_eq!(one(&store, Op::InboxAck { seqs: vec![seqs[0], seqs[1], 999] }), OpResult::Done);
    let rest = store.inbox_batch(10).unwrap();
    assert_eq!(rest.len(), 1);
    assert_eq!(rest[0].issue, "20001");

    // Seqs stay monotonic after the inbox empties.
    one(&store, Op::InboxAck { seqs: vec![seqs[2]] });
    assert_eq!(store.inbox_depth().unwrap(), 0);
    assert!(seq(one(&store, inbox_push("emea", "10003", None))) > seqs[2]);
}

#[test]
fn a_delivery_id_is_queued_once_until_pruned() {
    let dir = temp_dir();
    let clock = TestClock::new(1_000);
    let store = Store::open_with(dir.path(), clock.options()).unwrap();

    assert!(matches!(one(&store, inbox_push("emea", "10001", Some("d-1"))), OpResult::Pushed { .. }));
    assert_eq!(one(&store, inbox_push("emea", "10001", Some("d-1"))), OpResult::Duplicate);
    // Twice in one request: the second sees the first.
    let results = store
        .commit_blocking(vec![inbox_push("emea", "10002", Some("d-2")), inbox_push("emea", "10002", Some("d-2"))])
        .unwrap();
    assert!(matches!(results[0], OpResult::Pushed { .. }));
    assert_eq!(results[1], OpResult::Duplicate);
    // Delivery ids are scoped to their instance.
    assert!(matches!(one(&store, inbox_push("apac", "10001", Some("d-1"))), OpResult::Pushed { .. }));
    assert_eq!(store.inbox_depth().unwrap(), 3);

    clock.set(90_000);
    assert!(matches!(one(&store, inbox_push("emea", "10003", Some("d-3"))), OpResult::Pushed { .. }));
    assert_eq!(one(&store, Op::PruneDeliveries { older_than_ms: 50_000 }), OpResult::Done);

    // d-1 and d-2 (seen at 1,000) are forgotten, d-3 (seen at 90,000) is not.
    assert!(matches!(one(&store, inbox_push("emea", "10001", Some("d-1"))), OpResult::Pushed { .. }));
    assert!(matches!(one(&store, inbox_push("emea", "10002", Some("d-2"))), OpResult::Pushed { .. }));
    assert_eq!(one(&store, inbox_push("emea", "10003", Some("d-3"))), OpResult::Duplicate);
}

#[test]
fn cursors_are_per_instance() {
    let dir = temp_dir();
    let store = open(dir.path());
    assert_eq!(store.cursor("emea").unwrap(), None);
    one(&store, Op::CursorSet { instance: "emea".to_string(), at_ms: 1_700_000_000_000 });
    one(&store, Op::CursorSet { instance: "hub".to_string(), at_ms: -5 });
    one(&store, Op::CursorSet { instance: "emea".to_string(), at_ms: 1_700_000_060_000 });
    assert_eq!(store.cursor("emea").unwrap(), Some(1_700_000_060_000));
    assert_eq!(store.cursor("hub").unwrap(), Some(-5));
}

fn audit(at_ms: i64) -> Op {
    Op::Audit { at_ms, payload: format!("event {at_ms}").into_bytes() }
}

#[test]
fn audit_log_stays_bounded() {
    let dir = temp_dir();
    let store = Store::open_with(dir.path(), StoreOptions { audit_limit: 50, ..StoreOptions::default() }).unwrap();
    store.commit_blocking((0..100).map(audit).collect()).unwrap();
    for at in 100..120 {
        one(&store, audit(at));
    }
    let all = store.audit_tail(1_000).unwrap();
    assert_eq!(all.len(), 50);
    assert_eq!(all.first().map(|e| e.at_ms), Some(70));
    assert_eq!(all.last().map(|e| (e.at_ms, e.payload.clone())), Some((119, b"event 119".to_vec())));
    let tail = store.audit_tail(3).unwrap();
    assert_eq!(tail.iter().map(|e| e.at_ms).collect::<Vec<_>>(), vec![117, 118, 119]);
    assert!(tail.windows(2).all(|w| w[0].seq < w[1].seq));
}

#[test]
fn audit_entries_older_than_the_age_bound_go_as_new_ones_come() {
    let dir = temp_dir();
    let (clock, time) = crate::clock::Clock::manual(1_000_000);
    let options = StoreOptions { clock, audit_max_age: Some(Duration::from_secs(60)), ..StoreOptions::default() };
    let store = Store::open_with(dir.path(), options).unwrap();
    store.commit_blocking((0..10).map(|i| audit(1_000_000 + i)).collect()).unwrap();
    assert_eq!(store.audit_len().unwrap(), 10);
    time.advance(59_000);
    one(&store, audit(1_059_000));
    assert_eq!(store.audit_len().unwrap(), 11, "none older than a minute yet");
    time.advance(30_000);
    one(&store, audit(1_089_000));
    let left: Vec<i64> = store.audit_tail(100).unwrap().iter().map(|e| e.at_ms).collect();
    assert_eq!(left, vec![1_059_000, 1_089_000], "the ten older than a minute are gone");
    // Read back newest first, bounded by age, count and a filter.
    let newest = store.audit_newest(1_060_000, 10, &|_| true).unwrap();
    assert_eq!(newest.iter().map(|e| e.at_ms).collect::<Vec<_>>(), vec![1_089_000]);
    let none = store.audit_newest(i64::MIN, 10, &|e| e.payload.starts_with(b"nothing")).unwrap();
    assert!(none.is_empty());
}

#[test]
fn default_audit_bound_is_fifty_thousand() {
    let dir = temp_dir();
    let store = open(dir.path());
    assert_eq!(DEFAULT_AUDIT_LIMIT, 50_000);
    for chunk in 0..51 {
        store.commit_blocking((chunk * 1_000..(chunk + 1) * 1_000).map(audit).collect()).unwrap();
    }
    let all = store.audit_tail(usize::MAX).unwrap();
    assert_eq!(all.len(), 50_000);
    assert_eq!(all[0].at_ms, 1_000);
}

#[test]
fn a_claimed_delivery_id_drops_the_whole_request_when_seen_again() {
    let dir = temp_dir();
    let clock = TestClock::new(1_000);
    let store = Store::open_with(dir.path(), clock.options()).unwrap();
    let claim = |d: &str| Op::DeliveryClaim { instance: "emea".into(), delivery: d.into() };

    let first = store.commit_blocking(vec![claim("abc"), inbox_push("emea", "10001", Some("v-1"))]).unwrap();
    assert_eq!(first[0], OpResult::Done);
    assert!(matches!(first[1], OpResult::Pushed { .. }));
    // The same id with another body: neither the id nor the change is stored again.
    let again = store.commit_blocking(vec![claim("abc"), inbox_push("emea", "10002", Some("v-2"))]).unwrap();
    assert_eq!(again, vec![OpResult::Duplicate, OpResult::Skipped]);
    assert_eq!(store.inbox_depth().unwrap(), 1);
    // The change key of the skipped push was not remembered either.
    assert!(matches!(one(&store, inbox_push("emea", "10002", Some("v-2"))), OpResult::Pushed { .. }));
    // Ids live apart from change keys, and per instance.
    assert!(matches!(one(&store, inbox_push("emea", "10003", Some("abc"))), OpResult::Pushed { .. }));
    assert_eq!(one(&store, Op::DeliveryClaim { instance: "apac".into(), delivery: "abc".into() }), OpResult::Done);

    // Pruned after the window: the id is new again.
    clock.set(90_000);
    assert_eq!(one(&store, Op::PruneDeliveries { older_than_ms: 50_000 }), OpResult::Done);
    assert_eq!(one(&store, claim("abc")), OpResult::Done);
}

/// A pause is kept across a reopen, keeps its first time when set again,
/// and is gone once cleared.
#[test]
fn a_paused_instance_stays_paused_until_cleared() {
    use super::super::{Op, OpResult};
    let dir = super::temp_dir();
    {
        let store = super::open(dir.path());
        assert_eq!(store.paused_since("hub").unwrap(), None);
        super::one(&store, super::outbox_push("hub", "PORT-1", "h", 5));
        super::one(&store, Op::PauseSet { instance: "hub".into(), since_ms: 10 });
        assert!(store.outbox_ready("hub", 10, 10).unwrap().is_empty(), "nothing ready while paused");
        super::one(&store, Op::PauseSet { instance: "hub".into(), since_ms: 20 });
        assert_eq!(store.paused_since("hub").unwrap(), Some(10));
        assert_eq!(store.paused_since("emea").unwrap(), None);
    }
    let store = super::open(dir.path());
    assert_eq!(store.paused_since("hub").unwrap(), Some(10), "kept across a reopen");
    assert_eq!(super::one(&store, Op::PauseClear { instance: "hub".into() }), OpResult::Done);
    assert_eq!(store.paused_since("hub").unwrap(), None);
    assert_eq!(store.outbox_ready("hub", 10, 10).unwrap().len(), 1, "ready once resumed");
    assert_eq!(super::one(&store, Op::PauseClear { instance: "hub".into() }), OpResult::NotFound);
}
