//! The daemon's own parts as its supervisor sees them: a heartbeat per
//! engine part (the planner, each writer, the store) that `/readyz` and the
//! systemd watchdog read, and the outcome of the last configuration reload,
//! which `/status` shows.
//!
//! Heartbeats are read on tokio's clock, so their logic is tested with
//! paused time.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use serde::Serialize;
use tokio::time::Instant;

use super::status::rfc3339;

/// A watched part is stalled when it has not beaten for this long. Every
/// watched part beats at least every few seconds when healthy (the planner
/// and the writers at each loop, at most 250 ms apart when idle; the store
/// probe every 5 s), so this leaves room for a slow Jira call in the middle
/// of a loop without calling a busy part stalled.
pub const STALL_AFTER: Duration = Duration::from_secs(60);

/// The last beat of each watched part.
#[derive(Default)]
pub struct Heartbeats {
    parts: Mutex<BTreeMap<String, Instant>>,
}

impl Heartbeats {
    /// Watches exactly `parts` from now on, each counted as fresh now (an
    /// engine's tasks were just started; parts of a replaced engine are
    /// forgotten).
    pub fn watch(&self, parts: impl IntoIterator<Item = String>) {
        let now = Instant::now();
        *self.lock() = parts.into_iter().map(|p| (p, now)).collect();
    }

    /// `part` made progress, or is idle with nothing to do. A part that is
    /// not watched is ignored.
    pub fn beat(&self, part: &str) {
        if let Some(t) = self.lock().get_mut(part) {
            *t = Instant::now();
        }
    }

    /// The watched parts that have not beaten within `max_age`, with how
    /// long ago they last did.
    pub fn stalled(&self, max_age: Duration) -> Vec<(String, Duration)> {
        let now = Instant::now();
        let parts = self.lock();
        parts
            .iter()
            .map(|(p, t)| (p.clone(), now.saturating_duration_since(*t)))
            .filter(|(_, age)| *age > max_age)
            .collect()
    }

    /// The names of the watched parts.
    pub fn watched(&self) -> Vec<String> {
        self.lock().keys().cloned().collect()
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<String, Instant>> {
        self.parts.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// How a reload ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReloadOutcome {
    /// The new configuration runs.
    Applied,
    /// The new configuration runs, but some instances could not be reached
    /// and kept their old client (or a setting that needs a restart kept its
    /// running value); `errors` says which.
    Partial,
    /// Nothing changed: the running configuration is kept.
    Refused,
}

impl ReloadOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            ReloadOutcome::Applied => "applied",
            ReloadOutcome::Partial => "partial",
            ReloadOutcome::Refused => "refused",
        }
    }
}

/// What the last reload did.
#[derive(Debug, Clone)]
pub struct ReloadRecord {
    pub at_ms: i64,
    pub outcome: ReloadOutcome,
    /// Every problem, one line each (never a secret).
    pub errors: Vec<String>,
}

/// The reloads since start.
#[derive(Debug, Clone, Default)]
pub struct Reloads {
    /// Reloads attempted since start.
    pub attempts: u64,
    pub last: Option<ReloadRecord>,
    /// When a reload last put a new configuration in place.
    pub last_applied_ms: Option<i64>,
}

/// The reload history on the board.
#[derive(Default)]
pub struct ReloadLog {
    state: Mutex<Reloads>,
}

impl ReloadLog {
    pub fn record(&self, record: ReloadRecord) {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        s.attempts += 1;
        if record.outcome != ReloadOutcome::Refused {
            s.last_applied_ms = Some(record.at_ms);
        }
        s.last = Some(record);
    }

    pub fn get(&self) -> Reloads {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The `reload` object of `/status`.
    pub fn doc(&self) -> ReloadDoc {
        let r = self.get();
        ReloadDoc {
            attempts: r.attempts,
            errors: r.last.as_ref().map(|l| l.errors.clone()).unwrap_or_default(),
            last_applied: r.last_applied_ms.and_then(rfc3339),
            last_attempt: r.last.as_ref().and_then(|l| rfc3339(l.at_ms)),
            outcome: r.last.map(|l| l.outcome),
        }
    }
}

/// The reloads in the `/status` document.
#[derive(Debug, Clone, Serialize)]
pub struct ReloadDoc {
    /// Reloads attempted since start (SIGHUP or the admin socket).
    pub attempts: u64,
    /// Every problem of the last reload, one line each.
    pub errors: Vec<String>,
    pub last_applied: Option<String>,
    pub last_attempt: Option<String>,
    /// `applied`, `partial` (applied; some instances kept their old client
    /// or a setting needs a restart) or `refused` (the old config runs).
    pub outcome: Option<ReloadOutcome>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_part_that_stops_beating_is_stalled_and_only_watched_parts_count() {
        let h = Heartbeats::default();
        h.watch(["planner".to_string(), "writer.hub".to_string()]);
        tokio::time::advance(Duration::from_secs(40)).await;
        h.beat("planner");
        h.beat("writer.gone");
        assert!(h.stalled(STALL_AFTER).is_empty());
        tokio::time::advance(Duration::from_secs(30)).await;
        let stalled = h.stalled(STALL_AFTER);
        assert_eq!(stalled, vec![("writer.hub".to_string(), Duration::from_secs(70))]);
        // A new engine's parts start fresh; the old ones are forgotten.
        h.watch(["planner".to_string()]);
        assert!(h.stalled(STALL_AFTER).is_empty());
        assert_eq!(h.watched(), ["planner"]);
    }

    #[test]
    fn a_refused_reload_is_counted_but_not_applied() {
        let log = ReloadLog::default();
        log.record(ReloadRecord { at_ms: 5, outcome: ReloadOutcome::Applied, errors: vec![] });
        log.record(ReloadRecord { at_ms: 9, outcome: ReloadOutcome::Refused, errors: vec!["bad".into()] });
        let r = log.get();
        assert_eq!((r.attempts, r.last_applied_ms), (2, Some(5)));
        assert_eq!(r.last.unwrap().errors, ["bad"]);
    }
}
