//! `POST /_sim/seed`: issues that existed long before now, made in one go
//! for import tests and benchmarks: N issues of a project with old
//! timestamps, some of them epics with the others as their children, and
//! "Blocks" links between neighbours. Made as a person makes them (the
//! site's own validation), but raising no webhooks: they are history, and
//! a poll that looks back minutes does not find them.

use chrono::{Duration, Utc};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::model::SiteData;
use super::ops::{create_issue, create_link};
use super::render::Api;
use super::seed::EPIC_LINK_ID;
use crate::config::Flavour;

/// What to seed (the request body).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HistorySpec {
    /// The project's key.
    pub project: String,
    /// How many issues, epics included.
    pub count: usize,
    /// The type of the issues that are not epics.
    #[serde(default = "default_type")]
    pub issuetype: String,
    /// Each issue's summary; `{n}` is replaced by its number, 1 to `count`.
    #[serde(default = "default_summary")]
    pub summary: String,
    /// How long ago the first issue was made (the others follow a second
    /// apart); they were last updated when made.
    #[serde(default = "default_age")]
    pub age_days: u32,
    /// The first `epics` issues are epics, the rest their children in turn.
    #[serde(default)]
    pub epics: usize,
    /// "Blocks" links, each from an issue (not an epic) to the next one.
    #[serde(default)]
    pub links: usize,
    /// More fields by id, set on every issue; `{n}` in a text is replaced
    /// by the issue's number.
    #[serde(default)]
    pub fields: Map<String, Value>,
    /// Who made them; default: the site's first user.
    #[serde(default)]
    pub user: Option<String>,
}

fn default_type() -> String {
    "Story".into()
}

fn default_summary() -> String {
    "Seeded issue {n}".into()
}

fn default_age() -> u32 {
    30
}

/// The largest `count` one request seeds.
pub const MAX_COUNT: usize = 100_000;

/// What was seeded: the keys in order (epics first), and the links made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seeded {
    pub keys: Vec<String>,
    pub links: usize,
}

/// Seeds `spec` into `site`; nothing is left half made on an error (the
/// caller works on a copy, or the error comes before the first issue).
pub fn seed(site: &mut SiteData, spec: &HistorySpec) -> Result<Seeded, String> {
    if spec.count == 0 || spec.count > MAX_COUNT {
        return Err(format!("count must be 1 to {MAX_COUNT}, not {}", spec.count));
    }
    if spec.epics > spec.count {
        return Err(format!("epics ({}) is more than count ({})", spec.epics, spec.count));
    }
    let children = spec.count - spec.epics;
    if spec.links >= children.max(1) {
        return Err(format!("links must be fewer than the {children} issues that are not epics"));
    }
    let project = site.project(&spec.project).map(|p| p.key.clone()).ok_or(format!("no project {:?}", spec.project))?;
    let user = match &spec.user {
        Some(u) => site.user(u).map(|u| u.login.clone()).ok_or(format!("no user {u:?}"))?,
        None => site.users.first().map(|u| u.login.clone()).ok_or("the site has no users")?,
    };
    let mut keys = Vec::with_capacity(spec.count);
    let mut ids = Vec::with_capacity(spec.count);
    for n in 1..=spec.count {
        let epic = n <= spec.epics;
        let mut fields = Map::new();
        for (id, v) in &spec.fields {
            fields.insert(id.clone(), numbered(v, n));
        }
        fields.insert("project".into(), json!({"key": project}));
        fields.insert("summary".into(), json!(spec.summary.replace("{n}", &n.to_string())));
        let issuetype = if epic { "Epic" } else { spec.issuetype.as_str() };
        fields.insert("issuetype".into(), json!({"name": issuetype}));
        if !epic && spec.epics > 0 {
            let parent = &keys[(n - spec.epics - 1) % spec.epics];
            match site.flavour {
                Flavour::DataCenter => fields.insert(EPIC_LINK_ID.into(), json!(parent)),
                Flavour::Cloud => fields.insert("parent".into(), json!({"key": parent})),
            };
        }
        let (id, _events) = create_issue(site, Api::V2, &user, &json!({"fields": fields}))
            .map_err(|e| format!("issue {n}: {}", e.text()))?;
        ids.push(id);
        keys.push(site.issues.get(&id).map(|i| i.key.clone()).unwrap_or_default());
    }
    for i in 0..spec.links {
        let (from, to) = (&keys[spec.epics + i], &keys[spec.epics + i + 1]);
        let body = json!({"type": {"name": "Blocks"}, "inwardIssue": {"key": from}, "outwardIssue": {"key": to}});
        create_link(site, &user, &body).map_err(|e| format!("link {from} -> {to}: {}", e.text()))?;
    }
    // Back in time: made `age_days` ago, a second apart, untouched since.
    let start = Utc::now() - Duration::days(i64::from(spec.age_days));
    for (n, id) in ids.iter().enumerate() {
        let at = start + Duration::seconds(n as i64);
        if let Some(issue) = site.issues.get_mut(id) {
            issue.created = at;
            issue.updated = at;
            for h in &mut issue.changelog {
                h.created = at;
            }
        }
    }
    Ok(Seeded { keys, links: spec.links })
}

/// `v` with `{n}` replaced by `n` in its texts.
fn numbered(v: &Value, n: usize) -> Value {
    match v {
        Value::String(s) => Value::String(s.replace("{n}", &n.to_string())),
        Value::Array(a) => Value::Array(a.iter().map(|x| numbered(x, n)).collect()),
        Value::Object(o) => Value::Object(o.iter().map(|(k, x)| (k.clone(), numbered(x, n))).collect()),
        other => other.clone(),
    }
}
