//! The three-way diff of one mapped field, in primary space.

use super::plan::{ConflictNote, Pair, Plan, Side, Warning};
use super::rules::{Direction, FieldRule, Site};
use super::value::{Unmapped, Value};

/// What the diff decided for one field, in primary space.
enum Step {
    /// The sides agree (or the edit does not flow): no write, the shadow takes this value.
    Agree(Value),
    /// Write this value to the primary.
    Up(Value),
    /// Write this value, translated back, to the secondary.
    Down(Value),
    /// The secondary's value has no translation: skip the field.
    Unmapped(Vec<String>),
}

/// A field of a mirror about to be created: every field flowing to the primary is written
/// unless empty; the shadow records what the new mirror will hold (empty for fields it is not
/// given).
pub(super) fn create(rule: &FieldRule, secondary: &Side, out: &mut Plan) {
    let key = &rule.key;
    if !rule.direction.includes_to_primary() {
        out.shadow.values.insert(key.clone(), Value::Empty);
        return;
    }
    let Some(raw) = secondary.values.get(key) else {
        out.warnings.push(Warning::MissingField { key: key.clone(), site: Site::Secondary });
        return;
    };
    match rule.translate_to_primary(raw) {
        Ok(value) => {
            if !value.is_empty() {
                out.to_primary.insert(key.clone(), value.clone());
            }
            out.shadow.values.insert(key.clone(), value);
        }
        Err(Unmapped(values)) => {
            out.warnings.push(Warning::UnmappedValue { key: key.clone(), site: Site::Secondary, values })
        }
    }
}

/// A field of an existing link, against its last agreed value `agreed` (primary space).
pub(super) fn sync(rule: &FieldRule, pair: &Pair<'_>, agreed: Option<&Value>, out: &mut Plan) {
    let key = &rule.key;
    let (Some(raw), Some(primary)) = (pair.secondary.values.get(key), pair.primary.values.get(key)) else {
        for (side, site) in [(pair.secondary, Site::Secondary), (pair.primary, Site::Primary)] {
            if !side.values.contains_key(key) {
                out.warnings.push(Warning::MissingField { key: key.clone(), site });
            }
        }
        keep(key, agreed, out);
        return;
    };
    let s = rule.translate_to_primary(raw);
    let p = primary.clone().normalise();
    let h = agreed.cloned().map(Value::normalise);
    let (step, note) = match rule.direction {
        Direction::ToPrimary => (to_primary_only(s, &p, h.as_ref()), None),
        Direction::ToSecondary => (to_secondary_only(s.ok(), p, h.as_ref()), None),
        Direction::Both => both_ways(s, p, h.as_ref(), pair, rule, raw),
    };
    apply(rule, step, note, agreed, out);
}

/// Secondary edits flow up; primary edits are left alone and never flow back.
fn to_primary_only(s: Result<Value, Unmapped>, p: &Value, h: Option<&Value>) -> Step {
    match s {
        Err(Unmapped(values)) => Step::Unmapped(values),
        Ok(s) if s.same(p) || h.is_some_and(|h| h.same(&s)) => Step::Agree(s),
        Ok(s) => Step::Up(s),
    }
}

/// Primary edits flow down; a secondary value without translation is simply overwritten when
/// the primary's value moves, since it never flows up.
fn to_secondary_only(s: Option<Value>, p: Value, h: Option<&Value>) -> Step {
    if s.is_some_and(|s| s.same(&p)) || h.is_some_and(|h| h.same(&p)) { Step::Agree(p) } else { Step::Down(p) }
}

/// Whichever side moved away from the shadow flows to the other; both moving differently is a
/// conflict for the policy. Without a shadow entry the secondary is the source.
fn both_ways(
    s: Result<Value, Unmapped>,
    p: Value,
    h: Option<&Value>,
    pair: &Pair<'_>,
    rule: &FieldRule,
    raw: &Value,
) -> (Step, Option<ConflictNote>) {
    let s = match s {
        Ok(s) => s,
        Err(Unmapped(values)) => return (Step::Unmapped(values), None),
    };
    if s.same(&p) {
        return (Step::Agree(s), None);
    }
    let Some(h) = h else { return (Step::Up(s), None) };
    if s.same(h) {
        return (Step::Down(p), None);
    }
    if p.same(h) {
        return (Step::Up(s), None);
    }
    let winner = pair.winner();
    let note = ConflictNote { key: rule.key.clone(), secondary: raw.clone().normalise(), primary: p.clone(), winner };
    match winner {
        Site::Primary => (Step::Down(p), Some(note)),
        Site::Secondary => (Step::Up(s), Some(note)),
    }
}

/// Records the decision: the write, the conflict note, and the new shadow entry. A field that
/// cannot be translated is skipped and keeps its old shadow entry, so it is retried every pass.
fn apply(rule: &FieldRule, step: Step, note: Option<ConflictNote>, agreed: Option<&Value>, out: &mut Plan) {
    let key = &rule.key;
    let value = match step {
        Step::Agree(value) => value,
        Step::Up(value) => {
            out.to_primary.insert(key.clone(), value.clone());
            value
        }
        Step::Down(value) => match rule.translate_to_secondary(&value) {
            Ok(secondary) => {
                out.to_secondary.insert(key.clone(), secondary);
                value
            }
            Err(Unmapped(values)) => {
                out.warnings.push(Warning::UnmappedValue { key: key.clone(), site: Site::Primary, values });
                keep(key, agreed, out);
                return;
            }
        },
        Step::Unmapped(values) => {
            out.warnings.push(Warning::UnmappedValue { key: key.clone(), site: Site::Secondary, values });
            keep(key, agreed, out);
            return;
        }
    };
    out.conflicts.extend(note);
    out.shadow.values.insert(key.clone(), value);
}

fn keep(key: &str, agreed: Option<&Value>, out: &mut Plan) {
    if let Some(agreed) = agreed {
        out.shadow.values.insert(key.to_owned(), agreed.clone());
    }
}
