use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDate;

use super::*;
use crate::clock::ManualTime;
use crate::ids::{IssueId, IssueKey};
use crate::jira::ErrorKind;
use crate::jira::client::Cursor;
use crate::jira::mark::Mark;
use crate::jira::model::{IssueRef, parse_timestamp};
use crate::jira::richtext::Doc;
use crate::jira::site::Site;
use crate::jira::values::{FieldValue, FieldWrites, read_value};

mod links;
mod remote;

const BOTH: [Flavour; 2] = [Flavour::Cloud, Flavour::DataCenter];

/// 2024-01-01T00:00:00Z.
const START_MS: i64 = 1_704_067_200_000;

fn site(flavour: Flavour) -> (Arc<FakeSite>, ManualTime) {
    let (clock, hands) = Clock::manual(START_MS);
    let site = FakeSite::new("emea", flavour, clock)
        .with_field(custom_field("customfield_10016", "Story Points", CustomKind::Number))
        .with_field(custom_field("customfield_10020", "Team", CustomKind::Select))
        .with_field(custom_field("customfield_10021", "Platforms", CustomKind::MultiSelect))
        .with_field(custom_field("customfield_10022", "Go-live", CustomKind::DateTime))
        .with_field(custom_field("customfield_10023", "Notes", CustomKind::TextArea))
        .with_field(custom_field("customfield_10024", "Reviewer", CustomKind::User));
    (Arc::new(site), hands)
}

fn text(s: &str) -> FieldValue {
    FieldValue::Text(s.into())
}

fn strings(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

fn alice() -> UserRef {
    UserRef {
        account_id: Some("5b10ac8d82e05b22cc7d4ef5".into()),
        name: Some("alice".into()),
        key: Some("JIRAUSER10100".into()),
        email: Some("Alice@Example.com".into()),
        display_name: Some("Alice Example".into()),
    }
}

/// One value of every kind, with the field that holds it.
fn every_kind(parent: IssueRef) -> Vec<(&'static str, FieldValue)> {
    let day = NaiveDate::from_ymd_opt(2024, 2, 29).unwrap();
    let go_live = parse_timestamp("2024-03-01T10:15:30.123+0100").unwrap();
    vec![
        ("summary", text("Checkout fails")),
        ("description", FieldValue::Rich(Doc::from_wiki("Some *bold* text\n\n* one\n* two"))),
        ("customfield_10023", FieldValue::Rich(Doc::plain("a note"))),
        ("customfield_10016", FieldValue::Number(5.0)),
        ("duedate", FieldValue::Date(day)),
        ("customfield_10022", FieldValue::DateTime(go_live)),
        ("customfield_10020", FieldValue::Option("Platform".into())),
        ("customfield_10021", FieldValue::Options(strings(&["iOS", "Android"]))),
        ("labels", FieldValue::Labels(strings(&["customer", "urgent"]))),
        ("components", FieldValue::Named(strings(&["Backend"]))),
        ("fixVersions", FieldValue::Named(strings(&["2.1", "2.2"]))),
        ("priority", FieldValue::Name("High".into())),
        ("assignee", FieldValue::User(alice())),
        ("customfield_10024", FieldValue::User(UserRef { display_name: None, email: None, ..alice() })),
        ("parent", FieldValue::Issue(parent)),
    ]
}

#[tokio::test]
async fn every_kind_written_reads_back_equal_on_both_flavours() {
    for flavour in BOTH {
        let (site, _) = site(flavour);
        let parent = site.put_issue(IssueSeed::new("EMEA-1").issue_type("Epic"));
        site.put_issue(IssueSeed::new("EMEA-2"));
        let catalogue = site.fields().await.unwrap();
        let mut writes = FieldWrites::new();
        for (id, value) in every_kind(parent.clone()) {
            writes.set(catalogue.by_id(id).unwrap(), value);
        }
        site.edit_issue("EMEA-2", &writes).await.unwrap();
        let issue = site.issue("EMEA-2", &[]).await.unwrap();
        for (id, value) in every_kind(parent.clone()) {
            let schema = catalogue.by_id(id).and_then(|f| f.schema.as_ref());
            assert_eq!(read_value(schema, &issue.fields[id]), value, "{flavour:?} {id}");
            assert_eq!(site.issue_value("EMEA-2", id), value, "{flavour:?} {id} accessor");
        }
        assert_eq!(issue.labels, ["customer", "urgent"]);
        assert_eq!(issue.parent, Some(parent));
        let rich = &issue.fields["description"];
        assert_eq!(rich.is_string(), flavour == Flavour::DataCenter, "wiki on Data Center, ADF on Cloud");

        let cleared = FieldWrites::new().with("summary", FieldValue::Empty).with("labels", FieldValue::Empty);
        site.edit_issue("EMEA-2", &cleared).await.unwrap();
        assert_eq!(site.issue_value("EMEA-2", "summary"), FieldValue::Empty);
        assert_eq!(site.issue_value("EMEA-2", "labels"), FieldValue::Labels(vec![]), "Jira shows no labels as []");
    }
}

#[tokio::test]
async fn users_written_by_id_are_shown_as_the_site_knows_them() {
    let (site, _) = site(Flavour::Cloud);
    site.add_user(alice());
    site.put_issue(IssueSeed::new("EMEA-1"));
    let by_id = UserRef { account_id: alice().account_id, ..UserRef::default() };
    site.edit_issue("EMEA-1", &FieldWrites::new().with("assignee", FieldValue::User(by_id))).await.unwrap();
    assert_eq!(site.issue_value("EMEA-1", "assignee"), FieldValue::User(alice()));
    // The real client refuses a Cloud user without an account id before sending.
    let by_mail = UserRef { email: alice().email, ..UserRef::default() };
    let e = site.edit_issue("EMEA-1", &FieldWrites::new().with("assignee", FieldValue::User(by_mail))).await;
    assert_eq!(e.unwrap_err().kind, ErrorKind::Refused);
}

#[tokio::test]
async fn a_create_carries_its_mark_and_is_found_by_it() {
    let (site, hands) = site(Flavour::DataCenter);
    site.put_issue(IssueSeed::new("APAC-7").id("10400"));
    hands.advance(1_000);
    let mark = Mark::of("delivery", "hub", "10042");
    let writes = FieldWrites::new().with("summary", text("Mirror")).with("labels", FieldValue::Labels(strings(&["x"])));
    let created = site.create_issue("APAC", "Story", &writes, Some(&mark)).await.unwrap();
    assert_eq!(created, IssueRef { id: IssueId::new("10401"), key: IssueKey::new("APAC-8") });
    assert_eq!(site.labels("APAC-8"), ["x", mark.as_str()]);
    assert_eq!(site.mark_of("APAC-8"), Some(mark.clone()));
    assert_eq!(site.status_of("APAC-8").as_deref(), Some("To Do"));
    assert_eq!(site.updated_ms("APAC-8"), Some(START_MS + 1_000));
    let issue = site.peek("APAC-8").unwrap();
    assert_eq!((issue.project.as_deref(), issue.issuetype.as_deref()), (Some("APAC"), Some("Story")));
    assert_eq!(site.find_by_mark("APAC", &mark).await.unwrap(), Some(created));
    assert_eq!(site.find_by_mark("EMEA", &mark).await.unwrap(), None);
    assert_eq!(site.find_by_mark("APAC", &Mark::of("delivery", "hub", "1")).await.unwrap(), None);
    let unmarked = site.create_issue("EMEA", "Task", &FieldWrites::new(), None).await.unwrap();
    assert_eq!(unmarked.key.as_str(), "EMEA-1");
    assert_eq!(site.mark_of("EMEA-1"), None);
}

#[tokio::test]
async fn a_lost_answer_applies_the_create_and_errs() {
    let (site, _) = site(Flavour::Cloud);
    let mark = Mark::of("delivery", "hub", "10042");
    site.lose_answer(FakeOp::Create);
    let e = site.create_issue("EMEA", "Task", &FieldWrites::new(), Some(&mark)).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Network);
    assert!(e.is_retriable() && !e.surely_not_applied());
    assert_eq!(e.call, "POST /rest/api/3/issue");
    assert!(site.exists("EMEA-1"));
    let found = site.find_by_mark("EMEA", &mark).await.unwrap();
    assert_eq!(found.map(|r| r.key), Some(IssueKey::new("EMEA-1")));
    // The fault was used up: the next create is answered.
    assert!(site.create_issue("EMEA", "Task", &FieldWrites::new(), None).await.is_ok());
    assert_eq!(site.count(FakeOp::Create), 2);
}

#[tokio::test]
async fn a_queued_failure_fails_once_changes_nothing_then_the_call_succeeds() {
    let (site, _) = site(Flavour::Cloud);
    site.put_issue(IssueSeed::new("EMEA-1").set("summary", text("before")));
    site.fail_next(FakeOp::Edit, bad_request(&[("summary", "Summary is too long.")], &["Nope."]));
    site.fail_next(FakeOp::Edit, rate_limited(Duration::from_secs(7)));
    site.fail_next(FakeOp::Delete, unavailable());
    let writes = FieldWrites::new().with("summary", text("after"));
    let first = site.edit_issue("EMEA-1", &writes).await.unwrap_err();
    assert_eq!((first.status(), first.call.as_str()), (Some(400), "PUT /rest/api/3/issue/EMEA-1"));
    assert_eq!(first.errors["summary"], "Summary is too long.");
    assert_eq!(first.messages, ["Nope."]);
    let second = site.edit_issue("EMEA-1", &writes).await.unwrap_err();
    assert!(second.is_rate_limited());
    assert_eq!(second.retry_after, Some(Duration::from_secs(7)));
    assert_eq!(site.issue_value("EMEA-1", "summary"), text("before"), "a failed call changes nothing");
    site.edit_issue("EMEA-1", &writes).await.unwrap();
    assert_eq!(site.issue_value("EMEA-1", "summary"), text("after"));
    assert_eq!(site.count(FakeOp::Edit), 3, "failed calls are recorded too");
    let e = site.delete_issue("EMEA-1").await.unwrap_err();
    assert_eq!(e.status(), Some(503));
    assert!(site.exists("EMEA-1"));
}

#[tokio::test]
async fn scoped_reads_leave_out_what_is_gone_moved_or_elsewhere() {
    let (site, _) = site(Flavour::Cloud);
    for key in ["EMEA-1", "EMEA-2", "EMEA-3", "EMEA-4", "APAC-1"] {
        site.put_issue(IssueSeed::new(key));
    }
    site.move_out_of_scope("EMEA-3");
    site.delete("EMEA-4");
    let emea_2 = site.id_of("EMEA-2").unwrap();
    let wanted = ["APAC-1", emea_2.as_str(), "emea-1", "EMEA-3", "EMEA-4", "NOPE-1"];
    let keys =
        |issues: Vec<crate::jira::model::Issue>| issues.into_iter().map(|i| i.key.to_string()).collect::<Vec<_>>();
    let read = |scope: Option<&'static str>| {
        let site = site.clone();
        async move { keys(site.issues(scope, &wanted, &["summary"]).await.unwrap()) }
    };
    assert_eq!(read(Some("project = EMEA")).await, ["EMEA-1", "EMEA-2"]);
    assert_eq!(read(Some("project in (emea, \"APAC\") AND labels = x")).await, ["APAC-1", "EMEA-1", "EMEA-2"]);
    assert_eq!(read(Some("filter = 10001")).await, ["APAC-1", "EMEA-1", "EMEA-2"], "unreadable: no restriction");
    assert_eq!(read(None).await, ["APAC-1", "EMEA-1", "EMEA-2"]);
    assert!(site.issue("EMEA-3", &[]).await.is_ok(), "an issue out of scope is still there");
    site.move_into_scope("EMEA-3");
    assert_eq!(read(Some("project = EMEA")).await, ["EMEA-1", "EMEA-2", "EMEA-3"]);
    assert_eq!(site.key_of(emea_2.as_str()), Some(IssueKey::new("EMEA-2")));
}

#[tokio::test]
async fn searches_page_by_update_then_key_with_the_fields_asked_for() {
    let (site, hands) = site(Flavour::DataCenter);
    for key in ["EMEA-10", "EMEA-2", "EMEA-3", "APAC-1"] {
        site.put_issue(IssueSeed::new(key).set("summary", text(key)).set("description", text("long")));
    }
    hands.advance(60_000);
    site.edit_as_person("EMEA-2", "summary", text("changed"));
    let jql = "project = EMEA ORDER BY updated ASC";
    let first = site.search_page(jql, &["summary"], 2, None).await.unwrap();
    let keys: Vec<&str> = first.issues.iter().map(|i| i.key.as_str()).collect();
    assert_eq!(keys, ["EMEA-3", "EMEA-10"], "same update time: key order");
    assert_eq!(first.next, Some(Cursor::StartAt(2)));
    let fields: Vec<&str> = first.issues[0].fields.keys().map(String::as_str).collect();
    assert_eq!(fields, ["status", "summary", "updated"]);
    let second = site.search_page(jql, &["summary"], 2, first.next).await.unwrap();
    assert_eq!(second.issues.len(), 1);
    assert_eq!(second.issues[0].key.as_str(), "EMEA-2");
    assert_eq!(second.issues[0].updated, parse_timestamp("2024-01-01T00:01:00.000+0000"));
    assert_eq!(second.next, None);
}

#[tokio::test]
async fn users_are_found_by_email_once_or_not_at_all() {
    let (site, _) = site(Flavour::Cloud);
    let twin =
        |id: &str| UserRef { account_id: Some(id.into()), email: Some("ops@example.com".into()), ..UserRef::default() };
    site.add_user(alice());
    site.add_user(twin("ops-1"));
    site.add_user(twin("ops-2"));
    assert_eq!(site.find_user_by_email("alice@EXAMPLE.com").await.unwrap(), Some(alice()));
    assert_eq!(site.find_user_by_email("nobody@example.com").await.unwrap(), None);
    let e = site.find_user_by_email("ops@example.com").await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Refused);
    assert!(e.to_string().contains("matches 2 users"), "{e}");
}

#[tokio::test]
async fn transitions_go_to_known_statuses_only() {
    let (site, hands) = site(Flavour::Cloud);
    site.put_issue(IssueSeed::new("EMEA-1"));
    let e = site.transition_to("EMEA-1", "Shipped").await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Refused);
    assert!(!e.is_retriable());
    assert!(e.to_string().contains("\"Shipped\""), "{e}");
    assert_eq!(site.status_of("EMEA-1").as_deref(), Some("To Do"));
    hands.advance(5);
    assert_eq!(site.transition_to("EMEA-1", "in progress").await.unwrap(), ["In Progress"]);
    assert_eq!(site.status_of("EMEA-1").as_deref(), Some("In Progress"));
    assert_eq!(site.updated_ms("EMEA-1"), Some(START_MS + 5));
    hands.advance(5);
    assert!(site.transition_to("EMEA-1", "In Progress").await.unwrap().is_empty());
    assert_eq!(site.updated_ms("EMEA-1"), Some(START_MS + 5), "already there: nothing changes");
    assert!(site.transition_to("EMEA-9", "Done").await.unwrap_err().is_not_found());
    // A status a test gives an issue exists from then on.
    site.put_issue(IssueSeed::new("EMEA-2").status("Blocked"));
    assert_eq!(site.transition_to("EMEA-1", "Blocked").await.unwrap(), ["Blocked"]);
    let status = site.peek("EMEA-1").and_then(|i| i.status).unwrap();
    assert_eq!((status.name.as_str(), status.category), ("Blocked", None));
    let done = site.issue("EMEA-2", &["status"]).await.unwrap();
    assert_eq!(done.status.map(|s| s.name), Some("Blocked".into()));
}

#[tokio::test]
async fn fields_no_screen_shows_are_refused_as_jira_refuses_them() {
    let (site, _) = site(Flavour::Cloud);
    site.put_issue(IssueSeed::new("EMEA-1").set("summary", text("before")));
    let writes = FieldWrites::new().with("summary", text("after")).with("customfield_99999", FieldValue::Number(1.0));
    let e = site.edit_issue("EMEA-1", &writes).await.unwrap_err();
    assert_eq!(e.status(), Some(400));
    assert_eq!(
        e.errors["customfield_99999"],
        "Field 'customfield_99999' cannot be set. It is not on the appropriate screen, or unknown."
    );
    assert!(e.detail.as_deref().is_some_and(|d| d.contains("edit screen")), "{e}");
    assert_eq!(site.issue_value("EMEA-1", "summary"), text("before"), "nothing applied");
    let status = site.edit_issue("EMEA-1", &FieldWrites::new().with("status", FieldValue::Name("Done".into()))).await;
    assert!(status.unwrap_err().errors.contains_key("status"));
    let missing = site.edit_issue("EMEA-9", &FieldWrites::new()).await.unwrap_err();
    assert!(missing.is_not_found());
    assert_eq!(missing.messages, [ISSUE_MISSING]);
}

#[tokio::test]
async fn a_create_screen_a_test_sets_is_enforced() {
    let (site, _) = site(Flavour::Cloud);
    site.add_project(project("EMEA", &["Backend"], &["2.1"]));
    let meta = site.create_meta("EMEA", "Task").await.unwrap();
    let components = meta.iter().find(|m| m.id == "components").unwrap();
    assert_eq!(components.allowed_values[0].name.as_deref(), Some("Backend"));
    assert!(meta.iter().any(|m| m.id == "summary" && m.required));
    assert_eq!(site.create_meta("EMEA", "Saga").await.unwrap_err().kind, ErrorKind::Refused);
    let screen: Vec<_> = meta.into_iter().filter(|m| m.id == "summary" || m.id == "labels").collect();
    site.set_create_screen("EMEA", "Task", screen);
    let writes = FieldWrites::new().with("priority", FieldValue::Name("High".into()));
    let e = site.create_issue("EMEA", "Task", &writes, None).await.unwrap_err();
    assert_eq!(e.errors.keys().collect::<Vec<_>>(), ["priority", "summary"]);
    assert!(!site.exists("EMEA-1"));
    assert_eq!(site.project("EMEA").await.unwrap().id, "10000");
    assert!(site.project("NOPE").await.unwrap_err().is_not_found());
}

#[tokio::test]
async fn calls_are_recorded_in_order_with_their_arguments() {
    let (site, _) = site(Flavour::Cloud);
    site.put_issue(IssueSeed::new("EMEA-1"));
    site.edit_as_person("EMEA-1", "summary", text("by a person"));
    assert!(site.calls().is_empty(), "people make no calls");
    let dyn_site: Arc<dyn Site> = site.clone();
    dyn_site.myself().await.unwrap();
    dyn_site.issue("EMEA-1", &["summary"]).await.unwrap();
    let writes = FieldWrites::new().with("summary", text("new"));
    dyn_site.edit_issue("EMEA-1", &writes).await.unwrap();
    dyn_site.add_label("EMEA-1", "jirafed-source-deleted").await.unwrap();
    dyn_site.transition_to("EMEA-1", "Nowhere").await.unwrap_err();
    dyn_site.delete_issue("EMEA-1").await.unwrap();
    let edit = FakeCall::Edit { key: "EMEA-1".into(), fields: vec![("summary".into(), text("new"))] };
    let add = FakeCall::AddLabel { key: "EMEA-1".into(), label: "jirafed-source-deleted".into() };
    let transition = FakeCall::Transition { key: "EMEA-1".into(), status: "Nowhere".into() };
    let delete = FakeCall::Delete { key: "EMEA-1".into() };
    assert_eq!(site.writes(), [edit.clone(), add.clone(), transition.clone(), delete.clone()]);
    let all = [FakeCall::Myself, FakeCall::Issue { key: "EMEA-1".into() }, edit, add, transition, delete];
    assert_eq!(site.take_calls(), all);
    assert!(site.calls().is_empty());
}

#[tokio::test]
async fn an_unreachable_site_fails_every_call_and_keeps_its_faults() {
    let (site, _) = site(Flavour::Cloud);
    assert_eq!(site.health().reach.reachable, Some(true));
    site.fail_next(FakeOp::Myself, unavailable());
    site.set_reachable(false);
    let e = site.myself().await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Connect);
    assert!(e.surely_not_applied());
    let health = site.health();
    assert_eq!(health.reach.reachable, Some(false));
    assert_eq!(health.reach.last_failure.map(|(at, _)| at), Some(START_MS));
    site.set_reachable(true);
    assert_eq!(site.myself().await.unwrap_err().status(), Some(503), "the queued fault waited");
    let me = site.myself().await.unwrap();
    assert_eq!((me.user.account_id.as_deref(), me.time_zone.as_deref()), (Some("sync-bot"), Some("UTC")));
}

#[tokio::test]
async fn people_change_issues_by_the_clock_without_calls() {
    let (site, hands) = site(Flavour::DataCenter);
    let seeded = site.put_issue(IssueSeed::new("EMEA-1").mark(&Mark::from_label("jirafed-x")));
    assert_eq!(site.labels("EMEA-1"), ["jirafed-x"]);
    hands.advance(90_000);
    site.edit_as_person("EMEA-1", "customfield_10016", FieldValue::Number(8.0));
    assert_eq!(site.updated_ms("EMEA-1"), Some(START_MS + 90_000));
    assert_eq!(site.issue_value("EMEA-1", "customfield_10016"), FieldValue::Number(8.0));
    site.transition_as_person("EMEA-1", "Done");
    assert_eq!(site.status_of("EMEA-1").as_deref(), Some("Done"));
    site.delete("EMEA-1");
    assert!(!site.exists(seeded.id.as_str()));
    let e = site.issue("EMEA-1", &[]).await.unwrap_err();
    assert!(e.is_not_found());
    assert_eq!(e.messages, [ISSUE_MISSING]);
    assert_eq!(site.count(FakeOp::Issue), 1);
    assert!(site.writes().is_empty());
}
