//! `jirafed sim` start-up: the time from spawning the binary until every
//! site of the default world answers `GET /_sim/stats`.
//! Target: under one second. Prints each run and the worst as a ratio.

use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

const RUNS: usize = 10;
const TARGET: Duration = Duration::from_secs(1);

#[tokio::main]
async fn main() {
    let http = reqwest::Client::new();
    let mut times = Vec::new();
    for _ in 0..RUNS {
        match once(&http).await {
            Ok(t) => times.push(t),
            Err(e) => {
                eprintln!("sim_start: {e}");
                std::process::exit(1);
            }
        }
    }
    let ms: Vec<String> = times.iter().map(|t| format!("{:.1}", t.as_secs_f64() * 1000.0)).collect();
    let worst = times.iter().max().copied().unwrap_or_default();
    println!("sim_start: {RUNS} starts, ms: {}", ms.join(" "));
    println!(
        "sim_start: worst {:.1} ms; actual / target (1 s) = {:.3} (below 1 meets it)",
        worst.as_secs_f64() * 1000.0,
        worst.as_secs_f64() / TARGET.as_secs_f64()
    );
}

/// One start: spawn, read the sites from the banner, wait until each answers.
async fn once(http: &reqwest::Client) -> Result<Duration, String> {
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_jirafed"))
        .args(["sim", "--port-base", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| e.to_string())?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    let mut bases = Vec::new();
    while let Some(line) = lines.next_line().await.map_err(|e| e.to_string())? {
        if let Some(url) = line.split_whitespace().find(|w| w.starts_with("http://")) {
            bases.push(url.to_string());
        }
        if line.starts_with("technical users") {
            break;
        }
    }
    if bases.len() != 3 {
        return Err(format!("expected 3 sites in the banner, found {bases:?}"));
    }
    for base in &bases {
        loop {
            let ok = http.get(format!("{base}/_sim/stats")).send().await.is_ok_and(|r| r.status().is_success());
            if ok {
                break;
            }
            if started.elapsed() > Duration::from_secs(10) {
                return Err(format!("{base} did not answer within 10 s"));
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
    let took = started.elapsed();
    child.kill().await.map_err(|e| e.to_string())?;
    Ok(took)
}
