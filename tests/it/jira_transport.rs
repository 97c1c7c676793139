//! The HTTP core of the Jira client against the simulator: limiter and
//! retries under faults, permanent errors, secrets, and TLS set-up.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use jirafed::jira::{Call, ErrorKind, RecordedCall, RetryConfig, Transport};
use serde_json::{Value, json};
use tokio::task::JoinSet;

use super::support::{Sim, instance_config, wait_until};

/// Fixed simulator latency in the acceptance run: a 429 leaves the simulator
/// this long after its request arrived (the log stamps arrivals).
const LATENCY_MS: i64 = 200;
/// Clock and scheduling slack between the simulator's stamps and the client.
const SLACK_MS: i64 = 50;

/// Every attempt the transport makes, in order.
#[derive(Clone, Default)]
struct Calls(Arc<Mutex<Vec<RecordedCall>>>);

impl Calls {
    fn recorder(&self) -> Arc<dyn Fn(&RecordedCall) + Send + Sync> {
        let calls = self.0.clone();
        Arc::new(move |c: &RecordedCall| calls.lock().unwrap().push(c.clone()))
    }

    fn all(&self) -> Vec<RecordedCall> {
        self.0.lock().unwrap().clone()
    }
}

/// One entry of `GET /_sim/log`.
#[derive(Debug, Clone)]
struct Logged {
    at_ms: i64,
    method: String,
    path: String,
    status: u16,
}

async fn sim_log(s: &Sim, site: &str) -> Vec<Logged> {
    let log = s.control(site, "GET", "/_sim/log", None).await.body;
    let mut out: Vec<Logged> = log["requests"]
        .as_array()
        .expect("log entries")
        .iter()
        .map(|e| Logged {
            at_ms: e["at_ms"].as_i64().unwrap(),
            method: e["method"].as_str().unwrap().to_string(),
            path: e["path"].as_str().unwrap().to_string(),
            status: e["status"].as_u64().unwrap() as u16,
        })
        .collect();
    out.sort_by_key(|e| e.at_ms);
    out
}

async fn faults(s: &Sim, site: &str, body: Value) {
    let r = s.control(site, "POST", "/_sim/faults", Some(&body)).await;
    assert_eq!(r.status, 200, "{}", r.body);
}

async fn create_issues(t: &Arc<Transport>, n: usize) -> Vec<String> {
    let mut set = JoinSet::new();
    for i in 0..n {
        let t = t.clone();
        set.spawn(async move {
            let body = json!({"fields": {"project": {"key": "EMEA"}, "issuetype": {"name": "Story"}, "summary": format!("issue {i}")}});
            let reply = t.send(Call::post("/rest/api/3/issue", body)).await.expect("create");
            reply.json().unwrap()["key"].as_str().unwrap().to_string()
        });
    }
    set.join_all().await
}

fn edit(key: &str, summary: &str) -> Call {
    Call::put(format!("/rest/api/3/issue/{key}"), json!({"fields": {"summary": summary}})).issue(key)
}

/// After every 429, nothing reached the site until its Retry-After was over.
/// `latency_ms`: how long after its arrival (the log's stamp) a 429 left.
fn assert_quiet_after_each_429(log: &[Logged], latency_ms: i64, retry_after_ms: i64) {
    for hit in log.iter().filter(|e| e.status == 429) {
        let answered = hit.at_ms + latency_ms;
        let too_soon: Vec<_> =
            log.iter().filter(|e| e.at_ms >= answered + SLACK_MS && e.at_ms < answered + retry_after_ms).collect();
        assert!(too_soon.is_empty(), "429 answered at {answered}: requests within Retry-After: {too_soon:?}");
    }
}

/// Over any window, writes sent <= burst + rate x window (+1 for clock slack).
fn assert_write_rate(log: &[Logged], rate: f64, burst: u32) {
    let writes: Vec<i64> = log.iter().filter(|e| e.method != "GET").map(|e| e.at_ms).collect();
    for i in 0..writes.len() {
        for j in i..writes.len() {
            let window_s = (writes[j] - writes[i]) as f64 / 1000.0;
            let allowed = f64::from(burst) + rate * window_s + 1.0;
            let sent = (j - i + 1) as f64;
            assert!(sent <= allowed, "{sent} writes in {window_s} s (allowed {allowed})");
        }
    }
}

/// The acceptance run: 500 edits across 50 issues under 10% 5xx, 200 ms
/// latency and a site write limit below the client's, so 429s come and go.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_hundred_writes_under_faults_all_land_in_order_within_the_limits() {
    const RATE: f64 = 20.0;
    const BURST: u32 = 5;
    let s = Sim::start().await;
    let retry = RetryConfig { max_attempts: 8, ..RetryConfig::default() };
    let t = Arc::new(Transport::new(&instance_config(&s, "emea", RATE, BURST)).unwrap().with_retry(retry));
    let keys = create_issues(&t, 50).await;

    // The site refills 14 writes/s; the client sends 20/s of which ~18
    // survive the injected 5xx, so the site's bucket of 20 runs dry every
    // few seconds and answers 429 with `Retry-After: 2` (and stays closed
    // that long) until the client pauses. The site says nothing of its
    // budget before it refuses, or the client would slow down in time.
    faults(
        &s,
        "emea",
        json!({
            "error_rate": 0.1, "latency_ms": LATENCY_MS,
            "write_rate": {"per_second": 14.0, "burst": 20, "retry_after": 2},
            "rate_limit_headers": false,
        }),
    )
    .await;
    let started = Instant::now();
    let mut set = JoinSet::new();
    for key in keys.clone() {
        let t = t.clone();
        set.spawn(async move {
            for n in 1..=10 {
                t.send(edit(&key, &format!("v{n}"))).await.unwrap_or_else(|e| panic!("{key} v{n}: {e}"));
            }
        });
    }
    set.join_all().await;
    let took = started.elapsed();
    let r = s.control("emea", "DELETE", "/_sim/faults", None).await;
    assert_eq!(r.status, 204);

    for key in &keys {
        let issue = t.send(Call::get(format!("/rest/api/3/issue/{key}")).query("expand", "changelog")).await.unwrap();
        let issue = issue.json().unwrap();
        assert_eq!(issue["fields"]["summary"], "v10", "{key}");
        let mut seen: Vec<&str> = issue["changelog"]["histories"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|h| h["items"].as_array().unwrap())
            .filter(|i| i["field"] == "summary")
            .map(|i| i["toString"].as_str().unwrap())
            .collect();
        seen.dedup();
        let expected: Vec<String> = (1..=10).map(|n| format!("v{n}")).collect();
        assert_eq!(seen, expected, "{key}: edits landed in order");
    }

    let log = sim_log(&s, "emea").await;
    let count = |status: fn(u16) -> bool| log.iter().filter(|e| status(e.status)).count();
    let (limited, failed) = (count(|s| s == 429), count(|s| s >= 500));
    assert!(limited > 0 && failed > 0, "the run met 429s ({limited}) and 5xx ({failed})");
    assert_eq!(t.limiter().state().rate_limited_total, limited as u64, "every 429 paused the limiter");
    let retry_after_ms = probe_retry_after(&s).await;
    assert_eq!(retry_after_ms, 2_000, "the bursts of 429s said Retry-After: 2");
    assert_quiet_after_each_429(&log, LATENCY_MS, retry_after_ms);
    assert_write_rate(&log, RATE, BURST);
    eprintln!("500 writes in {took:?}: {} requests, {limited} x 429, {failed} x 5xx", log.len());
}

/// The Retry-After the simulator sends for a short bucket wait, read from
/// a real 429 (so the quiet-window check does not guess it).
async fn probe_retry_after(s: &Sim) -> i64 {
    faults(s, "emea", json!({"write_rate": {"per_second": 14.0, "burst": 1, "retry_after": 2}})).await;
    let body = json!({"fields": {"summary": "probe"}});
    let first = s.call("emea", "PUT", "/rest/api/3/issue/EMEA-1", Some(&body)).await;
    let second = s.call("emea", "PUT", "/rest/api/3/issue/EMEA-1", Some(&body)).await;
    assert_eq!((first.status, second.status), (204, 429));
    let secs: i64 = second.headers["retry-after"].to_str().unwrap().parse().unwrap();
    secs * 1000
}

#[tokio::test]
async fn a_400_is_returned_at_once_with_jiras_errors() {
    let s = Sim::start().await;
    let t = Transport::new(&instance_config(&s, "emea", 10.0, 5)).unwrap();
    let call =
        Call::put("/rest/api/3/issue/EMEA-1", json!({"fields": {"nonexistent": "x"}})).query("notifyUsers", "false");
    let err = t.send(call).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Status(400));
    assert_eq!(err.call, "PUT /rest/api/3/issue/EMEA-1");
    assert!(err.errors["nonexistent"].contains("cannot be set"), "{err}");
    assert!(!err.is_retriable());
    let log = sim_log(&s, "emea").await;
    assert_eq!(log.len(), 1, "not retried: {log:?}");
}

#[tokio::test]
async fn a_401_is_returned_at_once_and_never_shows_the_credential() {
    let s = Sim::start().await;
    let mut cfg = instance_config(&s, "apac", 10.0, 5);
    cfg.auth = jirafed::config::Auth::Bearer {
        token: jirafed::config::Secret::new("wrong-pat-0123"),
        source: jirafed::config::SecretSource::Inline,
    };
    let t = Transport::new(&cfg).unwrap();
    let err = t.send(Call::get("/rest/api/2/myself")).await.unwrap_err();
    assert_eq!(err.status(), Some(401));
    assert!(!err.messages.is_empty(), "Jira's words are kept: {err:?}");
    assert_eq!(sim_log(&s, "apac").await.len(), 1, "not retried");
    for text in [err.to_string(), format!("{err:?}"), format!("{t:?}")] {
        assert!(!text.contains("wrong-pat-0123"), "{text}");
    }
}

#[tokio::test]
async fn secrets_never_show_in_debug_or_errors() {
    let s = Sim::start().await;
    let t = Transport::new(&instance_config(&s, "emea", 10.0, 5)).unwrap();
    let debug = format!("{t:?}");
    // base64("sync-bot@example.com:sim-token") and its parts.
    for secret in ["sim-token", "c3luYy1ib3RAZXhhbXBsZS5jb206c2ltLXRva2Vu", "Basic", "Authorization"] {
        assert!(!debug.contains(secret), "{debug}");
    }
    let dc = Transport::new(&instance_config(&s, "apac", 10.0, 5)).unwrap();
    assert!(!format!("{dc:?}").contains("sim-pat"));
    // A network error names the call, not the credentials.
    let mut cfg = instance_config(&s, "emea", 10.0, 5);
    cfg.url = "http://127.0.0.1:1".parse().unwrap();
    let dead = Transport::new(&cfg).unwrap().with_retry(quick_retry(2));
    let err = dead.send(Call::get("/rest/api/3/myself")).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Connect, "nothing answers on port 1: {err}");
    assert_eq!(err.call, "GET /rest/api/3/myself");
    for text in [err.to_string(), format!("{err:?}")] {
        assert!(!text.contains("sim-token") && !text.contains("c3luYy1ib3Q"), "{text}");
    }
}

fn quick_retry(max_attempts: usize) -> RetryConfig {
    RetryConfig {
        min_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(50),
        max_attempts,
        max_rate_limited: 5,
    }
}

#[tokio::test]
async fn a_reset_connection_is_retried() {
    let s = Sim::start().await;
    let calls = Calls::default();
    let cfg = instance_config(&s, "emea", 10.0, 5);
    let t = Arc::new(
        Transport::new(&cfg)
            .unwrap()
            .with_retry(RetryConfig { max_attempts: 50, ..quick_retry(50) })
            .with_recorder(calls.recorder()),
    );
    faults(&s, "emea", json!({"reset_rate": 1.0})).await;
    let pending = tokio::spawn({
        let t = t.clone();
        async move { t.send(Call::get("/rest/api/3/myself")).await }
    });
    wait_until(Duration::from_secs(10), "a reset attempt", || {
        let calls = calls.clone();
        async move { calls.all().iter().any(|c| c.status.is_none()).then_some(()) }
    })
    .await;
    faults(&s, "emea", json!({"reset_rate": 0.0})).await;
    let reply = pending.await.unwrap().expect("retried after the reset");
    assert_eq!(reply.json().unwrap()["emailAddress"], "sync-bot@example.com");
    let all = calls.all();
    assert_eq!(all.last().unwrap().status, Some(200));
    assert!(all[..all.len() - 1].iter().all(|c| c.status.is_none()), "{all:?}");
}

#[tokio::test]
async fn retries_stop_after_max_attempts() {
    let s = Sim::start().await;
    let calls = Calls::default();
    let t = Transport::new(&instance_config(&s, "emea", 10.0, 5))
        .unwrap()
        .with_retry(quick_retry(3))
        .with_recorder(calls.recorder());
    faults(&s, "emea", json!({"error_rate": 1.0})).await;
    let err = t.send(Call::get("/rest/api/3/myself")).await.unwrap_err();
    assert!(err.status().is_some_and(|s| s >= 500), "{err}");
    assert_eq!(sim_log(&s, "emea").await.len(), 3);
    faults(&s, "emea", json!({"error_rate": 0.0, "reset_rate": 1.0})).await;
    let err = t.send(Call::get("/rest/api/3/myself")).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Network, "{err}");
    assert_eq!(calls.all().iter().filter(|c| c.status.is_none()).count(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_pauses_every_write_of_the_instance_but_not_reads() {
    let s = Sim::start().await;
    let calls = Calls::default();
    let t = Arc::new(Transport::new(&instance_config(&s, "emea", 50.0, 5)).unwrap().with_recorder(calls.recorder()));
    faults(&s, "emea", json!({"write_rate": {"per_second": 1.0, "burst": 1}})).await;
    t.send(edit("EMEA-1", "first")).await.unwrap();
    let limited = tokio::spawn({
        let t = t.clone();
        async move { t.send(edit("EMEA-2", "second")).await }
    });
    wait_until(Duration::from_secs(5), "a 429", || {
        let calls = calls.clone();
        async move { calls.all().iter().any(|c| c.status == Some(429)).then_some(()) }
    })
    .await;
    let state = t.limiter().state();
    assert!(state.write_paused_until.is_some() && state.read_paused_until.is_none(), "{state:?}");
    assert!(state.last_429.is_some());
    let read_started = Instant::now();
    t.send(Call::get("/rest/api/3/issue/EMEA-1")).await.unwrap();
    assert!(read_started.elapsed() < Duration::from_millis(500), "reads go on during a write pause");
    let other = t.send(edit("EMEA-1", "third")).await;
    limited.await.unwrap().expect("the limited write is retried");
    other.expect("the other write waited, then went");
    let log = sim_log(&s, "emea").await;
    let writes: Vec<_> = log.iter().filter(|e| e.method == "PUT").cloned().collect();
    assert!(writes.iter().any(|e| e.status == 429));
    // The only read went out during the pause; writes kept quiet for 1 s.
    assert_quiet_after_each_429(&writes, 0, 1000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_per_issue_429_pauses_only_writes_to_that_issue() {
    let s = Sim::start().await;
    let calls = Calls::default();
    let t = Arc::new(Transport::new(&instance_config(&s, "emea", 50.0, 5)).unwrap().with_recorder(calls.recorder()));
    faults(&s, "emea", json!({"issue_write_rate": {"per_second": 0.5, "burst": 1}})).await;
    t.send(edit("EMEA-1", "first")).await.unwrap();
    let limited = tokio::spawn({
        let t = t.clone();
        async move { t.send(edit("EMEA-1", "second")).await }
    });
    wait_until(Duration::from_secs(5), "a 429", || {
        let calls = calls.clone();
        async move { calls.all().iter().any(|c| c.status == Some(429)).then_some(()) }
    })
    .await;
    let state = t.limiter().state();
    assert_eq!((state.paused_issues, state.write_paused_until), (1, None), "{state:?}");
    let other_started = Instant::now();
    t.send(edit("EMEA-2", "elsewhere")).await.unwrap();
    assert!(other_started.elapsed() < Duration::from_millis(500), "other issues are not held up");
    limited.await.unwrap().expect("retried after the issue's pause");
    let log = sim_log(&s, "emea").await;
    let hit = log.iter().find(|e| e.status == 429).unwrap();
    assert!(hit.path.ends_with("/issue/EMEA-1"), "{hit:?}");
    let retry = log.iter().rfind(|e| e.path == hit.path).unwrap();
    assert_eq!(retry.status, 204);
    assert!(retry.at_ms >= hit.at_ms + 2000 - SLACK_MS, "Retry-After 2 s honoured: {log:?}");
    let other = log.iter().find(|e| e.path.ends_with("EMEA-2")).unwrap();
    assert!(other.at_ms < retry.at_ms);
}

/// A stand-in site that records each request and answers the first `busy`
/// ones 503 with `Retry-After: 1`, then `{"ok": true}`.
#[derive(Clone, Default)]
struct Stub {
    seen: Arc<Mutex<Vec<(Instant, axum::http::Uri, axum::http::HeaderMap)>>>,
}

impl Stub {
    async fn start(busy: usize) -> (Stub, std::net::SocketAddr) {
        use axum::http::{HeaderMap, StatusCode, Uri};
        use axum::response::IntoResponse;
        let stub = Stub::default();
        let seen = stub.seen.clone();
        let app = axum::Router::new().fallback(move |uri: Uri, headers: HeaderMap| async move {
            let n = {
                let mut seen = seen.lock().unwrap();
                seen.push((Instant::now(), uri, headers));
                seen.len()
            };
            if n <= busy {
                (StatusCode::SERVICE_UNAVAILABLE, [("retry-after", "1")], "busy").into_response()
            } else {
                axum::Json(json!({"ok": true})).into_response()
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        (stub, addr)
    }

    async fn transport(addr: std::net::SocketAddr, path: &str) -> Transport {
        let s = Sim::start().await;
        let mut cfg = instance_config(&s, "apac", 10.0, 5);
        cfg.url = format!("http://{addr}{path}").parse().unwrap();
        Transport::new(&cfg).unwrap()
    }
}

#[tokio::test]
async fn paths_are_appended_to_a_context_path_with_agent_and_auth() {
    let (stub, addr) = Stub::start(0).await;
    let t = Stub::transport(addr, "/jira").await;
    assert_eq!(t.base_url(), format!("http://{addr}/jira"));
    let reply = t.send_json(Call::get("/rest/api/2/search").query("jql", "project = APAC")).await.unwrap();
    assert_eq!(reply["ok"], true);
    let (_, uri, headers) = stub.seen.lock().unwrap()[0].clone();
    assert_eq!(uri.path(), "/jira/rest/api/2/search");
    assert_eq!(uri.query(), Some("jql=project+%3D+APAC"));
    assert_eq!(headers["authorization"], "Bearer sim-pat");
    assert_eq!(headers["user-agent"], concat!("jirafed/", env!("CARGO_PKG_VERSION")));
    assert!(headers["accept-encoding"].to_str().unwrap().contains("gzip"));
}

#[tokio::test]
async fn a_503_retry_after_is_honoured() {
    let (stub, addr) = Stub::start(1).await;
    let t = Stub::transport(addr, "").await.with_retry(quick_retry(3));
    assert_eq!(t.send_json(Call::get("/rest/api/2/myself")).await.unwrap()["ok"], true);
    let seen = stub.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 2);
    let gap = seen[1].0 - seen[0].0;
    assert!(gap >= Duration::from_secs(1), "the retry waited for Retry-After, not the 10 ms backoff: {gap:?}");
}

/// A public root certificate (ISRG Root X1), to show a valid file is taken.
const VALID_PEM: &str = concat!(
    "-----BEGIN CERTIFICATE-----\n",
    "MIIFazCCA1OgAwIBAgIRAIIQz7DSQONZRGPgu2OCiwAwDQYJKoZIhvcNAQELBQAw\n",
    "TzELMAkGA1UEBhMCVVMxKTAnBgNVBAoTIEludGVybmV0IFNlY3VyaXR5IFJlc2Vh\n",
    "cmNoIEdyb3VwMRUwEwYDVQQDEwxJU1JHIFJvb3QgWDEwHhcNMTUwNjA0MTEwNDM4\n",
    "WhcNMzUwNjA0MTEwNDM4WjBPMQswCQYDVQQGEwJVUzEpMCcGA1UEChMgSW50ZXJu\n",
    "ZXQgU2VjdXJpdHkgUmVzZWFyY2ggR3JvdXAxFTATBgNVBAMTDElTUkcgUm9vdCBY\n",
    "MTCCAiIwDQYJKoZIhvcNAQEBBQADggIPADCCAgoCggIBAK3oJHP0FDfzm54rVygc\n",
    "h77ct984kIxuPOZXoHj3dcKi/vVqbvYATyjb3miGbESTtrFj/RQSa78f0uoxmyF+\n",
    "0TM8ukj13Xnfs7j/EvEhmkvBioZxaUpmZmyPfjxwv60pIgbz5MDmgK7iS4+3mX6U\n",
    "A5/TR5d8mUgjU+g4rk8Kb4Mu0UlXjIB0ttov0DiNewNwIRt18jA8+o+u3dpjq+sW\n",
    "T8KOEUt+zwvo/7V3LvSye0rgTBIlDHCNAymg4VMk7BPZ7hm/ELNKjD+Jo2FR3qyH\n",
    "B5T0Y3HsLuJvW5iB4YlcNHlsdu87kGJ55tukmi8mxdAQ4Q7e2RCOFvu396j3x+UC\n",
    "B5iPNgiV5+I3lg02dZ77DnKxHZu8A/lJBdiB3QW0KtZB6awBdpUKD9jf1b0SHzUv\n",
    "KBds0pjBqAlkd25HN7rOrFleaJ1/ctaJxQZBKT5ZPt0m9STJEadao0xAH0ahmbWn\n",
    "OlFuhjuefXKnEgV4We0+UXgVCwOPjdAvBbI+e0ocS3MFEvzG6uBQE3xDk3SzynTn\n",
    "jh8BCNAw1FtxNrQHusEwMFxIt4I7mKZ9YIqioymCzLq9gwQbooMDQaHWBfEbwrbw\n",
    "qHyGO0aoSCqI3Haadr8faqU9GY/rOPNk3sgrDQoo//fb4hVC1CLQJ13hef4Y53CI\n",
    "rU7m2Ys6xt0nUW7/vGT1M0NPAgMBAAGjQjBAMA4GA1UdDwEB/wQEAwIBBjAPBgNV\n",
    "HRMBAf8EBTADAQH/MB0GA1UdDgQWBBR5tFnme7bl5AFzgAiIyBpY9umbbjANBgkq\n",
    "hkiG9w0BAQsFAAOCAgEAVR9YqbyyqFDQDLHYGmkgJykIrGF1XIpu+ILlaS/V9lZL\n",
    "ubhzEFnTIZd+50xx+7LSYK05qAvqFyFWhfFQDlnrzuBZ6brJFe+GnY+EgPbk6ZGQ\n",
    "3BebYhtF8GaV0nxvwuo77x/Py9auJ/GpsMiu/X1+mvoiBOv/2X/qkSsisRcOj/KK\n",
    "NFtY2PwByVS5uCbMiogziUwthDyC3+6WVwW6LLv3xLfHTjuCvjHIInNzktHCgKQ5\n",
    "ORAzI4JMPJ+GslWYHb4phowim57iaztXOoJwTdwJx4nLCgdNbOhdjsnvzqvHu7Ur\n",
    "TkXWStAmzOVyyghqpZXjFaH3pO3JLF+l+/+sKAIuvtd7u+Nxe5AW0wdeRlN8NwdC\n",
    "jNPElpzVmbUq4JUagEiuTDkHzsxHpFKVK7q4+63SM1N95R1NbdWhscdCb+ZAJzVc\n",
    "oyi3B43njTOQ5yOf+1CceWxG1bQVs5ZufpsMljq4Ui0/1lvh+wjChP4kqKOJ2qxq\n",
    "4RgqsahDYVvTH9w7jXbyLeiNdd8XM2w9U/t7y0Ff/9yi0GE44Za4rF2LN9d11TPA\n",
    "mRGunUHBcnWEvgJBQl9nJEiU0Zsnvgc/ubhPgXRR4Xq37Z0j4r7g1SgEEzwxA57d\n",
    "emyPxgcYxn/eR44/KJ4EBs+lVDR3veyJm+kXQ99b21/+jh5Xos1AnX5iItreGCc=\n",
    "-----END CERTIFICATE-----\n",
);

#[tokio::test]
async fn a_bad_ca_file_is_refused_naming_the_file() {
    let s = Sim::start().await;
    let dir = tempfile::tempdir().unwrap();
    let with_ca = |name: &str, content: Option<&str>| {
        let path = dir.path().join(name);
        if let Some(c) = content {
            std::fs::write(&path, c).unwrap();
        }
        let mut cfg = instance_config(&s, "emea", 10.0, 5);
        cfg.ca_file = Some(path.clone());
        (Transport::new(&cfg), path.display().to_string())
    };
    let (missing, path) = with_ca("missing.pem", None);
    let err = missing.unwrap_err();
    assert!(err.contains(&path) && err.contains("cannot read"), "{err}");
    let (garbage, path) = with_ca("garbage.pem", Some("this is no certificate\n"));
    let err = garbage.unwrap_err();
    assert!(err.contains(&path) && err.contains("no certificate"), "{err}");
    let bad_der = "-----BEGIN CERTIFICATE-----\naGVsbG8gd29ybGQ=\n-----END CERTIFICATE-----\n";
    let (bad, path) = with_ca("bad-der.pem", Some(bad_der));
    let err = bad.unwrap_err();
    assert!(err.contains(&path), "{err}");
    let (good, _) = with_ca("good.pem", Some(VALID_PEM));
    good.expect("a real PEM certificate is accepted");
}
