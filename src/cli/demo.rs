//! `jirafed demo`: the simulator's default world, the daemon with
//! `config/demo.toml`, webhooks registered, and a short story played as a
//! person would, each propagation printed with its latency.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;
use serde_json::{Value, json};

use super::DemoArgs;
use crate::config::{self, Flavour};
use crate::daemon::Daemon;
use crate::sim::{Simulator, default_world};

const DEMO_TOML: &str = include_str!("../../config/demo.toml");
/// How long one propagation may take before the demo calls it missed.
const PROPAGATION_DEADLINE: Duration = Duration::from_secs(30);

/// A person clicking around the simulated sites.
struct Person {
    http: reqwest::Client,
    sim: Vec<(String, Flavour, String)>,
}

impl Person {
    fn site(&self, name: &str) -> (Flavour, &str) {
        let s = self.sim.iter().find(|s| s.0 == name);
        s.map(|s| (s.1, s.2.as_str())).unwrap_or((Flavour::Cloud, ""))
    }

    async fn call(
        &self,
        site: &str,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<Value> {
        let (flavour, base) = self.site(site);
        let mut req = self.http.request(method, format!("{base}{path}"));
        req = match flavour {
            Flavour::Cloud => req.basic_auth("alice@example.com", Some("alice-token")),
            Flavour::DataCenter => req.bearer_auth("alice-pat"),
        };
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await?;
        let status = resp.status();
        let text = resp.text().await?;
        anyhow::ensure!(status.is_success(), "{site} {path}: {status} {text}");
        Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn create(
        &self,
        site: &str,
        project: &str,
        kind: &str,
        summary: &str,
        priority: &str,
    ) -> anyhow::Result<String> {
        let body = json!({"fields": {"project": {"key": project}, "issuetype": {"name": kind}, "summary": summary, "priority": {"name": priority}, "description": "Reported in the demo."}});
        let v = self.call(site, reqwest::Method::POST, "/rest/api/2/issue", Some(body)).await?;
        v["key"].as_str().map(str::to_string).context("no key in the create answer")
    }

    async fn edit(&self, site: &str, key: &str, fields: Value) -> anyhow::Result<()> {
        self.call(site, reqwest::Method::PUT, &format!("/rest/api/2/issue/{key}"), Some(json!({"fields": fields})))
            .await
            .map(|_| ())
    }

    async fn transition(&self, site: &str, key: &str, id: &str) -> anyhow::Result<()> {
        let body = json!({"transition": {"id": id}});
        self.call(site, reqwest::Method::POST, &format!("/rest/api/2/issue/{key}/transitions"), Some(body))
            .await
            .map(|_| ())
    }

    async fn field(&self, site: &str, key: &str, field: &str) -> Option<Value> {
        let v = self
            .call(site, reqwest::Method::GET, &format!("/rest/api/2/issue/{key}?fields={field}"), None)
            .await
            .ok()?;
        let f = &v["fields"][field];
        Some(f.get("name").cloned().unwrap_or_else(|| f.clone()))
    }
}

struct Step {
    what: String,
    latency: Option<Duration>,
}

/// Waits until `check` holds; returns how long it took.
async fn watch<F, Fut>(started: Instant, mut check: F) -> Option<Duration>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    while started.elapsed() < PROPAGATION_DEADLINE {
        if check().await {
            return Some(started.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    None
}

fn print_step(step: &Step) {
    match step.latency {
        Some(l) => println!("  ✓ {:<58} {:>6} ms", step.what, l.as_millis()),
        None => println!("  ✗ {:<58} not seen within {}s", step.what, PROPAGATION_DEADLINE.as_secs()),
    }
}

/// Writes the demo config and its secrets where the daemon will read them.
fn write_config(dir: &Path) -> anyhow::Result<PathBuf> {
    std::fs::create_dir_all(dir.join("demo-secrets"))?;
    for (name, value) in [("sim-token", "sim-token"), ("sim-pat", "sim-pat"), ("webhook-secret", "demo-webhook-secret")]
    {
        let p = dir.join("demo-secrets").join(name);
        std::fs::write(&p, value)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600))?;
        }
    }
    let path = dir.join("demo.toml");
    std::fs::write(&path, DEMO_TOML)?;
    Ok(path)
}

pub async fn run(args: DemoArgs) -> anyhow::Result<()> {
    let sim = Simulator::start(&default_world(args.port_base)).await.map_err(anyhow::Error::msg)?;
    let guard = TempDir::new()?;
    let temp = guard.0.clone();
    let state = args.state_dir.clone().unwrap_or_else(|| temp.clone());
    let path = write_config(&temp)?;
    let mut vars = vec![
        ("JIRAFED_DAEMON__STATE_DIR".to_string(), state.display().to_string()),
        ("JIRAFED_DAEMON__LISTEN".to_string(), "127.0.0.1:0".to_string()),
        ("JIRAFED_DAEMON__ADMIN_SOCKET".to_string(), temp.join("admin.sock").display().to_string()),
    ];
    for s in &sim.sites {
        let up = s.name.to_uppercase();
        vars.push((format!("JIRAFED_INSTANCES__{up}__URL"), s.base_url.clone()));
        // Webhooks carry changes in milliseconds; polling is the safety net.
        vars.push((format!("JIRAFED_INSTANCES__{up}__POLL_INTERVAL"), "5s".to_string()));
    }
    let cfg = config::load_with(&path, &vars, &|_: &str| None).map_err(|e| anyhow::anyhow!("{e}"))?;
    let daemon = Daemon::start(cfg).await?;
    let person = Person {
        http: reqwest::Client::new(),
        sim: sim.sites.iter().map(|s| (s.name.clone(), s.flavour, s.base_url.clone())).collect(),
    };
    register_webhooks(&person, &sim, daemon.addr).await?;
    println!("jirafed demo: hub (primary, cloud) <- emea (cloud), apac (datacenter)");
    for s in &sim.sites {
        println!("  {:<5} {}", s.name, s.base_url);
    }
    println!("  daemon http://{}  (status: http://{}/status)\n", daemon.addr, daemon.addr);
    let steps = story(&person, &daemon).await?;
    let ok = steps.iter().all(|s| s.latency.is_some());
    summary(&steps);
    println!("status: http://{}/status   metrics: http://{}/metrics", daemon.addr, daemon.addr);
    if !args.once {
        println!("\nrunning; edit the simulated sites (see docs/simulator.md) and watch; Ctrl-C to stop");
        tokio::signal::ctrl_c().await?;
    }
    daemon.shutdown().await;
    sim.shutdown().await;
    // The config, its secrets and the admin socket go with `guard`; a
    // `--state-dir` given stays.
    drop(guard);
    anyhow::ensure!(ok, "some propagations were not seen");
    Ok(())
}

/// The demo's own folder (config, secrets, admin socket, and the state
/// unless `--state-dir` is given), removed when the demo ends, also on error.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> anyhow::Result<TempDir> {
        let dir = std::env::temp_dir().join(format!("jirafed-demo-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        Ok(TempDir(dir))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The story's table: each step and its latency, then the totals.
fn summary(steps: &[Step]) {
    let width = steps.iter().map(|s| s.what.chars().count()).max().unwrap_or(4).max(4);
    println!("\nsummary");
    println!("  {:<width$}  {:>10}", "step", "latency");
    println!("  {:<width$}  {:>10}", "-".repeat(width), "-".repeat(10));
    for s in steps {
        let latency = s.latency.map_or_else(|| "not seen".to_string(), |l| format!("{} ms", l.as_millis()));
        println!("  {:<width$}  {latency:>10}", s.what);
    }
    let mut lat: Vec<u128> = steps.iter().filter_map(|s| s.latency).map(|d| d.as_millis()).collect();
    lat.sort_unstable();
    println!("  {} of {} propagations seen", lat.len(), steps.len());
    if let (Some(min), Some(max)) = (lat.first(), lat.last()) {
        println!("  latency: min {min} ms, median {} ms, max {max} ms", lat[lat.len() / 2]);
    }
}

async fn register_webhooks(person: &Person, sim: &Simulator, addr: std::net::SocketAddr) -> anyhow::Result<()> {
    for s in &sim.sites {
        let body = json!({
            "name": "jirafed", "secret": "demo-webhook-secret",
            "url": format!("http://{addr}/webhooks/{}", s.name),
            "events": ["jira:issue_created", "jira:issue_updated", "jira:issue_deleted", "issuelink_created", "issuelink_deleted"],
        });
        let resp = person.http.post(format!("{}/_sim/webhooks", s.base_url)).json(&body).send().await?;
        anyhow::ensure!(resp.status().is_success(), "registering the webhook on {}: {}", s.name, resp.status());
    }
    Ok(())
}

/// The key of the mirror of `site`'s `key`, once the daemon has made it.
async fn mirror(daemon: &Daemon, person: &Person, site: &str, key: &str) -> Option<String> {
    let id =
        person.call(site, reqwest::Method::GET, &format!("/rest/api/2/issue/{key}?fields=summary"), None).await.ok()?;
    let id = id["id"].as_str()?.to_string();
    daemon.store().link_by_secondary(site, &id).ok().flatten().map(|l| l.primary_key)
}

async fn story(p: &Person, d: &Daemon) -> anyhow::Result<Vec<Step>> {
    let mut steps = Vec::new();
    let mut done = |what: String, latency| {
        let s = Step { what, latency };
        print_step(&s);
        steps.push(s);
    };
    println!("story:");
    let t = Instant::now();
    let emea = p.create("emea", "EMEA", "Story", "Payment page redesign", "High").await?;
    let lat = watch(t, || async { mirror(d, p, "emea", &emea).await.is_some() }).await;
    let emea_m = mirror(d, p, "emea", &emea).await.unwrap_or_default();
    done(format!("alice creates {emea} on emea -> mirror {emea_m} on hub"), lat);

    let t = Instant::now();
    let apac = p.create("apac", "APAC", "Bug", "Sydney login times out", "Highest").await?;
    let lat = watch(t, || async { mirror(d, p, "apac", &apac).await.is_some() }).await;
    let apac_m = mirror(d, p, "apac", &apac).await.unwrap_or_default();
    done(format!("alice creates {apac} on apac (DC) -> mirror {apac_m} on hub"), lat);

    let t = Instant::now();
    p.edit("emea", &emea, json!({"summary": "Payment page redesign (v2)"})).await?;
    let lat =
        watch(t, || async { p.field("hub", &emea_m, "summary").await == Some(json!("Payment page redesign (v2)")) })
            .await;
    done(format!("summary edited on {emea} -> {emea_m} follows"), lat);

    let t = Instant::now();
    p.transition("emea", &emea, "11").await?;
    let lat = watch(t, || async { p.field("hub", &emea_m, "status").await == Some(json!("In Progress")) }).await;
    done(format!("{emea} moved to In Progress -> {emea_m} too"), lat);

    let t = Instant::now();
    p.edit("hub", &apac_m, json!({"priority": {"name": "Medium"}})).await?;
    let lat = watch(t, || async { p.field("apac", &apac, "priority").await == Some(json!("Medium")) }).await;
    done(format!("priority edited on the primary {apac_m} -> {apac} follows"), lat);

    let t = Instant::now();
    let (a, b) = tokio::join!(
        p.edit("emea", &emea, json!({"summary": "Redesign: emea's title"})),
        p.edit("hub", &emea_m, json!({"summary": "Redesign: hub's title"})),
    );
    a?;
    b?;
    let lat = watch(t, || async {
        let (x, y) = (p.field("emea", &emea, "summary").await, p.field("hub", &emea_m, "summary").await);
        x.is_some() && x == y
    })
    .await;
    let final_title = p.field("hub", &emea_m, "summary").await.unwrap_or_default();
    done(format!("conflicting edits on both sides -> both read {final_title}"), lat);
    Ok(steps)
}
