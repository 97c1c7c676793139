//! What the engine has recently seen happen on the sites, for deciding when
//! a write's target must be read first (`read_target = "auto"`): which
//! issues changed lately, when jirafed last wrote to each site, and whether
//! the site's webhooks bring jirafed's own writes back (so that its
//! silence about an issue means something).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use super::in_flight::SiteIssue;

/// A change of an issue this recent may still have webhooks on the way.
pub const HOT: Duration = Duration::from_secs(60);
/// How long after a write its echo may take before the site's webhooks
/// count as not confirmed.
pub const ECHO_GRACE: Duration = Duration::from_secs(10);
/// Issues remembered before old ones are pruned.
const LIMIT: usize = 10_000;

#[derive(Debug, Default)]
struct Seen {
    /// Issue -> when a change not made by jirafed was last seen.
    changed: HashMap<SiteIssue, i64>,
    /// Instance -> when jirafed's last write there succeeded.
    writes: HashMap<String, i64>,
    /// Instance -> when the last webhook for jirafed's own write arrived.
    echoes: HashMap<String, i64>,
}

/// Shared by the planner (changes, echoes) and the writers (writes).
#[derive(Debug, Default)]
pub struct Activity {
    seen: Mutex<Seen>,
}

impl Activity {
    pub fn changed(&self, issue: SiteIssue, at_ms: i64) {
        let mut seen = self.lock();
        if seen.changed.len() >= LIMIT {
            let cut = at_ms - HOT.as_millis() as i64;
            seen.changed.retain(|_, t| *t >= cut);
        }
        let t = seen.changed.entry(issue).or_insert(at_ms);
        *t = (*t).max(at_ms);
    }

    pub fn wrote(&self, instance: &str, at_ms: i64) {
        self.lock().writes.insert(instance.to_string(), at_ms);
    }

    pub fn echoed(&self, instance: &str, at_ms: i64) {
        let mut seen = self.lock();
        let t = seen.echoes.entry(instance.to_string()).or_insert(at_ms);
        *t = (*t).max(at_ms);
    }

    /// Nothing suggests `issue` changed without jirafed knowing yet: no
    /// change of it in the last [`HOT`], and its site is seen to deliver
    /// webhooks (jirafed's own writes come back as echoes).
    pub fn quiet(&self, issue: &SiteIssue, now_ms: i64) -> bool {
        let seen = self.lock();
        let hot = HOT.as_millis() as i64;
        let grace = ECHO_GRACE.as_millis() as i64;
        let recent = seen.changed.get(issue).is_some_and(|t| now_ms - t < hot);
        let instance = issue.instance.as_str();
        let Some(echo) = seen.echoes.get(instance) else { return false };
        let live = match seen.writes.get(instance) {
            Some(w) => *echo + grace >= *w || now_ms - w < grace,
            None => true,
        };
        !recent && live
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Seen> {
        self.seen.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_issue_is_quiet_only_with_echoes_seen_and_no_recent_change() {
        let a = Activity::default();
        let mirror = SiteIssue::new("hub", "20");
        let t = 1_000_000;
        assert!(!a.quiet(&mirror, t), "no echo yet: the site's webhooks are not confirmed");
        a.echoed("hub", t);
        assert!(a.quiet(&mirror, t));
        a.changed(mirror.clone(), t);
        assert!(!a.quiet(&mirror, t + 1), "changed a moment ago");
        assert!(a.quiet(&mirror, t + HOT.as_millis() as i64), "long enough ago");
        let later = t + 2 * HOT.as_millis() as i64;
        a.wrote("hub", later);
        assert!(a.quiet(&mirror, later + 1), "a write's echo may still come");
        let past_grace = later + ECHO_GRACE.as_millis() as i64 + 1;
        assert!(!a.quiet(&mirror, past_grace), "a write whose echo never came: webhooks look lost");
        a.echoed("hub", past_grace);
        assert!(a.quiet(&mirror, past_grace));
    }
}
