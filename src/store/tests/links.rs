//! Links, their indexes, shadows and paging.

use super::super::{LinkRecord, Op, OpResult, Rejection, StoreError};
use super::{link_id, new_link, one, open, shadow, temp_dir};

#[test]
fn link_put_allocates_ids_and_every_lookup_finds_it() {
    let dir = temp_dir();
    let store = open(dir.path());
    let first = link_id(one(&store, Op::LinkPut(new_link("emea", "10001", "20001"))));
    let second = link_id(one(&store, Op::LinkPut(new_link("emea", "10002", "20002"))));
    assert!(second > first);

    let stored = store.link(first).unwrap().unwrap();
    assert_eq!(stored, LinkRecord { id: first, ..new_link("emea", "10001", "20001") });
    assert_eq!(store.link_by_secondary("emea", "10001").unwrap(), Some(stored.clone()));
    assert_eq!(store.link_by_primary("20001").unwrap(), Some(stored));
    assert_eq!(store.link_by_secondary("apac", "10001").unwrap(), None);
    assert_eq!(store.link_by_primary("10001").unwrap(), None);
    assert_eq!(store.link(999).unwrap(), None);
    assert_eq!(store.link_count().unwrap(), 2);
}

#[test]
fn updating_a_link_moves_its_index_entries() {
    let dir = temp_dir();
    let store = open(dir.path());
    let id = link_id(one(&store, Op::LinkPut(new_link("emea", "10001", "20001"))));

    // The secondary issue moved to another project and the mirror was replaced.
    let moved = LinkRecord {
        id,
        secondary_issue: "10009".to_string(),
        secondary_key: "NEW-1".to_string(),
        primary_issue: "20009".to_string(),
        primary_key: "PORT-9".to_string(),
        ..new_link("emea", "10001", "20001")
    };
    assert_eq!(one(&store, Op::LinkPut(moved.clone())), OpResult::LinkId(id));

    assert_eq!(store.link(id).unwrap(), Some(moved.clone()));
    assert_eq!(store.link_by_secondary("emea", "10009").unwrap(), Some(moved.clone()));
    assert_eq!(store.link_by_primary("20009").unwrap(), Some(moved));
    assert_eq!(store.link_by_secondary("emea", "10001").unwrap(), None);
    assert_eq!(store.link_by_primary("20001").unwrap(), None);
    assert_eq!(store.link_count().unwrap(), 1);

    // A key-only change keeps the same index entries.
    let renamed = LinkRecord { secondary_key: "NEW-2".to_string(), ..store.link(id).unwrap().unwrap() };
    one(&store, Op::LinkPut(renamed.clone()));
    assert_eq!(store.link_by_secondary("emea", "10009").unwrap(), Some(renamed));
}

#[test]
fn link_delete_removes_indexes_and_shadow() {
    let dir = temp_dir();
    let store = open(dir.path());
    let id = link_id(one(&store, Op::LinkPut(new_link("emea", "10001", "20001"))));
    one(&store, Op::ShadowPut { link: id, shadow: shadow(&[("summary", "a")]) });

    assert_eq!(one(&store, Op::LinkDelete { id }), OpResult::Done);
    assert_eq!(store.link(id).unwrap(), None);
    assert_eq!(store.link_by_secondary("emea", "10001").unwrap(), None);
    assert_eq!(store.link_by_primary("20001").unwrap(), None);
    assert_eq!(store.shadow(id).unwrap(), None);
    assert_eq!(store.link_count().unwrap(), 0);
    assert_eq!(one(&store, Op::LinkDelete { id }), OpResult::NotFound);

    // The secondary issue can be paired again, under a new id.
    let again = link_id(one(&store, Op::LinkPut(new_link("emea", "10001", "20001"))));
    assert_ne!(again, id);
}

#[test]
fn a_secondary_issue_is_paired_once_and_unknown_ids_are_rejected() {
    let dir = temp_dir();
    let store = open(dir.path());
    let id = link_id(one(&store, Op::LinkPut(new_link("emea", "10001", "20001"))));

    let err = store.commit_blocking(vec![Op::LinkPut(new_link("emea", "10001", "20002"))]).unwrap_err();
    match err {
        StoreError::Rejected { index: 0, reason: Rejection::LinkConflict { existing, .. }, .. } => {
            assert_eq!(existing, id)
        }
        other => panic!("unexpected {other:?}"),
    }
    let unknown = LinkRecord { id: 77, ..new_link("emea", "10005", "20005") };
    let err = store.commit_blocking(vec![Op::LinkPut(unknown)]).unwrap_err();
    assert!(matches!(err, StoreError::Rejected { reason: Rejection::UnknownLink { id: 77 }, .. }), "{err}");
    assert_eq!(store.link_count().unwrap(), 1);
    assert_eq!(store.link_by_primary("20002").unwrap(), None);
}

#[test]
fn one_primary_issue_can_mirror_several_secondaries() {
    let dir = temp_dir();
    let store = open(dir.path());
    let a = link_id(one(&store, Op::LinkPut(new_link("emea", "10001", "20001"))));
    let b = link_id(one(&store, Op::LinkPut(new_link("apac", "30001", "20001"))));
    let ids: Vec<u64> = store.links_by_primary("20001").unwrap().iter().map(|l| l.id).collect();
    assert_eq!(ids, vec![a, b]);
    assert_eq!(store.link_by_primary("20001").unwrap().map(|l| l.id), Some(a));
    one(&store, Op::LinkDelete { id: a });
    assert_eq!(store.link_by_primary("20001").unwrap().map(|l| l.id), Some(b));
}

#[test]
fn shadows_are_replaced_whole_and_need_a_link_and_an_object() {
    let dir = temp_dir();
    let store = open(dir.path());
    let id = link_id(one(&store, Op::LinkPut(new_link("emea", "10001", "20001"))));
    assert_eq!(store.shadow(id).unwrap(), None);

    one(&store, Op::ShadowPut { link: id, shadow: shadow(&[("summary", "a"), ("priority", "P1")]) });
    one(&store, Op::ShadowPut { link: id, shadow: shadow(&[("summary", "b")]) });
    assert_eq!(store.shadow(id).unwrap(), Some(shadow(&[("summary", "b")])));

    let err = store.commit_blocking(vec![Op::ShadowPut { link: id + 1, shadow: shadow(&[]) }]).unwrap_err();
    assert!(matches!(err, StoreError::Rejected { reason: Rejection::UnknownLink { .. }, .. }), "{err}");
    assert_eq!(store.shadow(id).unwrap(), Some(shadow(&[("summary", "b")])));
}

#[test]
fn a_link_and_its_shadow_can_be_created_in_one_request() {
    let dir = temp_dir();
    let store = open(dir.path());
    // The engine learns the id from the result, so a new link's shadow
    // usually follows in a second request; an explicit id works in one.
    let id = link_id(one(&store, Op::LinkPut(new_link("emea", "10001", "20001"))));
    let results = store
        .commit_blocking(vec![
            Op::LinkPut(LinkRecord { id, primary_key: "PORT-2".to_string(), ..new_link("emea", "10001", "20001") }),
            Op::ShadowPut { link: id, shadow: shadow(&[("summary", "s")]) },
        ])
        .unwrap();
    assert_eq!(results, vec![OpResult::LinkId(id), OpResult::Done]);
}

#[test]
fn links_after_pages_through_ten_thousand_links() {
    let dir = temp_dir();
    let store = open(dir.path());
    for chunk in 0..10 {
        let ops = (0..1_000)
            .map(|i| {
                let n = chunk * 1_000 + i;
                Op::LinkPut(new_link("emea", &format!("1{n:05}"), &format!("2{n:05}")))
            })
            .collect();
        store.commit_blocking(ops).unwrap();
    }
    assert_eq!(store.link_count().unwrap(), 10_000);

    let mut seen = 0_u64;
    let mut after = None;
    let mut pages = 0;
    loop {
        let page = store.links_after(after, 512).unwrap();
        if page.is_empty() {
            break;
        }
        assert!(page.len() <= 512);
        for link in &page {
            assert!(after.is_none_or(|last| link.id > last), "ids ascend across pages");
            after = Some(link.id);
            seen += 1;
        }
        pages += 1;
    }
    assert_eq!(seen, 10_000);
    assert_eq!(pages, 20);
    assert_eq!(store.links_after(Some(u64::MAX), 10).unwrap(), Vec::new());
    assert_eq!(store.link_by_secondary("emea", "109999").unwrap().map(|l| l.primary_issue), Some("209999".into()));
}

#[test]
fn a_link_and_its_shadow_are_stored_in_one_op() {
    let dir = temp_dir();
    let store = open(dir.path());
    let op = Op::LinkWithShadow { link: new_link("emea", "10001", "20001"), shadow: shadow(&[("summary", "a")]) };
    let id = link_id(one(&store, op));
    assert_eq!(store.link(id).unwrap().map(|l| l.primary_issue), Some("20001".to_string()));
    assert_eq!(store.shadow(id).unwrap(), Some(shadow(&[("summary", "a")])));
    // A rejected link takes its shadow with it: never one without the other.
    let op = Op::LinkWithShadow { link: new_link("emea", "10001", "20002"), shadow: shadow(&[("summary", "b")]) };
    assert!(store.commit_blocking(vec![op]).is_err());
    assert_eq!(store.shadow(id).unwrap(), Some(shadow(&[("summary", "a")])));
    assert_eq!(store.link_by_primary("20002").unwrap(), None);
}

/// A pairing severed by hand, remembered under both of its issues.
fn ended(secondary_issue: &str, primary_issue: &str) -> super::super::EndedPair {
    super::super::EndedPair {
        flow: "emea-delivery".to_string(),
        secondary: "emea".to_string(),
        secondary_issue: secondary_issue.to_string(),
        secondary_key: format!("EMEA-{secondary_issue}"),
        primary: "hub".to_string(),
        primary_issue: primary_issue.to_string(),
        primary_key: format!("PORT-{primary_issue}"),
        reason: "unlinked".to_string(),
        at_ms: 1,
    }
}

#[test]
fn an_ended_pairing_is_found_under_either_issue_until_one_of_them_is_paired_anew() {
    let dir = temp_dir();
    let store = open(dir.path());
    assert_eq!(store.ended("emea", "10001").unwrap(), None);
    assert_eq!(one(&store, Op::EndedPut(ended("10001", "20001"))), OpResult::Done);
    assert_eq!(store.ended("emea", "10001").unwrap(), Some(ended("10001", "20001")));
    assert_eq!(store.ended("hub", "20001").unwrap(), Some(ended("10001", "20001")));
    assert_eq!(store.ended("hub", "10001").unwrap(), None, "keyed by instance too");

    // The primary issue paired with another and severed again: the old
    // record is gone from both of its keys.
    assert_eq!(one(&store, Op::EndedPut(ended("10002", "20001"))), OpResult::Done);
    assert_eq!(store.ended("emea", "10001").unwrap(), None);
    assert_eq!(store.ended("hub", "20001").unwrap(), Some(ended("10002", "20001")));

    assert_eq!(one(&store, Op::EndedDelete { instance: "hub".into(), issue: "20001".into() }), OpResult::Done);
    assert_eq!(store.ended("emea", "10002").unwrap(), None, "forgotten under both issues");
    assert_eq!(one(&store, Op::EndedDelete { instance: "hub".into(), issue: "20001".into() }), OpResult::NotFound);

    // Kept across a reopen.
    one(&store, Op::EndedPut(ended("10003", "20003")));
    drop(store);
    let store = open(dir.path());
    assert_eq!(store.ended("hub", "20003").unwrap(), Some(ended("10003", "20003")));
}

fn with_parent(parent: Option<&str>) -> crate::mapping::Shadow {
    let agreed = crate::mapping::AgreedParent { issue: parent.map(String::from) };
    crate::mapping::Shadow { parent: Some(agreed), ..shadow(&[("summary", "a")]) }
}

fn children(store: &super::super::Store, parent: &str) -> Vec<u64> {
    store.children_of("emea", parent).unwrap().iter().map(|l| l.id).collect()
}

/// A pair is found under the parent its shadow agrees on, moves when the
/// parent changes, and leaves the index with its shadow or its pair.
#[test]
fn children_are_indexed_by_their_agreed_parent() {
    let dir = temp_dir();
    let store = open(dir.path());
    let epic = link_id(one(&store, Op::LinkPut(new_link("emea", "10001", "20001"))));
    let a = link_id(one(&store, Op::LinkPut(new_link("emea", "10002", "20002"))));
    let b = link_id(one(&store, Op::LinkPut(new_link("emea", "10003", "20003"))));
    one(&store, Op::ShadowPut { link: a, shadow: with_parent(Some("10001")) });
    one(&store, Op::ShadowPut { link: b, shadow: with_parent(Some("10001")) });
    one(&store, Op::ShadowPut { link: epic, shadow: with_parent(None) });
    assert_eq!(children(&store, "10001"), vec![a, b]);
    assert_eq!(store.children_of("apac", "10001").unwrap(), vec![], "per secondary");

    // Re-parented, then no parent: the index follows.
    one(&store, Op::ShadowPut { link: a, shadow: with_parent(Some("10009")) });
    assert_eq!((children(&store, "10001"), children(&store, "10009")), (vec![b], vec![a]));
    one(&store, Op::ShadowPut { link: a, shadow: shadow(&[("summary", "b")]) });
    assert_eq!(children(&store, "10009"), Vec::<u64>::new());

    one(&store, Op::LinkDelete { id: b });
    assert_eq!(children(&store, "10001"), Vec::<u64>::new());
}

/// Each flow's links are counted as they are stored and deleted.
#[test]
fn links_are_counted_per_flow() {
    let dir = temp_dir();
    let store = open(dir.path());
    let in_flow = |flow: &str, s: &str, p: &str| LinkRecord { flow: flow.into(), ..new_link("emea", s, p) };
    let a = link_id(one(&store, Op::LinkPut(in_flow("f1", "10001", "20001"))));
    one(&store, Op::LinkPut(in_flow("f1", "10002", "20002")));
    one(&store, Op::LinkPut(in_flow("f2", "10003", "20003")));
    let counts = store.link_counts().unwrap();
    assert_eq!((counts.get("f1"), counts.get("f2")), (Some(&2), Some(&1)));
    // Replacing a link does not count it twice.
    one(&store, Op::LinkPut(LinkRecord { id: a, ..in_flow("f1", "10001", "20009") }));
    one(&store, Op::LinkDelete { id: a });
    let counts = store.link_counts().unwrap();
    assert_eq!((counts.get("f1"), counts.get("f2")), (Some(&1), Some(&1)));
}
