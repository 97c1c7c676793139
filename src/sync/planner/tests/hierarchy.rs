//! Hierarchy as tables: epics, stories and sub-tasks on two in-memory
//! secondaries (Cloud `parent`, Data Center Epic Link and sub-task parent),
//! the plans and writes that follow, and the parents found on the primary.

use crate::config::{ConflictPolicy, RelationDirection};
use crate::ids::{IssueId, IssueKey};
use crate::jira::fake::IssueSeed;
use crate::jira::model::IssueRef;
use crate::jira::values::FieldValue;
use crate::sync::testing::{APAC_EPIC_LINK, By, FLOW, Rig, text};

async fn rig(direction: RelationDirection, conflict: ConflictPolicy) -> Rig {
    Rig::with(|c| {
        for f in &mut c.flows {
            f.hierarchy.parent = true;
            f.hierarchy.direction = direction;
            f.conflict = conflict;
            f.issue_types.insert("Epic".into(), "Epic".into());
            f.issue_types.insert("Sub-task".into(), "Sub-task".into());
        }
    })
    .await
}

fn key(k: &str) -> FieldValue {
    FieldValue::Issue(IssueRef { id: IssueId::new(""), key: IssueKey::new(k) })
}

/// The key of the parent of `site`'s `key`, read as Jira shows it.
fn parent_of(rig: &Rig, site: &str, key: &str) -> Option<String> {
    rig.site(site).peek(key).and_then(|i| i.parent).map(|p| p.key.to_string())
}

fn mirror_key(rig: &Rig, site: &str, key: &str) -> String {
    let id = rig.site(site).id_of(key).unwrap_or_else(|| panic!("{site} {key}"));
    rig.store().link_by_secondary(site, id.as_str()).unwrap().unwrap_or_else(|| panic!("{key} mirrored")).primary_key
}

async fn changed(rig: &Rig, site: &str, keys: &[&str]) {
    for k in keys {
        rig.change(site, k, Some(By::Person)).await;
    }
    rig.plan().await;
    rig.settle(8).await;
}

#[tokio::test]
async fn a_story_under_a_mirrored_epic_is_mirrored_under_the_epics_mirror() {
    let rig = rig(RelationDirection::ToPrimary, ConflictPolicy::PrimaryWins).await;
    rig.issue("emea", IssueSeed::new("EMEA-1").issue_type("Epic").set("summary", text("epic")));
    changed(&rig, "emea", &["EMEA-1"]).await;
    rig.issue(
        "emea",
        IssueSeed::new("EMEA-5").issue_type("Story").set("summary", text("story")).set("parent", key("EMEA-1")),
    );
    changed(&rig, "emea", &["EMEA-5"]).await;

    let epic = mirror_key(&rig, "emea", "EMEA-1");
    assert_eq!(parent_of(&rig, "hub", &mirror_key(&rig, "emea", "EMEA-5")), Some(epic));
}

#[tokio::test]
async fn a_child_seen_before_its_parent_waits_and_the_parent_is_mirrored_first() {
    let rig = rig(RelationDirection::ToPrimary, ConflictPolicy::PrimaryWins).await;
    rig.issue("emea", IssueSeed::new("EMEA-1").issue_type("Epic").set("summary", text("epic")));
    rig.issue(
        "emea",
        IssueSeed::new("EMEA-5").issue_type("Story").set("summary", text("story")).set("parent", key("EMEA-1")),
    );
    rig.issue(
        "emea",
        IssueSeed::new("EMEA-6").issue_type("Sub-task").set("summary", text("task")).set("parent", key("EMEA-5")),
    );
    // Only the sub-task changed: its story and epic are mirrored first.
    changed(&rig, "emea", &["EMEA-6"]).await;

    let (epic, story, task) =
        (mirror_key(&rig, "emea", "EMEA-1"), mirror_key(&rig, "emea", "EMEA-5"), mirror_key(&rig, "emea", "EMEA-6"));
    assert_eq!(parent_of(&rig, "hub", &story), Some(epic));
    assert_eq!(parent_of(&rig, "hub", &task), Some(story));
    assert_eq!(rig.store().pending_count().unwrap(), 0, "nothing left waiting");
}

#[tokio::test]
async fn a_parent_out_of_scope_leaves_the_mirror_without_one_until_it_is_mirrored() {
    let rig = rig(RelationDirection::ToPrimary, ConflictPolicy::PrimaryWins).await;
    rig.issue("emea", IssueSeed::new("EMEA-1").issue_type("Epic").set("summary", text("epic")));
    rig.emea.move_out_of_scope("EMEA-1");
    rig.issue(
        "emea",
        IssueSeed::new("EMEA-5").issue_type("Story").set("summary", text("story")).set("parent", key("EMEA-1")),
    );
    changed(&rig, "emea", &["EMEA-5"]).await;
    let story = mirror_key(&rig, "emea", "EMEA-5");
    assert_eq!(parent_of(&rig, "hub", &story), None, "mirrored without its parent");
    let flows = rig.engine.observer.board.flows();
    let error = flows.iter().find(|(n, _)| n == FLOW).and_then(|(_, f)| f.last_error.clone()).expect("reported");
    assert!(error.1.contains("not in the flow's scope"), "{}", error.1);

    rig.emea.move_into_scope("EMEA-1");
    changed(&rig, "emea", &["EMEA-1"]).await;
    assert_eq!(parent_of(&rig, "hub", &story), Some(mirror_key(&rig, "emea", "EMEA-1")), "given once it is mirrored");
}

/// Re-parenting: on the secondary it always flows up; on the primary it
/// flows down with `both` only.
#[tokio::test]
async fn re_parenting_follows_the_direction() {
    for direction in [RelationDirection::ToPrimary, RelationDirection::Both] {
        let rig = rig(direction, ConflictPolicy::PrimaryWins).await;
        for (k, t) in [("EMEA-1", "Epic"), ("EMEA-2", "Epic")] {
            rig.issue("emea", IssueSeed::new(k).issue_type(t).set("summary", text(k)));
        }
        rig.issue(
            "emea",
            IssueSeed::new("EMEA-5").issue_type("Story").set("summary", text("s")).set("parent", key("EMEA-1")),
        );
        changed(&rig, "emea", &["EMEA-1", "EMEA-2", "EMEA-5"]).await;
        let (e1, e2, story) = (
            mirror_key(&rig, "emea", "EMEA-1"),
            mirror_key(&rig, "emea", "EMEA-2"),
            mirror_key(&rig, "emea", "EMEA-5"),
        );

        rig.emea.edit_as_person("EMEA-5", "parent", key("EMEA-2"));
        changed(&rig, "emea", &["EMEA-5"]).await;
        assert_eq!(parent_of(&rig, "hub", &story), Some(e2.clone()), "{direction:?}: up");

        rig.hub.edit_as_person(&story, "parent", key(&e1));
        changed(&rig, "hub", &[&story]).await;
        let want = if direction == RelationDirection::Both { "EMEA-1" } else { "EMEA-2" };
        assert_eq!(parent_of(&rig, "emea", "EMEA-5").as_deref(), Some(want), "{direction:?}: down only with both");
        assert_eq!(parent_of(&rig, "hub", &story), Some(e1.clone()), "{direction:?}: the primary's edit stays");
    }
}

/// Data Center keeps a story's epic in the Epic Link field (by key) and a
/// sub-task's parent in `parent`; the mirrors on the Cloud primary have
/// both in `parent`.
#[tokio::test]
async fn data_center_epic_links_and_sub_tasks_become_cloud_parents() {
    let rig = rig(RelationDirection::ToPrimary, ConflictPolicy::PrimaryWins).await;
    rig.issue("apac", IssueSeed::new("APAC-1").issue_type("Epic").set("summary", text("epic")));
    rig.issue(
        "apac",
        IssueSeed::new("APAC-5").issue_type("Story").set("summary", text("story")).set(APAC_EPIC_LINK, key("APAC-1")),
    );
    rig.issue(
        "apac",
        IssueSeed::new("APAC-6").issue_type("Sub-task").set("summary", text("task")).set("parent", key("APAC-5")),
    );
    for k in ["APAC-1", "APAC-5", "APAC-6"] {
        rig.change("apac", k, Some(By::Person)).await;
    }
    rig.plan().await;
    rig.settle(8).await;

    let (epic, story, task) =
        (mirror_key(&rig, "apac", "APAC-1"), mirror_key(&rig, "apac", "APAC-5"), mirror_key(&rig, "apac", "APAC-6"));
    assert_eq!(parent_of(&rig, "hub", &story), Some(epic));
    assert_eq!(parent_of(&rig, "hub", &task), Some(story));
}

/// A Data Center story names its epic by key only: the epic's id comes from
/// the planner's earlier read of the epic, so an edit of the story costs
/// its read and its write, no read of the epic.
#[tokio::test]
async fn a_data_center_storys_epic_is_not_read_again_for_each_edit() {
    let rig = rig(RelationDirection::ToPrimary, ConflictPolicy::PrimaryWins).await;
    rig.issue("apac", IssueSeed::new("APAC-1").issue_type("Epic").set("summary", text("epic")));
    rig.issue(
        "apac",
        IssueSeed::new("APAC-5").issue_type("Story").set("summary", text("story")).set(APAC_EPIC_LINK, key("APAC-1")),
    );
    changed(&rig, "apac", &["APAC-1", "APAC-5"]).await;
    let story = mirror_key(&rig, "apac", "APAC-5");
    rig.site("apac").take_calls();
    rig.calls();

    rig.site("apac").edit_as_person("APAC-5", "summary", text("story v2"));
    changed(&rig, "apac", &["APAC-5"]).await;

    let apac = rig.site("apac").take_calls();
    assert!(
        apac.iter().all(|c| !matches!(c, crate::jira::fake::FakeCall::Issue { .. })),
        "the epic is not read: {apac:?}"
    );
    assert_eq!(apac.len(), 1, "one batched read: {apac:?}");
    let (_, hub) = rig.calls();
    assert_eq!(hub.iter().filter(|c| c.is_write()).count(), 1, "one write: {hub:?}");
    let summary = rig.site("hub").peek(&story).and_then(|i| i.fields.get("summary").cloned());
    assert_eq!(summary, Some(serde_json::json!("story v2")));
}

/// An epic that leaves the scope ends its pair; its story keeps its pair and
/// mirror, whose parent is cleared and reported, whatever the direction
/// and conflict policy; the story on the secondary keeps its epic, and
/// nothing waits for the epic to be mirrored again.
#[tokio::test]
async fn a_child_whose_parents_pair_ended_keeps_its_mirror_without_a_parent() {
    for direction in [RelationDirection::ToPrimary, RelationDirection::Both] {
        let rig = rig(direction, ConflictPolicy::PrimaryWins).await;
        rig.issue("emea", IssueSeed::new("EMEA-1").issue_type("Epic").set("summary", text("epic")));
        rig.issue(
            "emea",
            IssueSeed::new("EMEA-5").issue_type("Story").set("summary", text("story")).set("parent", key("EMEA-1")),
        );
        changed(&rig, "emea", &["EMEA-1", "EMEA-5"]).await;
        let (epic, story) = (mirror_key(&rig, "emea", "EMEA-1"), mirror_key(&rig, "emea", "EMEA-5"));
        assert_eq!(parent_of(&rig, "hub", &story), Some(epic.clone()));

        rig.emea.move_out_of_scope("EMEA-1");
        changed(&rig, "emea", &["EMEA-1"]).await;
        let epic_id = rig.site("emea").id_of("EMEA-1").expect("epic");
        assert!(rig.store().link_by_secondary("emea", epic_id.as_str()).unwrap().is_none(), "{direction:?}");
        assert_eq!(parent_of(&rig, "hub", &story), None, "{direction:?}: parent cleared");
        assert_eq!(parent_of(&rig, "emea", "EMEA-5"), Some("EMEA-1".into()), "{direction:?}: the source is left");
        let flows = rig.engine.observer.board.flows();
        let error = flows.iter().find(|(n, _)| n == FLOW).and_then(|(_, f)| f.last_error.clone()).expect("reported");
        assert!(error.1.contains("EMEA-5") && error.1.contains("EMEA-1's pairing ended"), "{}", error.1);

        // Later edits of the story: no wait for the epic, no parent back.
        rig.emea.edit_as_person("EMEA-5", "summary", text("story 2"));
        changed(&rig, "emea", &["EMEA-5"]).await;
        assert_eq!(parent_of(&rig, "hub", &story), None, "{direction:?}");
        assert_eq!(rig.store().pending_count().unwrap(), 0, "{direction:?}: nothing waits");
        let summary = rig.site("hub").peek(&story).and_then(|i| i.text_of("summary"));
        assert_eq!(summary.as_deref(), Some("story 2"), "{direction:?}");
    }
}

/// A sub-task cannot be without a parent in Jira: when its parent's pair
/// ends, its mirror stays under the parent's former mirror, reported, and
/// nothing is written that Jira would refuse.
#[tokio::test]
async fn a_sub_task_whose_parents_pair_ended_stays_under_the_former_mirror() {
    let rig = rig(RelationDirection::ToPrimary, ConflictPolicy::PrimaryWins).await;
    rig.issue("emea", IssueSeed::new("EMEA-5").issue_type("Story").set("summary", text("story")));
    rig.issue(
        "emea",
        IssueSeed::new("EMEA-6").issue_type("Sub-task").set("summary", text("task")).set("parent", key("EMEA-5")),
    );
    changed(&rig, "emea", &["EMEA-5", "EMEA-6"]).await;
    let (story, task) = (mirror_key(&rig, "emea", "EMEA-5"), mirror_key(&rig, "emea", "EMEA-6"));

    rig.emea.move_out_of_scope("EMEA-5");
    changed(&rig, "emea", &["EMEA-5"]).await;
    assert_eq!(parent_of(&rig, "hub", &task), Some(story), "kept under the former mirror");
    assert_eq!(rig.store().dead_letter_count(None).unwrap(), 0, "nothing refused");
    let flows = rig.engine.observer.board.flows();
    let error = flows.iter().find(|(n, _)| n == FLOW).and_then(|(_, f)| f.last_error.clone()).expect("reported");
    assert!(error.1.contains("EMEA-6") && error.1.contains("sub-task's mirror"), "{}", error.1);
}
