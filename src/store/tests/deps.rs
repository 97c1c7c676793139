//! Dependencies and pending links: ids, replaces, rejections, the indexes
//! after every op, the cascade of a removed pair, counts and paging.

use super::super::{DependencyRecord, Op, OpResult, PendingLink, Rejection, Store, StoreError};
use super::{dependency_id, link_id, new_dependency, new_link, new_pending, one, open, pending_id, temp_dir};
use crate::mapping::Site;

const FLOW: &str = "emea-delivery";

/// Stores `n` issue pairs and returns their ids.
fn pairs(store: &Store, n: usize) -> Vec<u64> {
    (0..n)
        .map(|i| link_id(one(store, Op::LinkPut(new_link("emea", &format!("1000{i}"), &format!("2000{i}"))))))
        .collect()
}

fn ids<T>(records: Vec<T>, id: impl Fn(&T) -> u64) -> Vec<u64> {
    records.iter().map(id).collect()
}

/// The dependency ids every pair lookup finds: (from, to) per pair.
fn by_pair(store: &Store, pairs: &[u64]) -> Vec<(Vec<u64>, Vec<u64>)> {
    pairs
        .iter()
        .map(|&p| {
            let from = ids(store.dependencies_from(p).unwrap(), |d| d.id);
            let to = ids(store.dependencies_to(p).unwrap(), |d| d.id);
            (from, to)
        })
        .collect()
}

fn by_link(store: &Store, site: Site, link: &str) -> Option<u64> {
    store.dependency_by_link(FLOW, site, link).unwrap().map(|d| d.id)
}

fn rejection(result: Result<Vec<OpResult>, StoreError>) -> Rejection {
    match result {
        Err(StoreError::Rejected { reason, .. }) => reason,
        other => panic!("expected a rejection, got {other:?}"),
    }
}

#[test]
fn dependency_put_allocates_ids_and_every_lookup_finds_it() {
    let dir = temp_dir();
    let store = open(dir.path());
    let p = pairs(&store, 3);
    assert_eq!(store.dependency_count().unwrap(), 0);
    let first = dependency_id(one(&store, Op::DependencyPut(new_dependency(p[0], p[1], Some("s1"), Some("p1")))));
    let second = dependency_id(one(&store, Op::DependencyPut(new_dependency(p[1], p[2], Some("s2"), None))));
    assert!(second > first);

    let stored = store.dependency(first).unwrap().unwrap();
    assert_eq!(stored, DependencyRecord { id: first, ..new_dependency(p[0], p[1], Some("s1"), Some("p1")) });
    assert_eq!(store.dependencies_from(p[0]).unwrap(), vec![stored.clone()]);
    assert_eq!(by_pair(&store, &p), vec![(vec![first], vec![]), (vec![second], vec![first]), (vec![], vec![second])]);
    assert_eq!(store.dependency_by_link(FLOW, Site::Secondary, "s1").unwrap(), Some(stored));
    assert_eq!(by_link(&store, Site::Primary, "p1"), Some(first));
    assert_eq!(by_link(&store, Site::Secondary, "s2"), Some(second));
    // Link ids are per site and per flow.
    assert_eq!(by_link(&store, Site::Primary, "s1"), None);
    assert_eq!(store.dependency_by_link("apac-delivery", Site::Secondary, "s1").unwrap(), None);
    assert_eq!(store.dependency(999).unwrap(), None);
    assert_eq!(store.dependency_count().unwrap(), 2);
}

#[test]
fn replacing_a_dependency_moves_its_index_entries() {
    let dir = temp_dir();
    let store = open(dir.path());
    let p = pairs(&store, 3);
    let id = dependency_id(one(&store, Op::DependencyPut(new_dependency(p[0], p[1], Some("s1"), None))));

    // The link was recreated on the secondary, now ends at another pair and
    // has its primary counterpart.
    let moved = DependencyRecord { id, ..new_dependency(p[2], p[0], Some("s9"), Some("p9")) };
    assert_eq!(one(&store, Op::DependencyPut(moved.clone())), OpResult::DependencyId(id));
    assert_eq!(store.dependency(id).unwrap(), Some(moved));
    assert_eq!(by_pair(&store, &p), vec![(vec![], vec![id]), (vec![], vec![]), (vec![id], vec![])]);
    assert_eq!(by_link(&store, Site::Secondary, "s1"), None);
    assert_eq!((by_link(&store, Site::Secondary, "s9"), by_link(&store, Site::Primary, "p9")), (Some(id), Some(id)));
    assert_eq!(store.dependency_count().unwrap(), 1);

    // Keeping its own link ids is no conflict; the ids it gave up are free.
    let retyped = DependencyRecord { primary_type: "Depends".to_string(), ..store.dependency(id).unwrap().unwrap() };
    assert_eq!(one(&store, Op::DependencyPut(retyped)), OpResult::DependencyId(id));
    let other = dependency_id(one(&store, Op::DependencyPut(new_dependency(p[0], p[1], Some("s1"), None))));
    assert_eq!(by_link(&store, Site::Secondary, "s1"), Some(other));
}

#[test]
fn dependencies_need_known_pairs_and_ids_and_free_jira_links() {
    let dir = temp_dir();
    let store = open(dir.path());
    let p = pairs(&store, 3);
    let id = dependency_id(one(&store, Op::DependencyPut(new_dependency(p[0], p[1], Some("s1"), Some("p1")))));
    let put = |d: DependencyRecord| store.commit_blocking(vec![Op::DependencyPut(d)]);

    assert_eq!(rejection(put(new_dependency(p[0], 77, None, None))), Rejection::UnknownLink { id: 77 });
    assert_eq!(rejection(put(new_dependency(78, p[0], None, None))), Rejection::UnknownLink { id: 78 });
    let unknown = DependencyRecord { id: 55, ..new_dependency(p[0], p[1], None, None) };
    assert_eq!(rejection(put(unknown)), Rejection::UnknownDependency { id: 55 });
    let secondary_taken = rejection(put(new_dependency(p[1], p[2], Some("s1"), None)));
    let conflict = |site, link: &str| Rejection::DependencyConflict {
        flow: FLOW.to_string(),
        site,
        link: link.to_string(),
        existing: id,
    };
    assert_eq!(secondary_taken, conflict(Site::Secondary, "s1"));
    assert_eq!(
        secondary_taken.to_string(),
        format!("secondary link s1 of flow emea-delivery is already held by dependency {id}")
    );
    assert_eq!(rejection(put(new_dependency(p[1], p[2], Some("s2"), Some("p1")))), conflict(Site::Primary, "p1"));
    // Moving an existing dependency onto another's link is refused too.
    let second = dependency_id(one(&store, Op::DependencyPut(new_dependency(p[1], p[2], None, None))));
    let onto = DependencyRecord { id: second, ..new_dependency(p[1], p[2], None, Some("p1")) };
    assert_eq!(rejection(put(onto)), conflict(Site::Primary, "p1"));

    // Nothing of the rejected puts was stored.
    assert_eq!(store.dependency_count().unwrap(), 2);
    assert_eq!(by_pair(&store, &p), vec![(vec![id], vec![]), (vec![second], vec![id]), (vec![], vec![second])]);
    assert_eq!(by_link(&store, Site::Secondary, "s2"), None);
    assert_eq!(store.dependency(second).unwrap().and_then(|d| d.primary_link), None);
    // Links not created yet are no conflict, and another flow has its own ids.
    dependency_id(one(&store, Op::DependencyPut(new_dependency(p[2], p[0], None, None))));
    let apac = DependencyRecord { flow: "apac-delivery".to_string(), ..new_dependency(p[1], p[2], Some("s1"), None) };
    let apac = dependency_id(one(&store, Op::DependencyPut(apac)));
    assert_eq!(store.dependency_by_link("apac-delivery", Site::Secondary, "s1").unwrap().map(|d| d.id), Some(apac));
    assert_eq!(by_link(&store, Site::Secondary, "s1"), Some(id));
}

#[test]
fn dependency_delete_removes_every_index_entry() {
    let dir = temp_dir();
    let store = open(dir.path());
    let p = pairs(&store, 2);
    let id = dependency_id(one(&store, Op::DependencyPut(new_dependency(p[0], p[1], Some("s1"), Some("p1")))));
    assert_eq!(one(&store, Op::DependencyDelete { id }), OpResult::Done);
    assert_eq!(store.dependency(id).unwrap(), None);
    assert_eq!(by_pair(&store, &p), vec![(vec![], vec![]); 2]);
    assert_eq!((by_link(&store, Site::Secondary, "s1"), by_link(&store, Site::Primary, "p1")), (None, None));
    assert_eq!(store.dependency_count().unwrap(), 0);
    assert_eq!(one(&store, Op::DependencyDelete { id }), OpResult::NotFound);
    // The pairs are untouched and the link ids can be held again.
    assert_eq!(store.link_count().unwrap(), 2);
    let again = dependency_id(one(&store, Op::DependencyPut(new_dependency(p[0], p[1], Some("s1"), Some("p1")))));
    assert_ne!(again, id);
}

#[test]
fn removing_a_pair_removes_the_dependencies_it_ends() {
    let dir = temp_dir();
    let store = open(dir.path());
    let p = pairs(&store, 4);
    let put = |from: usize, to: usize, link: &str| {
        let dependency = new_dependency(p[from], p[to], Some(link), Some(&format!("p-{link}")));
        dependency_id(one(&store, Op::DependencyPut(dependency)))
    };
    let (ab, bc, ca, cd, bb) = (put(0, 1, "ab"), put(1, 2, "bc"), put(2, 0, "ca"), put(2, 3, "cd"), put(1, 1, "bb"));
    assert_eq!(store.dependency_count().unwrap(), 5);

    assert_eq!(one(&store, Op::LinkDelete { id: p[1] }), OpResult::Done);
    for gone in [ab, bc, bb] {
        assert_eq!(store.dependency(gone).unwrap(), None, "dependency {gone}");
    }
    assert_eq!(
        by_pair(&store, &p),
        vec![(vec![], vec![ca]), (vec![], vec![]), (vec![ca, cd], vec![]), (vec![], vec![cd])]
    );
    for link in ["ab", "bc", "bb"] {
        assert_eq!(
            (by_link(&store, Site::Secondary, link), by_link(&store, Site::Primary, &format!("p-{link}"))),
            (None, None)
        );
    }
    assert_eq!((by_link(&store, Site::Secondary, "ca"), by_link(&store, Site::Primary, "p-cd")), (Some(ca), Some(cd)));
    assert_eq!(store.dependency_count().unwrap(), 2);
}

#[test]
fn pending_put_allocates_and_a_jira_link_is_pending_once() {
    let dir = temp_dir();
    let store = open(dir.path());
    let id = pending_id(one(&store, Op::PendingPut(new_pending("emea", "l1", "10001", "10002"))));
    assert_eq!(store.pending(id).unwrap(), Some(PendingLink { id, ..new_pending("emea", "l1", "10001", "10002") }));
    assert_eq!(ids(store.pending_waiting_on("emea", "10002").unwrap(), |p| p.id), vec![id]);
    assert_eq!(ids(store.pending_from("emea", "10001").unwrap(), |p| p.id), vec![id]);
    assert_eq!(store.pending_by_link("emea", "l1").unwrap().map(|p| p.id), Some(id));

    // The same Jira link seen again, now pointing elsewhere: replaced in place.
    let again = PendingLink { near_is_outward: false, ..new_pending("emea", "l1", "10003", "10004") };
    assert_eq!(one(&store, Op::PendingPut(again.clone())), OpResult::PendingId(id));
    assert_eq!(store.pending(id).unwrap(), Some(PendingLink { id, ..again }));
    assert_eq!(store.pending_waiting_on("emea", "10002").unwrap(), Vec::new());
    assert_eq!(store.pending_from("emea", "10001").unwrap(), Vec::new());
    assert_eq!(ids(store.pending_waiting_on("emea", "10004").unwrap(), |p| p.id), vec![id]);
    assert_eq!(ids(store.pending_from("emea", "10003").unwrap(), |p| p.id), vec![id]);
    assert_eq!(store.pending_count().unwrap(), 1);

    // Link and issue ids are scoped to their instance.
    let apac = pending_id(one(&store, Op::PendingPut(new_pending("apac", "l1", "10003", "10004"))));
    assert!(apac > id);
    assert_eq!(store.pending_by_link("apac", "l1").unwrap().map(|p| p.id), Some(apac));
    assert_eq!(ids(store.pending_waiting_on("emea", "10004").unwrap(), |p| p.id), vec![id]);
    // Several links can wait on one issue.
    let l2 = pending_id(one(&store, Op::PendingPut(new_pending("emea", "l2", "10005", "10004"))));
    assert_eq!(ids(store.pending_waiting_on("emea", "10004").unwrap(), |p| p.id), vec![id, l2]);
    assert_eq!(store.pending_count().unwrap(), 3);
}

#[test]
fn replacing_a_pending_link_by_id_moves_its_index_entries() {
    let dir = temp_dir();
    let store = open(dir.path());
    let id = pending_id(one(&store, Op::PendingPut(new_pending("emea", "l1", "10001", "10002"))));
    let moved = PendingLink { id, ..new_pending("emea", "l7", "10001", "10009") };
    assert_eq!(one(&store, Op::PendingPut(moved)), OpResult::PendingId(id));
    assert_eq!(store.pending_by_link("emea", "l1").unwrap(), None);
    assert_eq!(store.pending_by_link("emea", "l7").unwrap().map(|p| p.far_issue), Some("10009".to_string()));
    assert_eq!(store.pending_waiting_on("emea", "10002").unwrap(), Vec::new());
    assert_eq!(ids(store.pending_from("emea", "10001").unwrap(), |p| p.id), vec![id]);
    // The link id it gave up is free for a new pending link.
    let other = pending_id(one(&store, Op::PendingPut(new_pending("emea", "l1", "10003", "10002"))));
    assert_ne!(other, id);
    assert_eq!(store.pending_count().unwrap(), 2);
}

#[test]
fn pending_link_updates_need_known_ids_and_their_own_jira_link() {
    let dir = temp_dir();
    let store = open(dir.path());
    let a = pending_id(one(&store, Op::PendingPut(new_pending("emea", "l1", "10001", "10002"))));
    let b = pending_id(one(&store, Op::PendingPut(new_pending("emea", "l2", "10003", "10004"))));
    let put = |p: PendingLink| store.commit_blocking(vec![Op::PendingPut(p)]);

    // An update of a pending link completed or dropped meanwhile is a no-op.
    let unknown = PendingLink { id: 99, ..new_pending("emea", "l9", "10001", "10002") };
    assert_eq!(put(unknown).expect("commit"), vec![OpResult::NotFound]);
    let onto = PendingLink { id: b, ..new_pending("emea", "l1", "10003", "10008") };
    let conflict = rejection(put(onto));
    let expected = Rejection::PendingConflict { instance: "emea".to_string(), link_id: "l1".to_string(), existing: a };
    assert_eq!(conflict, expected);
    assert_eq!(conflict.to_string(), format!("link l1 on instance emea is already pending as {a}"));

    assert_eq!(store.pending(b).unwrap(), Some(PendingLink { id: b, ..new_pending("emea", "l2", "10003", "10004") }));
    assert_eq!(store.pending_waiting_on("emea", "10008").unwrap(), Vec::new());
    assert_eq!(store.pending_by_link("emea", "l9").unwrap(), None);
    assert_eq!(store.pending_count().unwrap(), 2);
}

#[test]
fn pending_delete_removes_every_index_entry() {
    let dir = temp_dir();
    let store = open(dir.path());
    let id = pending_id(one(&store, Op::PendingPut(new_pending("emea", "l1", "10001", "10002"))));
    assert_eq!(one(&store, Op::PendingDelete { id }), OpResult::Done);
    assert_eq!(store.pending(id).unwrap(), None);
    assert_eq!(store.pending_by_link("emea", "l1").unwrap(), None);
    assert_eq!(store.pending_waiting_on("emea", "10002").unwrap(), Vec::new());
    assert_eq!(store.pending_from("emea", "10001").unwrap(), Vec::new());
    assert_eq!(store.pending_count().unwrap(), 0);
    assert_eq!(one(&store, Op::PendingDelete { id }), OpResult::NotFound);
    assert_ne!(pending_id(one(&store, Op::PendingPut(new_pending("emea", "l1", "10001", "10002")))), id);
}

#[test]
fn pending_after_pages_through_them_all() {
    let dir = temp_dir();
    let store = open(dir.path());
    let ops = (0..1_000).map(|i| Op::PendingPut(new_pending("emea", &format!("l{i}"), "10001", &format!("2{i:04}"))));
    store.commit_blocking(ops.collect()).unwrap();
    assert_eq!(store.pending_count().unwrap(), 1_000);
    assert_eq!(store.pending_from("emea", "10001").unwrap().len(), 1_000);

    let (mut after, mut seen, mut pages) = (None, 0, 0);
    loop {
        let page = store.pending_after(after, 128).unwrap();
        if page.is_empty() {
            break;
        }
        assert!(page.len() <= 128);
        for pending in &page {
            assert!(after.is_none_or(|last| pending.id > last), "ids ascend across pages");
            after = Some(pending.id);
            seen += 1;
        }
        pages += 1;
    }
    assert_eq!((seen, pages), (1_000, 8));
    assert_eq!(store.pending_after(Some(u64::MAX), 10).unwrap(), Vec::new());
}

#[test]
fn a_rejected_request_undoes_its_dependency_and_pending_changes() {
    let dir = temp_dir();
    let store = open(dir.path());
    let p = pairs(&store, 3);
    let kept = dependency_id(one(&store, Op::DependencyPut(new_dependency(p[0], p[1], Some("s1"), Some("p1")))));
    let waiting = pending_id(one(&store, Op::PendingPut(new_pending("emea", "l1", "10001", "10002"))));
    let before = (by_pair(&store, &p), store.dependency(kept).unwrap(), store.pending(waiting).unwrap());

    let request = vec![
        Op::DependencyPut(new_dependency(p[1], p[2], Some("s2"), None)),
        Op::DependencyPut(DependencyRecord { id: kept, ..new_dependency(p[2], p[1], Some("s3"), None) }),
        Op::PendingPut(new_pending("emea", "l1", "10005", "10006")),
        Op::PendingPut(new_pending("emea", "l4", "10001", "10002")),
        Op::PendingDelete { id: waiting },
        Op::LinkDelete { id: p[1] },
        Op::DependencyPut(new_dependency(p[0], p[2], Some("s9"), None)),
        Op::DependencyPut(new_dependency(p[0], p[2], Some("s9"), None)),
    ];
    let err = store.commit_blocking(request).unwrap_err();
    assert!(
        matches!(err, StoreError::Rejected { index: 7, reason: Rejection::DependencyConflict { .. }, .. }),
        "{err}"
    );

    assert_eq!((by_pair(&store, &p), store.dependency(kept).unwrap(), store.pending(waiting).unwrap()), before);
    assert_eq!(
        (store.dependency_count().unwrap(), store.pending_count().unwrap(), store.link_count().unwrap()),
        (1, 1, 3)
    );
    assert_eq!(
        (by_link(&store, Site::Secondary, "s1"), by_link(&store, Site::Primary, "p1")),
        (Some(kept), Some(kept))
    );
    for link in ["s2", "s3", "s9"] {
        assert_eq!(by_link(&store, Site::Secondary, link), None);
    }
    assert_eq!(store.pending_by_link("emea", "l1").unwrap().map(|p| p.id), Some(waiting));
    assert_eq!(store.pending_by_link("emea", "l4").unwrap(), None);
    assert_eq!(ids(store.pending_waiting_on("emea", "10002").unwrap(), |p| p.id), vec![waiting]);
    assert_eq!(store.pending_waiting_on("emea", "10006").unwrap(), Vec::new());
    // The ids the request allocated were given back.
    assert_eq!(dependency_id(one(&store, Op::DependencyPut(new_dependency(p[1], p[2], None, None)))), kept + 1);
    assert_eq!(pending_id(one(&store, Op::PendingPut(new_pending("emea", "l4", "10001", "10002")))), waiting + 1);
}
