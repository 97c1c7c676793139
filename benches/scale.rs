//! Whether the daemon's costs stay flat with the number of pairs it holds
//! (issue 14, item 1): one simulator process serving a Cloud primary
//! (`hub`) and 20 secondaries, Cloud and Data Center by turns, and the real
//! `jirafed run` as a child process with 20 flows, one per secondary.
//!
//! Per size (100 pairs, then `SCALE_PAIRS`, 10,000 by default), the pairs
//! are written into a fresh state folder through the store's public API
//! (`Op::LinkWithShadow`, 1,000 a commit, spread over the 20 flows, with a
//! poll cursor per instance as a running deployment has), pointing at
//! issues the sites do not have: no reconciliation pass runs
//! (`reconcile_interval` 24 h), so nothing reads them but the daemon's own
//! start. Then:
//!
//! a. State file: bytes per pair after seeding, once the daemon has
//!    started and after the idle window (target: reported, no bound).
//! b. Start: spawn -> "jirafed running", and spawn -> every instance's first
//!    search seen by its site (store open, in-flight state rebuilt, sites
//!    checked, first poll issued). Target <= 2 s.
//! c. RSS (`VmRSS`, peak `VmHWM`, from `/proc`) after start, after the idle
//!    window and after part e. Target <= 100 MB (10^8 bytes).
//! d. Idle, polling every 2 s, no webhooks, for 30 s: searches per instance
//!    per poll interval, from the time between each site's searches (target
//!    1), and the daemon's CPU time (utime + stime from `/proc/PID/stat`)
//!    per second, at N pairs over at 100 (target: no growth with pairs).
//! e. Propagation: webhooks registered, one issue created by alice on a
//!    Cloud and one on a Data Center secondary and their mirrors waited for,
//!    then 200 edits of their summaries one at a time, each timed from the
//!    edit's answer until the hub answers the new value. p50 and p99 at N
//!    pairs over at 100: target <= 1.10.
//!
//! f. Churn (only with `SCALE_CHURN`, a duration such as `1h`; at the
//!    largest size, after e): alice edits the two mirrored issues at
//!    `SCALE_CHURN_RATE` edits per second (10 by default) for that long; the
//!    state file's size is sampled twelve times. `SCALE_AUDIT_MAX_ENTRIES`
//!    and `SCALE_REPLAY_WINDOW` set the daemon's `audit_max_entries` and
//!    `webhook_replay_window` (the two things churn adds to the file), so
//!    that a short run reaches both bounds.
//!
//! `cargo bench --bench scale`; `SCALE_PAIRS=100000 cargo bench --bench
//! scale` for the issue's size. Results go to docs/benchmarks.md. The
//! figures are printed as ratios to the targets, never asserted.

#[path = "support/child.rs"]
mod child;
#[path = "support/stats.rs"]
mod stats;
use child::*;

use stats::{pct, sorted};

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use jirafed::clock::system_now_ms;
use jirafed::harness::{self, Person};
use jirafed::mapping::{Shadow, Value as Mapped};
use jirafed::sim::world::{SimFlavour, SiteConfig};
use jirafed::sim::{Simulator, WorldConfig, default_world};
use jirafed::store::{LinkRecord, Op, Store};
use serde_json::{Value, json};
use tokio::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_jirafed");
const SECONDARIES: usize = 20;
const PRIMARY: &str = "hub";
/// The small size every figure is compared against.
const SMALL: usize = 100;
const DEFAULT_PAIRS: usize = 10_000;
/// Pairs per store commit while seeding.
const SEED_BATCH: usize = 1_000;
const POLL: Duration = Duration::from_secs(2);
/// Long enough that the CPU clock's 10 ms ticks are under 1 % of it.
const IDLE: Duration = Duration::from_secs(30);
const EDITS: usize = 200;
const POLL_EVERY: Duration = Duration::from_millis(2);
/// Longest one change (or one mirror) may take before it counts as lost.
const GIVE_UP: Duration = Duration::from_secs(10);
const START_TARGET_S: f64 = 2.0;
const RSS_TARGET_BYTES: f64 = 100e6;
/// `/proc/PID/stat` counts CPU time in USER_HZ, 100 on Linux's ABI.
const USER_HZ: f64 = 100.0;
const EDITOR: &str = "alice";

fn main() -> Result<(), String> {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(|e| e.to_string())?;
    rt.block_on(run()).map_err(|e| format!("{e:#}"))
}

async fn run() -> anyhow::Result<()> {
    let n: usize = std::env::var("SCALE_PAIRS").ok().and_then(|v| v.trim().parse().ok()).unwrap_or(DEFAULT_PAIRS);
    println!("scale: load average before the run: {}", loadavg());
    // The first start of the binary would also count reading it from disk.
    Command::new(BIN).arg("--version").stdout(Stdio::null()).status().await?;
    let mut sizes = vec![SMALL];
    if n > SMALL {
        sizes.push(n);
    }
    let churn = std::env::var("SCALE_CHURN").ok().map(|v| humantime::parse_duration(v.trim())).transpose()?;
    let last = sizes.len() - 1;
    let mut all = Vec::new();
    for (i, size) in sizes.into_iter().enumerate() {
        let f = measure(size, churn.filter(|_| i == last)).await?;
        f.print();
        all.push(f);
    }
    if let [small, .., large] = all.as_slice() {
        compare(small, large);
    }
    println!("scale: load average after the run: {}", loadavg());
    Ok(())
}

/// What one size measured.
struct Figures {
    pairs: usize,
    file_bytes: u64,
    /// The state file once every instance has polled, and after the idle window.
    file_started: u64,
    file_idle: u64,
    seed: Duration,
    running: Duration,
    first_polls: Duration,
    rss_started_kib: u64,
    rss_idle_kib: u64,
    rss_end_kib: u64,
    hwm_kib: u64,
    /// Searches per instance per poll interval while idle: mean, min, max.
    searches: (f64, f64, f64),
    cpu_ms_per_s: f64,
    latencies: Vec<f64>,
    lost: usize,
    /// Part f: (time since the churn began, state file bytes), and edits made.
    churn: Vec<(Duration, u64)>,
    churn_edits: usize,
}

impl Figures {
    fn print(&self) {
        let n = self.pairs;
        println!(
            "scale a: {n} pairs: state file {} bytes, {:.0} bytes per pair (seeded in {:.1} s)",
            self.file_bytes,
            self.file_bytes as f64 / n as f64,
            self.seed.as_secs_f64()
        );
        println!(
            "scale a: {n} pairs: state file once started {} bytes, after the idle window {} bytes ({:.0} bytes per pair)",
            self.file_started,
            self.file_idle,
            self.file_idle as f64 / n as f64
        );
        println!(
            "scale b: {n} pairs: spawn -> running {:.3} s, spawn -> every instance's first search {:.3} s; actual / target (2 s) = {:.3}",
            self.running.as_secs_f64(),
            self.first_polls.as_secs_f64(),
            self.first_polls.as_secs_f64() / START_TARGET_S
        );
        println!(
            "scale c: {n} pairs: RSS {:.1} MB started, {:.1} MB idle, {:.1} MB after e (peak {:.1} MB); actual / target (100 MB) = {:.3} (peak {:.3})",
            mb(self.rss_started_kib),
            mb(self.rss_idle_kib),
            mb(self.rss_end_kib),
            mb(self.hwm_kib),
            mb(self.rss_end_kib.max(self.rss_idle_kib)) / 100.0,
            kib_bytes(self.hwm_kib) / RSS_TARGET_BYTES
        );
        let (mean, min, max) = self.searches;
        println!(
            "scale d: {n} pairs: searches per instance per poll interval {mean:.2} (min {min:.2}, max {max:.2}; target 1); daemon CPU {:.2} ms per s idle",
            self.cpu_ms_per_s
        );
        let s = sorted(self.latencies.clone());
        println!(
            "scale e: {n} pairs: {} edits seen on the hub, {} lost: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
            s.len(),
            self.lost,
            pct(&s, 50.0),
            pct(&s, 99.0),
            s.last().copied().unwrap_or(f64::NAN)
        );
        if let (Some((_, first)), Some((span, end))) = (self.churn.first(), self.churn.last()) {
            let samples: Vec<String> =
                self.churn.iter().map(|(t, b)| format!("{}s {:.1} MB", t.as_secs(), *b as f64 / 1e6)).collect();
            println!("scale f: {n} pairs: state file during the churn: {}", samples.join(", "));
            println!(
                "scale f: {n} pairs: {} edits in {} s; state file {:.1} MB -> {:.1} MB ({:+.0} bytes per edit); last third: {:+.1} MB",
                self.churn_edits,
                span.as_secs(),
                *first as f64 / 1e6,
                *end as f64 / 1e6,
                (*end as f64 - *first as f64) / self.churn_edits.max(1) as f64,
                (*end as f64 - self.churn[self.churn.len() * 2 / 3].1 as f64) / 1e6
            );
        }
    }
}

fn compare(small: &Figures, large: &Figures) {
    let (s, l) = (sorted(small.latencies.clone()), sorted(large.latencies.clone()));
    println!(
        "scale: {} pairs / {} pairs: propagation p50 {:.3}, p99 {:.3} (target <= 1.10); idle CPU {:.3} (target: no growth); RSS idle {:.3}; start {:.3}",
        large.pairs,
        small.pairs,
        pct(&l, 50.0) / pct(&s, 50.0),
        pct(&l, 99.0) / pct(&s, 99.0),
        large.cpu_ms_per_s / small.cpu_ms_per_s,
        large.rss_idle_kib as f64 / small.rss_idle_kib as f64,
        large.first_polls.as_secs_f64() / small.first_polls.as_secs_f64()
    );
}

fn mb(kib: u64) -> f64 {
    kib_bytes(kib) / 1e6
}

fn kib_bytes(kib: u64) -> f64 {
    kib as f64 * 1024.0
}

/// The secondaries' names, projects and flavours: `s01`..`s20`, projects
/// `SECA`..`SECT`, odd ones Cloud, even ones Data Center.
fn secondaries() -> Vec<(String, String, SimFlavour)> {
    (0..SECONDARIES)
        .map(|i| {
            let letter = char::from(b'A' + i as u8);
            let flavour = if i % 2 == 0 { SimFlavour::Cloud } else { SimFlavour::Datacenter };
            (format!("s{:02}", i + 1), format!("SEC{letter}"), flavour)
        })
        .collect()
}

/// The default world's hub, and its emea (Cloud) and apac (Data Center)
/// sites copied under new names and projects, without their seed issues.
fn world() -> WorldConfig {
    let base = default_world(0);
    let find = |name: &str| base.sites.iter().find(|s| s.name == name).cloned();
    let (Some(hub), Some(cloud), Some(dc)) = (find(PRIMARY), find("emea"), find("apac")) else {
        unreachable!("the default world has hub, emea and apac")
    };
    let mut sites = vec![hub];
    for (name, project, flavour) in secondaries() {
        let mut site: SiteConfig = if flavour == SimFlavour::Cloud { cloud.clone() } else { dc.clone() };
        site.name = name;
        site.issues.clear();
        for p in &mut site.projects {
            p.key = project.clone();
            p.name = format!("{project} delivery");
        }
        sites.push(site);
    }
    WorldConfig { sites, ..base }
}

/// The daemon's config for [`world`]: `config/demo.toml`'s instance and
/// flow settings, one flow per secondary, polling every [`POLL`], budgets
/// far above what the run needs, no reconciliation pass.
fn config_toml(sim: &Simulator, state: &Path) -> String {
    let mut out = format!(
        "[daemon]\nstate_dir = {:?}\nlisten = \"127.0.0.1:0\"\nadmin_socket = {:?}\nreconcile_interval = \"24h\"\n",
        state.display().to_string(),
        state.join("admin.sock").display().to_string()
    );
    for (var, key) in
        [("SCALE_AUDIT_MAX_ENTRIES", "audit_max_entries"), ("SCALE_REPLAY_WINDOW", "webhook_replay_window")]
    {
        if let Ok(v) = std::env::var(var) {
            let v = v.trim();
            out += &if v.parse::<u64>().is_ok() { format!("{key} = {v}\n") } else { format!("{key} = {v:?}\n") };
        }
    }
    out += "\n";
    for s in &sim.sites {
        let cloud = s.flavour == jirafed::config::Flavour::Cloud;
        let (flavour, auth) = if cloud {
            ("cloud", "{ email = \"sync-bot@example.com\", token_file = \"demo-secrets/sim-token\" }")
        } else {
            ("datacenter", "{ bearer_file = \"demo-secrets/sim-pat\" }")
        };
        let role = if s.name == PRIMARY { "primary" } else { "secondary" };
        out += &format!(
            "[instances.{}]\nrole = \"{role}\"\nflavour = \"{flavour}\"\nurl = \"{}\"\nauth = {auth}\n\
             webhook_secret_file = \"demo-secrets/webhook-secret\"\nwrites_per_second = 1000\nburst = 100\n\
             reads_per_second = 1000\npoll_interval = \"{}s\"\n\n",
            s.name,
            s.base_url,
            POLL.as_secs()
        );
    }
    for (name, project, _) in secondaries() {
        out += &format!(
            r#"[[flows]]
name = "flow-{name}"
secondary = "{name}"
scope = "project = {project}"
primary_project = "PORT"
create = "to_primary"
on_delete = "label"
conflict = "primary_wins"
links = {{ types = {{ Blocks = "Dependency", Relates = "Relates" }} }}
hierarchy = {{ parent = true }}
fields = [
  {{ secondary = "summary", primary = "summary", direction = "both" }},
  {{ secondary = "description", primary = "description", direction = "both" }},
  {{ secondary = "priority", primary = "priority", direction = "both" }},
  {{ secondary = "Story Points", primary = "Story Points", direction = "to_primary" }},
  {{ secondary = "labels", primary = "labels", direction = "both" }},
  {{ secondary = "assignee", primary = "assignee", direction = "both" }},
]
status.to_primary = {{ "To Do" = "To Do", "In Progress" = "In Progress", "In Review" = "In Review", "Blocked" = "In Progress", "Done" = "Done" }}
status.to_secondary = {{ "To Do" = "To Do", "In Progress" = "In Progress", "In Review" = "In Review", "Done" = "Done" }}

"#
        );
    }
    out
}

/// Writes `n` pairs, spread over the flows, and a poll cursor per instance
/// (now) into the store in `state`; closes it. The issue ids are far above
/// any the simulator hands out.
async fn seed_store(state: &Path, n: usize) -> anyhow::Result<()> {
    let store = Store::open(state)?;
    let secs = secondaries();
    let now = system_now_ms();
    let mut ops = Vec::with_capacity(SEED_BATCH);
    for i in 0..n {
        let (name, project, _) = &secs[i % secs.len()];
        let link = LinkRecord {
            id: 0,
            flow: format!("flow-{name}"),
            secondary: name.clone(),
            secondary_issue: (90_000_000 + i).to_string(),
            secondary_key: format!("{project}-{}", 100_000 + i),
            primary_issue: (80_000_000 + i).to_string(),
            primary_key: format!("PORT-{}", 200_000 + i),
            created_ms: now - 86_400_000,
            by_hand: false,
            pushed: false,
        };
        ops.push(Op::LinkWithShadow { link, shadow: shadow(i) });
        if ops.len() == SEED_BATCH {
            store.commit(std::mem::take(&mut ops)).await?;
        }
    }
    let mut names: Vec<String> = secs.into_iter().map(|s| s.0).collect();
    names.push(PRIMARY.to_string());
    ops.extend(names.into_iter().map(|instance| Op::CursorSet { instance, at_ms: now }));
    store.commit(ops).await?;
    Ok(())
}

/// A shadow of the size a mirrored story has: every mapped field agreed.
fn shadow(i: usize) -> Shadow {
    let values = [
        ("summary", Mapped::Text(format!("Seeded pair {i}: make the checkout page load faster"))),
        ("description", Mapped::Rich(format!("Pair {i} was seeded by the scale benchmark. Nobody reads it."))),
        ("priority", Mapped::Choice("Medium".into())),
        ("Story Points", Mapped::Number(3.0)),
        ("labels", Mapped::Choices(vec!["scale".into()])),
        ("assignee", Mapped::User("alice@example.com".into())),
    ];
    Shadow {
        values: values.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
        status_secondary: Some("To Do".into()),
        status_primary: Some("To Do".into()),
        ..Shadow::default()
    }
}

async fn measure(n: usize, churn_for: Option<Duration>) -> anyhow::Result<Figures> {
    let sim = Simulator::start(&world()).await.map_err(anyhow::Error::msg)?;
    let dir = tempfile::tempdir()?;
    harness::write_config(dir.path())?;
    let state = dir.path().join("state");
    let config = dir.path().join("scale.toml");
    std::fs::write(&config, config_toml(&sim, &state))?;

    let seeding = Instant::now();
    seed_store(&state, n).await?;
    let seed = seeding.elapsed();
    let file = state.join(jirafed::store::DB_FILE_NAME);
    let file_bytes = std::fs::metadata(&file)?.len();

    let spawned_ms = system_now_ms();
    let spawned = Instant::now();
    let mut daemon = Command::new(BIN)
        .arg("run")
        .arg("--config")
        .arg(&config)
        .env("RUST_LOG", "warn,jirafed::daemon=info")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()?;
    let pid = daemon.id().ok_or_else(|| anyhow::anyhow!("the daemon exited at once"))?;
    let listen = wait_running(&mut daemon).await?;
    let running = spawned.elapsed();
    let first_polls = first_searches(&sim, spawned_ms).await?;
    let rss_started_kib = proc_status(pid, "VmRSS")?;
    let file_started = std::fs::metadata(&file)?.len();

    // One interval for the first polls' tails, then the idle window.
    tokio::time::sleep(POLL).await;
    let (from_ms, cpu_before) = (system_now_ms(), cpu_ticks(pid)?);
    tokio::time::sleep(IDLE).await;
    let (to_ms, cpu_after) = (system_now_ms(), cpu_ticks(pid)?);
    let searches = idle_searches(&sim, from_ms, to_ms).await?;
    let cpu_ms_per_s = (cpu_after - cpu_before) as f64 / USER_HZ * 1000.0 / ((to_ms - from_ms) as f64 / 1000.0);
    let rss_idle_kib = proc_status(pid, "VmRSS")?;
    let file_idle = std::fs::metadata(&file)?.len();

    let listen = listen.ok_or_else(|| anyhow::anyhow!("the running line names no address"))?;
    harness::register_webhooks(&sim, listen).await?;
    let (pairs, latencies, lost) = propagation(&sim).await?;
    let (churn, churn_edits) = match churn_for {
        Some(span) => churn(&sim, &pairs, &file, span).await?,
        None => (Vec::new(), 0),
    };
    let rss_end_kib = proc_status(pid, "VmRSS")?;
    let hwm_kib = proc_status(pid, "VmHWM")?;
    daemon.kill().await?;
    sim.shutdown().await;
    Ok(Figures {
        pairs: n,
        file_bytes,
        file_started,
        file_idle,
        seed,
        running,
        first_polls,
        rss_started_kib,
        rss_idle_kib,
        rss_end_kib,
        hwm_kib,
        searches,
        cpu_ms_per_s,
        latencies,
        lost,
        churn,
        churn_edits,
    })
}

/// A request to a site's issue search (not the user search).
fn is_search(entry: &Value) -> bool {
    let t = entry["template"].as_str().unwrap_or_default();
    t.contains("/search") && !t.contains("/user/search")
}

async fn log(sim: &Simulator, site: &str) -> anyhow::Result<Vec<Value>> {
    let base = &sim.site(site).ok_or_else(|| anyhow::anyhow!("no site {site}"))?.base_url;
    let v: Value = reqwest::get(format!("{base}/_sim/log")).await?.json().await?;
    Ok(v["requests"].as_array().cloned().unwrap_or_default())
}

/// Time from `since_ms` until every site has seen its first search.
async fn first_searches(sim: &Simulator, since_ms: i64) -> anyhow::Result<Duration> {
    let end = Instant::now() + Duration::from_secs(60);
    loop {
        let mut latest = Some(since_ms);
        for s in &sim.sites {
            let first = log(sim, &s.name)
                .await?
                .iter()
                .filter(|e| is_search(e))
                .filter_map(|e| e["at_ms"].as_i64())
                .find(|at| *at >= since_ms);
            latest = match (latest, first) {
                (Some(l), Some(f)) => Some(l.max(f)),
                _ => None,
            };
        }
        if let Some(at) = latest {
            return Ok(Duration::from_millis(u64::try_from(at - since_ms).unwrap_or(0)));
        }
        anyhow::ensure!(Instant::now() < end, "some instance was never polled");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Searches per instance per poll interval in `[from_ms, to_ms)`, from the
/// time between an instance's first and last search there (a window holds
/// a fraction of an interval more or less than its length says): mean,
/// min, max over the instances.
async fn idle_searches(sim: &Simulator, from_ms: i64, to_ms: i64) -> anyhow::Result<(f64, f64, f64)> {
    let mut per = Vec::new();
    for s in &sim.sites {
        let at: Vec<i64> = log(sim, &s.name)
            .await?
            .iter()
            .filter(|e| is_search(e))
            .filter_map(|e| e["at_ms"].as_i64())
            .filter(|at| (from_ms..to_ms).contains(at))
            .collect();
        let (Some(first), Some(last)) = (at.first(), at.last()) else {
            per.push(0.0);
            continue;
        };
        let span = (last - first).max(1) as f64 / POLL.as_millis() as f64;
        per.push((at.len() - 1) as f64 / span);
    }
    let mean = per.iter().sum::<f64>() / per.len().max(1) as f64;
    let min = per.iter().copied().fold(f64::INFINITY, f64::min);
    let max = per.iter().copied().fold(0.0, f64::max);
    Ok((mean, min, max))
}

/// A secondary issue and its mirror on the hub: (site, key, mirror's key).
type Pair = (String, String, String);

/// Part e: returns the pairs made, the latencies (ms) of the edits seen and
/// how many were lost.
async fn propagation(sim: &Simulator) -> anyhow::Result<(Vec<Pair>, Vec<f64>, usize)> {
    let alice = Person::new(sim, EDITOR);
    let secs = secondaries();
    let mut pairs = Vec::new();
    // The first secondary is Cloud, the second Data Center.
    for (name, project, _) in secs.iter().take(2) {
        let summary = format!("scale bench {name}");
        let fields = json!({"project": {"key": project}, "issuetype": {"name": "Story"}, "summary": summary});
        let key = alice.create(name, fields).await?;
        let mirror = harness::wait_for(GIVE_UP, || mirror_on_hub(&alice, &summary))
            .await
            .ok_or_else(|| anyhow::anyhow!("no mirror of {name} {key}"))?;
        pairs.push((name.clone(), key, mirror));
    }
    // Let the mirrors' own follow-up writes finish.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let mut seen = Vec::with_capacity(EDITS);
    let mut lost = 0;
    for i in 0..EDITS {
        let (site, key, mirror) = &pairs[i % pairs.len()];
        let value = format!("scale edit {i}");
        alice.edit(site, key, json!({"summary": value})).await?;
        let edited = Instant::now();
        match arrival(&alice, mirror, &value, edited + GIVE_UP).await {
            Some(()) => seen.push(edited.elapsed().as_secs_f64() * 1000.0),
            None => lost += 1,
        }
    }
    Ok((pairs, seen, lost))
}

/// Part f: edits of `pairs` at `SCALE_CHURN_RATE` per second for `span`;
/// returns `file`'s size sampled twelve times, and the edits made.
async fn churn(
    sim: &Simulator,
    pairs: &[Pair],
    file: &Path,
    span: Duration,
) -> anyhow::Result<(Vec<(Duration, u64)>, usize)> {
    let rate: f64 = std::env::var("SCALE_CHURN_RATE").ok().and_then(|v| v.trim().parse().ok()).unwrap_or(10.0);
    let alice = Person::new(sim, EDITOR);
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / rate.max(0.01)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let every = span / 12;
    let started = Instant::now();
    let mut samples = vec![(Duration::ZERO, std::fs::metadata(file)?.len())];
    let mut edits = 0;
    while started.elapsed() < span {
        tick.tick().await;
        let (site, key, _) = &pairs[edits % pairs.len()];
        alice.edit(site, key, json!({"summary": format!("churn edit {edits}")})).await?;
        edits += 1;
        if started.elapsed() >= every * samples.len() as u32 {
            samples.push((started.elapsed(), std::fs::metadata(file)?.len()));
        }
    }
    // What was queued last is written before the last sample.
    tokio::time::sleep(Duration::from_secs(2)).await;
    samples.push((started.elapsed(), std::fs::metadata(file)?.len()));
    Ok((samples, edits))
}

/// Reads `mirror`'s summary on the hub every [`POLL_EVERY`] until it is
/// `want`; `None` past `until`.
async fn arrival(alice: &Person, mirror: &str, want: &str, until: Instant) -> Option<()> {
    loop {
        if alice.field(PRIMARY, mirror, "summary").await.is_some_and(|v| v == want) {
            return Some(());
        }
        if Instant::now() > until {
            return None;
        }
        tokio::time::sleep(POLL_EVERY).await;
    }
}

/// The key of the hub's issue whose summary is `summary`, if there is one.
async fn mirror_on_hub(alice: &Person, summary: &str) -> Option<String> {
    let path = "/rest/api/3/search/jql?jql=project%20%3D%20PORT&fields=summary&maxResults=100";
    let found = alice.call(PRIMARY, reqwest::Method::GET, path, None).await.ok()?;
    let issues = found["issues"].as_array()?;
    let hit = issues.iter().find(|i| i["fields"]["summary"] == summary)?;
    hit["key"].as_str().map(str::to_string)
}
