//! A stand-in Jira site for client tests: every request is recorded and
//! answered by a closure, so a test can play a site that acts on a request
//! and loses the answer, hides e-mail addresses, or reverses links.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use jirafed::config::{Flavour, InstanceConfig};
use jirafed::jira::client::JiraClient;
use jirafed::jira::transport::{RecordedCall, RetryConfig, Transport};
use serde_json::Value;

/// One request as the stub saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub query: String,
    pub body: Value,
}

impl Seen {
    /// `METHOD /path`.
    pub fn line(&self) -> String {
        format!("{} {}", self.method, self.path)
    }

    /// A query parameter, decoded.
    pub fn param(&self, name: &str) -> Option<String> {
        url::form_urlencoded::parse(self.query.as_bytes()).find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
    }
}

/// An answer: status, extra headers, JSON body (`Null`: none).
pub type Answer = (u16, Vec<(&'static str, String)>, Value);

pub type Handler = Arc<dyn Fn(&Seen) -> Answer + Send + Sync>;

pub struct Stub {
    pub addr: SocketAddr,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Stub {
    pub async fn start(handler: impl Fn(&Seen) -> Answer + Send + Sync + 'static) -> Stub {
        let handler: Handler = Arc::new(handler);
        let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
        let log = seen.clone();
        let app = axum::Router::new().fallback(move |method: Method, uri: Uri, _h: HeaderMap, body: Bytes| {
            let (handler, log) = (handler.clone(), log.clone());
            async move {
                let seen = Seen {
                    method: method.to_string(),
                    path: uri.path().to_string(),
                    query: uri.query().unwrap_or_default().to_string(),
                    body: serde_json::from_slice(&body).unwrap_or(Value::Null),
                };
                log.lock().expect("lock").push(seen.clone());
                let (status, headers, body) = handler(&seen);
                answer(status, headers, body)
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move { axum::serve(listener, app).await });
        Stub { addr, seen }
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().expect("lock").clone()
    }

    /// How many requests had `METHOD /path`.
    pub fn count(&self, line: &str) -> usize {
        self.seen().iter().filter(|s| s.line() == line).count()
    }

    pub fn config(&self, flavour: Flavour) -> InstanceConfig {
        stub_config(&format!("http://{}", self.addr), flavour)
    }

    /// A client of this stub with quick retries, recording into `log` if given.
    pub fn client(&self, flavour: Flavour, log: Option<Arc<Mutex<Vec<RecordedCall>>>>) -> JiraClient {
        let cfg = self.config(flavour);
        let mut t = Transport::new(&cfg).expect("transport").with_retry(quick_retry(4));
        if let Some(log) = log {
            t = t.with_recorder(Arc::new(move |c: &RecordedCall| log.lock().expect("lock").push(c.clone())));
        }
        JiraClient::from_transport(cfg.id.clone(), flavour, t)
    }
}

fn answer(status: u16, headers: Vec<(&'static str, String)>, body: Value) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut resp = if body.is_null() { status.into_response() } else { (status, axum::Json(body)).into_response() };
    for (k, v) in headers {
        if let Ok(v) = v.parse() {
            resp.headers_mut().insert(k, v);
        }
    }
    resp
}

/// Retries in milliseconds, so that tests do not wait.
pub fn quick_retry(max_attempts: usize) -> RetryConfig {
    RetryConfig {
        min_delay: std::time::Duration::from_millis(10),
        max_delay: std::time::Duration::from_millis(50),
        max_attempts,
        max_rate_limited: 5,
    }
}

/// An instance config for a site at `url` (no simulator behind it).
pub fn stub_config(url: &str, flavour: Flavour) -> InstanceConfig {
    let secret = match flavour {
        Flavour::Cloud => "stub-token",
        Flavour::DataCenter => "stub-pat",
    };
    super::site_config("stub", url, flavour, secret)
}
