//! Field values in canonical form, and their translation through a rule's value map.

use serde::{Deserialize, Serialize};

/// A field value in canonical, comparable form (already dialect-neutral).
///
/// Build values freely; the planner calls [`Value::normalise`] on everything it reads, so two
/// values that mean the same to Jira compare equal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "t", content = "v")]
pub enum Value {
    /// No value: a cleared field.
    Empty,
    /// Plain text (summary, text custom fields).
    Text(String),
    /// Canonical rich text, compared as is.
    Rich(String),
    /// A number (story points, number custom fields).
    Number(f64),
    /// A calendar date, `yyyy-mm-dd`.
    Date(String),
    /// An instant, in milliseconds since the Unix epoch.
    DateTime(i64),
    /// One named choice: select option, priority, resolution.
    Choice(String),
    /// Several named choices: multi-select, labels, components, versions. Sorted and deduplicated.
    Choices(Vec<String>),
    /// A user, by e-mail address in lower case.
    User(String),
}

impl Value {
    /// The canonical form.
    ///
    /// Jira does not tell a cleared field from an empty one, so an empty string of any kind and
    /// an empty `Choices` become [`Value::Empty`]. `Choices` are sorted and deduplicated (empty
    /// names dropped); a `User` is lower-cased.
    pub fn normalise(self) -> Self {
        match self {
            Value::Text(s) | Value::Rich(s) | Value::Date(s) | Value::Choice(s) | Value::User(s) if s.is_empty() => {
                Value::Empty
            }
            Value::User(u) => Value::User(u.to_lowercase()),
            Value::Choices(mut names) => {
                names.retain(|n| !n.is_empty());
                names.sort();
                names.dedup();
                if names.is_empty() { Value::Empty } else { Value::Choices(names) }
            }
            other => other,
        }
    }

    /// Whether this is [`Value::Empty`].
    pub fn is_empty(&self) -> bool {
        matches!(self, Value::Empty)
    }

    /// Equality as the diff sees it: `==`, except that a NaN number equals itself, so a bad
    /// number cannot cause a write on every pass.
    pub(super) fn same(&self, other: &Value) -> bool {
        match (self, other) {
            (Value::Number(a), Value::Number(b)) => a == b || (a.is_nan() && b.is_nan()),
            _ => self == other,
        }
    }
}

/// Which way a value crosses: the map is read forwards towards the primary, backwards towards
/// the secondary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Way {
    ToPrimary,
    ToSecondary,
}

/// Names that a non-empty value map has no entry for. The field is not written: a translation
/// is reported, never guessed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unmapped(pub Vec<String>);

/// Translates `value` through `map` (pairs of secondary name, primary name).
///
/// An empty map is the identity. Text, choices, each element of `Choices` and users are
/// translated; rich text, numbers, dates and instants cross unchanged. Users are looked up
/// without regard to ASCII case (e-mail addresses), everything else exactly. When several pairs
/// match, the first wins. The result is normalised.
pub(super) fn translate(map: &[(String, String)], value: &Value, way: Way) -> Result<Value, Unmapped> {
    let value = value.clone().normalise();
    if map.is_empty() {
        return Ok(value);
    }
    let user = matches!(value, Value::User(_));
    let mut missing = Vec::new();
    let mut one = |name: &str| match lookup(map, name, way, user) {
        Some(found) => found.to_owned(),
        None => {
            missing.push(name.to_owned());
            String::new()
        }
    };
    let translated = match &value {
        Value::Text(s) => Value::Text(one(s)),
        Value::Choice(s) => Value::Choice(one(s)),
        Value::User(s) => Value::User(one(s)),
        Value::Choices(names) => Value::Choices(names.iter().map(|n| one(n)).collect()),
        Value::Empty | Value::Rich(_) | Value::Number(_) | Value::Date(_) | Value::DateTime(_) => value.clone(),
    };
    if missing.is_empty() { Ok(translated.normalise()) } else { Err(Unmapped(missing)) }
}

fn lookup<'m>(map: &'m [(String, String)], name: &str, way: Way, user: bool) -> Option<&'m str> {
    let matches = |candidate: &str| if user { candidate.eq_ignore_ascii_case(name) } else { candidate == name };
    map.iter().find_map(|(secondary, primary)| match way {
        Way::ToPrimary if matches(secondary) => Some(primary.as_str()),
        Way::ToSecondary if matches(primary) => Some(secondary.as_str()),
        _ => None,
    })
}
