//! Outbox ordering, scheduling and dead letters.

use super::super::{Op, OpResult, OutboxEntry, Store};
use super::{one, open, outbox_push, seq, temp_dir};

fn ready(store: &Store, now_ms: i64) -> Vec<(String, String, String)> {
    let mut out: Vec<_> = ["emea", "hub"]
        .into_iter()
        .flat_map(|instance| store.outbox_ready(instance, now_ms, 100).unwrap())
        .map(|e| (e.instance, e.target, String::from_utf8(e.payload).unwrap()))
        .collect();
    out.sort();
    out
}

fn row(instance: &str, target: &str, payload: &str) -> (String, String, String) {
    (instance.to_string(), target.to_string(), payload.to_string())
}

fn dead_id(result: OpResult) -> u64 {
    match result {
        OpResult::DeadLettered { id } => id,
        other => panic!("expected DeadLettered, got {other:?}"),
    }
}

#[test]
fn writes_to_one_target_run_in_order_and_targets_in_parallel() {
    let dir = temp_dir();
    let store = open(dir.path());
    let a1 = seq(one(&store, outbox_push("hub", "PORT-1", "a1", 0)));
    let a2 = seq(one(&store, outbox_push("hub", "PORT-1", "a2", 0)));
    one(&store, outbox_push("hub", "PORT-2", "b1", 0));
    one(&store, outbox_push("emea", "PORT-1", "c1", 0));
    assert!(a1 < a2);

    assert_eq!(
        ready(&store, 10),
        vec![row("emea", "PORT-1", "c1"), row("hub", "PORT-1", "a1"), row("hub", "PORT-2", "b1")]
    );
    assert_eq!(store.outbox_depth("hub").unwrap(), 3);
    assert_eq!(store.outbox_depth("emea").unwrap(), 1);
    assert_eq!(store.outbox_depth("apac").unwrap(), 0);

    assert_eq!(one(&store, Op::OutboxDone { seq: a1 }), OpResult::Done);
    assert_eq!(
        ready(&store, 10),
        vec![row("emea", "PORT-1", "c1"), row("hub", "PORT-1", "a2"), row("hub", "PORT-2", "b1")]
    );
    assert_eq!(store.outbox_depth("hub").unwrap(), 2);
    assert_eq!(store.outbox_ready("hub", 10, 1).unwrap().len(), 1);
    assert_eq!(store.outbox_ready("emea", 10, 5).unwrap().len(), 1);
}

#[test]
fn due_times_and_reschedules_keep_the_head_first() {
    let dir = temp_dir();
    let store = open(dir.path());
    assert_eq!(store.next_outbox_at("hub").unwrap(), None);
    let head = seq(one(&store, outbox_push("hub", "PORT-1", "first", 100)));
    let behind = seq(one(&store, outbox_push("hub", "PORT-1", "second", 0)));
    one(&store, outbox_push("hub", "PORT-2", "other", 300));

    assert!(ready(&store, 99).is_empty(), "the second waits behind a head that is not due");
    assert_eq!(store.next_outbox_at("hub").unwrap(), Some(100));
    assert_eq!(ready(&store, 100), vec![row("hub", "PORT-1", "first")]);

    let op = Op::OutboxReschedule { seq: head, next_at_ms: 500, error: "HTTP 503".to_string() };
    assert_eq!(one(&store, op), OpResult::Done);
    assert_eq!(store.next_outbox_at("hub").unwrap(), Some(300));
    assert_eq!(ready(&store, 400), vec![row("hub", "PORT-2", "other")]);
    let entry: OutboxEntry = store.outbox_ready("hub", 500, 10).unwrap().into_iter().find(|e| e.seq == head).unwrap();
    assert_eq!(entry.attempts, 1);
    assert_eq!(entry.next_at_ms, 500);
    assert_eq!(entry.last_error.as_deref(), Some("HTTP 503"));

    one(&store, Op::OutboxDone { seq: head });
    assert_eq!(store.outbox_entry(behind).unwrap().map(|e| e.payload), Some(b"second".to_vec()));
    assert_eq!(store.next_outbox_at("hub").unwrap(), Some(0));
}

#[test]
fn a_dead_letter_blocks_its_target_until_retried_first() {
    let dir = temp_dir();
    let store = open(dir.path());
    let a1 = seq(one(&store, outbox_push("hub", "PORT-1", "a1", 0)));
    one(&store, outbox_push("hub", "PORT-1", "a2", 0));
    one(&store, outbox_push("hub", "PORT-2", "b1", 0));

    let op = Op::OutboxDeadLetter { seq: a1, error: "400: Field 'x' cannot be set".to_string(), at_ms: 42 };
    let id = dead_id(one(&store, op));
    assert_eq!(ready(&store, 10), vec![row("hub", "PORT-2", "b1")]);
    one(&store, outbox_push("hub", "PORT-1", "a3", 0));
    assert_eq!(ready(&store, 10), vec![row("hub", "PORT-2", "b1")], "new writes queue behind the dead letter");
    assert_eq!(store.dead_letter_count(Some("hub")).unwrap(), 1);
    assert_eq!(store.dead_letter_count(Some("emea")).unwrap(), 0);
    assert_eq!(store.dead_letter_count(None).unwrap(), 1);
    assert_eq!(store.outbox_depth("hub").unwrap(), 3);

    let dead = store.dead_letters().unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!((dead[0].id, dead[0].at_ms, dead[0].entry.seq), (id, 42, a1));
    assert_eq!(dead[0].error, "400: Field 'x' cannot be set");
    assert_eq!(dead[0].entry.payload, b"a1");
    assert_eq!(store.dead_letter(id).unwrap(), Some(dead[0].clone()));

    one(&store, Op::OutboxReschedule { seq: a1 + 1, next_at_ms: 0, error: "x".to_string() });
    assert_eq!(one(&store, Op::DeadLetterRetry { id, now_ms: 7 }), OpResult::Pushed { seq: a1 });
    let retried = store.outbox_ready("hub", 10, 10).unwrap().into_iter().find(|e| e.target == "PORT-1").unwrap();
    assert_eq!((retried.seq, retried.attempts, retried.next_at_ms), (a1, 0, 7));
    assert_eq!(retried.payload, b"a1");
    assert_eq!(store.dead_letter_count(None).unwrap(), 0);
    assert_eq!(store.outbox_depth("hub").unwrap(), 4);
}

#[test]
fn dropping_a_dead_letter_releases_its_target() {
    let dir = temp_dir();
    let store = open(dir.path());
    let a1 = seq(one(&store, outbox_push("hub", "PORT-1", "a1", 0)));
    one(&store, outbox_push("hub", "PORT-1", "a2", 0));
    let id = dead_id(one(&store, Op::OutboxDeadLetter { seq: a1, error: "404".to_string(), at_ms: 1 }));
    assert!(ready(&store, 10).is_empty());
    assert_eq!(store.next_outbox_at("hub").unwrap(), None);

    assert_eq!(one(&store, Op::DeadLetterDrop { id }), OpResult::Done);
    assert_eq!(ready(&store, 10), vec![row("hub", "PORT-1", "a2")]);
    assert_eq!(store.dead_letters().unwrap(), Vec::new());
    assert_eq!(store.dead_letter_count(Some("hub")).unwrap(), 0);
}

#[test]
fn ops_on_missing_entries_report_not_found() {
    let dir = temp_dir();
    let store = open(dir.path());
    let s = seq(one(&store, outbox_push("hub", "PORT-1", "a1", 0)));
    assert_eq!(one(&store, Op::OutboxDone { seq: s }), OpResult::Done);
    assert_eq!(one(&store, Op::OutboxDone { seq: s }), OpResult::NotFound);
    let reschedule = Op::OutboxReschedule { seq: s, next_at_ms: 1, error: "e".to_string() };
    assert_eq!(one(&store, reschedule), OpResult::NotFound);
    assert_eq!(one(&store, Op::OutboxDeadLetter { seq: s, error: "e".to_string(), at_ms: 1 }), OpResult::NotFound);
    assert_eq!(one(&store, Op::DeadLetterRetry { id: 5, now_ms: 1 }), OpResult::NotFound);
    assert_eq!(one(&store, Op::DeadLetterDrop { id: 5 }), OpResult::NotFound);
    assert_eq!(store.outbox_depth("hub").unwrap(), 0);
    assert!(ready(&store, i64::MAX).is_empty());
}

/// The status page shows the newest dead letters only, newest first.
#[test]
fn the_newest_dead_letters_come_first_and_are_bounded() {
    let dir = temp_dir();
    let store = open(dir.path());
    let mut ids = Vec::new();
    for (n, target) in ["PORT-1", "PORT-2", "PORT-3"].into_iter().enumerate() {
        let s = seq(one(&store, outbox_push("hub", target, target, 0)));
        let op = Op::OutboxDeadLetter { seq: s, error: format!("refused {target}"), at_ms: n as i64 };
        ids.push(dead_id(one(&store, op)));
    }
    let newest = store.dead_letters_newest(2).unwrap();
    assert_eq!(newest.iter().map(|d| d.id).collect::<Vec<_>>(), [ids[2], ids[1]]);
    assert_eq!(newest[0].error, "refused PORT-3");
    assert_eq!(store.dead_letters_newest(10).unwrap().len(), 3);
    assert!(store.dead_letters_newest(0).unwrap().is_empty());
}
