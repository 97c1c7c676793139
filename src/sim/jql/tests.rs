//! Table-driven tests over a fixed set of eight issues in two projects.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use chrono_tz::{America, Europe, UTC};

use super::{EvalContext, JqlIssue, Query, parse};

pub(super) struct Fixture {
    pub key: &'static str,
    pub project: &'static str,
    pub issuetype: &'static str,
    pub status: &'static str,
    pub labels: Vec<String>,
    pub assignee: Option<Vec<String>>,
    pub reporter: Option<Vec<String>>,
    pub created: DateTime<Utc>,
    pub updated: DateTime<Utc>,
}

impl Fixture {
    pub fn view(&self) -> JqlIssue<'_> {
        JqlIssue {
            id: None,
            key: self.key,
            project: self.project,
            project_name: if self.project == "EMEA" { "Europe Middle East" } else { "Customer Portal" },
            issuetype: self.issuetype,
            status: self.status,
            labels: &self.labels,
            assignee: self.assignee.as_deref(),
            reporter: self.reporter.as_deref(),
            created: self.created,
            updated: self.updated,
        }
    }
}

pub(super) fn utc(s: &str) -> DateTime<Utc> {
    match DateTime::parse_from_rfc3339(s) {
        Ok(t) => t.with_timezone(&Utc),
        Err(e) => panic!("bad fixture timestamp {s}: {e}"),
    }
}

fn user(name: &str) -> Option<Vec<String>> {
    let ids: &[&str] = match name {
        "alice" => &["acc-alice", "alice", "alice@example.com", "Alice Liddell"],
        "bob" => &["acc-bob", "bob", "bob@example.com", "Bob O'Neil"],
        "carol" => &["acc-carol", "carol", "Carol \"CJ\" Jones"],
        "dave" => &["acc-dave", "dave"],
        _ => return None,
    };
    Some(ids.iter().map(|s| s.to_string()).collect())
}

fn labels(ls: &[&str]) -> Vec<String> {
    ls.iter().map(|s| s.to_string()).collect()
}

/// The fixture issues, listed in natural key order.
pub(super) fn issues() -> Vec<Fixture> {
    #[rustfmt::skip]
    #[allow(clippy::type_complexity)]
    let rows: [(&str, &str, &str, &str, &[&str], &str, &str, &str, &str); 8] = [
        ("EMEA-1", "EMEA", "Story", "To Do", &["backend", "urgent"], "alice", "bob",
         "2024-01-10T09:00:00Z", "2024-03-05T09:30:00Z"),
        ("EMEA-2", "EMEA", "Bug", "In Progress", &["frontend"], "bob", "alice",
         "2024-02-29T23:30:00Z", "2024-03-05T12:00:00Z"),
        ("EMEA-9", "EMEA", "Story", "In Progress", &["Backend"], "carol", "carol",
         "2024-03-20T10:00:00Z", "2024-03-31T01:00:00Z"),
        ("EMEA-10", "EMEA", "Task", "Done", &[], "", "alice",
         "2024-03-01T05:00:00Z", "2024-03-05T19:00:00Z"),
        ("PORT-1", "PORT", "Bug", "Open", &["urgent"], "alice", "",
         "2024-10-27T00:30:20Z", "2024-10-30T12:00:00Z"),
        ("PORT-2", "PORT", "Task", "Open", &["frontend", "needs review"], "dave", "bob",
         "2024-03-20T10:00:00Z", "2024-03-31T00:59:00Z"),
        ("PORT-3", "PORT", "Story", "Done", &[], "", "dave",
         "2024-10-27T01:30:00Z", "2024-11-01T11:58:00Z"),
        ("PORT-10", "PORT", "Bug", "Closed", &["legacy"], "bob", "alice",
         "2023-12-31T23:30:00Z", "2024-10-24T08:00:00Z"),
    ];
    rows.iter()
        .map(|&(key, project, issuetype, status, ls, assignee, reporter, created, updated)| Fixture {
            key,
            project,
            issuetype,
            status,
            labels: labels(ls),
            assignee: user(assignee),
            reporter: user(reporter),
            created: utc(created),
            updated: utc(updated),
        })
        .collect()
}

pub(super) const CURRENT_USER: &[&str] = &["alice@example.com", "acc-alice"];

pub(super) fn ctx(tz: Tz, current_user: &[String]) -> EvalContext<'_> {
    EvalContext { now: utc("2024-11-01T12:00:00Z"), tz, current_user }
}

pub(super) fn parsed(jql: &str) -> Query {
    match parse(jql) {
        Ok(q) => q,
        Err(e) => panic!("{jql:?} failed to parse: {e}"),
    }
}

/// Keys of the matching fixture issues, in fixture (natural key) order.
fn matching(jql: &str, tz: Tz) -> Vec<&'static str> {
    let query = parsed(jql);
    let me: Vec<String> = CURRENT_USER.iter().map(|s| s.to_string()).collect();
    let ctx = ctx(tz, &me);
    issues().iter().filter(|f| query.matches(&f.view(), &ctx)).map(|f| f.key).collect()
}

pub(super) const ALL: &[&str] = &["EMEA-1", "EMEA-2", "EMEA-9", "EMEA-10", "PORT-1", "PORT-2", "PORT-3", "PORT-10"];

fn all_but(excluded: &[&str]) -> Vec<&'static str> {
    ALL.iter().copied().filter(|k| !excluded.contains(k)).collect()
}

fn run_table(tz: Tz, table: &[(&str, &[&str])]) {
    let mut failures = Vec::new();
    for (jql, want) in table {
        let got = matching(jql, tz);
        if got != *want {
            failures.push(format!("{jql:?} in {tz}: want {want:?}, got {got:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn text_fields_lists_empty_and_case() {
    run_table(
        UTC,
        &[
            ("", ALL),
            ("   \n ", ALL),
            ("project = EMEA", &["EMEA-1", "EMEA-2", "EMEA-9", "EMEA-10"]),
            ("project = \"customer portal\"", &["PORT-1", "PORT-2", "PORT-3", "PORT-10"]),
            ("PROJECT = emea AND status = \"in progress\"", &["EMEA-2", "EMEA-9"]),
            ("project in (emea, 'Customer Portal')", ALL),
            ("project != EMEA", &["PORT-1", "PORT-2", "PORT-3", "PORT-10"]),
            ("issuetype = Story", &["EMEA-1", "EMEA-9", "PORT-3"]),
            ("type = bug", &["EMEA-2", "PORT-1", "PORT-10"]),
            ("status in (Open, Done)", &["EMEA-10", "PORT-1", "PORT-2", "PORT-3"]),
            ("status not in (Open, Done, Closed)", &["EMEA-1", "EMEA-2", "EMEA-9"]),
            ("status != Done", &all_but(&["EMEA-10", "PORT-3"])),
            ("labels = backend", &["EMEA-1", "EMEA-9"]),
            ("labels != urgent", &["EMEA-2", "EMEA-9", "PORT-2", "PORT-10"]),
            ("labels in (urgent, legacy)", &["EMEA-1", "PORT-1", "PORT-10"]),
            ("labels not in (frontend)", &["EMEA-1", "EMEA-9", "PORT-1", "PORT-10"]),
            ("labels is EMPTY", &["EMEA-10", "PORT-3"]),
            ("labels is not empty", &all_but(&["EMEA-10", "PORT-3"])),
            ("labels = EMPTY", &["EMEA-10", "PORT-3"]),
            ("labels in (EMPTY, legacy)", &["EMEA-10", "PORT-3", "PORT-10"]),
            ("labels = \"needs review\"", &["PORT-2"]),
            ("labels = 'NEEDS REVIEW'", &["PORT-2"]),
            ("labels = needs\\ review", &["PORT-2"]),
        ],
    );
}

#[test]
fn users_and_current_user() {
    run_table(
        UTC,
        &[
            ("assignee = alice", &["EMEA-1", "PORT-1"]),
            ("assignee = \"Alice Liddell\"", &["EMEA-1", "PORT-1"]),
            ("assignee = \"ALICE@EXAMPLE.COM\"", &["EMEA-1", "PORT-1"]),
            ("assignee = currentUser()", &["EMEA-1", "PORT-1"]),
            ("assignee = CURRENTUSER()", &["EMEA-1", "PORT-1"]),
            ("assignee != currentUser()", &["EMEA-2", "EMEA-9", "PORT-2", "PORT-10"]),
            ("assignee in (currentUser(), carol)", &["EMEA-1", "EMEA-9", "PORT-1"]),
            ("assignee is EMPTY", &["EMEA-10", "PORT-3"]),
            ("assignee = null", &["EMEA-10", "PORT-3"]),
            ("assignee != EMPTY", &all_but(&["EMEA-10", "PORT-3"])),
            ("assignee in (bob, dave)", &["EMEA-2", "PORT-2", "PORT-10"]),
            ("assignee not in (bob, dave)", &["EMEA-1", "EMEA-9", "PORT-1"]),
            ("reporter is null", &["PORT-1"]),
            ("reporter = 'Bob O\\'Neil'", &["EMEA-1", "PORT-2"]),
            ("reporter = \"Bob O'Neil\"", &["EMEA-1", "PORT-2"]),
            ("assignee = \"Carol \\\"CJ\\\" Jones\"", &["EMEA-9"]),
            ("reporter = \"acc-\\u0061lice\"", &["EMEA-2", "EMEA-10", "PORT-10"]),
        ],
    );
}

#[test]
fn precedence_parentheses_and_not() {
    run_table(
        UTC,
        &[
            // AND binds tighter than OR.
            (
                "project = PORT OR status = Done AND labels is EMPTY",
                &["EMEA-10", "PORT-1", "PORT-2", "PORT-3", "PORT-10"],
            ),
            ("(project = PORT OR status = Done) AND labels is EMPTY", &["EMEA-10", "PORT-3"]),
            ("NOT project = EMEA", &["PORT-1", "PORT-2", "PORT-3", "PORT-10"]),
            ("NOT (status = Open OR status = Done) AND project = PORT", &["PORT-10"]),
            // NOT of a clause that is false for an issue without labels matches it.
            ("project = EMEA AND NOT labels = urgent", &["EMEA-2", "EMEA-9", "EMEA-10"]),
            ("project = EMEA and not status in (\"To Do\", Done) or key = PORT-1", &["EMEA-2", "EMEA-9", "PORT-1"]),
            ("not not project = PORT and not not (type = Bug)", &["PORT-1", "PORT-10"]),
            ("project = PORT && !(status = Open) || key = EMEA-1", &["EMEA-1", "PORT-3", "PORT-10"]),
            ("((((status = Closed))))", &["PORT-10"]),
            ("project = emea aNd StAtUs In (\"to do\") OR Labels = LEGACY order BY key desc", &["EMEA-1", "PORT-10"]),
        ],
    );
}

#[test]
fn issue_keys() {
    run_table(
        UTC,
        &[
            ("key = EMEA-10", &["EMEA-10"]),
            ("issuekey = emea-9", &["EMEA-9"]),
            ("key > EMEA-2", &["EMEA-9", "EMEA-10"]),
            ("key >= PORT-2 and key <= PORT-3", &["PORT-2", "PORT-3"]),
            ("key < PORT-2", &["PORT-1"]),
            ("key in (EMEA-1, 'PORT-10')", &["EMEA-1", "PORT-10"]),
            ("key != EMEA-1", &all_but(&["EMEA-1"])),
            ("key not in (EMEA-1, EMEA-2, EMEA-9, EMEA-10)", &["PORT-1", "PORT-2", "PORT-3", "PORT-10"]),
            ("key = 10001", &[]),
        ],
    );
}

#[test]
fn absolute_dates_minute_semantics() {
    run_table(
        UTC,
        &[
            ("updated = \"2024-03-05 12:00\"", &["EMEA-2"]),
            ("updated = \"2024/03/05 09:30\"", &["EMEA-1"]),
            ("updated != \"2024-03-05 12:00\"", &all_but(&["EMEA-2"])),
            ("created in (\"2024-03-01 05:00\", \"2024/01/10 09:00\")", &["EMEA-1", "EMEA-10"]),
            ("created not in (\"2024-03-01 05:00\", \"2024/01/10 09:00\")", &all_but(&["EMEA-1", "EMEA-10"])),
            // Minute precision: created 00:30:20 equals the 00:30 literal ...
            ("created = \"2024-10-27 00:30\"", &["PORT-1"]),
            // ... while > compares instants, so it is also strictly after it.
            ("created > \"2024-10-27 00:30\"", &["PORT-1", "PORT-3"]),
            ("created >= \"2024-10-27 00:31\"", &["PORT-3"]),
            ("created <= \"2024-10-27 00:30\"", &all_but(&["PORT-1", "PORT-3"])),
            ("updatedDate >= \"2024-10-01\"", &["PORT-1", "PORT-3", "PORT-10"]),
            ("createdDate < '2024/01/10'", &["PORT-10"]),
            // An unquoted number is epoch milliseconds (2024-01-01T00:00Z).
            ("created < 1704067200000", &["PORT-10"]),
            ("updated >= \"2024-3-5 9:30\" and updated < \"2024-03-05 9:31\"", &["EMEA-1"]),
        ],
    );
}

#[test]
fn same_literal_differs_by_time_zone() {
    let window = "updated >= \"2024-03-05 10:00\" AND updated <= \"2024-03-05 23:59\"";
    // Berlin: 09:00Z..22:59Z; UTC: 10:00Z..23:59Z; Los Angeles: 18:00Z..07:59Z(+1).
    run_table(Europe::Berlin, &[(window, &["EMEA-1", "EMEA-2", "EMEA-10"])]);
    run_table(UTC, &[(window, &["EMEA-2", "EMEA-10"])]);
    run_table(America::Los_Angeles, &[(window, &["EMEA-10"])]);
}

#[test]
fn date_only_literals_are_local_midnight() {
    // EMEA-2 was created 2024-02-29 23:30Z, EMEA-10 2024-03-01 05:00Z.
    let day = "created >= \"2024-03-01\" AND created < \"2024/03/02\"";
    run_table(UTC, &[(day, &["EMEA-10"])]);
    run_table(Europe::Berlin, &[(day, &["EMEA-2", "EMEA-10"])]);
    run_table(America::Los_Angeles, &[(day, &[])]);
    // PORT-10 was created 2023-12-31 23:30Z: already 2024 in Berlin.
    let before_2024 = "created < \"2024-01-01\"";
    run_table(UTC, &[(before_2024, &["PORT-10"])]);
    run_table(Europe::Berlin, &[(before_2024, &[])]);
    run_table(America::Los_Angeles, &[(before_2024, &["PORT-10"])]);
}

#[test]
fn dst_gap_in_berlin() {
    // 2024-03-31 02:00-02:59 does not exist in Berlin; it means 03:00 CEST = 01:00Z.
    // EMEA-9 was updated at 01:00Z, PORT-2 at 00:59Z (01:59 CET).
    run_table(
        Europe::Berlin,
        &[
            ("updated >= \"2024-03-31 02:30\" AND updated < \"2024-04-01\"", &["EMEA-9"]),
            ("updated = \"2024-03-31 02:30\"", &["EMEA-9"]),
            ("updated = \"2024-03-31 03:00\"", &["EMEA-9"]),
            ("updated = \"2024-03-31 01:59\"", &["PORT-2"]),
            ("updated < \"2024-03-31 02:00\" and updated > \"2024-03-30\"", &["PORT-2"]),
        ],
    );
    run_table(UTC, &[("updated = \"2024-03-31 02:30\"", &[])]);
}

#[test]
fn dst_overlap_in_berlin() {
    // 2024-10-27 02:00-02:59 happens twice in Berlin; the earlier (CEST) wins:
    // 02:30 means 00:30Z. PORT-1 was created 00:30:20Z, PORT-3 01:30Z (02:30 CET).
    run_table(
        Europe::Berlin,
        &[
            ("created = \"2024-10-27 02:30\"", &["PORT-1"]),
            ("created > \"2024-10-27 02:30\"", &["PORT-1", "PORT-3"]),
            ("created >= \"2024-10-27 02:31\"", &["PORT-3"]),
            ("created >= \"2024-10-27\" and created < \"2024-10-28\"", &["PORT-1", "PORT-3"]),
        ],
    );
    run_table(UTC, &[("created = \"2024-10-27 02:30\"", &[]), ("created = \"2024-10-27 01:30\"", &["PORT-3"])]);
}

#[test]
fn relative_dates_and_functions() {
    // now = 2024-11-01 12:00Z.
    run_table(
        UTC,
        &[
            ("updated >= -5d", &["PORT-1", "PORT-3"]),
            ("updated >= \"-1w 2d\"", &["PORT-1", "PORT-3", "PORT-10"]),
            ("updated >= -1w", &["PORT-1", "PORT-3"]),
            ("updated >= '-1W'", &["PORT-1", "PORT-3"]),
            ("updated >= -2w", &["PORT-1", "PORT-3", "PORT-10"]),
            ("updated > \"-5m\"", &["PORT-3"]),
            ("updated >= -1m", &[]),
            ("updated >= \"-47h\"", &["PORT-3"]),
            ("updated < 4h", ALL),
            ("updated > 4h", &[]),
            ("updated < now()", ALL),
            ("updated <= endOfDay()", ALL),
            ("updated >= startOfDay()", &["PORT-3"]),
            ("updated = \"-2m\"", &["PORT-3"]),
        ],
    );
    // Berlin is UTC+1 on 2024-11-01, UTC+2 before 2024-10-27.
    run_table(
        Europe::Berlin,
        &[
            ("updated >= startOfDay()", &["PORT-3"]),
            ("updated >= startOfDay(-1d)", &["PORT-3"]),
            ("updated >= startOfDay(-2)", &["PORT-1", "PORT-3"]),
            ("updated >= startOfDay(\"-1w\") and updated <= endOfDay(-2d)", &["PORT-1"]),
            ("updated >= startofday(-1M)", &["PORT-1", "PORT-3", "PORT-10"]),
            ("updated > endOfDay(-1d)", &["PORT-3"]),
        ],
    );
    // Los Angeles is UTC-7 on 2024-11-01: the day began at 07:00Z.
    run_table(
        America::Los_Angeles,
        &[
            ("updated >= startOfDay()", &["PORT-3"]),
            ("updated >= startOfDay(-2d)", &["PORT-1", "PORT-3"]),
            ("updated >= startOfDay(\"+1d\")", &[]),
        ],
    );
}
