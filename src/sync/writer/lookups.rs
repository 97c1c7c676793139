//! Answers the sites gave the writers (a user by e-mail, a project's
//! components and versions) and the planner (an issue's id by its key),
//! remembered for a while so that they are not asked again and again.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::jira::model::{Project, UserRef};

/// How long an answer that may change (a user, a project) is used before
/// it is asked again.
const KEEP_MS: i64 = 10 * 60 * 1000;
/// How long an issue's id by its key is used: it does not change (a moved
/// issue's old key still names it); a day bounds what a renamed project
/// could leave behind.
const KEEP_IDS_MS: i64 = 24 * 60 * 60 * 1000;
/// Answers kept per cache: past it, those too old to be used are dropped,
/// and if that is not enough, all.
const LIMIT: usize = 50_000;

/// Answers by (instance, name), each with when it was given.
pub struct SiteCache<V> {
    entries: Mutex<HashMap<(String, String), (i64, V)>>,
    keep_ms: i64,
}

impl<V> Default for SiteCache<V> {
    fn default() -> Self {
        SiteCache::keeping(KEEP_MS)
    }
}

impl<V> SiteCache<V> {
    /// A cache whose answers are used for `keep_ms`.
    pub fn keeping(keep_ms: i64) -> Self {
        SiteCache { entries: Mutex::default(), keep_ms }
    }
}

impl<V: Clone> SiteCache<V> {
    pub fn get(&self, instance: &str, name: &str, now_ms: i64) -> Option<V> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let (at, v) = entries.get(&(instance.to_string(), name.to_string()))?;
        (now_ms - at < self.keep_ms).then(|| v.clone())
    }

    pub fn put(&self, instance: &str, name: &str, now_ms: i64, v: V) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= LIMIT {
            let keep = self.keep_ms;
            entries.retain(|_, (at, _)| now_ms - *at < keep);
            if entries.len() >= LIMIT {
                entries.clear();
            }
        }
        entries.insert((instance.to_string(), name.to_string()), (now_ms, v));
    }
}

/// The writers' and the planner's caches.
pub struct Lookups {
    /// (instance, e-mail) -> the user found there, if any.
    pub users: SiteCache<Option<UserRef>>,
    /// (instance, project key) -> the project.
    pub projects: SiteCache<Project>,
    /// (instance, issue key) -> the issue's id, from the planner's reads: a
    /// Data Center Epic Link names its epic by key only.
    pub issue_ids: SiteCache<String>,
}

impl Default for Lookups {
    fn default() -> Self {
        Lookups {
            users: SiteCache::default(),
            projects: SiteCache::default(),
            issue_ids: SiteCache::keeping(KEEP_IDS_MS),
        }
    }
}
