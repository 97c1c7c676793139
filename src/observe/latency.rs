//! Propagation latency over the last hour, per minute, for the status page's
//! chart. Bounded: one slot per minute of the hour, each a handful of
//! counters, reused as the minutes go by. The Prometheus histogram keeps the
//! totals since start; this keeps the recent shape.

use std::sync::Mutex;

/// Minutes kept (the chart's width).
pub const MINUTES: usize = 60;

const MINUTE_MS: i64 = 60_000;

/// Upper bounds (seconds) of the bins a minute's median is estimated from;
/// the last bin is open.
const BINS: [f64; 11] = [0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0];

#[derive(Debug, Clone, Copy, Default)]
struct Slot {
    /// The minute (ms since the epoch / 60 000) the counters belong to.
    minute: i64,
    count: u64,
    max: f64,
    bins: [u64; BINS.len() + 1],
}

/// One minute of the chart.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LatencyMinute {
    /// When the minute began, ms since the epoch.
    pub start_ms: i64,
    /// Writes that completed in it.
    pub count: u64,
    /// The median latency in seconds, as the upper bound of its bin (the
    /// maximum when that is lower).
    pub p50: f64,
    /// The longest latency in seconds.
    pub max: f64,
}

/// The ring. Every method takes `&self`; the lock is held for a few
/// counter updates.
pub struct LatencyRing {
    slots: Mutex<[Slot; MINUTES]>,
}

impl Default for LatencyRing {
    fn default() -> Self {
        LatencyRing { slots: Mutex::new([Slot::default(); MINUTES]) }
    }
}

impl LatencyRing {
    pub fn new() -> LatencyRing {
        LatencyRing::default()
    }

    /// A write completed at `at_ms`, `secs` after the change that caused it.
    pub fn record(&self, at_ms: i64, secs: f64) {
        let minute = at_ms.div_euclid(MINUTE_MS);
        let secs = if secs.is_finite() { secs.max(0.0) } else { 0.0 };
        let mut slots = self.slots.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let slot = &mut slots[minute.rem_euclid(MINUTES as i64) as usize];
        if slot.minute != minute || slot.count == 0 {
            *slot = Slot { minute, ..Slot::default() };
        }
        slot.count += 1;
        slot.max = slot.max.max(secs);
        let bin = BINS.iter().position(|b| secs <= *b).unwrap_or(BINS.len());
        slot.bins[bin] += 1;
    }

    /// The last hour up to the minute of `now_ms`, oldest first: always
    /// [`MINUTES`] entries, those without writes at zero.
    pub fn last_hour(&self, now_ms: i64) -> Vec<LatencyMinute> {
        let now = now_ms.div_euclid(MINUTE_MS);
        let slots = *self.slots.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        (now - MINUTES as i64 + 1..=now)
            .map(|minute| {
                let slot = &slots[minute.rem_euclid(MINUTES as i64) as usize];
                let start_ms = minute * MINUTE_MS;
                if slot.minute != minute || slot.count == 0 {
                    return LatencyMinute { start_ms, count: 0, p50: 0.0, max: 0.0 };
                }
                LatencyMinute { start_ms, count: slot.count, p50: median(slot), max: slot.max }
            })
            .collect()
    }
}

fn median(slot: &Slot) -> f64 {
    let half = slot.count.div_ceil(2);
    let mut seen = 0;
    for (i, n) in slot.bins.iter().enumerate() {
        seen += n;
        if seen >= half {
            return BINS.get(i).map_or(slot.max, |b| b.min(slot.max));
        }
    }
    slot.max
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minutes_are_kept_for_an_hour_then_reused() {
        let ring = LatencyRing::new();
        let t0 = 1_700_000_000_000 - 1_700_000_000_000 % MINUTE_MS;
        ring.record(t0, 0.2);
        ring.record(t0 + 1_000, 0.4);
        ring.record(t0 + 2_000, 3.0);
        ring.record(t0 + 5 * MINUTE_MS, 12.0);

        let hour = ring.last_hour(t0 + 5 * MINUTE_MS + 30_000);
        assert_eq!(hour.len(), MINUTES);
        let first = hour[MINUTES - 6];
        assert_eq!((first.start_ms, first.count, first.p50, first.max), (t0, 3, 0.5, 3.0));
        let last = hour[MINUTES - 1];
        assert_eq!((last.count, last.p50, last.max), (1, 12.0, 12.0));
        assert_eq!(hour.iter().map(|m| m.count).sum::<u64>(), 4);

        // An hour later the slot of t0's minute holds the new minute only.
        ring.record(t0 + 60 * MINUTE_MS, 1.0);
        let hour = ring.last_hour(t0 + 60 * MINUTE_MS);
        assert_eq!(hour[MINUTES - 1].count, 1);
        assert_eq!(hour.iter().map(|m| m.count).sum::<u64>(), 2, "t0's minute is gone, +5 min stays");
        // Two hours on, nothing is left.
        assert!(ring.last_hour(t0 + 200 * MINUTE_MS).iter().all(|m| m.count == 0));
    }

    #[test]
    fn odd_values_do_not_poison_the_chart() {
        let ring = LatencyRing::new();
        ring.record(0, f64::NAN);
        ring.record(0, -4.0);
        ring.record(0, 1e9);
        let m = ring.last_hour(0)[MINUTES - 1];
        assert_eq!((m.count, m.max), (3, 1e9));
        assert_eq!(m.p50, 0.1);
    }
}
