//! `jirafed demo`: the simulator's default world, the daemon with
//! `config/demo.toml`, webhooks registered, and a short story played as a
//! person would, each propagation printed with its latency.

use std::time::{Duration, Instant};

use serde_json::json;

use super::DemoArgs;
use crate::harness::{Person, Settings, World};

/// How long one propagation may take before the demo calls it missed.
const PROPAGATION_DEADLINE: Duration = Duration::from_secs(30);

struct Step {
    what: String,
    latency: Option<Duration>,
}

/// Waits until `check` holds; returns how long it took.
async fn watch<F, Fut>(started: Instant, mut check: F) -> Option<Duration>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    while started.elapsed() < PROPAGATION_DEADLINE {
        if check().await {
            return Some(started.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    None
}

fn print_step(step: &Step) {
    match step.latency {
        Some(l) => println!("  ✓ {:<58} {:>6} ms", step.what, l.as_millis()),
        None => println!("  ✗ {:<58} not seen within {}s", step.what, PROPAGATION_DEADLINE.as_secs()),
    }
}

pub async fn run(args: DemoArgs) -> anyhow::Result<()> {
    let world = World::start(args.port_base, args.state_dir.as_deref(), &Settings::default()).await?;
    let addr = world.daemon.addr;
    println!("jirafed demo: hub (primary, cloud) <- emea (cloud), apac (datacenter)");
    for s in &world.sim.sites {
        println!("  {:<5} {}", s.name, s.base_url);
    }
    println!("  daemon http://{addr}  (status: http://{addr}/status)\n");
    let steps = story(&world.person("alice"), &world).await;
    let ok = steps.as_ref().is_ok_and(|steps| steps.iter().all(|s| s.latency.is_some()));
    if let Ok(steps) = &steps {
        summary(steps);
        println!("status: http://{addr}/status   metrics: http://{addr}/metrics");
        if !args.once {
            println!("\nrunning; edit the simulated sites (see docs/simulator.md) and watch; Ctrl-C to stop");
            stopped().await?;
        }
    }
    // The world's folder (config, secrets, admin socket, and the state
    // unless `--state-dir` is given) goes with it.
    world.shutdown().await;
    steps?;
    anyhow::ensure!(ok, "some propagations were not seen");
    Ok(())
}

/// Ctrl-C or SIGTERM: either way the world is shut down and its folder
/// removed.
async fn stopped() -> anyhow::Result<()> {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        r = tokio::signal::ctrl_c() => r?,
        _ = term.recv() => {}
    }
    Ok(())
}

/// The story's table: each step and its latency, then the totals.
fn summary(steps: &[Step]) {
    let width = steps.iter().map(|s| s.what.chars().count()).max().unwrap_or(4).max(4);
    println!("\nsummary");
    println!("  {:<width$}  {:>10}", "step", "latency");
    println!("  {:<width$}  {:>10}", "-".repeat(width), "-".repeat(10));
    for s in steps {
        let latency = s.latency.map_or_else(|| "not seen".to_string(), |l| format!("{} ms", l.as_millis()));
        println!("  {:<width$}  {latency:>10}", s.what);
    }
    let mut lat: Vec<u128> = steps.iter().filter_map(|s| s.latency).map(|d| d.as_millis()).collect();
    lat.sort_unstable();
    println!("  {} of {} propagations seen", lat.len(), steps.len());
    if let (Some(min), Some(max)) = (lat.first(), lat.last()) {
        println!("  latency: min {min} ms, median {} ms, max {max} ms", lat[lat.len() / 2]);
    }
}

/// The key of the mirror of `site`'s `key`, once the daemon has made it.
async fn mirror(world: &World, person: &Person, site: &str, key: &str) -> Option<String> {
    person.mirror_of(world.daemon.store(), site, key, Duration::ZERO).await
}

async fn create(
    p: &Person,
    site: &str,
    project: &str,
    kind: &str,
    summary: &str,
    priority: &str,
) -> anyhow::Result<String> {
    let fields = json!({"project": {"key": project}, "issuetype": {"name": kind}, "summary": summary,
        "priority": {"name": priority}, "description": "Reported in the demo."});
    p.create(site, fields).await
}

async fn story(p: &Person, d: &World) -> anyhow::Result<Vec<Step>> {
    let mut steps = Vec::new();
    let mut done = |what: String, latency| {
        let s = Step { what, latency };
        print_step(&s);
        steps.push(s);
    };
    println!("story:");
    let t = Instant::now();
    let emea = create(p, "emea", "EMEA", "Story", "Payment page redesign", "High").await?;
    let lat = watch(t, || async { mirror(d, p, "emea", &emea).await.is_some() }).await;
    let emea_m = mirror(d, p, "emea", &emea).await.unwrap_or_default();
    done(format!("alice creates {emea} on emea -> mirror {emea_m} on hub"), lat);

    let t = Instant::now();
    let apac = create(p, "apac", "APAC", "Bug", "Sydney login times out", "Highest").await?;
    let lat = watch(t, || async { mirror(d, p, "apac", &apac).await.is_some() }).await;
    let apac_m = mirror(d, p, "apac", &apac).await.unwrap_or_default();
    done(format!("alice creates {apac} on apac (DC) -> mirror {apac_m} on hub"), lat);

    let t = Instant::now();
    p.edit("emea", &emea, json!({"summary": "Payment page redesign (v2)"})).await?;
    let lat =
        watch(t, || async { p.field("hub", &emea_m, "summary").await == Some(json!("Payment page redesign (v2)")) })
            .await;
    done(format!("summary edited on {emea} -> {emea_m} follows"), lat);

    let t = Instant::now();
    p.transition("emea", &emea, "11").await?;
    let lat = watch(t, || async { p.field("hub", &emea_m, "status").await == Some(json!("In Progress")) }).await;
    done(format!("{emea} moved to In Progress -> {emea_m} too"), lat);

    let t = Instant::now();
    p.edit("hub", &apac_m, json!({"priority": {"name": "Medium"}})).await?;
    let lat = watch(t, || async { p.field("apac", &apac, "priority").await == Some(json!("Medium")) }).await;
    done(format!("priority edited on the primary {apac_m} -> {apac} follows"), lat);

    let t = Instant::now();
    let (a, b) = tokio::join!(
        p.edit("emea", &emea, json!({"summary": "Redesign: emea's title"})),
        p.edit("hub", &emea_m, json!({"summary": "Redesign: hub's title"})),
    );
    a?;
    b?;
    let lat = watch(t, || async {
        let (x, y) = (p.field("emea", &emea, "summary").await, p.field("hub", &emea_m, "summary").await);
        x.is_some() && x == y
    })
    .await;
    let final_title = p.field("hub", &emea_m, "summary").await.unwrap_or_default();
    done(format!("conflicting edits on both sides -> both read {final_title}"), lat);

    // A dependency: a second story on emea, then "it blocks the first".
    let blocker = create(p, "emea", "EMEA", "Story", "Tokenise stored cards", "High").await?;
    let blocker_m = wait_mirror(d, p, "emea", &blocker).await;
    let t = Instant::now();
    let body = json!({"type": {"name": "Blocks"}, "inwardIssue": {"key": blocker}, "outwardIssue": {"key": emea}});
    p.call("emea", reqwest::Method::POST, "/rest/api/2/issueLink", Some(body)).await?;
    let lat = watch(t, || async { links_to(p, &blocker_m, &emea_m).await }).await;
    done(format!("{blocker} blocks {emea} on emea -> {blocker_m} depends on {emea_m}"), lat);

    // Hierarchy: a story under apac's epic, which is not mirrored yet: the
    // epic goes first, then the story hangs from its mirror.
    let t = Instant::now();
    let fields = json!({"project": {"key": "APAC"}, "issuetype": {"name": "Story"}, "summary": "Roll out in Singapore",
        APAC_EPIC_LINK: "APAC-1"});
    let child = p.create("apac", fields).await?;
    let lat = watch(t, || async { parent_mirrored(d, p, &child).await.is_some() }).await;
    let (child_m, epic_m) = parent_mirrored(d, p, &child).await.unwrap_or_default();
    done(format!("{child} under epic APAC-1 on apac -> {child_m} under {epic_m}"), lat);
    Ok(steps)
}

/// The Data Center Epic Link field of the simulated `apac`.
const APAC_EPIC_LINK: &str = "customfield_10100";

async fn wait_mirror(d: &World, p: &Person, site: &str, key: &str) -> String {
    p.mirror_of(d.daemon.store(), site, key, PROPAGATION_DEADLINE).await.unwrap_or_default()
}

/// Whether the hub's `from` has a link whose other (inward) end is `to`.
async fn links_to(p: &Person, from: &str, to: &str) -> bool {
    let Ok(v) = p.call("hub", reqwest::Method::GET, &format!("/rest/api/2/issue/{from}?fields=issuelinks"), None).await
    else {
        return false;
    };
    v["fields"]["issuelinks"].as_array().into_iter().flatten().any(|l| l["outwardIssue"]["key"] == to)
}

/// The mirror of apac's `child` and of its epic, once the first hangs from
/// the second.
async fn parent_mirrored(d: &World, p: &Person, child: &str) -> Option<(String, String)> {
    let child_m = mirror(d, p, "apac", child).await?;
    let epic_m = mirror(d, p, "apac", "APAC-1").await?;
    let v =
        p.call("hub", reqwest::Method::GET, &format!("/rest/api/2/issue/{child_m}?fields=parent"), None).await.ok()?;
    (v["fields"]["parent"]["key"] == epic_m.as_str()).then_some((child_m, epic_m))
}
