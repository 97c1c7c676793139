//! The fake site's state behind its one lock: issues stored as Jira shows
//! them when read (the site's flavour's JSON), the setup a test gave, the
//! calls made and the faults waiting for them.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use chrono::DateTime;
use serde_json::{Map, Value, json};

use super::calls::{FakeCall, FakeOp};
use super::links::StoredLink;
use super::remote::StoredRemoteLink;
use super::setup;
use crate::clock::Clock;
use crate::config::Flavour;
use crate::ids::{IssueId, IssueKey};
use crate::jira::error::{ErrorKind, JiraError};
use crate::jira::fields::FieldCatalogue;
use crate::jira::mark::Mark;
use crate::jira::model::{FieldMeta, FieldSchema, Issue, IssueRef, LinkType, Myself, Project, StatusRef, UserRef};
use crate::jira::values::{FieldValue, ValueKind, write_value};

/// Fields every read returns, whatever the caller asked for.
const ALWAYS_READ: &[&str] = &["updated", "status"];

/// The first id the fake gives an issue, a link or a remote link, as a
/// young Jira site would (each has its own sequence there).
const FIRST_ID: u64 = 10_000;

/// One issue as the site holds it.
#[derive(Debug, Clone)]
pub(super) struct Stored {
    pub id: IssueId,
    pub key: IssueKey,
    /// Every field in the read shape of the site's flavour.
    pub fields: Map<String, Value>,
    /// When it last changed, for ordering searches.
    pub updated_ms: i64,
    /// The provenance entity property, when a create set one.
    pub mark: Option<Mark>,
    /// Whether it is still where the flows' scopes look.
    pub in_scope: bool,
    /// Its remote links, in id order; they go with it.
    pub remote_links: Vec<StoredRemoteLink>,
}

impl Stored {
    fn text_of<'a>(&'a self, field: &str, key: &str) -> &'a str {
        self.fields.get(field).and_then(|v| v.get(key)).and_then(Value::as_str).unwrap_or_default()
    }

    pub fn project(&self) -> &str {
        self.text_of("project", "key")
    }

    pub fn issue_type(&self) -> &str {
        self.text_of("issuetype", "name")
    }

    pub fn status(&self) -> &str {
        self.text_of("status", "name")
    }

    pub fn labels(&self) -> Vec<String> {
        let list = self.fields.get("labels").and_then(Value::as_array);
        list.into_iter().flatten().filter_map(|l| l.as_str().map(str::to_string)).collect()
    }

    /// Whether `key_or_id` names this issue (keys ignore case, as in Jira).
    pub fn is(&self, key_or_id: &str) -> bool {
        self.key.as_str().eq_ignore_ascii_case(key_or_id) || self.id.as_str() == key_or_id
    }

    pub fn issue_ref(&self) -> IssueRef {
        IssueRef { id: self.id.clone(), key: self.key.clone() }
    }

    /// Marks the issue as changed at `ms`.
    pub fn touch(&mut self, ms: i64) {
        self.updated_ms = ms;
        self.fields.insert("updated".into(), json!(timestamp(ms)));
    }
}

/// Whether a read of `wanted` fields returns `field`: every field when none
/// or `*all` is named, and always those of [`ALWAYS_READ`].
fn reads(wanted: &[&str], field: &str) -> bool {
    wanted.is_empty()
        || wanted.iter().any(|f| matches!(*f, "*all" | "*navigable") || *f == field)
        || ALWAYS_READ.contains(&field)
}

/// Jira's timestamp for `ms` since the epoch, in UTC.
pub(super) fn timestamp(ms: i64) -> String {
    let at = DateTime::from_timestamp_millis(ms).unwrap_or_default();
    at.format("%Y-%m-%dT%H:%M:%S%.3f%z").to_string()
}

/// Keys in Jira's order: by project, then by number (`X-2` before `X-10`).
pub(super) fn key_order(key: &str) -> (String, u64, String) {
    let (project, number) = key.rsplit_once('-').unwrap_or((key, ""));
    (project.to_string(), number.parse().unwrap_or(0), key.to_string())
}

/// What the next call of an operation meets instead of an ordinary answer.
#[derive(Debug, Clone)]
pub(super) enum Fault {
    Fail(JiraError),
    LoseAnswer,
}

pub(super) struct State {
    pub site: String,
    pub flavour: Flavour,
    pub clock: Clock,
    pub catalogue: Arc<FieldCatalogue>,
    pub myself: Myself,
    pub users: Vec<UserRef>,
    pub projects: Vec<Project>,
    pub statuses: Vec<StatusRef>,
    pub link_types: Vec<LinkType>,
    /// Create screens a test set, by (project, issue type), upper-cased.
    pub create_screens: BTreeMap<(String, String), Vec<FieldMeta>>,
    pub issues: Vec<Stored>,
    pub next_id: u64,
    /// Issue links, in the order they were made (which is id order).
    pub links: Vec<StoredLink>,
    pub next_link_id: u64,
    pub next_remote_link_id: u64,
    /// The highest issue number given per project; Jira never reuses one.
    pub numbers: BTreeMap<String, u64>,
    pub calls: Vec<FakeCall>,
    pub faults: VecDeque<(FakeOp, Fault)>,
    pub reachable: bool,
    pub last_failure: Option<(i64, String)>,
}

impl State {
    pub fn new(site: &str, flavour: Flavour, clock: Clock) -> State {
        let bot = "sync-bot".to_string();
        let user = match flavour {
            Flavour::Cloud => UserRef { account_id: Some(bot.clone()), ..UserRef::default() },
            Flavour::DataCenter => UserRef { name: Some(bot.clone()), key: Some(bot.clone()), ..UserRef::default() },
        };
        State {
            site: site.to_string(),
            flavour,
            clock,
            catalogue: Arc::new(FieldCatalogue::new(site, setup::system_fields())),
            myself: Myself { user: UserRef { display_name: Some(bot), ..user }, time_zone: Some("UTC".into()) },
            users: Vec::new(),
            projects: Vec::new(),
            statuses: setup::statuses(setup::STATUSES),
            link_types: setup::link_types(),
            create_screens: BTreeMap::new(),
            issues: Vec::new(),
            next_id: FIRST_ID,
            links: Vec::new(),
            next_link_id: FIRST_ID,
            next_remote_link_id: FIRST_ID,
            numbers: BTreeMap::new(),
            calls: Vec::new(),
            faults: VecDeque::new(),
            reachable: true,
            last_failure: None,
        }
    }

    pub fn now(&self) -> i64 {
        self.clock.now_ms()
    }

    pub fn find(&self, key_or_id: &str) -> Option<&Stored> {
        self.issues.iter().find(|i| i.is(key_or_id))
    }

    pub fn find_mut(&mut self, key_or_id: &str) -> Option<&mut Stored> {
        self.issues.iter_mut().find(|i| i.is(key_or_id))
    }

    /// Deletes the issue and, as Jira does, its links (its remote links go
    /// with it); whether it was there.
    pub fn remove_issue(&mut self, key_or_id: &str) -> bool {
        let Some(at) = self.issues.iter().position(|i| i.is(key_or_id)) else { return false };
        let gone = self.issues.remove(at);
        self.drop_links_of(&gone.id);
        true
    }

    /// The issue as a read of `wanted` fields returns it, its links
    /// included, parsed as the real client parses it.
    pub fn render(&self, issue: &Stored, wanted: &[&str]) -> Option<Issue> {
        let mut fields: Map<String, Value> =
            issue.fields.iter().filter(|(k, _)| reads(wanted, k)).map(|(k, v)| (k.clone(), v.clone())).collect();
        if reads(wanted, "issuelinks") {
            fields.insert("issuelinks".into(), self.issuelinks_json(&issue.id));
        }
        Issue::parse(&json!({"id": issue.id.as_str(), "key": issue.key.as_str(), "fields": fields}))
    }

    pub fn schema(&self, field: &str) -> Option<FieldSchema> {
        self.catalogue.by_id(field).and_then(|f| f.schema.clone())
    }

    /// The JSON Jira shows for `value` in `field` when the issue is read:
    /// users whole (as the site knows them), issue references with id and
    /// key, everything else as it is written. `None` when the field cannot
    /// hold the value.
    pub fn read_shape(&self, field: &str, value: &FieldValue) -> Option<Value> {
        let schema = self.schema(field);
        let kind = match &schema {
            Some(_) => ValueKind::of(schema.as_ref()),
            None => ValueKind::natural(value),
        };
        let epic_link = schema.as_ref().and_then(|s| s.custom_short()) == Some("gh-epic-link");
        match (kind, value) {
            (ValueKind::User, FieldValue::User(u)) => Some(user_json(self.known_user(u).unwrap_or(u))),
            (ValueKind::Issue, FieldValue::Issue(r)) if !epic_link => Some(self.issue_ref_json(r)),
            _ => write_value(self.flavour, schema.as_ref(), value),
        }
    }

    /// The site's own record of `u`, matched by account id, name or key.
    fn known_user(&self, u: &UserRef) -> Option<&UserRef> {
        let same = |a: &Option<String>, b: &Option<String>| a.is_some() && a == b;
        self.users.iter().find(|k| same(&u.account_id, &k.account_id) || same(&u.name, &k.name) || same(&u.key, &k.key))
    }

    fn issue_ref_json(&self, r: &IssueRef) -> Value {
        let known = self.find(r.key.as_str()).or_else(|| self.find(r.id.as_str()));
        match known {
            Some(i) => json!({"id": i.id.as_str(), "key": i.key.as_str()}),
            None => json!({"id": r.id.as_str(), "key": r.key.as_str()}),
        }
    }

    pub fn known_status(&self, name: &str) -> Option<&StatusRef> {
        self.statuses.iter().find(|s| s.name.eq_ignore_ascii_case(name))
    }

    /// The status object of `name`; a status no list named yet becomes one
    /// of the site's statuses, so that whatever status a test gives an
    /// issue exists.
    pub fn status_json(&mut self, name: &str) -> Value {
        let status = match self.known_status(name) {
            Some(known) => known.clone(),
            None => {
                let id = (self.statuses.len() + 1).to_string();
                let new = StatusRef { id: Some(id), name: name.to_string(), category: None };
                self.statuses.push(new.clone());
                new
            }
        };
        let mut v = json!({"name": status.name});
        if let Some(id) = status.id {
            v["id"] = json!(id);
        }
        if let Some(category) = status.category {
            v["statusCategory"] = json!({"key": category});
        }
        v
    }

    pub fn project_json(&self, key: &str) -> Value {
        match self.projects.iter().find(|p| p.key.eq_ignore_ascii_case(key)) {
            Some(p) => json!({"id": p.id, "key": p.key, "name": p.name}),
            None => json!({"key": key}),
        }
    }

    /// The next free issue id.
    pub fn allocate_id(&mut self) -> IssueId {
        let id = self.next_id;
        self.next_id += 1;
        IssueId::new(id.to_string())
    }

    /// Notes an id a test chose, so that allocated ones never clash with it.
    pub fn note_id(&mut self, id: &IssueId) {
        if let Ok(n) = id.as_str().parse::<u64>() {
            self.next_id = self.next_id.max(n + 1);
        }
    }

    /// The next key of `project`.
    pub fn allocate_key(&mut self, project: &str) -> IssueKey {
        let project = project.to_uppercase();
        let n = self.numbers.get(&project).copied().unwrap_or(0) + 1;
        self.numbers.insert(project.clone(), n);
        IssueKey::new(format!("{project}-{n}"))
    }

    /// Notes a key a test chose, so that created issues come after it.
    pub fn note_key(&mut self, key: &IssueKey) {
        let (project, n, _) = key_order(key.as_str());
        let highest = self.numbers.entry(project.to_uppercase()).or_insert(0);
        *highest = (*highest).max(n);
    }

    /// The first fault queued for `op`, taken off the queue.
    pub fn take_fault(&mut self, op: FakeOp) -> Option<Fault> {
        let at = self.faults.iter().position(|(o, _)| *o == op)?;
        self.faults.remove(at).map(|(_, f)| f)
    }

    /// Notes a failure for `health()` when it left the call without an answer.
    pub fn failed(&mut self, e: JiraError) -> JiraError {
        if matches!(e.kind, ErrorKind::Connect | ErrorKind::Network | ErrorKind::Timeout) {
            self.last_failure = Some((self.now(), e.to_string()));
        }
        e
    }
}

/// A user as Jira shows one in an issue's fields.
fn user_json(u: &UserRef) -> Value {
    let mut v = Map::new();
    let parts = [
        ("accountId", &u.account_id),
        ("name", &u.name),
        ("key", &u.key),
        ("emailAddress", &u.email),
        ("displayName", &u.display_name),
    ];
    for (k, part) in parts {
        if let Some(text) = part {
            v.insert(k.into(), json!(text));
        }
    }
    v.insert("active".into(), json!(true));
    Value::Object(v)
}
