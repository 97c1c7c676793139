//! Field values across dialects: read from either dialect's JSON into one
//! [`FieldValue`] by the field's schema, and written back in the target
//! dialect's shape (ADF vs wiki, `accountId` vs `name`, options by value).

use std::collections::BTreeMap;

use chrono::{DateTime, FixedOffset, NaiveDate};
use serde_json::{Map, Value, json};

use super::model::{FieldInfo, FieldSchema, Issue, IssueRef, UserRef, parse_timestamp};
use super::richtext::Doc;
use crate::config::Flavour;

/// A value independent of the dialect it came from.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldValue {
    Empty,
    Text(String),
    Rich(Doc),
    Number(f64),
    Date(NaiveDate),
    DateTime(DateTime<FixedOffset>),
    /// A select option, by its value.
    Option(String),
    /// A multi-select, by values.
    Options(Vec<String>),
    Labels(Vec<String>),
    /// Components or versions, by name.
    Named(Vec<String>),
    /// Priority, resolution, issue type: by name.
    Name(String),
    User(UserRef),
    Issue(IssueRef),
    /// Anything else, kept as Jira sent it.
    Other(Value),
}

/// How a field's values are shaped, from its schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueKind {
    Text,
    Rich,
    Number,
    Date,
    DateTime,
    Option,
    Options,
    Labels,
    Named,
    Name,
    User,
    Issue,
    Other,
}

impl ValueKind {
    pub fn of(schema: Option<&FieldSchema>) -> ValueKind {
        let Some(s) = schema else { return ValueKind::Other };
        let custom = s.custom_short();
        match (s.kind.as_str(), s.items.as_deref(), s.system.as_deref(), custom) {
            ("string", _, Some("description" | "environment"), _) | ("string", _, _, Some("textarea")) => {
                ValueKind::Rich
            }
            ("string", ..) => ValueKind::Text,
            ("number", ..) => ValueKind::Number,
            ("date", ..) => ValueKind::Date,
            ("datetime", ..) => ValueKind::DateTime,
            ("option", ..) => ValueKind::Option,
            ("array", Some("option"), ..) => ValueKind::Options,
            ("array", Some("string"), ..) => ValueKind::Labels,
            ("array", Some("component" | "version"), ..) => ValueKind::Named,
            ("priority" | "resolution" | "issuetype" | "status", ..) => ValueKind::Name,
            ("user", ..) => ValueKind::User,
            ("issuelink", ..) => ValueKind::Issue,
            (_, _, _, Some("gh-epic-link")) => ValueKind::Issue,
            _ => ValueKind::Other,
        }
    }

    /// The kind a value has by itself, for a field whose schema is unknown.
    pub fn natural(value: &FieldValue) -> ValueKind {
        match value {
            FieldValue::Text(_) => ValueKind::Text,
            FieldValue::Rich(_) => ValueKind::Rich,
            FieldValue::Number(_) => ValueKind::Number,
            FieldValue::Date(_) => ValueKind::Date,
            FieldValue::DateTime(_) => ValueKind::DateTime,
            FieldValue::Option(_) => ValueKind::Option,
            FieldValue::Options(_) => ValueKind::Options,
            FieldValue::Labels(_) => ValueKind::Labels,
            FieldValue::Named(_) => ValueKind::Named,
            FieldValue::Name(_) => ValueKind::Name,
            FieldValue::User(_) => ValueKind::User,
            FieldValue::Issue(_) => ValueKind::Issue,
            FieldValue::Empty | FieldValue::Other(_) => ValueKind::Other,
        }
    }

    /// Whether values of `self` can be written into a field of kind `other`.
    pub fn compatible_with(self, other: ValueKind) -> bool {
        use ValueKind::*;
        self == other
            || matches!(
                (self, other),
                (Text, Rich)
                    | (Rich, Text)
                    | (Option, Name)
                    | (Name, Option)
                    | (Option, Text)
                    | (Name, Text)
                    | (Labels, Options)
                    | (Options, Labels)
            )
    }
}

fn strings(v: &Value, key: Option<&str>) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| match key {
                    Some(k) => x.get(k).and_then(Value::as_str),
                    None => x.as_str(),
                })
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

impl Issue {
    /// The value of `field` on this issue (`Empty` when the issue lacks it).
    pub fn value(&self, field: &FieldInfo) -> FieldValue {
        read_value(field.schema.as_ref(), self.fields.get(&field.id).unwrap_or(&Value::Null))
    }
}

/// Reads a raw field value by its schema.
pub fn read_value(schema: Option<&FieldSchema>, raw: &Value) -> FieldValue {
    if raw.is_null() {
        return FieldValue::Empty;
    }
    let name = |v: &Value| v.get("name").or_else(|| v.get("value")).and_then(Value::as_str).map(str::to_string);
    let value = match ValueKind::of(schema) {
        ValueKind::Text => raw.as_str().map(|s| FieldValue::Text(s.to_string())),
        ValueKind::Rich => match raw {
            Value::String(w) => Some(FieldValue::Rich(Doc::from_wiki(w))),
            Value::Object(_) => Some(FieldValue::Rich(Doc::from_adf(raw))),
            _ => None,
        },
        ValueKind::Number => raw.as_f64().map(FieldValue::Number),
        ValueKind::Date => {
            raw.as_str().and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok()).map(FieldValue::Date)
        }
        ValueKind::DateTime => raw.as_str().and_then(parse_timestamp).map(FieldValue::DateTime),
        ValueKind::Option => raw.get("value").and_then(Value::as_str).map(|v| FieldValue::Option(v.to_string())),
        ValueKind::Options => Some(FieldValue::Options(strings(raw, Some("value")))),
        ValueKind::Labels => Some(FieldValue::Labels(strings(raw, None))),
        ValueKind::Named => Some(FieldValue::Named(strings(raw, Some("name")))),
        ValueKind::Name => name(raw).map(FieldValue::Name),
        ValueKind::User => UserRef::parse(raw).map(FieldValue::User),
        ValueKind::Issue => match raw {
            Value::String(key) => Some(FieldValue::Issue(IssueRef {
                id: crate::ids::IssueId::new(""),
                key: crate::ids::IssueKey::new(key.clone()),
            })),
            _ => IssueRef::parse(raw).map(FieldValue::Issue),
        },
        ValueKind::Other => None,
    };
    value.unwrap_or_else(|| FieldValue::Other(raw.clone()))
}

/// Writes a value in the `fields` shape a site of `flavour` expects for a
/// field with `schema`. `None` when the value cannot go into that field.
/// With no schema (a field the catalogue does not list), the value is
/// shaped by its own kind.
pub fn write_value(flavour: Flavour, schema: Option<&FieldSchema>, value: &FieldValue) -> Option<Value> {
    let kind = match schema {
        Some(_) => ValueKind::of(schema),
        None => ValueKind::natural(value),
    };
    Some(match (kind, value) {
        (_, FieldValue::Empty) => match kind {
            ValueKind::Labels | ValueKind::Options | ValueKind::Named => json!([]),
            _ => Value::Null,
        },
        (ValueKind::Rich, FieldValue::Rich(d)) => rich(flavour, d),
        (ValueKind::Rich, FieldValue::Text(t)) => rich(flavour, &Doc::plain(t)),
        (ValueKind::Text, FieldValue::Text(t)) => json!(t),
        (ValueKind::Text, FieldValue::Rich(d)) => json!(d.to_plain_text()),
        (ValueKind::Text, FieldValue::Option(t) | FieldValue::Name(t)) => json!(t),
        (ValueKind::Number, FieldValue::Number(n)) => json!(n),
        (ValueKind::Date, FieldValue::Date(d)) => json!(d.format("%Y-%m-%d").to_string()),
        (ValueKind::Date, FieldValue::DateTime(t)) => json!(t.date_naive().format("%Y-%m-%d").to_string()),
        (ValueKind::DateTime, FieldValue::DateTime(t)) => json!(t.format("%Y-%m-%dT%H:%M:%S%.3f%z").to_string()),
        (ValueKind::Option, FieldValue::Option(v) | FieldValue::Name(v)) => json!({"value": v}),
        (ValueKind::Options, FieldValue::Options(v) | FieldValue::Labels(v)) => {
            v.iter().map(|x| json!({"value": x})).collect()
        }
        (ValueKind::Labels, FieldValue::Labels(v) | FieldValue::Options(v)) => json!(v),
        (ValueKind::Named, FieldValue::Named(v)) => v.iter().map(|x| json!({"name": x})).collect(),
        (ValueKind::Name, FieldValue::Name(v) | FieldValue::Option(v)) => json!({"name": v}),
        (ValueKind::User, FieldValue::User(u)) => user(flavour, u)?,
        (ValueKind::Issue, FieldValue::Issue(r)) if schema.and_then(|s| s.custom_short()) == Some("gh-epic-link") => {
            json!(r.key.as_str())
        }
        (ValueKind::Issue, FieldValue::Issue(r)) => json!({"key": r.key.as_str()}),
        (_, FieldValue::Other(v)) => v.clone(),
        _ => return None,
    })
}

/// Whether `value` can go into a field with `schema` on a site of `flavour`.
pub fn can_write(flavour: Flavour, schema: Option<&FieldSchema>, value: &FieldValue) -> bool {
    write_value(flavour, schema, value).is_some()
}

/// Field writes of one create or edit, dialect-neutral: per field id, the
/// value and the field's schema when known (it decides the JSON shape; a
/// field without one is shaped by its value). The client turns them into
/// its site's `fields` JSON.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FieldWrites(BTreeMap<String, (Option<FieldSchema>, FieldValue)>);

impl FieldWrites {
    pub fn new() -> FieldWrites {
        FieldWrites::default()
    }

    /// Sets a field the catalogue lists.
    pub fn set(&mut self, field: &FieldInfo, value: FieldValue) {
        self.0.insert(field.id.clone(), (field.schema.clone(), value));
    }

    /// Sets a field by id alone: its value decides the shape.
    pub fn set_id(&mut self, id: impl Into<String>, value: FieldValue) {
        self.0.insert(id.into(), (None, value));
    }

    /// [`FieldWrites::set_id`], chained.
    pub fn with(mut self, id: impl Into<String>, value: FieldValue) -> FieldWrites {
        self.set_id(id, value);
        self
    }

    pub fn get(&self, id: &str) -> Option<&FieldValue> {
        self.0.get(id).map(|(_, v)| v)
    }

    pub fn get_mut(&mut self, id: &str) -> Option<&mut FieldValue> {
        self.0.get_mut(id).map(|(_, v)| v)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Field id and value, in id order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &FieldValue)> {
        self.0.iter().map(|(id, (_, v))| (id.as_str(), v))
    }

    /// The `fields` object for a site of `flavour`; `Err` names the first
    /// field whose value it cannot take.
    pub fn to_json(&self, flavour: Flavour) -> Result<Map<String, Value>, String> {
        let mut out = Map::new();
        for (id, (schema, value)) in &self.0 {
            let json = write_value(flavour, schema.as_ref(), value)
                .ok_or_else(|| format!("field {id} cannot take the value {value:?}"))?;
            out.insert(id.clone(), json);
        }
        Ok(out)
    }
}

fn rich(flavour: Flavour, d: &Doc) -> Value {
    match flavour {
        Flavour::Cloud => d.to_adf(),
        Flavour::DataCenter => json!(d.to_wiki()),
    }
}

/// A user in the write shape: Cloud needs the `accountId`, Data Center the
/// `name`. `None` when the reference lacks what this dialect needs (the
/// caller resolves users by e-mail first).
fn user(flavour: Flavour, u: &UserRef) -> Option<Value> {
    match flavour {
        Flavour::Cloud => u.account_id.as_ref().map(|id| json!({"accountId": id})),
        Flavour::DataCenter => u.name.as_ref().map(|n| json!({"name": n})),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema(kind: &str, items: Option<&str>, system: Option<&str>, custom: Option<&str>) -> FieldSchema {
        FieldSchema {
            kind: kind.into(),
            items: items.map(Into::into),
            system: system.map(Into::into),
            custom: custom.map(|c| format!("com.atlassian.jira.plugin.system.customfieldtypes:{c}")),
        }
    }

    #[test]
    fn values_cross_dialects() {
        let desc = schema("string", None, Some("description"), None);
        let v = read_value(Some(&desc), &json!("Some *bold*"));
        let adf = write_value(Flavour::Cloud, Some(&desc), &v).unwrap();
        assert_eq!(adf["type"], "doc");
        let back = read_value(Some(&desc), &adf);
        assert_eq!(write_value(Flavour::DataCenter, Some(&desc), &back), Some(json!("Some *bold*")));

        let select = schema("option", None, None, Some("select"));
        let v = read_value(Some(&select), &json!({"self": "x", "value": "Platform", "id": "10001"}));
        assert_eq!(v, FieldValue::Option("Platform".into()));
        assert_eq!(write_value(Flavour::Cloud, Some(&select), &v), Some(json!({"value": "Platform"})));

        let user_schema = schema("user", None, Some("assignee"), None);
        let cloud_user = read_value(Some(&user_schema), &json!({"accountId": "abc", "emailAddress": "a@x"}));
        assert_eq!(write_value(Flavour::Cloud, Some(&user_schema), &cloud_user), Some(json!({"accountId": "abc"})));
        assert_eq!(write_value(Flavour::DataCenter, Some(&user_schema), &cloud_user), None, "needs a DC name first");

        let points = schema("number", None, None, Some("float"));
        assert_eq!(read_value(Some(&points), &json!(5)), FieldValue::Number(5.0));
        assert_eq!(read_value(Some(&points), &Value::Null), FieldValue::Empty);
        assert_eq!(write_value(Flavour::Cloud, Some(&points), &FieldValue::Empty), Some(Value::Null));
        let labels = schema("array", Some("string"), Some("labels"), None);
        assert_eq!(write_value(Flavour::Cloud, Some(&labels), &FieldValue::Empty), Some(json!([])));
        assert_eq!(write_value(Flavour::Cloud, Some(&points), &FieldValue::Labels(vec![])), None, "incompatible");
    }

    const BOTH: [Flavour; 2] = [Flavour::Cloud, Flavour::DataCenter];

    /// Reads `raw` by `schema`, checks the value, and checks that both
    /// dialects write `written` back.
    fn both_ways(schema: &FieldSchema, raw: Value, value: FieldValue, written: Value) {
        assert_eq!(read_value(Some(schema), &raw), value, "reading {raw}");
        for flavour in BOTH {
            assert_eq!(write_value(flavour, Some(schema), &value), Some(written.clone()), "{flavour:?} {value:?}");
        }
    }

    #[test]
    fn dates_are_days_and_keep_the_day_written() {
        let due = schema("date", None, Some("duedate"), None);
        let day = NaiveDate::from_ymd_opt(2024, 2, 29).unwrap();
        both_ways(&due, json!("2024-02-29"), FieldValue::Date(day), json!("2024-02-29"));
        let start = schema("date", None, None, Some("datepicker"));
        assert_eq!(read_value(Some(&start), &json!("29/02/2024")), FieldValue::Other(json!("29/02/2024")), "kept raw");
        // A date-time written into a date field keeps the day of its own
        // zone: late evening in Sydney is still that day there.
        let sydney = parse_timestamp("2024-02-29T23:30:00.000+1100").unwrap();
        for flavour in BOTH {
            assert_eq!(write_value(flavour, Some(&due), &FieldValue::DateTime(sydney)), Some(json!("2024-02-29")));
        }
    }

    #[test]
    fn datetimes_keep_their_instant_and_zone() {
        let when = schema("datetime", None, None, Some("datetime"));
        let berlin = parse_timestamp("2024-01-05T10:15:30.123+0100").unwrap();
        assert_eq!(berlin.offset().local_minus_utc(), 3600);
        both_ways(
            &when,
            json!("2024-01-05T10:15:30.123+0100"),
            FieldValue::DateTime(berlin),
            json!("2024-01-05T10:15:30.123+0100"),
        );
        // RFC 3339 with a half-hour zone, and UTC, come out in Jira's form.
        let kolkata = read_value(Some(&when), &json!("2024-01-05T14:45:30.123+05:30"));
        assert_eq!(kolkata, FieldValue::DateTime(berlin), "the same instant");
        let FieldValue::DateTime(k) = kolkata else { unreachable!() };
        assert_eq!(k.offset().local_minus_utc(), 19_800, "its zone is kept");
        for flavour in BOTH {
            assert_eq!(
                write_value(flavour, Some(&when), &FieldValue::DateTime(k)),
                Some(json!("2024-01-05T14:45:30.123+0530"))
            );
        }
        let utc = read_value(Some(&when), &json!("2024-01-05T09:15:30Z"));
        assert_eq!(write_value(Flavour::Cloud, Some(&when), &utc), Some(json!("2024-01-05T09:15:30.000+0000")));
        assert_eq!(read_value(Some(&when), &json!("yesterday")), FieldValue::Other(json!("yesterday")));
    }

    #[test]
    fn multi_options_components_versions_and_labels_go_by_name() {
        let multi = schema("array", Some("option"), None, Some("multiselect"));
        both_ways(
            &multi,
            json!([{"self": "x", "value": "Platform", "id": "10001"}, {"value": "Apps", "id": "10002"}]),
            FieldValue::Options(vec!["Platform".into(), "Apps".into()]),
            json!([{"value": "Platform"}, {"value": "Apps"}]),
        );
        let components = schema("array", Some("component"), Some("components"), None);
        both_ways(
            &components,
            json!([{"self": "x", "id": "10000", "name": "Backend"}, {"id": "10001", "name": "Web UI"}]),
            FieldValue::Named(vec!["Backend".into(), "Web UI".into()]),
            json!([{"name": "Backend"}, {"name": "Web UI"}]),
        );
        let versions = schema("array", Some("version"), Some("fixVersions"), None);
        both_ways(
            &versions,
            json!([{"id": "10100", "name": "2.1", "released": false, "archived": false}]),
            FieldValue::Named(vec!["2.1".into()]),
            json!([{"name": "2.1"}]),
        );
        let labels = schema("array", Some("string"), Some("labels"), None);
        both_ways(
            &labels,
            json!(["customer", "jirafed-emea-10001"]),
            FieldValue::Labels(vec!["customer".into(), "jirafed-emea-10001".into()]),
            json!(["customer", "jirafed-emea-10001"]),
        );
        // Labels and multi-options carry each other's values.
        for flavour in BOTH {
            let tags = FieldValue::Labels(vec!["a".into(), "b".into()]);
            assert_eq!(write_value(flavour, Some(&multi), &tags), Some(json!([{"value": "a"}, {"value": "b"}])));
            let chosen = FieldValue::Options(vec!["x".into()]);
            assert_eq!(write_value(flavour, Some(&labels), &chosen), Some(json!(["x"])));
            assert_eq!(write_value(flavour, Some(&components), &tags), None, "labels are no components");
            assert_eq!(write_value(flavour, Some(&versions), &FieldValue::Empty), Some(json!([])), "cleared");
        }
    }

    #[test]
    fn kinds_know_what_fits_where() {
        let num = ValueKind::of(Some(&schema("number", None, None, Some("float"))));
        let text = ValueKind::of(Some(&schema("string", None, Some("summary"), None)));
        let rich = ValueKind::of(Some(&schema("string", None, None, Some("textarea"))));
        assert_eq!((num, text, rich), (ValueKind::Number, ValueKind::Text, ValueKind::Rich));
        assert!(text.compatible_with(rich));
        assert!(!num.compatible_with(text));
    }
}
