//! Issues as a test sees them: seeded with [`IssueSeed`], read back typed,
//! and changed as people change them (no call recorded, `updated` moved
//! by the site's clock).
//!
//! These helpers panic when a test names an issue the site does not have,
//! or a value a field cannot hold: that is a mistake in the test, best
//! shown where it is made.

use serde_json::{Map, json};

use super::FakeSite;
use super::state::{State, Stored, key_order, timestamp};
use crate::ids::{IssueId, IssueKey};
use crate::jira::mark::Mark;
use crate::jira::model::{Issue, IssueRef};
use crate::jira::values::{FieldValue, FieldWrites, read_value};

/// An issue to put on a fake site: a `Task` in the site's first status
/// unless told otherwise, in the project its key names.
#[derive(Debug, Clone)]
pub struct IssueSeed {
    key: String,
    id: Option<String>,
    issue_type: String,
    status: Option<String>,
    fields: Vec<(String, FieldValue)>,
    mark: Option<Mark>,
}

impl IssueSeed {
    pub fn new(key: &str) -> IssueSeed {
        IssueSeed {
            key: key.to_string(),
            id: None,
            issue_type: "Task".into(),
            status: None,
            fields: Vec::new(),
            mark: None,
        }
    }

    /// The issue's id; one is given when none is named.
    pub fn id(mut self, id: &str) -> IssueSeed {
        self.id = Some(id.to_string());
        self
    }

    pub fn issue_type(mut self, issue_type: &str) -> IssueSeed {
        self.issue_type = issue_type.to_string();
        self
    }

    /// Any status: one the site does not know yet becomes one of its own.
    pub fn status(mut self, status: &str) -> IssueSeed {
        self.status = Some(status.to_string());
        self
    }

    /// One field's value.
    pub fn set(mut self, field: &str, value: FieldValue) -> IssueSeed {
        self.fields.push((field.to_string(), value));
        self
    }

    /// Every value of `writes`.
    pub fn fields(mut self, writes: &FieldWrites) -> IssueSeed {
        self.fields.extend(writes.iter().map(|(id, v)| (id.to_string(), v.clone())));
        self
    }

    /// A mirror jirafed made earlier: the mark in its labels and its
    /// entity property.
    pub fn mark(mut self, mark: &Mark) -> IssueSeed {
        self.mark = Some(mark.clone());
        self
    }

    /// The labels given, with the mark kept in them; `None` without a mark.
    fn marked_labels(&self) -> Option<Vec<String>> {
        let mark = self.mark.as_ref()?;
        let mut labels = match self.fields.iter().find(|(f, _)| f == "labels") {
            Some((_, FieldValue::Labels(given))) => given.clone(),
            _ => Vec::new(),
        };
        mark.keep_in(&mut labels);
        Some(labels)
    }
}

impl FakeSite {
    /// Puts an issue on the site, replacing one with the same key; its
    /// `created` and `updated` are now by the site's clock.
    #[track_caller]
    pub fn put_issue(&self, seed: IssueSeed) -> IssueRef {
        let mut s = self.lock();
        let key = IssueKey::new(seed.key.clone());
        let replaced = s.find(key.as_str()).map(|i| i.id.clone());
        let id = seed.id.as_deref().map(IssueId::new).or_else(|| replaced.clone()).unwrap_or_else(|| s.allocate_id());
        s.note_id(&id);
        s.note_key(&key);
        let mut fields = Map::new();
        for (field, value) in &seed.fields {
            fields.insert(field.clone(), shape(&s, field, value));
        }
        if let Some(labels) = seed.marked_labels() {
            fields.insert("labels".into(), json!(labels));
        }
        let now = s.now();
        let status = seed.status.or_else(|| s.statuses.first().map(|st| st.name.clone())).unwrap_or_default();
        fields.insert("project".into(), s.project_json(&key_order(key.as_str()).0));
        fields.insert("issuetype".into(), json!({"name": seed.issue_type}));
        fields.insert("status".into(), s.status_json(&status));
        fields.insert("created".into(), json!(timestamp(now)));
        // The replaced issue keeps its links and remote links when it keeps its id.
        let same_issue = s.find(key.as_str()).filter(|old| old.id == id);
        let remote_links = same_issue.map(|old| old.remote_links.clone()).unwrap_or_default();
        let mut stored = Stored { id, key, fields, updated_ms: now, mark: seed.mark, in_scope: true, remote_links };
        stored.touch(now);
        let put = stored.issue_ref();
        s.issues.retain(|i| !i.is(put.key.as_str()));
        if let Some(old) = replaced.filter(|old| *old != put.id) {
            s.drop_links_of(&old);
        }
        s.issues.push(stored);
        put
    }

    /// The value of `field` as the engine would read it; `Empty` when the
    /// issue has no value there (or is not there).
    pub fn issue_value(&self, key: &str, field: &str) -> FieldValue {
        let s = self.lock();
        let raw = s.find(key).and_then(|i| i.fields.get(field));
        raw.map_or(FieldValue::Empty, |raw| read_value(s.schema(field).as_ref(), raw))
    }

    /// The issue as a read of every field returns it, without recording a call.
    pub fn peek(&self, key: &str) -> Option<Issue> {
        let s = self.lock();
        s.find(key).and_then(|i| s.render(i, &[]))
    }

    pub fn status_of(&self, key: &str) -> Option<String> {
        self.lock().find(key).map(|i| i.status().to_string())
    }

    /// The issue's labels (none when it is not there).
    pub fn labels(&self, key: &str) -> Vec<String> {
        self.lock().find(key).map(Stored::labels).unwrap_or_default()
    }

    pub fn exists(&self, key_or_id: &str) -> bool {
        self.lock().find(key_or_id).is_some()
    }

    pub fn key_of(&self, id: &str) -> Option<IssueKey> {
        self.lock().find(id).map(|i| i.key.clone())
    }

    pub fn id_of(&self, key: &str) -> Option<IssueId> {
        self.lock().find(key).map(|i| i.id.clone())
    }

    /// The provenance entity property a create (or a seed) left.
    pub fn mark_of(&self, key: &str) -> Option<Mark> {
        self.lock().find(key).and_then(|i| i.mark.clone())
    }

    /// When the issue last changed, in ms since the epoch.
    pub fn updated_ms(&self, key: &str) -> Option<i64> {
        self.lock().find(key).map(|i| i.updated_ms)
    }

    /// Every issue's key, in key order.
    pub fn keys(&self) -> Vec<IssueKey> {
        let s = self.lock();
        let mut keys: Vec<IssueKey> = s.issues.iter().map(|i| i.key.clone()).collect();
        keys.sort_by_key(|k| key_order(k.as_str()));
        keys
    }

    /// A person sets one field (`Empty` clears it).
    #[track_caller]
    pub fn edit_as_person(&self, key: &str, field: &str, value: FieldValue) {
        let mut s = self.lock();
        let shaped = shape(&s, field, &value);
        let now = s.now();
        let issue = issue_mut(&mut s, key);
        issue.fields.insert(field.to_string(), shaped);
        issue.touch(now);
    }

    /// A person moves the issue to `status` (one the site does not know yet
    /// becomes one of its own).
    #[track_caller]
    pub fn transition_as_person(&self, key: &str, status: &str) {
        let mut s = self.lock();
        must_exist(&s, key);
        s.set_status(key, status);
    }

    /// A person deletes the issue, and with it its links.
    #[track_caller]
    pub fn delete(&self, key: &str) {
        let mut s = self.lock();
        must_exist(&s, key);
        s.remove_issue(key);
    }

    /// A person moves the issue where no scope looks (another project, a
    /// label taken off): reads by key still find it, scoped reads and
    /// searches do not.
    #[track_caller]
    pub fn move_out_of_scope(&self, key: &str) {
        self.set_in_scope(key, false);
    }

    /// A person moves the issue to another project in scope: a new key,
    /// the same id (reads by the old key no longer find it).
    #[track_caller]
    pub fn move_to(&self, key: &str, new_key: &str) {
        let mut s = self.lock();
        let now = s.now();
        let issue = issue_mut(&mut s, key);
        issue.key = IssueKey::new(new_key);
        issue.touch(now);
    }

    /// Undoes [`FakeSite::move_out_of_scope`].
    #[track_caller]
    pub fn move_into_scope(&self, key: &str) {
        self.set_in_scope(key, true);
    }

    #[track_caller]
    fn set_in_scope(&self, key: &str, in_scope: bool) {
        let mut s = self.lock();
        let now = s.now();
        let issue = issue_mut(&mut s, key);
        issue.in_scope = in_scope;
        issue.touch(now);
    }
}

#[track_caller]
fn must_exist(s: &State, key: &str) {
    if s.find(key).is_none() {
        panic!("no issue {key} on the fake site {}", s.site);
    }
}

#[track_caller]
fn issue_mut<'a>(s: &'a mut State, key: &str) -> &'a mut Stored {
    let site = s.site.clone();
    s.find_mut(key).unwrap_or_else(|| panic!("no issue {key} on the fake site {site}"))
}

#[track_caller]
fn shape(s: &State, field: &str, value: &FieldValue) -> serde_json::Value {
    match s.read_shape(field, value) {
        Some(v) => v,
        None => panic!("field {field} of the fake site {} cannot hold {value:?}", s.site),
    }
}
