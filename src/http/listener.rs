//! The HTTP face's own accept loop, so that slow and hostile clients cannot
//! hold the daemon (`daemon.http_*`):
//!
//! - a connection that has not sent a request's headers within
//!   `http_header_timeout` is closed (hyper's header read timeout; it also
//!   closes a kept-alive connection that stays idle that long);
//! - a request not answered within `http_request_timeout` of its headers (a
//!   body trickling in, say) gets 408 and its connection is closed;
//! - at most `http_max_connections` connections are served at once: at the
//!   cap the loop stops accepting, so further clients wait in the kernel's
//!   listen backlog (their connect succeeds, nothing is read) until a served
//!   connection closes; none is refused by jirafed itself;
//! - a kept-alive connection is closed after `http_max_requests_per_connection`
//!   answers (the last one says `Connection: close`).
//!
//! Cancelling stops the accepting, lets each connection finish the request
//! it is serving (bounded by the request timeout) and closes idle ones.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderValue, Request, StatusCode, header};
use axum::response::Response;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::config::HttpLimits;
use crate::observe::{HttpLimit, Metrics, Observer};

/// How long the loop waits after a failed accept (out of file descriptors,
/// say) before trying again, so that it does not spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Serves `app` on `listener` within `limits` until `shutdown` is
/// cancelled, then drains the connections (see the module doc).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: HttpLimits,
    observer: Arc<Observer>,
    shutdown: CancellationToken,
) {
    let metrics = &observer.metrics;
    let slots = Arc::new(Semaphore::new(usize::try_from(limits.max_connections).unwrap_or(usize::MAX)));
    let mut connections = JoinSet::new();
    loop {
        while connections.try_join_next().is_some() {}
        let Some(permit) = slot(&slots, metrics, &shutdown).await else { break };
        let (stream, peer) = tokio::select! {
            _ = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    tracing::warn!(error = %e, "http accept failed");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                    continue;
                }
            },
        };
        let open = Open::new(permit, observer.clone());
        let (app, shutdown) = (app.clone(), shutdown.clone());
        connections.spawn(connection(stream, peer, app, limits, open, shutdown));
    }
    // No more accepts: clients still in the backlog are reset when it goes.
    drop(listener);
    while connections.join_next().await.is_some() {}
}

/// A free connection slot; at the cap, counts the limit once and waits for
/// a connection to close. `None` when cancelled meanwhile.
async fn slot(slots: &Arc<Semaphore>, metrics: &Metrics, shutdown: &CancellationToken) -> Option<OwnedSemaphorePermit> {
    if let Ok(permit) = slots.clone().try_acquire_owned() {
        return Some(permit);
    }
    metrics.http_limited(HttpLimit::MaxConnections);
    tracing::warn!("http connection cap reached; new connections wait until one closes");
    tokio::select! {
        _ = shutdown.cancelled() => None,
        permit = slots.clone().acquire_owned() => permit.ok(),
    }
}

/// One served connection: its slot and its place in the connection gauge,
/// both given back when it is dropped.
struct Open {
    _permit: OwnedSemaphorePermit,
    observer: Arc<Observer>,
}

impl Open {
    fn new(permit: OwnedSemaphorePermit, observer: Arc<Observer>) -> Open {
        observer.metrics.http_connection_opened();
        Open { _permit: permit, observer }
    }
}

impl Drop for Open {
    fn drop(&mut self) {
        self.observer.metrics.http_connection_closed();
    }
}

async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    app: Router,
    limits: HttpLimits,
    open: Open,
    shutdown: CancellationToken,
) {
    let served = Arc::new(AtomicU32::new(0));
    let observer = open.observer.clone();
    let service = hyper::service::service_fn(move |req: Request<Incoming>| {
        let (app, observer) = (app.clone(), observer.clone());
        let n = served.fetch_add(1, Ordering::Relaxed).saturating_add(1);
        async move {
            let metrics = &observer.metrics;
            let mut resp = answer(app, req, limits.request_timeout, metrics, peer).await;
            if n >= limits.max_requests_per_connection {
                metrics.http_limited(HttpLimit::MaxRequests);
                resp.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
            }
            Ok::<_, Infallible>(resp)
        }
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .serve_connection(TokioIo::new(stream), service);
    tokio::pin!(conn);
    let result = tokio::select! {
        result = conn.as_mut() => result,
        _ = shutdown.cancelled() => {
            conn.as_mut().graceful_shutdown();
            conn.await
        }
    };
    if let Err(e) = result {
        if e.is_timeout() {
            open.observer.metrics.http_limited(HttpLimit::HeaderTimeout);
            tracing::info!(peer = %peer, "http connection closed: headers not received in time");
        } else {
            tracing::debug!(peer = %peer, error = %e, "http connection ended with an error");
        }
    }
    drop(open);
}

/// The router's answer, or 408 (closing the connection) when it takes
/// longer than `within`, a slow body included.
async fn answer(
    app: Router,
    req: Request<Incoming>,
    within: Duration,
    metrics: &Metrics,
    peer: SocketAddr,
) -> Response {
    let path = req.uri().path().to_string();
    match tokio::time::timeout(within, tower::ServiceExt::oneshot(app, req.map(Body::new))).await {
        Ok(resp) => resp.unwrap_or_else(|never| match never {}),
        Err(_) => {
            metrics.http_limited(HttpLimit::RequestTimeout);
            tracing::warn!(peer = %peer, path = %path, "http request not completed in time; answered 408");
            let mut resp = super::error(StatusCode::REQUEST_TIMEOUT, "the request took too long");
            resp.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
            resp
        }
    }
}
