//! Green, amber or red, with the reason in words: for the whole daemon,
//! each instance and each flow. Pure: the `/status` document and "now" in,
//! a verdict out.
//!
//! Red is "something is broken and will not mend without someone": a site
//! unreachable or refusing our credentials, the store unusable, the daemon
//! not ready, polls far behind. Amber is "look when you can": writes paused,
//! dead letters waiting, a poll running late, links waiting for a mirror, a
//! recent error or conflict.

use std::time::Duration;

use chrono::DateTime;

use crate::observe::status::{AUTH_FRESHNESS_MS, FlowDoc, InstanceDoc};

/// An error or conflict this recent makes its instance or flow amber.
pub const RECENT_MS: i64 = 15 * 60 * 1000;
/// Poll lag beyond this many poll intervals (and at least a minute) is
/// amber...
pub const LAG_AMBER_INTERVALS: f64 = 3.0;
const LAG_AMBER_FLOOR_SECONDS: f64 = 60.0;
/// ... and beyond this many (and at least 5 minutes), red: changes that
/// webhooks missed are not seen.
pub const LAG_RED_INTERVALS: f64 = 10.0;
const LAG_RED_FLOOR_SECONDS: f64 = 300.0;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Green,
    Amber,
    Red,
}

impl Level {
    /// The CSS class and `data-health` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Green => "green",
            Level::Amber => "amber",
            Level::Red => "red",
        }
    }

    /// The badge's word.
    pub fn word(self) -> &'static str {
        match self {
            Level::Green => "healthy",
            Level::Amber => "attention",
            Level::Red => "failing",
        }
    }
}

/// A verdict: the worst level found and every reason for it, worst first.
#[derive(Debug, Clone, PartialEq)]
pub struct Health {
    pub level: Level,
    pub reasons: Vec<(Level, String)>,
}

impl Health {
    fn new() -> Health {
        Health { level: Level::Green, reasons: Vec::new() }
    }

    fn add(&mut self, level: Level, reason: impl Into<String>) {
        self.level = self.level.max(level);
        self.reasons.push((level, reason.into()));
    }

    fn done(mut self, green: impl FnOnce() -> String) -> Health {
        if self.reasons.is_empty() {
            self.reasons.push((Level::Green, green()));
        }
        // Stable: reasons of one level keep their order.
        self.reasons.sort_by_key(|r| std::cmp::Reverse(r.0));
        self
    }

    /// The first (worst) reason.
    pub fn headline(&self) -> &str {
        self.reasons.first().map_or("", |(_, r)| r.as_str())
    }
}

/// Milliseconds since the epoch of an RFC 3339 time of the document.
pub fn ms(t: &Option<String>) -> Option<i64> {
    t.as_deref().and_then(|t| DateTime::parse_from_rfc3339(t).ok()).map(|t| t.timestamp_millis())
}

pub use crate::observe::status::age;

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn recent(at: Option<i64>, now_ms: i64) -> Option<i64> {
    at.filter(|t| now_ms - t <= RECENT_MS)
}

/// One instance. `poll_interval` is its configured interval (`None` when
/// the running config no longer lists it).
pub fn instance(i: &InstanceDoc, poll_interval: Option<Duration>, now_ms: i64) -> Health {
    let mut h = Health::new();
    let error = i.last_error.as_deref().unwrap_or("no answer yet");
    let error_at = ms(&i.last_error_at);
    if !i.reachable {
        if error_at.is_some() {
            h.add(Level::Red, format!("unreachable: {error}"));
        } else {
            h.add(Level::Amber, "not reached yet");
        }
    } else if !i.auth {
        if i.last_auth_ok.is_none() && error_at.is_none() {
            h.add(Level::Amber, "not authenticated yet");
        } else {
            h.add(Level::Red, format!("authentication failing: {error}"));
        }
    } else if let Some(ok) = ms(&i.last_auth_ok).filter(|t| now_ms - t > AUTH_FRESHNESS_MS) {
        h.add(Level::Red, format!("not authenticated since {}", age(ok, now_ms)));
    }
    if let (Some(lag), Some(every)) = (i.poll_lag_seconds, poll_interval) {
        let every = every.as_secs_f64().max(1.0);
        if lag > (every * LAG_RED_INTERVALS).max(LAG_RED_FLOOR_SECONDS) {
            h.add(Level::Red, format!("polls stalled: {lag:.0} s behind (polled every {every:.0} s)"));
        } else if lag > (every * LAG_AMBER_INTERVALS).max(LAG_AMBER_FLOOR_SECONDS) {
            h.add(Level::Amber, format!("polls late: {lag:.0} s behind (polled every {every:.0} s)"));
        }
    }
    if i.paused {
        let since = ms(&i.paused_since).map(|t| format!(" since {}", age(t, now_ms))).unwrap_or_default();
        h.add(Level::Amber, format!("writes paused by hand{since} (jirafed resume)"));
    }
    if let Some(until) = ms(&i.paused_until).filter(|t| *t > now_ms) {
        let secs = (until - now_ms + 999) / 1000;
        h.add(Level::Amber, format!("Jira asked to slow down (429): calls wait {secs} s more"));
    }
    if let Some(n) = i.dead_letters.filter(|n| *n > 0) {
        h.add(Level::Amber, format!("{} to handle (jirafed dead-letters)", plural(n, "dead letter", "dead letters")));
    }
    if h.level != Level::Red {
        if let Some(t) = recent(error_at, now_ms) {
            h.add(Level::Amber, format!("error {}: {error}", age(t, now_ms)));
        }
    }
    h.done(|| "reachable and authenticated".to_string())
}

/// One flow, given the verdicts of the instances it joins.
pub fn flow(f: &FlowDoc, sites: &[(&str, &Health)], now_ms: i64) -> Health {
    let mut h = Health::new();
    for (name, site) in sites {
        if site.level == Level::Red {
            h.add(Level::Red, format!("{name} is failing: {}", site.headline()));
        }
    }
    if let Some(n) = f.pending_links.filter(|n| *n > 0) {
        h.add(Level::Amber, format!("{} waiting for the far end's mirror", plural(n, "issue link", "issue links")));
    }
    if let Some(t) = recent(ms(&f.last_error_at), now_ms) {
        h.add(Level::Amber, format!("error {}: {}", age(t, now_ms), f.last_error.as_deref().unwrap_or("")));
    }
    if let Some(c) = f.last_conflict.as_ref().filter(|c| recent(Some(c.at_ms), now_ms).is_some()) {
        h.add(Level::Amber, format!("conflict on {} {}, {} kept", c.field, age(c.at_ms, now_ms), c.winner));
    }
    h.done(|| match ms(&f.last_sync) {
        Some(t) => format!("in sync, last write {}", age(t, now_ms)),
        None => "in sync, nothing written yet".to_string(),
    })
}

/// The whole daemon: the store, readiness (`/readyz`'s reasons, by part),
/// then every instance and flow that is not green.
pub fn overall<'a>(
    store_error: Option<&str>,
    readiness: &[(String, String)],
    instances: impl IntoIterator<Item = (&'a str, &'a Health)>,
    flows: impl IntoIterator<Item = (&'a str, &'a Health)>,
) -> Health {
    let mut h = Health::new();
    if let Some(e) = store_error {
        h.add(Level::Red, format!("the store is recovering from a storage failure: {e}"));
    }
    for (part, reason) in readiness {
        if part != "store" || store_error.is_none() {
            h.add(Level::Red, format!("not ready, {part}: {reason}"));
        }
    }
    let (mut n_instances, mut n_flows) = (0, 0);
    for (kind, list) in [("instance", instances.into_iter().collect::<Vec<_>>()), ("flow", flows.into_iter().collect())]
    {
        for (name, health) in list {
            if kind == "instance" {
                n_instances += 1
            } else {
                n_flows += 1
            }
            if health.level != Level::Green {
                h.add(health.level, format!("{kind} {name}: {}", health.headline()));
            }
        }
    }
    h.done(|| {
        format!(
            "ready: {} reachable and authenticated, {} in sync",
            plural(n_instances, "instance", "instances"),
            plural(n_flows, "flow", "flows")
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observe::ConflictRecord;

    const NOW: i64 = 1_800_000_000_000;

    fn at(ms_before: i64) -> Option<String> {
        crate::observe::status::rfc3339(NOW - ms_before)
    }

    fn healthy() -> InstanceDoc {
        InstanceDoc {
            auth: true,
            dead_letters: Some(0),
            flavour: "cloud",
            last_auth_ok: at(5_000),
            last_error: None,
            last_error_at: None,
            last_poll: at(5_000),
            last_webhook: None,
            outbox_depth: Some(0),
            paused: false,
            paused_since: None,
            paused_until: None,
            poll_lag_seconds: Some(20.0),
            rate_limit: None,
            reachable: true,
            role: "secondary",
        }
    }

    fn synced() -> FlowDoc {
        FlowDoc {
            conflicts: 0,
            last_conflict: None,
            last_error: None,
            last_error_at: None,
            last_sync: at(12_000),
            links: Some(3),
            pending_links: Some(0),
            unmapped_link_types: Vec::new(),
        }
    }

    #[test]
    fn instance_rules() {
        type Edit = fn(&mut InstanceDoc);
        let cases: &[(&str, Edit, Level, &str)] = &[
            ("healthy", |_| {}, Level::Green, "reachable and authenticated"),
            (
                "unreachable",
                |i| {
                    i.reachable = false;
                    i.last_error = Some("connection refused".into());
                    i.last_error_at = at(3_000);
                },
                Level::Red,
                "unreachable: connection refused",
            ),
            ("not reached yet", |i| i.reachable = false, Level::Amber, "not reached yet"),
            (
                "auth refused",
                |i| {
                    i.auth = false;
                    i.last_error = Some("401 Unauthorized".into());
                    i.last_error_at = at(1_000);
                },
                Level::Red,
                "authentication failing: 401 Unauthorized",
            ),
            (
                "auth not yet checked",
                |i| {
                    i.auth = false;
                    i.last_auth_ok = None;
                },
                Level::Amber,
                "not authenticated yet",
            ),
            (
                "auth stale",
                |i| i.last_auth_ok = at(AUTH_FRESHNESS_MS + 60_000),
                Level::Red,
                "not authenticated since 11 min ago",
            ),
            (
                "lag late",
                |i| i.poll_lag_seconds = Some(100.0),
                Level::Amber,
                "polls late: 100 s behind (polled every 30 s)",
            ),
            ("lag stalled", |i| i.poll_lag_seconds = Some(400.0), Level::Red, "polls stalled: 400 s behind"),
            (
                "paused by hand",
                |i| {
                    i.paused = true;
                    i.paused_since = at(180_000);
                },
                Level::Amber,
                "writes paused by hand since 3 min ago (jirafed resume)",
            ),
            (
                "429 pause",
                |i| i.paused_until = at(-12_000),
                Level::Amber,
                "Jira asked to slow down (429): calls wait 12 s more",
            ),
            ("429 pause over", |i| i.paused_until = at(12_000), Level::Green, "reachable"),
            ("dead letters", |i| i.dead_letters = Some(2), Level::Amber, "2 dead letters to handle"),
            (
                "recent error",
                |i| {
                    i.last_error = Some("timed out".into());
                    i.last_error_at = at(120_000);
                },
                Level::Amber,
                "error 2 min ago: timed out",
            ),
            (
                "old error",
                |i| {
                    i.last_error = Some("timed out".into());
                    i.last_error_at = at(RECENT_MS + 1_000);
                },
                Level::Green,
                "reachable",
            ),
        ];
        for (name, edit, level, reason) in cases {
            let mut doc = healthy();
            edit(&mut doc);
            let h = instance(&doc, Some(Duration::from_secs(30)), NOW);
            assert_eq!(h.level, *level, "{name}: {h:?}");
            assert!(h.headline().starts_with(reason), "{name}: {:?} does not start with {reason:?}", h.headline());
        }
    }

    #[test]
    fn the_worst_reason_comes_first_and_all_are_kept() {
        let mut doc = healthy();
        doc.dead_letters = Some(1);
        doc.reachable = false;
        doc.last_error = Some("connection reset".into());
        doc.last_error_at = at(1_000);
        let h = instance(&doc, Some(Duration::from_secs(30)), NOW);
        let reasons: Vec<_> = h.reasons.iter().map(|(l, r)| (*l, r.as_str())).collect();
        assert_eq!(
            reasons,
            [
                (Level::Red, "unreachable: connection reset"),
                (Level::Amber, "1 dead letter to handle (jirafed dead-letters)")
            ]
        );
    }

    #[test]
    fn flow_rules() {
        let green = instance(&healthy(), None, NOW);
        let mut down = healthy();
        down.reachable = false;
        down.last_error_at = at(1);
        down.last_error = Some("connection refused".into());
        let red = instance(&down, None, NOW);

        let h = flow(&synced(), &[("hub", &green), ("emea", &green)], NOW);
        assert_eq!((h.level, h.headline()), (Level::Green, "in sync, last write 12 s ago"));

        let h = flow(&synced(), &[("hub", &green), ("emea", &red)], NOW);
        assert_eq!((h.level, h.headline()), (Level::Red, "emea is failing: unreachable: connection refused"));

        let mut f = synced();
        f.pending_links = Some(1);
        let h = flow(&f, &[], NOW);
        assert_eq!((h.level, h.headline()), (Level::Amber, "1 issue link waiting for the far end's mirror"));

        let mut f = synced();
        f.last_error = Some("Field 'x' cannot be set".into());
        f.last_error_at = at(7_200_000);
        assert_eq!(flow(&f, &[], NOW).level, Level::Green, "an error two hours old");
        f.last_error_at = at(30_000);
        assert_eq!(flow(&f, &[], NOW).headline(), "error 30 s ago: Field 'x' cannot be set");

        let mut f = synced();
        f.last_sync = None;
        f.conflicts = 1;
        f.last_conflict =
            Some(ConflictRecord { at_ms: NOW - 60_000, ..crate::observe::events::tests::conflict("summary") });
        assert_eq!(flow(&f, &[], NOW).headline(), "conflict on summary 60 s ago, primary kept");
        f.last_conflict = None;
        assert_eq!(flow(&f, &[], NOW).headline(), "in sync, nothing written yet");
    }

    #[test]
    fn overall_rules() {
        let green = Health::new().done(|| "fine".into());
        let amber = instance(&InstanceDoc { dead_letters: Some(3), ..healthy() }, None, NOW);
        let h = overall(None, &[], [("hub", &green), ("emea", &green)], [("f", &green)]);
        assert_eq!(
            (h.level, h.headline()),
            (Level::Green, "ready: 2 instances reachable and authenticated, 1 flow in sync")
        );

        let h = overall(None, &[], [("hub", &green), ("emea", &amber)], [("f", &green)]);
        assert_eq!(
            (h.level, h.headline()),
            (Level::Amber, "instance emea: 3 dead letters to handle (jirafed dead-letters)")
        );

        let not_ready = [("parts.planner".to_string(), "planner has made no progress for 61 s".to_string())];
        let h = overall(None, &not_ready, [("emea", &amber)], []);
        assert_eq!(h.level, Level::Red);
        assert_eq!(h.headline(), "not ready, parts.planner: planner has made no progress for 61 s");
        assert_eq!(h.reasons.len(), 2);

        let store = [("store".to_string(), "store x is unavailable".to_string())];
        let h = overall(Some("No space left on device"), &store, [], []);
        assert_eq!(h.reasons.len(), 1, "the store's failure once: {h:?}");
        assert_eq!(h.headline(), "the store is recovering from a storage failure: No space left on device");
    }

    #[test]
    fn ages_read_at_a_glance() {
        assert_eq!(age(NOW - 12_000, NOW), "12 s ago");
        assert_eq!(age(NOW - 119_999, NOW), "119 s ago");
        assert_eq!(age(NOW - 180_000, NOW), "3 min ago");
        assert_eq!(age(NOW - 3 * 3_600_000, NOW), "3 h ago");
        assert_eq!(age(NOW - 4 * 86_400_000, NOW), "4 d ago");
        assert_eq!(age(NOW + 5_000, NOW), "in 5 s");
        assert_eq!(ms(&at(1_000)), Some(NOW - 1_000));
        assert_eq!(ms(&Some("yesterday".into())), None);
    }
}
