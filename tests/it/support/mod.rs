//! Shared test support: the simulator harness, the reference material and
//! the conformance checkers (OpenAPI validation, structural comparison).

#![allow(dead_code)]

pub mod openapi;
pub mod process;
pub mod receiver;
pub mod rng;
pub mod shape;
pub mod stub;
pub mod tools;
pub mod workload;
pub mod world;

use std::path::PathBuf;
use std::time::Duration;

use jirafed::config::{Auth, Flavour, InstanceConfig, Role, Secret, SecretSource, WebhookAuth, defaults};
use jirafed::ids::InstanceId;
use jirafed::sim::{Simulator, WorldConfig, default_world};
use reqwest::header::HeaderMap;
use serde_json::Value;

/// `shared/jira-reference` (`$JIRA_REFERENCE`, or found above the crate).
pub fn reference_dir() -> PathBuf {
    let here = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    if let Some(p) = std::env::var_os("JIRA_REFERENCE") {
        return PathBuf::from(p);
    }
    here.ancestors().map(|a| a.join("shared/jira-reference")).find(|p| p.is_dir()).expect("shared/jira-reference")
}

pub fn reference_json(rel: &str) -> Value {
    let bytes = std::fs::read(reference_dir().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"));
    serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// Polls `f` until it returns `Some`, or panics after `deadline`.
pub async fn wait_until<T, F, Fut>(deadline: Duration, what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let end = tokio::time::Instant::now() + deadline;
    loop {
        if let Some(v) = f().await {
            return v;
        }
        if tokio::time::Instant::now() > end {
            panic!("timed out waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A response: status, headers, JSON body (Null when empty or not JSON).
pub struct Resp {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Value,
}

/// The default simulated world on free loopback ports.
pub struct Sim {
    pub sim: Simulator,
    pub http: reqwest::Client,
    /// Who [`Sim::call`] acts as: `sync-bot` (the technical user) for tests
    /// of the simulator, a person for tests of the daemon, whose own user's
    /// changes come back as echoes it does not act on.
    pub user: &'static str,
}

impl Sim {
    pub async fn start() -> Sim {
        Sim::start_as("sync-bot").await
    }

    /// The default world, with [`Sim::call`] acting as `user`.
    pub async fn start_as(user: &'static str) -> Sim {
        Sim::start_world_as(&default_world(0), user).await
    }

    /// Serves `world` (its ports as given: 0 for free ones).
    pub async fn start_world(world: &WorldConfig) -> Sim {
        Sim::start_world_as(world, "sync-bot").await
    }

    /// Serves `world`, with [`Sim::call`] acting as `user`.
    pub async fn start_world_as(world: &WorldConfig, user: &'static str) -> Sim {
        let sim = Simulator::start(world).await.expect("simulator starts");
        Sim { sim, http: reqwest::Client::new(), user }
    }

    pub fn base(&self, site: &str) -> String {
        self.sim.site(site).unwrap_or_else(|| panic!("no site {site}")).base_url.clone()
    }

    pub fn flavour(&self, site: &str) -> Flavour {
        self.sim.site(site).map(|s| s.flavour).unwrap_or(Flavour::Cloud)
    }

    /// The REST prefix of a site's own flavour: `/rest/api/3` or `/rest/api/2`.
    pub fn api(&self, site: &str) -> &'static str {
        match self.flavour(site) {
            Flavour::Cloud => "/rest/api/3",
            Flavour::DataCenter => "/rest/api/2",
        }
    }

    /// A request as user `who` (`sync-bot`, `alice`, `carol`...).
    pub async fn call_as(&self, who: &str, site: &str, method: &str, path: &str, body: Option<&Value>) -> Resp {
        let url = format!("{}{}", self.base(site), path);
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut req = jirafed::harness::sign_in(self.http.request(method, url), self.flavour(site), who);
        if let Some(b) = body {
            req = req.json(b);
        }
        let resp = req.send().await.expect("request");
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let bytes = resp.bytes().await.expect("body");
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Resp { status, headers, body }
    }

    pub async fn call(&self, site: &str, method: &str, path: &str, body: Option<&Value>) -> Resp {
        self.call_as(self.user, site, method, path, body).await
    }

    pub async fn get(&self, site: &str, path: &str) -> Resp {
        self.call(site, "GET", path, None).await
    }

    /// `/_sim/` control calls (no auth).
    pub async fn control(&self, site: &str, method: &str, path: &str, body: Option<&Value>) -> Resp {
        let url = format!("{}{}", self.base(site), path);
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut req = self.http.request(method, url);
        if let Some(b) = body {
            req = req.json(b);
        }
        let resp = req.send().await.expect("request");
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = resp.json().await.unwrap_or(Value::Null);
        Resp { status, headers, body }
    }

    pub async fn stats(&self, site: &str) -> Value {
        self.control(site, "GET", "/_sim/stats", None).await.body
    }

    /// Creates an issue with a summary on `site`'s own project; returns its key.
    pub async fn create(&self, site: &str, project: &str, summary: &str, extra: Value) -> String {
        let mut fields =
            serde_json::json!({"project": {"key": project}, "issuetype": {"name": "Story"}, "summary": summary});
        if let (Some(f), Some(e)) = (fields.as_object_mut(), extra.as_object()) {
            f.extend(e.clone());
        }
        let r = self
            .call(site, "POST", &format!("{}/issue", self.api(site)), Some(&serde_json::json!({"fields": fields})))
            .await;
        assert_eq!(r.status, 201, "create on {site}: {}", r.body);
        r.body["key"].as_str().expect("key").to_string()
    }
}

/// An instance config for `id` at `url`, as sync-bot: Basic email + API
/// token `secret` on Cloud, a Bearer PAT `secret` on Data Center; 100
/// reads and writes a second (burst 20), a 10 s timeout, defaults else.
pub fn site_config(id: &str, url: &str, flavour: Flavour, secret: &str) -> InstanceConfig {
    let auth = match flavour {
        Flavour::Cloud => Auth::CloudToken {
            email: "sync-bot@example.com".into(),
            token: Secret::new(secret),
            source: SecretSource::Inline,
        },
        Flavour::DataCenter => Auth::Bearer { token: Secret::new(secret), source: SecretSource::Inline },
    };
    InstanceConfig {
        id: InstanceId::new(id),
        role: Role::Secondary,
        flavour,
        url: url.parse().expect("url"),
        auth,
        webhook_secret: None,
        webhooks: WebhookAuth::Signed,
        response_body_limit: defaults::RESPONSE_BODY_LIMIT,
        writes_per_second: 100.0,
        burst: 20,
        reads_per_second: 100.0,
        max_in_flight: defaults::MAX_IN_FLIGHT,
        poll_interval: defaults::POLL_INTERVAL,
        poll_overlap: defaults::POLL_OVERLAP,
        ca_file: None,
        timeout: Duration::from_secs(10),
    }
}

/// The simulator's credential for sync-bot on a site of `flavour`.
pub fn sim_secret(flavour: Flavour) -> &'static str {
    match flavour {
        Flavour::Cloud => "sim-token",
        Flavour::DataCenter => "sim-pat",
    }
}

/// An instance config for simulated `site`, as sync-bot (Basic email + API
/// token on Cloud, a Bearer PAT on Data Center), with the given write budget.
/// Reads get 50/s so that test set-up and checks are not slowed down.
pub fn instance_config(sim: &Sim, site: &str, writes_per_second: f64, burst: u32) -> InstanceConfig {
    let flavour = sim.flavour(site);
    InstanceConfig {
        role: if site == "hub" { Role::Primary } else { Role::Secondary },
        writes_per_second,
        burst,
        reads_per_second: 50.0,
        ..site_config(site, &sim.base(site), flavour, sim_secret(flavour))
    }
}
