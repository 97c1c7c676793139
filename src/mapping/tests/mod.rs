//! Tests drive [`plan`] only: tables of cases, and properties over random links.

mod props;
mod table_fields;
mod table_level;
mod table_status;

use std::collections::BTreeMap;

use super::{Conflict, Direction, FieldRule, Plan, Shadow, Side, Site, StatusRule, Value, Warning, plan};

/// Priority translation of the design's example flow.
const PRIORITY: &[(&str, &str)] = &[("Highest", "P1"), ("High", "P2"), ("Medium", "P3"), ("Low", "P4")];

fn text(s: &str) -> Value {
    Value::Text(s.to_owned())
}

fn choice(s: &str) -> Value {
    Value::Choice(s.to_owned())
}

fn choices(names: &[&str]) -> Value {
    Value::Choices(names.iter().map(|n| (*n).to_owned()).collect())
}

fn pairs(map: &[(&str, &str)]) -> Vec<(String, String)> {
    map.iter().map(|(a, b)| ((*a).to_owned(), (*b).to_owned())).collect()
}

fn values(entries: &[(&str, Value)]) -> BTreeMap<String, Value> {
    entries.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect()
}

fn rule(key: &str, direction: Direction, map: &[(&str, &str)]) -> FieldRule {
    FieldRule { key: key.to_owned(), direction, values: pairs(map) }
}

fn side(entries: &[(&str, Value)], status: Option<&str>, updated_ms: i64) -> Side {
    Side { values: values(entries), status: status.map(str::to_owned), updated_ms }
}

fn shadow(entries: &[(&str, Value)], status_secondary: Option<&str>, status_primary: Option<&str>) -> Shadow {
    Shadow {
        values: values(entries),
        status_secondary: status_secondary.map(str::to_owned),
        status_primary: status_primary.map(str::to_owned),
        ..Shadow::default()
    }
}

fn warn_unmapped(key: &str, site: Site, names: &[&str]) -> Warning {
    Warning::UnmappedValue { key: key.to_owned(), site, values: names.iter().map(|n| (*n).to_owned()).collect() }
}

fn warn_status(site: Site, status: &str) -> Warning {
    Warning::UnmappedStatus { site, status: status.to_owned() }
}

/// Carries out a plan's writes and transitions on the two sides, as the engine would. A created
/// mirror holds `Empty` in every mapped field it was not given.
fn apply(rules: &[FieldRule], plan: &Plan, secondary: &mut Side, primary: &mut Option<Side>) {
    let mirror = primary.get_or_insert_with(|| Side {
        values: rules.iter().map(|r| (r.key.clone(), Value::Empty)).collect(),
        status: None,
        updated_ms: secondary.updated_ms,
    });
    mirror.values.extend(plan.to_primary.clone());
    if let Some(status) = &plan.primary_status {
        mirror.status = Some(status.clone());
    }
    secondary.values.extend(plan.to_secondary.clone());
    if let Some(status) = &plan.secondary_status {
        secondary.status = Some(status.clone());
    }
}

/// One row of a table: the inputs of [`plan`] and everything the plan must hold.
#[derive(Default)]
struct Case {
    name: &'static str,
    rules: Vec<FieldRule>,
    status: StatusRule,
    conflict: Conflict,
    secondary: Side,
    primary: Option<Side>,
    shadow: Option<Shadow>,
    up: Vec<(&'static str, Value)>,
    down: Vec<(&'static str, Value)>,
    primary_status: Option<&'static str>,
    secondary_status: Option<&'static str>,
    /// The new shadow's values, exactly.
    agreed: Vec<(&'static str, Value)>,
    /// The new shadow's (secondary, primary) statuses.
    agreed_status: (Option<&'static str>, Option<&'static str>),
    conflicts: Vec<(&'static str, Site)>,
    warnings: Vec<Warning>,
}

/// Checks every row, then that carrying out its plan and planning again writes nothing.
fn run(cases: Vec<Case>) {
    for case in cases {
        let name = case.name;
        let got = plan(
            &case.rules,
            &case.status,
            case.conflict,
            &case.secondary,
            case.primary.as_ref(),
            case.shadow.as_ref(),
        );
        assert_eq!(got.to_primary, values(&case.up), "{name}: writes to the primary");
        assert_eq!(got.to_secondary, values(&case.down), "{name}: writes to the secondary");
        assert_eq!(got.primary_status.as_deref(), case.primary_status, "{name}: primary transition");
        assert_eq!(got.secondary_status.as_deref(), case.secondary_status, "{name}: secondary transition");
        assert_eq!(got.shadow.values, values(&case.agreed), "{name}: shadow values");
        let statuses = (got.shadow.status_secondary.as_deref(), got.shadow.status_primary.as_deref());
        assert_eq!(statuses, case.agreed_status, "{name}: shadow statuses");
        let conflicts: Vec<_> = got.conflicts.iter().map(|c| (c.key.as_str(), c.winner)).collect();
        assert_eq!(conflicts, case.conflicts, "{name}: conflicts");
        assert_eq!(got.warnings, case.warnings, "{name}: warnings");

        let (mut secondary, mut primary) = (case.secondary.clone(), case.primary.clone());
        apply(&case.rules, &got, &mut secondary, &mut primary);
        let again = plan(&case.rules, &case.status, case.conflict, &secondary, primary.as_ref(), Some(&got.shadow));
        assert!(again.is_empty(), "{name}: planning after the writes is not empty: {again:?}");
        assert_eq!(again.shadow, got.shadow, "{name}: the shadow moved after the writes");
    }
}

#[test]
fn shadow_round_trips_through_json() {
    let agreed = shadow(
        &[("summary", text("a")), ("labels", choices(&["x", "y"])), ("points", Value::Number(2.5))],
        Some("In Progress"),
        Some("Doing"),
    );
    let json = serde_json::to_string(&agreed);
    assert!(json.as_deref().is_ok_and(|j| j.contains(r#""summary":{"t":"Text","v":"a"}"#)), "{json:?}");
    let back: Result<Shadow, _> = json
        .as_deref()
        .map_err(|e| e.to_string())
        .and_then(|j| serde_json::from_str(j).map_err(|e: serde_json::Error| e.to_string()));
    assert_eq!(back, Ok(agreed));
}
