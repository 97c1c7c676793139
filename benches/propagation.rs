//! How fast, and at what cost in Jira calls, a change on a secondary reaches
//! the primary when webhooks carry it: the in-process simulator (no injected
//! latency) and the real daemon (`Daemon::start`, config/demo.toml), signed
//! webhooks registered on every site, polling every 60 s so that webhooks do
//! the work.
//!
//! a. 200 edits of a summary, one at a time (half on emea, Cloud; half on
//!    apac, Data Center), each timed from the edit's HTTP answer until the
//!    hub answers the new value (polled every 2 ms). Target p50 <= 10 ms
//!    (the first change of a quiet issue waits for no window), p99 <= 250 ms. The engine's own `latency_ms` (webhook received to write
//!    committed) is reported beside it.
//! b. Jira calls jirafed made per propagated change, from `/_sim/stats`
//!    deltas minus the benchmark's own calls. Target <= 2 (one read, one
//!    write) and no write at all on the secondaries (no echo).
//! c. Ten rapid edits of one issue: hub writes to its mirror, from
//!    `/_sim/log`. Target <= 2.
//! d. Mirror creates: hub writes per create against the minimum, one write
//!    (the provenance mark travels in the create) plus one transition per
//!    workflow step when the status is not the first one.
//!
//! `cargo bench --bench propagation`; results go to docs/benchmarks.md.
//! `PROPAGATION_TIMELINE=1` also prints the calls of part c in time order.

#[path = "support/stats.rs"]
mod stats;
use stats::{pct, sorted};

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use jirafed::config;
use jirafed::harness::{self, Settings, World};
use jirafed::observe::EngineEvent;
use jirafed::sim::Simulator;
use serde_json::{Value, json};
use tokio::sync::broadcast;

const EDITS: usize = 200;
const RAPID_EDITS: usize = 10;
const POLL_EVERY: Duration = Duration::from_millis(2);
/// Longest one change may take before it counts as lost.
const GIVE_UP: Duration = Duration::from_secs(10);
/// No call on any site for this long: the engine is idle.
const QUIET: Duration = Duration::from_millis(1500);
const SITES: [&str; 3] = ["hub", "emea", "apac"];
const SECONDARIES: [(&str, &str); 2] = [("emea", "EMEA"), ("apac", "APAC")];
/// The person who edits the secondaries (not the technical user).
const EDITOR: &str = "alice";

fn main() -> Result<(), String> {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(|e| e.to_string())?;
    rt.block_on(run())
}

async fn run() -> Result<(), String> {
    println!("propagation: load average before the run: {}", loadavg());
    // Polling every 60 s so that webhooks do the work; budgets far above
    // what the run needs, so that the limiter is not what is measured.
    let settings =
        Settings::poll("60s").with("READS_PER_SECOND", "1000").with("WRITES_PER_SECOND", "1000").with("BURST", "100");
    let world = World::start_with(0, None, &settings, read_target).await.map_err(|e| format!("{e:#}"))?;
    let j = Jira::new(&world.sim);
    let alice = world.person(EDITOR);
    let mut events = world.daemon.events();
    let mut pairs = Vec::new();
    for (site, project) in SECONDARIES {
        let key = j.create(site, project, "propagation bench").await?;
        let mirror = alice
            .mirror_of(world.daemon.store(), site, &key, GIVE_UP)
            .await
            .ok_or(format!("no mirror of {site} {key}"))?;
        pairs.push(Pair { site, key, mirror });
    }
    settle(&j).await?;
    drain(&mut events);
    one_at_a_time(&j, &mut events, &pairs).await?;
    rapid(&j, &pairs[0]).await?;
    settle(&j).await?;
    creates(&j, &world).await?;
    world.shutdown().await;
    Ok(())
}

/// `PROPAGATION_READ_TARGET=always` measures the flows reading the mirror
/// before every write.
fn read_target(cfg: &mut config::Config) {
    if std::env::var("PROPAGATION_READ_TARGET").as_deref() == Ok("always") {
        for f in &mut cfg.flows {
            f.read_target = config::ReadTarget::Always;
        }
    }
}

/// A secondary issue and its mirror on the hub.
struct Pair {
    site: &'static str,
    key: String,
    mirror: String,
}

/// a and b: `EDITS` edits, each waited for on the hub before the next.
async fn one_at_a_time(j: &Jira, events: &mut broadcast::Receiver<EngineEvent>, pairs: &[Pair]) -> Result<(), String> {
    let before = j.all_stats().await?;
    let mut own = Own::default();
    let mut seen = Vec::with_capacity(EDITS);
    let mut engine = Vec::with_capacity(EDITS);
    let mut lost = 0;
    for i in 0..EDITS {
        let p = &pairs[i % pairs.len()];
        let value = format!("propagation edit {i}");
        j.edit(p.site, &p.key, &value).await?;
        own.edit(p.site);
        let edited = Instant::now();
        match j.wait_summary(&p.mirror, &value, edited + GIVE_UP, &mut own).await? {
            Some(()) => seen.push((p.site, edited.elapsed().as_secs_f64() * 1000.0)),
            None => lost += 1,
        }
        if let Some(ms) = written(events, &p.mirror, Instant::now() + GIVE_UP).await {
            engine.push(ms as f64);
        }
    }
    // The echoes (the hub's webhooks for jirafed's own writes) are counted too.
    settle(j).await?;
    let after = j.all_stats().await?;
    report_latency(&seen, &engine, lost);
    report_calls(&before, &after, &own, seen.len());
    Ok(())
}

/// c: `RAPID_EDITS` edits of one issue as fast as the site answers them;
/// counts the hub's writes to its mirror. `PROPAGATION_TIMELINE=1` prints
/// the calls on the secondary and the hub, in ms since the first edit.
async fn rapid(j: &Jira, p: &Pair) -> Result<(), String> {
    let since = jirafed::clock::system_now_ms();
    let mut own = Own::default();
    for n in 0..RAPID_EDITS {
        j.edit(p.site, &p.key, &format!("rapid edit {n}")).await?;
        own.edit(p.site);
    }
    let last = format!("rapid edit {}", RAPID_EDITS - 1);
    if j.wait_summary(&p.mirror, &last, Instant::now() + GIVE_UP, &mut own).await?.is_none() {
        return Err(format!("the last rapid edit never reached {}", p.mirror));
    }
    settle(j).await?;
    let hub_id = j.get("hub", &format!("/rest/api/3/issue/{}?fields=summary", p.mirror)).await?["id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let writes = j.mirror_writes(&p.mirror, &hub_id, since).await?;
    println!(
        "propagation c: {RAPID_EDITS} rapid edits of {} {} -> {} hub write(s) to {} (target <= 2): {}",
        p.site,
        p.key,
        writes.len(),
        p.mirror,
        writes.join(", ")
    );
    if std::env::var_os("PROPAGATION_TIMELINE").is_some() {
        for site in [p.site, "hub"] {
            let log = j.control(site, reqwest::Method::GET, "/_sim/log", None).await?;
            for r in log["requests"].as_array().cloned().unwrap_or_default() {
                let at = r["at_ms"].as_i64().unwrap_or(0);
                if at >= since {
                    println!("propagation c:   {site} +{} ms {} {}", at - since, r["method"], r["path"]);
                }
            }
        }
    }
    Ok(())
}

/// Creates made on each secondary in part d, per kind (first status, or
/// moved on before jirafed saw them).
const CREATES: usize = 5;

/// d: `CREATES` issues per secondary in their first status, and `CREATES`
/// moved to "In Progress" (one workflow step) while the site's webhooks
/// were dropped, then touched so that jirafed hears of them: the hub's
/// writes per mirror created, from `/_sim/stats`.
async fn creates(j: &Jira, world: &World) -> Result<(), String> {
    let alice = world.person(EDITOR);
    for moved in [false, true] {
        let before = j.stats("hub").await?;
        let mut made = 0;
        for (site, project) in SECONDARIES {
            for n in 0..CREATES {
                let key = if moved {
                    let drop = |rate: f64| json!({"drop_webhooks": rate});
                    j.control(site, reqwest::Method::POST, "/_sim/faults", Some(drop(1.0))).await?;
                    let key = j.create(site, project, &format!("moved on {n}")).await?;
                    j.transition(site, &key, "11").await?;
                    j.control(site, reqwest::Method::POST, "/_sim/faults", Some(drop(0.0))).await?;
                    j.edit(site, &key, &format!("moved on {n}, touched")).await?;
                    key
                } else {
                    j.create(site, project, &format!("created {n}")).await?
                };
                alice
                    .mirror_of(world.daemon.store(), site, &key, GIVE_UP)
                    .await
                    .ok_or(format!("no mirror of {key}"))?;
                made += 1;
            }
        }
        settle(j).await?;
        let after = j.stats("hub").await?;
        let writes = delta(&before, &after, "mutations");
        let (kind, minimum) = if moved { ("one step on (In Progress)", 2.0) } else { ("first status", 1.0) };
        let per = writes as f64 / made as f64;
        println!(
            "propagation d: {made} creates in their {kind}: {writes} hub writes, {per:.2} per create; actual / minimum ({minimum}) = {:.2}",
            per / minimum
        );
        for (t, n) in templates(&before, &after) {
            println!("propagation d:     {n:>5}  {t}");
        }
    }
    Ok(())
}

/// The machine's load average, to tell a busy machine's numbers apart.
fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

/// config/demo.toml with this run's sites and state folder, polling every
/// 60 s, and budgets far above what one change at a time needs, so that the
/// rate limiter never holds a call back (write_rate measures it apart).
/// The benchmark's own REST calls, to take out of the sites' counters.
#[derive(Default)]
struct Own {
    /// Site -> writes (edits).
    writes: BTreeMap<&'static str, u64>,
    /// Reads of the hub (polling for the value).
    hub_reads: u64,
}

impl Own {
    fn edit(&mut self, site: &'static str) {
        *self.writes.entry(site).or_default() += 1;
    }
}

struct Jira {
    http: reqwest::Client,
    bases: BTreeMap<&'static str, (String, bool)>,
}

impl Jira {
    fn new(sim: &Simulator) -> Jira {
        let mut bases = BTreeMap::new();
        for site in SITES {
            if let Some(s) = sim.site(site) {
                bases.insert(site, (s.base_url.clone(), s.flavour == config::Flavour::Cloud));
            }
        }
        Jira { http: reqwest::Client::new(), bases }
    }

    fn base(&self, site: &str) -> Result<&(String, bool), String> {
        self.bases.get(site).ok_or_else(|| format!("no site {site}"))
    }

    /// A REST request as `who`, in the site's own way of authenticating.
    fn request(
        &self,
        who: &str,
        site: &str,
        method: reqwest::Method,
        path: &str,
    ) -> Result<reqwest::RequestBuilder, String> {
        let (base, cloud) = self.base(site)?;
        let flavour = if *cloud { config::Flavour::Cloud } else { config::Flavour::DataCenter };
        Ok(harness::sign_in(self.http.request(method, format!("{base}{path}")), flavour, who))
    }

    async fn get(&self, site: &str, path: &str) -> Result<Value, String> {
        let resp =
            self.request("sync-bot", site, reqwest::Method::GET, path)?.send().await.map_err(|e| e.to_string())?;
        resp.json().await.map_err(|e| e.to_string())
    }

    async fn control(
        &self,
        site: &str,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, String> {
        let (base, _) = self.base(site)?;
        let mut req = self.http.request(method, format!("{base}{path}"));
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.map_err(|e| e.to_string())?;
        if !resp.status().is_success() {
            return Err(format!("{site} {path}: {}", resp.status()));
        }
        Ok(resp.json().await.unwrap_or(Value::Null))
    }

    async fn create(&self, site: &str, project: &str, summary: &str) -> Result<String, String> {
        let fields = json!({"project": {"key": project}, "issuetype": {"name": "Story"}, "summary": summary});
        let resp = self
            .request(EDITOR, site, reqwest::Method::POST, "/rest/api/2/issue")?
            .json(&json!({"fields": fields}))
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let body: Value = resp.json().await.map_err(|e| e.to_string())?;
        body["key"].as_str().map(str::to_string).ok_or_else(|| format!("create on {site}: {body}"))
    }

    async fn edit(&self, site: &str, key: &str, summary: &str) -> Result<(), String> {
        let resp = self
            .request(EDITOR, site, reqwest::Method::PUT, &format!("/rest/api/2/issue/{key}"))?
            .json(&json!({"fields": {"summary": summary}}))
            .send()
            .await
            .map_err(|e| e.to_string())?;
        match resp.status().as_u16() {
            204 => Ok(()),
            s => Err(format!("edit {site} {key}: {s}")),
        }
    }

    /// Moves `key` through transition `id`, as alice.
    async fn transition(&self, site: &str, key: &str, id: &str) -> Result<(), String> {
        let resp = self
            .request(EDITOR, site, reqwest::Method::POST, &format!("/rest/api/2/issue/{key}/transitions"))?
            .json(&json!({"transition": {"id": id}}))
            .send()
            .await
            .map_err(|e| e.to_string())?;
        match resp.status().as_u16() {
            204 => Ok(()),
            s => Err(format!("transition {site} {key}: {s}")),
        }
    }

    /// Polls the hub until `mirror`'s summary is `want`; `None` past `until`.
    async fn wait_summary(
        &self,
        mirror: &str,
        want: &str,
        until: Instant,
        own: &mut Own,
    ) -> Result<Option<()>, String> {
        let path = format!("/rest/api/2/issue/{mirror}?fields=summary");
        loop {
            let issue = self.get("hub", &path).await?;
            own.hub_reads += 1;
            if issue["fields"]["summary"] == want {
                return Ok(Some(()));
            }
            if Instant::now() > until {
                return Ok(None);
            }
            tokio::time::sleep(POLL_EVERY).await;
        }
    }

    async fn stats(&self, site: &str) -> Result<Value, String> {
        self.control(site, reqwest::Method::GET, "/_sim/stats", None).await
    }

    async fn all_stats(&self) -> Result<BTreeMap<&'static str, Value>, String> {
        let mut out = BTreeMap::new();
        for site in SITES {
            out.insert(site, self.stats(site).await?);
        }
        Ok(out)
    }

    /// Successful non-GET calls on the hub to `mirror` (by key or id) since `since_ms`.
    async fn mirror_writes(&self, mirror: &str, id: &str, since_ms: i64) -> Result<Vec<String>, String> {
        let log = self.control("hub", reqwest::Method::GET, "/_sim/log", None).await?;
        let names = [format!("/issue/{mirror}"), format!("/issue/{id}")];
        let hits = log["requests"].as_array().cloned().unwrap_or_default().into_iter().filter(|r| {
            let path = r["path"].as_str().unwrap_or_default();
            r["at_ms"].as_i64().unwrap_or(0) >= since_ms
                && r["method"] != "GET"
                && (200..300).contains(&r["status"].as_u64().unwrap_or(0))
                && names.iter().any(|n| path.ends_with(n.as_str()) || path.contains(&format!("{n}/")))
        });
        Ok(hits
            .map(|r| format!("{} {}", r["method"].as_str().unwrap_or("?"), r["path"].as_str().unwrap_or("?")))
            .collect())
    }
}

/// Total REST calls on every site and webhooks delivered: while they move,
/// the engine is busy.
async fn activity(j: &Jira) -> Result<Vec<u64>, String> {
    let mut out = Vec::new();
    for (_, s) in j.all_stats().await? {
        for k in ["reads", "writes"] {
            out.push(s[k].as_u64().unwrap_or(0));
        }
        out.push(s["webhooks"]["delivered"].as_u64().unwrap_or(0));
    }
    Ok(out)
}

/// Waits until nothing has moved on any site for `QUIET` (bounded).
async fn settle(j: &Jira) -> Result<(), String> {
    let end = Instant::now() + Duration::from_secs(30);
    let mut last = activity(j).await?;
    let mut quiet_since = Instant::now();
    while quiet_since.elapsed() < QUIET {
        if Instant::now() > end {
            return Err("the sites never went quiet".into());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        let now = activity(j).await?;
        if now != last {
            quiet_since = Instant::now();
            last = now;
        }
    }
    Ok(())
}

fn drain(events: &mut broadcast::Receiver<EngineEvent>) {
    while events.try_recv().is_ok() {}
}

/// The engine's latency of the next write to `mirror` on the hub.
async fn written(events: &mut broadcast::Receiver<EngineEvent>, mirror: &str, until: Instant) -> Option<i64> {
    loop {
        let left = until.checked_duration_since(Instant::now())?;
        match tokio::time::timeout(left, events.recv()).await {
            Ok(Ok(EngineEvent::Written { instance, key, latency_ms, .. })) if instance == "hub" && key == mirror => {
                return Some(latency_ms);
            }
            Ok(Ok(_)) | Ok(Err(broadcast::error::RecvError::Lagged(_))) => {}
            Ok(Err(_)) | Err(_) => return None,
        }
    }
}

fn report_latency(seen: &[(&str, f64)], engine: &[f64], lost: usize) {
    let all = sorted(seen.iter().map(|(_, ms)| *ms).collect());
    let (p50, p99) = (pct(&all, 50.0), pct(&all, 99.0));
    println!("propagation a: {} edits seen on the hub, {lost} lost", all.len());
    println!(
        "propagation a: edit answered -> readable on hub: p50 {p50:.1} ms, p99 {p99:.1} ms, max {:.1} ms",
        all.last().copied().unwrap_or(f64::NAN)
    );
    println!(
        "propagation a: actual / target: p50 {:.3} (of 10 ms), p99 {:.3} (of 250 ms); below 1 meets the target",
        p50 / 10.0,
        p99 / 250.0
    );
    for (site, _) in SECONDARIES {
        let s = sorted(seen.iter().filter(|(x, _)| *x == site).map(|(_, ms)| *ms).collect());
        println!(
            "propagation a:   from {site}: p50 {:.1} ms, p99 {:.1} ms ({} edits)",
            pct(&s, 50.0),
            pct(&s, 99.0),
            s.len()
        );
    }
    let e = sorted(engine.to_vec());
    println!(
        "propagation a: engine latency_ms (webhook received -> hub write committed): p50 {:.0} ms, p99 {:.0} ms ({} writes)",
        pct(&e, 50.0),
        pct(&e, 99.0),
        e.len()
    );
}

fn delta(before: &Value, after: &Value, key: &str) -> u64 {
    after[key].as_u64().unwrap_or(0).saturating_sub(before[key].as_u64().unwrap_or(0))
}

/// Per-template request deltas on one site.
fn templates(before: &Value, after: &Value) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    if let Some(map) = after["requests"].as_object() {
        for (t, n) in map {
            let d = n.as_u64().unwrap_or(0).saturating_sub(before["requests"][t].as_u64().unwrap_or(0));
            if d > 0 {
                out.insert(t.clone(), d);
            }
        }
    }
    out
}

fn report_calls(before: &BTreeMap<&str, Value>, after: &BTreeMap<&str, Value>, own: &Own, changes: usize) {
    let mut reads = 0;
    let mut writes = 0;
    let mut echo = 0;
    for site in SITES {
        let (b, a) = (&before[site], &after[site]);
        let own_writes = own.writes.get(site).copied().unwrap_or(0);
        let own_reads = if site == "hub" { own.hub_reads } else { 0 };
        // `writes` counts POST searches too: they are reads here, `mutations` the real writes.
        let searches = delta(b, a, "writes").saturating_sub(delta(b, a, "mutations"));
        let r = (delta(b, a, "reads") + searches).saturating_sub(own_reads);
        let w = delta(b, a, "mutations").saturating_sub(own_writes);
        reads += r;
        writes += w;
        if site != "hub" {
            echo += w;
        }
        let hooks = delta(&b["webhooks"], &a["webhooks"], "delivered");
        println!(
            "propagation b:   {site}: jirafed reads {r}, writes {w} (benchmark's own: {own_reads} reads, {own_writes} writes); webhooks delivered {hooks}"
        );
        for (t, n) in templates(b, a) {
            println!("propagation b:     {n:>5}  {t}");
        }
    }
    let n = changes.max(1) as f64;
    let per = (reads + writes) as f64 / n;
    println!(
        "propagation b: per propagated change: {:.2} reads + {:.2} writes = {per:.2} calls; actual / target (2) = {:.2}; echo writes on the secondaries: {echo} (target 0)",
        reads as f64 / n,
        writes as f64 / n,
        per / 2.0
    );
}
