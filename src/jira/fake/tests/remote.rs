//! Remote links on the fake site: upserts by global id, deletes, reads,
//! and what faults and missing issues do to them.

use super::*;
use crate::jira::model::{RemoteLink, RemoteLinkWrite};

/// `EMEA-1` and `EMEA-2`, both at `START_MS`.
fn two_issues(flavour: Flavour) -> (Arc<FakeSite>, ManualTime) {
    let (site, hands) = site(flavour);
    site.put_issue(IssueSeed::new("EMEA-1"));
    site.put_issue(IssueSeed::new("EMEA-2"));
    (site, hands)
}

/// The engine's link on a mirror to the mirror of `target` on another site.
fn mirror_link(target: &str, title: &str) -> RemoteLinkWrite {
    RemoteLinkWrite::new(format!("jirafed:apac:{target}"), format!("https://apac.example.com/browse/{target}"), title)
        .with_relationship("blocks")
}

fn shown(id: &str, link: &RemoteLinkWrite) -> RemoteLink {
    RemoteLink {
        id: id.into(),
        global_id: Some(link.global_id.clone()),
        url: link.url.clone(),
        title: link.title.clone(),
        relationship: link.relationship.clone(),
    }
}

#[tokio::test]
async fn an_upsert_with_the_same_global_id_updates_the_one_link_on_both_flavours() {
    for flavour in BOTH {
        let (site, hands) = two_issues(flavour);
        hands.advance(1_000);
        let first = mirror_link("APAC-7", "APAC-7");
        site.upsert_remote_link("EMEA-1", &first).await.unwrap();
        assert_eq!(site.remote_links("EMEA-1").await.unwrap(), [shown("10000", &first)], "{flavour:?}");

        let renamed =
            RemoteLinkWrite { url: "https://apac.example.com/browse/APAC-8".into(), ..mirror_link("APAC-7", "moved") }
                .with_relationship("is blocked by");
        site.upsert_remote_link("emea-1", &renamed).await.unwrap();
        assert_eq!(site.remote_links_of("EMEA-1"), [shown("10000", &renamed)], "{flavour:?}: one link, its id kept");
        // An update replaces the whole link, as Jira's does: a relationship
        // left out is gone.
        let bare = RemoteLinkWrite::new(renamed.global_id.clone(), renamed.url.clone(), "bare");
        site.upsert_remote_link("EMEA-1", &bare).await.unwrap();
        assert_eq!(site.remote_links_of("EMEA-1"), [shown("10000", &bare)]);
        assert_eq!(site.remote_links_of("EMEA-1")[0].relationship, None);

        let other = mirror_link("APAC-9", "APAC-9");
        site.upsert_remote_link("EMEA-1", &other).await.unwrap();
        site.upsert_remote_link("EMEA-2", &first).await.unwrap();
        assert_eq!(site.remote_links("EMEA-1").await.unwrap(), [shown("10000", &bare), shown("10001", &other)]);
        assert_eq!(site.remote_links_of("EMEA-2"), [shown("10002", &first)], "a global id is per issue");
        for key in ["EMEA-1", "EMEA-2"] {
            assert_eq!(site.updated_ms(key), Some(START_MS), "{flavour:?} {key}: as in the simulator, no change");
        }
        assert!(site.peek("EMEA-1").unwrap().links.is_empty(), "no issue link either");
    }
}

#[tokio::test]
async fn a_delete_by_global_id_takes_that_link_only_and_again_is_no_error() {
    let (site, _) = two_issues(Flavour::Cloud);
    let (kept, gone) = (mirror_link("APAC-1", "APAC-1"), mirror_link("APAC-2", "APAC-2"));
    site.upsert_remote_link("EMEA-1", &kept).await.unwrap();
    site.upsert_remote_link("EMEA-1", &gone).await.unwrap();
    site.delete_remote_link("EMEA-1", &gone.global_id).await.unwrap();
    assert_eq!(site.remote_links_of("EMEA-1"), [shown("10000", &kept)]);
    site.delete_remote_link("EMEA-1", &gone.global_id).await.unwrap();
    site.delete_remote_link("EMEA-2", &kept.global_id).await.unwrap();
    assert_eq!(site.remote_links_of("EMEA-1"), [shown("10000", &kept)], "another issue's global id");
    // Written again, it is a new link: Jira never reuses an id.
    site.upsert_remote_link("EMEA-1", &gone).await.unwrap();
    assert_eq!(site.remote_links_of("EMEA-1"), [shown("10000", &kept), shown("10002", &gone)]);
    assert_eq!(site.updated_ms("EMEA-1"), Some(START_MS));
}

#[tokio::test]
async fn a_missing_issue_is_a_404_except_to_a_delete() {
    for flavour in BOTH {
        let (site, _) = two_issues(flavour);
        let api = if flavour == Flavour::Cloud { "/rest/api/3" } else { "/rest/api/2" };
        let e = site.remote_links("EMEA-9").await.unwrap_err();
        assert_eq!((e.status(), e.call.clone()), (Some(404), format!("GET {api}/issue/EMEA-9/remotelink")));
        assert_eq!(e.messages, [ISSUE_MISSING]);
        let e = site.upsert_remote_link("EMEA-9", &mirror_link("APAC-1", "APAC-1")).await.unwrap_err();
        assert_eq!((e.status(), e.call.clone()), (Some(404), format!("POST {api}/issue/EMEA-9/remotelink")));
        assert_eq!(e.messages, [ISSUE_MISSING]);
        // Its links went with it: `JiraClient` gets the same 404 as for a
        // link already gone and cannot tell them apart.
        site.delete_remote_link("EMEA-9", "jirafed:apac:APAC-1").await.unwrap();
        assert!(site.remote_links_of("EMEA-9").is_empty());
        assert_eq!(site.count(FakeOp::DeleteRemoteLink), 1);
    }
}

#[tokio::test]
async fn remote_links_go_with_their_issue() {
    let (site, _) = two_issues(Flavour::DataCenter);
    let link = mirror_link("APAC-1", "APAC-1");
    site.upsert_remote_link("EMEA-1", &link).await.unwrap();
    site.upsert_remote_link("EMEA-2", &link).await.unwrap();
    site.delete_issue("EMEA-1").await.unwrap();
    assert!(site.remote_links_of("EMEA-1").is_empty());
    site.put_issue(IssueSeed::new("EMEA-1"));
    assert!(site.remote_links("EMEA-1").await.unwrap().is_empty(), "a new issue under the old key has none");
    // A seed that replaces an issue keeps its remote links while it keeps its id.
    site.put_issue(IssueSeed::new("EMEA-2").set("summary", text("again")));
    assert_eq!(site.remote_links_of("EMEA-2"), [shown("10001", &link)]);
    site.put_issue(IssueSeed::new("EMEA-2").id("20000"));
    assert!(site.remote_links_of("EMEA-2").is_empty(), "another issue under the same key");
    site.upsert_remote_link("EMEA-2", &link).await.unwrap();
    site.delete("EMEA-2");
    assert!(site.remote_links_of("EMEA-2").is_empty());
}

#[tokio::test]
async fn people_write_remote_links_and_web_links_without_calls() {
    let (site, hands) = two_issues(Flavour::Cloud);
    hands.advance(1_000);
    let theirs = RemoteLinkWrite::new("tracker=1", "https://tracker.example.com/1", "Ticket 1");
    assert_eq!(site.remote_link_as_person("EMEA-1", theirs.clone()), "10000");
    let retitled = RemoteLinkWrite { title: "Ticket 1 (closed)".into(), ..theirs };
    assert_eq!(site.remote_link_as_person("EMEA-1", retitled.clone()), "10000", "upserted by its global id");
    // A web link added in Jira's page has no global id: each is another link.
    let web = site.web_link_as_person("EMEA-1", "https://example.com", "Example");
    let again = site.web_link_as_person("EMEA-1", "https://example.com", "Example");
    assert_eq!([web.as_str(), again.as_str()], ["10001", "10002"]);
    let untagged = |id: &str| RemoteLink {
        id: id.into(),
        global_id: None,
        url: "https://example.com".into(),
        title: "Example".into(),
        relationship: None,
    };
    let expected = [shown("10000", &retitled), untagged("10001"), untagged("10002")];
    assert_eq!(site.remote_links_of("EMEA-1"), expected);
    assert_eq!(site.remote_links("EMEA-1").await.unwrap(), expected, "the engine reads what people wrote");
    assert_eq!(site.updated_ms("EMEA-1"), Some(START_MS));
    assert_eq!(site.calls(), [FakeCall::RemoteLinks { key: "EMEA-1".into() }], "only the engine's read");
}

#[test]
#[should_panic(expected = "no issue EMEA-9 on the fake site emea")]
fn a_person_cannot_link_an_issue_that_is_not_there() {
    let (site, _) = two_issues(Flavour::Cloud);
    site.web_link_as_person("EMEA-9", "https://example.com", "Example");
}

#[tokio::test]
async fn remote_link_calls_are_recorded_and_meet_their_faults() {
    let (site, _) = two_issues(Flavour::Cloud);
    let dyn_site: Arc<dyn Site> = site.clone();
    let link = mirror_link("APAC-1", "APAC-1");
    site.fail_next(FakeOp::UpsertRemoteLink, unavailable());
    let e = dyn_site.upsert_remote_link("EMEA-1", &link).await.unwrap_err();
    assert_eq!((e.status(), e.call.as_str()), (Some(503), "POST /rest/api/3/issue/EMEA-1/remotelink"));
    assert!(site.remote_links_of("EMEA-1").is_empty(), "a failed call changes nothing");

    site.lose_answer(FakeOp::UpsertRemoteLink);
    let e = dyn_site.upsert_remote_link("EMEA-1", &link).await.unwrap_err();
    assert!(e.is_retriable() && !e.surely_not_applied(), "{e}");
    assert_eq!(site.remote_links_of("EMEA-1"), [shown("10000", &link)], "the lost upsert was applied");
    dyn_site.upsert_remote_link("EMEA-1", &link).await.unwrap();
    assert_eq!(site.remote_links_of("EMEA-1").len(), 1, "the retry updates it");

    site.fail_next(FakeOp::RemoteLinks, rate_limited(Duration::from_secs(3)));
    let e = dyn_site.remote_links("EMEA-1").await.unwrap_err();
    assert_eq!((e.status(), e.retry_after), (Some(429), Some(Duration::from_secs(3))));
    assert_eq!(e.call, "GET /rest/api/3/issue/EMEA-1/remotelink");

    site.fail_next(FakeOp::DeleteRemoteLink, unavailable());
    let e = dyn_site.delete_remote_link("EMEA-1", &link.global_id).await.unwrap_err();
    assert_eq!((e.status(), e.call.as_str()), (Some(503), "DELETE /rest/api/3/issue/EMEA-1/remotelink"));
    site.fail_next(FakeOp::DeleteRemoteLink, not_found());
    dyn_site.delete_remote_link("EMEA-1", &link.global_id).await.unwrap();
    assert_eq!(site.remote_links_of("EMEA-1").len(), 1, "the site answered 404 and deleted nothing");
    site.lose_answer(FakeOp::DeleteRemoteLink);
    assert_eq!(dyn_site.delete_remote_link("EMEA-1", &link.global_id).await.unwrap_err().kind, ErrorKind::Network);
    assert!(site.remote_links_of("EMEA-1").is_empty(), "the lost delete was applied");

    let upsert = FakeCall::UpsertRemoteLink {
        key: "EMEA-1".into(),
        global_id: link.global_id.clone(),
        url: link.url.clone(),
        title: link.title.clone(),
    };
    let delete = FakeCall::DeleteRemoteLink { key: "EMEA-1".into(), global_id: link.global_id.clone() };
    let expected = [upsert.clone(), upsert.clone(), upsert, delete.clone(), delete.clone(), delete];
    assert_eq!(site.writes(), expected);
    assert_eq!(site.count(FakeOp::RemoteLinks), 1);
    assert!(!FakeOp::RemoteLinks.is_write());
    site.set_reachable(false);
    let e = dyn_site.delete_remote_link("EMEA-1", &link.global_id).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Connect, "not a 404: an error");
}
