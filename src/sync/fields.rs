//! A flow's field mappings resolved against both sites' field catalogues at
//! start, and the conversions between Jira values and the mapping module's
//! canonical values.

use std::collections::BTreeMap;

use crate::config::{Direction, FlowConfig};
use crate::jira::fields::FieldCatalogue;
use crate::jira::mark::is_mark;
use crate::jira::model::{FieldInfo, Issue, UserRef};
use crate::jira::richtext::Doc;
use crate::jira::values::{FieldValue, ValueKind};
use crate::mapping;

/// One mapped field, resolved on both sides.
#[derive(Debug, Clone)]
pub struct ResolvedField {
    /// The shadow key: the primary field id.
    pub key: String,
    pub secondary: FieldInfo,
    pub primary: FieldInfo,
    pub direction: Direction,
    pub values: Vec<(String, String)>,
}

/// Resolves every `[[flows.fields]]` of a flow, or explains each problem
/// (unknown or ambiguous names, incompatible types) for the start-up report.
pub fn resolve(
    flow: &FlowConfig,
    secondary: &FieldCatalogue,
    primary: &FieldCatalogue,
) -> Result<Vec<ResolvedField>, Vec<String>> {
    let mut out = Vec::new();
    let mut problems = Vec::new();
    for (i, m) in flow.fields.iter().enumerate() {
        let at = format!("flows[{}] {:?} fields[{i}]", flow.name.as_str(), flow.name.as_str());
        let (s, p) = match (secondary.resolve(&m.secondary), primary.resolve(&m.primary)) {
            (Ok(s), Ok(p)) => (s.clone(), p.clone()),
            (s, p) => {
                problems.extend(s.err().map(|e| format!("{at}.secondary: {e}")));
                problems.extend(p.err().map(|e| format!("{at}.primary: {e}")));
                continue;
            }
        };
        let (sk, pk) = (ValueKind::of(s.schema.as_ref()), ValueKind::of(p.schema.as_ref()));
        if !sk.compatible_with(pk) {
            problems.push(format!(
                "{at}: {} '{}' ({sk:?}) on {} cannot be mapped to {} '{}' ({pk:?}) on the primary",
                s.id,
                s.name,
                flow.secondary.as_str(),
                p.id,
                p.name
            ));
            continue;
        }
        out.push(ResolvedField {
            key: p.id.clone(),
            secondary: s,
            primary: p,
            direction: m.direction,
            values: m.values.iter().map(|(a, b)| (a.clone(), b.clone())).collect(),
        });
    }
    if problems.is_empty() { Ok(out) } else { Err(problems) }
}

pub fn rules(fields: &[ResolvedField]) -> Vec<mapping::FieldRule> {
    fields
        .iter()
        .map(|f| mapping::FieldRule {
            key: f.key.clone(),
            direction: match f.direction {
                Direction::ToPrimary => mapping::Direction::ToPrimary,
                Direction::ToSecondary => mapping::Direction::ToSecondary,
                Direction::Both => mapping::Direction::Both,
            },
            values: f.values.clone(),
        })
        .collect()
}

/// A Jira value in canonical form. Rich text compares as wiki markup, the
/// form both dialects can carry; users compare by e-mail.
pub fn canonical(v: &FieldValue) -> mapping::Value {
    use mapping::Value as V;
    let value = match v {
        FieldValue::Empty => V::Empty,
        FieldValue::Text(t) => V::Text(t.clone()),
        FieldValue::Rich(d) => V::Rich(d.to_wiki()),
        FieldValue::Number(n) => V::Number(*n),
        FieldValue::Date(d) => V::Date(d.format("%Y-%m-%d").to_string()),
        FieldValue::DateTime(t) => V::DateTime(t.timestamp_millis()),
        FieldValue::Option(o) | FieldValue::Name(o) => V::Choice(o.clone()),
        // jirafed's own labels (provenance marks) are not content.
        FieldValue::Labels(l) => V::Choices(l.iter().filter(|x| !is_mark(x)).cloned().collect()),
        FieldValue::Options(l) | FieldValue::Named(l) => V::Choices(l.clone()),
        FieldValue::User(u) => u.email.clone().map(|e| V::User(e.to_lowercase())).unwrap_or(V::Empty),
        FieldValue::Issue(r) => V::Text(r.key.as_str().to_string()),
        FieldValue::Other(o) => V::Text(o.to_string()),
    };
    value.normalise()
}

/// The status name of an issue as read (`None` when not read).
pub fn status_of(issue: &Issue) -> Option<String> {
    issue.status.as_ref().map(|s| s.name.clone())
}

/// A side of an issue for the planner: every mapped field's canonical value.
pub fn side(issue: &Issue, fields: &[ResolvedField], primary_side: bool, status: Option<String>) -> mapping::Side {
    let mut values = BTreeMap::new();
    for f in fields {
        let info = if primary_side { &f.primary } else { &f.secondary };
        values.insert(f.key.clone(), canonical(&issue.value(info)));
    }
    mapping::Side { values, status, updated_ms: issue.updated.map(|t| t.timestamp_millis()).unwrap_or(0) }
}

/// A canonical value back as a Jira value for a field of `kind`. Users are
/// given by e-mail and resolved by the writer on the target site.
pub fn to_jira(v: &mapping::Value, kind: ValueKind) -> FieldValue {
    use mapping::Value as V;
    match (v, kind) {
        (V::Empty, _) => FieldValue::Empty,
        (V::Rich(w), ValueKind::Rich) => FieldValue::Rich(Doc::from_wiki(w)),
        (V::Rich(w), _) => FieldValue::Text(Doc::from_wiki(w).to_plain_text()),
        (V::Text(t), ValueKind::Rich) => FieldValue::Rich(Doc::plain(t)),
        (V::Text(t), _) => FieldValue::Text(t.clone()),
        (V::Number(n), _) => FieldValue::Number(*n),
        (V::Date(d), _) => {
            chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").map(FieldValue::Date).unwrap_or(FieldValue::Empty)
        }
        (V::DateTime(ms), _) => chrono::DateTime::from_timestamp_millis(*ms)
            .map(|t| FieldValue::DateTime(t.fixed_offset()))
            .unwrap_or(FieldValue::Empty),
        (V::Choice(c), ValueKind::Name) => FieldValue::Name(c.clone()),
        (V::Choice(c), ValueKind::Text) => FieldValue::Text(c.clone()),
        (V::Choice(c), _) => FieldValue::Option(c.clone()),
        (V::Choices(l), ValueKind::Options) => FieldValue::Options(l.clone()),
        (V::Choices(l), ValueKind::Named) => FieldValue::Named(l.clone()),
        (V::Choices(l), _) => FieldValue::Labels(l.clone()),
        (V::User(e), _) => FieldValue::User(UserRef { email: Some(e.clone()), ..UserRef::default() }),
    }
}
