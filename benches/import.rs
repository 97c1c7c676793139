//! How much of the target's write budget `jirafed import` uses: N old
//! issues on emea (N = 1,000 or `IMPORT_ISSUES`; 20 epics, the rest their
//! children, 100 "Blocks" links; seeded with `POST /_sim/seed`) imported
//! into the hub, whose `writes_per_second` is 50 (burst 10), the reads'
//! budget far above what the run needs. The import runs in-process as the
//! standalone command does: the plan, then the planner and writers (no
//! polls) until every create is made, then until the links are written.
//!
//! Measured from the hub's request log: jirafed's writes there (creates,
//! links), from the first to the last. Their best possible duration is
//! (writes − burst) ÷ rate; the budget use is that ÷ the duration seen
//! (target ≥ 0.95). Also: every issue mirrored once, and the time the plan
//! took.
//!
//! `cargo bench --bench import`; results go to docs/benchmarks.md.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use jirafed::clock::Clock;
use jirafed::harness::{Settings, config_for};
use jirafed::observe::Observer;
use jirafed::sim::{Simulator, default_world};
use jirafed::store::Store;
use jirafed::sync::Engine;
use jirafed::sync::import::{self, ImportRequest, Progress};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

const WRITES_PER_SECOND: f64 = 50.0;
const BURST: u32 = 10;
const EPICS: usize = 20;
const LINKS: usize = 100;

fn main() -> Result<(), String> {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(|e| e.to_string())?;
    rt.block_on(run()).map_err(|e| format!("{e:#}"))
}

async fn run() -> anyhow::Result<()> {
    let n: usize = std::env::var("IMPORT_ISSUES").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000);
    let sim = Simulator::start(&default_world(0)).await.map_err(anyhow::Error::msg)?;
    let emea = sim.site("emea").expect("emea").base_url.clone();
    let hub = sim.site("hub").expect("hub").base_url.clone();
    let http = reqwest::Client::new();
    let spec = json!({"project": "EMEA", "count": n, "epics": EPICS, "links": LINKS, "user": "alice"});
    let seeded: Value = http.post(format!("{emea}/_sim/seed")).json(&spec).send().await?.json().await?;
    anyhow::ensure!(seeded["keys"].as_array().map(Vec::len) == Some(n), "seed: {seeded}");

    let dir = tempfile::tempdir()?;
    let settings = Settings::poll("60s")
        .with("WRITES_PER_SECOND", &WRITES_PER_SECOND.to_string())
        .with("BURST", &BURST.to_string())
        .with("READS_PER_SECOND", "1000");
    let config = Arc::new(config_for(&sim, dir.path(), &dir.path().join("state"), &settings)?);
    let store = Store::open(&config.daemon.state_dir)?;
    let observer = Arc::new(Observer::new(&config));
    let engine = Arc::new(Engine::prepare(config, store, observer, Clock::system()).await?);

    let req = ImportRequest { flow: "emea-delivery".into(), jql: None, dry_run: false, limit: None, match_field: None };
    let planning = Instant::now();
    let plan = import::plan(&engine, &req).await?;
    let planned_in = planning.elapsed();
    let cancel = CancellationToken::new();
    let mut tasks = engine.spawn_writing(&cancel);
    let progress = Arc::new(Mutex::new(Progress::default()));
    tokio::spawn(import::execute(engine.clone(), plan.clone(), progress.clone()));
    loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if progress.lock().expect("progress").finished {
            break;
        }
    }
    // The links trail the creates.
    let deadline = Instant::now() + Duration::from_secs(120);
    while Instant::now() < deadline {
        let queued = engine.store.inbox_depth()? + engine.store.outbox_depth("hub")?;
        if queued == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    cancel.cancel();
    while tasks.join_next().await.is_some() {}
    let p = progress.lock().expect("progress").clone();
    anyhow::ensure!(p.error.is_none() && p.failed.is_empty(), "the import failed: {p:?}");

    let log: Value = http.get(format!("{hub}/_sim/log")).send().await?.json().await?;
    let mut writes: Vec<i64> = Vec::new();
    let mut by_template: BTreeMap<String, usize> = BTreeMap::new();
    for r in log["requests"].as_array().into_iter().flatten() {
        let (method, template) = (r["method"].as_str().unwrap_or(""), r["template"].as_str().unwrap_or(""));
        if method == "GET" || template.contains("/search") {
            continue;
        }
        writes.push(r["at_ms"].as_i64().unwrap_or(0));
        *by_template.entry(format!("{method} {template}")).or_default() += 1;
    }
    writes.sort_unstable();
    let (first, last) = (writes.first().copied().unwrap_or(0), writes.last().copied().unwrap_or(0));
    let span = (last - first) as f64 / 1000.0;
    let ideal = (writes.len() as f64 - f64::from(BURST)) / WRITES_PER_SECOND;
    let mut pairs = 0;
    let mut after = None;
    while let Some(last) = engine.store.links_after(after, 500)?.last().map(|l| l.id) {
        pairs += engine.store.links_after(after, 500)?.len();
        after = Some(last);
    }
    println!("import: {n} issues ({EPICS} epics, {LINKS} links) planned in {:.2} s", planned_in.as_secs_f64());
    println!("import: created {} of {}, {} failed; {pairs} pairs", p.created, p.to_create, p.failed.len());
    println!("import: hub writes by path: {by_template:?}");
    println!(
        "import: {} writes in {span:.2} s at {WRITES_PER_SECOND}/s burst {BURST} (best {ideal:.2} s): budget use = {:.3}",
        writes.len(),
        ideal / span
    );
    sim.shutdown().await;
    Ok(())
}
