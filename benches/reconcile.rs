//! Whether the daemon's memory stays flat with the number of pairs while a
//! reconciliation pass reads them all: N old issues on apac and N copies on
//! the hub (seeded with `POST /_sim/seed`), paired by `jirafed import
//! apac-platform --match-field summary` (standalone), then `jirafed run` as
//! a child process and `jirafed resync apac-platform` through it.
//!
//! Per N (1,000 and 20,000, or `RECONCILE_PAIRS=a,b,...`): the daemon's RSS
//! once started and after the pass (`VmRSS`, and its peak `VmHWM`, from
//! `/proc`), the pass's duration, and the searches it made on each side
//! (target: one per 50 pairs). The figure to compare is the RSS after the
//! pass at the largest N over the smallest (target ≤ 1.10).
//!
//! `cargo bench --bench reconcile`; results go to docs/benchmarks.md.

#[path = "support/child.rs"]
mod child;
use child::*;

use std::process::Stdio;

use jirafed::harness::{self, Settings};
use jirafed::sim::{Simulator, default_world};
use serde_json::{Value, json};
use tokio::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_jirafed");

fn main() -> Result<(), String> {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(|e| e.to_string())?;
    rt.block_on(run()).map_err(|e| format!("{e:#}"))
}

struct Figures {
    pairs: u64,
    rss_started_kib: u64,
    rss_after_kib: u64,
    hwm_kib: u64,
    pass: String,
    searches: (u64, u64),
}

async fn run() -> anyhow::Result<()> {
    let sizes: Vec<usize> = std::env::var("RECONCILE_PAIRS")
        .ok()
        .map(|v| v.split(',').filter_map(|s| s.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![1_000, 20_000]);
    let mut all = Vec::new();
    for n in sizes {
        let f = measure(n).await?;
        println!(
            "reconcile: {} pairs: RSS {:.1} MiB started, {:.1} MiB after the pass (peak {:.1} MiB); {} searches on apac, {} on the hub; {}",
            f.pairs,
            mib(f.rss_started_kib),
            mib(f.rss_after_kib),
            mib(f.hwm_kib),
            f.searches.0,
            f.searches.1,
            f.pass.trim()
        );
        all.push(f);
    }
    if let (Some(small), Some(large)) = (all.first(), all.last()) {
        println!(
            "reconcile: RSS after the pass at {} pairs / at {} pairs = {:.3} (target <= 1.10); peak {:.3}",
            large.pairs,
            small.pairs,
            large.rss_after_kib as f64 / small.rss_after_kib as f64,
            large.hwm_kib as f64 / small.hwm_kib as f64
        );
    }
    Ok(())
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

async fn measure(n: usize) -> anyhow::Result<Figures> {
    let sim = Simulator::start(&default_world(0)).await.map_err(anyhow::Error::msg)?;
    let http = reqwest::Client::new();
    for (site, project) in [("apac", "APAC"), ("hub", "PORT")] {
        let base = sim.site(site).expect("site").base_url.clone();
        let spec = json!({"project": project, "count": n, "summary": "Platform work {n}", "user": "alice"});
        let seeded: Value = http.post(format!("{base}/_sim/seed")).json(&spec).send().await?.json().await?;
        anyhow::ensure!(seeded["keys"].as_array().map(Vec::len) == Some(n), "seed {site}: {seeded}");
    }
    let dir = tempfile::tempdir()?;
    let state = dir.path().join("state");
    std::fs::create_dir_all(&state)?;
    let config = harness::write_config(dir.path())?;
    let settings =
        Settings::poll("1h").with("WRITES_PER_SECOND", "1000").with("BURST", "100").with("READS_PER_SECOND", "1000");
    let mut env = harness::overrides(&sim, &state, &settings);
    env.push(("JIRAFED_DAEMON__RECONCILE_INTERVAL".into(), "1h".into()));
    let command = |args: &[&str]| {
        let mut c = Command::new(BIN);
        c.args(args)
            .arg("--config")
            .arg(&config)
            .envs(env.iter().cloned())
            .env("RUST_LOG", "warn,jirafed::daemon=info");
        c.stdin(Stdio::null()).kill_on_drop(true);
        c
    };

    let out = command(&["import", "apac-platform", "--match-field", "summary"]).output().await?;
    anyhow::ensure!(out.status.success(), "import: {}", String::from_utf8_lossy(&out.stderr));

    let mut daemon = command(&["run"]).stdout(Stdio::null()).stderr(Stdio::piped()).spawn()?;
    let pid = daemon.id().expect("running");
    wait_running(&mut daemon).await?;
    let rss_started_kib = proc_status(pid, "VmRSS")?;

    let searches = |stats: &Value| stats["reads"].as_u64().unwrap_or(0) + stats["writes"].as_u64().unwrap_or(0);
    let mut before = Vec::new();
    for site in ["apac", "hub"] {
        before.push(searches(&stats(&http, &sim, site).await?));
    }
    let out = command(&["resync", "apac-platform"]).output().await?;
    anyhow::ensure!(out.status.success(), "resync: {}", String::from_utf8_lossy(&out.stderr));
    let rss_after_kib = proc_status(pid, "VmRSS")?;
    let hwm_kib = proc_status(pid, "VmHWM")?;
    let mut spent = Vec::new();
    for (i, site) in ["apac", "hub"].into_iter().enumerate() {
        spent.push(searches(&stats(&http, &sim, site).await?) - before[i]);
    }
    daemon.kill().await?;
    sim.shutdown().await;
    let pass = String::from_utf8_lossy(&out.stdout).into_owned();
    let pairs = pass.split(": ").nth(1).and_then(|s| s.split(' ').next()).and_then(|s| s.parse().ok()).unwrap_or(0);
    Ok(Figures { pairs, rss_started_kib, rss_after_kib, hwm_kib, pass, searches: (spent[0], spent[1]) })
}

async fn stats(http: &reqwest::Client, sim: &Simulator, site: &str) -> anyhow::Result<Value> {
    let base = &sim.site(site).expect("site").base_url;
    Ok(http.get(format!("{base}/_sim/stats")).send().await?.json().await?)
}
