//! Dependencies (issue links) as tables: links made by people on two
//! in-memory sites, one planner pass and the writes it leads to, and the
//! links found on both sites after.

use crate::config::RelationDirection;
use crate::jira::fake::{FakeCall, IssueSeed};
use crate::jira::model::LinkDirection::{Inward, Outward};
use crate::sync::planner::Pass;
use crate::sync::testing::{By, FLOW, Rig, text};

/// A rig whose flow maps Blocks to Blocks and Relates to Relates, with
/// `direction`, and three pairs: EMEA-1..3 mirrored as PORT-1..3.
async fn rig(direction: RelationDirection) -> Rig {
    rig_with(direction, |_| {}).await
}

/// [`rig`] with the config changed by `edit` too.
async fn rig_with(direction: RelationDirection, edit: impl FnOnce(&mut crate::config::Config)) -> Rig {
    let rig = Rig::with(|c| {
        let links = &mut c.flows[0].links;
        links.types.insert("Blocks".into(), "Blocks".into());
        links.types.insert("Relates".into(), "Relates".into());
        links.direction = direction;
        edit(c);
    })
    .await;
    for n in 1..=3 {
        rig.pair_keys(&format!("EMEA-{n}"), &format!("PORT-{n}"), &format!("issue {n}")).await;
    }
    rig.calls();
    rig
}

/// Both ends of a link changed, as its webhook says.
async fn link_changed(rig: &Rig, site: &str, keys: [&str; 2]) {
    for key in keys {
        rig.change(site, key, Some(By::Person)).await;
    }
}

/// Alice's "EMEA-1 blocks EMEA-2", mirrored on the hub: its id on emea.
async fn mirrored_link(rig: &Rig) -> String {
    let id = rig.emea.link_as_person("Blocks", "EMEA-1", "EMEA-2");
    link_changed(rig, "emea", ["EMEA-1", "EMEA-2"]).await;
    rig.plan().await;
    rig.settle(3).await;
    assert_eq!(links(rig, "hub", "PORT-1").len(), 1);
    id
}

fn links(rig: &Rig, site: &str, key: &str) -> Vec<(String, crate::jira::model::LinkDirection, String)> {
    rig.site(site).links_of(key)
}

#[tokio::test]
async fn a_link_between_mirrored_issues_is_made_between_their_mirrors_in_its_direction() {
    let rig = rig(RelationDirection::ToPrimary).await;
    rig.emea.link_as_person("Blocks", "EMEA-1", "EMEA-2");
    link_changed(&rig, "emea", ["EMEA-1", "EMEA-2"]).await;
    rig.plan().await;
    let jobs: Vec<_> = rig.jobs().into_iter().map(|(i, j)| (i, j.action.name())).collect();
    assert_eq!(jobs, [("hub".to_string(), "add_link")], "planned once, by its outward end");
    rig.settle(3).await;

    assert_eq!(
        links(&rig, "hub", "PORT-1"),
        [("Blocks".into(), Outward, "PORT-2".into())],
        "A blocks B stays A' blocks B'"
    );
    assert_eq!(links(&rig, "hub", "PORT-2"), [("Blocks".into(), Inward, "PORT-1".into())]);
    assert_eq!(rig.store().dependency_count().unwrap(), 1);
    let (emea, _) = rig.calls();
    assert!(emea.iter().all(|c| !c.is_write()), "nothing written back: {emea:?}");
}

/// The issue-link webhooks of the link jirafed made (and of its removal) are
/// its own echoes: acknowledged unread. A person's link between the same
/// mirrors later, or between others, is read.
#[tokio::test]
async fn the_webhooks_of_jirafeds_own_links_are_acknowledged_unread() {
    let rig = rig(RelationDirection::ToPrimary).await;
    let id = mirrored_link(&rig).await;
    rig.calls();

    rig.link_webhook("hub", ["PORT-1", "PORT-2"]).await;
    assert_eq!(rig.plan().await, Pass::Progressed);
    assert_eq!(rig.inbox_depth(), 0);
    let (emea, hub) = rig.calls();
    assert!(emea.is_empty() && hub.is_empty(), "the echo is not read: {emea:?} {hub:?}");

    rig.emea.unlink_as_person(&id);
    link_changed(&rig, "emea", ["EMEA-1", "EMEA-2"]).await;
    rig.plan().await;
    rig.settle(3).await;
    assert!(links(&rig, "hub", "PORT-1").is_empty());
    rig.calls();
    rig.link_webhook("hub", ["PORT-2", "PORT-1"]).await;
    rig.plan().await;
    let (emea, hub) = rig.calls();
    assert!(emea.is_empty() && hub.is_empty(), "the removal's echo is not read: {emea:?} {hub:?}");

    // Each echo was taken once: the same link's webhook again is someone's.
    rig.hub.link_as_person("Relates", "PORT-1", "PORT-2");
    rig.link_webhook("hub", ["PORT-1", "PORT-2"]).await;
    rig.plan().await;
    let (_, hub) = rig.calls();
    assert!(hub.iter().any(|c| matches!(c, FakeCall::Issues { .. })), "a person's link is read: {hub:?}");
}

#[tokio::test]
async fn a_link_type_the_flow_does_not_map_is_skipped_and_reported_once() {
    let rig = rig(RelationDirection::ToPrimary).await;
    rig.emea.link_as_person("Duplicate", "EMEA-1", "EMEA-2");
    rig.emea.link_as_person("Duplicate", "EMEA-2", "EMEA-3");
    link_changed(&rig, "emea", ["EMEA-1", "EMEA-2"]).await;
    rig.change("emea", "EMEA-3", Some(By::Person)).await;
    rig.plan().await;

    assert!(rig.jobs().is_empty());
    let flows = rig.engine.observer.board.flows();
    let (_, flow) = flows.iter().find(|(n, _)| n == FLOW).expect("flow");
    assert_eq!(flow.unmapped_link_types.iter().collect::<Vec<_>>(), ["Duplicate"]);
}

#[tokio::test]
async fn a_link_to_an_issue_not_mirrored_yet_waits_and_is_made_when_the_mirror_is() {
    let rig = rig(RelationDirection::ToPrimary).await;
    rig.issue("emea", IssueSeed::new("EMEA-9").issue_type("Story").set("summary", text("later")));
    rig.emea.link_as_person("Blocks", "EMEA-1", "EMEA-9");
    rig.emea.move_out_of_scope("EMEA-9");
    link_changed(&rig, "emea", ["EMEA-1", "EMEA-9"]).await;
    rig.plan().await;
    assert!(rig.jobs().is_empty(), "nothing to link yet");
    assert_eq!(rig.store().pending_count().unwrap(), 1, "the link waits");

    rig.emea.move_into_scope("EMEA-9");
    rig.change("emea", "EMEA-9", None).await;
    rig.plan().await;
    rig.settle(5).await;
    let mirror = rig.store().link_by_secondary("emea", &rig.emea.id_of("EMEA-9").unwrap().to_string());
    let mirror = mirror.unwrap().expect("EMEA-9 mirrored").primary_key;
    assert_eq!(links(&rig, "hub", "PORT-1"), [("Blocks".into(), Outward, mirror)]);
    assert_eq!(rig.store().pending_count().unwrap(), 0, "completed, not retried");
}

/// A far end not in scope when linked may enter it later: the link waits.
/// One seen in scope that then leaves it (here, a flow that makes no
/// mirrors) will not be mirrored: the link is dropped.
#[tokio::test]
async fn a_pending_link_whose_far_end_leaves_the_scope_is_dropped() {
    let rig = rig_with(RelationDirection::ToPrimary, |c| c.flows[0].create = crate::config::CreatePolicy::None).await;
    rig.issue("emea", IssueSeed::new("EMEA-9").set("summary", text("never mirrored")));
    rig.emea.link_as_person("Blocks", "EMEA-1", "EMEA-9");
    rig.emea.move_out_of_scope("EMEA-9");
    link_changed(&rig, "emea", ["EMEA-1", "EMEA-9"]).await;
    rig.plan().await;
    rig.change("emea", "EMEA-9", None).await;
    rig.plan().await;
    assert_eq!(rig.store().pending_count().unwrap(), 1, "never seen in scope: it may enter it later");

    rig.emea.move_into_scope("EMEA-9");
    rig.change("emea", "EMEA-9", None).await;
    rig.plan().await;
    assert_eq!(rig.store().pending_count().unwrap(), 1, "in scope, not mirrored (create = none)");
    rig.emea.move_out_of_scope("EMEA-9");
    rig.change("emea", "EMEA-9", None).await;
    rig.plan().await;
    assert_eq!(rig.store().pending_count().unwrap(), 0, "it left the scope: dropped");
}

#[tokio::test]
async fn removing_the_source_link_removes_its_mirror_link() {
    let rig = rig(RelationDirection::ToPrimary).await;
    let id = mirrored_link(&rig).await;

    rig.emea.unlink_as_person(&id);
    link_changed(&rig, "emea", ["EMEA-1", "EMEA-2"]).await;
    rig.plan().await;
    rig.settle(3).await;
    assert!(links(&rig, "hub", "PORT-1").is_empty());
    assert_eq!(rig.store().dependency_count().unwrap(), 0);
}

/// A person removes the mirrored link on the primary: `to_primary` makes it
/// again (the secondary is the source), `both` removes the source link.
#[tokio::test]
async fn a_mirror_link_removed_on_the_primary_follows_the_direction() {
    for (direction, hub_after, emea_after) in [(RelationDirection::ToPrimary, 1, 1), (RelationDirection::Both, 0, 0)] {
        let rig = rig(direction).await;
        rig.emea.link_as_person("Blocks", "EMEA-1", "EMEA-2");
        link_changed(&rig, "emea", ["EMEA-1", "EMEA-2"]).await;
        rig.plan().await;
        rig.settle(3).await;
        let hub_link = rig.hub.peek("PORT-1").expect("PORT-1").links[0].id.clone();

        rig.hub.unlink_as_person(&hub_link);
        link_changed(&rig, "hub", ["PORT-1", "PORT-2"]).await;
        rig.plan().await;
        rig.settle(3).await;
        assert_eq!(links(&rig, "hub", "PORT-1").len(), hub_after, "{direction:?}");
        assert_eq!(links(&rig, "emea", "EMEA-1").len(), emea_after, "{direction:?}");
    }
}

/// A link a person makes on the primary between two mirrors reaches the
/// secondary only with `both`, in its direction.
#[tokio::test]
async fn a_link_made_on_the_primary_flows_back_only_with_both() {
    for (direction, want) in [
        (RelationDirection::ToPrimary, vec![]),
        (RelationDirection::Both, vec![("Relates".to_string(), Outward, "EMEA-3".to_string())]),
    ] {
        let rig = rig(direction).await;
        rig.hub.link_as_person("Relates", "PORT-2", "PORT-3");
        link_changed(&rig, "hub", ["PORT-2", "PORT-3"]).await;
        rig.plan().await;
        rig.settle(3).await;
        assert_eq!(links(&rig, "emea", "EMEA-2"), want, "{direction:?}");
        assert_eq!(links(&rig, "hub", "PORT-2").len(), 1, "the primary's link stays: {direction:?}");
        let (_, hub) = rig.calls();
        assert!(!hub.iter().any(|c| matches!(c, FakeCall::DeleteLink { .. })), "{direction:?}: {hub:?}");
    }
}

/// A plan with two jobs for one pair (an edit and a link): the pair stays
/// busy until both are done, so that no plan diffs against half a write.
#[tokio::test]
async fn a_pair_stays_claimed_until_its_last_job_is_done() {
    let rig = rig(RelationDirection::ToPrimary).await;
    rig.emea.link_as_person("Blocks", "EMEA-1", "EMEA-2");
    rig.emea.edit_as_person("EMEA-1", "summary", text("edited"));
    link_changed(&rig, "emea", ["EMEA-1", "EMEA-2"]).await;
    rig.plan().await;
    assert_eq!(rig.outbox().len(), 2, "an update and a link");
    let pair = rig.store().link_by_secondary("emea", &rig.emea.id_of("EMEA-1").unwrap().to_string()).unwrap().unwrap();
    rig.write_next().await;
    assert!(rig.engine.in_flight.link_busy(&pair), "one job left");
    rig.write_next().await;
    assert!(!rig.engine.in_flight.link_busy(&pair));
}

/// A person removes a mirrored link and makes the same link again before
/// jirafed sees either (one pass sees a new link and a gone one, which Jira
/// answers with the same link on the primary): the old one's removal runs
/// first, so that the new one is made afresh and recorded, never wedged on
/// a link the old dependency still holds.
#[tokio::test]
async fn a_link_removed_and_made_again_between_two_passes_is_mirrored_once() {
    for direction in [RelationDirection::ToPrimary, RelationDirection::Both] {
        let rig = rig(direction).await;
        let old = mirrored_link(&rig).await;

        rig.emea.unlink_as_person(&old);
        let new = rig.emea.link_as_person("Blocks", "EMEA-1", "EMEA-2");
        assert_ne!(old, new);
        link_changed(&rig, "emea", ["EMEA-1", "EMEA-2"]).await;
        rig.plan().await;
        rig.settle(3).await;

        assert_eq!(links(&rig, "hub", "PORT-1"), vec![("Blocks".into(), Outward, "PORT-2".into())], "{direction:?}");
        assert_eq!(links(&rig, "emea", "EMEA-1"), vec![("Blocks".into(), Outward, "EMEA-2".into())], "{direction:?}");
        assert!(rig.outbox().is_empty(), "{direction:?}: nothing left to write: {:?}", rig.outbox());
        assert_eq!(rig.store().dependency_count().unwrap(), 1, "{direction:?}");
        let hub_link = rig.hub.peek("PORT-1").expect("PORT-1").links[0].id.clone();
        let dep = rig.store().dependency_by_link(FLOW, crate::mapping::Site::Secondary, &new).unwrap();
        assert_eq!(dep.and_then(|d| d.primary_link), Some(hub_link), "{direction:?}");
    }
}

/// A finished write whose record the store refuses (here: Jira answers a new
/// link's make with a link an older dependency holds) is not retried for
/// ever: it leaves the outbox and its pair is planned again from what the
/// sites hold, which mirrors the new link.
#[tokio::test]
async fn a_write_whose_record_is_refused_leaves_the_outbox_and_its_pair_is_planned_again() {
    use crate::store::{DependencyRecord, Op};
    use crate::sync::job::{Action, Job};
    let rig = rig(RelationDirection::ToPrimary).await;
    mirrored_link(&rig).await;
    let emea_1 = rig.emea.peek("EMEA-1").expect("EMEA-1").id;
    let pair = rig.store().link_by_secondary("emea", emea_1.as_str()).unwrap().expect("EMEA-1 is paired");
    let far = rig.store().link_by_secondary("emea", rig.emea.peek("EMEA-2").unwrap().id.as_str()).unwrap().unwrap();
    let relates = rig.emea.link_as_person("Relates", "EMEA-1", "EMEA-2");
    // A make of "PORT-1 blocks PORT-2" recorded as the new link's: the hub
    // answers with the link the first dependency holds.
    let dep = DependencyRecord {
        id: 0,
        flow: FLOW.to_string(),
        from_pair: pair.id,
        to_pair: far.id,
        secondary_link: Some(relates.clone()),
        primary_link: None,
        secondary_type: "Relates".into(),
        primary_type: "Blocks".into(),
        created_ms: 0,
    };
    let action = Action::AddLink {
        link_type: "Blocks".into(),
        from: pair.primary_key.clone(),
        to: far.primary_key.clone(),
        dep,
    };
    let job = Job {
        flow: FLOW.into(),
        link: Some(pair.id),
        target_key: Some(pair.primary_key.clone()),
        action,
        shadow_after: None,
        origin_ms: 0,
        cause: None,
    };
    let push = Op::OutboxPush {
        instance: "hub".into(),
        target: pair.primary_issue.clone(),
        payload: job.to_bytes(),
        next_at_ms: 0,
    };
    rig.commit(vec![push]).await;

    rig.write_next().await;
    assert!(rig.outbox().is_empty(), "the refused write is not retried: {:?}", rig.outbox());
    assert_eq!(rig.inbox_depth(), 1, "its pair is planned again");
    rig.plan().await;
    rig.settle(3).await;

    let mut hub = links(&rig, "hub", "PORT-1");
    hub.sort();
    assert_eq!(hub, vec![("Blocks".into(), Outward, "PORT-2".into()), ("Relates".into(), Outward, "PORT-2".into())]);
    assert!(rig.outbox().is_empty(), "{:?}", rig.outbox());
    assert_eq!(rig.store().dependency_count().unwrap(), 2);
    let dep =
        rig.store().dependency_by_link(FLOW, crate::mapping::Site::Secondary, &relates).unwrap().expect("recorded");
    assert!(dep.primary_link.is_some());
}
