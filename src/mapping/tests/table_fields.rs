//! Field rows: each direction by who changed, conflicts under each policy, value maps, creation.

use super::Direction::{Both, ToPrimary, ToSecondary};
use super::{
    Case, Conflict, PRIORITY, Site, StatusRule, Value, Warning, choice, choices, rule, run, shadow, side, text,
    warn_status, warn_unmapped,
};

/// A `Both` summary edited to `s` on the secondary (at `s_ms`) and `p` on the primary (at `p_ms`) since `h`.
fn summary_conflict(name: &'static str, conflict: Conflict, s_ms: i64, p_ms: i64, winner: Site) -> Case {
    let (s, p) = (text("from secondary"), text("from primary"));
    let won = if winner == Site::Primary { p.clone() } else { s.clone() };
    let (up, down) = if winner == Site::Primary {
        (vec![], vec![("summary", p.clone())])
    } else {
        (vec![("summary", s.clone())], vec![])
    };
    Case {
        name,
        rules: vec![rule("summary", Both, &[])],
        conflict,
        secondary: side(&[("summary", s)], None, s_ms),
        primary: Some(side(&[("summary", p)], None, p_ms)),
        shadow: Some(shadow(&[("summary", text("old"))], None, None)),
        up,
        down,
        agreed: vec![("summary", won)],
        conflicts: vec![("summary", winner)],
        ..Case::default()
    }
}

/// One field under `direction` with values `s`, `p` and shadow entry `h`.
fn one(name: &'static str, direction: super::Direction, s: Value, p: Value, h: Option<Value>) -> Case {
    Case {
        name,
        rules: vec![rule("f", direction, &[])],
        secondary: side(&[("f", s)], None, 0),
        primary: Some(side(&[("f", p)], None, 0)),
        shadow: Some(shadow(&h.map(|h| vec![("f", h)]).unwrap_or_default(), None, None)),
        ..Case::default()
    }
}

#[test]
fn field_table() {
    let (a, b, c) = (text("a"), text("b"), text("c"));
    run(vec![
        Case {
            up: vec![("f", b.clone())],
            agreed: vec![("f", b.clone())],
            ..one("to_primary: secondary edited flows up", ToPrimary, b.clone(), a.clone(), Some(a.clone()))
        },
        Case {
            agreed: vec![("f", a.clone())],
            ..one("to_primary: primary edit never flows back", ToPrimary, a.clone(), b.clone(), Some(a.clone()))
        },
        Case {
            up: vec![("f", c.clone())],
            agreed: vec![("f", c.clone())],
            ..one("to_primary: both edited, secondary still flows up", ToPrimary, c.clone(), b.clone(), Some(a.clone()))
        },
        Case {
            up: vec![("f", a.clone())],
            agreed: vec![("f", a.clone())],
            ..one("to_primary: no shadow, secondary is the source", ToPrimary, a.clone(), b.clone(), None)
        },
        Case {
            down: vec![("f", b.clone())],
            agreed: vec![("f", b.clone())],
            ..one("to_secondary: primary edited flows down", ToSecondary, a.clone(), b.clone(), Some(a.clone()))
        },
        Case {
            agreed: vec![("f", a.clone())],
            ..one("to_secondary: secondary edit never flows up", ToSecondary, b.clone(), a.clone(), Some(a.clone()))
        },
        Case {
            down: vec![("f", b.clone())],
            agreed: vec![("f", b.clone())],
            ..one("to_secondary: no shadow, primary is the source", ToSecondary, a.clone(), b.clone(), None)
        },
        Case {
            up: vec![("f", b.clone())],
            agreed: vec![("f", b.clone())],
            ..one("both: only secondary changed", Both, b.clone(), a.clone(), Some(a.clone()))
        },
        Case {
            down: vec![("f", b.clone())],
            agreed: vec![("f", b.clone())],
            ..one("both: only primary changed", Both, a.clone(), b.clone(), Some(a.clone()))
        },
        Case {
            agreed: vec![("f", b.clone())],
            ..one("both: both changed to the same value", Both, b.clone(), b.clone(), Some(a.clone()))
        },
        Case {
            agreed: vec![("f", b.clone())],
            ..one("both: echo of our own write, shadow already stored", Both, b.clone(), b.clone(), Some(b.clone()))
        },
        Case {
            up: vec![("f", a.clone())],
            agreed: vec![("f", a.clone())],
            ..one("both: no shadow entry, secondary is the source", Both, a.clone(), b.clone(), None)
        },
        Case {
            agreed: vec![("f", Value::Empty)],
            ..one("text: empty string equals Empty", Both, text(""), Value::Empty, Some(a.clone()))
        },
        Case {
            agreed: vec![("f", choices(&["x", "y"]))],
            ..one(
                "choices: order and duplicates do not count",
                Both,
                choices(&["y", "x", "y"]),
                choices(&["x", "y"]),
                None,
            )
        },
        summary_conflict("conflict: primary wins", Conflict::PrimaryWins, 9, 1, Site::Primary),
        summary_conflict("conflict: secondary wins", Conflict::SecondaryWins, 1, 9, Site::Secondary),
        summary_conflict("conflict: newest wins, secondary newer", Conflict::NewestWins, 9, 1, Site::Secondary),
        summary_conflict("conflict: newest wins, primary newer", Conflict::NewestWins, 1, 9, Site::Primary),
        summary_conflict("conflict: newest wins, tie goes to the primary", Conflict::NewestWins, 5, 5, Site::Primary),
    ]);
}

#[test]
fn value_map_table() {
    let priority = |direction| vec![rule("priority", direction, PRIORITY)];
    run(vec![
        Case {
            name: "map forwards: Highest crosses as P1",
            rules: priority(Both),
            secondary: side(&[("priority", choice("Highest"))], None, 0),
            primary: Some(side(&[("priority", choice("P3"))], None, 0)),
            shadow: Some(shadow(&[("priority", choice("P3"))], None, None)),
            up: vec![("priority", choice("P1"))],
            agreed: vec![("priority", choice("P1"))],
            ..Case::default()
        },
        Case {
            name: "map backwards: P2 crosses as High",
            rules: priority(Both),
            secondary: side(&[("priority", choice("Medium"))], None, 0),
            primary: Some(side(&[("priority", choice("P2"))], None, 0)),
            shadow: Some(shadow(&[("priority", choice("P3"))], None, None)),
            down: vec![("priority", choice("High"))],
            agreed: vec![("priority", choice("P2"))],
            ..Case::default()
        },
        Case {
            name: "map: translated values equal is an echo",
            rules: priority(Both),
            secondary: side(&[("priority", choice("Low"))], None, 0),
            primary: Some(side(&[("priority", choice("P4"))], None, 0)),
            shadow: Some(shadow(&[("priority", choice("P1"))], None, None)),
            agreed: vec![("priority", choice("P4"))],
            ..Case::default()
        },
        Case {
            name: "unmapped secondary value: warned, not written, shadow kept",
            rules: priority(Both),
            secondary: side(&[("priority", choice("Blocker"))], None, 0),
            primary: Some(side(&[("priority", choice("P3"))], None, 0)),
            shadow: Some(shadow(&[("priority", choice("P3"))], None, None)),
            agreed: vec![("priority", choice("P3"))],
            warnings: vec![warn_unmapped("priority", Site::Secondary, &["Blocker"])],
            ..Case::default()
        },
        Case {
            name: "unmapped primary value on the way down: warned, not written",
            rules: priority(ToSecondary),
            secondary: side(&[("priority", choice("Medium"))], None, 0),
            primary: Some(side(&[("priority", choice("P0"))], None, 0)),
            shadow: Some(shadow(&[("priority", choice("P3"))], None, None)),
            agreed: vec![("priority", choice("P3"))],
            warnings: vec![warn_unmapped("priority", Site::Primary, &["P0"])],
            ..Case::default()
        },
        Case {
            name: "to_secondary: an untranslatable secondary value is overwritten when the primary moves",
            rules: priority(ToSecondary),
            secondary: side(&[("priority", choice("Blocker"))], None, 0),
            primary: Some(side(&[("priority", choice("P1"))], None, 0)),
            shadow: Some(shadow(&[("priority", choice("P3"))], None, None)),
            down: vec![("priority", choice("Highest"))],
            agreed: vec![("priority", choice("P1"))],
            ..Case::default()
        },
        Case {
            name: "choices: each element translated, result sorted",
            rules: vec![rule("components", ToPrimary, &[("Web", "Frontend"), ("API", "Backend")])],
            secondary: side(&[("components", choices(&["Web", "API"]))], None, 0),
            primary: Some(side(&[("components", Value::Empty)], None, 0)),
            up: vec![("components", choices(&["Backend", "Frontend"]))],
            agreed: vec![("components", choices(&["Backend", "Frontend"]))],
            ..Case::default()
        },
        Case {
            name: "choices: every unmapped element is reported",
            rules: vec![rule("components", Both, &[("Web", "Frontend")])],
            secondary: side(&[("components", choices(&["Web", "Ops", "DB"]))], None, 0),
            primary: Some(side(&[("components", Value::Empty)], None, 0)),
            warnings: vec![warn_unmapped("components", Site::Secondary, &["DB", "Ops"])],
            ..Case::default()
        },
        Case {
            name: "users: looked up ignoring case, written lower-case",
            rules: vec![rule("assignee", Both, &[("Ann@Emea.Example", "ann@hub.example")])],
            secondary: side(&[("assignee", Value::User("ANN@emea.example".into()))], None, 0),
            primary: Some(side(&[("assignee", Value::Empty)], None, 0)),
            shadow: Some(shadow(&[("assignee", Value::Empty)], None, None)),
            up: vec![("assignee", Value::User("ann@hub.example".into()))],
            agreed: vec![("assignee", Value::User("ann@hub.example".into()))],
            ..Case::default()
        },
        Case {
            name: "missing field: warned and skipped; shadow of a removed rule dropped",
            rules: vec![rule("summary", Both, &[])],
            secondary: side(&[("summary", text("a"))], None, 0),
            primary: Some(side(&[], None, 0)),
            shadow: Some(shadow(&[("summary", text("a")), ("gone", text("x"))], None, None)),
            agreed: vec![("summary", text("a"))],
            warnings: vec![Warning::MissingField { key: "summary".into(), site: Site::Primary }],
            ..Case::default()
        },
    ]);
}

#[test]
fn create_table() {
    let status = StatusRule {
        to_primary: super::pairs(&[("In Progress", "Doing"), ("Done", "Done")]),
        to_secondary: super::pairs(&[("Doing", "In Progress")]),
    };
    run(vec![
        Case {
            name: "create: up and both fields written unless empty, status mapped",
            rules: vec![
                rule("summary", Both, &[]),
                rule("points", ToPrimary, &[]),
                rule("due", ToPrimary, &[]),
                rule("priority", Both, PRIORITY),
                rule("owner", ToSecondary, &[]),
            ],
            status: status.clone(),
            secondary: side(
                &[
                    ("summary", text("Ship it")),
                    ("points", Value::Number(3.0)),
                    ("due", Value::Empty),
                    ("priority", choice("High")),
                    ("owner", Value::User("bob@emea.example".into())),
                ],
                Some("In Progress"),
                0,
            ),
            up: vec![("summary", text("Ship it")), ("points", Value::Number(3.0)), ("priority", choice("P2"))],
            primary_status: Some("Doing"),
            agreed: vec![
                ("summary", text("Ship it")),
                ("points", Value::Number(3.0)),
                ("due", Value::Empty),
                ("priority", choice("P2")),
                ("owner", Value::Empty),
            ],
            agreed_status: (Some("In Progress"), Some("Doing")),
            ..Case::default()
        },
        Case {
            name: "create: unmapped value and status are warned, not guessed",
            rules: vec![rule("priority", ToPrimary, PRIORITY), rule("summary", Both, &[])],
            status,
            secondary: side(&[("priority", choice("Blocker"))], Some("Triage"), 0),
            warnings: vec![
                warn_unmapped("priority", Site::Secondary, &["Blocker"]),
                Warning::MissingField { key: "summary".into(), site: Site::Secondary },
                warn_status(Site::Secondary, "Triage"),
            ],
            ..Case::default()
        },
    ]);
}

/// Kept out of the table, whose shadow check uses `==`: NaN must still count as unchanged.
#[test]
fn a_nan_number_is_not_rewritten() {
    let rules = [rule("f", Both, &[])];
    let nan = side(&[("f", Value::Number(f64::NAN))], None, 0);
    let agreed = shadow(&[("f", Value::Number(0.0))], None, None);
    let got = super::plan(&rules, &StatusRule::default(), Conflict::NewestWins, &nan, Some(&nan), Some(&agreed));
    assert!(got.is_empty(), "{got:?}");
    assert!(matches!(got.shadow.values.get("f"), Some(Value::Number(n)) if n.is_nan()), "{got:?}");
}
