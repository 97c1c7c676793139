//! Structural comparison: "our simulator's answer has the same structure as
//! the real payload: the same keys and JSON types at every level the real one
//! shows, allowing absent optional keys".
//!
//! Rules:
//! * Types are `null`, `boolean`, `number` (integers and floats alike),
//!   `string`, `array` and `object`.
//! * Every key of a real object must be in ours, unless its path is optional
//!   (a key whose real value is `null` too: Jira sends such keys); present
//!   keys must have the same type, recursively. Extra keys in ours are fine.
//! * A real `null` shows no type, so anything in ours matches it. Ours `null`
//!   against a real value matches only if the path is optional (or, inside an
//!   array, another real element has `null` there).
//! * Arrays: the real elements are merged into one shape (a member is required
//!   only if every real element has it; every type seen is allowed) and each
//!   element of ours is compared against it. An empty real array allows
//!   anything; an empty array in ours always matches.
//! * Paths use dots and `[]`: `fields.issuelinks[].outwardIssue.key`; the
//!   root is `<root>`. Patterns in [`ShapeOptions`] are matched against the
//!   whole path, `*` standing for any run of characters, dots included:
//!   `fields.customfield_*`, `*.avatarUrls` (at any depth below the root),
//!   `fields.*` (everything below `fields`). An ignored path is not compared,
//!   nor anything below it.
//! * Each difference is reported once, however many elements of ours show it.

use serde_json::Value;
use std::collections::{BTreeMap, HashSet};

/// Paths (glob patterns, see the module docs) that may be absent in ours, or are not compared at all.
#[derive(Clone, Debug, Default)]
pub struct ShapeOptions {
    pub optional: Vec<String>,
    pub ignore: Vec<String>,
}

impl ShapeOptions {
    pub fn new(optional: &[&str], ignore: &[&str]) -> ShapeOptions {
        let own = |patterns: &[&str]| patterns.iter().map(|p| p.to_string()).collect();
        ShapeOptions { optional: own(optional), ignore: own(ignore) }
    }
}

/// Differences between the shape of `real` and that of `ours`; empty if ours has the same shape.
pub fn compare(real: &Value, ours: &Value, opts: &ShapeOptions) -> Vec<String> {
    let mut out = Vec::new();
    Shape::of(real).check(ours, "", opts, &mut out);
    let mut seen = HashSet::new();
    out.retain(|difference| seen.insert(difference.clone()));
    out
}

/// Whether `path` matches `pattern`, where `*` matches any run of characters.
fn glob(pattern: &str, path: &str) -> bool {
    let mut parts = pattern.split('*');
    let Some(mut rest) = path.strip_prefix(parts.next().unwrap_or("")) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        return rest.is_empty();
    };
    for part in middle {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.ends_with(last)
}

fn any_glob(patterns: &[String], path: &str) -> bool {
    patterns.iter().any(|pattern| glob(pattern, path))
}

/// The merged structure of the real values seen at one path.
#[derive(Default)]
struct Shape {
    /// A real value here was `null`.
    null: bool,
    /// Non-null types seen, sorted.
    kinds: Vec<&'static str>,
    /// Number of real objects merged, and per member in how many it appeared.
    objects: usize,
    members: BTreeMap<String, (usize, Shape)>,
    /// Merged shape of all real array elements (`None`: no element seen).
    items: Option<Box<Shape>>,
}

impl Shape {
    fn of(value: &Value) -> Shape {
        let mut shape = Shape::default();
        shape.add(value);
        shape
    }

    fn add(&mut self, value: &Value) {
        let kind = kind(value);
        if kind == "null" {
            self.null = true;
            return;
        }
        if !self.kinds.contains(&kind) {
            self.kinds.push(kind);
            self.kinds.sort();
        }
        match value {
            Value::Object(object) => {
                self.objects += 1;
                for (key, member) in object {
                    let entry = self.members.entry(key.clone()).or_default();
                    entry.0 += 1;
                    entry.1.add(member);
                }
            }
            Value::Array(items) => {
                for item in items {
                    self.items.get_or_insert_with(Box::default).add(item);
                }
            }
            _ => {}
        }
    }

    fn describe(&self) -> String {
        match self.kinds.is_empty() {
            true => "null".to_string(),
            false => self.kinds.join(" or "),
        }
    }

    fn check(&self, ours: &Value, path: &str, opts: &ShapeOptions, out: &mut Vec<String>) {
        if self.kinds.is_empty() || any_glob(&opts.ignore, path) {
            return;
        }
        let (got, at) = (kind(ours), if path.is_empty() { "<root>" } else { path });
        let optional_null = got == "null" && (self.null || any_glob(&opts.optional, path));
        if !self.kinds.contains(&got) && !optional_null {
            out.push(format!("{at}: expected {}, got {got}", self.describe()));
        }
        match ours {
            Value::Object(object) => {
                for (key, (count, member)) in &self.members {
                    let member_path = if path.is_empty() { key.clone() } else { format!("{path}.{key}") };
                    match object.get(key) {
                        Some(value) => member.check(value, &member_path, opts, out),
                        None if *count < self.objects => {}
                        None if any_glob(&opts.optional, &member_path) => {}
                        None if any_glob(&opts.ignore, &member_path) => {}
                        None => {
                            let real = member.describe();
                            out.push(format!("{member_path}: missing (real: {real})"));
                        }
                    }
                }
            }
            Value::Array(items) => {
                if let Some(shape) = &self.items {
                    let item_path = format!("{path}[]");
                    for item in items {
                        shape.check(item, &item_path, opts, out);
                    }
                }
            }
            _ => {}
        }
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::{Path, PathBuf};

    /// A file under `shared/jira-reference` (`$JIRA_REFERENCE`, or found above the crate).
    fn reference(rel: &str) -> PathBuf {
        let here = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut up = here.ancestors().map(|a| a.join("shared/jira-reference"));
        let root = std::env::var_os("JIRA_REFERENCE").map(PathBuf::from);
        let root = root.or_else(|| up.find(|p| p.is_dir()));
        root.expect("shared/jira-reference").join(rel)
    }

    /// `file` or `file#/json/pointer` under `shared/jira-reference`.
    fn read(spec: &str) -> Value {
        let (file, pointer) = spec.split_once('#').unwrap_or((spec, ""));
        let bytes = std::fs::read(reference(file)).unwrap();
        let value: Value = serde_json::from_slice(&bytes).unwrap();
        value.pointer(pointer).expect(spec).clone()
    }

    fn json(text: &str) -> Value {
        serde_json::from_str(text).unwrap()
    }

    /// Runs `values [| optional.. [| ignore..]] => differences (" | "-separated)` rows; `load` turns the words
    /// of `values` into (real, ours).
    fn run(table: &str, load: impl Fn(&[&str]) -> (Value, Value)) {
        let lines = table.lines().map(str::trim).filter(|l| !l.is_empty());
        for row in lines {
            let (case, want) = row.split_once(" =>").unwrap();
            let mut parts = case.split('|').map(|p| p.split_whitespace().collect::<Vec<_>>());
            let values = parts.next().unwrap();
            let optional = parts.next().unwrap_or_default();
            let opts = ShapeOptions::new(&optional, &parts.next().unwrap_or_default());
            let (real, ours) = load(&values);
            let found = compare(&real, &ours, &opts).join(" | ");
            assert_eq!(found, want.trim(), "{row}");
        }
    }

    const REAL: &str = r#"{"key": "P-1", "fields": {"summary": "s", "resolution": null,
        "ratio": 1.5, "labels": [], "customfield_10001": {"value": "red"},
        "reporter": {"name": "n", "avatarUrls": {"16x16": "u"}},
        "issuelinks": [{"id": "1", "outwardIssue": {"key": "P-2"}},
                       {"id": "2", "inwardIssue": {"key": "P-3"}}]}}"#;

    /// REAL with space-separated edits: `/pointer=json` sets, `/pointer` removes.
    fn edited(edits: &[&str]) -> Value {
        let mut value = json(REAL);
        for edit in edits.iter().filter(|e| **e != "-") {
            let (pointer, new) = edit.split_once('=').unwrap_or((edit, ""));
            let (parent, key) = pointer.rsplit_once('/').unwrap();
            match value.pointer_mut(parent).unwrap() {
                Value::Object(object) if new.is_empty() => drop(object.remove(key)),
                Value::Array(items) => items[key.parse::<usize>().unwrap()] = json(new),
                parent => parent[key] = json(new),
            }
        }
        value
    }

    #[test]
    fn hand_made_cases() {
        // Rows: edits of REAL giving ours [| optional [| ignore]] => differences.
        let table = r#"
            - =>
            /fields/summary => fields.summary: missing (real: string)
            /fields/resolution => fields.resolution: missing (real: null)
            /fields/summary=5 => fields.summary: expected string, got number
            /fields/summary="5" /fields/ratio=2 /extra=1 /fields/more={} =>
            /fields/issuelinks/0/outwardIssue/key=5 => fields.issuelinks[].outwardIssue.key: expected string, got number
            /fields/issuelinks/1={"id":"3","outwardIssue":{"key":6}} /fields/issuelinks/0/outwardIssue/key=5 => fields.issuelinks[].outwardIssue.key: expected string, got number
            /fields/issuelinks/0/outwardIssue={} => fields.issuelinks[].outwardIssue.key: missing (real: string)
            /fields/issuelinks/0/outwardIssue /fields/issuelinks/1/inwardIssue =>
            /fields/issuelinks/0/id => fields.issuelinks[].id: missing (real: string)
            /fields/issuelinks=[] =>
            /fields/issuelinks={} => fields.issuelinks: expected array, got object
            /fields/labels=[1,{"a":[]}] =>
            /fields/customfield_10001 /fields/reporter/avatarUrls => fields.customfield_10001: missing (real: object) | fields.reporter.avatarUrls: missing (real: object)
            /fields/customfield_10001 /fields/reporter/avatarUrls | fields.customfield_* *.avatarUrls =>
            /fields/summary /fields/reporter | fields.* =>
            /fields/reporter/avatarUrls/16x16=1 | fields.* => fields.reporter.avatarUrls.16x16: expected string, got number
            /fields | fields.* => fields: missing (real: object)
            /fields/summary=5 | | fields.summary =>
            /fields/reporter/avatarUrls=1 /fields/summary | | fields.reporter fields.summary =>
            /fields/resolution={"name":"Done"} =>
            /fields/summary=null => fields.summary: expected string, got null
            /fields/summary=null | fields.summary =>
            /fields=[] => fields: expected object, got array"#;
        run(table, |edits| (json(REAL), edited(edits)));
        let table = r#"
            [] {} => <root>: expected array, got object
            [1,"a",null] [2,"b",true,null] => []: expected number or string, got boolean
            [{"a":null},{"a":"x"}] [{"a":null},{"a":"y"},{"a":3}] => [].a: expected string, got number
            [{"a":"x","b":1},{"a":"y"}] [{"a":"z"}] =>
            {"a":{"b":null}} {"a":{"b":[1]}} =>
            {"a":{"b":null}} {"a":{}} => a.b: missing (real: null)"#;
        run(table, |pair| (json(pair[0]), json(pair[1])));
    }

    #[test]
    fn globs() {
        assert!(glob("fields.customfield_*", "fields.customfield_10001"));
        assert!(glob("*.avatarUrls", "fields.issuelinks[].outwardIssue.fields.reporter.avatarUrls"));
        assert!(glob("fields.*", "fields.reporter.name") && glob("a*b*c", "abbc"));
        assert!(!glob("fields.*", "fields") && !glob("*.avatarUrls", "avatarUrls"));
        assert!(!glob("a*b*c", "acb") && !glob("fields", "fields.summary"));
    }

    #[test]
    fn every_real_file_matches_itself() {
        let mut files = 0;
        for dir in ["rest", "webhooks"] {
            for source in std::fs::read_dir(reference(dir)).unwrap() {
                for file in std::fs::read_dir(source.unwrap().path()).unwrap() {
                    let bytes = std::fs::read(file.unwrap().path()).unwrap();
                    let value: Value = serde_json::from_slice(&bytes).unwrap();
                    assert_eq!(compare(&value, &value, &ShapeOptions::default()), [""; 0]);
                    files += 1;
                }
            }
        }
        assert!(files >= 60, "{files}");
    }

    #[test]
    fn real_files_against_each_other() {
        // Server (go-jira) vs trimmed Cloud (jira-cli) transitions, both ways. mobitel's DC transitions carry
        // screen flags and field keys go-jira's lack. airbyte (Cloud v3, ADF description) vs mobitel (DC v2,
        // wiki-markup string), ignoring the keys Airbyte added per issue.
        let table = "
            rest/go-jira/transitions.json rest/jira-cli/transitions.json => transitions[].fields: missing (real: object) | transitions[].to: missing (real: object)
            rest/go-jira/transitions.json rest/jira-cli/transitions.json | transitions[].to transitions[].fields =>
            rest/jira-cli/transitions.json rest/go-jira/transitions.json => transitions[].isAvailable: missing (real: boolean)
            rest/mobitel/transitions.json rest/go-jira/transitions.json | transitions[].has* transitions[].fields.*.key transitions[].fields.*.defaultValue =>
            rest/go-jira/transitions.json rest/mobitel/transitions.json => expand: missing (real: string)
            rest/mobitel/issuelink.json rest/mobitel/issuelinkRelates.json =>
            rest/mobitel/issuelinkRelates.json rest/mobitel/issuelink.json | *.issuetype.entityId *.issuetype.scope =>
            rest/jira-cli/issue-link-types.json#/issueLinkTypes rest/go-jira/all_issuelinktypes.json =>
            rest/go-jira/all_issuelinktypes.json rest/jira-cli/issue-link-types.json => <root>: expected array, got object
            rest/jira-cli/fields.json rest/go-jira/all_fields.json =>
            rest/go-jira/all_fields.json rest/jira-cli/fields.json => [].schema.system: missing (real: string)
            rest/mattermost/cloud-get-create-issue-metadata-for-project.json rest/mattermost/cloud-get-create-issue-metadata-for-project-many-fields.json =>
            rest/mobitel/project-gens-search-project.json#/issues/0 rest/mobitel/issue-rendered.json =>
            webhooks/mobitel/issuelink-created.json webhooks/mobitel/issuelink-created_relates.json =>
            webhooks/mobitel/comment-created.json webhooks/mattermost/webhook-server-comment-updated.json =>
            rest/airbyte/issues.json#/issues/0 rest/mobitel/issue-rendered.json | fields.* *.avatarUrls | created updated projectId projectKey => fields.description: expected object, got string";
        run(table, |pair| (read(pair[0]), read(pair[1])));
    }
}
