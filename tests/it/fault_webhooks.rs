//! Hostile webhooks into the running daemon (`jirafed run`, a child
//! process): bodies generated from the real webhook payloads of
//! `shared/jira-reference/webhooks/`, truncated, mutated, oversized, nested
//! deep, with wrong types, unsigned or signed wrongly, sent to known and
//! unknown instances. Every answer must be the documented one for what was
//! sent, the daemon must stay up, and nothing of a refused request may be
//! stored: the changes the daemon counts from webhooks equal the sum of the
//! `accepted` of its 2xx answers.
//!
//! The quick run (3,000 bodies) is part of `cargo test`; the long one
//! (100,000) is `#[ignore]`d and run by `.ci/run`; its figures are in
//! docs/reliability.md.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use hmac::{Hmac, Mac};
use jirafed::harness::WEBHOOK_SECRET;
use serde_json::Value;
use sha2::Sha256;

use super::support::process::Jirafed;
use super::support::rng::Rng;
use super::support::{Sim, reference_dir};

/// The daemon's default `daemon.webhook_body_limit`.
const BODY_LIMIT: usize = 1024 * 1024;
/// Requests in flight at once.
const CONCURRENCY: usize = 16;

/// What a request is, and so which answers are the documented ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    /// A real body, signed: 202 (changes stored) or 200 (duplicate, or an
    /// event jirafed does not use).
    Real,
    /// A real body cut short, signed: 400, or 2xx if what is left parses.
    Truncated,
    /// Bytes of a real body changed, signed: 400 or 2xx.
    Mutated,
    /// A value of a real body replaced by one of another JSON type: 400 or 2xx.
    WrongType,
    /// Arrays nested thousands deep, signed: 400.
    Deep,
    /// Over the body limit: 413.
    Oversized,
    /// Not JSON at all (random bytes), signed: 400.
    Garbage,
    /// No signature, a malformed one, another method, or a wrong digest: 401.
    BadSignature,
    /// A real body for an instance the config does not have: 404.
    UnknownInstance,
}

impl Kind {
    fn allowed(self, status: u16) -> bool {
        match self {
            Kind::Real => matches!(status, 200 | 202),
            Kind::Truncated | Kind::Mutated | Kind::WrongType => matches!(status, 200 | 202 | 400),
            Kind::Deep | Kind::Garbage => status == 400,
            Kind::Oversized => status == 413,
            Kind::BadSignature => status == 401,
            Kind::UnknownInstance => status == 404,
        }
    }
}

struct Request {
    kind: Kind,
    instance: &'static str,
    body: Vec<u8>,
    signature: Option<String>,
    delivery: String,
}

fn sign(body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(WEBHOOK_SECRET.as_bytes()).expect("any key length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Every webhook body of the reference material.
fn reference_bodies() -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut dirs = vec![reference_dir().join("webhooks")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "json") {
                out.push(std::fs::read(&path).expect("reference body"));
            }
        }
    }
    out.sort();
    assert!(out.len() >= 20, "the reference webhooks: {}", out.len());
    out
}

/// A JSON value of a type other than `v`'s.
fn other_type(rng: &mut Rng, v: &Value) -> Value {
    let choices = [
        Value::Null,
        Value::Bool(true),
        Value::from(-1),
        Value::from(1.5e300),
        Value::from("\u{0}\u{202e}x"),
        Value::Array(vec![Value::Null]),
        serde_json::json!({"id": {"id": []}}),
    ];
    loop {
        let c = &choices[rng.below(choices.len())];
        if std::mem::discriminant(c) != std::mem::discriminant(v) {
            return c.clone();
        }
    }
}

/// `v` with one value somewhere in it (a key path taken at random) replaced
/// by one of another type.
fn retype(rng: &mut Rng, v: &mut Value, depth: usize) {
    let stop = depth > 0 && rng.below(3) == 0;
    match v {
        Value::Object(m) if !m.is_empty() && !stop => {
            let key = m.keys().nth(rng.below(m.len())).cloned().expect("a key");
            retype(rng, m.get_mut(&key).expect("the key"), depth + 1);
        }
        Value::Array(a) if !a.is_empty() && !stop => {
            let n = rng.below(a.len());
            retype(rng, &mut a[n], depth + 1);
        }
        _ => *v = other_type(rng, v),
    }
}

fn generate(rng: &mut Rng, bodies: &[Vec<u8>], n: usize) -> Request {
    const INSTANCES: [&str; 3] = ["hub", "emea", "apac"];
    let real = &bodies[rng.below(bodies.len())];
    let kind = match rng.below(100) {
        0..=19 => Kind::Real,
        20..=34 => Kind::Truncated,
        35..=49 => Kind::Mutated,
        50..=64 => Kind::WrongType,
        65..=69 => Kind::Deep,
        70..=71 => Kind::Oversized,
        72..=79 => Kind::Garbage,
        80..=94 => Kind::BadSignature,
        _ => Kind::UnknownInstance,
    };
    let body = match kind {
        Kind::Real | Kind::BadSignature | Kind::UnknownInstance => real.clone(),
        Kind::Truncated => real[..rng.below(real.len())].to_vec(),
        Kind::Mutated => {
            let mut b = real.clone();
            for _ in 0..1 + rng.below(8) {
                let i = rng.below(b.len());
                b[i] = rng.next() as u8;
            }
            b
        }
        Kind::WrongType => {
            let mut v: Value = serde_json::from_slice(real).expect("reference JSON");
            retype(rng, &mut v, 0);
            serde_json::to_vec(&v).expect("JSON")
        }
        Kind::Deep => {
            let depth = 200 + rng.below(20_000);
            let mut b = br#"{"webhookEvent":"jira:issue_updated","issue":"#.to_vec();
            b.extend(std::iter::repeat_n(b'[', depth));
            b.extend(std::iter::repeat_n(b']', depth));
            b.push(b'}');
            b
        }
        Kind::Oversized => {
            let mut b = real.clone();
            b.extend(std::iter::repeat_n(b' ', BODY_LIMIT + 1 - b.len().min(BODY_LIMIT) + rng.below(4096)));
            b
        }
        Kind::Garbage => (0..1 + rng.below(512)).map(|_| rng.next() as u8).collect(),
    };
    let signature = match kind {
        Kind::BadSignature => match rng.below(4) {
            0 => None,
            1 => Some("sha256".to_string()),
            2 => Some(format!("sha1={}", &sign(&body)[7..47])),
            _ => {
                let mut wrong = body.clone();
                wrong.push(b' ');
                Some(sign(&wrong))
            }
        },
        _ => Some(sign(&body)),
    };
    let instance = if kind == Kind::UnknownInstance { "nowhere" } else { INSTANCES[rng.below(3)] };
    Request { kind, instance, body, signature, delivery: format!("fuzz-{n}") }
}

/// One request's answer: the status and, for a 2xx, the changes it says
/// were stored.
async fn send(http: &reqwest::Client, addr: &str, r: &Request) -> (u16, u64) {
    let mut req = http
        .post(format!("http://{addr}/webhooks/{}", r.instance))
        .header("content-type", "application/json")
        .header("x-atlassian-webhook-identifier", &r.delivery)
        .body(r.body.clone());
    if let Some(s) = &r.signature {
        req = req.header("x-hub-signature", s);
    }
    let resp = req.send().await.unwrap_or_else(|e| panic!("{:?} #{}: no answer: {e}", r.kind, r.delivery));
    let status = resp.status().as_u16();
    let body: Value = resp.json().await.unwrap_or(Value::Null);
    let accepted = if (200..300).contains(&status) { body["accepted"].as_u64().unwrap_or(0) } else { 0 };
    (status, accepted)
}

/// The daemon's count of changes taken from webhooks, over all instances.
async fn webhook_changes(http: &reqwest::Client, addr: &str) -> u64 {
    let text = http.get(format!("http://{addr}/metrics")).send().await.expect("metrics").text().await.expect("text");
    text.lines()
        .filter(|l| l.starts_with("jirafed_changes_total{") && l.contains("source=\"webhook\""))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>() as u64
}

/// What one run saw.
struct Figures {
    per_kind: BTreeMap<Kind, BTreeMap<u16, u64>>,
    accepted: u64,
    counted: u64,
    took: Duration,
}

async fn run(total: usize, seed: u64) -> Figures {
    let sim = Sim::start_as("alice").await;
    let state = tempfile::tempdir().expect("tempdir");
    let daemon = Jirafed::start(&sim, state.path(), None).await;
    let http = reqwest::Client::new();
    let before = webhook_changes(&http, &daemon.addr).await;
    let bodies = reference_bodies();
    let mut rng = Rng(seed);
    let requests: Arc<Vec<Request>> = Arc::new((0..total).map(|n| generate(&mut rng, &bodies, n)).collect());
    let started = Instant::now();
    let addr = daemon.addr.clone();
    let next = Arc::new(AtomicUsize::new(0));
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..CONCURRENCY {
        let (http, addr, requests, next) = (http.clone(), addr.clone(), requests.clone(), next.clone());
        workers.spawn(async move {
            let mut seen = Vec::new();
            while let Some(r) = requests.get(next.fetch_add(1, Ordering::Relaxed)) {
                let (status, accepted) = send(&http, &addr, r).await;
                seen.push((r.kind, status, accepted));
            }
            seen
        });
    }
    let mut answers: Vec<(Kind, u16, u64)> = Vec::new();
    while let Some(done) = workers.join_next().await {
        answers.extend(done.expect("a sender"));
    }
    let took = started.elapsed();
    let mut per_kind: BTreeMap<Kind, BTreeMap<u16, u64>> = BTreeMap::new();
    let mut accepted = 0;
    for (kind, status, n) in &answers {
        *per_kind.entry(*kind).or_default().entry(*status).or_default() += 1;
        accepted += n;
    }
    let health = http.get(format!("http://{addr}/healthz")).send().await.expect("healthz after the run");
    assert_eq!(health.status().as_u16(), 200, "the daemon is up after {total} hostile webhooks");
    let counted = webhook_changes(&http, &addr).await - before;
    daemon.kill().await;
    Figures { per_kind, accepted, counted, took }
}

fn check(f: &Figures, total: usize) {
    eprintln!("{total} webhooks in {:.1} s ({:.0}/s)", f.took.as_secs_f64(), total as f64 / f.took.as_secs_f64());
    for (kind, statuses) in &f.per_kind {
        eprintln!("  {kind:?}: {statuses:?}");
    }
    eprintln!("  changes stored: {} (the 2xx answers' accepted: {})", f.counted, f.accepted);
    for (kind, statuses) in &f.per_kind {
        let wrong: Vec<_> = statuses.iter().filter(|(s, _)| !kind.allowed(**s)).collect();
        assert!(wrong.is_empty(), "{kind:?} answered {wrong:?}");
    }
    assert_eq!(f.counted, f.accepted, "only what a 2xx answer says was stored is stored");
    let real = &f.per_kind[&Kind::Real];
    assert!(real.get(&202).copied().unwrap_or(0) > 0, "real bodies are accepted: {real:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_webhooks_get_their_documented_answers_and_store_nothing() {
    const TOTAL: usize = 3_000;
    let f = run(TOTAL, 0x5eed).await;
    check(&f, TOTAL);
}

/// The long run of docs/reliability.md (`.ci/run` runs it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "long: 100,000 webhooks; run by .ci/run"]
async fn a_hundred_thousand_hostile_webhooks() {
    let total: usize = std::env::var("FAULT_WEBHOOKS").ok().and_then(|v| v.parse().ok()).unwrap_or(100_000);
    let f = run(total, 0xfa017).await;
    check(&f, total);
}
