//! The daemon's HTTP face over a real loopback listener: webhook intake
//! (signatures, limits, dedupe, durability before the answer), probes,
//! status, metrics and the page.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use hmac::{Hmac, Mac};
use jirafed::clock::Clock;
use jirafed::config::{self, Config};
use jirafed::http::{HttpState, serve};
use jirafed::ids::InstanceId;
use jirafed::jira::webhook::{self, Subject};
use jirafed::observe::{Observer, WebhookOutcome};
use jirafed::store::{InboxEntry, StorageFaults, Store, StoreOptions};
use jirafed::sync::change::{Change, ChangeKind, ChangeSource};
use jirafed::sync::intake;
use serde_json::{Value, json};
use sha2::Sha256;
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::support::reference_dir;

const HUB_SECRET: &str = "hub-webhook-S3CRET-value";
const BODY_LIMIT: usize = 64 * 1024;

const CONFIG: &str = r#"
[daemon]
state_dir = "state"
listen = "127.0.0.1:0"
webhook_body_limit = 65536

[instances.hub]
role = "primary"
flavour = "cloud"
url = "https://acme.atlassian.net/"
auth = { email = "sync-bot@acme.com", token_file = "hub-token" }
webhook_secret_file = "hub-webhook-secret"

[instances.emea]
role = "secondary"
flavour = "datacenter"
url = "https://jira.emea.acme.internal/jira/"
auth = { bearer_file = "emea-pat" }
webhooks = "unsigned"

[[flows]]
name = "emea-delivery"
secondary = "emea"
scope = "project = EMEA"
primary_project = "PORT"

  [[flows.fields]]
  secondary = "summary"
  primary = "summary"
  direction = "both"
"#;

/// The HTTP face alone (no engine) on a fresh store and a free port.
struct Face {
    _dir: tempfile::TempDir,
    config: Arc<Config>,
    store: Store,
    observer: Arc<Observer>,
    wake: Arc<Notify>,
    base: String,
    http: reqwest::Client,
    cancel: CancellationToken,
    server: JoinHandle<()>,
}

fn write_private(path: &Path, text: &str) {
    std::fs::write(path, text).expect("write secret");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    }
}

impl Face {
    async fn start() -> Face {
        Face::start_with(StoreOptions::default()).await
    }

    /// [`Face::start`] on a store opened with `options` (injected faults).
    async fn start_with(options: StoreOptions) -> Face {
        let dir = tempfile::tempdir().expect("tempdir");
        for (name, value) in
            [("hub-token", "hub-token-value"), ("emea-pat", "emea-pat-value"), ("hub-webhook-secret", HUB_SECRET)]
        {
            write_private(&dir.path().join(name), &format!("{value}\n"));
        }
        let path = dir.path().join("jirafed.toml");
        std::fs::write(&path, CONFIG).expect("write config");
        let config = Arc::new(config::load_with(&path, &[], &|_: &str| None).expect("valid config"));
        let store = Store::open_with(&config.daemon.state_dir, options).expect("store opens");
        let observer = Arc::new(Observer::new(&config));
        let wake = Arc::new(Notify::new());
        let state = HttpState {
            config: Arc::new(jirafed::current::Current::new(config.clone())),
            store: store.clone(),
            observer: observer.clone(),
            wake: wake.clone(),
            clock: Clock::system(),
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let cancel = CancellationToken::new();
        let server = tokio::spawn(serve(listener, state, cancel.clone()));
        Face { _dir: dir, config, store, observer, wake, base, http: reqwest::Client::new(), cancel, server }
    }

    /// Posts `body` as a webhook of `instance`, signed with `secret` when
    /// given, with `headers` added.
    async fn post(&self, instance: &str, body: &[u8], secret: Option<&str>, headers: &[(&str, &str)]) -> (u16, Value) {
        let mut req = self
            .http
            .post(format!("{}/webhooks/{instance}", self.base))
            .header("content-type", "application/json")
            .body(body.to_vec());
        if let Some(secret) = secret {
            req = req.header("X-Hub-Signature", sign(secret, body));
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let resp = req.send().await.expect("webhook request");
        let status = resp.status().as_u16();
        let text = resp.text().await.expect("body");
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    /// A signed webhook of `hub`.
    async fn hub(&self, body: &Value, headers: &[(&str, &str)]) -> (u16, Value) {
        self.post("hub", &serde_json::to_vec(body).unwrap(), Some(HUB_SECRET), headers).await
    }

    async fn get(&self, path: &str) -> reqwest::Response {
        self.http.get(format!("{}{path}", self.base)).send().await.expect("GET")
    }

    async fn get_json(&self, path: &str) -> (u16, Value) {
        let resp = self.get(path).await;
        (resp.status().as_u16(), resp.json().await.expect("JSON body"))
    }

    fn inbox(&self) -> Vec<InboxEntry> {
        self.store.inbox_batch(10_000).expect("inbox reads")
    }

    async fn stop(self) {
        self.cancel.cancel();
        tokio::time::timeout(Duration::from_secs(10), self.server)
            .await
            .expect("server stops on cancel")
            .expect("server task");
    }
}

pub(super) fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

pub(super) fn issue_updated(id: &str, key: &str, timestamp: i64) -> Value {
    json!({
        "timestamp": timestamp,
        "webhookEvent": "jira:issue_updated",
        "issue_event_type_name": "issue_updated",
        "issue": {"id": id, "key": key, "self": format!("https://acme.atlassian.net/rest/api/2/issue/{id}"),
                  "fields": {"summary": "Bump the widget"}},
        "changelog": {"items": [{"field": "summary", "fieldtype": "jira", "from": null, "fromString": "Old",
                                 "to": null, "toString": "Bump the widget"}]}
    })
}

fn change_of(entry: &InboxEntry) -> Change {
    Change::from_bytes(&entry.payload).expect("inbox payload is a Change")
}

#[tokio::test]
async fn signed_webhook_is_committed_then_acknowledged() {
    let face = Face::start().await;
    let (status, body) = face.hub(&issue_updated("10040", "PORT-41", 1_550_286_601_840), &[]).await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body, json!({"accepted": 1, "duplicates": 0}));

    // Answered only after the commit: the entry is readable right away.
    let inbox = face.inbox();
    assert_eq!(inbox.len(), 1);
    assert_eq!((inbox[0].instance.as_str(), inbox[0].issue.as_str()), ("hub", "10040"));
    let change = change_of(&inbox[0]);
    assert_eq!(change.instance.as_str(), "hub");
    assert_eq!(change.issue_key.as_ref().map(|k| k.as_str()), Some("PORT-41"));
    assert_eq!((change.source, change.kind), (ChangeSource::Webhook, ChangeKind::Updated));
    // The planner was woken (a stored permit: returns at once).
    tokio::time::timeout(Duration::from_secs(5), face.wake.notified()).await.expect("planner woken");
    assert!(face.observer.board.instance("hub").unwrap().last_webhook_ms.is_some());

    // A link event names both ends.
    let link = json!({"timestamp": 1_544_000_000_000_i64, "webhookEvent": "issuelink_created",
        "issueLink": {"id": 10300, "sourceIssueId": 11442, "destinationIssueId": 11961,
                      "issueLinkType": {"id": 10003, "name": "Relates"}}});
    let (status, body) = face.hub(&link, &[]).await;
    assert_eq!((status, &body), (202, &json!({"accepted": 2, "duplicates": 0})));
    let issues: Vec<String> = face.inbox().iter().map(|e| e.issue.clone()).collect();
    assert_eq!(issues, ["10040", "11442", "11961"]);
    face.stop().await;
}

/// A full disk: the webhook is answered 503 (Jira delivers it again) and
/// nothing is acknowledged; `/readyz` and `/status` name the store; once
/// space is back the store recovers by itself and the delivery is taken.
#[tokio::test]
async fn while_the_store_cannot_commit_webhooks_get_503_and_readyz_names_it() {
    let faults = StorageFaults::new();
    let face = Face::start_with(StoreOptions { faults: Some(faults.clone()), ..StoreOptions::default() }).await;
    let body = issue_updated("10040", "PORT-41", 1_550_286_601_840);
    faults.set_disk_full(true);
    let (status, answer) = face.hub(&body, &[]).await;
    assert_eq!(status, 503, "{answer}");
    let (status, ready) = face.get_json("/readyz").await;
    assert_eq!(status, 503, "{ready}");
    let reason = ready["reasons"]["store"].as_str().unwrap_or_default();
    assert!(reason.contains("jirafed.redb") && reason.to_lowercase().contains("space"), "{ready}");
    let (_, doc) = face.get_json("/status").await;
    assert_eq!(doc["store"]["state"], "recovering", "{doc}");
    let (status, _) = face.hub(&body, &[]).await;
    assert_eq!(status, 503, "still full");

    faults.set_disk_full(false);
    super::support::wait_until(Duration::from_secs(20), "the store to recover", || async {
        let (_, doc) = face.get_json("/status").await;
        (doc["store"]["state"] == "ready").then_some(())
    })
    .await;
    let (_, ready) = face.get_json("/readyz").await;
    assert!(ready["reasons"].get("store").is_none(), "{ready}");
    let (status, answer) = face.hub(&body, &[]).await;
    assert_eq!(status, 202, "{answer}");
    assert_eq!(face.inbox().len(), 1, "the redelivery is stored once");
    let (_, doc) = face.get_json("/status").await;
    assert_eq!(doc["store"]["recoveries"], 1, "{doc}");
    assert!(doc["store"]["last_error"].as_str().is_some(), "the last failure stays visible: {doc}");
    face.stop().await;
}

#[tokio::test]
async fn bad_or_missing_signature_is_401_and_stores_nothing() {
    let face = Face::start().await;
    let body = serde_json::to_vec(&issue_updated("10040", "PORT-41", 1)).unwrap();
    let cases: [(&str, Option<String>); 5] = [
        ("missing", None),
        ("wrong secret", Some(sign("not the secret", &body))),
        ("other body", Some(sign(HUB_SECRET, b"{}"))),
        ("unsupported method", Some(sign(HUB_SECRET, &body).replace("sha256=", "sha1="))),
        ("not hex", Some("sha256=xyz".to_string())),
    ];
    for (what, signature) in cases {
        let mut req = face.http.post(format!("{}/webhooks/hub", face.base)).body(body.clone());
        if let Some(s) = &signature {
            req = req.header("X-Hub-Signature", s);
        }
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status(), 401, "{what}");
        let text = resp.text().await.unwrap();
        assert!(text.contains("X-Hub-Signature"), "{what}: {text}");
        assert!(!text.contains(HUB_SECRET), "{what}: the secret leaked");
    }
    assert!(face.inbox().is_empty());
    assert_eq!(face.observer.metrics.webhooks_total("hub", WebhookOutcome::Rejected), 5);
    face.stop().await;
}

#[tokio::test]
async fn refusals_unknown_instance_malformed_and_oversized() {
    let face = Face::start().await;
    let good = serde_json::to_vec(&issue_updated("1", "A-1", 1)).unwrap();

    let (status, body) = face.post("nowhere", &good, None, &[]).await;
    assert_eq!(status, 404, "{body}");
    assert!(body["error"].as_str().unwrap().contains("nowhere"));

    let (status, body) = face.post("emea", b"{\"webhookEvent\": ", None, &[]).await;
    assert_eq!(status, 400, "{body}");
    assert!(body["error"].as_str().unwrap().contains("malformed JSON"));
    let (status, _) = face.post("hub", b"not json", Some(HUB_SECRET), &[]).await;
    assert_eq!(status, 400, "signed but malformed");

    let no_id = json!({"webhookEvent": "jira:issue_updated", "issue": {"key": "A-1"}});
    let (status, body) = face.hub(&no_id, &[]).await;
    assert_eq!(status, 400);
    assert!(body["error"].as_str().unwrap().contains("issue.id is missing"), "{body}");

    let mut huge = issue_updated("1", "A-1", 1);
    huge["issue"]["fields"]["description"] = Value::String("x".repeat(BODY_LIMIT + 1));
    let huge = serde_json::to_vec(&huge).unwrap();
    let (status, _) = face.post("hub", &huge, Some(HUB_SECRET), &[]).await;
    assert_eq!(status, 413);
    let (status, _) = face.post("emea", &huge, None, &[]).await;
    assert_eq!(status, 413);

    assert!(face.inbox().is_empty(), "nothing of a refused request is stored");
    face.stop().await;
}

#[tokio::test]
async fn unused_events_are_acknowledged_and_not_stored() {
    let face = Face::start().await;
    let project = reference_json_bytes("webhooks/mobitel/project-created.json");
    let (status, body) = face.post("hub", &project, Some(HUB_SECRET), &[]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["ignored"], true);
    let worklog = json!({"timestamp": 1, "webhookEvent": "worklog_created", "worklog": {"issueId": "10040"}});
    assert_eq!(face.hub(&worklog, &[]).await.0, 200);
    assert!(face.inbox().is_empty());
    face.stop().await;
}

#[tokio::test]
async fn the_same_delivery_twice_is_stored_once() {
    let face = Face::start().await;
    let body = issue_updated("10040", "PORT-41", 7);
    let header = [("X-Atlassian-Webhook-Identifier", "c0ffee-1")];
    assert_eq!(face.hub(&body, &header).await, (202, json!({"accepted": 1, "duplicates": 0})));
    assert_eq!(face.hub(&body, &header).await, (200, json!({"accepted": 0, "duplicates": 1})));
    assert_eq!(face.inbox().len(), 1);

    // A retry identified by header and another delivery of the same issue.
    let other = [("X-Atlassian-Webhook-Identifier", "c0ffee-2")];
    assert_eq!(face.hub(&body, &other).await.0, 202);
    // Without the header, the same event + issue + timestamp is one delivery.
    let later = issue_updated("10040", "PORT-41", 8);
    assert_eq!(face.hub(&later, &[]).await.0, 202);
    assert_eq!(face.hub(&later, &[]).await.0, 200);
    assert_eq!(face.inbox().len(), 3);
    face.stop().await;
}

#[tokio::test]
async fn an_instance_with_unsigned_webhooks_accepts_unsigned_bodies() {
    let face = Face::start().await;
    let body = serde_json::to_vec(&issue_updated("20001", "EMEA-3", 1)).unwrap();
    let (status, resp) = face.post("emea", &body, None, &[]).await;
    assert_eq!(status, 202, "{resp}");
    let inbox = face.inbox();
    assert_eq!((inbox.len(), inbox[0].instance.as_str()), (1, "emea"));
    face.stop().await;
}

fn reference_json_bytes(rel: &str) -> Vec<u8> {
    std::fs::read(reference_dir().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn reference_webhooks() -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut dirs = vec![reference_dir().join("webhooks")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("webhooks dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "json") {
                out.push((path.display().to_string(), std::fs::read(&path).expect("read")));
            }
        }
    }
    out.sort();
    out
}

/// Real bodies, byte for byte as captured, through the signed endpoint.
#[tokio::test]
async fn real_reference_bodies_are_accepted() {
    let face = Face::start().await;
    let bodies = reference_webhooks();
    assert!(bodies.len() >= 40, "found {} reference webhooks", bodies.len());
    let (mut accepted, mut expected_changes) = (0, 0);
    for (name, bytes) in &bodies {
        let (status, resp) = face.post("hub", bytes, Some(HUB_SECRET), &[]).await;
        assert!(matches!(status, 200 | 202), "{name}: {status} {resp}");
        let event = webhook::parse(bytes).unwrap();
        if event.subject == Subject::Ignored {
            assert_eq!(resp["ignored"], true, "{name}");
            continue;
        }
        let changes = intake::changes(&InstanceId::new("hub"), &event, 0);
        let (a, d) = (resp["accepted"].as_u64().unwrap(), resp["duplicates"].as_u64().unwrap());
        assert_eq!(a + d, changes.len() as u64, "{name}: {resp}");
        accepted += a;
        expected_changes += changes.len() as u64;
    }
    let inbox = face.inbox();
    assert_eq!(inbox.len() as u64, accepted);
    assert!(accepted > 20 && accepted <= expected_changes, "{accepted} of {expected_changes}");
    assert!(inbox.iter().all(|e| e.instance == "hub" && change_of(e).source == ChangeSource::Webhook));
    face.stop().await;
}

#[tokio::test]
async fn healthz_and_readyz() {
    let face = Face::start().await;
    assert_eq!(face.get_json("/healthz").await, (200, json!({"status": "ok"})));

    let (status, body) = face.get_json("/readyz").await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["ready"], false);
    let reasons = body["reasons"].as_object().unwrap();
    assert_eq!(reasons.keys().collect::<Vec<_>>(), ["instances.emea", "instances.hub"]);

    let now = chrono::Utc::now().timestamp_millis();
    face.observer.board.record_auth("hub", true, now, None);
    let (status, body) = face.get_json("/readyz").await;
    assert_eq!(status, 503);
    assert_eq!(body["reasons"].as_object().unwrap().keys().collect::<Vec<_>>(), ["instances.emea"]);

    face.observer.board.record_auth("emea", true, now, None);
    assert_eq!(face.get_json("/readyz").await, (200, json!({"ready": true})));

    // An auth failure or stale auth makes it unready again.
    face.observer.board.record_auth("emea", false, now, Some("401 from /myself".into()));
    let (status, body) = face.get_json("/readyz").await;
    assert_eq!(status, 503);
    assert!(body["reasons"]["instances.emea"].as_str().unwrap().contains("401 from /myself"), "{body}");
    face.stop().await;
}

#[tokio::test]
async fn status_has_instances_flows_and_totals() {
    let face = Face::start().await;
    face.hub(&issue_updated("10040", "PORT-41", 1), &[]).await;
    let now = chrono::Utc::now().timestamp_millis();
    face.observer.board.record_poll("emea", now, now - 30_000);
    face.observer.board.set_flow_links("emea-delivery", 4);
    let note = jirafed::mapping::ConflictNote {
        key: "summary".into(),
        secondary: jirafed::mapping::Value::Text("a".into()),
        primary: jirafed::mapping::Value::Text("b".into()),
        winner: jirafed::mapping::Site::Primary,
    };
    let record = jirafed::observe::ConflictRecord::new("emea-delivery", &note, "EMEA-1", "PORT-1", now);
    face.observer.board.record_conflict("emea-delivery", record);

    let (status, s) = face.get_json("/status").await;
    assert_eq!(status, 200);
    for key in ["instances", "flows", "inbox_depth", "links", "version"] {
        assert!(s.get(key).is_some(), "/status lacks {key}: {s}");
    }
    assert_eq!(s["inbox_depth"], 1);
    let hub = &s["instances"]["hub"];
    for key in [
        "role",
        "flavour",
        "reachable",
        "auth",
        "last_poll",
        "last_webhook",
        "poll_lag_seconds",
        "outbox_depth",
        "dead_letters",
        "rate_limit",
        "paused_until",
        "last_error",
    ] {
        assert!(hub.get(key).is_some(), "instance lacks {key}: {hub}");
    }
    assert_eq!((hub["role"].as_str(), hub["flavour"].as_str()), (Some("primary"), Some("cloud")));
    assert!(hub["last_webhook"].as_str().unwrap().ends_with('Z'), "RFC 3339: {hub}");
    let emea = &s["instances"]["emea"];
    assert_eq!(emea["auth"], true);
    let lag = emea["poll_lag_seconds"].as_f64().unwrap();
    assert!((30.0..60.0).contains(&lag), "{lag}");
    let flow = &s["flows"]["emea-delivery"];
    assert_eq!((flow["links"].as_u64(), flow["conflicts"].as_u64()), (Some(4), Some(1)));
    assert!(flow.get("last_error").is_some() && flow.get("last_sync").is_some());
    face.stop().await;
}

#[tokio::test]
async fn metrics_are_prometheus_text_and_count_webhooks() {
    let face = Face::start().await;
    face.hub(&issue_updated("10040", "PORT-41", 1), &[]).await;
    face.hub(&issue_updated("10040", "PORT-41", 1), &[]).await;
    face.post("hub", b"{}", None, &[]).await;
    face.observer.metrics.call_latency("hub", "search", "ok", 0.3);
    face.observer.metrics.propagation("emea-delivery", 2.5);
    // A family is listed once it has a sample: a write, a poll, a client.
    face.observer.metrics.write("hub", "create", jirafed::observe::WriteOutcome::Ok);
    let now = Clock::system().now_ms();
    face.observer.board.record_poll("emea", now, now - 4_000);
    let limiter = jirafed::jira::Limiter::new(10.0, 5.0, 10, 8).state();
    let probe = Arc::new(move || jirafed::jira::SiteHealth { limiter: Some(limiter.clone()), ..Default::default() });
    face.observer.board.register_instance("hub", config::Role::Primary, config::Flavour::Cloud, probe);

    let resp = face.get("/metrics").await;
    assert_eq!(resp.status(), 200);
    let content_type = resp.headers()["content-type"].to_str().unwrap().to_string();
    assert!(content_type.starts_with("text/plain; version=0.0.4"), "{content_type}");
    let text = resp.text().await.unwrap();
    let mut samples = std::collections::BTreeMap::new();
    for line in text.lines() {
        if line.is_empty() || line.starts_with('#') {
            assert!(line.is_empty() || line.starts_with("# HELP ") || line.starts_with("# TYPE "), "{line}");
            continue;
        }
        let (series, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("not `name value`: {line}"));
        let name = series.split('{').next().unwrap();
        assert!(!name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'), "{line}");
        if let Some(labels) = series.strip_prefix(name).filter(|l| !l.is_empty()) {
            assert!(labels.starts_with('{') && labels.ends_with('}'), "{line}");
            for pair in labels[1..labels.len() - 1].split("\",") {
                let (k, v) = pair.split_once("=\"").unwrap_or_else(|| panic!("label in {line}"));
                assert!(k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'), "{line}");
                assert!(!v.trim_end_matches('"').contains('"') || v.contains("\\\""), "{line}");
            }
        }
        assert!(value.parse::<f64>().is_ok() || value == "+Inf", "{line}");
        samples.insert(series.to_string(), value.to_string());
    }
    let get = |series: &str| samples.get(series).map(String::as_str);
    assert_eq!(get(r#"jirafed_webhooks_total{instance="hub",outcome="accepted"}"#), Some("1"));
    assert_eq!(get(r#"jirafed_webhooks_total{instance="hub",outcome="duplicate"}"#), Some("1"));
    assert_eq!(get(r#"jirafed_webhooks_total{instance="hub",outcome="rejected"}"#), Some("1"));
    assert_eq!(get(r#"jirafed_changes_total{instance="hub",source="webhook"}"#), Some("1"));
    assert_eq!(get("jirafed_inbox_depth"), Some("1"));
    assert_eq!(get("jirafed_links"), Some("0"));
    assert_eq!(get("jirafed_up"), Some("1"));
    assert_eq!(get(r#"jirafed_outbox_depth{instance="emea"}"#), Some("0"));
    assert_eq!(get(r#"jirafed_dead_letters{instance="hub"}"#), Some("0"));
    assert_eq!(
        get(r#"jirafed_jira_call_seconds_bucket{instance="hub",operation="search",outcome="ok",le="0.5"}"#),
        Some("1")
    );
    assert_eq!(get(r#"jirafed_jira_call_seconds_count{instance="hub",operation="search",outcome="ok"}"#), Some("1"));
    assert_eq!(get(r#"jirafed_propagation_seconds_bucket{flow="emea-delivery",le="+Inf"}"#), Some("1"));
    for family in ["jirafed_poll_lag_seconds", "jirafed_rate_limited_total", "jirafed_writes_total"] {
        assert!(text.contains(&format!("# TYPE {family} ")), "{family} missing");
    }
    assert_eq!(get(r#"jirafed_writes_total{instance="hub",op="create",outcome="ok"}"#), Some("1"));
    assert_eq!(get(r#"jirafed_rate_limited_total{instance="hub"}"#), Some("0"));
    assert!(get(r#"jirafed_poll_lag_seconds{instance="emea"}"#).is_some_and(|lag| lag.parse::<f64>().unwrap() >= 4.0));
    face.stop().await;
}

#[tokio::test]
async fn page_is_html_with_every_instance() {
    let face = Face::start().await;
    face.observer.board.record_flow_error("emea-delivery", 1, "<b>Field 'x'</b> cannot be set");
    let resp = face.get("/").await;
    assert_eq!(resp.status(), 200);
    assert!(resp.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    let html = resp.text().await.unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    for id in face.config.instances.keys() {
        assert!(html.contains(&format!(" data-instance=\"{id}\" data-health=\"")), "{id} missing");
    }
    assert!(html.contains("emea-delivery"));
    assert!(html.contains("&lt;b&gt;Field &#39;x&#39;&lt;/b&gt;") && !html.contains("<b>"), "escaped");
    assert!(!html.contains("<script") && !html.contains("http://") && !html.contains("https://"), "self-contained");
    face.stop().await;
}

#[tokio::test]
async fn unknown_routes_are_404_and_cancel_stops_the_server() {
    let face = Face::start().await;
    let (status, body) = face.get_json("/nope").await;
    assert_eq!((status, body["error"].as_str()), (404, Some("no such route")));
    let base = face.base.clone();
    face.stop().await;
    let fresh = reqwest::Client::new();
    assert!(fresh.get(format!("{base}/healthz")).send().await.is_err(), "no longer accepting");
}
