//! Tests of the store through its public API (plus a few internal hooks for
//! the writer and the migration framework). Each test opens a fresh state
//! directory.

mod commit;
mod deps;
mod durability;
mod faults;
mod links;
mod outbox;
mod queues;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use super::{DependencyRecord, LinkRecord, Op, OpResult, PendingLink, Store, StoreOptions};

/// A clock the test moves by hand.
#[derive(Clone)]
pub(super) struct TestClock(Arc<AtomicI64>);

impl TestClock {
    pub(super) fn new(at: i64) -> Self {
        TestClock(Arc::new(AtomicI64::new(at)))
    }

    pub(super) fn set(&self, at: i64) {
        self.0.store(at, Ordering::SeqCst);
    }

    pub(super) fn options(&self) -> StoreOptions {
        let at = self.0.clone();
        StoreOptions {
            clock: crate::clock::Clock::from_fn(move || at.load(Ordering::SeqCst)),
            ..StoreOptions::default()
        }
    }
}

/// A shadow holding these summary-like text values.
pub(super) fn shadow(values: &[(&str, &str)]) -> crate::mapping::Shadow {
    let values = values.iter().map(|(k, v)| (k.to_string(), crate::mapping::Value::Text(v.to_string()))).collect();
    crate::mapping::Shadow { values, ..Default::default() }
}

pub(super) fn temp_dir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

pub(super) fn open(dir: &Path) -> Store {
    Store::open(dir).unwrap()
}

/// A link as the engine would build it before the store allocates its id.
pub(super) fn new_link(secondary: &str, issue: &str, primary_issue: &str) -> LinkRecord {
    LinkRecord {
        id: 0,
        flow: "emea-delivery".to_string(),
        secondary: secondary.to_string(),
        secondary_issue: issue.to_string(),
        secondary_key: format!("EMEA-{issue}"),
        primary_issue: primary_issue.to_string(),
        primary_key: format!("PORT-{primary_issue}"),
        created_ms: 1_700_000_000_000,
        by_hand: false,
        pushed: false,
    }
}

/// A dependency of the test flow between two pairs, as the engine would build
/// it before the store allocates its id.
pub(super) fn new_dependency(
    from_pair: u64,
    to_pair: u64,
    secondary: Option<&str>,
    primary: Option<&str>,
) -> DependencyRecord {
    DependencyRecord {
        id: 0,
        flow: "emea-delivery".to_string(),
        from_pair,
        to_pair,
        secondary_link: secondary.map(str::to_string),
        primary_link: primary.map(str::to_string),
        secondary_type: "Blocks".to_string(),
        primary_type: "Blocks".to_string(),
        created_ms: 1_700_000_000_000,
    }
}

/// A link on `instance` from a paired issue to one not paired yet.
pub(super) fn new_pending(instance: &str, link_id: &str, near: &str, far: &str) -> PendingLink {
    PendingLink {
        id: 0,
        flow: "emea-delivery".to_string(),
        instance: instance.to_string(),
        link_id: link_id.to_string(),
        link_type: "Blocks".to_string(),
        near_issue: near.to_string(),
        far_issue: far.to_string(),
        near_is_outward: true,
        since_ms: 1_700_000_000_000,
        far_seen_in_scope: false,
    }
}

pub(super) fn inbox_push(instance: &str, issue: &str, delivery: Option<&str>) -> Op {
    Op::InboxPush {
        instance: instance.to_string(),
        issue: issue.to_string(),
        payload: format!("change of {issue}").into_bytes(),
        delivery: delivery.map(str::to_string),
    }
}

pub(super) fn outbox_push(instance: &str, target: &str, payload: &str, next_at_ms: i64) -> Op {
    Op::OutboxPush {
        instance: instance.to_string(),
        target: target.to_string(),
        payload: payload.as_bytes().to_vec(),
        next_at_ms,
    }
}

/// Commits one op and returns its result.
pub(super) fn one(store: &Store, op: Op) -> OpResult {
    let results = store.commit_blocking(vec![op]).unwrap();
    assert_eq!(results.len(), 1);
    results[0]
}

/// The seq of a `Pushed` result.
pub(super) fn seq(result: OpResult) -> u64 {
    match result {
        OpResult::Pushed { seq } => seq,
        other => panic!("expected Pushed, got {other:?}"),
    }
}

/// The id of a `LinkId` result.
pub(super) fn link_id(result: OpResult) -> u64 {
    match result {
        OpResult::LinkId(id) => id,
        other => panic!("expected LinkId, got {other:?}"),
    }
}

/// The id of a `DependencyId` result.
pub(super) fn dependency_id(result: OpResult) -> u64 {
    match result {
        OpResult::DependencyId(id) => id,
        other => panic!("expected DependencyId, got {other:?}"),
    }
}

/// The id of a `PendingId` result.
pub(super) fn pending_id(result: OpResult) -> u64 {
    match result {
        OpResult::PendingId(id) => id,
        other => panic!("expected PendingId, got {other:?}"),
    }
}

#[test]
fn the_store_is_shareable_across_threads_and_tasks() {
    fn shareable<T: Clone + Send + Sync + 'static>() {}
    shareable::<Store>();
    shareable::<StoreOptions>();
}
