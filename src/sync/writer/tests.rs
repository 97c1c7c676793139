//! The writer's outcomes as tables: a job planned from two in-memory sites,
//! one writer step, and the calls the target received, what the store holds
//! after (shadow, link, outbox, dead letters) and what was reported. No
//! socket; the clock moves only when a case moves it.

use std::time::Duration;

use crate::jira::JiraError;
use crate::jira::fake::{FakeCall, FakeOp, IssueSeed, bad_request, not_found, rate_limited, unavailable};
use crate::jira::values::FieldValue;
use crate::mapping;
use crate::observe::EngineEvent;
use crate::store::LinkRecord;
use crate::sync::in_flight::{Claim, SiteIssue};
use crate::sync::testing::{By, FLOW, HUB_POINTS, Rig, T0, text};

/// A pair whose secondary's summary was edited by alice, planned: one job
/// to the hub is queued.
async fn summary_edited(rig: &Rig, summary: &str) -> LinkRecord {
    let link = rig.pair("Login").await;
    rig.emea.edit_as_person("EMEA-1", "summary", text(summary));
    rig.change("emea", "EMEA-1", Some(By::Person)).await;
    rig.plan().await;
    assert_eq!(rig.outbox().len(), 1, "one job planned");
    rig.calls();
    link
}

/// The writes each site received since the last look (reads left out).
fn writes(rig: &Rig) -> (Vec<FakeCall>, Vec<FakeCall>) {
    let (emea, hub) = rig.calls();
    let only = |calls: Vec<FakeCall>| calls.into_iter().filter(FakeCall::is_write).collect();
    (only(emea), only(hub))
}

fn events(rx: &mut tokio::sync::broadcast::Receiver<EngineEvent>) -> Vec<String> {
    let mut out = Vec::new();
    while let Ok(e) = rx.try_recv() {
        out.push(match e {
            EngineEvent::Written { action, key, .. } => format!("written {action} {key}"),
            EngineEvent::DeadLettered { error, .. } => format!("dead-lettered: {error}"),
            EngineEvent::Conflict(c) => format!("conflict {}", c.field),
        });
    }
    out
}

#[tokio::test]
async fn an_update_writes_the_fields_and_stores_the_agreed_shadow() {
    let rig = Rig::new().await;
    let mut rx = rig.engine.observer.subscribe();
    let link = summary_edited(&rig, "Login v2").await;
    rig.write_next().await;

    let (emea, hub) = writes(&rig);
    assert!(emea.is_empty(), "nothing is written back to the source");
    assert_eq!(hub, [FakeCall::Edit { key: "PORT-1".into(), fields: vec![("summary".into(), text("Login v2"))] }]);
    assert_eq!(rig.hub.issue_value("PORT-1", "summary"), text("Login v2"));
    let shadow = rig.shadow(link.id).expect("shadow");
    assert_eq!(shadow.values["summary"], mapping::Value::Text("Login v2".into()));
    assert!(rig.outbox().is_empty());
    assert!(!rig.engine.in_flight.is_claimed(&Claim::Link(link.id)), "the pair is free for the planner again");
    assert_eq!(events(&mut rx), ["written update PORT-1"]);
    let audit = rig.store().audit_tail(10).expect("audit");
    let record: serde_json::Value = serde_json::from_slice(&audit[0].payload).expect("JSON");
    assert_eq!(
        record,
        serde_json::json!({
            "flow": FLOW, "instance": "hub", "op": "update", "key": "PORT-1", "outcome": "ok",
            "latency_ms": record["latency_ms"], "cause": {"instance": "emea", "issue": "EMEA-1", "via": "webhook", "by": "acc-alice"},
        })
    );
    assert!(record["latency_ms"].as_i64().is_some_and(|ms| ms >= 0), "{record}");
}

#[tokio::test]
async fn a_status_change_walks_the_workflow_after_the_fields() {
    let rig = Rig::new().await;
    let link = rig.pair("Login").await;
    rig.emea.transition_as_person("EMEA-1", "Done");
    rig.change("emea", "EMEA-1", Some(By::Person)).await;
    rig.plan().await;
    rig.calls();
    rig.write_next().await;

    let (_, hub) = writes(&rig);
    assert_eq!(hub, [FakeCall::Transition { key: "PORT-1".into(), status: "Done".into() }]);
    assert_eq!(rig.hub.status_of("PORT-1").as_deref(), Some("Done"));
    let shadow = rig.shadow(link.id).expect("shadow");
    assert_eq!((shadow.status_secondary.as_deref(), shadow.status_primary.as_deref()), (Some("Done"), Some("Done")));
}

#[tokio::test]
async fn a_create_carries_the_mark_and_pairs_the_mirror_with_its_shadow() {
    let rig = Rig::new().await;
    let seed = IssueSeed::new("EMEA-7").issue_type("Story").status("In Progress").set("summary", text("New"));
    let id = rig.issue("emea", seed);
    rig.change("emea", "EMEA-7", Some(By::Person)).await;
    rig.plan().await;
    rig.calls();
    rig.write_next().await;

    let (_, hub) = writes(&rig);
    let mark = format!("jirafed-{FLOW}-emea-{id}");
    assert_eq!(
        hub,
        [
            FakeCall::Create {
                project: "PORT".into(),
                issue_type: "Story".into(),
                fields: vec![("summary".into(), text("New"))],
                mark: Some(mark.clone()),
            },
            FakeCall::Transition { key: "PORT-1".into(), status: "In Progress".into() },
        ]
    );
    assert!(rig.hub.labels("PORT-1").contains(&mark));
    let link = rig.store().link_by_secondary("emea", &id).expect("read").expect("paired");
    assert_eq!(link.primary_key, "PORT-1");
    let shadow = rig.shadow(link.id).expect("shadow");
    assert_eq!(shadow.status_primary.as_deref(), Some("In Progress"));
    assert!(!rig.engine.in_flight.is_claimed(&Claim::Source(SiteIssue::new("emea", &id))));
}

/// The create reached Jira but its answer was lost: the job is tried again
/// later, finds the mirror by its mark, and never makes a second one.
#[tokio::test]
async fn a_create_whose_answer_was_lost_is_found_again_not_made_twice() {
    let rig = Rig::new().await;
    let id = rig.issue("emea", IssueSeed::new("EMEA-7").issue_type("Story").set("summary", text("New")));
    rig.change("emea", "EMEA-7", Some(By::Person)).await;
    rig.plan().await;
    rig.calls();
    rig.hub.lose_answer(FakeOp::Create);
    rig.write_next().await;

    assert_eq!(rig.hub.keys().len(), 1, "the create happened");
    let entry = &rig.outbox()[0];
    // Counted once before the create was sent (so that a crash looks for
    // the mark) and once for the lost answer.
    assert_eq!(entry.attempts, 2, "the job is kept, rescheduled");
    assert!(entry.next_at_ms > rig.time.now_ms(), "with a backoff");
    assert!(rig.store().link_by_secondary("emea", &id).expect("read").is_none());

    rig.time.set(entry.next_at_ms);
    rig.write_next().await;
    let (_, hub) = rig.calls();
    assert_eq!(hub.iter().filter(|c| matches!(c, FakeCall::Create { .. })).count(), 1, "{hub:?}");
    assert!(hub.iter().any(|c| matches!(c, FakeCall::FindByMark { .. })), "{hub:?}");
    assert_eq!(rig.hub.keys().len(), 1, "still one mirror");
    let link = rig.store().link_by_secondary("emea", &id).expect("read").expect("paired with the one made");
    assert_eq!(link.primary_key, "PORT-1");
    assert!(rig.outbox().is_empty());
}

/// What a failure of the edit does, per kind: (error, dead-lettered,
/// rescheduled no sooner than, claim still held).
#[tokio::test]
async fn a_failed_write_is_retried_or_dead_lettered_by_its_kind() {
    let refused = bad_request(&[("summary", "Field 'summary' cannot be set.")], &[]);
    let cases: [(JiraError, bool, Option<i64>); 3] = [
        (refused, true, None),
        (rate_limited(Duration::from_secs(30)), false, Some(30_000)),
        (unavailable(), false, Some(1_000)),
    ];
    for (error, dead, floor) in cases {
        let rig = Rig::new().await;
        let mut rx = rig.engine.observer.subscribe();
        let link = summary_edited(&rig, "Login v2").await;
        let text = error.to_string();
        rig.hub.fail_next(FakeOp::Edit, error);
        rig.write_next().await;

        let (_, hub) = writes(&rig);
        assert_eq!(hub.len(), 1, "{text}: tried once: {hub:?}");
        let dead_letters = rig.store().dead_letters().expect("dead letters");
        assert_eq!(dead_letters.len(), usize::from(dead), "{text}");
        assert_eq!(rig.engine.in_flight.is_claimed(&Claim::Link(link.id)), !dead, "{text}");
        if dead {
            assert!(dead_letters[0].error.contains("Field 'summary' cannot be set"), "Jira's own words kept");
            assert!(events(&mut rx)[0].starts_with("dead-lettered: "), "{text}");
            let flows = rig.engine.observer.board.flows();
            assert!(flows.iter().any(|(_, f)| f.last_error.is_some()), "{text}: shown on the flow");
        }
        if let Some(floor) = floor {
            let entry = &rig.outbox()[0];
            assert_eq!(entry.attempts, 1, "{text}");
            assert!(entry.next_at_ms >= T0 + floor, "{text}: not before {floor} ms: {}", entry.next_at_ms - T0);
            assert!(entry.last_error.as_deref().is_some_and(|e| !e.is_empty()), "{text}");
        }
        let shadow = rig.shadow(link.id).expect("shadow");
        assert_eq!(shadow.values["summary"], mapping::Value::Text("Login".into()), "{text}: the shadow waits");
    }
}

#[tokio::test]
async fn a_target_gone_asks_for_the_pair_to_be_read_again() {
    let rig = Rig::new().await;
    summary_edited(&rig, "Login v2").await;
    rig.hub.fail_next(FakeOp::Edit, not_found());
    rig.write_next().await;

    assert!(rig.outbox().is_empty(), "the job is done with");
    assert_eq!(rig.inbox_depth(), 1, "and the pair is planned again from fresh reads");
    assert!(rig.store().dead_letters().expect("dead letters").is_empty());
}

/// Clearing the labels on the source clears them on the mirror, all but
/// the mirror's provenance mark, which a retried create still needs.
#[tokio::test]
async fn labels_written_to_a_mirror_keep_its_mark() {
    for source_labels in [vec![], vec!["backend".to_string()]] {
        let rig = Rig::new().await;
        let link = rig.pair("Login").await;
        let source = crate::sync::job::Source {
            instance: "emea".into(),
            issue_id: link.secondary_issue.clone(),
            issue_key: "EMEA-1".into(),
        };
        let mark = source.mark(FLOW).to_string();
        // In sync on one label, "old", which the source then changes.
        rig.hub.edit_as_person("PORT-1", "labels", FieldValue::Labels(vec![mark.clone(), "old".into()]));
        let mut shadow = rig.shadow(link.id).expect("shadow");
        shadow.values.insert("labels".into(), mapping::Value::Choices(vec!["old".into()]));
        rig.commit(vec![crate::store::Op::ShadowPut { link: link.id, shadow }]).await;
        rig.emea.edit_as_person("EMEA-1", "labels", FieldValue::Labels(source_labels.clone()));
        rig.change("emea", "EMEA-1", Some(By::Person)).await;
        rig.plan().await;
        rig.write_next().await;

        let mut want = source_labels.clone();
        want.push(mark.clone());
        want.sort();
        let mut got = rig.hub.labels("PORT-1");
        got.sort();
        assert_eq!(got, want, "source labels {source_labels:?}");
    }
}

/// A user the target does not have is left unset and reported; the rest
/// of the write goes through, and the shadow keeps the user's last agreed
/// value so that the next pass does not carry the target's back.
#[tokio::test]
async fn a_user_missing_on_the_target_is_left_out_and_reported() {
    let rig = Rig::new().await;
    let link = rig.pair("Login").await;
    let bob = crate::jira::model::UserRef {
        account_id: Some("acc-bob".into()),
        email: Some("bob@example.com".into()),
        ..Default::default()
    };
    rig.emea.add_user(bob.clone());
    rig.emea.edit_as_person("EMEA-1", "assignee", FieldValue::User(bob));
    rig.emea.edit_as_person("EMEA-1", "summary", text("Login v2"));
    rig.change("emea", "EMEA-1", Some(By::Person)).await;
    rig.plan().await;
    rig.calls();
    rig.write_next().await;

    let (_, hub) = rig.calls();
    let edits: Vec<_> = hub.iter().filter(|c| c.is_write()).collect();
    assert_eq!(edits, [&FakeCall::Edit { key: "PORT-1".into(), fields: vec![("summary".into(), text("Login v2"))] }]);
    assert!(hub.contains(&FakeCall::FindUser { email: "bob@example.com".into() }));
    let shadow = rig.shadow(link.id).expect("shadow");
    assert_eq!(shadow.values["assignee"], mapping::Value::Empty, "the last agreed value, not bob");
    assert_eq!(shadow.values["summary"], mapping::Value::Text("Login v2".into()));
    let flows = rig.engine.observer.board.flows();
    let error = flows.iter().find_map(|(_, f)| f.last_error.clone()).expect("reported");
    assert!(error.1.contains("no user with this e-mail"), "{}", error.1);
    assert!(rig.outbox().is_empty());
}

#[tokio::test]
async fn story_points_flow_up_as_numbers() {
    let rig = Rig::new().await;
    let link = rig.pair("Login").await;
    rig.emea.edit_as_person("EMEA-1", "customfield_10026", FieldValue::Number(5.0));
    rig.change("emea", "EMEA-1", Some(By::Person)).await;
    rig.plan().await;
    rig.write_next().await;

    assert_eq!(rig.hub.issue_value("PORT-1", HUB_POINTS), FieldValue::Number(5.0));
    assert_eq!(rig.shadow(link.id).expect("shadow").values[HUB_POINTS], mapping::Value::Number(5.0));
}
