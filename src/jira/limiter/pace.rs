//! The adapted rate of one budget, as a GCRA account (the arrival time of
//! the next token after each one taken) whose rate may change while calls
//! wait: governor's quota, the configured ceiling, is fixed for a
//! limiter's life, and the write rate adapts below it (see `adapt`). The
//! same account gives `/status` the tokens left, which governor cannot be
//! asked without spending one.

use std::time::Duration;

/// A bucket of `burst` tokens, one back every `interval`.
#[derive(Debug, Clone)]
pub(super) struct Pace {
    interval: Duration,
    burst: u32,
    /// When the account is even again: no token owed after it. `None`
    /// until the first token is taken (a full bucket).
    next_due: Option<Duration>,
}

impl Pace {
    pub(super) fn new(rate: f64, burst: u32) -> Pace {
        Pace { interval: interval(rate), burst: burst.max(1), next_due: None }
    }

    #[cfg(test)]
    fn interval(&self) -> Duration {
        self.interval
    }

    #[cfg(test)]
    fn burst(&self) -> u32 {
        self.burst
    }

    /// Whether a token is there at `now` (none is taken), or how long
    /// until one is.
    pub(super) fn ready(&self, now: Duration) -> Result<(), Duration> {
        let due = self.next_due.unwrap_or(now).max(now);
        // A full bucket lets `burst` calls go at once: the account may run
        // that many intervals ahead of now, less the one being taken.
        let tolerance = self.interval.saturating_mul(self.burst - 1);
        let ready_at = due.saturating_sub(tolerance);
        if ready_at > now {
            return Err(ready_at - now);
        }
        Ok(())
    }

    /// Takes a token at `now`, or says how long until one is there.
    pub(super) fn take(&mut self, now: Duration) -> Result<(), Duration> {
        self.ready(now)?;
        let due = self.next_due.unwrap_or(now).max(now);
        self.next_due = Some(due + self.interval);
        Ok(())
    }

    /// Whole tokens available at `now`: a full bucket holds `burst`, and one
    /// comes back every `interval` after the last was due.
    pub(super) fn left(&self, now: Duration) -> u32 {
        let Some(due) = self.next_due else { return self.burst };
        let capacity = self.interval.saturating_mul(self.burst);
        let room = (now + capacity).saturating_sub(due);
        let whole = room.as_nanos() / self.interval.as_nanos().max(1);
        u32::try_from(whole).unwrap_or(u32::MAX).min(self.burst)
    }

    /// Changes the rate from `now` on. The tokens owed stay owed: the time
    /// still to wait for them scales with the new interval, so that a lower
    /// rate cannot be dodged by tokens counted at the higher one.
    pub(super) fn set_rate(&mut self, rate: f64, now: Duration) {
        let new = interval(rate);
        if new == self.interval {
            return;
        }
        if let Some(due) = self.next_due.filter(|d| *d > now) {
            let owed = (due - now).as_secs_f64() / self.interval.as_secs_f64();
            self.next_due = Some(now + new.mul_f64(owed));
        }
        self.interval = new;
    }
}

/// The time between two tokens at `rate` a second. A rate the config
/// validated is finite and positive; anything else falls back to one call
/// per second rather than panicking or not limiting.
fn interval(rate: f64) -> Duration {
    Some(rate)
        .filter(|r| r.is_finite() && *r > 0.0)
        .and_then(|r| Duration::try_from_secs_f64(1.0 / r).ok())
        .map(|p| p.max(Duration::from_nanos(1)))
        .unwrap_or(Duration::from_secs(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn the_burst_goes_at_once_then_one_per_interval() {
        let mut p = Pace::new(10.0, 3);
        assert_eq!(p.left(ms(0)), 3);
        for _ in 0..3 {
            assert_eq!(p.take(ms(0)), Ok(()));
        }
        assert_eq!(p.left(ms(0)), 0);
        assert_eq!(p.take(ms(0)), Err(ms(100)));
        assert_eq!(p.take(ms(100)), Ok(()));
        assert_eq!(p.take(ms(150)), Err(ms(50)));
        assert_eq!(p.left(ms(10_000)), 3, "never more than the burst");
    }

    #[test]
    fn a_new_rate_scales_the_wait_for_tokens_owed() {
        let mut p = Pace::new(10.0, 1);
        assert_eq!(p.take(ms(0)), Ok(()));
        // One token owed, due at 100 ms; at half the rate it is due at 200 ms.
        p.set_rate(5.0, ms(0));
        assert_eq!(p.take(ms(0)), Err(ms(200)));
        // Halfway there, doubling the rate halves what is left.
        p.set_rate(10.0, ms(100));
        assert_eq!(p.take(ms(100)), Err(ms(50)));
        assert_eq!(p.take(ms(150)), Ok(()));
    }

    #[test]
    fn nonsense_rates_still_limit_instead_of_panicking() {
        for rate in [0.0, -1.0, f64::NAN, f64::INFINITY, 1e-300] {
            let p = Pace::new(rate, 0);
            assert_eq!(p.burst(), 1);
            assert!(!p.interval().is_zero());
        }
        assert_eq!(Pace::new(20.0, 5).interval(), ms(50));
    }
}
