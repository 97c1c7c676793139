//! The records the store keeps and the ops that change them. Payloads are
//! opaque bytes serialized by the engine; the store only keeps the metadata it
//! needs for ordering and lookup.

use serde::{Deserialize, Serialize};

use crate::mapping::Shadow;

/// The pairing of a secondary issue and its primary mirror.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkRecord {
    /// The link id; `0` in a [`Op::LinkPut`] asks the store to allocate one.
    pub id: u64,
    /// The flow that owns the pairing.
    pub flow: String,
    /// The secondary instance id.
    pub secondary: String,
    /// The Jira issue id on the secondary (stable across moves).
    pub secondary_issue: String,
    /// The issue key on the secondary (changes when the issue moves).
    pub secondary_key: String,
    /// The Jira issue id of the mirror on the primary.
    pub primary_issue: String,
    /// The issue key of the mirror on the primary.
    pub primary_key: String,
    /// When the pairing was made, in ms since the Unix epoch.
    pub created_ms: i64,
    /// Paired by hand (`jirafed link`): jirafed made neither issue, so it
    /// never deletes either.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub by_hand: bool,
    /// The secondary issue is the copy: jirafed pushed it from the primary
    /// issue (which carries the provenance mark, kept through label writes).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub pushed: bool,
}

/// A pairing that ended (`jirafed unlink`, a source deleted or out of scope,
/// a mirror deleted), remembered under both of its issues: while it is
/// recorded neither issue is mirrored again by itself; `jirafed link` pairs
/// them (or either with another) anew.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndedPair {
    /// The flow that owned the pairing.
    pub flow: String,
    /// The secondary instance id.
    pub secondary: String,
    /// The Jira issue id on the secondary.
    pub secondary_issue: String,
    /// Its key when the pairing ended.
    pub secondary_key: String,
    /// The primary instance id.
    pub primary: String,
    /// The Jira issue id on the primary.
    pub primary_issue: String,
    /// Its key when the pairing ended.
    pub primary_key: String,
    /// Why it ended (`unlinked`, `source deleted`, `source left the scope`,
    /// `mirror deleted`).
    pub reason: String,
    /// When, in ms since the Unix epoch.
    pub at_ms: i64,
}

/// A Jira issue link of a flow ("A blocks B") mirrored between its two sites:
/// the link on the secondary and its counterpart on the primary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DependencyRecord {
    /// The dependency id; `0` in a [`Op::DependencyPut`] asks the store to
    /// allocate one.
    pub id: u64,
    /// The flow that owns the dependency.
    pub flow: String,
    /// The issue pair ([`LinkRecord`] id) of the link's outward end ("A" of
    /// "A blocks B").
    pub from_pair: u64,
    /// The issue pair of the link's inward end ("B" of "A blocks B").
    pub to_pair: u64,
    /// The Jira link id on the secondary, once that link exists; unique within
    /// the flow.
    pub secondary_link: Option<String>,
    /// The Jira link id on the primary, once that link exists; unique within
    /// the flow.
    pub primary_link: Option<String>,
    /// The link type's name on the secondary.
    pub secondary_type: String,
    /// The link type's name on the primary.
    pub primary_type: String,
    /// When the dependency was recorded, in ms since the Unix epoch.
    pub created_ms: i64,
}

/// A Jira issue link whose far end has no mirror yet. It waits here until the
/// far end is paired, then the engine completes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingLink {
    /// The pending link's id; `0` in a [`Op::PendingPut`] asks the store to
    /// allocate one (or to reuse that of the same Jira link).
    pub id: u64,
    /// The flow that will own the dependency.
    pub flow: String,
    /// The instance the link is on.
    pub instance: String,
    /// The Jira link id on `instance`; a link is pending at most once.
    pub link_id: String,
    /// The link type's name on `instance`.
    pub link_type: String,
    /// The end that is paired already (a Jira issue id on `instance`).
    pub near_issue: String,
    /// The end whose mirror is awaited (a Jira issue id on `instance`).
    pub far_issue: String,
    /// Whether the near end is the link's outward end ("A" of "A blocks B").
    pub near_is_outward: bool,
    /// Since when the link waits, in ms since the Unix epoch.
    pub since_ms: i64,
    /// The far end has been seen in its flow's scope while waiting: should
    /// it leave the scope, it will not be mirrored and the link is dropped
    /// (one never seen in scope may still enter it).
    #[serde(default)]
    pub far_seen_in_scope: bool,
}

/// A change that has been received (webhook, poll, reconciliation) but not yet
/// planned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboxEntry {
    /// Monotonic sequence number; never reused.
    pub seq: u64,
    /// The instance the change comes from.
    pub instance: String,
    /// The issue that may have changed.
    pub issue: String,
    /// When the store committed it (the store's clock), in ms since the epoch;
    /// the start of the propagation latency.
    pub received_ms: i64,
    /// The engine's serialized change.
    pub payload: Vec<u8>,
}

/// One write to a Jira site, kept until it succeeds or is dead-lettered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxEntry {
    /// Monotonic sequence number; the order of writes to one target.
    pub seq: u64,
    /// The instance the write goes to.
    pub instance: String,
    /// The ordering key (usually the target issue): writes with the same
    /// `(instance, target)` run one at a time, in `seq` order.
    pub target: String,
    /// How many times the write has failed and been rescheduled.
    pub attempts: u32,
    /// Not before this time (ms since the epoch).
    pub next_at_ms: i64,
    /// The engine's serialized write.
    pub payload: Vec<u8>,
    /// The error of the last failed attempt.
    pub last_error: Option<String>,
}

/// A write that failed permanently. It blocks its `(instance, target)` until it
/// is retried or dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    /// The dead letter id (its own sequence, distinct from the outbox seq).
    pub id: u64,
    /// The write as it was when it failed.
    pub entry: OutboxEntry,
    /// Why it failed (Jira's own error text).
    pub error: String,
    /// When it was dead-lettered, in ms since the epoch.
    pub at_ms: i64,
}

/// One entry of the bounded audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// Monotonic sequence number.
    pub seq: u64,
    /// When it happened, in ms since the epoch.
    pub at_ms: i64,
    /// The engine's serialized audit record.
    pub payload: Vec<u8>,
}

/// One change to the store. A commit request is a `Vec<Op>` applied all or
/// nothing, in order, inside a group commit.
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    /// Queue a change for the planner. With `delivery` (a webhook delivery id
    /// or another dedupe key, scoped to `instance`) already seen, nothing is
    /// queued and the result is [`OpResult::Duplicate`]; otherwise
    /// [`OpResult::Pushed`].
    InboxPush {
        /// The instance the change comes from.
        instance: String,
        /// The issue that may have changed.
        issue: String,
        /// The engine's serialized change.
        payload: Vec<u8>,
        /// The dedupe key; remembered until [`Op::PruneDeliveries`] forgets it.
        delivery: Option<String>,
    },
    /// Remember a dedupe key as seen without queuing anything (a version of
    /// an issue the planner has read), so that a later [`Op::InboxPush`]
    /// with it is a duplicate. Result: [`OpResult::Done`].
    DeliverySeen {
        /// The instance the key is scoped to.
        instance: String,
        /// The dedupe key.
        delivery: String,
    },
    /// Claim a webhook delivery id (Jira Cloud's
    /// `X-Atlassian-Webhook-Identifier`), scoped to `instance`. New: it is
    /// remembered (until [`Op::PruneDeliveries`]) and the result is
    /// [`OpResult::Done`]. Already known: nothing is stored, the result is
    /// [`OpResult::Duplicate`], and every later op of the same request is
    /// skipped ([`OpResult::Skipped`]), so that a replayed delivery stores
    /// nothing whatever its body. Kept apart from the change dedupe keys of
    /// [`Op::InboxPush`], so an id never collides with one.
    DeliveryClaim {
        /// The instance the delivery came for.
        instance: String,
        /// The delivery id.
        delivery: String,
    },
    /// Remove planned changes. Unknown seqs are ignored. Result:
    /// [`OpResult::Done`].
    InboxAck {
        /// The seqs to remove.
        seqs: Vec<u64>,
    },
    /// Queue a write. Result: [`OpResult::Pushed`].
    OutboxPush {
        /// The instance the write goes to.
        instance: String,
        /// The ordering key.
        target: String,
        /// The engine's serialized write.
        payload: Vec<u8>,
        /// Not before this time.
        next_at_ms: i64,
    },
    /// The write succeeded: remove it, releasing the next one of its target.
    /// Result: [`OpResult::Done`] or [`OpResult::NotFound`].
    OutboxDone {
        /// The outbox seq.
        seq: u64,
    },
    /// The write failed and will be retried: attempts + 1, a new due time and
    /// the error. Result: [`OpResult::Done`] or [`OpResult::NotFound`].
    OutboxReschedule {
        /// The outbox seq.
        seq: u64,
        /// The new due time.
        next_at_ms: i64,
        /// The error of the failed attempt.
        error: String,
    },
    /// The write failed permanently: move it to the dead letters, where it
    /// blocks its target. Result: [`OpResult::DeadLettered`] or
    /// [`OpResult::NotFound`].
    OutboxDeadLetter {
        /// The outbox seq.
        seq: u64,
        /// Why it failed.
        error: String,
        /// When it failed.
        at_ms: i64,
    },
    /// Move a dead letter back to the outbox with its original seq (so ahead
    /// of everything queued behind it), attempts reset and due at `now_ms`.
    /// Result: [`OpResult::Pushed`] (the outbox seq) or [`OpResult::NotFound`].
    DeadLetterRetry {
        /// The dead letter id.
        id: u64,
        /// The new due time.
        now_ms: i64,
    },
    /// Forget a dead letter, releasing its target. Result: [`OpResult::Done`]
    /// or [`OpResult::NotFound`].
    DeadLetterDrop {
        /// The dead letter id.
        id: u64,
    },
    /// Insert (id 0: a new id is allocated) or replace a link, keeping the
    /// lookup indexes in step. Result: [`OpResult::LinkId`]. Rejected when the
    /// id is unknown or another link already pairs the secondary issue.
    LinkPut(LinkRecord),
    /// Remove a link, its shadow and every dependency either of whose ends it
    /// is (an issue link cannot outlive the pairing of one of its issues).
    /// Result: [`OpResult::Done`] or [`OpResult::NotFound`].
    LinkDelete {
        /// The link id.
        id: u64,
    },
    /// Replace a link's shadow. Result: [`OpResult::Done`]. Rejected when
    /// the link is unknown.
    ShadowPut {
        /// The link id.
        link: u64,
        /// The last synced value per mapped field.
        shadow: Shadow,
    },
    /// [`Op::LinkPut`] and [`Op::ShadowPut`] of the link it stores, in one
    /// step: a new mirror's pairing never exists without its shadow (the id
    /// is allocated inside the transaction, so the two cannot be separate
    /// ops). Result: [`OpResult::LinkId`].
    LinkWithShadow {
        /// The link (`id` 0 to allocate one).
        link: LinkRecord,
        /// Its shadow.
        shadow: Shadow,
    },
    /// Insert (id 0: a new id is allocated) or replace a dependency, keeping
    /// its indexes in step. Result: [`OpResult::DependencyId`]. Rejected when
    /// the id is unknown, when either pair is not a stored link, or when
    /// another dependency of the flow already holds the same secondary or
    /// primary Jira link.
    DependencyPut(DependencyRecord),
    /// Remove a dependency. Result: [`OpResult::Done`] or
    /// [`OpResult::NotFound`].
    DependencyDelete {
        /// The dependency id.
        id: u64,
    },
    /// Insert or replace a pending link, keeping its indexes in step. With id
    /// 0, a pending link of the same `(instance, link_id)` is replaced and
    /// keeps its id (a link is never pending twice); otherwise a new id is
    /// allocated. Result: [`OpResult::PendingId`], or [`OpResult::NotFound`]
    /// (nothing written) when a non-zero id is no longer stored: completed or
    /// dropped meanwhile. Rejected when another pending link holds the same
    /// `(instance, link_id)`.
    PendingPut(PendingLink),
    /// Remove a pending link (completed or given up). Result:
    /// [`OpResult::Done`] or [`OpResult::NotFound`].
    PendingDelete {
        /// The pending link's id.
        id: u64,
    },
    /// Remember an ended pairing under both of its issues, replacing what
    /// either was remembered under. Result: [`OpResult::Done`].
    EndedPut(EndedPair),
    /// Forget the ended pairing remembered under this issue (under both of
    /// its issues). Result: [`OpResult::Done`] or [`OpResult::NotFound`].
    EndedDelete {
        /// The instance id.
        instance: String,
        /// The Jira issue id.
        issue: String,
    },
    /// Writes to `instance` wait from now (`jirafed pause`); kept across
    /// restarts. Pausing a paused instance keeps its first `since_ms`.
    PauseSet { instance: String, since_ms: i64 },
    /// Writes to `instance` go on (`jirafed resume`).
    PauseClear { instance: String },
    /// Set an instance's poll cursor. Result: [`OpResult::Done`].
    CursorSet {
        /// The instance id.
        instance: String,
        /// The cursor, in ms since the epoch.
        at_ms: i64,
    },
    /// Append to the audit log, pruning the oldest entries beyond the bound.
    /// Result: [`OpResult::Pushed`].
    Audit {
        /// When it happened.
        at_ms: i64,
        /// The engine's serialized audit record.
        payload: Vec<u8>,
    },
    /// Forget delivery ids first seen before `older_than_ms`. Result:
    /// [`OpResult::Done`].
    PruneDeliveries {
        /// The cut-off, in ms since the epoch.
        older_than_ms: i64,
    },
}

/// The result of one [`Op`], in the order of the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpResult {
    /// Applied.
    Done,
    /// Queued with this seq (inbox, outbox or audit).
    Pushed {
        /// The new entry's seq.
        seq: u64,
    },
    /// The delivery id was already seen; nothing was queued.
    Duplicate,
    /// Not applied: an earlier [`Op::DeliveryClaim`] of the request found
    /// its delivery already seen.
    Skipped,
    /// The link's id (allocated or given).
    LinkId(u64),
    /// The dependency's id (allocated or given).
    DependencyId(u64),
    /// The pending link's id (allocated, given or reused).
    PendingId(u64),
    /// Moved to the dead letters under this id.
    DeadLettered {
        /// The dead letter id.
        id: u64,
    },
    /// The entry the op names does not exist (already done, dropped or
    /// deleted); nothing changed.
    NotFound,
}
