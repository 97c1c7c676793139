//! What each site operation does to the fake's state: the bodies behind
//! the `Site` trait, each run at once under the lock. They check what the
//! real client checks before sending and refuse what Jira refuses, in the
//! same words.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::errors::{bad_request, cannot_be_set, field_errors, from_call, not_found, refused};
use super::scope;
use super::setup::NOT_SETTABLE;
use super::state::{State, Stored, key_order, timestamp};
use crate::jira::client::{Cursor, Page};
use crate::jira::error::{ErrorKind, JiraError};
use crate::jira::explain::{Action, Context, explain};
use crate::jira::mark::Mark;
use crate::jira::model::{AllowedValue, FieldMeta, Issue, IssueRef, Project, UserRef};
use crate::jira::values::{FieldValue, FieldWrites};

/// Fields a create screen requires on every site.
const REQUIRED_ON_CREATE: &[&str] = &["summary", "issuetype", "project"];

/// Which screen a write goes through: Jira refuses fields it does not show.
enum Screen<'a> {
    Edit,
    /// A create screen, as a test set it, or every settable field.
    Create(Option<&'a [FieldMeta]>),
}

/// How create screens are keyed: project and issue type, upper-cased.
pub(super) fn screen_key(project: &str, issue_type: &str) -> (String, String) {
    (project.to_uppercase(), issue_type.to_uppercase())
}

impl State {
    fn rendered(&self, stored: &Stored, fields: &[&str], call: &str) -> Result<Issue, JiraError> {
        self.render(stored, fields).ok_or_else(|| JiraError::new(ErrorKind::Decode, call))
    }

    pub fn project(&self, key: &str, call: &str) -> Result<Project, JiraError> {
        let found = self.projects.iter().find(|p| p.key.eq_ignore_ascii_case(key));
        found.cloned().ok_or_else(|| {
            let mut e = JiraError::new(ErrorKind::Status(404), call);
            e.messages.push(format!("No project could be found with key '{key}'."));
            e
        })
    }

    /// The create screen a test set, else every settable field, with the
    /// project's components and versions as allowed values.
    pub fn create_meta(&self, project: &str, issue_type: &str) -> Result<Vec<FieldMeta>, JiraError> {
        if let Some(screen) = self.create_screens.get(&screen_key(project, issue_type)) {
            return Ok(screen.clone());
        }
        let known = self.projects.iter().find(|p| p.key.eq_ignore_ascii_case(project));
        let offered =
            |p: &Project| p.issue_types.is_empty() || p.issue_types.iter().any(|t| t.eq_ignore_ascii_case(issue_type));
        if known.is_some_and(|p| !offered(p)) {
            return Err(refused(
                "GET createmeta",
                format!("issue type {issue_type:?} does not exist in project {project} on {}", self.site),
            ));
        }
        Ok(self.default_screen(known))
    }

    fn default_screen(&self, project: Option<&Project>) -> Vec<FieldMeta> {
        let allowed = |names: &[String]| {
            names.iter().map(|n| AllowedValue { id: None, name: Some(n.clone()) }).collect::<Vec<_>>()
        };
        let settable = self.catalogue.fields.iter().filter(|f| !NOT_SETTABLE.contains(&f.id.as_str()));
        settable
            .map(|f| FieldMeta {
                id: f.id.clone(),
                name: f.name.clone(),
                required: REQUIRED_ON_CREATE.contains(&f.id.as_str()),
                schema: f.schema.clone(),
                operations: vec!["set".into()],
                allowed_values: match (f.id.as_str(), project) {
                    ("components", Some(p)) => allowed(&p.components),
                    ("fixVersions", Some(p)) => allowed(&p.versions),
                    _ => Vec::new(),
                },
            })
            .collect()
    }

    /// The one user showing this address, whatever its case.
    pub fn find_user(&self, email: &str) -> Result<Option<UserRef>, JiraError> {
        let shows = |u: &&UserRef| u.email.as_deref().is_some_and(|e| e.eq_ignore_ascii_case(email));
        let found: Vec<&UserRef> = self.users.iter().filter(shows).collect();
        match found.as_slice() {
            [] => Ok(None),
            [one] => Ok(Some((*one).clone())),
            many => {
                Err(refused("GET user/search", format!("e-mail {email} matches {} users on {}", many.len(), self.site)))
            }
        }
    }

    pub fn read_issue(&self, key_or_id: &str, fields: &[&str], call: &str) -> Result<Issue, JiraError> {
        let stored = self.find(key_or_id).ok_or_else(|| from_call(not_found(), call))?;
        self.rendered(stored, fields, call)
    }

    /// The issues a search within `jql` can find: not moved away, and in
    /// its projects when it names any.
    fn searchable<'a>(&'a self, jql: Option<&str>) -> impl Iterator<Item = &'a Stored> + 'a {
        let projects = jql.and_then(scope::projects);
        self.issues.iter().filter(move |i| {
            i.in_scope && projects.as_ref().is_none_or(|p| p.iter().any(|x| x.eq_ignore_ascii_case(i.project())))
        })
    }

    pub fn read_issues(
        &self,
        scope: Option<&str>,
        keys_or_ids: &[&str],
        fields: &[&str],
        call: &str,
    ) -> Result<Vec<Issue>, JiraError> {
        let mut found: Vec<&Stored> = self.searchable(scope).filter(|i| keys_or_ids.iter().any(|k| i.is(k))).collect();
        found.sort_by_key(|i| key_order(i.key.as_str()));
        found.into_iter().map(|i| self.rendered(i, fields, call)).collect()
    }

    /// A page of the issues `jql` finds, least recently updated first.
    pub fn search(
        &self,
        jql: &str,
        fields: &[&str],
        page_size: usize,
        from: Option<Cursor>,
        call: &str,
    ) -> Result<Page, JiraError> {
        let start = match from {
            None | Some(Cursor::Start) => 0,
            Some(Cursor::StartAt(n)) => n,
            Some(Cursor::Done) => return Ok(Page::default()),
            Some(Cursor::Token(t)) => t
                .parse()
                .map_err(|_| from_call(bad_request(&[], &[&format!("The page token '{t}' is not valid.")]), call))?,
        };
        let mut found: Vec<&Stored> = self.searchable(Some(jql)).collect();
        found.sort_by_key(|i| (i.updated_ms, key_order(i.key.as_str())));
        let page = found.iter().skip(start).take(page_size.max(1));
        let issues = page.map(|i| self.rendered(i, fields, call)).collect::<Result<Vec<_>, _>>()?;
        let end = start + issues.len();
        Ok(Page { issues, next: (end < found.len()).then_some(Cursor::StartAt(end)) })
    }

    /// Creates an issue as the real client does: the mark joins the labels
    /// and is kept as the entity property too.
    pub fn create(
        &mut self,
        project: &str,
        issue_type: &str,
        writes: &FieldWrites,
        mark: Option<&Mark>,
        call: &str,
    ) -> Result<IssueRef, JiraError> {
        let mut writes = writes.clone();
        if let Some(m) = mark {
            match writes.get_mut("labels") {
                Some(FieldValue::Labels(labels)) => m.keep_in(labels),
                _ => writes.set_id("labels", FieldValue::Labels(vec![m.to_string()])),
            }
        }
        writes.to_json(self.flavour).map_err(|e| refused("POST issue", e))?;
        let screen = self.create_screens.get(&screen_key(project, issue_type)).cloned();
        let mut fields = self.shaped(&writes, Screen::Create(screen.as_deref())).map_err(|errors| {
            let ctx = Context {
                site: &self.site,
                action: Action::Create,
                key: None,
                project: Some(project),
                issue_type: Some(issue_type),
            };
            explain(from_call(field_errors(errors), call), &ctx, Some(&self.catalogue))
        })?;
        let (id, key, now) = (self.allocate_id(), self.allocate_key(project), self.now());
        let initial = self.statuses.first().map(|s| s.name.clone()).unwrap_or_else(|| "To Do".into());
        fields.insert("project".into(), self.project_json(project));
        fields.insert("issuetype".into(), json!({"name": issue_type}));
        fields.insert("status".into(), self.status_json(&initial));
        fields.insert("created".into(), json!(timestamp(now)));
        let mut stored =
            Stored { id, key, fields, updated_ms: now, mark: mark.cloned(), in_scope: true, remote_links: Vec::new() };
        stored.touch(now);
        let created = stored.issue_ref();
        self.issues.push(stored);
        Ok(created)
    }

    /// The oldest issue of `project` whose labels carry `mark`.
    pub fn find_by_mark(&self, project: &str, mark: &Mark) -> Option<IssueRef> {
        self.issues
            .iter()
            .filter(|i| i.project().eq_ignore_ascii_case(project) && i.labels().iter().any(|l| l == mark.as_str()))
            .min_by_key(|i| i.id.as_str().parse::<u64>().unwrap_or(u64::MAX))
            .map(Stored::issue_ref)
    }

    pub fn edit(&mut self, key: &str, writes: &FieldWrites, call: &str) -> Result<(), JiraError> {
        writes.to_json(self.flavour).map_err(|e| refused("PUT issue", format!("{key}: {e}")))?;
        let Some(issue) = self.find(key) else { return Err(self.missing_for_edit(key, call)) };
        let (project, issue_type) = (issue.project().to_string(), issue.issue_type().to_string());
        let shaped = self.shaped(writes, Screen::Edit).map_err(|errors| {
            let ctx = Context {
                site: &self.site,
                action: Action::Edit,
                key: Some(key),
                project: Some(&project),
                issue_type: Some(&issue_type),
            };
            explain(from_call(field_errors(errors), call), &ctx, Some(&self.catalogue))
        })?;
        let now = self.now();
        if let Some(issue) = self.find_mut(key) {
            issue.fields.extend(shaped);
            issue.touch(now);
        }
        Ok(())
    }

    /// Adds a label unless the issue has it already (then nothing changes).
    pub fn add_label(&mut self, key: &str, label: &str, call: &str) -> Result<(), JiraError> {
        if self.find(key).is_none() {
            return Err(self.missing_for_edit(key, call));
        }
        let now = self.now();
        if let Some(issue) = self.find_mut(key) {
            let mut labels = issue.labels();
            if !labels.iter().any(|l| l == label) {
                labels.push(label.to_string());
                issue.fields.insert("labels".into(), json!(labels));
                issue.touch(now);
            }
        }
        Ok(())
    }

    /// Moves the issue straight to `status`; the transition taken is named
    /// after the status it leads to.
    pub fn transition(&mut self, key: &str, status: &str, call: &str) -> Result<Vec<String>, JiraError> {
        let at = self.find(key).ok_or_else(|| from_call(not_found(), call))?.status().to_string();
        let Some(target) = self.known_status(status).map(|s| s.name.clone()) else {
            return Err(refused(
                "POST transitions",
                format!("status {status:?} does not exist on {}; {key} stays at {at:?}", self.site),
            ));
        };
        if at.eq_ignore_ascii_case(&target) {
            return Ok(Vec::new());
        }
        self.set_status(key, &target);
        Ok(vec![target])
    }

    /// Puts the issue in `status` (made known if it is not) and marks it changed.
    pub fn set_status(&mut self, key: &str, status: &str) {
        let (json, now) = (self.status_json(status), self.now());
        if let Some(issue) = self.find_mut(key) {
            issue.fields.insert("status".into(), json);
            issue.touch(now);
        }
    }

    pub fn delete(&mut self, key: &str, call: &str) -> Result<(), JiraError> {
        if self.remove_issue(key) { Ok(()) } else { Err(from_call(not_found(), call)) }
    }

    /// The 404 of a write to an issue that is not there, explained as the
    /// real client explains it.
    fn missing_for_edit(&self, key: &str, call: &str) -> JiraError {
        let ctx = Context { site: &self.site, action: Action::Edit, key: Some(key), project: None, issue_type: None };
        explain(from_call(not_found(), call), &ctx, None)
    }

    /// The writes in read shape, or Jira's `errors` for the fields the
    /// screen does not show, cannot hold the value given, or requires.
    fn shaped(&self, writes: &FieldWrites, screen: Screen<'_>) -> Result<Map<String, Value>, BTreeMap<String, String>> {
        let mut out = Map::new();
        let mut errors = BTreeMap::new();
        for (id, value) in writes.iter() {
            let Some(info) = self.catalogue.by_id(id).filter(|_| on_screen(id, &screen)) else {
                errors.insert(id.to_string(), cannot_be_set(id));
                continue;
            };
            match self.read_shape(id, value) {
                Some(v) => {
                    out.insert(id.to_string(), v);
                }
                None => {
                    errors.insert(id.to_string(), format!("Specify a valid value for {}.", info.name));
                }
            }
        }
        if let Screen::Create(Some(meta)) = screen {
            let needed = meta.iter().filter(|m| m.required && !matches!(m.id.as_str(), "project" | "issuetype"));
            for m in needed.filter(|m| writes.get(&m.id).is_none_or(|v| *v == FieldValue::Empty)) {
                errors.entry(m.id.clone()).or_insert_with(|| format!("{} is required.", m.name));
            }
        }
        if errors.is_empty() { Ok(out) } else { Err(errors) }
    }
}

fn on_screen(id: &str, screen: &Screen<'_>) -> bool {
    match screen {
        Screen::Create(Some(meta)) => meta.iter().any(|m| m.id == id),
        Screen::Create(None) => !NOT_SETTABLE.contains(&id),
        // Moving an issue to another project is no edit.
        Screen::Edit => !NOT_SETTABLE.contains(&id) && id != "project",
    }
}
