//! The planner's decisions as tables: the state of two in-memory sites and
//! the store, the changes in the inbox, and what one pass must plan (jobs,
//! as text) and read (calls per site). No socket; the clock stands still
//! unless a case moves it.

use std::time::Duration;

use super::Pass;
use crate::config::{ConflictPolicy, Direction, ReadTarget};
use crate::jira::fake::{FakeCall, IssueSeed};
use crate::jira::values::FieldValue;
use crate::sync::in_flight::{Claim, SiteIssue};
use crate::sync::job::{Action, Job};
use crate::sync::testing::{By, FLOW, HUB_POINTS, Rig, T0, text};

/// A job as one line: `target-instance target action details`.
fn describe(instance: &str, job: &Job) -> String {
    let fields = |f: &std::collections::BTreeMap<String, crate::mapping::Value>| {
        f.iter().map(|(k, v)| format!("{k}={v:?}")).collect::<Vec<_>>().join(", ")
    };
    let target = job.target_key.as_deref().unwrap_or("-");
    match &job.action {
        Action::Create { project, issue_type, fields: f, status, mark, .. } => {
            let status = status.as_deref().map(|s| format!(" -> {s}")).unwrap_or_default();
            format!("{instance} create {project} {issue_type} [{}]{status} mark {mark}", fields(f))
        }
        Action::Update { fields: f, status, parent } => {
            let status = status.as_deref().map(|s| format!(" -> {s}")).unwrap_or_default();
            let parent = parent.as_ref().map(|p| format!(" parent {}={:?}", p.field, p.key)).unwrap_or_default();
            format!("{instance} {target} update [{}]{status}{parent}", fields(f))
        }
        Action::Unlink { delete_mirror, label, severed_label, ended } => {
            let ended = ended.as_deref().unwrap_or("-");
            format!("{instance} {target} unlink delete={delete_mirror} label={label} severed={severed_label} ({ended})")
        }
        Action::AddLink { link_type, from, to, .. } => format!("{instance} {target} add_link {from} {link_type} {to}"),
        Action::RemoveLink { link_id, .. } => format!("{instance} {target} remove_link {link_id}"),
        Action::RemoteLinks { upsert, delete } => {
            let ids: Vec<&str> = upsert.iter().map(|w| w.global_id.as_str()).collect();
            format!("{instance} {target} remote_links write {ids:?} delete {delete:?}")
        }
    }
}

fn jobs(rig: &Rig) -> Vec<String> {
    rig.jobs().iter().map(|(i, j)| describe(i, j)).collect()
}

/// The reads each site received (emea's, then hub's), as `site: KEY, KEY`
/// per call (ids shown as the keys they are).
fn reads(rig: &Rig) -> Vec<String> {
    let (emea, hub) = rig.calls();
    let mut out = Vec::new();
    for (name, calls) in [("emea", emea), ("hub", hub)] {
        let key = |id: &String| rig.site(name).key_of(id).map_or(id.clone(), |k| k.to_string());
        for call in calls {
            out.push(match &call {
                FakeCall::Issues { ids, .. } => {
                    format!("{name}: {}", ids.iter().map(key).collect::<Vec<_>>().join(", "))
                }
                FakeCall::Issue { key: k } => format!("{name}: {} (direct)", key(k)),
                other => panic!("{name}: a planner pass made {other:?}"),
            });
        }
    }
    out
}

// ---- a secondary change ----------------------------------------------------

#[tokio::test]
async fn a_secondary_issue_without_a_pair_is_planned_as_a_create() {
    let rig = Rig::new().await;
    let seed = IssueSeed::new("EMEA-7")
        .issue_type("Story")
        .status("In Progress")
        .set("summary", text("Login times out"))
        .set("priority", FieldValue::Name("High".into()))
        .set("customfield_10026", FieldValue::Number(3.0));
    let id = rig.issue("emea", seed);
    rig.change("emea", "EMEA-7", Some(By::Person)).await;

    assert_eq!(rig.plan().await, Pass::Progressed);
    assert_eq!(
        jobs(&rig),
        [format!(
            "hub create PORT Story [{HUB_POINTS}=Number(3.0), priority=Choice(\"High\"), summary=Text(\"Login times out\")] \
             -> In Progress mark jirafed-{FLOW}-emea-{id}"
        )]
    );
    assert_eq!(reads(&rig), ["emea: EMEA-7"], "the source is read, nothing else");
    assert!(rig.engine.in_flight.is_claimed(&Claim::Source(SiteIssue::new("emea", &id))));
    assert_eq!(rig.inbox_depth(), 0);
}

#[tokio::test]
async fn a_secondary_change_of_a_pair_plans_only_the_difference() {
    // (read_target, the primary's webhooks seen coming back, expected reads)
    let cases = [
        (ReadTarget::Always, true, vec!["emea: EMEA-1", "hub: PORT-1"]),
        (ReadTarget::Auto, true, vec!["emea: EMEA-1"]),
        (ReadTarget::Auto, false, vec!["emea: EMEA-1", "hub: PORT-1"]),
    ];
    for (read_target, echoes, want_reads) in cases {
        let rig = Rig::with(|c| c.flows[0].read_target = read_target).await;
        let link = rig.pair("Login").await;
        if echoes {
            rig.engine.activity.echoed("hub", T0);
        }
        rig.emea.edit_as_person("EMEA-1", "summary", text("Login v2"));
        rig.change("emea", "EMEA-1", Some(By::Person)).await;

        assert_eq!(rig.plan().await, Pass::Progressed);
        assert_eq!(jobs(&rig), ["hub PORT-1 update [summary=Text(\"Login v2\")]"], "{read_target:?} {echoes}");
        assert_eq!(reads(&rig), want_reads, "{read_target:?} echoes seen: {echoes}");
        assert!(rig.engine.in_flight.is_claimed(&Claim::Link(link.id)));
    }
}

/// Both sides of a pair changed and both changes are in one pass after
/// waiting in the inbox (behind a busy pair, or across a restart) longer
/// than the activity remembers: the secondary's plan covers the primary's,
/// so it reads the mirror, whatever `read_target = "auto"` would assume.
#[tokio::test]
async fn a_pass_with_both_sides_changed_reads_the_mirror_even_when_quiet() {
    let rig = Rig::with(|c| c.flows[0].read_target = ReadTarget::Auto).await;
    rig.pair("Login").await;
    rig.hub.edit_as_person("PORT-1", "summary", text("hub title"));
    rig.change("hub", "PORT-1", Some(By::Person)).await;
    rig.emea.edit_as_person("EMEA-1", "priority", FieldValue::Name("High".into()));
    rig.change("emea", "EMEA-1", Some(By::Person)).await;
    // Both waited in the inbox longer than the activity remembers.
    rig.time.advance(crate::sync::activity::HOT.as_millis() as i64 + 1);
    rig.engine.activity.echoed("hub", rig.time.now_ms());

    assert_eq!(rig.plan().await, Pass::Progressed);
    assert_eq!(
        jobs(&rig),
        ["hub PORT-1 update [priority=Choice(\"High\")]", "emea EMEA-1 update [summary=Text(\"hub title\")]"]
    );
    assert_eq!(rig.inbox_depth(), 0);
}

#[tokio::test]
async fn a_secondary_change_that_changes_nothing_mapped_plans_nothing() {
    let rig = Rig::new().await;
    let link = rig.pair("Login").await;
    rig.emea.edit_as_person("EMEA-1", "description", FieldValue::Text("not mapped".into()));
    rig.change("emea", "EMEA-1", Some(By::Person)).await;

    assert_eq!(rig.plan().await, Pass::Progressed, "the change is acknowledged");
    assert!(jobs(&rig).is_empty());
    assert!(!rig.engine.in_flight.is_claimed(&Claim::Link(link.id)));
    assert_eq!(rig.inbox_depth(), 0);
}

// ---- a primary change, per direction ----------------------------------------

#[tokio::test]
async fn a_primary_change_flows_down_as_the_fields_direction_allows() {
    let cases = [
        (Direction::Both, vec!["emea EMEA-1 update [summary=Text(\"Hub title\")]"]),
        (Direction::ToSecondary, vec!["emea EMEA-1 update [summary=Text(\"Hub title\")]"]),
        (Direction::ToPrimary, vec![]),
    ];
    for (direction, want) in cases {
        let rig = Rig::with(|c| c.flows[0].fields[0].direction = direction).await;
        rig.pair("Login").await;
        rig.hub.edit_as_person("PORT-1", "summary", text("Hub title"));
        rig.change("hub", "PORT-1", Some(By::Person)).await;

        assert_eq!(rig.plan().await, Pass::Progressed);
        assert_eq!(jobs(&rig), want, "{direction:?}");
        assert_eq!(reads(&rig), ["emea: EMEA-1", "hub: PORT-1"], "{direction:?}: the mirror and its source");
    }
}

// ---- both sides changed ------------------------------------------------------

#[tokio::test]
async fn both_sides_changed_is_decided_by_the_flows_policy() {
    let emea_wins = "hub PORT-1 update [summary=Text(\"from emea\")]";
    let hub_wins = "emea EMEA-1 update [summary=Text(\"from hub\")]";
    // (policy, hub edited after emea, expected job, winner)
    let cases = [
        (ConflictPolicy::PrimaryWins, true, hub_wins, "primary"),
        (ConflictPolicy::PrimaryWins, false, hub_wins, "primary"),
        (ConflictPolicy::SecondaryWins, true, emea_wins, "secondary"),
        (ConflictPolicy::NewestWins, true, hub_wins, "primary"),
        (ConflictPolicy::NewestWins, false, emea_wins, "secondary"),
    ];
    for (policy, hub_later, want, winner) in cases {
        let rig = Rig::with(|c| c.flows[0].conflict = policy).await;
        rig.pair("Login").await;
        let (first, second) = if hub_later { ("emea", "hub") } else { ("hub", "emea") };
        for site in [first, second] {
            let key = if site == "hub" { "PORT-1" } else { "EMEA-1" };
            rig.site(site).edit_as_person(key, "summary", text(&format!("from {site}")));
            rig.time.advance(1_000);
        }
        rig.change("emea", "EMEA-1", Some(By::Person)).await;

        assert_eq!(rig.plan().await, Pass::Progressed);
        assert_eq!(jobs(&rig), [want], "{policy:?} hub later: {hub_later}");
        let flows = rig.engine.observer.board.flows();
        let (_, flow) = flows.iter().find(|(n, _)| n == FLOW).expect("flow on the board");
        assert_eq!(flow.conflicts, 1, "{policy:?}");
        let conflict = flow.last_conflict.as_ref().expect("the conflict is kept");
        assert_eq!((conflict.field.as_str(), conflict.winner.as_str()), ("summary", winner));
        let audit = rig.store().audit_tail(10).expect("audit");
        assert_eq!(audit.len(), 1, "one audit record of the conflict");
    }
}

// ---- what is not planned now -------------------------------------------------

#[tokio::test]
async fn an_echo_of_jirafeds_own_write_is_acknowledged_unread() {
    for (site, key) in [("hub", "PORT-1"), ("emea", "EMEA-1")] {
        let rig = Rig::new().await;
        rig.pair("Login").await;
        rig.change(site, key, Some(By::Bot)).await;

        assert_eq!(rig.plan().await, Pass::Progressed);
        assert!(jobs(&rig).is_empty(), "{site}");
        assert!(reads(&rig).is_empty(), "{site}: nothing is read for an echo");
        assert_eq!(rig.inbox_depth(), 0, "{site}");
    }
}

#[tokio::test]
async fn a_pair_with_writes_in_flight_waits_without_being_read() {
    let rig = Rig::new().await;
    let link = rig.pair("Login").await;
    rig.engine.in_flight.claim(Claim::Link(link.id), SiteIssue::of_link(rig.engine.primary(), &link));
    for _ in 0..3 {
        rig.emea.edit_as_person("EMEA-1", "summary", text("edited"));
        rig.change("emea", "EMEA-1", Some(By::Person)).await;
    }
    rig.change("hub", "PORT-1", Some(By::Person)).await;

    rig.plan().await;
    assert!(jobs(&rig).is_empty());
    assert!(reads(&rig).is_empty());
    assert_eq!(rig.inbox_depth(), 2, "one change per issue is kept for later, the repeats are acknowledged");

    rig.engine.in_flight.release(&Claim::Link(link.id));
    assert_eq!(rig.plan().await, Pass::Progressed);
    assert_eq!(jobs(&rig), ["hub PORT-1 update [summary=Text(\"edited\")]"]);
    assert_eq!(rig.inbox_depth(), 0);
}

/// While jirafed writes a pair, a person edits the mirror and then the
/// echoes of jirafed's writes arrive (an issue write's, a link write's):
/// the person's edit is what is kept for later (an echo would be
/// acknowledged unread, and the edit lost with it).
#[tokio::test]
async fn a_persons_edit_waiting_behind_a_write_is_not_hidden_by_its_echo() {
    let rig = Rig::new().await;
    let link = rig.pair("Login").await;
    rig.issue("hub", IssueSeed::new("PORT-2").set("summary", text("other")).status("To Do"));
    rig.engine.in_flight.claim(Claim::Link(link.id), SiteIssue::of_link(rig.engine.primary(), &link));
    rig.hub.edit_as_person("PORT-1", "summary", text("hub title"));
    rig.change("hub", "PORT-1", Some(By::Person)).await;
    let ids = [link.primary_issue.clone(), rig.hub.id_of("PORT-2").expect("PORT-2").to_string()];
    rig.engine.link_echoes.expect("hub", &ids[0], &ids[1], rig.time.now_ms());
    rig.link_webhook("hub", ["PORT-1", "PORT-2"]).await;
    rig.change("hub", "PORT-1", Some(By::Bot)).await;

    rig.plan().await;
    assert!(jobs(&rig).is_empty());
    assert_eq!(rig.inbox_depth(), 1, "one change is kept for later");

    rig.engine.in_flight.release(&Claim::Link(link.id));
    assert_eq!(rig.plan().await, Pass::Progressed);
    assert_eq!(jobs(&rig), ["emea EMEA-1 update [summary=Text(\"hub title\")]"]);
    assert_eq!(rig.inbox_depth(), 0);
}

/// A person may edit a new mirror on the primary before jirafed has
/// recorded its pair (the create's answer is on its way): the change waits
/// for the create, then flows down; it is not taken for an unrelated issue.
#[tokio::test]
async fn an_edit_of_a_mirror_whose_pair_is_not_recorded_yet_waits_for_it() {
    let rig = Rig::new().await;
    let source = rig.issue("emea", IssueSeed::new("EMEA-7").set("summary", text("new")).status("To Do"));
    let creating = Claim::Source(SiteIssue::new("emea", &source));
    rig.engine.in_flight.claim(creating.clone(), vec![SiteIssue::new("emea", &source)]);
    let mirror = rig.issue("hub", IssueSeed::new("PORT-7").set("summary", text("hub title")).status("To Do"));
    rig.change("hub", "PORT-7", Some(By::Person)).await;

    rig.plan().await;
    assert!(jobs(&rig).is_empty());
    assert!(reads(&rig).is_empty());
    assert_eq!(rig.inbox_depth(), 1, "the change waits for the create");

    let link = crate::store::LinkRecord {
        id: 0,
        flow: FLOW.into(),
        secondary: "emea".into(),
        secondary_issue: source,
        secondary_key: "EMEA-7".into(),
        primary_issue: mirror,
        primary_key: "PORT-7".into(),
        created_ms: T0,
        by_hand: false,
        pushed: false,
    };
    let shadow = crate::sync::testing::shadow_of("new");
    rig.commit(vec![crate::store::Op::LinkWithShadow { link, shadow }]).await;
    rig.engine.in_flight.release(&creating);
    assert_eq!(rig.plan().await, Pass::Progressed);
    assert_eq!(jobs(&rig), ["emea EMEA-7 update [summary=Text(\"hub title\")]"]);
    assert_eq!(rig.inbox_depth(), 0);
}

#[tokio::test]
async fn a_change_goes_at_once_and_those_arriving_behind_its_write_settle() {
    let rig = Rig::new().await;
    rig.pair("Login").await;
    rig.emea.edit_as_person("EMEA-1", "summary", text("edit 0"));
    rig.change("emea", "EMEA-1", Some(By::Person)).await;
    assert_eq!(rig.plan_now().await, Pass::Progressed, "no wait for a change with no write in flight");
    assert_eq!(reads(&rig), ["emea: EMEA-1", "hub: PORT-1"]);
    assert_eq!(jobs(&rig), ["hub PORT-1 update [summary=Text(\"edit 0\")]"]);

    // Three more edits while that write is in flight.
    for n in 1..4 {
        rig.time.advance(5);
        rig.emea.edit_as_person("EMEA-1", "summary", text(&format!("edit {n}")));
        rig.change("emea", "EMEA-1", Some(By::Person)).await;
    }
    rig.plan_now().await;
    rig.write_next().await;
    rig.calls();
    // 5 ms after the last change: 15 ms more to settle.
    rig.time.advance(5);
    assert_eq!(rig.plan_now().await, Pass::Wait(Duration::from_millis(15)));
    assert!(reads(&rig).is_empty(), "nothing read meanwhile");

    rig.time.advance(15);
    assert_eq!(rig.plan_now().await, Pass::Progressed);
    assert_eq!(reads(&rig), ["emea: EMEA-1", "hub: PORT-1"], "three changes, one read of each side");
    assert_eq!(jobs(&rig), ["hub PORT-1 update [summary=Text(\"edit 3\")]"], "and one write");

    // Once that is planned, the next change goes at once again.
    rig.write_next().await;
    rig.time.advance(1);
    rig.emea.edit_as_person("EMEA-1", "summary", text("edit 4"));
    rig.change("emea", "EMEA-1", Some(By::Person)).await;
    assert_eq!(rig.plan_now().await, Pass::Progressed);
    assert_eq!(jobs(&rig), ["hub PORT-1 update [summary=Text(\"edit 4\")]"]);
}

#[tokio::test]
async fn a_steady_stream_is_held_no_longer_than_max_hold() {
    let rig = Rig::new().await;
    rig.pair("Login").await;
    rig.emea.edit_as_person("EMEA-1", "summary", text("edit 0"));
    rig.change("emea", "EMEA-1", Some(By::Person)).await;
    assert_eq!(rig.plan_now().await, Pass::Progressed, "the first change goes at once");
    rig.change("emea", "EMEA-1", Some(By::Person)).await;
    rig.plan_now().await;
    rig.write_next().await;
    let start = rig.time.now_ms();
    while rig.time.now_ms() - start < super::MAX_HOLD.as_millis() as i64 {
        rig.change("emea", "EMEA-1", Some(By::Person)).await;
        assert!(matches!(rig.plan_now().await, Pass::Wait(_)), "still settling");
        rig.time.advance(10);
    }
    rig.change("emea", "EMEA-1", Some(By::Person)).await;
    assert_eq!(rig.plan_now().await, Pass::Progressed, "held {} ms at most", super::MAX_HOLD.as_millis());
}

// ---- a source that is gone -----------------------------------------------------

#[tokio::test]
async fn a_source_moved_out_of_scope_unlinks_per_on_delete() {
    let rig = Rig::new().await;
    rig.pair("Login").await;
    rig.emea.move_out_of_scope("EMEA-1");
    rig.change("emea", "EMEA-1", None).await;

    assert_eq!(rig.plan().await, Pass::Progressed);
    assert_eq!(jobs(&rig), ["hub PORT-1 unlink delete=false label=true severed=false (source left the scope)"]);
}

#[tokio::test]
async fn a_failed_read_keeps_the_change_for_later() {
    let rig = Rig::new().await;
    rig.pair("Login").await;
    rig.emea.fail_next(crate::jira::fake::FakeOp::Issues, crate::jira::fake::unavailable());
    rig.change("emea", "EMEA-1", Some(By::Person)).await;

    rig.plan().await;
    assert!(jobs(&rig).is_empty());
    assert_eq!(rig.inbox_depth(), 1, "a 503 is retried: the change stays");
}

mod deps;

mod remote;

mod hierarchy;

mod push;

mod lifecycle;
