//! The end of a pair, as a table: a source deleted or gone out of scope
//! under each `on_delete` and `on_scope_exit`, a pair made by hand, a mirror
//! deleted on the primary; the jobs planned, what the hub holds after them,
//! and that nothing is mirrored again by itself.

use crate::config::{OnDelete, ScopeExit};
use crate::jira::mark::{SEVERED_LABEL, SOURCE_DELETED_LABEL};
use crate::store::{LinkRecord, Op};
use crate::sync::testing::{By, Rig, text};

use super::jobs;

#[derive(Debug, Clone, Copy)]
enum How {
    Deleted,
    LeftScope,
}

struct Case {
    on_delete: OnDelete,
    on_scope_exit: ScopeExit,
    by_hand: bool,
    how: How,
    /// The jobs planned, as `describe` writes them.
    jobs: &'static [&'static str],
    /// PORT-1 after them: `None` deleted, else its jirafed labels.
    mirror: Option<&'static [&'static str]>,
    /// Whether the pair is still recorded.
    paired: bool,
}

async fn rig_for(case: &Case) -> (Rig, LinkRecord) {
    let (on_delete, on_scope_exit) = (case.on_delete, case.on_scope_exit);
    let rig = Rig::with(|c| {
        c.flows[0].on_delete = on_delete;
        c.flows[0].on_scope_exit = on_scope_exit;
    })
    .await;
    let mut link = rig.pair("Login").await;
    if case.by_hand {
        link = LinkRecord { by_hand: true, ..link };
        rig.commit(vec![Op::LinkPut(link.clone())]).await;
    }
    (rig, link)
}

#[tokio::test]
async fn a_pair_ends_per_on_delete_and_on_scope_exit_and_nothing_is_mirrored_again() {
    use How::*;
    use OnDelete::*;
    use ScopeExit::*;
    let cases = [
        Case {
            on_delete: Sever,
            on_scope_exit: AsDeleted,
            by_hand: false,
            how: Deleted,
            jobs: &["hub PORT-1 unlink delete=false label=false severed=true (source deleted)"],
            mirror: Some(&[SEVERED_LABEL]),
            paired: false,
        },
        Case {
            on_delete: DeleteMirror,
            on_scope_exit: AsDeleted,
            by_hand: false,
            how: Deleted,
            jobs: &["hub PORT-1 unlink delete=true label=false severed=false (source deleted)"],
            mirror: None,
            paired: false,
        },
        // jirafed never deletes an issue it did not make: severed instead.
        Case {
            on_delete: DeleteMirror,
            on_scope_exit: AsDeleted,
            by_hand: true,
            how: Deleted,
            jobs: &["hub PORT-1 unlink delete=false label=false severed=true (source deleted)"],
            mirror: Some(&[SEVERED_LABEL]),
            paired: false,
        },
        Case {
            on_delete: Label,
            on_scope_exit: AsDeleted,
            by_hand: false,
            how: Deleted,
            jobs: &["hub PORT-1 unlink delete=false label=true severed=false (source deleted)"],
            mirror: Some(&[SOURCE_DELETED_LABEL]),
            paired: false,
        },
        Case {
            on_delete: DeleteMirror,
            on_scope_exit: AsDeleted,
            by_hand: false,
            how: LeftScope,
            jobs: &["hub PORT-1 unlink delete=true label=false severed=false (source left the scope)"],
            mirror: None,
            paired: false,
        },
        Case {
            on_delete: DeleteMirror,
            on_scope_exit: Keep,
            by_hand: false,
            how: LeftScope,
            jobs: &[],
            mirror: Some(&[]),
            paired: true,
        },
        // `keep` is about the scope only: a deletion still ends the pair.
        Case {
            on_delete: Sever,
            on_scope_exit: Keep,
            by_hand: false,
            how: Deleted,
            jobs: &["hub PORT-1 unlink delete=false label=false severed=true (source deleted)"],
            mirror: Some(&[SEVERED_LABEL]),
            paired: false,
        },
    ];
    for case in cases {
        let what = format!("{:?} {:?} by_hand={} {:?}", case.on_delete, case.on_scope_exit, case.by_hand, case.how);
        let (rig, link) = rig_for(&case).await;
        rig.change("emea", "EMEA-1", None).await;
        match case.how {
            How::Deleted => rig.emea.delete("EMEA-1"),
            How::LeftScope => rig.emea.move_out_of_scope("EMEA-1"),
        }
        rig.plan().await;
        assert_eq!(jobs(&rig), case.jobs, "{what}");
        rig.settle(3).await;

        let labels: Option<Vec<String>> = rig.hub.exists("PORT-1").then(|| {
            let mut l: Vec<String> =
                rig.hub.labels("PORT-1").into_iter().filter(|l| l.starts_with("jirafed-")).collect();
            l.retain(|l| !l.starts_with("jirafed-emea"));
            l
        });
        let want = case.mirror.map(|m| m.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(labels, want, "{what}: PORT-1");
        assert_eq!(rig.store().link(link.id).unwrap().is_some(), case.paired, "{what}: paired");
        if case.paired {
            continue;
        }
        let ended = rig.store().ended("emea", &link.secondary_issue).unwrap().expect("remembered as ended");
        assert_eq!(rig.store().ended("hub", &link.primary_issue).unwrap(), Some(ended.clone()), "{what}");

        // Back in scope and edited by a person: never mirrored again by itself.
        if matches!(case.how, How::LeftScope) {
            rig.emea.move_into_scope("EMEA-1");
            rig.change("emea", "EMEA-1", Some(By::Person)).await;
            rig.plan().await;
            assert!(jobs(&rig).is_empty(), "{what}: {:?}", jobs(&rig));
        }
    }
}

/// A mirror deleted on the primary severs the pair; the source, edited
/// later, is not mirrored again.
#[tokio::test]
async fn a_mirror_deleted_on_the_primary_is_not_made_again() {
    let rig = Rig::new().await;
    let link = rig.pair("Login").await;
    rig.change("hub", "PORT-1", Some(By::Person)).await;
    rig.hub.delete("PORT-1");
    rig.plan().await;
    assert!(rig.store().link(link.id).unwrap().is_none());
    assert_eq!(
        rig.store().ended("emea", &link.secondary_issue).unwrap().map(|e| e.reason),
        Some("mirror deleted".into())
    );

    rig.change("emea", "EMEA-1", Some(By::Person)).await;
    rig.plan().await;
    assert!(jobs(&rig).is_empty(), "{:?}", jobs(&rig));
}

/// The issue links jirafed made between a severed mirror and other mirrors
/// are removed before the pair is forgotten.
#[tokio::test]
async fn the_links_of_a_severed_mirror_are_removed() {
    let rig = Rig::with(|c| {
        c.flows[0].on_delete = OnDelete::Sever;
        c.flows[0].links.types.insert("Blocks".into(), "Blocks".into());
    })
    .await;
    rig.pair_keys("EMEA-1", "PORT-1", "one").await;
    rig.pair_keys("EMEA-2", "PORT-2", "two").await;
    rig.emea.link_as_person("Blocks", "EMEA-1", "EMEA-2");
    rig.change("emea", "EMEA-1", Some(By::Person)).await;
    rig.change("emea", "EMEA-2", Some(By::Person)).await;
    rig.plan().await;
    rig.settle(3).await;
    assert_eq!(rig.hub.links_of("PORT-2").len(), 1, "mirrored");

    // EMEA-2, the link's inward end, is deleted: the link goes with it on
    // emea, and its mirror on the hub is removed.
    rig.change("emea", "EMEA-2", None).await;
    rig.emea.delete("EMEA-2");
    rig.plan().await;
    let planned = jobs(&rig);
    assert_eq!(planned.len(), 2, "{planned:?}");
    assert!(planned[0].starts_with("hub PORT-2 remove_link "), "{planned:?}");
    rig.settle(3).await;
    assert!(rig.hub.links_of("PORT-1").is_empty(), "{:?}", rig.hub.links_of("PORT-1"));
    assert!(rig.hub.labels("PORT-2").contains(&SEVERED_LABEL.to_string()));
    assert_eq!(rig.store().dependency_count().unwrap(), 0);
    assert!(rig.outbox().is_empty());
}

/// Issue ids, not keys, make a pair: a source moved to another project in
/// scope (a new key) keeps its pair and its mirror, and so does a mirror
/// moved on the primary; later edits reach the issue under its new key.
#[tokio::test]
async fn a_move_to_another_project_in_scope_keeps_the_pair() {
    let rig = Rig::new().await;
    let link = rig.pair("Login").await;

    rig.emea.move_to("EMEA-1", "EMEA-77");
    rig.emea.edit_as_person("EMEA-77", "summary", text("Login, moved"));
    rig.change("emea", "EMEA-77", Some(By::Person)).await;
    rig.plan().await;
    assert_eq!(jobs(&rig), ["hub PORT-1 update [summary=Text(\"Login, moved\")]"], "no create: still paired");
    rig.settle(3).await;
    assert_eq!(rig.store().link(link.id).unwrap().map(|l| l.secondary_key), Some("EMEA-77".into()));

    rig.hub.move_to("PORT-1", "PORT-90");
    rig.change("hub", "PORT-90", Some(By::Person)).await;
    rig.emea.edit_as_person("EMEA-77", "summary", text("Login, moved twice"));
    rig.change("emea", "EMEA-77", Some(By::Person)).await;
    rig.plan().await;
    rig.settle(3).await;
    let l = rig.store().link(link.id).unwrap().expect("still paired");
    assert_eq!((l.secondary_key.as_str(), l.primary_key.as_str()), ("EMEA-77", "PORT-90"));
    assert_eq!(rig.hub.issue_value("PORT-90", "summary"), text("Login, moved twice"));
    assert_eq!(rig.store().link_count().unwrap(), 1, "no second mirror");
}
