//! A real full disk: the daemon's state folder is a small tmpfs, filled up
//! during a burst of changes. The store stops taking writes (webhooks get
//! 503, `/readyz` names the store), and once space is freed it recovers in
//! the same process; every change made on the secondaries reaches the hub.
//! Needs root to mount the tmpfs; otherwise it says `SKIPPED:` and passes.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::Value;

use super::support::process::Jirafed;
use super::support::workload::{Created, converged, create_with_edits, edit, pick};
use super::support::{Sim, wait_until};

/// The tmpfs: room for the config, the secrets and a growing redb file.
const TMPFS_SIZE: &str = "32m";
/// Issues created, and edits per create, in the burst.
const ISSUES: usize = 30;
const EDITS_PER_CREATE: usize = 4;
const WITHIN: Duration = Duration::from_secs(90);

/// A mounted tmpfs, unmounted when dropped (also on panic); its folder is
/// removed after that.
struct Tmpfs(PathBuf, #[allow(dead_code)] tempfile::TempDir);

impl Tmpfs {
    fn mount() -> Result<Tmpfs, String> {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={TMPFS_SIZE},mode=0700"), "tmpfs"])
            .arg(dir.path())
            .output()
            .map_err(|e| format!("cannot run mount: {e}"))?;
        if !out.status.success() {
            return Err(format!("mount -t tmpfs refused: {}", String::from_utf8_lossy(&out.stderr).trim()));
        }
        Ok(Tmpfs(dir.path().to_path_buf(), dir))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// Fills the file system holding `dir` until a write fails with ENOSPC.
fn fill(dir: &Path) -> PathBuf {
    let path = dir.join("filler");
    let mut file = std::fs::File::create(&path).expect("filler");
    let chunk = vec![0xa5u8; 64 * 1024];
    loop {
        if let Err(e) = file.write_all(&chunk).and_then(|()| file.sync_data()) {
            assert_eq!(e.kind(), std::io::ErrorKind::StorageFull, "filling stopped for another reason: {e}");
            break;
        }
    }
    path
}

async fn readyz(http: &reqwest::Client, daemon: &Jirafed) -> (u16, Value) {
    let r = http.get(format!("http://{}/readyz", daemon.addr)).send().await.expect("GET /readyz");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_during_a_burst_loses_nothing_and_the_store_recovers_without_restart() {
    let tmpfs = match Tmpfs::mount() {
        Ok(t) => t,
        Err(reason) => {
            eprintln!("SKIPPED: disk_full needs a tmpfs mount (root): {reason}");
            return;
        }
    };
    let sim = Sim::start_as("alice").await;
    let mut daemon = Jirafed::start(&sim, &tmpfs.0, None).await;
    let http = reqwest::Client::new();
    let file = tmpfs.0.join(jirafed::store::DB_FILE_NAME).display().to_string();

    let mut issues: Vec<Created> = Vec::new();
    let mut edits = 0;
    let mut filler = None;
    let mut saw_unready = None;
    for n in 0..ISSUES {
        create_with_edits(&sim, &mut issues, n, &mut edits, EDITS_PER_CREATE).await;
        if n == ISSUES / 3 {
            filler = Some(fill(&tmpfs.0));
        }
        if filler.is_some() && saw_unready.is_none() {
            let (code, body) = readyz(&http, &daemon).await;
            if code == 503 && body["reasons"]["store"].as_str().is_some_and(|r| r.contains(&file)) {
                saw_unready = Some(body);
            }
        }
    }
    // The disk stays full until the store has noticed; more changes make
    // the store grow until a commit fails.
    let end = tokio::time::Instant::now() + WITHIN;
    let unready = loop {
        if let Some(body) = saw_unready.take() {
            break body;
        }
        assert!(tokio::time::Instant::now() < end, "/readyz never named the store while the disk was full");
        let at = pick(edits, issues.len());
        edit(&sim, &mut issues[at], edits).await;
        edits += 1;
        let (code, body) = readyz(&http, &daemon).await;
        if code == 503 && body["reasons"]["store"].as_str().is_some_and(|r| r.contains(&file)) {
            saw_unready = Some(body);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let status = daemon.status(&http).await;
    assert_eq!(status["store"]["state"], "recovering", "{status}");
    assert!(status["store"]["last_error"].as_str().is_some_and(|e| !e.is_empty()), "{status}");
    eprintln!("while full: {unready}");

    std::fs::remove_file(filler.expect("filled")).expect("space freed");
    wait_until(WITHIN, "the store to recover", || async {
        let s = daemon.status(&http).await;
        (s["store"]["state"] == "ready" && s["store"]["recoveries"].as_u64() >= Some(1)).then_some(())
    })
    .await;
    assert!(daemon.is_running(), "recovered in the same process");

    // Every change made on the secondaries reaches the hub.
    let after = converged(&sim, &daemon, WITHIN).await;
    assert_eq!(after["dead_letters"], 0, "{after}");
    let (code, body) = readyz(&http, &daemon).await;
    assert!(code == 200 || body["reasons"].get("store").is_none(), "{body}");
    assert!(daemon.is_running());
    daemon.kill().await;
    eprintln!("{} issues, {edits} edits through a full disk", issues.len());
}
