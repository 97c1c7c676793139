//! The daemon against hostile and slow clients, and webhook authentication
//! by default: the HTTP listener's timeouts and caps, the admin socket's
//! request limit, Jira answers over `response_body_limit`, unsigned and
//! replayed webhooks, and the config rules that go with them.

use std::path::Path;
use std::time::{Duration, Instant};

use jirafed::config::{self, WebhookAuth};
use jirafed::harness::WEBHOOK_SECRET;
use jirafed::jira::client::JiraClient;
use jirafed::jira::{ErrorKind, Transport};
use jirafed::observe::{HttpLimit, WebhookOutcome};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::cli::{jirafed, text};
use super::daemon_http::{issue_updated, sign};
use super::support::stub::quick_retry;
use super::support::world::World;
use super::support::{Sim, instance_config, wait_until};

/// Generous: these bound how long a test may hang, not how long it takes.
const DEADLINE: Duration = Duration::from_secs(10);
const SHORT: Duration = Duration::from_millis(300);

/// Everything the server sends until it closes the connection (or the
/// deadline passes, which fails the test).
async fn read_to_close(stream: &mut TcpStream) -> String {
    let mut got = Vec::new();
    let read = tokio::time::timeout(DEADLINE, async {
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    });
    read.await.expect("the server closes the connection before the deadline");
    String::from_utf8_lossy(&got).into_owned()
}

async fn connect(w: &World) -> TcpStream {
    TcpStream::connect(w.daemon().addr).await.expect("connect to the daemon")
}

/// Posts `body` as a webhook of `instance`, signed with `secret` if given.
async fn post_webhook(
    w: &World,
    instance: &str,
    body: &Value,
    secret: Option<&str>,
    delivery: Option<&str>,
) -> (u16, Value) {
    let bytes = serde_json::to_vec(body).expect("JSON");
    let url = format!("http://{}/webhooks/{instance}", w.daemon().addr);
    let mut req = w.sim.http.post(url).header("content-type", "application/json").body(bytes.clone());
    if let Some(s) = secret {
        req = req.header("X-Hub-Signature", sign(s, &bytes));
    }
    if let Some(d) = delivery {
        req = req.header("X-Atlassian-Webhook-Identifier", d);
    }
    let resp = req.send().await.expect("webhook answered");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

fn limited(w: &World, reason: HttpLimit) -> u64 {
    w.daemon().observer().metrics.http_limited_total(reason)
}

#[tokio::test]
async fn a_client_stalling_in_its_headers_is_cut_off_after_the_header_timeout() {
    let mut w = World::start_with("60s", |c| c.daemon.http.header_timeout = SHORT).await;
    let mut stream = connect(&w).await;
    let started = Instant::now();
    stream.write_all(b"POST /webhooks/hub HTTP/1.1\r\nHost: jirafed\r\nContent-Type: appl").await.expect("write");
    let answer = read_to_close(&mut stream).await;
    assert!(started.elapsed() >= SHORT, "cut off after {:?}", started.elapsed());
    assert!(answer.is_empty() || answer.starts_with("HTTP/1.1 408"), "{answer}");
    wait_until(DEADLINE, "the header timeout counted", || async {
        (limited(&w, HttpLimit::HeaderTimeout) == 1).then_some(())
    })
    .await;
    let metrics = w.sim.http.get(format!("http://{}/metrics", w.daemon().addr)).send().await.expect("metrics");
    let metrics = metrics.text().await.expect("metrics text");
    assert!(metrics.contains("jirafed_http_limited_total{reason=\"header_timeout\"} 1"), "{metrics}");
    assert!(metrics.contains("# TYPE jirafed_http_connections gauge"), "{metrics}");
    w.stop().await;
}

#[tokio::test]
async fn a_slow_body_hits_the_request_timeout() {
    let mut w = World::start_with("60s", |c| c.daemon.http.request_timeout = SHORT).await;
    let mut stream = connect(&w).await;
    let head = "POST /webhooks/hub HTTP/1.1\r\nHost: jirafed\r\nContent-Type: application/json\r\n\
                Content-Length: 1000\r\n\r\n{\"webhookEvent\":";
    stream.write_all(head.as_bytes()).await.expect("write");
    let answer = read_to_close(&mut stream).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.to_ascii_lowercase().contains("connection: close"), "{answer}");
    assert_eq!(limited(&w, HttpLimit::RequestTimeout), 1);
    assert_eq!(w.daemon().store().inbox_depth().expect("inbox"), 0);
    w.stop().await;
}

#[tokio::test]
async fn beyond_the_connection_cap_a_connection_waits_until_one_closes() {
    let mut w = World::start_with("60s", |c| c.daemon.http.max_connections = 2).await;
    let metrics = &w.daemon().observer().metrics;
    let held = [connect(&w).await, connect(&w).await];
    wait_until(DEADLINE, "two connections served", || async { (metrics.http_connections() == 2).then_some(()) }).await;

    let mut third = connect(&w).await;
    third.write_all(b"GET /healthz HTTP/1.1\r\nHost: jirafed\r\nConnection: close\r\n\r\n").await.expect("write");
    let mut buf = [0u8; 64];
    // Not served while the cap is reached: nothing comes back in this time.
    let early = tokio::time::timeout(SHORT, third.read(&mut buf)).await;
    assert!(early.is_err(), "the third connection was served beyond the cap: {early:?}");
    wait_until(DEADLINE, "the cap counted", || async { (limited(&w, HttpLimit::MaxConnections) >= 1).then_some(()) })
        .await;

    drop(held);
    let answer = read_to_close(&mut third).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    w.stop().await;
}

#[tokio::test]
async fn a_connection_is_closed_after_its_request_cap() {
    let mut w = World::start_with("60s", |c| c.daemon.http.max_requests_per_connection = 2).await;
    let mut stream = connect(&w).await;
    let get = b"GET /healthz HTTP/1.1\r\nHost: jirafed\r\n\r\n";
    stream.write_all(get).await.expect("first");
    stream.write_all(get).await.expect("second");
    let answer = read_to_close(&mut stream).await;
    assert_eq!(answer.matches("HTTP/1.1 200").count(), 2, "{answer}");
    assert_eq!(limited(&w, HttpLimit::MaxRequests), 1);
    w.stop().await;
}

#[tokio::test]
async fn an_instance_without_a_secret_refuses_webhooks_unless_unsigned_is_said() {
    let mut w = World::start_with("60s", |c| {
        for id in ["hub", "emea"] {
            c.instances.get_mut(id).expect("instance").webhook_secret = None;
        }
        c.instances.get_mut("emea").expect("emea").webhooks = WebhookAuth::Unsigned;
    })
    .await;
    let metrics = &w.daemon().observer().metrics;
    let body = issue_updated("10040", "PORT-41", 1_550_286_601_840);
    let (status, answer) = post_webhook(&w, "hub", &body, None, None).await;
    assert_eq!(status, 401, "{answer}");
    assert!(answer["error"].as_str().unwrap_or("").contains("no webhook secret"), "{answer}");
    // Signed with some secret changes nothing: there is none to check it with.
    assert_eq!(post_webhook(&w, "hub", &body, Some(WEBHOOK_SECRET), None).await.0, 401);
    assert_eq!(metrics.webhooks_total("hub", WebhookOutcome::Rejected), 2);
    assert_eq!(metrics.webhooks_total("hub", WebhookOutcome::Accepted), 0);
    assert_eq!(w.daemon().store().inbox_depth().expect("inbox"), 0);

    let (status, answer) = post_webhook(&w, "emea", &issue_updated("20001", "EMEA-3", 1), None, None).await;
    assert_eq!(status, 202, "{answer}");
    assert_eq!(metrics.webhooks_total("emea", WebhookOutcome::Accepted), 1);
    w.stop().await;
}

#[tokio::test]
async fn a_replayed_delivery_id_is_dropped_whatever_the_body() {
    let mut w = World::start("60s").await;
    let metrics = &w.daemon().observer().metrics;
    let first = issue_updated("10040", "PORT-41", 1_550_286_601_840);
    let (status, answer) = post_webhook(&w, "hub", &first, Some(WEBHOOK_SECRET), Some("replay-1")).await;
    assert_eq!((status, answer), (202, json!({"accepted": 1, "duplicates": 0})));
    // Another issue, another version, the same delivery id: a replay.
    let other = issue_updated("10041", "PORT-42", 1_550_286_609_999);
    let (status, answer) = post_webhook(&w, "hub", &other, Some(WEBHOOK_SECRET), Some("replay-1")).await;
    assert_eq!((status, answer), (200, json!({"accepted": 0, "duplicates": 1})));
    assert_eq!(metrics.webhooks_total("hub", WebhookOutcome::Duplicate), 1);
    // The same body under a new id is a new delivery (of a version seen: a duplicate change).
    let (status, answer) = post_webhook(&w, "hub", &other, Some(WEBHOOK_SECRET), Some("replay-2")).await;
    assert_eq!((status, answer), (202, json!({"accepted": 1, "duplicates": 0})));
    w.stop().await;
}

/// The demo config written into `dir`, with `from` replaced by `to`.
fn demo_config_with(dir: &Path, edits: &[(&str, &str)]) -> std::path::PathBuf {
    let path = jirafed::harness::write_config(dir).expect("demo config");
    let mut toml = std::fs::read_to_string(&path).expect("read");
    for (from, to) in edits {
        assert!(toml.contains(from), "no {from:?} in the demo config");
        toml = toml.replacen(from, to, 1);
    }
    std::fs::write(&path, toml).expect("write");
    path
}

const HUB_SECRET_LINE: &str = "webhook_secret_file = \"demo-secrets/webhook-secret\"";

#[test]
fn unsigned_webhooks_and_http_urls_get_warnings_from_check() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = demo_config_with(
        dir.path(),
        &[
            (HUB_SECRET_LINE, "webhooks = \"unsigned\""),
            ("url = \"http://127.0.0.1:8802\"", "url = \"http://jira.example.com\""),
        ],
    );
    let out = jirafed(&["check", "--offline", "--config", &path.display().to_string()], &[]);
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    assert!(t.contains("instances.hub.webhooks") && t.contains("unsigned"), "{t}");
    assert!(t.contains("instances.emea.url") && t.contains("clear"), "{t}");
    assert!(!t.contains("instances.apac.url"), "loopback http is not warned: {t}");
}

#[test]
fn a_short_empty_or_contradicted_webhook_secret_is_a_config_error_naming_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = demo_config_with(dir.path(), &[]);
    std::fs::write(dir.path().join("demo-secrets/webhook-secret"), "tiny-S3CRET\n").expect("write");
    let err = config::load_with(&path, &[], &|_: &str| None).expect_err("a short secret is refused").to_string();
    for id in ["hub", "emea", "apac"] {
        assert!(err.contains(&format!("instances.{id}.webhook_secret_file")), "{err}");
    }
    assert!(err.contains("11 bytes") && err.contains("at least 16"), "{err}");
    assert!(!err.contains("tiny-S3CRET"), "the secret leaked: {err}");

    let path = demo_config_with(
        dir.path(),
        &[
            (HUB_SECRET_LINE, "webhook_secret = \"\""),
            ("auth = { bearer_file", "webhooks = \"unsigned\"\nauth = { bearer_file"),
        ],
    );
    std::fs::write(dir.path().join("demo-secrets/webhook-secret"), WEBHOOK_SECRET).expect("write");
    let err = config::load_with(&path, &[], &|_: &str| None).expect_err("refused").to_string();
    assert!(err.contains("instances.hub.webhook_secret") && err.contains("is empty"), "{err}");
    assert!(err.contains("instances.apac.webhooks") && err.contains("conflicts with webhook_secret_file"), "{err}");
}

#[tokio::test]
async fn a_jira_answer_over_the_body_limit_is_a_clear_permanent_error() {
    let sim = Sim::start().await;
    let faults = json!({"huge_body_bytes": 2 * 1024 * 1024});
    assert_eq!(sim.control("emea", "POST", "/_sim/faults", Some(&faults)).await.status, 200);
    let cfg = config::InstanceConfig { response_body_limit: 64 * 1024, ..instance_config(&sim, "emea", 10.0, 10) };
    let transport = Transport::new(&cfg).expect("transport").with_retry(quick_retry(4));
    let client = JiraClient::from_transport(cfg.id.clone(), cfg.flavour, transport);
    let err = client.myself().await.expect_err("too large");
    assert_eq!(err.kind, ErrorKind::TooLarge(64 * 1024));
    assert!(!err.is_retriable());
    let text = err.to_string();
    assert!(text.contains("response_body_limit") && text.contains("65536 bytes"), "{text}");
    let requests = sim.stats("emea").await["requests"].clone();
    let myself: u64 = requests
        .as_object()
        .expect("requests")
        .iter()
        .filter(|(k, _)| k.contains("myself"))
        .map(|(_, v)| v.as_u64().unwrap_or(0))
        .sum();
    assert_eq!(myself, 1, "not retried: {requests}");

    // Within the limit, the padded answer reads as usual.
    let cfg = config::InstanceConfig { response_body_limit: 4 * 1024 * 1024, ..cfg };
    let client = JiraClient::from_transport(cfg.id.clone(), cfg.flavour, Transport::new(&cfg).expect("transport"));
    client.myself().await.expect("a padded answer under the limit is read");
}

#[cfg(unix)]
#[tokio::test]
async fn the_admin_socket_refuses_oversized_and_slow_requests() {
    use tokio::io::AsyncBufReadExt;
    use tokio::net::UnixStream;

    let mut w = World::start_with("60s", |c| c.daemon.admin_timeout = SHORT).await;
    let socket = w.cfg.daemon.admin_socket.clone();
    let reply = |stream: UnixStream| async move {
        let mut line = String::new();
        let mut reader = tokio::io::BufReader::new(stream);
        tokio::time::timeout(DEADLINE, reader.read_line(&mut line)).await.expect("answered").expect("read");
        serde_json::from_str::<Value>(&line).expect("JSON answer")
    };

    let mut big = UnixStream::connect(&socket).await.expect("connect");
    let request = vec![b' '; 70 * 1024];
    big.write_all(&request).await.expect("write");
    let answer = reply(big).await;
    assert!(answer["error"].as_str().unwrap_or("").contains("larger than 65536 bytes"), "{answer}");

    let slow = UnixStream::connect(&socket).await.expect("connect");
    let started = Instant::now();
    let answer = reply(slow).await;
    assert!(started.elapsed() >= SHORT);
    assert!(answer["error"].as_str().unwrap_or("").contains("not received within"), "{answer}");

    // A request of the usual size still works.
    let listed = jirafed::admin::call(&socket, &jirafed::admin::Request::DeadLetters).await.expect("admin call");
    assert_eq!(listed["dead_letters"], json!([]));
    w.stop().await;
}
