//! The state file at start and offline: a damaged file stops `jirafed run`
//! with exit 65 naming the file; an empty file where a store existed is
//! refused until `--init`; `jirafed state check` on good and bad files;
//! `jirafed state backup` while the daemon runs gives a file that checks
//! clean and holds what the daemon had.

use std::path::Path;
use std::time::Duration;

use jirafed::store::{DB_FILE_NAME, Op, Store, marker_path};

use super::support::process::{Jirafed, jirafed_once};
use super::support::workload::idle;
use super::support::{Sim, wait_until};

/// The exit code of a damaged, missing or empty state file (EX_DATAERR).
const DATA_ERROR: i32 = 65;

/// Issues the default world seeds on the secondaries.
const SEEDED: u64 = 4;

/// A state folder holding a store with `links` links, closed.
fn populated(state: &Path, links: u64) {
    let store = Store::open(state).expect("store opens");
    for i in 0..links {
        let link = jirafed::store::LinkRecord {
            id: 0,
            flow: "emea-delivery".to_string(),
            secondary: "emea".to_string(),
            secondary_issue: format!("{}", 10_000 + i),
            secondary_key: format!("EMEA-{i}"),
            primary_issue: format!("{}", 20_000 + i),
            primary_key: format!("PORT-{i}"),
            created_ms: 0,
            by_hand: false,
            pushed: false,
        };
        store.commit_blocking(vec![Op::LinkPut(link)]).expect("link stored");
    }
}

/// Flips the bytes after the first page, as a failing disk might.
fn damage(file: &Path) {
    let mut bytes = std::fs::read(file).expect("state file");
    let len = bytes.len();
    for b in &mut bytes[4096..len - 1] {
        *b ^= 0x5a;
    }
    std::fs::write(file, bytes).expect("damaged");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_state_file_stops_run_with_exit_65_naming_the_file() {
    let sim = Sim::start_as("alice").await;
    let state = tempfile::tempdir().expect("tempdir");
    populated(state.path(), 30);
    let file = state.path().join(DB_FILE_NAME);
    damage(&file);

    let (code, _, stderr) = jirafed_once(&sim, state.path(), &["run"]).await;
    assert_eq!(code, DATA_ERROR, "{stderr}");
    assert!(stderr.contains(&file.display().to_string()) && stderr.contains("damaged"), "{stderr}");

    let (code, _, stderr) =
        jirafed_once(&sim, state.path(), &["state", "check", "--file", &file.display().to_string()]).await;
    assert_eq!(code, DATA_ERROR, "{stderr}");
    assert!(stderr.contains(&file.display().to_string()), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_state_file_where_a_store_existed_is_refused_until_init() {
    let sim = Sim::start_as("alice").await;
    let state = tempfile::tempdir().expect("tempdir");
    populated(state.path(), 3);
    let file = state.path().join(DB_FILE_NAME);
    assert!(marker_path(&file).exists(), "the first start leaves the marker");
    std::fs::write(&file, b"").expect("truncated");

    let (code, _, stderr) = jirafed_once(&sim, state.path(), &["run"]).await;
    assert_eq!(code, DATA_ERROR, "{stderr}");
    assert!(stderr.contains("empty") && stderr.contains("--init"), "{stderr}");
    assert_eq!(std::fs::metadata(&file).expect("still there").len(), 0, "nothing was created");

    let daemon = Jirafed::start_args(&sim, state.path(), None, &["--init"]).await;
    daemon.kill().await;
    assert!(std::fs::metadata(&file).expect("created").len() > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn state_check_reports_a_good_file_and_refuses_an_empty_one() {
    let sim = Sim::start_as("alice").await;
    let state = tempfile::tempdir().expect("tempdir");
    populated(state.path(), 7);
    let (code, stdout, stderr) = jirafed_once(&sim, state.path(), &["state", "check"]).await;
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("links: 7") && stdout.contains("integrity: clean"), "{stdout}");
    assert!(stdout.contains(&format!("schema version: {}", jirafed::store::SCHEMA_VERSION)), "{stdout}");

    let empty = state.path().join("empty.redb");
    std::fs::write(&empty, b"").expect("empty file");
    let (code, _, stderr) =
        jirafed_once(&sim, state.path(), &["state", "check", "--file", &empty.display().to_string()]).await;
    assert_eq!(code, DATA_ERROR, "{stderr}");
    assert!(stderr.contains("empty.redb"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_while_the_daemon_runs_checks_clean_and_holds_its_links() {
    let sim = Sim::start_as("alice").await;
    let state = tempfile::tempdir().expect("tempdir");
    let daemon = Jirafed::start(&sim, state.path(), None).await;
    let http = reqwest::Client::new();
    // The seeded issues and alice's new one are mirrored, and all is quiet.
    sim.create("emea", "EMEA", "backed up", serde_json::json!({})).await;
    let links = wait_until(Duration::from_secs(30), "every issue mirrored, nothing queued", || async {
        let status = daemon.status(&http).await;
        let links = status["links"].as_u64().unwrap_or(0);
        (links > SEEDED && idle(&status)).then_some(links)
    })
    .await;

    let backup = state.path().join("backup.redb");
    let dest = backup.display().to_string();
    let (code, stdout, stderr) = jirafed_once(&sim, state.path(), &["state", "backup", &dest]).await;
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains(&format!("links: {links}")), "{stdout}");
    let (code, _, stderr) = jirafed_once(&sim, state.path(), &["state", "backup", &dest]).await;
    assert_eq!(code, 1, "an existing backup is not overwritten: {stderr}");
    assert!(stderr.contains("--force"), "{stderr}");
    let (code, _, stderr) = jirafed_once(&sim, state.path(), &["state", "backup", &dest, "--force"]).await;
    assert_eq!(code, 0, "{stderr}");

    // The live file is held by the daemon: the check goes through it.
    let (code, stdout, stderr) = jirafed_once(&sim, state.path(), &["state", "check"]).await;
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("running daemon"), "{stdout}");
    daemon.kill().await;

    let (code, stdout, stderr) = jirafed_once(&sim, state.path(), &["state", "check", "--file", &dest]).await;
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("integrity: clean") && stdout.contains(&format!("links: {links}")), "{stdout}");
}
