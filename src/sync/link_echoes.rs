//! The issue-link webhooks jirafed's own link writes will bring back.
//!
//! Jira's `issuelink_created` and `issuelink_deleted` webhooks name no user,
//! so they cannot be told from a person's by who made them, as the issue
//! echoes are. Instead the writer says, just before it makes or removes a
//! link, which two issues of which site the link joins; the changes such a
//! webhook makes (one per end) are then jirafed's own echo, acknowledged
//! unread. Each expectation covers the changes of one webhook, counted by
//! the inbox entry that matched it (an entry planned again later is still
//! the same echo), and lapses after [`WINDOW`]: an echo later than that, or
//! one more than expected, is planned like any change (a read, no write).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

/// How long after the write its webhook counts as its echo.
pub const WINDOW: Duration = Duration::from_secs(30);
/// Expectations kept at most (the oldest lapse first when it is reached).
const LIMIT: usize = 10_000;

/// Which link: the site and its two ends' issue ids, in either order.
type Key = (String, String, String);

#[derive(Debug)]
struct Expect {
    /// Changes still to be matched.
    left: u32,
    /// The inbox entries already matched.
    matched: Vec<u64>,
    until_ms: i64,
}

/// Shared by the writers (expect) and the planner (take).
#[derive(Debug, Default)]
pub struct LinkEchoes {
    expected: Mutex<HashMap<Key, Expect>>,
}

fn key(instance: &str, a: &str, b: &str) -> Key {
    let (a, b) = if a <= b { (a, b) } else { (b, a) };
    (instance.to_string(), a.to_string(), b.to_string())
}

impl LinkEchoes {
    /// A link between issues `a` and `b` of `instance` is about to be made
    /// or removed by jirafed at `now_ms`.
    pub fn expect(&self, instance: &str, a: &str, b: &str, now_ms: i64) {
        let mut expected = self.lock();
        if expected.len() >= LIMIT {
            expected.retain(|_, e| e.until_ms >= now_ms);
        }
        let until_ms = now_ms + WINDOW.as_millis() as i64;
        let per_webhook = if a == b { 1 } else { 2 };
        let e = expected.entry(key(instance, a, b)).or_insert(Expect { left: 0, matched: vec![], until_ms });
        e.left += per_webhook;
        e.until_ms = until_ms;
    }

    /// Whether inbox entry `seq`, a change of a link between `a` and `b` on
    /// `instance` seen at `seen_ms`, is the echo of a link write.
    pub fn take(&self, instance: &str, a: &str, b: &str, seq: u64, seen_ms: i64) -> bool {
        let mut expected = self.lock();
        let k = key(instance, a, b);
        let Some(e) = expected.get_mut(&k) else { return false };
        if e.until_ms < seen_ms {
            expected.remove(&k);
            return false;
        }
        if e.matched.contains(&seq) {
            return true;
        }
        if e.left == 0 {
            return false;
        }
        e.left -= 1;
        e.matched.push(seq);
        true
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Expect>> {
        self.expected.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: i64 = 1_000_000;

    #[test]
    fn a_webhooks_two_changes_are_the_echo_and_a_third_is_not() {
        let echoes = LinkEchoes::default();
        echoes.expect("hub", "10", "20", T);
        assert!(echoes.take("hub", "20", "10", 1, T + 5), "either order");
        assert!(echoes.take("hub", "10", "20", 2, T + 5));
        assert!(echoes.take("hub", "10", "20", 1, T + 50), "the same entry planned again");
        assert!(!echoes.take("hub", "10", "20", 3, T + 60), "one more than expected");
    }

    #[test]
    fn only_the_expected_site_and_ends_match() {
        let echoes = LinkEchoes::default();
        echoes.expect("hub", "10", "20", T);
        assert!(!echoes.take("emea", "10", "20", 1, T));
        assert!(!echoes.take("hub", "10", "30", 2, T));
        assert!(echoes.take("hub", "10", "20", 3, T));
    }

    #[test]
    fn an_expectation_lapses_after_the_window() {
        let echoes = LinkEchoes::default();
        echoes.expect("hub", "10", "20", T);
        let late = T + WINDOW.as_millis() as i64 + 1;
        assert!(!echoes.take("hub", "10", "20", 1, late));
        assert!(!echoes.take("hub", "10", "20", 2, T), "gone once lapsed");
    }

    #[test]
    fn a_link_to_itself_makes_one_change_and_two_writes_four() {
        let echoes = LinkEchoes::default();
        echoes.expect("hub", "10", "10", T);
        assert!(echoes.take("hub", "10", "10", 1, T));
        assert!(!echoes.take("hub", "10", "10", 2, T));
        echoes.expect("hub", "10", "20", T);
        echoes.expect("hub", "10", "20", T + 1);
        assert!((1..=4).all(|seq| echoes.take("hub", "10", "20", 10 + seq, T + 2)));
        assert!(!echoes.take("hub", "10", "20", 15, T + 2));
    }
}
