//! Mirrors pushed from the primary as tables: issues a person makes on the
//! in-memory hub, the flow whose `primary_scope` selects them, and what is
//! made on the secondary.

use crate::config::CreatePolicy;
use crate::ids::{IssueId, IssueKey};
use crate::jira::fake::{FakeOp, IssueSeed};
use crate::jira::model::IssueRef;
use crate::jira::values::FieldValue;
use crate::sync::testing::{By, FLOW, Rig, text};

/// emea-delivery pushes the hub's PORT issues to EMEA (and carries
/// parents); with `both_push`, apac-platform pushes the same ones.
async fn rig(both_push: bool) -> Rig {
    Rig::with(|c| {
        for (i, f) in c.flows.iter_mut().enumerate() {
            if i == 0 || both_push {
                f.create = CreatePolicy::Both;
                f.primary_scope = Some("project = PORT".into());
                f.secondary_project = Some(if i == 0 { "EMEA" } else { "APAC" }.into());
            }
            f.hierarchy.parent = true;
        }
    })
    .await
}

fn parent(k: &str) -> FieldValue {
    FieldValue::Issue(IssueRef { id: IssueId::new(""), key: IssueKey::new(k) })
}

async fn made_on_hub(rig: &Rig, keys: &[&str]) {
    for k in keys {
        rig.change("hub", k, Some(By::Person)).await;
    }
    rig.plan().await;
    rig.settle(8).await;
}

/// The secondary issue paired with the hub's `key`.
fn pushed(rig: &Rig, key: &str) -> Option<String> {
    let id = rig.hub.id_of(key)?;
    let pairs = rig.store().links_by_primary(id.as_str()).ok()?;
    pairs.into_iter().next().map(|p| p.secondary_key)
}

#[tokio::test]
async fn an_epic_and_its_stories_made_on_the_primary_are_pushed_with_their_hierarchy() {
    let rig = rig(false).await;
    rig.issue("hub", IssueSeed::new("PORT-10").issue_type("Epic").set("summary", text("portfolio epic")));
    for k in ["PORT-11", "PORT-12"] {
        rig.issue(
            "hub",
            IssueSeed::new(k).issue_type("Story").set("summary", text(k)).set("parent", parent("PORT-10")),
        );
    }
    // The stories' changes come first: their epic is pushed before them.
    made_on_hub(&rig, &["PORT-11", "PORT-12", "PORT-10"]).await;

    let epic = pushed(&rig, "PORT-10").expect("the epic pushed");
    for k in ["PORT-11", "PORT-12"] {
        let story = pushed(&rig, k).unwrap_or_else(|| panic!("{k} pushed"));
        assert!(story.starts_with("EMEA-"), "{story}");
        let p = rig.emea.peek(&story).and_then(|i| i.parent).map(|p| p.key.to_string());
        assert_eq!(p, Some(epic.clone()), "{k} under the epic's copy");
        assert_eq!(rig.emea.issue_value(&story, "summary"), text(k));
    }
    assert_eq!(rig.emea.keys().iter().filter(|k| k.as_str().starts_with("EMEA-")).count(), 3, "one issue each");
    assert!(rig.emea.labels(&epic).iter().any(|l| l.starts_with("jirafed-")), "the provenance mark travels");

    // Later edits flow per direction (summary both ways).
    rig.hub.edit_as_person("PORT-10", "summary", text("renamed on the hub"));
    made_on_hub(&rig, &["PORT-10"]).await;
    assert_eq!(rig.emea.issue_value(&epic, "summary"), text("renamed on the hub"));
}

#[tokio::test]
async fn a_push_whose_answer_was_lost_never_makes_a_second_issue() {
    let rig = rig(false).await;
    rig.issue("hub", IssueSeed::new("PORT-10").issue_type("Story").set("summary", text("once")));
    rig.emea.lose_answer(FakeOp::Create);
    rig.change("hub", "PORT-10", Some(By::Person)).await;
    rig.plan().await;
    rig.settle(4).await;
    let made: Vec<_> =
        rig.emea.keys().into_iter().filter(|k| rig.emea.issue_value(k.as_str(), "summary") == text("once")).collect();
    assert_eq!(made.len(), 1, "{made:?}");
    assert_eq!(pushed(&rig, "PORT-10"), Some(made[0].to_string()));
}

#[tokio::test]
async fn an_issue_two_flows_would_push_is_pushed_by_neither_and_reported() {
    let rig = rig(true).await;
    rig.issue("hub", IssueSeed::new("PORT-10").issue_type("Story").set("summary", text("contested")));
    made_on_hub(&rig, &["PORT-10"]).await;
    assert_eq!(pushed(&rig, "PORT-10"), None);
    let flows = rig.engine.observer.board.flows();
    for name in [FLOW, "apac-platform"] {
        let (_, f) = flows.iter().find(|(n, _)| n == name).expect("flow");
        let error = f.last_error.as_ref().map(|(_, e)| e.clone()).unwrap_or_default();
        assert!(error.contains("emea-delivery and apac-platform"), "{name}: {error}");
    }
}

#[tokio::test]
async fn a_mirror_made_on_the_primary_is_never_pushed_back() {
    let rig = rig(false).await;
    rig.issue("emea", IssueSeed::new("EMEA-7").issue_type("Story").set("summary", text("from emea")));
    rig.change("emea", "EMEA-7", Some(By::Person)).await;
    rig.plan().await;
    rig.settle(4).await;
    let mirror = rig.store().link_by_secondary("emea", rig.emea.id_of("EMEA-7").unwrap().as_str()).unwrap().unwrap();
    // A person edits the mirror: it is a pair, not a push.
    rig.hub.edit_as_person(&mirror.primary_key, "summary", text("edited on hub"));
    made_on_hub(&rig, &[&mirror.primary_key]).await;
    assert_eq!(rig.emea.keys().len(), 1, "nothing pushed back");
    assert_eq!(rig.emea.issue_value("EMEA-7", "summary"), text("edited on hub"));
}
