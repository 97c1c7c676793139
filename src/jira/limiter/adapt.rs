//! The write rate an instance allows itself when others share the site's
//! budget: the configured `writes_per_second` is a ceiling, not what is
//! free. Additive increase, multiplicative decrease (as TCP's congestion
//! control): a 429 halves the rate, an answer saying that little of the
//! budget is left cuts it gently, and otherwise it grows back steadily to
//! the ceiling. The site's bucket absorbs the swings: while it is neither
//! empty nor full, every token it refills is spent by someone, so the
//! instance gets all that the others leave.

use std::time::Duration;

/// What an answer of the site says about the write budget, when it says
/// anything (a quiet answer lets the rate grow).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pressure {
    /// Little is left: `X-RateLimit-NearLimit: true`, or
    /// `X-RateLimit-Remaining` under [`NEAR_LIMIT_SHARE`] of `X-RateLimit-Limit`.
    Near,
    /// A 429 for the budget (not one for a single issue).
    Limited,
}

/// Jira Cloud's own threshold for `X-RateLimit-NearLimit`: "less than 20%
/// of any budget remains".
pub const NEAR_LIMIT_SHARE: f64 = 0.2;

/// Growth per second, as a share of the ceiling: from half back to full in
/// five seconds once the others stop.
const INCREASE_PER_SECOND: f64 = 0.1;
/// The cut for a near-limit answer.
const NEAR_CUT: f64 = 0.8;
/// Near-limit answers closer together than this cut once: the answers to
/// calls already in flight report the bucket before the last cut took effect.
const NEAR_GAP: Duration = Duration::from_millis(100);
/// The cut for a 429.
const LIMITED_CUT: f64 = 0.5;
/// 429s closer together than this cut once (calls in flight meet the same
/// empty bucket); `Retry-After` holds the budget meanwhile anyway.
const LIMITED_GAP: Duration = Duration::from_secs(1);
/// The rate never goes below this share of the ceiling, so that it can
/// always learn the budget is free again.
const FLOOR: f64 = 0.05;

/// The adapted rate of one budget. Time is the limiter's clock (tokio's),
/// given by the caller, so that tests drive it with paused time.
#[derive(Debug, Clone)]
pub(super) struct Adaptive {
    ceiling: f64,
    /// The rate at `since`; it grows from there.
    base: f64,
    since: Duration,
    last_cut: Option<Duration>,
    last_limited: Option<Duration>,
}

impl Adaptive {
    pub(super) fn new(ceiling: f64, now: Duration) -> Adaptive {
        Adaptive { ceiling, base: ceiling, since: now, last_cut: None, last_limited: None }
    }

    /// The rate allowed at `now`, calls a second.
    pub(super) fn rate(&self, now: Duration) -> f64 {
        let grown = self.ceiling * INCREASE_PER_SECOND * now.saturating_sub(self.since).as_secs_f64();
        (self.base + grown).min(self.ceiling)
    }

    /// Takes in what one answer said; gives the new rate when it changed.
    pub(super) fn feedback(&mut self, now: Duration, pressure: Pressure) -> Option<f64> {
        let before = self.rate(now);
        let within = |last: Option<Duration>, gap: Duration| last.is_some_and(|t| now.saturating_sub(t) < gap);
        let cut = match pressure {
            Pressure::Limited if !within(self.last_limited, LIMITED_GAP) => {
                self.last_limited = Some(now);
                LIMITED_CUT
            }
            Pressure::Near if !within(self.last_cut, NEAR_GAP) => NEAR_CUT,
            // Cut a moment ago: hold the rate where it is, without growth.
            _ => 1.0,
        };
        if cut < 1.0 {
            self.last_cut = Some(now);
        }
        self.base = (before * cut).max(self.ceiling * FLOOR);
        self.since = now;
        (cut < 1.0).then_some(self.base)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn close(got: f64, want: f64) {
        assert!((got - want).abs() < 1e-9, "{got} != {want}");
    }

    #[test]
    fn a_429_halves_the_rate_and_quiet_brings_it_back_linearly() {
        let mut a = Adaptive::new(20.0, ms(0));
        assert_eq!(a.rate(ms(0)), 20.0);
        assert_eq!(a.feedback(ms(0), Pressure::Limited), Some(10.0));
        // Calls in flight meet the same 429: one cut for them all.
        assert_eq!(a.feedback(ms(500), Pressure::Limited), None);
        close(a.rate(ms(500)), 11.0);
        close(a.rate(ms(3000)), 16.0);
        assert_eq!(a.rate(ms(5000)), 20.0, "2 calls/s more each second, up to the ceiling");
        assert_eq!(a.rate(ms(60_000)), 20.0, "never above the ceiling");
    }

    #[test]
    fn near_limit_answers_cut_gently_and_once_per_gap() {
        let mut a = Adaptive::new(20.0, ms(0));
        assert_eq!(a.feedback(ms(0), Pressure::Near), Some(16.0));
        assert_eq!(a.feedback(ms(50), Pressure::Near), None);
        close(a.feedback(ms(100), Pressure::Near).unwrap_or_default(), 16.2 * 0.8);
        // A 429 still halves even right after a near-limit cut.
        close(a.feedback(ms(120), Pressure::Limited).unwrap_or_default(), 6.5);
    }

    #[test]
    fn the_rate_never_falls_below_the_floor() {
        let mut a = Adaptive::new(20.0, ms(0));
        for n in 0..100 {
            a.feedback(ms(n * 100), Pressure::Near);
        }
        assert_eq!(a.rate(ms(9_900)), 1.0, "5% of the ceiling");
    }
}
