//! How the Jira transport shares a site's write budget with another client:
//! a simulated Cloud site allows 20 writes/s (burst 20), jirafed's transport
//! is configured at 20/s too, and for `RATE_SHARE_SECONDS` (default 30) a
//! background client spends 10/s of the site's budget (`/_sim/faults`
//! `background_writes_per_second`), then stops. Writers keep the transport
//! busy throughout (40 issues, sequential per issue), as a backlog would.
//!
//! Prints 429s ÷ jirafed's writes (target <= 0.01), jirafed's write rate
//! while the other client runs ÷ the rate it leaves free (target >= 0.9), and
//! the seconds after it stops until jirafed writes at its full rate again
//! (a whole second at >= 95% of 20/s; target <= 10 s).
//!
//! `cargo bench --bench rate_share`; results go to docs/benchmarks.md.

#[path = "support/emea.rs"]
mod emea;
use emea::{SITE, create_issues, instance, stats};

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use jirafed::config::defaults;
use jirafed::jira::{Call, RecordedCall, Transport};
use jirafed::sim::{Simulator, default_world};
use serde_json::{Value, json};
use tokio::task::JoinSet;

const SITE_RATE: f64 = 20.0;
const SITE_BURST: u32 = 20;
const CONFIGURED: f64 = 20.0;
const BACKGROUND: f64 = 10.0;
const ISSUES: usize = 40;
/// Alone at first, so that the load meets a transport at full speed.
const BEFORE: Duration = Duration::from_secs(5);
/// Watched after the other client stops.
const AFTER: Duration = Duration::from_secs(15);
/// What counts as full rate again: a whole second at this share of it.
const FULL: f64 = 0.95;

/// When each write attempt was answered, and how.
type Answers = Arc<Mutex<Vec<(Instant, Option<u16>)>>>;

fn main() -> Result<(), String> {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(|e| e.to_string())?;
    rt.block_on(run())
}

fn load_seconds() -> Result<u64, String> {
    match std::env::var("RATE_SHARE_SECONDS") {
        Ok(s) => s.parse().map_err(|e| format!("RATE_SHARE_SECONDS={s}: {e}")),
        Err(_) => Ok(30),
    }
}

async fn run() -> Result<(), String> {
    let load = Duration::from_secs(load_seconds()?);
    let sim = Simulator::start(&default_world(0)).await?;
    let base = sim.site(SITE).ok_or("no emea site")?.base_url.clone();
    let control = reqwest::Client::new();
    let site = json!({"write_rate": {"per_second": SITE_RATE, "burst": SITE_BURST}});
    faults(&control, &base, &site).await?;

    let answers: Answers = Arc::default();
    let log = answers.clone();
    let recorder = Arc::new(move |c: &RecordedCall| {
        if c.method == "PUT" {
            log.lock().unwrap_or_else(|p| p.into_inner()).push((Instant::now(), c.status));
        }
    });
    let transport = Arc::new(Transport::new(&instance(&base, CONFIGURED, defaults::BURST)?)?.with_recorder(recorder));
    let keys = create_issues(&transport, ISSUES).await?;
    // Let the site's bucket and the adapted rate settle after the creates.
    tokio::time::sleep(Duration::from_secs(10)).await;

    let stop = Arc::new(AtomicBool::new(false));
    let writers = spawn_writers(&transport, keys, &stop);
    let started = Instant::now();
    let allowed = sample_allowed(&transport, started, BEFORE + load + AFTER);
    tokio::time::sleep(BEFORE).await;
    let load_start = Instant::now();
    faults(&control, &base, &json!({"background_writes_per_second": BACKGROUND})).await?;
    tokio::time::sleep(load).await;
    faults(&control, &base, &json!({"background_writes_per_second": 0})).await?;
    let load_end = Instant::now();
    tokio::time::sleep(AFTER).await;
    stop.store(true, Ordering::Relaxed);
    for r in writers.join_all().await {
        r?;
    }
    let allowed = allowed.await.map_err(|e| e.to_string())?;
    let background = stats(&control, &base).await?["background"].clone();

    let answers = answers.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let ok = |from: Instant, to: Instant| {
        answers.iter().filter(|(t, s)| *t >= from && *t < to && s.is_some_and(|s| (200..300).contains(&s))).count()
    };
    let writes = ok(started, Instant::now());
    let limited = answers.iter().filter(|(_, s)| *s == Some(429)).count();
    let during = ok(load_start, load_end) as f64 / (load_end - load_start).as_secs_f64();
    let free = SITE_RATE - BACKGROUND;
    let recovered = (0..AFTER.as_millis() as u64 / 100)
        .map(|n| load_end + Duration::from_millis(100 * n))
        .find(|from| ok(*from, *from + Duration::from_secs(1)) as f64 >= FULL * CONFIGURED)
        .map(|from| (from + Duration::from_secs(1) - load_end).as_secs_f64());

    println!(
        "rate_share: site {SITE_RATE}/s burst {SITE_BURST}; jirafed configured {CONFIGURED}/s; another client {BACKGROUND}/s for {} s",
        load.as_secs()
    );
    println!(
        "rate_share: allowed write rate each second (from the start, load at {} s): {allowed:?}",
        BEFORE.as_secs()
    );
    println!("rate_share: background client wrote {} (refused {})", background["writes"], background["refused"]);
    println!(
        "rate_share: jirafed writes {writes}, 429s {limited}: 429s / writes = {:.4} (target <= 0.01)",
        limited as f64 / writes.max(1) as f64
    );
    println!(
        "rate_share: during the load {during:.2}/s of {free}/s free: achieved / free = {:.3} (target >= 0.9)",
        during / free
    );
    match recovered {
        Some(s) => println!("rate_share: full rate {s:.1} s after the other client stopped (target <= 10 s)"),
        None => println!("rate_share: full rate not reached within {} s of the stop (target <= 10 s)", AFTER.as_secs()),
    }
    sim.shutdown().await;
    Ok(())
}

/// One writer per issue, editing it over and over until `stop`.
fn spawn_writers(t: &Arc<Transport>, keys: Vec<String>, stop: &Arc<AtomicBool>) -> JoinSet<Result<(), String>> {
    let mut set = JoinSet::new();
    for key in keys {
        let (t, stop) = (t.clone(), stop.clone());
        set.spawn(async move {
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let call =
                    Call::put(format!("/rest/api/3/issue/{key}"), json!({"fields": {"summary": format!("v{n}")}}));
                t.send(call.issue(key.clone())).await.map_err(|e| e.to_string())?;
            }
            Ok(())
        });
    }
    set
}

/// The transport's allowed write rate, once a second for `span`.
fn sample_allowed(t: &Arc<Transport>, from: Instant, span: Duration) -> tokio::task::JoinHandle<Vec<f64>> {
    let t = t.clone();
    tokio::spawn(async move {
        let mut out = Vec::new();
        let mut tick = tokio::time::interval_at(tokio::time::Instant::from_std(from), Duration::from_secs(1));
        while from.elapsed() < span {
            tick.tick().await;
            out.push((t.limiter().state().writes_per_second_allowed * 10.0).round() / 10.0);
        }
        out
    })
}

async fn faults(http: &reqwest::Client, base: &str, body: &Value) -> Result<(), String> {
    let resp = http.post(format!("{base}/_sim/faults")).json(body).send().await.map_err(|e| e.to_string())?;
    resp.error_for_status().map(|_| ()).map_err(|e| e.to_string())
}
