//! The end-to-end harness: the simulator's default world, and the real
//! daemon (`jirafed::daemon::Daemon`, as `jirafed run` starts it) configured
//! by `config/demo.toml`, with a fresh state folder and free ports.

use std::time::Duration;

use jirafed::config::Config;
use jirafed::daemon::Daemon;
use jirafed::harness::{self, Settings};
use serde_json::Value;

use super::{Sim, wait_until};

pub struct World {
    pub sim: Sim,
    pub daemon: Option<Daemon>,
    pub state: tempfile::TempDir,
    pub poll: String,
    /// The config the daemon runs with (restarts reuse it).
    pub cfg: Config,
}

/// The demo config with this world's URLs, state folder and poll interval
/// (written into the state folder with its secrets).
pub fn config_for(sim: &Sim, state: &std::path::Path, poll: &str) -> Config {
    let settings = Settings { poll_overlap: Some("2m".into()), ..Settings::poll(poll) };
    harness::config_for(&sim.sim, state, state, &settings).expect("demo config loads")
}

impl World {
    /// The world with a fresh daemon; the test's own edits are alice's.
    pub async fn start(poll: &str) -> World {
        World::start_with(poll, |_| {}).await
    }

    /// As [`World::start`], with the config changed by `edit` first.
    pub async fn start_with(poll: &str, edit: impl FnOnce(&mut Config)) -> World {
        let sim = Sim::start_as("alice").await;
        let state = tempfile::tempdir().expect("tempdir");
        let mut cfg = config_for(&sim, state.path(), poll);
        edit(&mut cfg);
        let daemon = Daemon::start(cfg.clone()).await.expect("daemon starts");
        World { sim, daemon: Some(daemon), state, poll: poll.to_string(), cfg }
    }

    /// Stops the daemon (as SIGTERM does); [`World::resume`] starts it again.
    pub async fn stop(&mut self) {
        if let Some(d) = self.daemon.take() {
            d.shutdown().await;
        }
    }

    /// Starts the daemon again on the same state and config.
    pub async fn resume(&mut self) {
        self.daemon = Some(Daemon::start(self.cfg.clone()).await.expect("daemon restarts"));
    }

    /// Successful REST mutations `site` has taken (`/_sim/stats`).
    pub async fn mutations(&self, site: &str) -> u64 {
        self.sim.stats(site).await["mutations"].as_u64().expect("mutations")
    }

    /// The daemon's `/status`.
    pub async fn status(&self) -> Value {
        let url = format!("http://{}/status", self.daemon().addr);
        self.sim.http.get(url).send().await.expect("GET /status").json().await.expect("status JSON")
    }

    /// Waits until every instance has finished `n` more polls (seen as new
    /// `last_poll` values on `/status`), with nothing left queued.
    pub async fn wait_polls(&self, n: usize, within: Duration) {
        let seen: std::cell::RefCell<std::collections::BTreeMap<String, Vec<Value>>> = Default::default();
        wait_until(within, &format!("{n} more polls of every instance"), || {
            let seen = &seen;
            async move {
                let status = self.status().await;
                let instances = status["instances"].as_object().cloned().unwrap_or_default();
                let mut seen = seen.borrow_mut();
                for (id, i) in &instances {
                    let polls = seen.entry(id.clone()).or_default();
                    if !i["last_poll"].is_null() && polls.last() != Some(&i["last_poll"]) {
                        polls.push(i["last_poll"].clone());
                    }
                }
                let idle = status["inbox_depth"] == 0 && instances.values().all(|i| i["outbox_depth"] == 0);
                // The first value seen may be a poll from before the wait.
                (idle && instances.keys().all(|id| seen.get(id).is_some_and(|p| p.len() > n))).then_some(())
            }
        })
        .await
    }

    pub fn daemon(&self) -> &Daemon {
        self.daemon.as_ref().expect("running")
    }

    /// Stops the daemon (as SIGTERM does) and starts it again on the same state.
    pub async fn restart(&mut self) {
        if let Some(d) = self.daemon.take() {
            d.shutdown().await;
        }
        self.daemon = Some(Daemon::start(self.cfg.clone()).await.expect("daemon restarts"));
    }

    /// Registers signed webhooks on every simulated site, pointing at the daemon.
    pub async fn register_webhooks(&self) {
        harness::register_webhooks(&self.sim.sim, self.daemon().addr).await.expect("webhooks registered");
    }

    /// The key of `key`'s mirror on the hub, once it exists.
    pub async fn mirror_of(&self, site: &str, key: &str, within: Duration) -> String {
        let person = harness::Person::new(&self.sim.sim, "alice");
        let mirror = person.mirror_of(self.daemon().store(), site, key, within).await;
        mirror.unwrap_or_else(|| panic!("timed out waiting for a mirror of {site} {key}"))
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
