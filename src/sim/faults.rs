//! Switchable faults of one simulated site: token-bucket rate limits that
//! answer 429 like Jira, injected 5xx, latency, connection resets, lost
//! responses and dropped webhooks (`POST /_sim/faults`), and another
//! client spending part of the write budget (`background_writes_per_second`).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use rand::Rng;
use serde::{Deserialize, Serialize};

/// A token bucket's settings.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RateSpec {
    pub per_second: f64,
    pub burst: u32,
    /// When set, every 429 of this bucket says `Retry-After` exactly this
    /// many seconds, and the first refusal closes the bucket for that long
    /// (everything answers 429 meanwhile), so clients see fixed bursts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
}

/// How a lost response reaches the caller.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LostResponse {
    /// `502 Bad Gateway`, as a proxy that lost the upstream answer sends.
    #[default]
    #[serde(rename = "502")]
    BadGateway,
    /// The connection is closed without an answer.
    Reset,
}

/// The body of `POST /_sim/faults`; a key given replaces that fault.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FaultSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub write_rate: Option<RateSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_rate: Option<RateSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issue_write_rate: Option<RateSpec>,
    /// Share of REST requests answered 500, 502 or 503.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_rate: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_jitter_ms: Option<u64>,
    /// Share of webhook deliveries silently dropped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drop_webhooks: Option<f64>,
    /// Share of REST connections reset before any response.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reset_rate: Option<f64>,
    /// Share of successful non-GET REST calls whose effect is applied but
    /// whose answer is lost (see `lost_response_as`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lost_response_rate: Option<f64>,
    /// What the caller of a lost response gets: `"502"` (default) or `"reset"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lost_response_as: Option<LostResponse>,
    /// Issue keys (or ids) whose writes are refused with a permanent 400,
    /// as a field a site will not accept would be.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reject_issues: Option<Vec<String>>,
    /// Logins whose REST calls no fault touches (no injected error,
    /// latency, reset, lost response or 429): the people a test acts as,
    /// so that only the client under test meets the faults.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spare_users: Option<Vec<String>>,
    /// Successful REST reads (GETs and searches) are answered with a body
    /// of this many bytes: the JSON, then spaces (still valid JSON), as a
    /// runaway field or a misbehaving proxy would make it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub huge_body_bytes: Option<u64>,
    /// Another client writing this many calls a second to the site: they
    /// spend from `write_rate`'s bucket as jirafed's writes do, without
    /// going through HTTP or being counted as requests. 0 stops it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub background_writes_per_second: Option<f64>,
    /// `false`: answers that get through carry no rate-limit headers, as a
    /// site that says nothing until it refuses (by default they do).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit_headers: Option<bool>,
}

impl FaultSpec {
    pub fn validate(&self) -> Result<(), String> {
        for (name, share) in [
            ("error_rate", self.error_rate),
            ("drop_webhooks", self.drop_webhooks),
            ("reset_rate", self.reset_rate),
            ("lost_response_rate", self.lost_response_rate),
        ] {
            if share.is_some_and(|s| !(0.0..=1.0).contains(&s)) {
                return Err(format!("{name} must be between 0 and 1"));
            }
        }
        for (name, rate) in [
            ("write_rate", self.write_rate),
            ("read_rate", self.read_rate),
            ("issue_write_rate", self.issue_write_rate),
        ] {
            if rate.is_some_and(|r| r.per_second <= 0.0 || r.burst == 0 || !r.per_second.is_finite()) {
                return Err(format!("{name} needs per_second > 0 and burst >= 1"));
            }
            if rate.and_then(|r| r.retry_after).is_some_and(|s| s == 0) {
                return Err(format!("{name}.retry_after must be at least 1 (seconds)"));
            }
        }
        if self.background_writes_per_second.is_some_and(|r| !(r.is_finite() && r >= 0.0)) {
            return Err("background_writes_per_second must be 0 or more".into());
        }
        Ok(())
    }

    fn merge(&mut self, other: FaultSpec) {
        macro_rules! take {
            ($($f:ident),*) => { $(if other.$f.is_some() { self.$f = other.$f; })* };
        }
        take!(
            write_rate,
            read_rate,
            issue_write_rate,
            error_rate,
            latency_ms,
            latency_jitter_ms,
            drop_webhooks,
            reset_rate,
            lost_response_rate,
            lost_response_as,
            reject_issues,
            spare_users,
            huge_body_bytes,
            background_writes_per_second,
            rate_limit_headers
        );
    }
}

/// What the background client got from a bucket, in calls (fractions of
/// a call included: it is spread evenly over time).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Background {
    pub writes: f64,
    pub refused: f64,
}

#[derive(Debug, Clone)]
struct Bucket {
    spec: RateSpec,
    tokens: f64,
    last: Instant,
    /// With a fixed `retry_after`: refusing everything until then.
    closed_until: Option<Instant>,
    /// Calls a second the background client spends from this bucket.
    drain: f64,
    background: Background,
}

impl Bucket {
    fn new(spec: RateSpec, now: Instant) -> Self {
        let tokens = f64::from(spec.burst);
        Self { spec, tokens, last: now, closed_until: None, drain: 0.0, background: Background::default() }
    }

    /// Brings the bucket to `now`: the refill, less what the background
    /// client spent meanwhile. It spends evenly, a steady stream rather than
    /// one call at a time, so that it never leaves tokens for a moment; what
    /// it asked for beyond an empty bucket was refused.
    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        let wanted = elapsed * self.drain;
        let mut tokens = self.tokens + elapsed * self.spec.per_second - wanted;
        let refused = (-tokens).max(0.0);
        tokens = tokens.max(0.0);
        self.tokens = tokens.min(f64::from(self.spec.burst));
        self.background.writes += wanted - refused;
        self.background.refused += refused;
    }

    /// Whole tokens left now, as `X-RateLimit-Remaining` says it.
    fn remaining(&self) -> u32 {
        self.tokens.floor().clamp(0.0, f64::from(u32::MAX)) as u32
    }

    /// Takes a token, or says how long to wait: until one is there, or the
    /// fixed `retry_after` (which closes the bucket for that long).
    fn take(&mut self, now: Instant) -> Result<(), Duration> {
        self.refill(now);
        let fixed = self.spec.retry_after.map(Duration::from_secs);
        if let (Some(until), Some(wait)) = (self.closed_until, fixed) {
            if now < until {
                return Err(wait);
            }
            self.closed_until = None;
        }
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            return Ok(());
        }
        match fixed {
            Some(wait) => {
                self.closed_until = Some(now + wait);
                Err(wait)
            }
            None => {
                // What the background client leaves of the refill; if it
                // takes it all, a token may never come: say a second.
                let free = self.spec.per_second - self.drain;
                let wait = if free > 0.0 { (1.0 - self.tokens) / free } else { 1.0 };
                Err(Duration::try_from_secs_f64(wait).unwrap_or(Duration::from_secs(1)))
            }
        }
    }
}

/// Which limit refused a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    Read,
    Write,
    Issue,
}

/// A 429 to send: how long to wait and why.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Refusal {
    pub wait: Duration,
    pub limit: Limit,
    pub spec: RateSpec,
}

/// The bucket an admitted request spent from, for the rate-limit headers
/// that every answer carries (as Jira Cloud sends them, and Data Center
/// when its rate limiting is on).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Headroom {
    pub spec: RateSpec,
    /// Whole tokens left after this request.
    pub remaining: u32,
}

impl Headroom {
    /// Jira Cloud's `X-RateLimit-NearLimit`: less than 20% of the budget left.
    pub fn near_limit(&self) -> bool {
        f64::from(self.remaining) < 0.2 * f64::from(self.spec.burst)
    }
}

/// The live fault state of a site.
#[derive(Debug, Default)]
pub struct Faults {
    spec: FaultSpec,
    read: Option<Bucket>,
    write: Option<Bucket>,
    issues: HashMap<u64, Bucket>,
}

impl Faults {
    pub fn spec(&self) -> &FaultSpec {
        &self.spec
    }

    pub fn set(&mut self, more: FaultSpec) {
        let now = Instant::now();
        if let Some(r) = more.read_rate {
            self.read = Some(Bucket::new(r, now));
        }
        // What the background client spent so far stays counted when the
        // bucket is replaced, and is accounted up to now before it changes pace.
        let mut spent = Background::default();
        if let Some(w) = &mut self.write {
            w.refill(now);
            spent = w.background;
        }
        if let Some(w) = more.write_rate {
            self.write = Some(Bucket::new(w, now));
        }
        if more.issue_write_rate.is_some() {
            self.issues.clear();
        }
        self.spec.merge(more);
        let drain = self.spec.background_writes_per_second.unwrap_or(0.0);
        if let Some(w) = &mut self.write {
            w.background = spent;
            w.drain = drain;
        }
    }

    /// What the background client has written (and been refused) since the
    /// faults were last cleared, up to now; nothing without a `write_rate`.
    pub fn background(&mut self) -> Background {
        let now = Instant::now();
        self.write.as_mut().map_or_else(Background::default, |w| {
            w.refill(now);
            w.background
        })
    }

    pub fn clear(&mut self) {
        *self = Faults::default();
    }

    /// Whether answers that get through say what is left of the budget.
    pub fn rate_limit_headers(&self) -> bool {
        self.spec.rate_limit_headers != Some(false)
    }

    /// The size successful reads are padded to, when that fault is set.
    pub fn huge_body(&self) -> Option<u64> {
        self.spec.huge_body_bytes
    }

    fn roll(share: Option<f64>) -> bool {
        share.is_some_and(|s| s > 0.0 && rand::rng().random_bool(s.min(1.0)))
    }

    /// Whether writes to this issue are refused (`reject_issues`).
    pub fn rejects(&self, issue: &str) -> bool {
        self.spec.reject_issues.as_ref().is_some_and(|l| l.iter().any(|k| k.eq_ignore_ascii_case(issue)))
    }

    /// Whether a reset fault is set at all (so that a caller need not be
    /// identified for nothing).
    pub fn reset_rate_set(&self) -> bool {
        self.spec.reset_rate.is_some_and(|r| r > 0.0)
    }

    /// Whether `login`'s calls are spared every fault (`spare_users`).
    pub fn spares(&self, login: &str) -> bool {
        self.spec.spare_users.as_ref().is_some_and(|l| l.iter().any(|u| u == login))
    }

    pub fn should_reset(&self) -> bool {
        Self::roll(self.spec.reset_rate)
    }

    /// How to lose the answer of a successful write, if this one is lost.
    pub fn lost_response(&self) -> Option<LostResponse> {
        Self::roll(self.spec.lost_response_rate).then(|| self.spec.lost_response_as.unwrap_or_default())
    }

    pub fn should_drop_webhook(&self) -> bool {
        Self::roll(self.spec.drop_webhooks)
    }

    /// A status to inject instead of answering, if any.
    pub fn injected_error(&self) -> Option<u16> {
        Self::roll(self.spec.error_rate).then(|| [500, 502, 503][rand::rng().random_range(0..3)])
    }

    pub fn latency(&self) -> Duration {
        let base = self.spec.latency_ms.unwrap_or(0);
        let jitter = self.spec.latency_jitter_ms.unwrap_or(0);
        let extra = if jitter > 0 { rand::rng().random_range(0..=jitter) } else { 0 };
        Duration::from_millis(base + extra)
    }

    /// Spends the tokens a request needs, or refuses it. A refused request
    /// spends nothing. An admitted one learns what is left of the site's
    /// bucket it spent from (none when that budget is not limited).
    pub fn admit(&mut self, write: bool, issue: Option<u64>) -> Result<Option<Headroom>, Refusal> {
        let now = Instant::now();
        let headroom = |b: &Bucket| Headroom { spec: b.spec, remaining: b.remaining() };
        if write {
            if let (Some(spec), Some(id)) = (self.spec.issue_write_rate, issue) {
                let b = self.issues.entry(id).or_insert_with(|| Bucket::new(spec, now));
                let saved = b.clone();
                b.take(now).map_err(|wait| Refusal { wait, limit: Limit::Issue, spec })?;
                if let Some(w) = &mut self.write {
                    if let Err(wait) = w.take(now) {
                        self.issues.insert(id, saved);
                        return Err(Refusal { wait, limit: Limit::Write, spec: w.spec });
                    }
                }
                return Ok(self.write.as_ref().map(headroom));
            }
            if let Some(w) = &mut self.write {
                w.take(now).map_err(|wait| Refusal { wait, limit: Limit::Write, spec: w.spec })?;
            }
            return Ok(self.write.as_ref().map(headroom));
        }
        if let Some(r) = &mut self.read {
            r.take(now).map_err(|wait| Refusal { wait, limit: Limit::Read, spec: r.spec })?;
        }
        Ok(self.read.as_ref().map(headroom))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_refuses_past_its_burst_and_says_how_long() {
        let mut f = Faults::default();
        f.set(FaultSpec {
            write_rate: Some(RateSpec { per_second: 2.0, burst: 3, retry_after: None }),
            ..Default::default()
        });
        for _ in 0..3 {
            assert!(f.admit(true, None).is_ok());
        }
        let r = f.admit(true, None).expect_err("over the burst");
        assert_eq!(r.limit, Limit::Write);
        assert!(r.wait > Duration::ZERO && r.wait <= Duration::from_millis(500), "{:?}", r.wait);
        assert!(f.admit(false, None).is_ok(), "reads are not limited");
    }

    #[test]
    fn per_issue_limits_are_per_issue() {
        let mut f = Faults::default();
        f.set(FaultSpec {
            issue_write_rate: Some(RateSpec { per_second: 1.0, burst: 1, retry_after: None }),
            ..Default::default()
        });
        assert!(f.admit(true, Some(1)).is_ok());
        assert_eq!(f.admit(true, Some(1)).map_err(|r| r.limit), Err(Limit::Issue));
        assert!(f.admit(true, Some(2)).is_ok());
    }

    #[test]
    fn a_fixed_retry_after_closes_the_bucket_for_that_long() {
        let mut b = Bucket::new(RateSpec { per_second: 100.0, burst: 1, retry_after: Some(2) }, Instant::now());
        let t0 = Instant::now();
        assert!(b.take(t0).is_ok());
        assert_eq!(b.take(t0), Err(Duration::from_secs(2)));
        // Tokens are back long before the two seconds are over; the bucket stays closed.
        let later = t0 + Duration::from_millis(1500);
        assert_eq!(b.take(later), Err(Duration::from_secs(2)), "still closed");
        assert!(b.take(t0 + Duration::from_secs(2)).is_ok(), "open again once the time has passed");
    }

    #[test]
    fn shares_outside_0_to_1_are_refused() {
        assert!(FaultSpec { error_rate: Some(1.5), ..Default::default() }.validate().is_err());
        assert!(FaultSpec { lost_response_rate: Some(-0.1), ..Default::default() }.validate().is_err());
        assert!(FaultSpec { reset_rate: Some(0.5), ..Default::default() }.validate().is_ok());
        let zero = RateSpec { per_second: 1.0, burst: 1, retry_after: Some(0) };
        assert!(FaultSpec { read_rate: Some(zero), ..Default::default() }.validate().is_err());
    }

    #[test]
    fn lost_responses_are_502_unless_asked_to_reset() {
        let spec: FaultSpec = serde_json::from_str(r#"{"lost_response_rate": 1.0}"#).unwrap();
        let mut f = Faults::default();
        f.set(spec);
        assert_eq!(f.lost_response(), Some(LostResponse::BadGateway));
        f.set(serde_json::from_str(r#"{"lost_response_as": "reset"}"#).unwrap());
        assert_eq!(f.lost_response(), Some(LostResponse::Reset));
        assert!(serde_json::from_str::<FaultSpec>(r#"{"lost_response_as": "504"}"#).is_err());
    }

    #[test]
    fn admitted_requests_learn_what_is_left_of_their_budget() {
        let mut f = Faults::default();
        assert_eq!(f.admit(true, None), Ok(None), "no limit, no headroom");
        f.set(FaultSpec {
            write_rate: Some(RateSpec { per_second: 0.001, burst: 10, retry_after: None }),
            ..Default::default()
        });
        let left: Vec<_> = (0..10).map(|_| f.admit(true, None).unwrap().unwrap()).collect();
        assert_eq!(left[0].remaining, 9);
        assert!(!left[7].near_limit(), "2 of 10 left is 20%");
        assert!(left[8].near_limit(), "1 of 10 is under 20%");
        assert_eq!(left[9].remaining, 0);
        assert_eq!(f.admit(false, None), Ok(None), "reads are not limited");
    }

    #[test]
    fn a_background_client_spends_the_write_budget_and_stops_at_zero() {
        let t0 = Instant::now();
        let spec = RateSpec { per_second: 20.0, burst: 20, retry_after: None };
        let mut b = Bucket::new(spec, t0);
        b.drain = 10.0;
        // A full bucket stays full: the refill covers the background client.
        b.refill(t0 + Duration::from_secs(1));
        assert_eq!(b.remaining(), 20);
        assert_eq!(b.background, Background { writes: 10.0, refused: 0.0 });
        // Over its share it empties the bucket, then is refused the rest.
        b.drain = 30.0;
        b.refill(t0 + Duration::from_secs(4));
        assert_eq!(b.remaining(), 0);
        assert_eq!(b.background, Background { writes: 10.0 + 80.0, refused: 10.0 });
        assert_eq!(b.take(t0 + Duration::from_secs(4)), Err(Duration::from_secs(1)), "no token ever comes back");

        let mut f = Faults::default();
        f.set(FaultSpec { write_rate: Some(spec), background_writes_per_second: Some(10.0), ..Default::default() });
        f.set(FaultSpec { background_writes_per_second: Some(0.0), ..Default::default() });
        assert_eq!(f.write.as_ref().map(|w| w.drain), Some(0.0), "0 stops it");
        assert!(FaultSpec { background_writes_per_second: Some(-1.0), ..Default::default() }.validate().is_err());
    }
}
