//! The end-to-end harness: the simulator's default world, and the real
//! daemon (`jirafed::daemon::Daemon`, as `jirafed run` starts it) configured
//! by `config/demo.toml`, with a fresh state folder and free ports.

use std::time::Duration;

use jirafed::config::{self, Config};
use jirafed::daemon::Daemon;
use serde_json::{Value, json};

use super::{Sim, wait_until};

pub struct World {
    pub sim: Sim,
    pub daemon: Option<Daemon>,
    pub state: tempfile::TempDir,
    pub poll: String,
}

/// The demo config with this world's URLs, state folder and poll interval.
pub fn config_for(sim: &Sim, state: &std::path::Path, poll: &str) -> Config {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config/demo.toml");
    let mut vars = vec![
        ("JIRAFED_DAEMON__STATE_DIR".to_string(), state.display().to_string()),
        ("JIRAFED_DAEMON__LISTEN".to_string(), "127.0.0.1:0".to_string()),
        ("JIRAFED_DAEMON__ADMIN_SOCKET".to_string(), state.join("admin.sock").display().to_string()),
    ];
    for site in ["hub", "emea", "apac"] {
        let up = site.to_uppercase();
        vars.push((format!("JIRAFED_INSTANCES__{up}__URL"), sim.base(site)));
        vars.push((format!("JIRAFED_INSTANCES__{up}__POLL_INTERVAL"), poll.to_string()));
        vars.push((format!("JIRAFED_INSTANCES__{up}__POLL_OVERLAP"), "2m".to_string()));
    }
    config::load_with(&path, &vars, &|_: &str| None).expect("demo config loads")
}

impl World {
    /// The world with a fresh daemon; the test's own edits are alice's.
    pub async fn start(poll: &str) -> World {
        let sim = Sim::start_as("alice").await;
        let state = tempfile::tempdir().expect("tempdir");
        let daemon = Daemon::start(config_for(&sim, state.path(), poll)).await.expect("daemon starts");
        World { sim, daemon: Some(daemon), state, poll: poll.to_string() }
    }

    pub fn daemon(&self) -> &Daemon {
        self.daemon.as_ref().expect("running")
    }

    /// Stops the daemon (as SIGTERM does) and starts it again on the same state.
    pub async fn restart(&mut self) {
        if let Some(d) = self.daemon.take() {
            d.shutdown().await;
        }
        let cfg = config_for(&self.sim, self.state.path(), &self.poll);
        self.daemon = Some(Daemon::start(cfg).await.expect("daemon restarts"));
    }

    /// Registers signed webhooks on every simulated site, pointing at the daemon.
    pub async fn register_webhooks(&self) {
        let events = [
            "jira:issue_created",
            "jira:issue_updated",
            "jira:issue_deleted",
            "issuelink_created",
            "issuelink_deleted",
        ];
        for site in ["hub", "emea", "apac"] {
            let body = json!({
                "name": "jirafed", "events": events, "secret": "demo-webhook-secret",
                "url": format!("http://{}/webhooks/{site}", self.daemon().addr),
            });
            assert_eq!(self.sim.control(site, "POST", "/_sim/webhooks", Some(&body)).await.status, 201);
        }
    }

    /// The key of `key`'s mirror on the hub, once it exists.
    pub async fn mirror_of(&self, site: &str, key: &str, within: Duration) -> String {
        let id = self.sim.get(site, &format!("{}/issue/{key}?fields=summary", self.sim.api(site))).await.body["id"]
            .as_str()
            .expect("issue id")
            .to_string();
        let store = self.daemon().ctx.store.clone();
        wait_until(within, &format!("a mirror of {site} {key}"), || {
            let store = store.clone();
            let id = id.clone();
            async move { store.link_by_secondary(site, &id).ok().flatten().map(|l| l.primary_key) }
        })
        .await
    }

    /// Waits until `site`'s issue `key` has `field` equal to `want` (v2 shape).
    pub async fn wait_field(&self, site: &str, key: &str, field: &str, want: Value, within: Duration) {
        let sim = &self.sim;
        wait_until(within, &format!("{site} {key} {field} = {want}"), || {
            let want = want.clone();
            async move {
                let v = sim.get(site, &format!("/rest/api/2/issue/{key}?fields={field}")).await.body;
                let got = pick(&v["fields"][field]);
                (got == want).then_some(())
            }
        })
        .await
    }
}

/// A field's comparable part: names of objects, values of options.
pub fn pick(v: &Value) -> Value {
    match v {
        Value::Object(o) => o.get("name").or_else(|| o.get("value")).cloned().unwrap_or(v.clone()),
        Value::Array(a) => Value::Array(a.iter().map(pick).collect()),
        other => other.clone(),
    }
}
