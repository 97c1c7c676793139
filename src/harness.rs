//! The simulated world with the daemon running against it, one way for
//! `jirafed demo`, the integration tests and the benchmarks: the
//! simulator's default world on loopback, `config/demo.toml` (written out
//! with its secrets, so it works wherever the binary runs) pointed at it by
//! `JIRAFED_` overrides, signed webhooks registered on every site, and
//! people acting on the sites through their REST APIs.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;

use crate::config::{self, Config, Flavour};
use crate::daemon::Daemon;
use crate::sim::{Simulator, default_world};
use crate::store::Store;

/// The demo's config, as shipped.
pub const DEMO_CONFIG: &str = include_str!("../config/demo.toml");

/// The webhook events jirafed asks every site for.
pub const WEBHOOK_EVENTS: &[&str] = crate::jira::webhook::CONSUMED_EVENTS;

/// The secret the demo's sites sign webhooks with (`demo-secrets/webhook-secret`).
pub const WEBHOOK_SECRET: &str = "demo-webhook-secret";

/// The secret files `config/demo.toml` names: the simulator's public
/// credentials of the technical user, and the webhook secret.
const SECRETS: [(&str, &str); 3] =
    [("sim-token", "sim-token"), ("sim-pat", "sim-pat"), ("webhook-secret", WEBHOOK_SECRET)];

/// How the world's daemon differs from `config/demo.toml`.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Every site's `poll_interval`.
    pub poll_interval: String,
    /// Every site's `poll_overlap`, when not the default.
    pub poll_overlap: Option<String>,
    /// More settings for every site, as (key, value): `("WRITES_PER_SECOND", "200")`.
    pub per_site: Vec<(String, String)>,
}

impl Default for Settings {
    /// Webhooks carry changes in milliseconds; polling every 5 s is the
    /// safety net.
    fn default() -> Settings {
        Settings { poll_interval: "5s".into(), poll_overlap: None, per_site: Vec::new() }
    }
}

impl Settings {
    pub fn poll(interval: &str) -> Settings {
        Settings { poll_interval: interval.into(), ..Settings::default() }
    }

    /// With one more setting for every site.
    pub fn with(mut self, key: &str, value: &str) -> Settings {
        self.per_site.push((key.into(), value.into()));
        self
    }
}

/// Writes `config/demo.toml` and its secret files (0600) into `dir`;
/// returns the config's path.
pub fn write_config(dir: &Path) -> anyhow::Result<PathBuf> {
    let secrets = dir.join("demo-secrets");
    std::fs::create_dir_all(&secrets).with_context(|| format!("creating {}", secrets.display()))?;
    for (name, value) in SECRETS {
        let p = secrets.join(name);
        std::fs::write(&p, value).with_context(|| format!("writing {}", p.display()))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600))?;
        }
    }
    let path = dir.join("demo.toml");
    std::fs::write(&path, DEMO_CONFIG).with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}

/// The `JIRAFED_` overrides that point the demo config at `sim`: every
/// site's URL and `settings`, the state in `state`, the admin socket beside
/// it, the HTTP face on a free port. For `config::load_with`, or as the
/// environment of a `jirafed run` child.
pub fn overrides(sim: &Simulator, state: &Path, settings: &Settings) -> Vec<(String, String)> {
    let mut vars = vec![
        ("JIRAFED_DAEMON__STATE_DIR".to_string(), state.display().to_string()),
        ("JIRAFED_DAEMON__LISTEN".to_string(), "127.0.0.1:0".to_string()),
        ("JIRAFED_DAEMON__ADMIN_SOCKET".to_string(), state.join("admin.sock").display().to_string()),
    ];
    for s in &sim.sites {
        let var = |key: &str| format!("JIRAFED_INSTANCES__{}__{key}", s.name.to_uppercase());
        vars.push((var("URL"), s.base_url.clone()));
        vars.push((var("POLL_INTERVAL"), settings.poll_interval.clone()));
        if let Some(overlap) = &settings.poll_overlap {
            vars.push((var("POLL_OVERLAP"), overlap.clone()));
        }
        for (key, value) in &settings.per_site {
            vars.push((var(key), value.clone()));
        }
    }
    vars
}

/// The demo config written into `dir` and loaded with [`overrides`].
pub fn config_for(sim: &Simulator, dir: &Path, state: &Path, settings: &Settings) -> anyhow::Result<Config> {
    let path = write_config(dir)?;
    let vars = overrides(sim, state, settings);
    config::load_with(&path, &vars, &|_: &str| None).map_err(|e| anyhow::anyhow!("{e}"))
}

/// Registers signed webhooks for [`WEBHOOK_EVENTS`] on every site of `sim`,
/// pointing at a daemon listening on `daemon`.
pub async fn register_webhooks(sim: &Simulator, daemon: SocketAddr) -> anyhow::Result<()> {
    let http = reqwest::Client::new();
    for s in &sim.sites {
        let body = serde_json::json!({
            "name": "jirafed", "secret": WEBHOOK_SECRET, "events": WEBHOOK_EVENTS,
            "url": format!("http://{daemon}/webhooks/{}", s.name),
        });
        let resp = http.post(format!("{}/_sim/webhooks", s.base_url)).json(&body).send().await?;
        anyhow::ensure!(resp.status().is_success(), "registering the webhook on {}: {}", s.name, resp.status());
    }
    Ok(())
}

/// Signs a request to a simulated site of `flavour` as `who`: `sync-bot`,
/// the technical user, or a person such as `alice` (the simulator's
/// convention: `{who}@example.com` with token `{who}-token` on Cloud, a
/// personal access token `{who}-pat` on Data Center).
pub fn sign_in(req: reqwest::RequestBuilder, flavour: Flavour, who: &str) -> reqwest::RequestBuilder {
    match (flavour, who) {
        (Flavour::Cloud, "sync-bot") => req.basic_auth("sync-bot@example.com", Some("sim-token")),
        (Flavour::Cloud, w) => req.basic_auth(format!("{w}@example.com"), Some(format!("{w}-token"))),
        (Flavour::DataCenter, "sync-bot") => req.bearer_auth("sim-pat"),
        (Flavour::DataCenter, w) => req.bearer_auth(format!("{w}-pat")),
    }
}

/// Polls `check` every 10 ms until it gives a value or `within` has passed.
pub async fn wait_for<T, F, Fut>(within: Duration, mut check: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let end = Instant::now() + within;
    loop {
        if let Some(v) = check().await {
            return Some(v);
        }
        if Instant::now() >= end {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A person acting on the simulated sites through their REST APIs (v2,
/// which both flavours serve).
#[derive(Clone)]
pub struct Person {
    pub name: String,
    http: reqwest::Client,
    sites: Vec<(String, Flavour, String)>,
}

impl Person {
    pub fn new(sim: &Simulator, name: &str) -> Person {
        let sites = sim.sites.iter().map(|s| (s.name.clone(), s.flavour, s.base_url.clone())).collect();
        Person { name: name.to_string(), http: reqwest::Client::new(), sites }
    }

    /// One REST call; a non-2xx answer is an error naming the call.
    pub async fn call(
        &self,
        site: &str,
        method: reqwest::Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> anyhow::Result<serde_json::Value> {
        let (_, flavour, base) =
            self.sites.iter().find(|s| s.0 == site).with_context(|| format!("no simulated site {site}"))?;
        let mut req = sign_in(self.http.request(method, format!("{base}{path}")), *flavour, &self.name);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await?;
        let status = resp.status();
        let text = resp.text().await?;
        anyhow::ensure!(status.is_success(), "{site} {path}: {status} {text}");
        Ok(serde_json::from_str(&text).unwrap_or(serde_json::Value::Null))
    }

    /// Creates an issue; returns its key.
    pub async fn create(&self, site: &str, fields: serde_json::Value) -> anyhow::Result<String> {
        let body = serde_json::json!({ "fields": fields });
        let v = self.call(site, reqwest::Method::POST, "/rest/api/2/issue", Some(body)).await?;
        v["key"].as_str().map(str::to_string).context("no key in the create answer")
    }

    pub async fn edit(&self, site: &str, key: &str, fields: serde_json::Value) -> anyhow::Result<()> {
        let body = serde_json::json!({ "fields": fields });
        self.call(site, reqwest::Method::PUT, &format!("/rest/api/2/issue/{key}"), Some(body)).await.map(|_| ())
    }

    pub async fn transition(&self, site: &str, key: &str, id: &str) -> anyhow::Result<()> {
        let body = serde_json::json!({ "transition": { "id": id } });
        let path = format!("/rest/api/2/issue/{key}/transitions");
        self.call(site, reqwest::Method::POST, &path, Some(body)).await.map(|_| ())
    }

    /// A field of an issue: the `name` of an object value, else the value.
    pub async fn field(&self, site: &str, key: &str, field: &str) -> Option<serde_json::Value> {
        let path = format!("/rest/api/2/issue/{key}?fields={field}");
        let v = self.call(site, reqwest::Method::GET, &path, None).await.ok()?;
        let f = &v["fields"][field];
        Some(f.get("name").cloned().unwrap_or_else(|| f.clone()))
    }

    /// An issue's id.
    pub async fn id_of(&self, site: &str, key: &str) -> anyhow::Result<String> {
        let v = self.call(site, reqwest::Method::GET, &format!("/rest/api/2/issue/{key}?fields=summary"), None).await?;
        v["id"].as_str().map(str::to_string).with_context(|| format!("no id for {site} {key}"))
    }

    /// The key of the mirror the daemon of `store` made of `site`'s `key`,
    /// once it exists (`None` after `within`).
    pub async fn mirror_of(&self, store: &Store, site: &str, key: &str, within: Duration) -> Option<String> {
        let id = self.id_of(site, key).await.ok()?;
        wait_for(within, || async { store.link_by_secondary(site, &id).ok().flatten().map(|l| l.primary_key) }).await
    }
}

/// Where a world keeps its config, secrets, admin socket and (unless told
/// otherwise) its state: a folder removed when the world goes, also on
/// error.
struct Folder(PathBuf);

impl Folder {
    fn new() -> anyhow::Result<Folder> {
        let unique = format!("jirafed-world-{}-{}", std::process::id(), rand::random::<u32>());
        let dir = std::env::temp_dir().join(unique);
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        Ok(Folder(dir))
    }
}

impl Drop for Folder {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The default simulated world and the daemon, running.
pub struct World {
    pub sim: Simulator,
    pub daemon: Daemon,
    pub config: Config,
    folder: Folder,
}

impl World {
    /// Serves the default world (on `port_base + 1..`, 0 for free ports),
    /// starts the daemon on it (state in `state_dir`, else in the world's
    /// own folder) and registers the webhooks.
    pub async fn start(port_base: u16, state_dir: Option<&Path>, settings: &Settings) -> anyhow::Result<World> {
        World::start_with(port_base, state_dir, settings, |_| {}).await
    }

    /// [`World::start`] with the config changed by `edit` first.
    pub async fn start_with(
        port_base: u16,
        state_dir: Option<&Path>,
        settings: &Settings,
        edit: impl FnOnce(&mut Config),
    ) -> anyhow::Result<World> {
        let sim = Simulator::start(&default_world(port_base)).await.map_err(anyhow::Error::msg)?;
        let folder = Folder::new()?;
        let state = state_dir.map_or_else(|| folder.0.join("state"), Path::to_path_buf);
        let mut config = config_for(&sim, &folder.0, &state, settings)?;
        edit(&mut config);
        let daemon = Daemon::start(config.clone()).await?;
        register_webhooks(&sim, daemon.addr).await?;
        Ok(World { sim, daemon, config, folder })
    }

    /// Someone acting on the sites.
    pub fn person(&self, name: &str) -> Person {
        Person::new(&self.sim, name)
    }

    /// The config file the world wrote (the demo's, before overrides).
    pub fn config_path(&self) -> PathBuf {
        self.folder.0.join("demo.toml")
    }

    /// Stops the daemon, then the sites.
    pub async fn shutdown(self) {
        self.daemon.shutdown().await;
        self.sim.shutdown().await;
    }
}
