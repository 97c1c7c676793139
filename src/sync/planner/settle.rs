//! When to plan the changes to one issue. A change to an issue with no
//! write in flight is planned at once. Changes that arrive while the
//! issue's writes are in flight follow them: they wait until the issue has
//! been quiet for [`SETTLE`] (never longer than [`MAX_HOLD`] after the
//! first of them), so that a burst of edits costs the first change's read
//! and write and one more of each.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use crate::sync::in_flight::SiteIssue;

/// Changes that followed a planned one are planned once the issue has
/// been quiet this long.
pub const SETTLE: Duration = Duration::from_millis(20);
/// ...but never held longer than this after the first of them, so that a
/// steady stream of changes to one issue still flows.
pub const MAX_HOLD: Duration = Duration::from_millis(200);
/// Issues remembered before stale ones are forgotten.
const PRUNE_AT: usize = 1_024;

/// The issues whose changes arrived while their writes were in flight:
/// issue -> when that was first seen.
#[derive(Debug, Default)]
pub struct Bursts {
    following: Mutex<HashMap<SiteIssue, i64>>,
}

impl Bursts {
    /// A change to `issue`, not jirafed's own, waits behind its writes.
    pub fn follows(&self, issue: SiteIssue, now: i64) {
        let mut following = self.lock();
        if following.len() >= PRUNE_AT {
            // Entries planned long ago that nothing cleared (the changes
            // were acknowledged some other way).
            let cut = now - 10 * MAX_HOLD.as_millis() as i64;
            following.retain(|_, t| *t >= cut);
        }
        following.entry(issue).or_insert(now);
    }

    /// How long the changes to `issue` seen from `first_ms` to `last_ms`
    /// should still wait at `now`, if at all.
    pub fn wait(&self, issue: &SiteIssue, first_ms: i64, last_ms: i64, now: i64) -> Option<Duration> {
        if !self.lock().contains_key(issue) {
            return None;
        }
        let settle = SETTLE.as_millis() as i64;
        let quiet = now - last_ms;
        let held = now - first_ms;
        if quiet >= settle || held >= MAX_HOLD.as_millis() as i64 || quiet < 0 {
            return None;
        }
        Some(Duration::from_millis((settle - quiet) as u64))
    }

    /// The changes to `issue` are being planned.
    pub fn planned(&self, issue: &SiteIssue) {
        self.lock().remove(issue);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<SiteIssue, i64>> {
        self.following.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: i64 = 1_000_000;

    #[test]
    fn a_change_with_no_write_in_flight_goes_at_once() {
        let b = Bursts::default();
        let i = SiteIssue::new("emea", "10001");
        assert_eq!(b.wait(&i, T, T, T), None);
        b.follows(SiteIssue::new("apac", "10001"), T);
        assert_eq!(b.wait(&i, T, T, T), None, "another site's issue follows");
    }

    #[test]
    fn changes_that_followed_writes_wait_to_settle_but_not_past_max_hold() {
        let b = Bursts::default();
        let i = SiteIssue::new("emea", "10001");
        b.follows(i.clone(), T);
        assert_eq!(b.wait(&i, T, T, T), Some(SETTLE), "a whole window from the last change");
        assert_eq!(b.wait(&i, T, T + 5, T + 10), Some(Duration::from_millis(15)));
        assert_eq!(b.wait(&i, T, T + 5, T + 25), None, "quiet for the window");
        let hold = MAX_HOLD.as_millis() as i64;
        assert_eq!(b.wait(&i, T, T + hold - 1, T + hold), None, "held long enough");
        b.planned(&i);
        assert_eq!(b.wait(&i, T + hold + 1, T + hold + 1, T + hold + 1), None, "planned: the next change goes at once");
    }

    #[test]
    fn stale_entries_are_forgotten_once_there_are_many() {
        let b = Bursts::default();
        for n in 0..PRUNE_AT {
            b.follows(SiteIssue::new("emea", &n.to_string()), T);
        }
        b.follows(SiteIssue::new("emea", "new"), T + 10 * MAX_HOLD.as_millis() as i64 + 1);
        assert_eq!(b.lock().len(), 1);
    }
}
