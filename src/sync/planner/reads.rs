//! The reads of one planning pass, batched: the issues wanted from one site
//! (and, for scope checks, under one flow's scope) are read with one search
//! per 50 ids, `key in (...)` (on Cloud with `reconcileIssues`, so as fresh
//! as direct reads), instead of one call each.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::super::engine::Engine;
use crate::jira::JiraError;
use crate::jira::model::Issue;

/// Ids per search.
const IDS_PER_SEARCH: usize = crate::jira::client::RECONCILE_MAX;

/// Where an issue is read from: a site, and optionally a JQL scope it must
/// be in (issues outside it are not returned).
pub(super) type Source = (String, Option<String>);

/// The reads wanted: ids and the union of their fields, per source.
#[derive(Default)]
pub(super) struct Wanted {
    by_source: BTreeMap<Source, (BTreeSet<String>, BTreeSet<String>)>,
}

impl Wanted {
    pub(super) fn add(&mut self, instance: &str, scope: Option<&str>, id: &str, fields: &[String]) {
        let entry = self.by_source.entry((instance.to_string(), scope.map(String::from))).or_default();
        entry.0.insert(id.to_string());
        entry.1.extend(fields.iter().cloned());
    }

    pub(super) fn is_empty(&self) -> bool {
        self.by_source.is_empty()
    }

    /// Runs every search; a failed search fails only the ids it carried.
    pub(super) async fn read(self, engine: &Engine) -> Found {
        let mut found = Found::default();
        for ((instance, scope), (ids, fields)) in self.by_source {
            let Some(client) = engine.site(&instance) else { continue };
            let fields: Vec<&str> = fields.iter().map(String::as_str).collect();
            let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
            for chunk in ids.chunks(IDS_PER_SEARCH) {
                let source = (instance.clone(), scope.clone());
                match client.issues(scope.as_deref(), chunk, &fields).await {
                    Ok(issues) => {
                        let now = engine.now_ms();
                        for issue in issues {
                            engine.lookups.issue_ids.put(&instance, issue.key.as_str(), now, issue.id.to_string());
                            found.issues.insert((source.clone(), issue.id.to_string()), issue);
                        }
                        for id in chunk {
                            found.read.insert((source.clone(), id.to_string()));
                        }
                    }
                    Err(e) => {
                        tracing::warn!(instance, error = %e, "batched read failed");
                        let failed = Failed { retriable: e.is_retriable(), text: e.to_string() };
                        for id in chunk {
                            found.failed.insert((source.clone(), id.to_string()), failed.clone());
                        }
                    }
                }
            }
        }
        found
    }
}

/// Why a read failed.
#[derive(Debug, Clone)]
pub(super) struct Failed {
    pub(super) retriable: bool,
    pub(super) text: String,
}

/// What one issue's read gave.
pub(super) enum Got<'a> {
    Issue(&'a Issue),
    /// The search ran and did not return it: gone, out of scope or hidden.
    Missing,
    Failed(&'a Failed),
}

#[derive(Default)]
pub(super) struct Found {
    issues: HashMap<(Source, String), Issue>,
    read: std::collections::HashSet<(Source, String)>,
    failed: HashMap<(Source, String), Failed>,
}

impl Found {
    pub(super) fn get(&self, instance: &str, scope: Option<&str>, id: &str) -> Got<'_> {
        let key = ((instance.to_string(), scope.map(String::from)), id.to_string());
        if let Some(i) = self.issues.get(&key) {
            return Got::Issue(i);
        }
        match self.failed.get(&key) {
            Some(f) => Got::Failed(f),
            None if self.read.contains(&key) => Got::Missing,
            None => Got::Failed(&NOT_READ),
        }
    }
}

static NOT_READ: Failed = Failed { retriable: true, text: String::new() };

/// An issue a search did not return, read directly: `None` only when Jira
/// says it does not exist (404). Searches may lag behind writes, and losing a
/// pairing over a lagging index would be worse than one more call.
pub(super) async fn confirm(
    engine: &Engine,
    instance: &str,
    id: &str,
    fields: &[String],
) -> Result<Option<Issue>, JiraError> {
    let Some(c) = engine.site(instance) else { return Ok(None) };
    let fields: Vec<&str> = fields.iter().map(String::as_str).collect();
    match c.issue(id, &fields).await {
        Ok(i) => Ok(Some(i)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e),
    }
}
