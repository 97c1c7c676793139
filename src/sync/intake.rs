//! Webhook events to changes: `jira::webhook` reads the body into a typed
//! event, this module says which changes it makes for the engine and
//! commits them to the inbox, where the planner takes them like any poll's.

use super::change::{Actor, Change, ChangeKind, ChangeSource, version_key};
use crate::ids::{InstanceId, IssueId, IssueKey};
use crate::jira::model::UserRef;
use crate::jira::webhook::{Subject, WebhookEvent};
use crate::store::{Op, OpResult, Store, StoreError};

/// What committing one delivery did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    /// Changes new to the inbox.
    pub accepted: u64,
    /// Changes already there (the same delivery or issue version).
    pub duplicates: u64,
    /// The issues the event named.
    pub issues: Vec<IssueId>,
    /// The delivery id was seen before: nothing of this delivery was stored.
    pub replayed: bool,
}

/// Commits the changes of one delivery (key `delivery`) to the inbox, one
/// entry per issue, deduped per delivery and issue version; returns once
/// the commit is durable, so the caller may acknowledge it.
///
/// With `claim` (the delivery id Jira sent), the id is claimed in the same
/// commit: an id seen before stores nothing, whatever the body says, and
/// the result is `replayed`.
pub async fn accept(
    store: &Store,
    instance: &InstanceId,
    event: &WebhookEvent,
    delivery: &str,
    claim: Option<&str>,
    now_ms: i64,
) -> Result<Accepted, StoreError> {
    let changes = changes(instance, event, now_ms);
    let claim = claim.map(|id| Op::DeliveryClaim { instance: instance.to_string(), delivery: id.to_string() });
    let pushes = changes.iter().enumerate().map(|(n, c)| Op::InboxPush {
        instance: instance.to_string(),
        issue: c.issue_id.to_string(),
        payload: c.to_bytes(),
        delivery: Some(change_key(delivery, n, c)),
    });
    let ops: Vec<Op> = claim.into_iter().chain(pushes).collect();
    let claimed = ops.first().is_some_and(|op| matches!(op, Op::DeliveryClaim { .. }));
    let results = store.commit(ops).await?;
    let replayed = claimed && results.first() == Some(&OpResult::Duplicate);
    let pushes = if claimed { results.get(1..).unwrap_or_default() } else { &results[..] };
    for (c, r) in changes.iter().zip(pushes) {
        tracing::debug!(
            instance = %instance,
            issue = %c.issue_id,
            version_ms = ?c.version_ms,
            by_someone = c.actor.is_some(),
            link = c.link_ends.is_some(),
            result = ?r,
            "webhook change"
        );
    }
    Ok(Accepted {
        accepted: pushes.iter().filter(|r| matches!(r, OpResult::Pushed { .. })).count() as u64,
        duplicates: pushes.iter().filter(|r| matches!(r, OpResult::Duplicate | OpResult::Skipped)).count() as u64,
        issues: changes.into_iter().map(|c| c.issue_id).collect(),
        replayed,
    })
}

/// The changes one webhook event of `instance` makes, one per issue in the
/// event's order without repeats (a link's two ends, unless it links an
/// issue to itself). An ignored event makes none. `now_ms` stamps them.
pub fn changes(instance: &InstanceId, event: &WebhookEvent, now_ms: i64) -> Vec<Change> {
    let actor = event.user.as_ref().and_then(actor_of);
    let link_ends = match &event.subject {
        Subject::IssueLink { source, destination } => Some((source.clone(), destination.clone())),
        _ => None,
    };
    let change = |issue_id: IssueId, issue_key: Option<IssueKey>, kind: ChangeKind, version_ms: Option<i64>| Change {
        instance: instance.clone(),
        issue_id,
        issue_key,
        source: ChangeSource::Webhook,
        kind,
        seen_ms: now_ms,
        actor: actor.clone(),
        version_ms,
        link_ends: link_ends.clone(),
    };
    match &event.subject {
        // A deleted issue has no version left to read.
        Subject::Issue { id, key, deleted: true, .. } => {
            vec![change(id.clone(), key.clone(), ChangeKind::Deleted, None)]
        }
        Subject::Issue { id, key, deleted: false, updated_ms } => {
            vec![change(id.clone(), key.clone(), ChangeKind::Updated, *updated_ms)]
        }
        Subject::Comment { issue, key } => vec![change(issue.clone(), key.clone(), ChangeKind::Updated, None)],
        Subject::IssueLink { source, destination } if source == destination => {
            vec![change(source.clone(), None, ChangeKind::Updated, None)]
        }
        Subject::IssueLink { source, destination } => vec![
            change(source.clone(), None, ChangeKind::Updated, None),
            change(destination.clone(), None, ChangeKind::Updated, None),
        ],
        Subject::Ignored => Vec::new(),
    }
}

/// Who made the change, by the ids echo recognition compares; a user the
/// body names only by display name or e-mail is no actor.
fn actor_of(user: &UserRef) -> Option<Actor> {
    let actor = Actor {
        account_id: user.account_id.clone(),
        name: user.name.clone(),
        key: user.key.clone(),
        display_name: user.display_name.clone(),
    };
    let named = actor.account_id.is_some() || actor.name.is_some() || actor.key.is_some();
    named.then_some(actor)
}

/// The inbox dedupe key of one change of a delivery: the issue version it
/// is about when the body says (so that the same version seen by a poll or
/// a read counts once, and a delete once per issue), else the delivery's
/// own key with the change's place in it.
pub fn change_key(delivery: &str, n: usize, change: &Change) -> String {
    match (change.kind, change.version_ms) {
        (ChangeKind::Deleted, _) => format!("deleted:{}", change.issue_id.as_str()),
        (ChangeKind::Updated, Some(v)) => version_key(change.issue_id.as_str(), v),
        (ChangeKind::Updated, None) => format!("{delivery}#{n}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jira::webhook::{Delivery, Stamp};

    const NOW: i64 = 1_700_000_000_000;

    fn event(subject: Subject, user: Option<UserRef>) -> WebhookEvent {
        let delivery = Delivery { about: None, stamp: Stamp::Timestamp("1".to_string()) };
        WebhookEvent { event: "any".to_string(), subject, user, delivery }
    }

    fn id(s: &str) -> IssueId {
        IssueId::new(s)
    }

    /// Each change as (issue id, key, kind, version).
    fn changes_of(subject: Subject) -> Vec<(String, Option<String>, ChangeKind, Option<i64>)> {
        let changes = changes(&InstanceId::new("hub"), &event(subject, None), NOW);
        assert!(changes.iter().all(|c| c.instance.as_str() == "hub" && c.source == ChangeSource::Webhook));
        assert!(changes.iter().all(|c| c.seen_ms == NOW && c.actor.is_none()));
        let key = |c: &Change| c.issue_key.as_ref().map(|k| k.as_str().to_string());
        changes.iter().map(|c| (c.issue_id.as_str().to_string(), key(c), c.kind, c.version_ms)).collect()
    }

    #[tokio::test]
    async fn a_claimed_delivery_id_is_stored_once_whatever_the_body() {
        let store = Store::open_in_memory(crate::store::StoreOptions::default()).unwrap();
        let hub = InstanceId::new("hub");
        let issue =
            |i: &str, v: i64| event(Subject::Issue { id: id(i), key: None, deleted: false, updated_ms: Some(v) }, None);
        let first = accept(&store, &hub, &issue("7", 1), "d", Some("abc"), NOW).await.unwrap();
        assert_eq!((first.accepted, first.duplicates, first.replayed), (1, 0, false));
        let replay = accept(&store, &hub, &issue("8", 2), "d", Some("abc"), NOW).await.unwrap();
        assert_eq!((replay.accepted, replay.duplicates, replay.replayed), (0, 1, true));
        assert_eq!(replay.issues, vec![id("8")]);
        assert_eq!(store.inbox_depth().unwrap(), 1);
        // Without an id, the change keys alone dedupe.
        let unclaimed = accept(&store, &hub, &issue("8", 2), "d2", None, NOW).await.unwrap();
        assert_eq!((unclaimed.accepted, unclaimed.replayed), (1, false));
    }

    #[test]
    fn a_links_changes_carry_its_ends_and_others_none() {
        let link = Subject::IssueLink { source: id("5"), destination: id("6") };
        let made = changes(&InstanceId::new("hub"), &event(link, None), NOW);
        assert_eq!(made.len(), 2);
        assert!(made.iter().all(|c| c.link_ends == Some((id("5"), id("6")))));
        let issue = Subject::Issue { id: id("7"), key: None, deleted: false, updated_ms: None };
        assert_eq!(changes(&InstanceId::new("hub"), &event(issue, None), NOW)[0].link_ends, None);
    }

    #[test]
    fn each_subject_makes_its_changes() {
        use ChangeKind::{Deleted, Updated};
        let a1 = || Some(IssueKey::new("A-1"));
        let cases = [
            (
                Subject::Issue { id: id("7"), key: a1(), deleted: false, updated_ms: Some(42) },
                vec![("7", Some("A-1"), Updated, Some(42))],
            ),
            (
                Subject::Issue { id: id("7"), key: None, deleted: false, updated_ms: None },
                vec![("7", None, Updated, None)],
            ),
            (
                Subject::Issue { id: id("7"), key: a1(), deleted: true, updated_ms: Some(42) },
                vec![("7", Some("A-1"), Deleted, None)],
            ),
            (Subject::Comment { issue: id("8"), key: a1() }, vec![("8", Some("A-1"), Updated, None)]),
            (
                Subject::IssueLink { source: id("5"), destination: id("6") },
                vec![("5", None, Updated, None), ("6", None, Updated, None)],
            ),
            (Subject::IssueLink { source: id("5"), destination: id("5") }, vec![("5", None, Updated, None)]),
            (Subject::Ignored, vec![]),
        ];
        for (subject, want) in cases {
            let want: Vec<_> =
                want.into_iter().map(|(i, k, kind, v)| (i.to_string(), k.map(String::from), kind, v)).collect();
            assert_eq!(changes_of(subject.clone()), want, "{subject:?}");
        }
    }

    #[test]
    fn the_actor_is_the_users_ids_and_name() {
        let actor = |user: UserRef| {
            let subject = Subject::Comment { issue: id("8"), key: None };
            let changes = changes(&InstanceId::new("hub"), &event(subject, Some(user)), NOW);
            changes.into_iter().next().and_then(|c| c.actor)
        };
        let cloud =
            UserRef { account_id: Some("5b10a".into()), display_name: Some("Ann".into()), ..UserRef::default() };
        let want = Actor { account_id: Some("5b10a".into()), display_name: Some("Ann".into()), ..Actor::default() };
        assert_eq!(actor(cloud), Some(want));
        let server = UserRef { name: Some("ann".into()), key: Some("JIRAUSER1".into()), ..UserRef::default() };
        let want = Actor { name: Some("ann".into()), key: Some("JIRAUSER1".into()), ..Actor::default() };
        assert_eq!(actor(server), Some(want));
        assert_eq!(actor(UserRef { display_name: Some("Ann".into()), ..UserRef::default() }), None);
    }

    #[test]
    fn change_keys_prefer_the_issue_version() {
        let changes = changes(
            &InstanceId::new("hub"),
            &event(Subject::Issue { id: id("7"), key: None, deleted: false, updated_ms: Some(42) }, None),
            NOW,
        );
        assert_eq!(change_key("d", 0, &changes[0]), version_key("7", 42));
        let mut unversioned = changes[0].clone();
        unversioned.version_ms = None;
        assert_eq!(change_key("d", 3, &unversioned), "d#3");
        unversioned.kind = ChangeKind::Deleted;
        assert_eq!(change_key("d", 3, &unversioned), "deleted:7");
    }
}
