//! Issue links on the fake site: how they read, how they are made and
//! deleted, and what faults do to them.

use serde_json::Value;

use super::*;
use crate::jira::model::{Issue, LinkDirection, LinkType};

use LinkDirection::{Inward, Outward};

/// `EMEA-1` ("first") and `EMEA-2` ("second", High), both at `START_MS`.
fn two_issues(flavour: Flavour) -> (Arc<FakeSite>, ManualTime) {
    let (site, hands) = site(flavour);
    site.put_issue(IssueSeed::new("EMEA-1").id("10100").set("summary", text("first")));
    let second = IssueSeed::new("EMEA-2").id("10101").set("summary", text("second"));
    site.put_issue(second.set("priority", FieldValue::Name("High".into())));
    (site, hands)
}

fn link(kind: &str, direction: LinkDirection, other: &str) -> (String, LinkDirection, String) {
    (kind.to_string(), direction, other.to_string())
}

/// The parsed links of `issue` as `(id, type name, direction, other key)`.
fn read_links(issue: &Issue) -> Vec<(&str, &str, LinkDirection, &str)> {
    issue.links.iter().map(|l| (l.id.as_str(), l.link_type.name.as_str(), l.direction, l.other.key.as_str())).collect()
}

#[tokio::test]
async fn a_link_reads_outward_on_its_source_and_inward_on_its_destination_on_both_flavours() {
    for flavour in BOTH {
        let (site, hands) = two_issues(flavour);
        hands.advance(1_000);
        let id = site.create_link("Blocks", "EMEA-1", "10101").await.unwrap();
        assert_eq!(id, "10000", "{flavour:?}: numbered as Jira numbers links");

        let source = site.issue("EMEA-1", &["issuelinks"]).await.unwrap();
        assert_eq!(read_links(&source), [("10000", "Blocks", Outward, "EMEA-2")], "{flavour:?}");
        let blocks = LinkType {
            id: "10000".into(),
            name: "Blocks".into(),
            inward: "is blocked by".into(),
            outward: "blocks".into(),
        };
        assert_eq!(source.links[0].link_type, blocks);
        assert_eq!(source.links[0].other, IssueRef { id: IssueId::new("10101"), key: IssueKey::new("EMEA-2") });
        // The other end as Jira shows it: id, key and a few fields.
        let shown = &source.fields["issuelinks"][0]["outwardIssue"];
        assert_eq!(shown["fields"]["summary"], "second");
        assert_eq!(shown["fields"]["status"]["name"], "To Do");
        assert_eq!(shown["fields"]["priority"]["name"], "High");
        assert_eq!(shown["fields"]["issuetype"]["name"], "Task");
        assert!(source.fields["issuelinks"][0].get("inwardIssue").is_none());

        let destination = site.issues(Some("project = EMEA"), &["EMEA-2"], &["*all"]).await.unwrap();
        assert_eq!(read_links(&destination[0]), [("10000", "Blocks", Inward, "EMEA-1")], "{flavour:?}");
        assert_eq!(destination[0].fields["issuelinks"][0]["inwardIssue"]["fields"]["summary"], "first");

        let page = site.search_page("project = EMEA", &[], 10, None).await.unwrap();
        assert!(page.issues.iter().all(|i| i.links.len() == 1), "every field read shows links");
        let narrow = site.issue("EMEA-1", &["summary"]).await.unwrap();
        assert!(narrow.links.is_empty() && !narrow.fields.contains_key("issuelinks"), "not asked for");
        assert_eq!(site.peek("EMEA-2").unwrap().links, destination[0].links);

        assert_eq!(site.links_of("EMEA-1"), [link("Blocks", Outward, "EMEA-2")]);
        assert_eq!(site.links_of("emea-2"), [link("Blocks", Inward, "EMEA-1")]);
        for key in ["EMEA-1", "EMEA-2"] {
            assert_eq!(site.updated_ms(key), Some(START_MS + 1_000), "{flavour:?} {key}: the link moved `updated`");
        }
    }
}

#[tokio::test]
async fn an_issue_without_links_reads_an_empty_list() {
    let (site, _) = two_issues(Flavour::DataCenter);
    let issue = site.issue("EMEA-1", &["issuelinks"]).await.unwrap();
    assert_eq!(issue.fields["issuelinks"], Value::Array(vec![]));
    assert!(issue.links.is_empty());
    assert!(site.links_of("EMEA-1").is_empty());
    assert!(site.links_of("NOPE-1").is_empty());
}

#[tokio::test]
async fn the_same_link_made_again_is_the_one_already_there() {
    let (site, hands) = two_issues(Flavour::Cloud);
    let id = site.create_link("Blocks", "EMEA-1", "EMEA-2").await.unwrap();
    hands.advance(1_000);
    assert_eq!(site.create_link("blocks", "emea-1", "10101").await.unwrap(), id, "names and keys in any case, ids");
    assert_eq!(site.link_as_person("Blocks", "EMEA-1", "EMEA-2"), id);
    assert_eq!(site.updated_ms("EMEA-1"), Some(START_MS), "nothing changed");
    // The other way round, or of another type, is another link.
    let back = site.create_link("Blocks", "EMEA-2", "EMEA-1").await.unwrap();
    let relates = site.create_link("Relates", "EMEA-1", "EMEA-2").await.unwrap();
    assert_eq!([back.as_str(), relates.as_str()], ["10001", "10002"]);
    let expected =
        [link("Blocks", Outward, "EMEA-2"), link("Blocks", Inward, "EMEA-2"), link("Relates", Outward, "EMEA-2")];
    assert_eq!(site.links_of("EMEA-1"), expected);
    assert_eq!(site.issue("EMEA-1", &[]).await.unwrap().links.len(), 3);
}

#[tokio::test]
async fn unknown_link_types_and_issues_are_refused_as_jira_refuses_them() {
    let (site, _) = two_issues(Flavour::Cloud);
    let e = site.create_link("Depends", "EMEA-1", "EMEA-2").await.unwrap_err();
    assert_eq!((e.status(), e.call.as_str()), (Some(404), "POST /rest/api/3/issueLink"));
    assert_eq!(e.messages, ["No issue link type with name 'Depends' found."]);
    for (from, to) in [("EMEA-9", "EMEA-2"), ("EMEA-1", "EMEA-9")] {
        let e = site.create_link("Blocks", from, to).await.unwrap_err();
        assert!(e.is_not_found(), "{from} -> {to}: {e}");
        assert_eq!(e.messages, [ISSUE_MISSING]);
    }
    assert!(site.links_of("EMEA-1").is_empty());
    assert_eq!(site.updated_ms("EMEA-1"), Some(START_MS));

    let depends =
        LinkType { id: "10100".into(), name: "Depends".into(), inward: "is needed by".into(), outward: "needs".into() };
    site.set_link_types(vec![depends.clone()]);
    assert_eq!(site.link_types().await.unwrap(), [depends]);
    site.create_link("Depends", "EMEA-1", "EMEA-2").await.unwrap();
    assert_eq!(site.links_of("EMEA-2"), [link("Depends", Inward, "EMEA-1")]);
    let e = site.create_link("Blocks", "EMEA-1", "EMEA-2").await.unwrap_err();
    assert_eq!(e.messages, ["No issue link type with name 'Blocks' found."]);
}

#[tokio::test]
async fn a_deleted_link_leaves_both_ends_and_deleting_it_again_is_no_error() {
    let (site, hands) = two_issues(Flavour::DataCenter);
    let id = site.create_link("Duplicate", "EMEA-2", "EMEA-1").await.unwrap();
    hands.advance(1_000);
    site.delete_link(&id).await.unwrap();
    assert!(site.links_of("EMEA-1").is_empty() && site.links_of("EMEA-2").is_empty());
    assert!(site.issue("EMEA-2", &[]).await.unwrap().links.is_empty());
    for key in ["EMEA-1", "EMEA-2"] {
        assert_eq!(site.updated_ms(key), Some(START_MS + 1_000), "{key}: the unlink moved `updated`");
    }
    hands.advance(1_000);
    site.delete_link(&id).await.unwrap();
    site.delete_link("99999").await.unwrap();
    assert_eq!(site.updated_ms("EMEA-1"), Some(START_MS + 1_000), "nothing was there to change");
    // A new link never takes a deleted one's id.
    assert_eq!(site.create_link("Duplicate", "EMEA-2", "EMEA-1").await.unwrap(), "10001");
}

#[tokio::test]
async fn a_deleted_issue_takes_its_links_with_it() {
    let (site, hands) = two_issues(Flavour::Cloud);
    site.put_issue(IssueSeed::new("EMEA-3"));
    site.create_link("Blocks", "EMEA-1", "EMEA-2").await.unwrap();
    site.create_link("Relates", "EMEA-3", "EMEA-1").await.unwrap();
    let kept = site.create_link("Cloners", "EMEA-2", "EMEA-3").await.unwrap();
    hands.advance(1_000);
    site.delete_issue("EMEA-1").await.unwrap();
    assert_eq!(site.links_of("EMEA-2"), [link("Cloners", Outward, "EMEA-3")]);
    assert_eq!(site.links_of("EMEA-3"), [link("Cloners", Inward, "EMEA-2")]);
    assert_eq!(site.updated_ms("EMEA-2"), Some(START_MS), "deleting an issue changes no other");
    site.delete("EMEA-3");
    assert!(site.links_of("EMEA-2").is_empty());
    site.delete_link(&kept).await.unwrap();
    // A seed that replaces an issue keeps its links while it keeps its id.
    site.put_issue(IssueSeed::new("EMEA-4"));
    site.create_link("Blocks", "EMEA-2", "EMEA-4").await.unwrap();
    site.put_issue(IssueSeed::new("EMEA-4").set("summary", text("again")));
    assert_eq!(site.links_of("EMEA-2"), [link("Blocks", Outward, "EMEA-4")]);
    site.put_issue(IssueSeed::new("EMEA-4").id("20000"));
    assert!(site.links_of("EMEA-2").is_empty(), "another issue under the same key");
}

#[tokio::test]
async fn people_link_and_unlink_without_calls() {
    let (site, hands) = two_issues(Flavour::Cloud);
    site.put_issue(IssueSeed::new("EMEA-10"));
    hands.advance(1_000);
    let blocks = site.link_as_person("Blocks", "EMEA-2", "EMEA-1");
    site.link_as_person("Relates", "EMEA-1", "EMEA-10");
    site.link_as_person("Blocks", "EMEA-1", "EMEA-10");
    let expected =
        [link("Blocks", Outward, "EMEA-10"), link("Blocks", Inward, "EMEA-2"), link("Relates", Outward, "EMEA-10")];
    assert_eq!(site.links_of("EMEA-1"), expected, "sorted by type, direction, key");
    assert_eq!(site.updated_ms("EMEA-2"), Some(START_MS + 1_000));
    hands.advance(1_000);
    site.unlink_as_person(&blocks);
    assert_eq!(site.updated_ms("EMEA-2"), Some(START_MS + 2_000));
    assert_eq!(site.links_of("EMEA-2"), []);
    assert!(site.calls().is_empty(), "people make no calls");
}

#[tokio::test]
async fn link_calls_are_recorded_as_writes_and_meet_their_faults() {
    let (site, _) = two_issues(Flavour::Cloud);
    let dyn_site: Arc<dyn Site> = site.clone();
    site.fail_next(FakeOp::CreateLink, unavailable());
    let e = dyn_site.create_link("Blocks", "EMEA-1", "EMEA-2").await.unwrap_err();
    assert_eq!((e.status(), e.call.as_str()), (Some(503), "POST /rest/api/3/issueLink"));
    assert!(site.links_of("EMEA-1").is_empty(), "a failed call changes nothing");

    site.lose_answer(FakeOp::CreateLink);
    let e = dyn_site.create_link("Blocks", "EMEA-1", "EMEA-2").await.unwrap_err();
    assert!(e.is_retriable() && !e.surely_not_applied(), "{e}");
    assert_eq!(site.links_of("EMEA-1"), [link("Blocks", Outward, "EMEA-2")], "the lost create was applied");
    let id = dyn_site.create_link("Blocks", "EMEA-1", "EMEA-2").await.unwrap();
    assert_eq!(id, "10000", "the retry finds it");

    site.fail_next(FakeOp::DeleteLink, unavailable());
    let e = dyn_site.delete_link(&id).await.unwrap_err();
    assert_eq!((e.status(), e.call.as_str()), (Some(503), "DELETE /rest/api/3/issueLink/10000"));
    assert_eq!(site.links_of("EMEA-1").len(), 1);
    // Through the real client a 404 is a link already gone, so no error.
    site.fail_next(FakeOp::DeleteLink, not_found());
    dyn_site.delete_link(&id).await.unwrap();
    assert_eq!(site.links_of("EMEA-1").len(), 1, "the site answered 404 and deleted nothing");
    site.lose_answer(FakeOp::DeleteLink);
    assert_eq!(dyn_site.delete_link(&id).await.unwrap_err().kind, ErrorKind::Network);
    assert!(site.links_of("EMEA-1").is_empty(), "the lost delete was applied");

    let create = FakeCall::CreateLink { type_name: "Blocks".into(), from: "EMEA-1".into(), to: "EMEA-2".into() };
    let delete = FakeCall::DeleteLink { id: id.clone() };
    let expected = [create.clone(), create.clone(), create, delete.clone(), delete.clone(), delete];
    assert_eq!(site.writes(), expected);
    assert_eq!((site.count(FakeOp::CreateLink), site.count(FakeOp::DeleteLink)), (3, 3));
    site.set_reachable(false);
    assert_eq!(dyn_site.delete_link(&id).await.unwrap_err().kind, ErrorKind::Connect, "not a 404: an error");
}
