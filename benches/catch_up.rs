//! How fast the daemon catches up after a stop: N old issues on each
//! secondary (emea, Cloud; apac, Data Center) and their copies on the hub,
//! seeded with `POST /_sim/seed` and paired by `jirafed import
//! FLOW --match-field summary`; the real `jirafed run` binary as a child
//! process (webhooks registered, polls every second) is started once, so that
//! every site's poll cursor is set, and stopped (SIGTERM); alice then edits
//! every one of the 2N issues while it is down; it is started again,
//! polling every 60 s as the example config does (`CATCH_UP_POLL`).
//!
//! Figures: the time from the second start until every mirror on the hub
//! holds its new summary and nothing is queued, as a ratio to the least the
//! hub's write budget allows (changes ÷ `writes_per_second`, target ≤ 1.1),
//! and the reads jirafed made per change (GETs and searches on every site,
//! target ≤ 0.05: batched).
//!
//! `cargo bench --bench catch_up` (2 × 1,000 changes at 100 writes/s);
//! `CATCH_UP_CHANGES=10000` for 10,000 changes in all, and
//! `CATCH_UP_RATE` for another hub write budget, `CATCH_UP_POLL=1s` to
//! poll as the tests do (each poll pages the 2-minute overlap again). Results go to
//! docs/benchmarks.md.

#[path = "support/child.rs"]
mod child;
use child::*;

use std::process::Stdio;
use std::time::{Duration, Instant};

use jirafed::config::Flavour;
use jirafed::harness::{self, Settings};
use jirafed::sim::{Simulator, default_world};
use serde_json::{Value, json};
use tokio::process::{Child, Command};

const BIN: &str = env!("CARGO_BIN_EXE_jirafed");
/// (site, project, flow, summary of the seeded issues and their copies).
const FLOWS: [(&str, &str, &str, &str); 2] =
    [("emea", "EMEA", "emea-delivery", "Delivery work {n}"), ("apac", "APAC", "apac-platform", "Platform work {n}")];
const GIVE_UP: Duration = Duration::from_secs(900);

fn main() -> Result<(), String> {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(|e| e.to_string())?;
    rt.block_on(run()).map_err(|e| format!("{e:#}"))
}

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.trim().parse().ok()).unwrap_or(default)
}

async fn run() -> anyhow::Result<()> {
    let changes = env_number("CATCH_UP_CHANGES", 2_000).max(2);
    let rate = env_number("CATCH_UP_RATE", 100).max(1);
    let per_site = changes / 2;
    println!("catch_up: load average before the run: {}", loadavg());
    println!("catch_up: {changes} changes, hub budget {rate} writes/s");
    let sim = Simulator::start(&default_world(0)).await.map_err(anyhow::Error::msg)?;
    let http = reqwest::Client::new();
    let mut keys = Vec::new();
    for (site, project, _, summary) in FLOWS {
        let made = seed(&http, &sim, site, project, per_site, summary).await?;
        keys.push((site, made));
        seed(&http, &sim, "hub", "PORT", per_site, summary).await?;
    }

    let dir = tempfile::tempdir()?;
    let state = dir.path().join("state");
    std::fs::create_dir_all(&state)?;
    let config = harness::write_config(dir.path())?;
    let budget = rate.to_string();
    let settings =
        Settings::poll("1s").with("WRITES_PER_SECOND", &budget).with("BURST", "10").with("READS_PER_SECOND", "1000");
    let mut env = harness::overrides(&sim, &state, &settings);
    env.push(("JIRAFED_DAEMON__RECONCILE_INTERVAL".into(), "24h".into()));
    // Both runs listen on one address, where the sites' webhooks point:
    // while jirafed is stopped they find no one (lost, as after Jira's own
    // retries); once it runs again the echoes of its writes confirm them.
    let addr = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?;
    for (k, v) in env.iter_mut() {
        if k == "JIRAFED_DAEMON__LISTEN" {
            *v = addr.to_string();
        }
    }
    harness::register_webhooks(&sim, addr).await?;
    // The run that catches up polls as the example config does.
    let poll = std::env::var("CATCH_UP_POLL").unwrap_or_else(|_| "60s".into());
    let mut catch_up_env = env.clone();
    for (k, v) in catch_up_env.iter_mut() {
        if k.ends_with("__POLL_INTERVAL") {
            *v = poll.clone();
        }
    }
    let command_with = |env: &[(String, String)], args: &[&str]| {
        let mut c = Command::new(BIN);
        c.args(args)
            .arg("--config")
            .arg(&config)
            .envs(env.iter().cloned())
            .env("RUST_LOG", "warn,jirafed::daemon=info");
        c.stdin(Stdio::null()).kill_on_drop(true);
        c
    };
    let command = |args: &[&str]| command_with(&env, args);
    for (_, _, flow, _) in FLOWS {
        let out = command(&["import", flow, "--match-field", "summary"]).output().await?;
        anyhow::ensure!(out.status.success(), "import {flow}: {}", String::from_utf8_lossy(&out.stderr));
    }

    // A first run sets every site's poll cursor; then it stops.
    let mut daemon = command(&["run"]).stdout(Stdio::null()).stderr(Stdio::piped()).spawn()?;
    wait_running(&mut daemon).await?;
    let before = all_stats(&http, &sim).await?;
    wait_for(Duration::from_secs(30), "every site polled twice", || async {
        let now = all_stats(&http, &sim).await.ok()?;
        let polled = now.iter().zip(&before).all(|((_, a), (_, b))| searches(a) >= searches(b) + 2);
        polled.then_some(())
    })
    .await?;
    stop(&mut daemon).await?;

    let edit_started = Instant::now();
    edit_all(&sim, &keys).await?;
    println!(
        "catch_up: {changes} edits made by alice in {:.1} s while jirafed was stopped",
        edit_started.elapsed().as_secs_f64()
    );

    let before = all_stats(&http, &sim).await?;
    let started = Instant::now();
    let mut daemon = command_with(&catch_up_env, &["run"]).stdout(Stdio::null()).stderr(Stdio::piped()).spawn()?;
    wait_running(&mut daemon).await?;
    let up = started.elapsed();
    let hub_writes =
        |stats: &[(&str, Value)]| stats.iter().find(|(s, _)| *s == "hub").map_or(0, |(_, v)| n(v, "mutations"));
    let hub_before = hub_writes(&before);
    wait_for(GIVE_UP, "every change written to the hub", || async {
        let now = all_stats(&http, &sim).await.ok()?;
        (hub_writes(&now) - hub_before >= changes as u64).then_some(())
    })
    .await?;
    let converged = started.elapsed();
    let after = all_stats(&http, &sim).await?;
    stop(&mut daemon).await?;
    let wrong = check_mirrors(&http, &sim, changes).await?;

    let mut reads = 0;
    for ((site, b), (_, a)) in before.iter().zip(&after) {
        let (r, gets) = (searches(a) - searches(b), n(a, "reads") - n(b, "reads"));
        let w = n(a, "mutations") - n(b, "mutations");
        println!("catch_up:   {site}: reads {r} ({gets} GETs, {} searches), writes {w}", r - gets);
        reads += r;
    }
    let writes = hub_writes(&after) - hub_before;
    let least = changes as f64 / rate as f64;
    println!(
        "catch_up: {changes} changes: converged {:.2} s after the start (running after {:.2} s); least the budget allows {least:.2} s; actual / least = {:.3} (target <= 1.1)",
        converged.as_secs_f64(),
        up.as_secs_f64(),
        converged.as_secs_f64() / least
    );
    println!(
        "catch_up: {writes} hub writes ({:.2} per change); {reads} reads, {:.4} per change (target <= 0.05); {wrong} mirror(s) without their new summary",
        writes as f64 / changes as f64,
        reads as f64 / changes as f64
    );
    sim.shutdown().await;
    Ok(())
}

fn n(stats: &Value, key: &str) -> u64 {
    stats[key].as_u64().unwrap_or(0)
}

/// Reads: GETs, and POST searches (counted in `writes` but not in
/// `mutations`).
fn searches(stats: &Value) -> u64 {
    n(stats, "reads") + n(stats, "writes") - n(stats, "mutations")
}

async fn seed(
    http: &reqwest::Client,
    sim: &Simulator,
    site: &str,
    project: &str,
    count: usize,
    summary: &str,
) -> anyhow::Result<Vec<String>> {
    let base = sim.site(site).expect("site").base_url.clone();
    let spec = json!({"project": project, "count": count, "summary": summary, "user": "alice"});
    let seeded: Value = http.post(format!("{base}/_sim/seed")).json(&spec).send().await?.json().await?;
    let keys: Vec<String> =
        seeded["keys"].as_array().into_iter().flatten().filter_map(|k| k.as_str().map(String::from)).collect();
    anyhow::ensure!(keys.len() == count, "seed {site}: {seeded}");
    Ok(keys)
}

/// Every seeded issue's summary edited by alice, eight at a time.
async fn edit_all(sim: &Simulator, keys: &[(&str, Vec<String>)]) -> anyhow::Result<()> {
    let http = reqwest::Client::new();
    let mut jobs = Vec::new();
    for (site, list) in keys {
        let info = sim.site(site).expect("site");
        let flavour = info.flavour;
        for key in list {
            jobs.push((info.base_url.clone(), flavour, key.clone()));
        }
    }
    let jobs = std::sync::Arc::new(tokio::sync::Mutex::new(jobs));
    let mut workers = Vec::new();
    for _ in 0..8 {
        let (jobs, http) = (jobs.clone(), http.clone());
        workers.push(tokio::spawn(async move {
            loop {
                let Some((base, flavour, key)) = jobs.lock().await.pop() else { return Ok::<_, anyhow::Error>(()) };
                let req = http.put(format!("{base}/rest/api/2/issue/{key}"));
                let body = json!({"fields": {"summary": format!("{key} changed while jirafed was stopped")}});
                let resp = harness::sign_in(req, flavour, "alice").json(&body).send().await?;
                anyhow::ensure!(resp.status().as_u16() == 204, "edit {key}: {}", resp.status());
            }
        }));
    }
    for w in workers {
        w.await??;
    }
    Ok(())
}

/// Mirrors on the hub whose summary is not a changed one.
async fn check_mirrors(http: &reqwest::Client, sim: &Simulator, changes: usize) -> anyhow::Result<usize> {
    let base = &sim.site("hub").expect("hub").base_url;
    let mut changed = 0;
    let mut token: Option<String> = None;
    loop {
        let mut body = json!({"jql": "project = PORT ORDER BY key ASC", "maxResults": 100, "fields": ["summary"]});
        if let Some(t) = &token {
            body["nextPageToken"] = json!(t);
        }
        let req = http.post(format!("{base}/rest/api/3/search/jql"));
        let page: Value = harness::sign_in(req, Flavour::Cloud, "alice").json(&body).send().await?.json().await?;
        for i in page["issues"].as_array().into_iter().flatten() {
            if i["fields"]["summary"].as_str().is_some_and(|s| s.ends_with("changed while jirafed was stopped")) {
                changed += 1;
            }
        }
        match page["nextPageToken"].as_str() {
            Some(t) if page["isLast"] != json!(true) => token = Some(t.to_string()),
            _ => break,
        }
    }
    Ok(changes.saturating_sub(changed))
}

async fn all_stats(http: &reqwest::Client, sim: &Simulator) -> anyhow::Result<Vec<(&'static str, Value)>> {
    let mut out = Vec::new();
    for site in ["hub", "emea", "apac"] {
        let base = &sim.site(site).expect("site").base_url;
        out.push((site, http.get(format!("{base}/_sim/stats")).send().await?.json().await?));
    }
    Ok(out)
}

async fn wait_for<T, F, Fut>(within: Duration, what: &str, mut probe: F) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let end = Instant::now() + within;
    loop {
        if let Some(v) = probe().await {
            return Ok(v);
        }
        anyhow::ensure!(Instant::now() < end, "gave up waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// SIGTERM, as `systemctl stop` sends, and the exit.
async fn stop(child: &mut Child) -> anyhow::Result<()> {
    let pid = child.id().expect("running").to_string();
    Command::new("kill").args(["-TERM", &pid]).status().await?;
    tokio::time::timeout(Duration::from_secs(30), child.wait()).await??;
    Ok(())
}
