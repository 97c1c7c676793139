//! A walker over the merged figment tree that reads typed values and collects
//! every problem (with its origin and key path) instead of stopping at the
//! first, so `check` can report a broken config in one run.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

use figment::Figment;
use figment::error::Actual;
use figment::value::{Dict, Value};

/// One thing wrong with the configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The file or environment variable the value came from.
    pub origin: String,
    /// The key path, e.g. `flows[1].fields[0].direction`.
    pub path: String,
    /// What was wrong and what was expected.
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.path.is_empty() {
            write!(f, "{}: {}", self.origin, self.message)
        } else {
            write!(f, "{}: {}: {}", self.origin, self.path, self.message)
        }
    }
}

/// Shared state of one load: the figment (for value origins) and the
/// problems found so far.
pub struct Ctx<'a> {
    figment: &'a Figment,
    file: String,
    problems: RefCell<Vec<Problem>>,
    warnings: RefCell<Vec<Problem>>,
}

impl<'a> Ctx<'a> {
    pub fn new(figment: &'a Figment, file: &Path) -> Self {
        Self { figment, file: file.display().to_string(), problems: RefCell::default(), warnings: RefCell::default() }
    }

    /// Where a value came from: its file, or the environment variable that set it.
    pub fn origin(&self, value: Option<&Value>, path: &str) -> String {
        let Some(meta) = value.and_then(|v| self.figment.get_metadata(v.tag())) else {
            return self.file.clone();
        };
        if let Some(file) = meta.source.as_ref().and_then(|s| s.file_path()) {
            return file.display().to_string();
        }
        if meta.name.contains("environment") {
            let keys: Vec<&str> = path.split(['.', '[', ']']).filter(|k| !k.is_empty()).collect();
            let var = meta.interpolate(&figment::Profile::Default, &keys);
            return format!("environment variable {}", var.to_uppercase());
        }
        meta.name.to_string()
    }

    pub fn problem(&self, value: Option<&Value>, path: &str, message: impl Into<String>) {
        let origin = self.origin(value, path);
        self.problems.borrow_mut().push(Problem { origin, path: path.to_string(), message: message.into() });
    }

    pub fn warn(&self, value: Option<&Value>, path: &str, message: impl Into<String>) {
        let origin = self.origin(value, path);
        self.warnings.borrow_mut().push(Problem { origin, path: path.to_string(), message: message.into() });
    }

    pub fn has_problems(&self) -> bool {
        !self.problems.borrow().is_empty()
    }

    pub fn into_parts(self) -> (Vec<Problem>, Vec<Problem>) {
        (self.problems.into_inner(), self.warnings.into_inner())
    }
}

/// A closed set of string values a key accepts.
pub trait Choice: Sized + Copy + PartialEq + 'static {
    const ALL: &'static [(&'static str, Self)];
    /// Older spellings still accepted; never suggested in an error.
    const ALIASES: &'static [(&'static str, Self)] = &[];

    /// The value as the config file spells it.
    fn config_name(self) -> &'static str {
        Self::ALL.iter().find(|(_, v)| *v == self).map_or("?", |(n, _)| n)
    }
}

/// How a value is quoted in an error message: secrets never show.
pub fn describe(value: &Value, secret: bool) -> String {
    if secret {
        return "***".into();
    }
    match value {
        Value::String(_, s) => format!("{s:?}"),
        Value::Char(_, c) => format!("{c:?}"),
        Value::Bool(_, b) => b.to_string(),
        Value::Num(_, n) => match n.to_actual() {
            Actual::Unsigned(u) => u.to_string(),
            Actual::Signed(i) => i.to_string(),
            Actual::Float(f) => f.to_string(),
            _ => "a number".into(),
        },
        Value::Empty(_, _) => "an empty value".into(),
        Value::Dict(_, _) => "a table".into(),
        Value::Array(_, _) => "an array".into(),
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::String(..) | Value::Char(..) => "a string",
        Value::Bool(..) => "a boolean",
        Value::Num(..) => "a number",
        Value::Empty(..) => "an empty value",
        Value::Dict(..) => "a table",
        Value::Array(..) => "an array",
    }
}

/// One table of the config being read. Keys read through it are marked as
/// known; [`Table::finish`] reports the rest as unknown keys.
pub struct Table<'c, 'a> {
    pub ctx: &'c Ctx<'a>,
    pub path: String,
    dict: Option<&'c Dict>,
    used: RefCell<BTreeSet<String>>,
}

impl<'c, 'a> Table<'c, 'a> {
    pub fn root(ctx: &'c Ctx<'a>, dict: &'c Dict) -> Self {
        Self { ctx, path: String::new(), dict: Some(dict), used: RefCell::default() }
    }

    fn child_path(&self, key: &str) -> String {
        if self.path.is_empty() { key.to_string() } else { format!("{}.{key}", self.path) }
    }

    /// The raw value of `key`, marking it as known.
    pub fn get(&self, key: &str) -> Option<&'c Value> {
        self.used.borrow_mut().insert(key.to_string());
        self.dict.and_then(|d| d.get(key))
    }

    pub fn contains(&self, key: &str) -> bool {
        self.dict.is_some_and(|d| d.contains_key(key))
    }

    /// Reports a problem about `key` of this table.
    pub fn problem(&self, key: &str, message: impl Into<String>) {
        let v = self.dict.and_then(|d| d.get(key));
        self.ctx.problem(v, &self.child_path(key), message);
    }

    pub fn warn(&self, key: &str, message: impl Into<String>) {
        let v = self.dict.and_then(|d| d.get(key));
        self.ctx.warn(v, &self.child_path(key), message);
    }

    fn string_impl(&self, key: &str, secret: bool) -> Option<String> {
        let v = self.get(key)?;
        match v {
            Value::String(_, s) => Some(s.clone()),
            Value::Char(_, c) => Some(c.to_string()),
            other => {
                let shown = if secret { "***".to_string() } else { kind(other).to_string() };
                self.problem(key, format!("expected a string, found {shown}"));
                None
            }
        }
    }

    pub fn string(&self, key: &str) -> Option<String> {
        self.string_impl(key, false)
    }

    /// A string whose value must never be echoed (inline secrets).
    pub fn secret_string(&self, key: &str) -> Option<String> {
        self.string_impl(key, true)
    }

    pub fn required_string(&self, key: &str, expected: &str) -> Option<String> {
        if !self.contains(key) {
            self.get(key);
            self.problem(key, format!("missing; expected {expected}"));
            return None;
        }
        let s = self.string(key)?;
        if s.trim().is_empty() {
            self.problem(key, format!("is empty; expected {expected}"));
            return None;
        }
        Some(s)
    }

    pub fn bool(&self, key: &str, default: bool) -> bool {
        match self.get(key) {
            None => default,
            Some(Value::Bool(_, b)) => *b,
            Some(other) => {
                self.problem(key, format!("expected true or false, found {}", describe(other, false)));
                default
            }
        }
    }

    /// A human duration such as `"90s"`, `"5m"`, `"1h 30m"`.
    pub fn duration(&self, key: &str, default: Duration) -> Duration {
        let Some(v) = self.get(key) else { return default };
        let parsed = match v {
            Value::String(_, s) => humantime::parse_duration(s.trim()).ok(),
            _ => None,
        };
        match parsed {
            Some(d) if !d.is_zero() => d,
            _ => {
                self.problem(
                    key,
                    format!(
                        "invalid duration {}; expected a positive duration such as \"90s\", \"5m\" or \"1h 30m\"",
                        describe(v, false)
                    ),
                );
                default
            }
        }
    }

    /// A number greater than zero.
    pub fn positive_f64(&self, key: &str, default: f64) -> f64 {
        let Some(v) = self.get(key) else { return default };
        match v.to_num_lossy().map(|n| n.to_actual()) {
            Some(Actual::Float(f)) if f > 0.0 && f.is_finite() => f,
            Some(Actual::Unsigned(n)) if n > 0 => n as f64,
            Some(Actual::Signed(n)) if n > 0 => n as f64,
            _ => {
                self.problem(key, format!("invalid value {}; expected a number greater than 0", describe(v, false)));
                default
            }
        }
    }

    /// A whole number greater than zero.
    pub fn positive_u32(&self, key: &str, default: u32) -> u32 {
        let Some(v) = self.get(key) else { return default };
        match v.to_num_lossy().map(|n| n.to_actual()) {
            Some(Actual::Unsigned(n)) if n > 0 && n <= u128::from(u32::MAX) => n as u32,
            Some(Actual::Signed(n)) if n > 0 && n <= i128::from(u32::MAX) => n as u32,
            _ => {
                self.problem(
                    key,
                    format!("invalid value {}; expected a whole number greater than 0", describe(v, false)),
                );
                default
            }
        }
    }

    /// One of a closed set of strings.
    pub fn choice<T: Choice>(&self, key: &str, default: T) -> T {
        if !self.contains(key) {
            self.get(key);
            return default;
        }
        self.choice_opt(key).unwrap_or(default)
    }

    /// One of a closed set of strings; `None` when missing or invalid (an
    /// invalid value is reported).
    pub fn choice_opt<T: Choice>(&self, key: &str) -> Option<T> {
        let v = self.get(key)?;
        let found = match v {
            Value::String(_, s) => T::ALL.iter().chain(T::ALIASES).find(|(name, _)| name == s).map(|(_, t)| *t),
            _ => None,
        };
        if found.is_none() {
            let names: Vec<&str> = T::ALL.iter().map(|(n, _)| *n).collect();
            self.problem(key, format!("invalid value {}; expected one of: {}", describe(v, false), names.join(", ")));
        }
        found
    }

    /// A sub-table; a missing one reads as empty.
    pub fn table(&self, key: &str) -> Table<'c, 'a> {
        let path = self.child_path(key);
        let dict = match self.get(key) {
            None => None,
            Some(Value::Dict(_, d)) => Some(d),
            Some(other) => {
                self.problem(key, format!("expected a table, found {}", kind(other)));
                None
            }
        };
        Table { ctx: self.ctx, path, dict, used: RefCell::default() }
    }

    /// The keys of this table, in order.
    pub fn keys(&self) -> Vec<String> {
        self.dict.map(|d| d.keys().cloned().collect()).unwrap_or_default()
    }

    /// `[[key]]`: an array of tables.
    pub fn array_of_tables(&self, key: &str) -> Vec<Table<'c, 'a>> {
        let items = match self.get(key) {
            None => return Vec::new(),
            Some(Value::Array(_, items)) => items,
            Some(other) => {
                self.problem(key, format!("expected an array of tables, found {}", kind(other)));
                return Vec::new();
            }
        };
        let base = self.child_path(key);
        let mut out = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let path = format!("{base}[{i}]");
            match item {
                Value::Dict(_, d) => out.push(Table { ctx: self.ctx, path, dict: Some(d), used: RefCell::default() }),
                other => self.ctx.problem(Some(other), &path, format!("expected a table, found {}", kind(other))),
            }
        }
        out
    }

    /// A table of string to string (value maps, type maps, status maps).
    pub fn string_map(&self, key: &str) -> BTreeMap<String, String> {
        let sub = self.table(key);
        let mut out = BTreeMap::new();
        for k in sub.keys() {
            if let Some(v) = sub.string(&k) {
                out.insert(k, v);
            }
        }
        out
    }

    /// Reports every key of this table that was not read.
    pub fn finish(&self) {
        let Some(dict) = self.dict else { return };
        let used = self.used.borrow();
        let mut expected: Vec<&str> = used.iter().map(String::as_str).collect();
        expected.sort_unstable();
        for (k, v) in dict {
            if !used.contains(k) {
                let path = self.child_path(k);
                self.ctx.problem(Some(v), &path, format!("unknown key; known keys here: {}", expected.join(", ")));
            }
        }
    }
}
