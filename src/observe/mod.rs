//! What the daemon tells people about itself, in one sink: the engine and
//! the HTTP face report here, and `/status`, `/readyz`, `/metrics`, `/` and
//! event subscribers (the demo, tests) read from here. Nothing in this
//! module decides anything about synchronisation.

pub mod audit;
pub mod events;
pub mod latency;
pub mod metrics;
pub mod parts;
pub mod status;

use tokio::sync::broadcast;

pub use events::{ConflictRecord, EngineEvent, WriteRecord};
pub use metrics::{HttpLimit, Metrics, WebhookOutcome, WriteOutcome};
pub use status::StatusBoard;

use crate::config::Config;

/// Events kept for a subscriber that falls behind.
const EVENT_BACKLOG: usize = 1024;

/// The status board, the metrics and the event stream. Shared as
/// `Arc<Observer>`; every method takes `&self`.
pub struct Observer {
    pub board: StatusBoard,
    pub metrics: Metrics,
    /// Propagation latency per minute over the last hour (the status page's chart).
    pub latency: latency::LatencyRing,
    events: broadcast::Sender<EngineEvent>,
}

impl Observer {
    /// An observer listing every instance and flow of `config`.
    pub fn new(config: &Config) -> Observer {
        Observer { board: StatusBoard::from_config(config), ..Observer::empty() }
    }

    /// An observer with nothing registered (tests of single parts).
    pub fn empty() -> Observer {
        Observer {
            board: StatusBoard::new(),
            metrics: Metrics::new(),
            latency: latency::LatencyRing::new(),
            events: broadcast::channel(EVENT_BACKLOG).0,
        }
    }

    /// Events from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<EngineEvent> {
        self.events.subscribe()
    }

    /// Records an event on the board and in the metrics, and broadcasts it.
    pub fn emit(&self, at_ms: i64, e: EngineEvent) {
        match &e {
            EngineEvent::Conflict(c) => self.board.record_conflict(&c.flow, c.clone()),
            EngineEvent::DeadLettered { flow, error, .. } => self.board.record_flow_error(flow, at_ms, error.clone()),
            EngineEvent::Written { flow, latency_ms, .. } => {
                self.board.record_sync(flow, at_ms);
                self.metrics.propagation(flow, *latency_ms as f64 / 1000.0);
                self.latency.record(at_ms, *latency_ms as f64 / 1000.0);
            }
        }
        // Nobody listening is fine.
        let _ = self.events.send(e);
    }
}
