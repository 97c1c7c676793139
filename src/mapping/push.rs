//! The plan of a mirror pushed from the primary (`create = "to_secondary"`
//! or `"both"`): the primary issue's values for every field that flows to
//! the secondary, translated back, and its status through the status map
//! to the secondary. The counterpart of a create in [`super::plan`].

use super::plan::{Plan, Side, Warning};
use super::rules::{FieldRule, Site, StatusRule};
use super::value::{Unmapped, Value};

/// The plan of the secondary issue to be made for `primary`. The shadow
/// records what the two will hold (empty for fields that do not flow
/// down, which the new issue is not given).
pub fn plan_push(rules: &[FieldRule], status: &StatusRule, primary: &Side) -> Plan {
    let mut out = Plan::default();
    for rule in rules {
        let key = &rule.key;
        if !rule.direction.includes_to_secondary() {
            out.shadow.values.insert(key.clone(), Value::Empty);
            continue;
        }
        let Some(p) = primary.values.get(key) else {
            out.warnings.push(Warning::MissingField { key: key.clone(), site: Site::Primary });
            continue;
        };
        let p = p.clone().normalise();
        match rule.translate_to_secondary(&p) {
            Ok(value) => {
                if !value.is_empty() {
                    out.to_secondary.insert(key.clone(), value);
                }
                out.shadow.values.insert(key.clone(), p);
            }
            Err(Unmapped(values)) => {
                out.warnings.push(Warning::UnmappedValue { key: key.clone(), site: Site::Primary, values })
            }
        }
    }
    if let (Some(current), false) = (primary.status.as_deref(), status.to_secondary.is_empty()) {
        match status.secondary_for(current) {
            Some(target) => {
                out.secondary_status = Some(target.to_owned());
                out.shadow.status_secondary = Some(target.to_owned());
                out.shadow.status_primary = Some(current.to_owned());
            }
            None => out.warnings.push(Warning::UnmappedStatus { site: Site::Primary, status: current.to_owned() }),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::mapping::Direction;

    fn rule(key: &str, direction: Direction, values: &[(&str, &str)]) -> FieldRule {
        FieldRule {
            values: values.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect(),
            ..FieldRule::new(key, direction)
        }
    }

    #[test]
    fn fields_flowing_down_are_given_translated_the_others_not() {
        let rules = [
            rule("summary", Direction::Both, &[]),
            rule("priority", Direction::ToSecondary, &[("High", "P2")]),
            rule("points", Direction::ToPrimary, &[]),
            rule("team", Direction::Both, &[("Red", "R")]),
        ];
        let values = BTreeMap::from([
            ("summary".to_string(), Value::Text("Epic".into())),
            ("priority".to_string(), Value::Choice("P2".into())),
            ("points".to_string(), Value::Number(3.0)),
            ("team".to_string(), Value::Choice("B".into())),
        ]);
        let status = StatusRule { to_primary: vec![], to_secondary: vec![("Doing".into(), "In Progress".into())] };
        let plan = plan_push(&rules, &status, &Side { values, status: Some("Doing".into()), updated_ms: 0 });
        assert_eq!(plan.to_secondary.get("summary"), Some(&Value::Text("Epic".into())));
        assert_eq!(plan.to_secondary.get("priority"), Some(&Value::Choice("High".into())), "translated back");
        assert!(!plan.to_secondary.contains_key("points"), "flows up only");
        assert_eq!(plan.shadow.values["points"], Value::Empty);
        assert!(!plan.to_secondary.contains_key("team") && !plan.shadow.values.contains_key("team"));
        assert_eq!(
            plan.warnings,
            [Warning::UnmappedValue { key: "team".into(), site: Site::Primary, values: vec!["B".into()] }]
        );
        assert_eq!(plan.secondary_status.as_deref(), Some("In Progress"));
        assert_eq!(plan.shadow.status_primary.as_deref(), Some("Doing"));
        assert!(plan.to_primary.is_empty() && plan.primary_status.is_none());
    }
}
