//! Switchable faults of one simulated site: token-bucket rate limits that
//! answer 429 like Jira, injected 5xx, latency, connection resets, lost
//! responses and dropped webhooks (`POST /_sim/faults`).

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
            huge_body_bytes
        );
    }
}

#[derive(Debug, Clone)]
struct Bucket {
    spec: RateSpec,
    tokens: f64,
    last: Instant,
    /// With a fixed `retry_after`: refusing everything until then.
    closed_until: Option<Instant>,
}

impl Bucket {
    fn new(spec: RateSpec, now: Instant) -> Self {
        Self { spec, tokens: f64::from(spec.burst), last: now, closed_until: None }
    }

    /// Takes a token, or says how long to wait: until one is there, or the
    /// fixed `retry_after` (which closes the bucket for that long).
    fn take(&mut self, now: Instant) -> Result<(), Duration> {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.spec.per_second).min(f64::from(self.spec.burst));
        self.last = now;
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
            None => Err(Duration::from_secs_f64((1.0 - self.tokens) / self.spec.per_second)),
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
#[derive(Debug, Clone, Copy)]
pub struct Refusal {
    pub wait: Duration,
    pub limit: Limit,
    pub spec: RateSpec,
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
        if let Some(w) = more.write_rate {
            self.write = Some(Bucket::new(w, now));
        }
        if more.issue_write_rate.is_some() {
            self.issues.clear();
        }
        self.spec.merge(more);
    }

    pub fn clear(&mut self) {
        *self = Faults::default();
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
    /// spends nothing.
    pub fn admit(&mut self, write: bool, issue: Option<u64>) -> Result<(), Refusal> {
        let now = Instant::now();
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
                return Ok(());
            }
            if let Some(w) = &mut self.write {
                w.take(now).map_err(|wait| Refusal { wait, limit: Limit::Write, spec: w.spec })?;
            }
        } else if let Some(r) = &mut self.read {
            r.take(now).map_err(|wait| Refusal { wait, limit: Limit::Read, spec: r.spec })?;
        }
        Ok(())
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
}
