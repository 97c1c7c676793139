//! The HTTP core of the Jira client: every call to a Jira site goes through
//! [`Transport::send`], which waits for the instance's [`Limiter`], sends
//! with the instance's credentials, and decides retries in one place.
//!
//! Retries follow design §4 rule 5: network errors, timeouts and 5xx are
//! retried with jittered exponential backoff (the `backon` crate; `backoff`
//! is unmaintained, RUSTSEC-2025-0012); a 429 pauses the whole budget of the
//! instance (or one issue) until `Retry-After`, then the call is retried;
//! any other 4xx is permanent and returned at once with Jira's own words.
//!
//! The site's budget is shared with its other clients, so the write rate
//! adapts to what the answers say (see [`Pressure`]): a 429 for the budget
//! halves it, `X-RateLimit-NearLimit` or a low `X-RateLimit-Remaining` on
//! any answer to a write cuts it gently, and it grows back to the
//! configured rate while they say nothing.
//!
//! A call that must not run twice (POST create, comment, link, transition:
//! [`Call::idempotent`] false) is sent again only when the site surely did
//! not act on it: a 429, or no connection at all. After a 5xx, a timeout or
//! a lost connection Jira may have applied it, so the retriable error goes
//! back to the caller, which checks before trying again
//! ([`JiraError::may_resend`] decides).

use std::error::Error as _;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBackoff, ExponentialBuilder};
use base64::Engine as _;
use rand::Rng as _;
use reqwest::Method;
use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderMap, HeaderValue};
use serde_json::Value;

use super::error::{ErrorKind, JiraError};
use super::limiter::{Budget, Limiter, NEAR_LIMIT_SHARE, Pressure};
use super::timing::{CallOp, CallOutcome, CallTimer, CallTiming};
use crate::config::{Auth, InstanceConfig};
use crate::error_text::with_causes;

/// The `RateLimit-Reason` of Jira Cloud's per-issue write limit: only writes
/// to that issue must wait.
pub const PER_ISSUE_REASON: &str = "jira-per-issue-on-write";

/// The most a connection attempt may take, whatever the request timeout.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// One request to a Jira site, before credentials are added.
#[derive(Debug, Clone)]
pub struct Call {
    pub method: Method,
    /// From the site root, e.g. `/rest/api/3/issue/EMEA-1`.
    pub path: String,
    pub query: Vec<(String, String)>,
    pub body: Option<Value>,
    pub budget: Budget,
    /// The issue key or id the call writes to, for per-issue pauses.
    pub issue: Option<String>,
    /// Whether sending the call twice does no more than sending it once.
    pub idempotent: bool,
    /// What it asks of Jira, for the latency metric.
    pub op: CallOp,
}

impl Call {
    /// GET spends from the read budget, every other method from the write
    /// one. GET, PUT and DELETE are idempotent; a POST is not unless marked
    /// with [`Call::safe_to_repeat`].
    pub fn new(method: Method, path: impl Into<String>, body: Option<Value>) -> Call {
        let budget = if method == Method::GET { Budget::Read } else { Budget::Write };
        let idempotent = method != Method::POST;
        Call { method, path: path.into(), query: Vec::new(), body, budget, issue: None, idempotent, op: CallOp::Other }
    }

    /// Marks a POST that may be sent twice (a search, an upsert by key).
    pub fn safe_to_repeat(mut self) -> Call {
        self.idempotent = true;
        self
    }

    pub fn get(path: impl Into<String>) -> Call {
        Call::new(Method::GET, path, None)
    }

    pub fn post(path: impl Into<String>, body: Value) -> Call {
        Call::new(Method::POST, path, Some(body))
    }

    pub fn put(path: impl Into<String>, body: Value) -> Call {
        Call::new(Method::PUT, path, Some(body))
    }

    pub fn delete(path: impl Into<String>) -> Call {
        Call::new(Method::DELETE, path, None)
    }

    pub fn query(mut self, key: impl Into<String>, value: impl Into<String>) -> Call {
        self.query.push((key.into(), value.into()));
        self
    }

    /// Names the operation (the `operation` label of the latency metric).
    pub fn op(mut self, op: CallOp) -> Call {
        self.op = op;
        self
    }

    pub fn issue(mut self, key: impl Into<String>) -> Call {
        self.issue = Some(key.into());
        self
    }

    /// `METHOD /path`, as errors and logs name the call: no query string,
    /// which may carry JQL or user names.
    pub fn label(&self) -> String {
        let path = self.path.split('?').next().unwrap_or_default();
        format!("{} {path}", self.method)
    }
}

/// A 2xx answer.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    /// The body as JSON; an empty body (204, most PUTs) is `Null`.
    // JiraError is the client's one error type, passed by value on purpose;
    // its size is nothing next to the network call that produced it.
    pub fn json(&self) -> Result<Value, JiraError> {
        if self.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&self.body)
            .map_err(|e| JiraError::new(ErrorKind::Decode, "reply").with_detail(format!("not JSON: {e}")))
    }
}

/// How hard one call tries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryConfig {
    /// First backoff delay after a failure.
    pub min_delay: Duration,
    /// Longest backoff delay.
    pub max_delay: Duration,
    /// Attempts in all for network errors, timeouts and 5xx.
    pub max_attempts: usize,
    /// 429s accepted for one call before giving up.
    pub max_rate_limited: usize,
}

impl Default for RetryConfig {
    fn default() -> Self {
        Self {
            min_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(10),
            max_attempts: 5,
            max_rate_limited: 20,
        }
    }
}

impl RetryConfig {
    /// Jittered exponential delays, at most `times` of them.
    fn backoff(&self, times: usize) -> ExponentialBackoff {
        ExponentialBuilder::default()
            .with_min_delay(self.min_delay)
            .with_max_delay(self.max_delay)
            .with_max_times(times)
            .with_jitter()
            .build()
    }
}

/// A request as sent, for tests (never headers: no credentials).
#[derive(Clone, Debug)]
pub struct RecordedCall {
    pub method: String,
    pub path: String,
    pub query: Vec<(String, String)>,
    pub body: Option<Value>,
    /// `None` when no answer came (network error, timeout).
    pub status: Option<u16>,
}

pub type Recorder = Arc<dyn Fn(&RecordedCall) + Send + Sync>;

/// The HTTP client of one instance.
pub struct Transport {
    instance: String,
    base_url: String,
    http: reqwest::Client,
    /// Built once and marked sensitive, so hyper and `Debug` never show it.
    auth: HeaderValue,
    limiter: Limiter,
    retry: RetryConfig,
    recorder: Option<Recorder>,
    timer: Option<CallTimer>,
    reach: Mutex<Reachability>,
    /// Largest answer body read, in bytes (`response_body_limit`).
    response_body_limit: u64,
}

/// What the transport has seen of its site's reachability: whether the
/// last call got an HTTP answer (any status counts), and the last time one
/// did not.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reachability {
    /// `None` until a call has been made.
    pub reachable: Option<bool>,
    /// When (ms since the epoch) and why the last call got no answer.
    pub last_failure: Option<(i64, String)>,
}

impl fmt::Debug for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Transport")
            .field("instance", &self.instance)
            .field("base_url", &self.base_url)
            .field("limiter", &self.limiter)
            .field("retry", &self.retry)
            .field("recorder", &self.recorder.is_some())
            .field("timer", &self.timer.is_some())
            .finish_non_exhaustive()
    }
}

impl Transport {
    pub fn new(cfg: &InstanceConfig) -> Result<Transport, String> {
        let id = &cfg.id;
        let mut builder = reqwest::Client::builder()
            .user_agent(concat!("jirafed/", env!("CARGO_PKG_VERSION")))
            .timeout(cfg.timeout)
            .connect_timeout(cfg.timeout.min(CONNECT_TIMEOUT))
            .gzip(true)
            .use_rustls_tls();
        if let Some(path) = &cfg.ca_file {
            for cert in crate::config::read_ca_file(path).map_err(|e| format!("instance {id}: ca_file: {e}"))? {
                builder = builder.add_root_certificate(cert);
            }
        }
        let http = builder.build().map_err(|e| {
            let ca = cfg.ca_file.as_ref().map(|p| format!(" (ca_file {})", p.display())).unwrap_or_default();
            format!("instance {id}: cannot set up HTTPS{ca}: {}", with_causes(&e))
        })?;
        let limiter = Limiter::new(cfg.reads_per_second, cfg.writes_per_second, cfg.burst, cfg.max_in_flight);
        Ok(Transport {
            instance: id.to_string(),
            base_url: cfg.url.as_str().to_string(),
            http,
            auth: auth_header(&cfg.auth).map_err(|e| format!("instance {id}: {e}"))?,
            limiter,
            retry: RetryConfig::default(),
            recorder: None,
            timer: None,
            reach: Mutex::default(),
            response_body_limit: cfg.response_body_limit,
        })
    }

    pub fn with_retry(mut self, r: RetryConfig) -> Transport {
        self.retry = r;
        self
    }

    pub fn with_recorder(mut self, f: Recorder) -> Transport {
        self.recorder = Some(f);
        self
    }

    /// Tells `f` what each attempt took and how it ended.
    pub fn with_timer(mut self, f: CallTimer) -> Transport {
        self.timer = Some(f);
        self
    }

    pub fn limiter(&self) -> &Limiter {
        &self.limiter
    }

    /// Whether the site answered the last call.
    pub fn reachability(&self) -> Reachability {
        self.reach.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn saw(&self, answer: Result<(), String>) {
        let mut reach = self.reach.lock().unwrap_or_else(|p| p.into_inner());
        match answer {
            Ok(()) => reach.reachable = Some(true),
            Err(e) => {
                reach.reachable = Some(false);
                reach.last_failure = Some((chrono::Utc::now().timestamp_millis(), e));
            }
        }
    }

    /// The site's base URL without a trailing slash (it may end in a
    /// context path such as `/jira`).
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Sends with limiter and retries; see the module doc for the rules.
    pub async fn send(&self, call: Call) -> Result<Reply, JiraError> {
        let op = call.label();
        let mut failures = self.retry.backoff(self.retry.max_attempts.saturating_sub(1));
        let mut rate_limits = self.retry.backoff(self.retry.max_rate_limited);
        // Whether an earlier attempt may have reached the site unanswered.
        let mut maybe_applied = false;
        loop {
            let permit = self.limiter.acquire(call.budget, call.issue.as_deref()).await;
            let outcome = self.attempt(&call, &op).await;
            drop(permit);
            let err = match outcome {
                Ok(reply) => return Ok(reply),
                Err(e) => e,
            };
            if maybe_applied && call.method == Method::DELETE && err.is_not_found() {
                // The earlier attempt deleted it; its answer was lost.
                tracing::info!(instance = %self.instance, op = %op, "already deleted by an earlier attempt");
                return Ok(Reply { status: 204, headers: HeaderMap::new(), body: Vec::new() });
            }
            if !err.may_resend(call.idempotent) {
                if err.is_retriable() {
                    tracing::warn!(instance = %self.instance, op = %op, error = %err, "not resent: the site may have acted on it");
                }
                return Err(err);
            }
            maybe_applied |= !err.surely_not_applied();
            if err.is_rate_limited() {
                let Some(fallback) = rate_limits.next() else { return Err(err) };
                self.pause_after_429(&call, &op, &err, fallback);
                continue;
            }
            let Some(delay) = failures.next() else { return Err(err) };
            // A 503 may say how long the site needs; never come back sooner.
            let delay = delay.min(self.retry.max_delay).max(err.retry_after.unwrap_or_default());
            tracing::warn!(instance = %self.instance, op = %op, error = %err, delay_ms = delay.as_millis() as u64, "retrying");
            tokio::time::sleep(delay).await;
        }
    }

    /// [`Transport::send`], then the body as JSON (`Null` when empty); a
    /// body that is not JSON is a `Decode` error naming the call.
    pub async fn send_json(&self, call: Call) -> Result<Value, JiraError> {
        let op = call.label();
        let reply = self.send(call).await?;
        reply.json().map_err(|mut e| {
            e.call = op;
            e
        })
    }

    /// One request and its answer; any non-2xx becomes a `JiraError`.
    async fn attempt(&self, call: &Call, op: &str) -> Result<Reply, JiraError> {
        let url = format!("{}{}", self.base_url, call.path);
        let mut req = self
            .http
            .request(call.method.clone(), url)
            .header(AUTHORIZATION, self.auth.clone())
            .header(ACCEPT, "application/json");
        if !call.query.is_empty() {
            req = req.query(&call.query);
        }
        if let Some(body) = &call.body {
            req = req.json(body);
        }
        let started = std::time::Instant::now();
        let answer = exchange(req, self.response_body_limit).await;
        self.time(call.op, &answer, started);
        self.record(call, answer.as_ref().ok().map(|r| r.status));
        if let Ok(reply) = &answer {
            self.heed(call, op, reply);
        }
        let reply = answer.map_err(|e| match e {
            ExchangeError::Http(e) => transport_error(&e, op),
            ExchangeError::TooLarge(limit) => JiraError::new(ErrorKind::TooLarge(limit), op),
        });
        // An answer too large to read is still an answer: the site is reachable.
        let reached = reply.as_ref().map(|_| ()).or_else(|e| match e.kind {
            ErrorKind::TooLarge(_) => Ok(()),
            _ => Err(e.to_string()),
        });
        self.saw(reached);
        let reply = reply?;
        if (200..300).contains(&reply.status) { Ok(reply) } else { Err(status_error(&reply, op)) }
    }

    /// Slows the write rate when an answer other than a 429 says little of
    /// the budget is left (a 429 is taken in by [`Transport::pause_after_429`]).
    fn heed(&self, call: &Call, op: &str, reply: &Reply) {
        if call.budget != Budget::Write || reply.status == 429 || !near_limit(&reply.headers) {
            return;
        }
        if let Some(rate) = self.limiter.feedback(Budget::Write, Pressure::Near) {
            tracing::debug!(instance = %self.instance, op = %op, writes_per_second = rate, "site budget near its limit; slowing");
        }
    }

    fn time(&self, op: CallOp, answer: &Result<Reply, ExchangeError>, started: std::time::Instant) {
        let Some(f) = &self.timer else { return };
        let outcome = match answer {
            Ok(reply) => CallOutcome::of_status(reply.status),
            Err(ExchangeError::TooLarge(_)) => CallOutcome::ClientError,
            Err(ExchangeError::Http(_)) => CallOutcome::Network,
        };
        f(&CallTiming { op, outcome, seconds: started.elapsed().as_secs_f64() });
    }

    fn record(&self, call: &Call, status: Option<u16>) {
        if let Some(f) = &self.recorder {
            f(&RecordedCall {
                method: call.method.to_string(),
                path: call.path.clone(),
                query: call.query.clone(),
                body: call.body.clone(),
                status,
            });
        }
    }

    /// Pauses every later call of the budget (or only the writes to the
    /// issue) so that nothing reaches the site before `Retry-After` is over.
    fn pause_after_429(&self, call: &Call, op: &str, err: &JiraError, fallback: Duration) {
        let wait = match err.retry_after {
            // Up to 10% more, so that many clients do not return in step.
            Some(r) if !r.is_zero() => r.mul_f64(1.0 + rand::rng().random_range(0.0..=0.1)),
            _ => fallback.min(self.retry.max_delay),
        };
        let until = std::time::Instant::now() + wait;
        let reason = err.rate_limit_reason.as_deref().unwrap_or_default();
        let scope = match call.issue.as_deref() {
            Some(issue) if reason == PER_ISSUE_REASON => {
                self.limiter.pause_issue(issue, until);
                "issue"
            }
            _ => {
                self.limiter.pause(call.budget, until);
                if let Some(rate) = self.limiter.feedback(call.budget, Pressure::Limited) {
                    tracing::info!(instance = %self.instance, op = %op, writes_per_second = rate, "write rate halved after a 429");
                }
                "budget"
            }
        };
        tracing::warn!(
            instance = %self.instance, op = %op, reason, scope, issue = call.issue.as_deref(),
            wait_ms = wait.as_millis() as u64, "rate limited; pausing"
        );
    }
}

/// Why an exchange got no usable answer.
enum ExchangeError {
    Http(reqwest::Error),
    /// The body passed the limit (bytes); the rest was not read.
    TooLarge(u64),
}

/// Sends and reads the answer in chunks, never holding more than `limit`
/// bytes of body (a `Content-Length` over it is refused before reading).
async fn exchange(req: reqwest::RequestBuilder, limit: u64) -> Result<Reply, ExchangeError> {
    let mut resp = req.send().await.map_err(ExchangeError::Http)?;
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    if resp.content_length().is_some_and(|n| n > limit) {
        return Err(ExchangeError::TooLarge(limit));
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(ExchangeError::Http)? {
        if (body.len() + chunk.len()) as u64 > limit {
            return Err(ExchangeError::TooLarge(limit));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Reply { status, headers, body })
}

/// `Authorization` for the instance: Cloud and DC user + password as Basic,
/// a DC personal access token as Bearer.
fn auth_header(auth: &Auth) -> Result<HeaderValue, String> {
    let basic = |user: &str, secret: &str| {
        format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{user}:{secret}")))
    };
    let text = match auth {
        Auth::CloudToken { email, token, .. } => basic(email, token.expose()),
        Auth::Basic { user, password, .. } => basic(user, password.expose()),
        Auth::Bearer { token, .. } => format!("Bearer {}", token.expose()),
    };
    // The error must not echo the value: it is the credential.
    let mut value = HeaderValue::from_str(&text).map_err(|_| "the credential has characters HTTP cannot carry")?;
    value.set_sensitive(true);
    Ok(value)
}

fn transport_error(e: &reqwest::Error, op: &str) -> JiraError {
    // A connect timeout is a connect error too: nothing was sent.
    let kind = if e.is_connect() {
        ErrorKind::Connect
    } else if e.is_timeout() {
        ErrorKind::Timeout
    } else {
        ErrorKind::Network
    };
    // The causes without reqwest's own text, which adds the URL: it names
    // the site but says nothing the call label does not.
    let detail = match e.source() {
        Some(cause) => with_causes(cause),
        None => e.to_string(),
    };
    JiraError::new(kind, op).with_detail(detail)
}

fn status_error(reply: &Reply, op: &str) -> JiraError {
    let mut err = JiraError::new(ErrorKind::Status(reply.status), op);
    err.read_body(&reply.body);
    let header = |name: &str| reply.headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim);
    err.retry_after = header("retry-after").and_then(parse_retry_after);
    err.rate_limit_reason = header("ratelimit-reason").filter(|r| !r.is_empty()).map(str::to_string);
    err
}

/// Whether an answer says that less than a fifth of the budget is left:
/// Cloud's `X-RateLimit-NearLimit: true`, or (Data Center, which does not
/// send that one) `X-RateLimit-Remaining` under that share of
/// `X-RateLimit-Limit`. Data Center's early versions spelt them
/// `X-RateLimiting-*`. The `Beta-` headers of limits Jira does not enforce
/// yet are not read: they never lead to a 429.
fn near_limit(headers: &HeaderMap) -> bool {
    let header = |name: &str| {
        let alias = name.replace("X-RateLimit-", "X-RateLimiting-");
        [name, alias.as_str()]
            .into_iter()
            .find_map(|n| headers.get(n)?.to_str().ok().map(str::trim).map(str::to_string))
    };
    if header("X-RateLimit-NearLimit").is_some_and(|v| v.eq_ignore_ascii_case("true")) {
        return true;
    }
    let number = |name: &str| header(name)?.parse::<f64>().ok().filter(|n| n.is_finite());
    match (number("X-RateLimit-Remaining"), number("X-RateLimit-Limit")) {
        (Some(left), Some(limit)) if limit > 0.0 => left < NEAR_LIMIT_SHARE * limit,
        _ => false,
    }
}

/// `Retry-After` is seconds (Jira sends whole ones) or an HTTP date.
fn parse_retry_after(value: &str) -> Option<Duration> {
    if let Ok(secs) = value.parse::<f64>() {
        return Duration::try_from_secs_f64(secs).ok();
    }
    let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let left = at.with_timezone(&chrono::Utc) - chrono::Utc::now();
    Some(left.to_std().unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Secret, SecretSource};

    #[test]
    fn get_reads_and_everything_else_writes() {
        assert_eq!(Call::get("/x").budget, Budget::Read);
        for c in [Call::post("/x", Value::Null), Call::put("/x", Value::Null), Call::delete("/x")] {
            assert_eq!(c.budget, Budget::Write);
        }
        assert!(Call::get("/x").idempotent && Call::put("/x", Value::Null).idempotent && Call::delete("/x").idempotent);
        assert!(!Call::post("/x", Value::Null).idempotent, "a POST may create something twice");
        assert!(Call::post("/x", Value::Null).safe_to_repeat().idempotent);
        let c = Call::put("/rest/api/3/issue/EMEA-1?notifyUsers=false", Value::Null).query("a", "b").issue("EMEA-1");
        assert_eq!(c.label(), "PUT /rest/api/3/issue/EMEA-1");
        assert_eq!(c.query, [("a".to_string(), "b".to_string())]);
        assert_eq!(c.issue.as_deref(), Some("EMEA-1"));
    }

    #[test]
    fn retry_after_is_seconds_or_an_http_date() {
        assert_eq!(parse_retry_after("2"), Some(Duration::from_secs(2)));
        assert_eq!(parse_retry_after("0.5"), Some(Duration::from_millis(500)));
        assert_eq!(parse_retry_after("-1"), None);
        assert_eq!(parse_retry_after("soon"), None);
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), Some(Duration::ZERO), "a past date");
        let future = (chrono::Utc::now() + chrono::Duration::seconds(30)).to_rfc2822();
        let left = parse_retry_after(&future).unwrap();
        assert!(left > Duration::from_secs(25) && left <= Duration::from_secs(30), "{left:?}");
    }

    #[test]
    fn credentials_become_a_sensitive_header() {
        let cloud = Auth::CloudToken {
            email: "sync-bot@example.com".into(),
            token: Secret::new("sim-token"),
            source: SecretSource::Inline,
        };
        let h = auth_header(&cloud).unwrap();
        assert!(h.is_sensitive());
        // base64("sync-bot@example.com:sim-token")
        assert_eq!(h.to_str().unwrap(), "Basic c3luYy1ib3RAZXhhbXBsZS5jb206c2ltLXRva2Vu");
        assert!(!format!("{h:?}").contains("c3luY"), "Debug hides it");
        let pat = Auth::Bearer { token: Secret::new("sim-pat"), source: SecretSource::Inline };
        assert_eq!(auth_header(&pat).unwrap().to_str().unwrap(), "Bearer sim-pat");
        let bad = Auth::Bearer { token: Secret::new("line\nbreak"), source: SecretSource::Inline };
        assert!(!auth_header(&bad).unwrap_err().contains("line"));
    }

    #[test]
    fn status_errors_carry_jiras_words_and_rate_limit_headers() {
        let mut headers = HeaderMap::new();
        headers.insert("Retry-After", HeaderValue::from_static("2"));
        headers.insert("RateLimit-Reason", HeaderValue::from_static(PER_ISSUE_REASON));
        let body = br#"{"errorMessages":["Rate limit exceeded."],"errors":{}}"#.to_vec();
        let e = status_error(&Reply { status: 429, headers, body }, "PUT /rest/api/3/issue/EMEA-1");
        assert!(e.is_rate_limited());
        assert_eq!(e.retry_after, Some(Duration::from_secs(2)));
        assert_eq!(e.rate_limit_reason.as_deref(), Some(PER_ISSUE_REASON));
        assert_eq!(e.to_string(), "PUT /rest/api/3/issue/EMEA-1: HTTP 429; Rate limit exceeded. [retry after 2s]");
    }

    #[test]
    fn empty_replies_are_null_and_garbage_is_a_decode_error() {
        let reply = |body: &[u8]| Reply { status: 200, headers: HeaderMap::new(), body: body.to_vec() };
        assert_eq!(reply(b"").json().unwrap(), Value::Null);
        assert_eq!(reply(b"{\"a\":1}").json().unwrap()["a"], 1);
        assert_eq!(reply(b"<html>").json().unwrap_err().kind, ErrorKind::Decode);
    }

    #[test]
    fn backoff_is_bounded_in_count() {
        let r = RetryConfig::default();
        let delays: Vec<_> = r.backoff(r.max_attempts - 1).collect();
        assert_eq!(delays.len(), 4);
        assert!(delays[0] >= r.min_delay && delays[0] < r.min_delay * 2, "{delays:?}");
    }

    #[test]
    fn near_limit_is_cloud_s_flag_or_a_fifth_of_the_budget_left() {
        let headers = |pairs: &[(&'static str, &'static str)]| {
            let mut h = HeaderMap::new();
            for (k, v) in pairs {
                h.insert(*k, HeaderValue::from_static(v));
            }
            h
        };
        assert!(near_limit(&headers(&[("X-RateLimit-NearLimit", "true")])));
        assert!(!near_limit(&headers(&[("X-RateLimit-NearLimit", "false")])));
        assert!(!near_limit(&headers(&[("X-RateLimit-Limit", "20"), ("X-RateLimit-Remaining", "4")])));
        assert!(near_limit(&headers(&[("X-RateLimit-Limit", "20"), ("X-RateLimit-Remaining", "3")])));
        assert!(near_limit(&headers(&[("X-RateLimiting-Limit", "20"), ("X-RateLimiting-Remaining", "0")])));
        assert!(!near_limit(&headers(&[("X-RateLimit-Remaining", "0")])), "no limit to compare with");
        assert!(!near_limit(&headers(&[("X-Beta-RateLimit-NearLimit", "true")])), "not enforced");
        assert!(!near_limit(&HeaderMap::new()));
    }
}
