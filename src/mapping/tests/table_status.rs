//! Status rows: who moved, many-to-one maps, unmapped statuses, conflicts, one-way maps.

use super::{Case, Conflict, Site, StatusRule, pairs, run, shadow, side, warn_status};

/// The design's example: two secondary statuses share the primary's "Doing".
fn workflow() -> StatusRule {
    StatusRule {
        to_primary: pairs(&[("To Do", "Open"), ("In Progress", "Doing"), ("In Review", "Doing"), ("Done", "Done")]),
        to_secondary: pairs(&[("Open", "To Do"), ("Doing", "In Progress"), ("Done", "Done")]),
    }
}

/// Statuses `a` (secondary, at `a_ms`) and `b` (primary, at `b_ms`), last seen in sync as `seen`.
fn statuses(
    name: &'static str,
    a: &str,
    b: &str,
    seen: Option<(&str, &str)>,
    (a_ms, b_ms): (i64, i64),
    conflict: Conflict,
) -> Case {
    Case {
        name,
        status: workflow(),
        conflict,
        secondary: side(&[], Some(a), a_ms),
        primary: Some(side(&[], Some(b), b_ms)),
        shadow: seen.map(|(sa, sb)| shadow(&[], Some(sa), Some(sb))),
        ..Case::default()
    }
}

fn moved(name: &'static str, a: &str, b: &str, seen: Option<(&str, &str)>) -> Case {
    statuses(name, a, b, seen, (0, 0), Conflict::PrimaryWins)
}

#[test]
fn status_table() {
    let one_way = |to_primary: bool| StatusRule {
        to_primary: if to_primary { workflow().to_primary } else { vec![] },
        to_secondary: if to_primary { vec![] } else { workflow().to_secondary },
    };
    run(vec![
        Case {
            primary_status: Some("Doing"),
            agreed_status: (Some("In Progress"), Some("Doing")),
            ..moved("status: secondary moved, primary follows", "In Progress", "Open", Some(("To Do", "Open")))
        },
        Case {
            agreed_status: (Some("In Review"), Some("Doing")),
            ..moved("status: many-to-one, target already current", "In Review", "Doing", Some(("In Progress", "Doing")))
        },
        Case {
            secondary_status: Some("Done"),
            agreed_status: (Some("Done"), Some("Done")),
            ..moved("status: primary moved, secondary follows", "In Progress", "Done", Some(("In Progress", "Doing")))
        },
        Case {
            agreed_status: (Some("In Review"), Some("Doing")),
            ..moved(
                "status: primary reopened to what In Review means",
                "In Review",
                "Doing",
                Some(("In Review", "Done")),
            )
        },
        Case {
            agreed_status: (Some("To Do"), Some("Open")),
            warnings: vec![warn_status(Site::Secondary, "Blocked")],
            ..moved("status: unmapped secondary status warned", "Blocked", "Open", Some(("To Do", "Open")))
        },
        Case {
            agreed_status: (Some("To Do"), Some("Open")),
            warnings: vec![warn_status(Site::Primary, "Parked")],
            ..moved("status: unmapped primary status warned", "To Do", "Parked", Some(("To Do", "Open")))
        },
        Case {
            secondary_status: Some("Done"),
            agreed_status: (Some("Done"), Some("Done")),
            conflicts: vec![("status", Site::Primary)],
            ..statuses(
                "status: conflict, primary wins",
                "To Do",
                "Done",
                Some(("In Progress", "Doing")),
                (9, 1),
                Conflict::PrimaryWins,
            )
        },
        Case {
            primary_status: Some("Open"),
            agreed_status: (Some("To Do"), Some("Open")),
            conflicts: vec![("status", Site::Secondary)],
            ..statuses(
                "status: conflict, newest (secondary) wins",
                "To Do",
                "Done",
                Some(("In Progress", "Doing")),
                (9, 1),
                Conflict::NewestWins,
            )
        },
        Case {
            secondary_status: Some("Done"),
            agreed_status: (Some("Done"), Some("Done")),
            conflicts: vec![("status", Site::Primary)],
            ..statuses(
                "status: conflict, newest tie goes to the primary",
                "To Do",
                "Done",
                Some(("In Progress", "Doing")),
                (4, 4),
                Conflict::NewestWins,
            )
        },
        Case {
            agreed_status: (Some("Done"), Some("Done")),
            ..moved("status: both moved to corresponding statuses", "Done", "Done", Some(("In Progress", "Doing")))
        },
        Case {
            primary_status: Some("Done"),
            agreed_status: (Some("Done"), Some("Done")),
            ..moved("status: no shadow, secondary is the source", "Done", "Open", None)
        },
        Case {
            agreed_status: (Some("Done"), Some("Done")),
            ..moved("status: echo of our own transition", "Done", "Done", Some(("Done", "Done")))
        },
        Case {
            status: one_way(true),
            agreed_status: (Some("To Do"), Some("Done")),
            ..moved("status: to_primary only, primary move stays", "To Do", "Done", Some(("To Do", "Open")))
        },
        Case {
            status: one_way(false),
            secondary_status: Some("Done"),
            agreed_status: (Some("Done"), Some("Done")),
            ..moved("status: to_secondary only, no shadow, primary is the source", "In Progress", "Done", None)
        },
        Case {
            status: one_way(false),
            agreed_status: (Some("In Progress"), Some("Doing")),
            ..moved("status: to_secondary only, already corresponding", "In Progress", "Doing", None)
        },
        Case {
            name: "status: unknown on one side, left alone",
            status: workflow(),
            secondary: side(&[], Some("Done"), 0),
            primary: Some(side(&[], None, 0)),
            shadow: Some(shadow(&[], Some("To Do"), Some("Open"))),
            agreed_status: (Some("To Do"), Some("Open")),
            ..Case::default()
        },
    ]);
}
