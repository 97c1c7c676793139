//! The Jira simulator: real HTTP servers on loopback speaking the subset of
//! Jira Cloud REST v3 and Data Center REST v2 that jirafed uses, with
//! webhooks out, rate limits and faults. `jirafed sim` runs it; the tests,
//! benchmarks and `jirafed demo` embed it. See `docs/simulator.md`.

mod auth;
pub mod faults;
mod history;
mod http;
mod input;
pub mod jql;
mod model;
mod ops;
mod query;
mod render;
mod seed;
mod state;
mod webhooks;
pub mod world;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub use webhooks::signature;
pub use world::{WorldConfig, default_world};

use crate::config::Flavour;

/// One running site.
#[derive(Debug, Clone)]
pub struct SiteInfo {
    pub name: String,
    pub flavour: Flavour,
    pub addr: SocketAddr,
    /// `http://127.0.0.1:PORT`
    pub base_url: String,
}

/// A running simulator; dropping it does not stop it, [`Simulator::shutdown`] does.
pub struct Simulator {
    pub sites: Vec<SiteInfo>,
    cancel: CancellationToken,
    tasks: Vec<JoinHandle<()>>,
}

impl Simulator {
    /// Binds every site on 127.0.0.1 (port 0 picks a free one) and serves it.
    pub async fn start(world: &WorldConfig) -> Result<Simulator, String> {
        let cancel = CancellationToken::new();
        let mut sites = Vec::new();
        let mut tasks = Vec::new();
        let policy = webhooks::RetryPolicy {
            base: Duration::from_millis(world.webhook_retry_base_ms),
            retries: world.webhook_retries,
        };
        for cfg in &world.sites {
            let listener = TcpListener::bind(("127.0.0.1", cfg.port))
                .await
                .map_err(|e| format!("site {}: cannot listen on 127.0.0.1:{}: {e}", cfg.name, cfg.port))?;
            let addr = listener.local_addr().map_err(|e| e.to_string())?;
            let base_url = format!("http://{addr}");
            let data = seed::build_site(cfg, &base_url)?;
            let flavour = data.flavour;
            let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
            let site = Arc::new(state::Site::new(data, tx));
            tasks.push(tokio::spawn(webhooks::worker(site.clone(), rx, policy, cancel.clone())));
            tasks.push(tokio::spawn(http::serve(listener, site, cancel.clone())));
            sites.push(SiteInfo { name: cfg.name.clone(), flavour, addr, base_url });
        }
        Ok(Simulator { sites, cancel, tasks })
    }

    pub fn site(&self, name: &str) -> Option<&SiteInfo> {
        self.sites.iter().find(|s| s.name == name)
    }

    /// Stops every site and waits for them.
    pub async fn shutdown(self) {
        self.cancel.cancel();
        for t in self.tasks {
            let _ = t.await;
        }
    }
}
