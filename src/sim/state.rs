//! One running simulated site: its data behind a lock, its seed (for
//! `/_sim/reset`), faults, counters and the webhook queue.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::faults::Faults;
use super::model::SiteData;
use super::ops::Event;
use super::webhooks::{Delivery, matching_deliveries};

/// Requests kept in the `/_sim/log` ring.
const LOG_CAPACITY: usize = 20_000;

/// One line of `/_sim/log`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LogEntry {
    /// Milliseconds since the Unix epoch, when the request arrived.
    pub at_ms: i64,
    pub method: String,
    pub template: String,
    pub path: String,
    pub status: u16,
}

#[derive(Debug, Default)]
pub struct Stats {
    pub requests: Mutex<BTreeMap<String, u64>>,
    /// Successful GETs.
    pub reads: AtomicU64,
    /// Successful non-GET calls, searches included.
    pub writes: AtomicU64,
    /// Successful non-GET calls that are not searches: real changes.
    pub mutations: AtomicU64,
    pub rate_limited: AtomicU64,
    pub errors_injected: AtomicU64,
    pub delivered: AtomicU64,
    pub dropped: AtomicU64,
    pub failed: AtomicU64,
    pub retried: AtomicU64,
    pub log: Mutex<VecDeque<LogEntry>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding a lock must not take the whole simulator down.
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Stats {
    pub fn count_request(&self, key: String) {
        *lock(&self.requests).entry(key).or_default() += 1;
    }

    /// Counts a successful `/rest/` call.
    pub fn count_success(&self, get: bool, search: bool) {
        if get {
            self.reads.fetch_add(1, Ordering::Relaxed);
            return;
        }
        self.writes.fetch_add(1, Ordering::Relaxed);
        if !search {
            self.mutations.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn log(&self, entry: LogEntry) {
        let mut log = lock(&self.log);
        if log.len() == LOG_CAPACITY {
            log.pop_front();
        }
        log.push_back(entry);
    }

    pub fn log_entries(&self) -> Vec<LogEntry> {
        lock(&self.log).iter().cloned().collect()
    }

    pub fn snapshot(&self) -> Value {
        let n = |a: &AtomicU64| a.load(Ordering::Relaxed);
        json!({
            "requests": *lock(&self.requests),
            "reads": n(&self.reads),
            "writes": n(&self.writes),
            "mutations": n(&self.mutations),
            "rate_limited": n(&self.rate_limited),
            "errors_injected": n(&self.errors_injected),
            "webhooks": {"delivered": n(&self.delivered), "dropped": n(&self.dropped), "failed": n(&self.failed), "retried": n(&self.retried)},
        })
    }

    pub fn reset(&self) {
        lock(&self.requests).clear();
        lock(&self.log).clear();
        for a in [
            &self.reads,
            &self.writes,
            &self.mutations,
            &self.rate_limited,
            &self.errors_injected,
            &self.delivered,
            &self.dropped,
            &self.failed,
            &self.retried,
        ] {
            a.store(0, Ordering::Relaxed);
        }
    }
}

pub struct Site {
    pub name: String,
    data: Mutex<SiteData>,
    seed: SiteData,
    faults: Mutex<Faults>,
    pub stats: Stats,
    hooks: mpsc::UnboundedSender<Delivery>,
}

impl Site {
    pub fn new(seed: SiteData, hooks: mpsc::UnboundedSender<Delivery>) -> Self {
        Self {
            name: seed.name.clone(),
            data: Mutex::new(seed.clone()),
            seed,
            faults: Mutex::default(),
            stats: Stats::default(),
            hooks,
        }
    }

    pub fn data(&self) -> MutexGuard<'_, SiteData> {
        lock(&self.data)
    }

    pub fn faults(&self) -> MutexGuard<'_, Faults> {
        lock(&self.faults)
    }

    /// Whether the caller these headers authenticate is spared the faults
    /// (`spare_users`).
    pub fn spared(&self, headers: &axum::http::HeaderMap) -> bool {
        if self.faults().spec().spare_users.is_none() {
            return false;
        }
        let login = crate::sim::auth::authenticate(&self.data(), headers).map(|u| u.login.clone());
        login.is_some_and(|l| self.faults().spares(&l))
    }

    /// Runs a mutation under the lock and queues the webhooks it raised.
    pub fn mutate<T, E>(&self, f: impl FnOnce(&mut SiteData) -> Result<(T, Vec<Event>), E>) -> Result<T, E> {
        let mut data = self.data();
        let (value, events) = f(&mut data)?;
        let deliveries = matching_deliveries(&data, &events);
        drop(data);
        for d in deliveries {
            self.queue(d);
        }
        Ok(value)
    }

    fn queue(&self, d: Delivery) {
        if self.faults().should_drop_webhook() {
            self.stats.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        // The worker lives as long as the site; a closed queue means shutdown.
        let _ = self.hooks.send(d);
    }

    /// `/_sim/reset`: back to the seed, faults off, counters zero. Webhook
    /// registrations are kept (they are test wiring, not Jira data).
    pub fn reset(&self) {
        let mut data = self.data();
        let hooks = std::mem::take(&mut data.webhooks);
        *data = self.seed.clone();
        data.webhooks = hooks;
        drop(data);
        self.faults().clear();
        self.stats.reset();
    }
}
