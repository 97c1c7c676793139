//! How close the Jira transport gets to its configured write rate when the
//! site does not push back: 1,000 writes across 50 issues (sequential per
//! issue, parallel across issues) against the in-process simulator, whose
//! own write limit is far above the client's. Prints achieved ÷ configured
//! rate (target >= 0.95) and the number of 429s (target 0).
//!
//! `cargo bench --bench write_rate`; results go to docs/benchmarks.md.

#[path = "support/emea.rs"]
mod emea;
use emea::{SITE, create_issues, instance, stats};

use std::sync::Arc;
use std::time::{Duration, Instant};

use jirafed::jira::{Call, Transport};
use jirafed::sim::{Simulator, default_world};
use serde_json::json;
use tokio::task::JoinSet;

const WRITES_PER_SECOND: f64 = 50.0;
const BURST: u32 = 10;
const ISSUES: usize = 50;
const WRITES: usize = 1_000;

fn main() -> Result<(), String> {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(|e| e.to_string())?;
    rt.block_on(run())
}

async fn run() -> Result<(), String> {
    let sim = Simulator::start(&default_world(0)).await?;
    let base = sim.site(SITE).ok_or("no emea site")?.base_url.clone();
    let control = reqwest::Client::new();
    // The site allows 10x the client's rate, so any shortfall is ours.
    let faults = json!({"write_rate": {"per_second": WRITES_PER_SECOND * 10.0, "burst": 100}});
    control.post(format!("{base}/_sim/faults")).json(&faults).send().await.map_err(|e| e.to_string())?;

    let transport = Arc::new(Transport::new(&instance(&base, WRITES_PER_SECOND, BURST)?)?);
    let keys = create_issues(&transport, ISSUES).await?;
    // Let the bucket fill up again, as after any quiet spell.
    tokio::time::sleep(Duration::from_secs_f64(f64::from(BURST) / WRITES_PER_SECOND)).await;
    let rate_limited_before = stats(&control, &base).await?["rate_limited"].as_u64().unwrap_or(0);

    let started = Instant::now();
    let mut set = JoinSet::new();
    for key in keys {
        let t = transport.clone();
        set.spawn(async move {
            for n in 0..WRITES / ISSUES {
                let call =
                    Call::put(format!("/rest/api/3/issue/{key}"), json!({"fields": {"summary": format!("v{n}")}}));
                t.send(call.issue(key.clone())).await.map_err(|e| e.to_string())?;
            }
            Ok::<(), String>(())
        });
    }
    for r in set.join_all().await {
        r?;
    }
    let took = started.elapsed().as_secs_f64();
    let rate_limited = stats(&control, &base).await?["rate_limited"].as_u64().unwrap_or(0) - rate_limited_before;

    let achieved = WRITES as f64 / took;
    // The burst goes at once, so the best possible is (writes - burst) / rate.
    let ideal = (WRITES as f64 - f64::from(BURST)) / WRITES_PER_SECOND;
    println!("write_rate: {WRITES} writes across {ISSUES} issues in {took:.2} s (ideal {ideal:.2} s)");
    println!("write_rate: configured {WRITES_PER_SECOND}/s burst {BURST}, achieved {achieved:.2}/s");
    println!("write_rate: achieved / configured = {:.3}; 429s = {rate_limited}", achieved / WRITES_PER_SECOND);
    sim.shutdown().await;
    Ok(())
}
