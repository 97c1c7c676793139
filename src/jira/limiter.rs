//! Admission control for the calls to one Jira site: a token bucket per
//! budget (reads, writes), a cap on calls in flight, and the pauses that a
//! 429 imposes. Every call waits here before it is sent, so a pause holds
//! every task of the instance, not only the one that met the 429.

mod adapt;
mod pace;

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chrono::{DateTime, Utc};
use governor::clock::Clock;
use governor::middleware::NoOpMiddleware;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};
use serde::Serialize;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

use adapt::Adaptive;
pub use adapt::{NEAR_LIMIT_SHARE, Pressure};
use pace::Pace;

/// Which token bucket a call spends from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Budget {
    Read,
    Write,
}

/// The limiter's clock (and governor's), read from tokio's so that paused
/// test time drives the buckets, the adapted rate and the pauses alike.
#[derive(Clone, Debug)]
struct TokioClock {
    origin: Instant,
}

impl Clock for TokioClock {
    type Instant = Duration;

    fn now(&self) -> Duration {
        self.origin.elapsed()
    }
}

type Ceiling = RateLimiter<NotKeyed, InMemoryState, TokioClock, NoOpMiddleware<Duration>>;

/// One budget: governor's bucket at the configured rate (the ceiling), the
/// rate allowed below it as the site answers (the write budget only, kept
/// as a [`Pace`] account that also tells the tokens left), and a queue so
/// that waiting tasks take tokens in turn instead of all waking for each
/// one. A call goes when both have a token.
struct Lane {
    turn: tokio::sync::Mutex<()>,
    ceiling: Ceiling,
    bucket: Mutex<Bucket>,
}

struct Bucket {
    pace: Pace,
    adaptive: Option<Adaptive>,
}

impl Bucket {
    /// The bucket brought to the rate allowed at `now`.
    fn at(&mut self, now: Duration) -> &mut Pace {
        if let Some(a) = &self.adaptive {
            self.pace.set_rate(a.rate(now), now);
        }
        &mut self.pace
    }
}

impl Lane {
    fn new(rate: f64, burst: u32, adapts: bool, clock: &TokioClock) -> Lane {
        let now = clock.now();
        let adaptive = adapts.then(|| Adaptive::new(rate, now));
        Lane {
            turn: Default::default(),
            ceiling: RateLimiter::direct_with_clock(quota(rate, burst), clock.clone()),
            bucket: Mutex::new(Bucket { pace: Pace::new(rate, burst), adaptive }),
        }
    }

    fn bucket(&self) -> MutexGuard<'_, Bucket> {
        self.bucket.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Takes a token of both buckets at `now` (callers hold the turn), or
    /// says how long until there may be one.
    fn take(&self, clock: &TokioClock) -> Result<(), Duration> {
        let now = clock.now();
        let mut bucket = self.bucket();
        bucket.at(now).ready(now)?;
        if let Err(not_until) = self.ceiling.check() {
            return Err(not_until.wait_time_from(clock.now()));
        }
        bucket.at(now).take(now)
    }

    fn left(&self, now: Duration) -> u32 {
        self.bucket().at(now).left(now)
    }

    /// The rate allowed now: the configured one unless it adapts.
    fn rate(&self, now: Duration, configured: f64) -> f64 {
        self.bucket().adaptive.as_ref().map_or(configured, |a| a.rate(now))
    }
}

/// governor's quota for the configured rate. A rate the config validated
/// is finite and positive; anything else falls back to one call per second
/// rather than panicking or not limiting.
fn quota(rate: f64, burst: u32) -> Quota {
    let period = Some(rate)
        .filter(|r| r.is_finite() && *r > 0.0)
        .and_then(|r| Duration::try_from_secs_f64(1.0 / r).ok())
        .map(|p| p.max(Duration::from_nanos(1)))
        .unwrap_or(Duration::from_secs(1));
    let burst = NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN);
    Quota::with_period(period).unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN)).allow_burst(burst)
}

#[derive(Debug, Default)]
struct Pauses {
    write: Option<Instant>,
    read: Option<Instant>,
    issues: HashMap<String, Instant>,
    last_429: Option<DateTime<Utc>>,
    rate_limited_total: u64,
}

impl Pauses {
    fn budget_mut(&mut self, budget: Budget) -> &mut Option<Instant> {
        match budget {
            Budget::Read => &mut self.read,
            Budget::Write => &mut self.write,
        }
    }

    fn note_429(&mut self) {
        self.last_429 = Some(Utc::now());
        self.rate_limited_total += 1;
    }
}

/// What `/status` shows about one instance's limiter.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LimiterState {
    pub writes_per_second: f64,
    /// The write rate allowed now: `writes_per_second` unless the site said
    /// that others spend part of its budget (see [`Pressure`]).
    pub writes_per_second_allowed: f64,
    pub reads_per_second: f64,
    pub burst: u32,
    /// Write tokens left now (at most `burst`).
    pub write_tokens: u32,
    /// Read tokens left now (reads have a burst of at least a second's worth).
    pub read_tokens: u32,
    pub in_flight: u32,
    pub max_in_flight: u32,
    pub write_paused_until: Option<DateTime<Utc>>,
    pub read_paused_until: Option<DateTime<Utc>>,
    pub last_429: Option<DateTime<Utc>>,
    pub rate_limited_total: u64,
    pub paused_issues: usize,
}

/// Holds an in-flight slot until dropped.
#[derive(Debug)]
pub struct Permit {
    _slot: Option<OwnedSemaphorePermit>,
}

/// The limiter of one instance.
pub struct Limiter {
    writes_per_second: f64,
    reads_per_second: f64,
    burst: u32,
    max_in_flight: u32,
    clock: TokioClock,
    write: Lane,
    read: Lane,
    slots: Arc<Semaphore>,
    pauses: Mutex<Pauses>,
}

impl Limiter {
    /// Reads get a burst of at least one second's worth: a page of reads after
    /// a quiet spell should not be spread out.
    pub fn new(reads_per_second: f64, writes_per_second: f64, burst: u32, max_in_flight: u32) -> Limiter {
        let clock = TokioClock { origin: Instant::now() };
        let read_burst = burst.max(reads_per_second.ceil().clamp(1.0, f64::from(u32::MAX)) as u32);
        let max_in_flight = max_in_flight.max(1);
        Limiter {
            writes_per_second,
            reads_per_second,
            burst,
            max_in_flight,
            write: Lane::new(writes_per_second, burst, true, &clock),
            read: Lane::new(reads_per_second, read_burst, false, &clock),
            clock,
            slots: Arc::new(Semaphore::new(max_in_flight as usize)),
            pauses: Mutex::new(Pauses::default()),
        }
    }

    fn pauses(&self) -> MutexGuard<'_, Pauses> {
        // The guarded data stays consistent even if a holder panicked.
        self.pauses.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn lane(&self, budget: Budget) -> &Lane {
        match budget {
            Budget::Read => &self.read,
            Budget::Write => &self.write,
        }
    }

    /// Waits until: no pause is in force for this budget (or this issue), a
    /// token of the budget is available (governor's at the configured rate,
    /// and the adapted rate's), and an in-flight slot is
    /// free. The returned permit holds the slot.
    pub async fn acquire(&self, budget: Budget, issue: Option<&str>) -> Permit {
        // Per-issue limits are on writes only.
        let issue = issue.filter(|_| budget == Budget::Write);
        let lane = self.lane(budget);
        loop {
            self.wait_unpaused(budget, issue).await;
            let _turn = lane.turn.lock().await;
            if self.paused_until(budget, issue).is_some() {
                continue;
            }
            // The semaphore is never closed; were it, calls would just not be capped.
            let slot = self.slots.clone().acquire_owned().await.ok();
            if self.take_token(lane, budget, issue).await {
                return Permit { _slot: slot };
            }
            // A pause began while we waited: give the slot and the turn back
            // so that other budgets and issues are not held up by it.
        }
    }

    async fn wait_unpaused(&self, budget: Budget, issue: Option<&str>) {
        // Pauses only ever grow, so sleeping to the current end and looking
        // again is enough to honour one that was extended meanwhile.
        while let Some(until) = self.paused_until(budget, issue) {
            tokio::time::sleep_until(until).await;
        }
    }

    /// Takes a token as soon as there is one; false when a pause starts
    /// first. Nothing is awaited between the last pause check and the token,
    /// so no call leaves after a pause has been set.
    async fn take_token(&self, lane: &Lane, budget: Budget, issue: Option<&str>) -> bool {
        loop {
            if self.paused_until(budget, issue).is_some() {
                return false;
            }
            match lane.take(&self.clock) {
                Ok(()) => return true,
                Err(wait) => tokio::time::sleep(wait).await,
            }
        }
    }

    /// The end of the pause in force for a call, if any.
    fn paused_until(&self, budget: Budget, issue: Option<&str>) -> Option<Instant> {
        let now = Instant::now();
        let mut p = self.pauses();
        let own = *p.budget_mut(budget);
        let of_issue = issue.and_then(|k| p.issues.get(k).copied());
        own.into_iter().chain(of_issue).filter(|until| *until > now).max()
    }

    /// Every task of this budget waits until `until` (a 429). Counts as one
    /// rate-limited answer; a pause never shortens one already in force.
    pub fn pause(&self, budget: Budget, until: std::time::Instant) {
        let until = Instant::from_std(until);
        let mut p = self.pauses();
        p.note_429();
        let slot = p.budget_mut(budget);
        *slot = (*slot).max(Some(until));
    }

    /// Only writes to `issue` wait until `until` (`RateLimit-Reason:
    /// jira-per-issue-on-write`). Counts as one rate-limited answer.
    pub fn pause_issue(&self, issue: &str, until: std::time::Instant) {
        let until = Instant::from_std(until);
        let now = Instant::now();
        let mut p = self.pauses();
        p.note_429();
        // Forget the pauses that are over, so the map stays small.
        p.issues.retain(|_, u| *u > now);
        let entry = p.issues.entry(issue.to_string()).or_insert(until);
        *entry = (*entry).max(until);
    }

    /// Takes in what an answer of the site said about `budget`; only the
    /// write rate adapts. Gives the new allowed rate when it was cut.
    pub fn feedback(&self, budget: Budget, pressure: Pressure) -> Option<f64> {
        let lane = self.lane(budget);
        let now = self.clock.now();
        let mut bucket = lane.bucket();
        let cut = bucket.adaptive.as_mut()?.feedback(now, pressure);
        // The tokens already owed are owed at the new rate from now on.
        bucket.at(now);
        cut
    }

    pub fn state(&self) -> LimiterState {
        let now = Instant::now();
        let wall_now = Utc::now();
        let wall = |until: Option<Instant>| {
            let left = until.filter(|u| *u > now)?.duration_since(now);
            Some(wall_now + chrono::Duration::from_std(left).ok()?)
        };
        let available = u32::try_from(self.slots.available_permits()).unwrap_or(u32::MAX);
        let clock_now = self.clock.now();
        let p = self.pauses();
        LimiterState {
            writes_per_second: self.writes_per_second,
            writes_per_second_allowed: self.write.rate(clock_now, self.writes_per_second),
            reads_per_second: self.reads_per_second,
            burst: self.burst,
            write_tokens: self.write.left(clock_now),
            read_tokens: self.read.left(clock_now),
            in_flight: self.max_in_flight.saturating_sub(available),
            max_in_flight: self.max_in_flight,
            write_paused_until: wall(p.write),
            read_paused_until: wall(p.read),
            last_429: p.last_429,
            rate_limited_total: p.rate_limited_total,
            paused_issues: p.issues.values().filter(|u| **u > now).count(),
        }
    }
}

impl std::fmt::Debug for Limiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Limiter").field(&self.state()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn later(d: Duration) -> std::time::Instant {
        (Instant::now() + d).into_std()
    }

    /// Spawns `n` acquisitions that drop their permit at once; returns when
    /// each one got through, relative to `start`.
    async fn times(l: &Arc<Limiter>, n: usize, budget: Budget, issue: Option<&str>) -> Vec<Duration> {
        let start = Instant::now();
        let tasks: Vec<_> = (0..n)
            .map(|_| {
                let (l, issue) = (l.clone(), issue.map(str::to_string));
                tokio::spawn(async move {
                    drop(l.acquire(budget, issue.as_deref()).await);
                    start.elapsed()
                })
            })
            .collect();
        let mut out = Vec::new();
        for t in tasks {
            out.push(t.await.unwrap());
        }
        out.sort();
        out
    }

    #[tokio::test(start_paused = true)]
    async fn a_budget_pause_holds_every_task_of_that_budget_and_no_other() {
        let l = Arc::new(Limiter::new(100.0, 100.0, 10, 8));
        l.pause(Budget::Write, later(ms(2000)));
        let writes = times(&l, 5, Budget::Write, None);
        let reads = times(&l, 5, Budget::Read, None);
        let (writes, reads) = tokio::join!(writes, reads);
        assert!(writes.iter().all(|t| *t == ms(2000)), "{writes:?}");
        assert!(reads.iter().all(|t| t.is_zero()), "{reads:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn an_issue_pause_holds_only_writes_to_that_issue() {
        let l = Arc::new(Limiter::new(100.0, 100.0, 10, 8));
        l.pause_issue("EMEA-1", later(ms(1500)));
        assert_eq!(l.state().paused_issues, 1);
        assert_eq!(l.state().write_paused_until, None);
        let (one, two, read_one) = tokio::join!(
            times(&l, 2, Budget::Write, Some("EMEA-1")),
            times(&l, 2, Budget::Write, Some("EMEA-2")),
            times(&l, 2, Budget::Read, Some("EMEA-1")),
        );
        assert!(one.iter().all(|t| *t == ms(1500)), "{one:?}");
        assert!(two.iter().all(|t| t.is_zero()), "{two:?}");
        assert!(read_one.iter().all(|t| t.is_zero()), "{read_one:?}");
        assert_eq!(l.state().paused_issues, 0);
    }

    #[tokio::test(start_paused = true)]
    async fn tokens_pace_calls_at_the_configured_rate_after_the_burst() {
        let l = Arc::new(Limiter::new(100.0, 10.0, 3, 8));
        let got = times(&l, 13, Budget::Write, None).await;
        assert_eq!(&got[..3], [Duration::ZERO; 3], "the burst goes at once");
        for (i, t) in got[3..].iter().enumerate() {
            assert_eq!(*t, ms(100) * (i as u32 + 1), "then one per 100 ms: {got:?}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn reads_get_at_least_one_second_of_rate_as_burst() {
        let l = Arc::new(Limiter::new(20.0, 5.0, 5, 64));
        let got = times(&l, 21, Budget::Read, None).await;
        assert!(got[..20].iter().all(|t| t.is_zero()), "{got:?}");
        assert_eq!(got[20], ms(50));
    }

    #[tokio::test(start_paused = true)]
    async fn in_flight_calls_are_capped() {
        let l = Limiter::new(100.0, 100.0, 10, 2);
        let a = l.acquire(Budget::Write, None).await;
        let _b = l.acquire(Budget::Read, None).await;
        assert_eq!(l.state().in_flight, 2);
        let third = tokio::time::timeout(ms(5000), l.acquire(Budget::Read, None)).await;
        assert!(third.is_err(), "a third call waits for a slot");
        drop(a);
        let third = tokio::time::timeout(ms(1), l.acquire(Budget::Read, None)).await;
        assert!(third.is_ok(), "a freed slot lets it go");
    }

    #[tokio::test(start_paused = true)]
    async fn a_pause_set_while_waiting_for_a_token_holds_that_task_too() {
        let l = Arc::new(Limiter::new(100.0, 1.0, 1, 8));
        drop(l.acquire(Budget::Write, None).await);
        let start = Instant::now();
        let waiter = tokio::spawn({
            let l = l.clone();
            async move {
                drop(l.acquire(Budget::Write, None).await);
                start.elapsed()
            }
        });
        // The next token is due at 1 s; a 429 at 0.5 s pauses writes to 3 s.
        tokio::time::sleep(ms(500)).await;
        l.pause(Budget::Write, later(ms(2500)));
        assert_eq!(waiter.await.unwrap(), ms(3000));
    }

    #[tokio::test(start_paused = true)]
    async fn pauses_never_shorten_and_are_reported() {
        let l = Limiter::new(10.0, 5.0, 2, 4);
        assert_eq!(l.state().last_429, None);
        l.pause(Budget::Write, later(ms(3000)));
        l.pause(Budget::Write, later(ms(1000)));
        let s = l.state();
        assert_eq!(s.rate_limited_total, 2);
        assert!(s.last_429.is_some());
        let left = s.write_paused_until.unwrap() - Utc::now();
        assert!(left > chrono::Duration::milliseconds(2500), "{left}");
        assert_eq!(s.read_paused_until, None);
        let start = Instant::now();
        drop(l.acquire(Budget::Write, None).await);
        assert_eq!(start.elapsed(), ms(3000));
        assert_eq!(l.state().write_paused_until, None);
    }

    #[tokio::test(start_paused = true)]
    async fn the_state_shows_the_tokens_left_in_each_budget() {
        let l = Limiter::new(20.0, 10.0, 3, 8);
        let tokens = |l: &Limiter| (l.state().write_tokens, l.state().read_tokens);
        assert_eq!(tokens(&l), (3, 20), "full buckets; reads get a second's worth");
        drop(l.acquire(Budget::Write, None).await);
        drop(l.acquire(Budget::Write, None).await);
        drop(l.acquire(Budget::Read, None).await);
        assert_eq!(tokens(&l), (1, 19));
        drop(l.acquire(Budget::Write, None).await);
        assert_eq!(l.state().write_tokens, 0, "the burst is spent");
        tokio::time::advance(ms(99)).await;
        assert_eq!(l.state().write_tokens, 0, "not a whole token yet");
        tokio::time::advance(ms(1)).await;
        assert_eq!(l.state().write_tokens, 1, "one per 100 ms comes back");
        // A token taken as soon as it is due leaves the bucket empty again.
        drop(l.acquire(Budget::Write, None).await);
        assert_eq!(l.state().write_tokens, 0);
        tokio::time::advance(ms(250)).await;
        assert_eq!(l.state().write_tokens, 2);
        tokio::time::advance(ms(10_000)).await;
        assert_eq!(tokens(&l), (3, 20), "never more than the burst");
        // The account agrees with governor: the bucket lets exactly that many through at once.
        let start = Instant::now();
        for _ in 0..3 {
            drop(l.acquire(Budget::Write, None).await);
        }
        assert_eq!(start.elapsed(), Duration::ZERO);
        drop(l.acquire(Budget::Write, None).await);
        assert_eq!(start.elapsed(), ms(100));
    }

    #[test]
    fn nonsense_rates_still_limit_instead_of_panicking() {
        for rate in [0.0, -1.0, f64::NAN, f64::INFINITY, 1e-300] {
            let q = quota(rate, 0);
            assert_eq!(q.burst_size().get(), 1);
            assert!(!q.replenish_interval().is_zero());
        }
        assert_eq!(quota(20.0, 5).replenish_interval(), ms(50));
    }

    #[tokio::test(start_paused = true)]
    async fn the_write_rate_adapts_to_what_the_site_says_and_recovers() {
        let t0 = Instant::now();
        let l = Arc::new(Limiter::new(50.0, 20.0, 1, 8));
        let allowed = |l: &Limiter| l.state().writes_per_second_allowed;
        assert_eq!(allowed(&l), 20.0);
        assert_eq!(l.feedback(Budget::Write, Pressure::Limited), Some(10.0));
        assert_eq!(l.feedback(Budget::Read, Pressure::Limited), None, "reads keep their rate");
        assert_eq!(l.state().reads_per_second, 50.0);
        // At 10/s the calls go 100 ms apart (the first at once: the burst),
        // a little less as the rate grows back.
        let got = times(&l, 3, Budget::Write, None).await;
        assert_eq!(got[..2], [ms(0), ms(100)]);
        assert!(got[2] > ms(195) && got[2] < ms(200), "{got:?}");
        // Growth is 2/s each second: 5 s of quiet bring it back to 20/s.
        tokio::time::sleep_until(t0 + ms(2500)).await;
        assert!((allowed(&l) - 15.0).abs() < 1e-6, "{}", allowed(&l));
        tokio::time::sleep_until(t0 + ms(5000)).await;
        assert_eq!(allowed(&l), 20.0);
        let start = Instant::now();
        for _ in 0..3 {
            drop(l.acquire(Budget::Write, None).await);
        }
        assert_eq!(start.elapsed(), ms(100), "50 ms apart again");
    }

    #[tokio::test(start_paused = true)]
    async fn a_cut_while_a_call_waits_makes_it_wait_longer() {
        let l = Arc::new(Limiter::new(50.0, 10.0, 1, 8));
        drop(l.acquire(Budget::Write, None).await);
        // The next token is due in 100 ms; halving the rate makes that 200 ms.
        l.feedback(Budget::Write, Pressure::Limited);
        let start = Instant::now();
        drop(l.acquire(Budget::Write, None).await);
        let took = start.elapsed();
        assert!(took >= ms(199) && took <= ms(201), "{took:?}");
    }
}
