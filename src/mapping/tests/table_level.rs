//! Two issues paired by hand: the shadow of [`level_shadow`] makes the next
//! [`plan`] carry the winner's values and status to the other side, within
//! each rule's direction, and nothing the loser holds flows back.

use super::*;
use crate::mapping::{level_shadow, level_winner};

fn workflow() -> StatusRule {
    StatusRule {
        to_primary: pairs(&[("To Do", "Open"), ("In Progress", "Doing"), ("Done", "Done")]),
        to_secondary: pairs(&[("Open", "To Do"), ("Doing", "In Progress"), ("Done", "Done")]),
    }
}

fn rules() -> Vec<FieldRule> {
    vec![
        rule("summary", Direction::Both, &[]),
        rule("priority", Direction::Both, PRIORITY),
        rule("points", Direction::ToPrimary, &[]),
        rule("team", Direction::ToSecondary, &[]),
    ]
}

#[test]
fn the_winner_is_the_preference_else_the_conflict_policy() {
    let old = side(&[], None, 1);
    let new = side(&[], None, 2);
    let cases = [
        (Conflict::PrimaryWins, None, &old, &new, Site::Primary),
        (Conflict::SecondaryWins, None, &old, &new, Site::Secondary),
        (Conflict::NewestWins, None, &new, &old, Site::Secondary),
        (Conflict::NewestWins, None, &old, &new, Site::Primary),
        (Conflict::NewestWins, None, &old, &old, Site::Primary),
        (Conflict::PrimaryWins, Some(Site::Secondary), &old, &new, Site::Secondary),
        (Conflict::SecondaryWins, Some(Site::Primary), &old, &new, Site::Primary),
    ];
    for (conflict, prefer, secondary, primary, want) in cases {
        assert_eq!(level_winner(conflict, prefer, secondary, primary), want, "{conflict:?} {prefer:?}");
    }
}

#[test]
fn the_next_plan_carries_the_winner_to_the_loser_within_each_direction() {
    let secondary = side(
        &[("summary", text("S")), ("priority", choice("High")), ("points", Value::Number(3.0)), ("team", text("s"))],
        Some("In Progress"),
        1,
    );
    let primary = side(
        &[("summary", text("P")), ("priority", choice("P4")), ("points", Value::Number(5.0)), ("team", text("p"))],
        Some("Open"),
        2,
    );
    let (rules, status) = (rules(), workflow());

    // The secondary wins: its values go up where the rule lets them.
    let h = level_shadow(&rules, Site::Secondary, &secondary, &primary);
    let p = plan(&rules, &status, Conflict::PrimaryWins, &secondary, Some(&primary), Some(&h));
    assert_eq!(
        p.to_primary,
        values(&[("summary", text("S")), ("priority", choice("P2")), ("points", Value::Number(3.0))])
    );
    assert!(p.to_secondary.is_empty(), "team flows down only, and only when the primary moves: {:?}", p.to_secondary);
    assert_eq!((p.primary_status.as_deref(), p.secondary_status.as_deref()), (Some("Doing"), None));
    assert!(p.conflicts.is_empty(), "{:?}", p.conflicts);

    // The primary wins: its values go down where the rule lets them.
    let h = level_shadow(&rules, Site::Primary, &secondary, &primary);
    let p = plan(&rules, &status, Conflict::SecondaryWins, &secondary, Some(&primary), Some(&h));
    assert_eq!(p.to_secondary, values(&[("summary", text("P")), ("priority", choice("Low")), ("team", text("p"))]));
    assert!(p.to_primary.is_empty(), "points flow up only, and only when the secondary moves: {:?}", p.to_primary);
    assert_eq!((p.primary_status.as_deref(), p.secondary_status.as_deref()), (None, Some("To Do")));
    assert!(p.conflicts.is_empty(), "{:?}", p.conflicts);
}

#[test]
fn a_loser_value_without_translation_is_left_unknown() {
    let secondary = side(&[("priority", choice("Blocker"))], None, 1);
    let primary = side(&[("priority", choice("P1"))], None, 2);
    let h = level_shadow(&rules(), Site::Primary, &secondary, &primary);
    assert!(h.values.is_empty(), "{h:?}");
    let h = level_shadow(&rules(), Site::Secondary, &secondary, &primary);
    assert_eq!(h.values, values(&[("priority", choice("P1"))]));
}
