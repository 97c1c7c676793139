//! A webhook receiver for tests: records every request; can be told to fail
//! the first N deliveries with a status.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;

#[derive(Debug, Clone)]
pub struct Received {
    pub headers: HeaderMap,
    pub body: Bytes,
}

#[derive(Default)]
struct Inner {
    got: Mutex<Vec<Received>>,
    fail_first: AtomicUsize,
    fail_status: AtomicUsize,
}

#[derive(Clone)]
pub struct Receiver {
    inner: Arc<Inner>,
    pub addr: SocketAddr,
}

impl Receiver {
    pub async fn start() -> Receiver {
        let inner = Arc::new(Inner::default());
        let app = Router::new().route("/hook", post(hook)).with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Receiver { inner, addr }
    }

    pub fn url(&self) -> String {
        format!("http://{}/hook", self.addr)
    }

    /// The next `n` deliveries get `status` instead of 200.
    pub fn fail_next(&self, n: usize, status: u16) {
        self.inner.fail_status.store(status as usize, Ordering::SeqCst);
        self.inner.fail_first.store(n, Ordering::SeqCst);
    }

    pub fn all(&self) -> Vec<Received> {
        self.inner.got.lock().expect("lock").clone()
    }

    /// Bodies parsed as JSON, with their `webhookEvent`.
    pub fn events(&self) -> Vec<(String, serde_json::Value)> {
        self.all()
            .iter()
            .filter_map(|r| serde_json::from_slice::<serde_json::Value>(&r.body).ok())
            .map(|v| (v["webhookEvent"].as_str().unwrap_or_default().to_string(), v))
            .collect()
    }
}

async fn hook(State(inner): State<Arc<Inner>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    inner.got.lock().expect("lock").push(Received { headers, body });
    let left = inner.fail_first.load(Ordering::SeqCst);
    if left > 0 {
        inner.fail_first.store(left - 1, Ordering::SeqCst);
        return StatusCode::from_u16(inner.fail_status.load(Ordering::SeqCst) as u16).unwrap_or(StatusCode::OK);
    }
    StatusCode::OK
}
