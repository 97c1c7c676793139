//! The clock the engine and the store read: milliseconds since the Unix
//! epoch. Decision logic never reads the wall clock itself; it is given a
//! [`Clock`], so that tests can fix time or move it by hand.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

/// A source of "now" in ms since the epoch. Cheap to clone.
#[derive(Clone)]
pub struct Clock(Arc<dyn Fn() -> i64 + Send + Sync>);

impl Clock {
    /// The system clock (0 before 1970).
    pub fn system() -> Clock {
        Clock(Arc::new(system_now_ms))
    }

    /// A clock that reads `f`.
    pub fn from_fn(f: impl Fn() -> i64 + Send + Sync + 'static) -> Clock {
        Clock(Arc::new(f))
    }

    /// A clock that stands still at `at_ms`.
    pub fn fixed(at_ms: i64) -> Clock {
        Clock::from_fn(move || at_ms)
    }

    /// A clock that a test moves by hand through the returned [`ManualTime`].
    pub fn manual(start_ms: i64) -> (Clock, ManualTime) {
        let at = Arc::new(AtomicI64::new(start_ms));
        let read = at.clone();
        (Clock::from_fn(move || read.load(Ordering::SeqCst)), ManualTime(at))
    }

    pub fn now_ms(&self) -> i64 {
        (self.0)()
    }
}

impl Default for Clock {
    fn default() -> Self {
        Clock::system()
    }
}

impl fmt::Debug for Clock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Clock({})", self.now_ms())
    }
}

/// The hands of a [`Clock::manual`] clock.
#[derive(Clone, Debug)]
pub struct ManualTime(Arc<AtomicI64>);

impl ManualTime {
    pub fn set(&self, at_ms: i64) {
        self.0.store(at_ms, Ordering::SeqCst);
    }

    pub fn advance(&self, ms: i64) {
        self.0.fetch_add(ms, Ordering::SeqCst);
    }

    pub fn now_ms(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// Milliseconds since the Unix epoch by the system clock (0 before 1970).
pub fn system_now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_moves_only_when_told() {
        let (clock, hands) = Clock::manual(1_000);
        let copy = clock.clone();
        assert_eq!(clock.now_ms(), 1_000);
        hands.advance(25);
        assert_eq!(copy.now_ms(), 1_025);
        hands.set(7);
        assert_eq!(clock.now_ms(), 7);
        assert_eq!(Clock::fixed(42).now_ms(), 42);
        assert!(Clock::system().now_ms() > 1_700_000_000_000);
    }
}
