//! The status page at `/` as a browser sees it: the real daemon against the
//! simulator, changes flowed and one write refused, the page loaded in
//! headless Chromium (Debian package `chromium`).
//!
//! `TEST_PAGE_SCREENSHOT=<path>` also keeps the screenshot there (how
//! `docs/status-page.png` is made).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};

use super::support::process::Jirafed;
use super::support::workload::search_all;
use super::support::{Sim, tools, wait_until};

const WITHIN: Duration = Duration::from_secs(60);

/// Headless Chromium on `url` with `args`, a fresh profile each time;
/// returns its stdout.
async fn chromium(bin: &Path, profile: &Path, args: &[&str], url: &str) -> String {
    let mut cmd = tokio::process::Command::new(bin);
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
    ])
    .arg(format!("--user-data-dir={}", profile.display()))
    .args(args)
    .arg(url)
    .stdin(Stdio::null())
    .kill_on_drop(true);
    let out = tokio::time::timeout(Duration::from_secs(120), cmd.output())
        .await
        .unwrap_or_else(|_| panic!("chromium {args:?} did not end within 120 s"))
        .expect("chromium runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "chromium {args:?} failed ({}): {stderr}", out.status);
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// What each card of `kind` (`instance`, `flow`) says: name -> (its
/// `data-health`, its badge's level), from the DOM Chromium rendered.
fn cards(dom: &str, kind: &str) -> BTreeMap<String, (String, String)> {
    let mut found = BTreeMap::new();
    for section in dom.split("<section class=\"card ").skip(1) {
        let tag = section.split('>').next().unwrap_or_default();
        let (Some(name), Some(health)) = (attr(tag, &format!("data-{kind}")), attr(tag, "data-health")) else {
            continue;
        };
        let badge = attr(section, "data-badge").unwrap_or_default();
        found.insert(name, (health, badge));
    }
    found
}

/// The value of `name="..."` in `text`, first occurrence.
fn attr(text: &str, name: &str) -> Option<String> {
    let start = text.find(&format!(" {name}=\""))? + name.len() + 3;
    let len = text[start..].find('"')?;
    Some(text[start..start + len].to_string())
}

fn names(v: &Value) -> Vec<String> {
    v.as_object().map(|o| o.keys().cloned().collect()).unwrap_or_default()
}

/// Each instance and flow of the world is on the page with its health, the
/// refused write is a dead letter with Jira's own words, the created mirror
/// is among the latest writes; and a screenshot is a real PNG.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_shows_every_instance_and_flow_with_its_health() {
    let Some(browser) = tools::find("chromium", "chromium") else { return };
    let sim = Sim::start_as("alice").await;
    let state = tempfile::tempdir().expect("tempdir");
    let http = reqwest::Client::new();
    let daemon = Jirafed::start_with_webhooks(&sim, state.path()).await;

    sim.create("emea", "EMEA", "Shown on the status page", json!({})).await;
    let refused = sim.create("emea", "EMEA", "Refused by the hub later", json!({})).await;
    let mirrors = wait_until(WITHIN, "both mirrors on the hub", || async {
        let found = search_all(&sim, "hub", "project = PORT", &["summary"]).await;
        let key = |summary: &str| {
            found.iter().find(|i| i["fields"]["summary"] == summary).and_then(|i| i["key"].as_str().map(String::from))
        };
        key("Shown on the status page").zip(key("Refused by the hub later"))
    })
    .await;
    let (shown_mirror, refused_mirror) = mirrors;
    let set = sim.control("hub", "POST", "/_sim/faults", Some(&json!({"reject_issues": [refused_mirror]}))).await;
    assert_eq!(set.body["reject_issues"][0], refused_mirror.as_str(), "{:?}", set.body);
    let path = format!("{}/issue/{refused}", sim.api("emea"));
    let edit = sim.call("emea", "PUT", &path, Some(&json!({"fields": {"summary": "Refused by the hub now"}}))).await;
    assert_eq!(edit.status, 204, "{:?}", edit.body);
    let status = wait_until(WITHIN, "the refused write dead-lettered", || async {
        let s = daemon.status(&http).await;
        (s["dead_letters"].as_u64() >= Some(1)).then_some(s)
    })
    .await;

    let url = format!("http://{}/", daemon.addr);
    let profiles = tempfile::tempdir().expect("tempdir");
    // One dead letter is amber overall. A call that timed out on a busy
    // machine turns its site red until the next call is answered, so the
    // page is loaded until it says so (each time in a fresh profile).
    let loads = std::sync::atomic::AtomicUsize::new(0);
    let dom = wait_until(WITHIN, "the page to say attention (amber)", || async {
        let n = loads.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dom = chromium(&browser, &profiles.path().join(format!("dom{n}")), &["--dump-dom"], &url).await;
        let banner = dom.split("<header").nth(1).and_then(|h| h.split("</header>").next()).unwrap_or("no banner");
        if !dom.contains("<h1>jirafed: attention</h1>") {
            eprintln!("status page load {n}: <header{banner}</header>");
        }
        dom.contains("<h1>jirafed: attention</h1>").then_some(dom)
    })
    .await;

    let instances = cards(&dom, "instance");
    assert_eq!(instances.keys().cloned().collect::<Vec<_>>(), names(&status["instances"]), "{dom}");
    let flows = cards(&dom, "flow");
    assert_eq!(flows.keys().cloned().collect::<Vec<_>>(), names(&status["flows"]), "{dom}");
    let level = |name: &str, cards: &BTreeMap<String, (String, String)>| {
        let (health, badge) = cards.get(name).cloned().unwrap_or_default();
        assert_eq!(health, badge, "{name}'s card and badge agree");
        health
    };
    // The dead letter is the hub's (the write went there) and its flow's
    // latest error; everything else is healthy.
    assert_eq!(level("hub", &instances), "amber", "{dom}");
    assert_eq!((level("emea", &instances), level("apac", &instances)), ("green".into(), "green".into()), "{dom}");
    assert_eq!(level("emea-delivery", &flows), "amber", "{dom}");
    assert_eq!(level("apac-platform", &flows), "green", "{dom}");
    assert!(dom.contains("1 dead letter to handle (jirafed dead-letters)"), "{dom}");

    let dead = dom.split("<table id=\"dead-letters\">").nth(1).expect("a dead letters table");
    assert!(dead.contains(&format!("<td>{refused_mirror}</td>")), "{dead}");
    assert!(dead.contains("cannot be set"), "Jira's own message: {dead}");
    let writes = dom.split("<table id=\"writes\">").nth(1).expect("a latest writes table");
    assert!(writes.contains(&format!("<td>{shown_mirror}</td>")), "the mirror's create: {writes}");
    let charted: u64 = attr(&dom, "data-writes").and_then(|n| n.parse().ok()).unwrap_or(0);
    assert!(charted >= 2, "the chart counts the writes of the last hour: {charted}");

    let png = profiles.path().join("page.png");
    let shot = format!("--screenshot={}", png.display());
    chromium(&browser, &profiles.path().join("shot"), &[&shot, "--window-size=1280,1600"], &url).await;
    let bytes = std::fs::read(&png).expect("the screenshot is written");
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "a PNG");
    let size = |at: usize| u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]);
    assert_eq!((size(16), size(20)), (1280, 1600), "the window's size");
    // Against a blank page shot the same way here, so that fonts and the
    // browser's version do not matter: the page's text and chart weigh.
    let blank_png = profiles.path().join("blank.png");
    let blank_shot = format!("--screenshot={}", blank_png.display());
    chromium(&browser, &profiles.path().join("blank"), &[&blank_shot, "--window-size=1280,1600"], "about:blank").await;
    let blank = std::fs::read(&blank_png).expect("the blank screenshot is written").len();
    assert!(bytes.len() > 4 * blank, "a page, not a blank: {} bytes against {blank} for a blank page", bytes.len());
    if let Some(keep) = std::env::var_os("TEST_PAGE_SCREENSHOT").map(PathBuf::from) {
        std::fs::copy(&png, &keep).expect("screenshot kept");
        eprintln!("status page screenshot written to {}", keep.display());
    }
}
