//! Answers the sites gave the writers (a user by e-mail, a project's
//! components and versions), remembered for a while so that writes do not
//! ask again and again.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::jira::model::{Project, UserRef};

/// How long an answer is used before it is asked again.
const KEEP_MS: i64 = 10 * 60 * 1000;

/// Answers by (instance, name), each with when it was given.
pub struct SiteCache<V> {
    entries: Mutex<HashMap<(String, String), (i64, V)>>,
}

impl<V> Default for SiteCache<V> {
    fn default() -> Self {
        SiteCache { entries: Mutex::default() }
    }
}

impl<V: Clone> SiteCache<V> {
    pub fn get(&self, instance: &str, name: &str, now_ms: i64) -> Option<V> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let (at, v) = entries.get(&(instance.to_string(), name.to_string()))?;
        (now_ms - at < KEEP_MS).then(|| v.clone())
    }

    pub fn put(&self, instance: &str, name: &str, now_ms: i64, v: V) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.insert((instance.to_string(), name.to_string()), (now_ms, v));
    }
}

/// The writers' caches.
#[derive(Default)]
pub struct Lookups {
    /// (instance, e-mail) -> the user found there, if any.
    pub users: SiteCache<Option<UserRef>>,
    /// (instance, project key) -> the project.
    pub projects: SiteCache<Project>,
}
