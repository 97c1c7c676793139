//! ORDER BY, the parsed tree's shape, and `literal_values`.

use chrono_tz::UTC;

use super::tests::{ALL, Fixture, ctx, issues, parsed};
use super::{JqlIssue, Query};

/// Keys of the matching fixture issues, sorted with `Query::compare`.
fn ordered(jql: &str) -> Vec<&'static str> {
    let query = parsed(jql);
    let me: Vec<String> = Vec::new();
    let ctx = ctx(UTC, &me);
    let fixtures = issues();
    let mut hits: Vec<JqlIssue<'_>> = fixtures.iter().map(Fixture::view).filter(|i| query.matches(i, &ctx)).collect();
    hits.sort_by(|a, b| query.compare(a, b));
    hits.iter()
        .map(|i| match fixtures.iter().find(|f| f.key == i.key) {
            Some(f) => f.key,
            None => panic!("unknown key {}", i.key),
        })
        .collect()
}

#[test]
fn order_by() {
    let natural = ALL.to_vec();
    assert_eq!(ordered(""), natural);
    assert_eq!(ordered("ORDER BY key"), natural);
    assert_eq!(ordered("order by issuekey asc"), natural);
    let mut reversed = natural.clone();
    reversed.reverse();
    assert_eq!(ordered("ORDER BY key DESC"), reversed);
    assert_eq!(ordered("project = EMEA ORDER BY key DESC"), ["EMEA-10", "EMEA-9", "EMEA-2", "EMEA-1"]);
    // created defaults to DESC; EMEA-9 and PORT-2 tie and fall back to key ASC.
    assert_eq!(
        ordered("ORDER BY created"),
        ["PORT-3", "PORT-1", "EMEA-9", "PORT-2", "EMEA-10", "EMEA-2", "EMEA-1", "PORT-10"]
    );
    assert_eq!(
        ordered("ORDER BY created ASC, key DESC"),
        ["PORT-10", "EMEA-1", "EMEA-2", "EMEA-10", "PORT-2", "EMEA-9", "PORT-1", "PORT-3"]
    );
    assert_eq!(ordered("status in (Open, Done) order by updatedDate asc"), ["EMEA-10", "PORT-2", "PORT-1", "PORT-3"]);
    assert_eq!(ordered("type = Bug ORDER BY updated DESC, created ASC"), ["PORT-1", "PORT-10", "EMEA-2"]);
}

#[test]
fn parsed_shape() {
    use super::{Clause, Field, Op, Operand, OrderField, OrderKey, Value};
    let q = parsed("status = Open OR NOT labels in (a, (b, EMPTY)) ORDER BY created, key");
    let want = Query {
        clause: Some(Clause::Or(vec![
            Clause::Cond { field: Field::Status, op: Op::Eq, operand: Operand::Single(Value::Text("Open".into())) },
            Clause::Not(Box::new(Clause::Cond {
                field: Field::Labels,
                op: Op::In,
                operand: Operand::List(vec![Value::Text("a".into()), Value::Text("b".into()), Value::Empty]),
            })),
        ])),
        order_by: vec![
            OrderKey { field: OrderField::Created, descending: true },
            OrderKey { field: OrderField::Key, descending: false },
        ],
    };
    assert_eq!(q, want);
    assert_eq!(parsed("ORDER BY updated").clause, None);
    let q = parsed("assignee = EMPTY");
    assert!(matches!(q.clause, Some(Clause::Cond { op: Op::Is, .. })));
}

#[test]
fn literal_values() {
    let q = parsed(
        "project in (EMEA, PORT) OR project = \"Customer Portal\" AND type = Bug \
         AND NOT project = EMEA AND key = emea-1 AND updated > \"-1d\" AND updated < now() \
         AND assignee in (currentUser(), bob, EMPTY)",
    );
    assert_eq!(q.literal_values("project"), ["EMEA", "PORT", "Customer Portal"]);
    assert_eq!(q.literal_values("PROJECT"), ["EMEA", "PORT", "Customer Portal"]);
    assert_eq!(q.literal_values("issuetype"), ["Bug"]);
    assert_eq!(q.literal_values("type"), ["Bug"]);
    assert_eq!(q.literal_values("issuekey"), ["emea-1"]);
    assert_eq!(q.literal_values("updated"), ["-1d"]);
    assert_eq!(q.literal_values("assignee"), ["bob"]);
    assert!(q.literal_values("status").is_empty());
    assert!(q.literal_values("nonsense").is_empty());
}
