//! Properties over random links: no ping-pong, agreement writes nothing, maps round-trip.

use std::collections::BTreeMap;

use proptest::collection::{btree_set, vec};
use proptest::option::weighted;
use proptest::prelude::*;
use proptest::sample::select;

use super::Direction::{Both, ToPrimary, ToSecondary};
use super::{Conflict, FieldRule, Shadow, Side, StatusRule, Value, apply, pairs, plan};

const KEYS: [&str; 3] = ["f1", "f2", "f3"];
/// Few names, shared by both sides, so that echoes, agreements and unmapped values are all common.
const NAMES: &[&str] = &["a", "b", "c", "A", "B", "C", "z"];
const ONE_TO_ONE: &[(&str, &str)] = &[("a", "A"), ("b", "B"), ("c", "C")];
const MANY_TO_ONE: &[(&str, &str)] = &[("a", "A"), ("b", "A"), ("c", "C")];

fn name() -> impl Strategy<Value = String> {
    select(NAMES).prop_map(str::to_owned)
}

fn value() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Empty),
        name().prop_map(Value::Text),
        name().prop_map(Value::Choice),
        name().prop_map(Value::User),
        vec(name(), 0..3).prop_map(Value::Choices),
        (0i32..3).prop_map(|n| Value::Number(f64::from(n))),
    ]
}

/// A rule on `key`; a many-to-one map only where the field never flows to the secondary, as the
/// configuration guarantees.
fn rule(key: &'static str) -> impl Strategy<Value = FieldRule> {
    (select(vec![ToPrimary, ToSecondary, Both]), 0..3u8).prop_map(move |(direction, map)| {
        let values = match map {
            0 => vec![],
            1 => pairs(ONE_TO_ONE),
            _ if direction == ToPrimary => pairs(MANY_TO_ONE),
            _ => pairs(ONE_TO_ONE),
        };
        FieldRule { key: key.to_owned(), direction, values }
    })
}

fn rules() -> impl Strategy<Value = Vec<FieldRule>> {
    (rule(KEYS[0]), rule(KEYS[1]), rule(KEYS[2])).prop_map(|(a, b, c)| vec![a, b, c])
}

fn status_rule() -> impl Strategy<Value = StatusRule> {
    (any::<bool>(), any::<bool>()).prop_map(|(up, down)| StatusRule {
        to_primary: if up { pairs(MANY_TO_ONE) } else { vec![] },
        to_secondary: if down { pairs(&[("A", "a"), ("C", "c")]) } else { vec![] },
    })
}

fn status() -> impl Strategy<Value = Option<String>> {
    weighted(0.9, select(&["a", "b", "c", "A", "C", "z"][..]).prop_map(str::to_owned))
}

/// Values for the keys, each present with probability `present`.
fn entries(present: f64) -> impl Strategy<Value = BTreeMap<String, Value>> {
    vec(weighted(present, value()), KEYS.len())
        .prop_map(|values| KEYS.iter().zip(values).filter_map(|(k, v)| v.map(|v| ((*k).to_owned(), v))).collect())
}

fn side() -> impl Strategy<Value = Side> {
    (entries(0.95), status(), 0i64..3).prop_map(|(values, status, updated_ms)| Side { values, status, updated_ms })
}

fn shadow() -> impl Strategy<Value = Shadow> {
    (entries(0.7), status(), status()).prop_map(|(values, status_secondary, status_primary)| Shadow {
        values,
        status_secondary,
        status_primary,
        ..Shadow::default()
    })
}

fn conflict() -> impl Strategy<Value = Conflict> {
    select(vec![Conflict::PrimaryWins, Conflict::SecondaryWins, Conflict::NewestWins])
}

/// A one-to-one map between distinct secondary names and distinct primary names, shuffled.
fn one_to_one() -> impl Strategy<Value = Vec<(String, String)>> {
    btree_set("[a-z]{1,5}", 1..6).prop_flat_map(|names| {
        let secondary: Vec<String> = names.into_iter().collect();
        let primary: Vec<String> = secondary.iter().map(|n| format!("{}!", n.to_uppercase())).collect();
        (Just(secondary), Just(primary).prop_shuffle()).prop_map(|(s, p)| s.into_iter().zip(p).collect())
    })
}

/// No write or transition asks for what the side already holds.
fn nothing_rewritten(plan: &super::Plan, secondary: &Side, primary: Option<&Side>) -> bool {
    let holds = |side: Option<&Side>, key: &str, value: &Value| {
        side.and_then(|s| s.values.get(key)).is_some_and(|v| v.clone().normalise() == *value)
    };
    plan.to_primary.iter().all(|(k, v)| !holds(primary, k, v))
        && plan.to_secondary.iter().all(|(k, v)| !holds(Some(secondary), k, v))
        && (plan.primary_status.is_none() || plan.primary_status != primary.and_then(|p| p.status.clone()))
        && (plan.secondary_status.is_none() || plan.secondary_status != secondary.status)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Carrying out a plan and planning again with its shadow writes nothing: our own writes
    /// come back as echoes, never as new writes.
    #[test]
    fn an_echo_never_writes(
        rules in rules(),
        status in status_rule(),
        conflict in conflict(),
        mut secondary in side(),
        mut primary in weighted(0.85, side()),
        shadow in weighted(0.8, shadow()),
    ) {
        let first = plan(&rules, &status, conflict, &secondary, primary.as_ref(), shadow.as_ref());
        prop_assert!(nothing_rewritten(&first, &secondary, primary.as_ref()), "{:?}", first);
        apply(&rules, &first, &mut secondary, &mut primary);
        let second = plan(&rules, &status, conflict, &secondary, primary.as_ref(), Some(&first.shadow));
        prop_assert!(second.is_empty(), "first: {:?}\nsecond: {:?}", first, second);
        prop_assert!(second.conflicts.is_empty());
        prop_assert_eq!(&second.shadow, &first.shadow);
    }

    /// When both sides hold what the shadow says, nothing is written, transitioned or reported.
    #[test]
    fn agreement_writes_nothing(
        rules in rules(),
        status in status_rule(),
        conflict in conflict(),
        raw in vec(value(), KEYS.len()),
        (a, b) in (status(), status()),
        (s_ms, p_ms) in (0i64..3, 0i64..3),
    ) {
        let mut secondary = Side { values: BTreeMap::new(), status: a.clone(), updated_ms: s_ms };
        let mut primary = Side { values: BTreeMap::new(), status: b.clone(), updated_ms: p_ms };
        for (rule, raw) in rules.iter().zip(raw) {
            // A value the map cannot carry cannot be in agreement; such a field is left empty.
            let (s, p) = match rule.translate_to_primary(&raw) {
                Ok(p) => (raw, p),
                Err(_) => (Value::Empty, Value::Empty),
            };
            secondary.values.insert(rule.key.clone(), s);
            primary.values.insert(rule.key.clone(), p);
        }
        let agreed = Shadow { values: primary.values.clone(), status_secondary: a, status_primary: b, ..Shadow::default() };
        let got = plan(&rules, &status, conflict, &secondary, Some(&primary), Some(&agreed));
        prop_assert!(got.is_empty(), "{:?}", got);
        prop_assert!(got.conflicts.is_empty() && got.warnings.is_empty(), "{:?}", got);
        prop_assert_eq!(got.shadow, agreed);
    }

    /// A one-to-one map read forwards then backwards gives back the original value.
    #[test]
    fn one_to_one_maps_round_trip(map in one_to_one(), pick in vec(any::<prop::sample::Index>(), 0..4), kind in 0..4u8) {
        let names: Vec<String> = pick.iter().map(|i| map[i.index(map.len())].0.clone()).collect();
        let first = names.first().cloned().unwrap_or_default();
        let original = match kind {
            0 => Value::Choice(first),
            1 => Value::Text(first),
            2 => Value::User(first),
            _ => Value::Choices(names),
        };
        let rule = FieldRule { key: "f".into(), direction: Both, values: map };
        let there = rule.translate_to_primary(&original);
        prop_assert!(there.is_ok(), "{:?}", there);
        let back = there.and_then(|p| rule.translate_to_secondary(&p));
        prop_assert_eq!(back, Ok(original.normalise()));
    }
}
