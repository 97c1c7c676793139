//! The `jirafed run` child process the benchmarks start and watch, and the
//! machine they run on (included with `#[path]`).
#![allow(dead_code)] // not every benchmark uses every one

use std::path::Path;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Child;

/// Waits for the daemon's "jirafed running" line; returns the address it
/// listens on when the line says (its log goes on being read, so that it
/// never blocks on a full pipe; lines above `INFO` are shown).
pub async fn wait_running(child: &mut Child) -> anyhow::Result<Option<std::net::SocketAddr>> {
    let stderr = child.stderr.take().ok_or_else(|| anyhow::anyhow!("no stderr"))?;
    let (ready, running) = tokio::sync::oneshot::channel::<String>();
    tokio::spawn(async move {
        let mut ready = Some(ready);
        let mut lines = BufReader::new(stderr).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            let v: Value = serde_json::from_str(&line).unwrap_or(Value::Null);
            if line.contains("jirafed running") {
                let listen = v["listen"].as_str().unwrap_or_default().to_string();
                ready.take().map(|r| r.send(listen));
            } else if v["level"] == "WARN" || v["level"] == "ERROR" {
                eprintln!("daemon: {line}");
            }
        }
    });
    let listen = tokio::time::timeout(Duration::from_secs(60), running).await??;
    Ok(listen.parse().ok())
}

/// A `kB` line of `/proc/PID/status`.
pub fn proc_status(pid: u32, name: &str) -> anyhow::Result<u64> {
    let text = std::fs::read_to_string(Path::new("/proc").join(pid.to_string()).join("status"))?;
    let line = text.lines().find(|l| l.starts_with(&format!("{name}:")));
    let kib = line.and_then(|l| l.split_whitespace().nth(1)).and_then(|v| v.parse().ok());
    kib.ok_or_else(|| anyhow::anyhow!("no {name} in /proc/{pid}/status"))
}

/// utime + stime of a process, in USER_HZ ticks (`/proc/PID/stat` fields
/// 14 and 15, counted after the command name's closing parenthesis).
pub fn cpu_ticks(pid: u32) -> anyhow::Result<u64> {
    let text = std::fs::read_to_string(Path::new("/proc").join(pid.to_string()).join("stat"))?;
    let rest = text.rsplit_once(')').map(|(_, r)| r).unwrap_or_default();
    let fields: Vec<u64> = rest.split_whitespace().skip(11).take(2).filter_map(|f| f.parse().ok()).collect();
    anyhow::ensure!(fields.len() == 2, "no CPU times in /proc/{pid}/stat");
    Ok(fields[0] + fields[1])
}

/// The machine's load average, to tell a busy machine's numbers apart.
pub fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}
