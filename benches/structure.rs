//! What the structure between issues costs in Jira calls: dependencies
//! (issue links) made and removed between two issues of one secondary,
//! carried between their mirrors on the primary. The in-process simulator
//! (no injected latency) and the real daemon (`jirafed::harness::World`,
//! config/demo.toml), signed webhooks registered on every site, polling
//! every 60 s so that webhooks do the work, budgets far above what the run
//! needs so that the limiter is not what is measured. Every flow maps the
//! link types `Blocks` -> `Dependency` and `Relates` -> `Relates` and
//! carries parents (`hierarchy.parent = true`).
//!
//! Setup (not measured): alice creates N issues on emea (Cloud) and N on
//! apac (Data Center), N = 20 or `STRUCTURE_ISSUES`; every mirror is waited
//! for, then until no site sees a call for a while.
//!
//! a. Links made: on each secondary, a chain of `Blocks` through its N
//!    issues and a `Relates` from every fourth issue to the one two ahead,
//!    made by alice one at a time (alternating emea and apac); each is timed
//!    from the link POST's answer until the hub shows the mapped link
//!    between the mirrors (polled every 2 ms). Then every mapped link is
//!    checked on the hub, and the sites are left to go quiet.
//! b. Links removed: alice deletes every other link of each secondary, one
//!    at a time, each timed until the hub's counterpart is gone.
//!
//! Setup of part c (not measured): on each secondary alice creates two
//! epics and R stories under the first (R = 10 or `STRUCTURE_REPARENTS`):
//! Cloud's `parent` on emea, the Epic Link on apac. Every mirror is waited
//! for, and every story's mirror until its parent is the first epic's
//! mirror; then the sites are left to go quiet.
//!
//! c. Re-parents: alice moves every story to the second epic of its site,
//!    one at a time (alternating emea and apac), by the same field; each is
//!    timed from the edit's answer until the story's mirror on the hub has
//!    the second epic's mirror as parent (polled every 2 ms). Then every
//!    story's mirror is checked, and the sites are left to go quiet.
//!
//! For each part, jirafed's calls on every site per REST path template:
//! `/_sim/stats` deltas minus the benchmark's own calls (its link POSTs and
//! DELETEs, its edits, its reads of the hub), which it counts by template.
//! The minimum is one write per link or re-parent, on the primary (POST
//! issueLink, DELETE issueLink, or the mirror's PUT); writes and all calls
//! are printed as ratios to it.
//!
//! `cargo bench --bench structure`; results go to docs/benchmarks.md.
//! `STRUCTURE_TIMELINE=1` also prints, per part, jirafed's calls while the
//! first four links were made or removed (or stories moved), in time order.

#[path = "support/stats.rs"]
mod stats;
use stats::{pct, sorted};

use std::collections::{BTreeMap, BTreeSet};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use jirafed::config::{self, Flavour};
use jirafed::harness::{Person, Settings, World};
use jirafed::sim::Simulator;
use reqwest::Method;
use serde_json::{Value, json};

/// Issues per secondary unless `STRUCTURE_ISSUES` says otherwise.
const ISSUES: usize = 20;
/// Stories moved per secondary in part c unless `STRUCTURE_REPARENTS` says
/// otherwise.
const REPARENTS: usize = 10;
/// The simulated Data Center's Epic Link field (apac's): a story's epic, by
/// key.
const EPIC_LINK: &str = "customfield_10100";
/// Secondary link type -> the primary's, in every flow.
const TYPES: [(&str, &str); 2] = [("Blocks", "Dependency"), ("Relates", "Relates")];
const POLL_EVERY: Duration = Duration::from_millis(2);
/// Longest one link (or a mirror) may take before the run fails.
const GIVE_UP: Duration = Duration::from_secs(10);
/// No call on any site for this long: the engine is idle.
const QUIET: Duration = Duration::from_millis(1500);
/// Longest the sites may take to go quiet.
const QUIET_WITHIN: Duration = Duration::from_secs(30);
const SITES: [&str; 3] = ["hub", "emea", "apac"];
const SECONDARIES: [(&str, &str); 2] = [("emea", "EMEA"), ("apac", "APAC")];
/// The person who links issues on the secondaries (not the technical user).
const EDITOR: &str = "alice";
/// The REST prefix of every call the benchmark makes (both flavours serve v2).
const API: &str = "/rest/api/2";
/// Links (or re-parents) whose calls `STRUCTURE_TIMELINE=1` prints, per
/// part.
const TIMELINE_LINKS: usize = 4;

fn main() -> ExitCode {
    let rt = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("structure: FAILED: no runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("structure: FAILED: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), String> {
    let n = issues()?;
    let r = reparents()?;
    println!("structure: load average before the run: {}", loadavg());
    let settings =
        Settings::poll("60s").with("READS_PER_SECOND", "1000").with("WRITES_PER_SECOND", "1000").with("BURST", "100");
    let world = World::start_with(0, None, &settings, links_and_parents).await.map_err(|e| format!("{e:#}"))?;
    let sites = Sites::new(&world.sim);
    let alice = world.person(EDITOR);
    let mut pairs = BTreeMap::new();
    for (site, project) in SECONDARIES {
        pairs.insert(site, mirrored_issues(&world, &alice, site, project, n).await?);
    }
    sites.settle().await?;
    let links = links_to_make(&pairs);
    println!(
        "structure: {n} issues on each of emea and apac, mirrored on hub; {} links to make ({} per site)",
        links.len(),
        links.len() / SECONDARIES.len()
    );
    let hub = Hub { alice: &alice, mirrors: pairs.values().flatten().map(|p| p.mirror.clone()).collect() };
    links_made(&sites, &alice, &hub, &links).await?;
    links_removed(&sites, &alice, &hub, &links).await?;
    let mut trees = Vec::with_capacity(SECONDARIES.len());
    for (site, project) in SECONDARIES {
        trees.push(tree(&world, &alice, &hub, site, project, r).await?);
    }
    sites.settle().await?;
    println!(
        "structure: 2 epics and {r} stories under the first on each of emea and apac, mirrored with their parents"
    );
    reparented(&sites, &alice, &hub, &trees).await?;
    println!("structure: load average after the run: {}", loadavg());
    world.shutdown().await;
    Ok(())
}

/// `STRUCTURE_ISSUES`, else [`ISSUES`]; at least 3, so that there is a
/// `Relates` two ahead.
fn issues() -> Result<usize, String> {
    match std::env::var("STRUCTURE_ISSUES") {
        Err(_) => Ok(ISSUES),
        Ok(v) => match v.parse::<usize>() {
            Ok(n) if n >= 3 => Ok(n),
            _ => Err(format!("STRUCTURE_ISSUES={v}: a whole number of issues per secondary, at least 3")),
        },
    }
}

/// `STRUCTURE_REPARENTS`, else [`REPARENTS`]; at least 1.
fn reparents() -> Result<usize, String> {
    match std::env::var("STRUCTURE_REPARENTS") {
        Err(_) => Ok(REPARENTS),
        Ok(v) => match v.parse::<usize>() {
            Ok(r) if r >= 1 => Ok(r),
            _ => Err(format!("STRUCTURE_REPARENTS={v}: a whole number of stories per secondary, at least 1")),
        },
    }
}

/// Every flow carries `Blocks` and `Relates` links, as [`TYPES`] maps them,
/// and parents.
fn links_and_parents(cfg: &mut config::Config) {
    for f in &mut cfg.flows {
        for (secondary, primary) in TYPES {
            f.links.types.insert(secondary.into(), primary.into());
        }
        f.hierarchy.parent = true;
    }
}

/// A secondary issue and its mirror on the hub.
struct Pair {
    key: String,
    mirror: String,
}

/// Setup: `n` issues made by alice on `site`, each once its mirror exists.
async fn mirrored_issues(
    world: &World,
    alice: &Person,
    site: &str,
    project: &str,
    n: usize,
) -> Result<Vec<Pair>, String> {
    let mut keys = Vec::with_capacity(n);
    for i in 0..n {
        keys.push(create(alice, site, issue(project, "Story", &format!("structure bench {i}"))).await?);
    }
    let mut out = Vec::with_capacity(n);
    for key in keys {
        out.push(mirrored(world, alice, site, key).await?);
    }
    Ok(out)
}

/// The fields of a new issue.
fn issue(project: &str, kind: &str, summary: &str) -> Value {
    json!({"project": {"key": project}, "issuetype": {"name": kind}, "summary": summary})
}

/// Alice creates an issue on `site`; its key.
async fn create(alice: &Person, site: &str, fields: Value) -> Result<String, String> {
    alice.create(site, fields).await.map_err(|e| format!("creating an issue on {site}: {e:#}"))
}

/// `site`'s `key` and its mirror, once it exists.
async fn mirrored(world: &World, alice: &Person, site: &str, key: String) -> Result<Pair, String> {
    let mirror = alice.mirror_of(world.daemon.store(), site, &key, GIVE_UP).await;
    let mirror = mirror.ok_or(format!("{site} {key} was not mirrored on hub within {} s", GIVE_UP.as_secs()))?;
    Ok(Pair { key, mirror })
}

/// One link on a secondary, "`from` `link_type` `to`" read from its
/// outward end, and the ends' mirrors.
struct Link<'a> {
    site: &'static str,
    link_type: &'static str,
    from: &'a Pair,
    to: &'a Pair,
}

impl Link<'_> {
    /// The primary's type of the link.
    fn hub_type(&self) -> &'static str {
        TYPES.iter().find(|(s, _)| *s == self.link_type).map_or("?", |(_, p)| p)
    }

    /// The link as it should read on the hub, from its outward end.
    fn on_hub(&self) -> Edge {
        (self.from.mirror.clone(), self.hub_type().to_string(), self.to.mirror.clone())
    }

    fn describe(&self) -> String {
        let (m_from, t, m_to) = self.on_hub();
        format!("{} {} {} {} (on hub {m_from} {t} {m_to})", self.site, self.from.key, self.link_type, self.to.key)
    }
}

/// On each secondary, a chain of `Blocks` and a `Relates` from every fourth
/// issue to the one two ahead; the sites' links alternate.
fn links_to_make<'a>(pairs: &'a BTreeMap<&'static str, Vec<Pair>>) -> Vec<Link<'a>> {
    let mut per_site: Vec<Vec<Link<'a>>> = Vec::new();
    for (site, _) in SECONDARIES {
        let p = &pairs[site];
        let mut links = Vec::new();
        for i in 0..p.len() - 1 {
            links.push(Link { site, link_type: "Blocks", from: &p[i], to: &p[i + 1] });
            if i % 4 == 0 && i + 2 < p.len() {
                links.push(Link { site, link_type: "Relates", from: &p[i], to: &p[i + 2] });
            }
        }
        per_site.push(links);
    }
    alternate(per_site)
}

/// The sites' lists taken one item of each site in turn.
fn alternate<T>(per_site: Vec<Vec<T>>) -> Vec<T> {
    let longest = per_site.iter().map(Vec::len).max().unwrap_or(0);
    let mut iters: Vec<_> = per_site.into_iter().map(Vec::into_iter).collect();
    let mut out = Vec::new();
    for _ in 0..longest {
        out.extend(iters.iter_mut().filter_map(Iterator::next));
    }
    out
}

/// a: every link made on its secondary, one at a time, each waited for on
/// the hub.
async fn links_made(sites: &Sites, alice: &Person, hub: &Hub<'_>, links: &[Link<'_>]) -> Result<(), String> {
    let before = sites.all_stats().await?;
    let mut own = Own::default();
    let mut seen = Vec::with_capacity(links.len());
    let mut window = Window::default();
    for (i, l) in links.iter().enumerate() {
        window.at(i);
        // Jira's POST takes the source as `inwardIssue` (its well-known twist).
        let body = json!({"type": {"name": l.link_type}, "inwardIssue": {"key": l.from.key}, "outwardIssue": {"key": l.to.key}});
        alice
            .call(l.site, Method::POST, &format!("{API}/issueLink"), Some(body))
            .await
            .map_err(|e| format!("{e:#}"))?;
        own.count(l.site, Method::POST, "/issueLink");
        let posted = Instant::now();
        if !hub.wait_for(l, true, posted + GIVE_UP, &mut own).await? {
            return Err(format!("the link {} never reached the hub within {} s", l.describe(), GIVE_UP.as_secs()));
        }
        seen.push((l.site, posted.elapsed()));
    }
    hub.converge(links.iter().map(Link::on_hub).collect(), &mut own).await?;
    // The echoes (the hub's webhooks for jirafed's own links) are counted too.
    sites.settle().await?;
    let after = sites.all_stats().await?;
    report_latency("a", "link POST answered -> link readable on hub", "links", &seen);
    Calls::between(&before, &after, &own).report("a", "mirrored link", links.len());
    window.print(sites, "a", "links").await
}

/// b: every other link of each secondary (the links alternate between the
/// sites, so two of every four) deleted there, one at a time, each
/// waited for on the hub.
async fn links_removed(sites: &Sites, alice: &Person, hub: &Hub<'_>, links: &[Link<'_>]) -> Result<(), String> {
    let (gone, kept): (Vec<_>, Vec<_>) = links.iter().enumerate().partition(|(i, _)| i % 4 < 2);
    // The links' ids, read before anything is counted.
    let mut ids = Vec::with_capacity(gone.len());
    for (_, l) in &gone {
        ids.push(secondary_link_id(alice, l).await?);
    }
    sites.settle().await?;
    let before = sites.all_stats().await?;
    let mut own = Own::default();
    let mut seen = Vec::with_capacity(gone.len());
    let mut window = Window::default();
    for (i, ((_, l), id)) in gone.iter().zip(&ids).enumerate() {
        window.at(i);
        alice
            .call(l.site, Method::DELETE, &format!("{API}/issueLink/{id}"), None)
            .await
            .map_err(|e| format!("{e:#}"))?;
        own.count(l.site, Method::DELETE, "/issueLink/{linkId}");
        let deleted = Instant::now();
        if !hub.wait_for(l, false, deleted + GIVE_UP, &mut own).await? {
            return Err(format!(
                "the link {} was still on the hub {} s after its removal",
                l.describe(),
                GIVE_UP.as_secs()
            ));
        }
        seen.push((l.site, deleted.elapsed()));
    }
    hub.converge(kept.iter().map(|(_, l)| l.on_hub()).collect(), &mut own).await?;
    sites.settle().await?;
    let after = sites.all_stats().await?;
    report_latency("b", "link DELETE answered -> link gone from hub", "links", &seen);
    Calls::between(&before, &after, &own).report("b", "removed link", gone.len());
    window.print(sites, "b", "links").await
}

/// The id of `l` on its secondary, from its outward end's links.
async fn secondary_link_id(alice: &Person, l: &Link<'_>) -> Result<String, String> {
    let path = format!("{API}/issue/{}?fields=issuelinks", l.from.key);
    let issue = alice.call(l.site, Method::GET, &path, None).await.map_err(|e| format!("{e:#}"))?;
    let links = issue["fields"]["issuelinks"].as_array().cloned().unwrap_or_default();
    links
        .iter()
        .find(|x| x["type"]["name"] == l.link_type && x["outwardIssue"]["key"] == l.to.key.as_str())
        .and_then(|x| x["id"].as_str().map(str::to_string))
        .ok_or_else(|| format!("the link {} is not on {}", l.describe(), l.site))
}

/// Part c's stories on one secondary: two epics and the stories, under the
/// first until part c moves them to the second.
struct Tree {
    site: &'static str,
    flavour: Flavour,
    epics: [Pair; 2],
    stories: Vec<Pair>,
}

/// The fields that hang a story from `epic`: Cloud's `parent`, Data
/// Center's Epic Link.
fn under(flavour: Flavour, epic: &str) -> Value {
    match flavour {
        Flavour::Cloud => json!({"parent": {"key": epic}}),
        Flavour::DataCenter => json!({ EPIC_LINK: epic }),
    }
}

/// Setup of c on `site`: two epics and `r` stories under the first, each
/// mirrored, each story's mirror under the first epic's.
async fn tree(
    world: &World,
    alice: &Person,
    hub: &Hub<'_>,
    site: &'static str,
    project: &str,
    r: usize,
) -> Result<Tree, String> {
    let flavour = world.sim.site(site).map(|s| s.flavour).ok_or(format!("no site {site}"))?;
    let first = create(alice, site, issue(project, "Epic", "structure bench epic 1")).await?;
    let second = create(alice, site, issue(project, "Epic", "structure bench epic 2")).await?;
    let mut keys = Vec::with_capacity(r);
    for i in 0..r {
        let mut fields = issue(project, "Story", &format!("structure bench story {i}"));
        if let (Some(f), Value::Object(parent)) = (fields.as_object_mut(), under(flavour, &first)) {
            f.extend(parent);
        }
        keys.push(create(alice, site, fields).await?);
    }
    let epics = [mirrored(world, alice, site, first).await?, mirrored(world, alice, site, second).await?];
    let mut stories = Vec::with_capacity(r);
    for key in keys {
        let story = mirrored(world, alice, site, key).await?;
        if !hub.wait_parent(&story.mirror, &epics[0].mirror, Instant::now() + GIVE_UP, &mut Own::default()).await? {
            return Err(format!(
                "{site} {}'s mirror {} was not under {} within {} s",
                story.key,
                story.mirror,
                epics[0].mirror,
                GIVE_UP.as_secs()
            ));
        }
        stories.push(story);
    }
    Ok(Tree { site, flavour, epics, stories })
}

/// c: every story moved to the second epic of its site, one at a time (the
/// sites alternate), each waited for on the hub.
async fn reparented(sites: &Sites, alice: &Person, hub: &Hub<'_>, trees: &[Tree]) -> Result<(), String> {
    let moves = alternate(trees.iter().map(|t| t.stories.iter().map(|s| (t, s)).collect()).collect());
    let before = sites.all_stats().await?;
    let mut own = Own::default();
    let mut seen = Vec::with_capacity(moves.len());
    let mut window = Window::default();
    for (i, (t, story)) in moves.iter().enumerate() {
        window.at(i);
        let to = &t.epics[1];
        alice.edit(t.site, &story.key, under(t.flavour, &to.key)).await.map_err(|e| format!("{e:#}"))?;
        own.count(t.site, Method::PUT, "/issue/{issueIdOrKey}");
        let edited = Instant::now();
        if !hub.wait_parent(&story.mirror, &to.mirror, edited + GIVE_UP, &mut own).await? {
            return Err(format!(
                "{} {} moved to {}, but its mirror {} was not under {} within {} s",
                t.site,
                story.key,
                to.key,
                story.mirror,
                to.mirror,
                GIVE_UP.as_secs()
            ));
        }
        seen.push((t.site, edited.elapsed()));
    }
    // The echoes are counted too; then no mirror may have moved again.
    sites.settle().await?;
    for (t, story) in &moves {
        let parent = hub.parent_of(&story.mirror, &mut own).await?;
        if parent.as_deref() != Some(t.epics[1].mirror.as_str()) {
            return Err(format!(
                "{}'s mirror {} ended under {parent:?}, not {}",
                story.key, story.mirror, t.epics[1].mirror
            ));
        }
    }
    let after = sites.all_stats().await?;
    report_latency("c", "parent edit answered -> mirror under the new epic on hub", "re-parents", &seen);
    Calls::between(&before, &after, &own).report("c", "re-parent", moves.len());
    window.print(sites, "c", "re-parents").await
}

/// A link as read on the hub from its source, the issue that shows the
/// type's outward text ("blocks"): (source, type, destination).
type Edge = (String, String, String);

/// The hub as alice reads it: the mirrors, their links and parents.
struct Hub<'a> {
    alice: &'a Person,
    mirrors: BTreeSet<String>,
}

impl Hub<'_> {
    /// The outward links of `mirror` to other mirrors.
    async fn links_of(&self, mirror: &str, own: &mut Own) -> Result<BTreeSet<Edge>, String> {
        let path = format!("{API}/issue/{mirror}?fields=issuelinks");
        let issue = self.alice.call("hub", Method::GET, &path, None).await.map_err(|e| format!("{e:#}"))?;
        own.count("hub", Method::GET, "/issue/{issueIdOrKey}");
        let links = issue["fields"]["issuelinks"].as_array().cloned().unwrap_or_default();
        Ok(links
            .iter()
            .filter_map(|l| {
                let to = l["outwardIssue"]["key"].as_str().filter(|k| self.mirrors.contains(*k))?;
                Some((mirror.to_string(), l["type"]["name"].as_str().unwrap_or("?").to_string(), to.to_string()))
            })
            .collect())
    }

    /// Polls the hub until `l`'s counterpart is there (`present`) or gone;
    /// false past `until`.
    async fn wait_for(&self, l: &Link<'_>, present: bool, until: Instant, own: &mut Own) -> Result<bool, String> {
        let want = l.on_hub();
        loop {
            if self.links_of(&want.0, own).await?.contains(&want) == present {
                return Ok(true);
            }
            if Instant::now() > until {
                return Ok(false);
            }
            tokio::time::sleep(POLL_EVERY).await;
        }
    }

    /// The key of `mirror`'s parent, if it has one.
    async fn parent_of(&self, mirror: &str, own: &mut Own) -> Result<Option<String>, String> {
        let path = format!("{API}/issue/{mirror}?fields=parent");
        let issue = self.alice.call("hub", Method::GET, &path, None).await.map_err(|e| format!("{e:#}"))?;
        own.count("hub", Method::GET, "/issue/{issueIdOrKey}");
        Ok(issue["fields"]["parent"]["key"].as_str().map(str::to_string))
    }

    /// Polls the hub until `mirror`'s parent is `parent`; false past `until`.
    async fn wait_parent(&self, mirror: &str, parent: &str, until: Instant, own: &mut Own) -> Result<bool, String> {
        loop {
            if self.parent_of(mirror, own).await?.as_deref() == Some(parent) {
                return Ok(true);
            }
            if Instant::now() > until {
                return Ok(false);
            }
            tokio::time::sleep(POLL_EVERY).await;
        }
    }

    /// Waits until the links among the mirrors are exactly `want`; names
    /// the missing and the extra ones if they never are.
    async fn converge(&self, want: BTreeSet<Edge>, own: &mut Own) -> Result<(), String> {
        let until = Instant::now() + GIVE_UP;
        loop {
            let mut got = BTreeSet::new();
            for m in &self.mirrors {
                got.extend(self.links_of(m, own).await?);
            }
            if got == want {
                return Ok(());
            }
            if Instant::now() > until {
                let missing: Vec<_> = want.difference(&got).collect();
                let extra: Vec<_> = got.difference(&want).collect();
                return Err(format!(
                    "the hub's links never matched the secondaries' within {} s: missing {missing:?}, extra {extra:?}",
                    GIVE_UP.as_secs()
                ));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// The benchmark's own REST calls, by site and path template as the
/// simulator counts them (`"GET /rest/api/2/issue/{issueIdOrKey}"`), to
/// take out of the sites' counters.
#[derive(Default)]
struct Own(BTreeMap<(&'static str, String), u64>);

impl Own {
    fn count(&mut self, site: &'static str, method: Method, template: &str) {
        *self.0.entry((site, format!("{method} {API}{template}"))).or_default() += 1;
    }

    fn on(&self, site: &str, template: &str) -> u64 {
        self.0.iter().filter(|((s, t), _)| *s == site && t == template).map(|(_, n)| n).sum()
    }
}

/// jirafed's calls on each site over one part: per template, and read or
/// write (a POST search is a read).
struct Calls {
    /// Site -> template -> (jirafed's calls, the benchmark's own).
    templates: BTreeMap<&'static str, BTreeMap<String, (u64, u64)>>,
    /// Site -> webhooks delivered.
    webhooks: BTreeMap<&'static str, u64>,
    /// Templates where the site counted fewer calls than the benchmark made:
    /// the own count is off, and so are the figures.
    miscounted: Vec<String>,
}

impl Calls {
    fn between(before: &BTreeMap<&'static str, Value>, after: &BTreeMap<&'static str, Value>, own: &Own) -> Calls {
        let mut templates = BTreeMap::new();
        let mut webhooks = BTreeMap::new();
        let mut miscounted = Vec::new();
        for site in SITES {
            let (b, a) = (&before[site], &after[site]);
            let mut per = BTreeMap::new();
            for (t, n) in a["requests"].as_object().into_iter().flatten() {
                let d = n.as_u64().unwrap_or(0).saturating_sub(b["requests"][t].as_u64().unwrap_or(0));
                let mine = own.on(site, t);
                if d < mine {
                    miscounted.push(format!("{site} {t}: {d} counted, {mine} made by the benchmark"));
                }
                if d > 0 || mine > 0 {
                    per.insert(t.clone(), (d.saturating_sub(mine), mine));
                }
            }
            for ((s, t), n) in &own.0 {
                if *s == site && !per.contains_key(t) {
                    miscounted.push(format!("{site} {t}: not counted, {n} made by the benchmark"));
                }
            }
            templates.insert(site, per);
            let hooks = |v: &Value| v["webhooks"]["delivered"].as_u64().unwrap_or(0);
            webhooks.insert(site, hooks(a).saturating_sub(hooks(b)));
        }
        Calls { templates, webhooks, miscounted }
    }

    /// jirafed's (reads, writes) on `site`.
    fn of(&self, site: &str) -> (u64, u64) {
        let mut rw = (0, 0);
        for (t, (n, _)) in self.templates.get(site).into_iter().flatten() {
            if is_read(t) {
                rw.0 += n;
            } else {
                rw.1 += n;
            }
        }
        rw
    }

    fn report(&self, part: &str, what: &str, count: usize) {
        let (mut reads, mut writes) = (0, 0);
        for site in SITES {
            let (r, w) = self.of(site);
            reads += r;
            writes += w;
            let mine: u64 = self.templates[site].values().map(|(_, m)| m).sum();
            println!(
                "structure {part}:   {site}: jirafed reads {r}, writes {w} (benchmark's own calls: {mine}); webhooks delivered {}",
                self.webhooks[site]
            );
            for (t, (n, m)) in &self.templates[site] {
                let own = if *m > 0 { format!("  (+{m} the benchmark's)") } else { String::new() };
                println!("structure {part}:     {n:>5}  {t}{own}");
            }
        }
        for m in &self.miscounted {
            println!("structure {part}: WARNING, the benchmark's own calls are miscounted: {m}");
        }
        let n = count.max(1) as f64;
        let (r, w) = (reads as f64 / n, writes as f64 / n);
        println!(
            "structure {part}: per {what} ({count}): {r:.2} reads + {w:.2} writes = {:.2} calls; writes / minimum (1) = {w:.2}; calls / minimum (1) = {:.2}",
            r + w,
            r + w
        );
    }
}

/// Reads: GETs and searches (`POST .../search`, `POST .../search/jql`).
fn is_read(template: &str) -> bool {
    template.starts_with("GET ") || template.ends_with("/search") || template.ends_with("/search/jql")
}

/// `what` timed over `seen`, each one of `unit` ("links").
fn report_latency(part: &str, what: &str, unit: &str, seen: &[(&str, Duration)]) {
    let ms = |d: &Duration| d.as_secs_f64() * 1000.0;
    let all = sorted(seen.iter().map(|(_, d)| ms(d)).collect());
    println!(
        "structure {part}: {what}: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms ({} {unit})",
        pct(&all, 50.0),
        pct(&all, 99.0),
        all.last().copied().unwrap_or(f64::NAN),
        all.len()
    );
    for (site, _) in SECONDARIES {
        let s = sorted(seen.iter().filter(|(x, _)| *x == site).map(|(_, d)| ms(d)).collect());
        println!(
            "structure {part}:   from {site}: p50 {:.1} ms, p99 {:.1} ms ({} {unit})",
            pct(&s, 50.0),
            pct(&s, 99.0),
            s.len()
        );
    }
}

/// `STRUCTURE_TIMELINE=1`: when the first [`TIMELINE_LINKS`] links of a
/// part were made (or removed, or stories moved), epoch ms from the first
/// to the next one.
#[derive(Default)]
struct Window {
    since: Option<i64>,
    until: Option<i64>,
}

impl Window {
    /// Link (or move) `i` of the part is about to be made.
    fn at(&mut self, i: usize) {
        let now = jirafed::clock::system_now_ms();
        if i == 0 {
            self.since = Some(now);
        } else if i == TIMELINE_LINKS {
            self.until = Some(now);
        }
    }

    /// The calls in the window, every site's, in time order; the
    /// benchmark's reads of the hub are left out (they are its only
    /// `/rest/api/2` reads there: jirafed reads the Cloud hub through v3).
    /// `what` names the part's changes ("links").
    async fn print(&self, sites: &Sites, part: &str, what: &str) -> Result<(), String> {
        let (Some(since), true) = (self.since, std::env::var_os("STRUCTURE_TIMELINE").is_some()) else { return Ok(()) };
        let until = self.until.unwrap_or(i64::MAX);
        let mut calls = Vec::new();
        for site in SITES {
            let log = sites.control(site, "/_sim/log").await?;
            for r in log["requests"].as_array().into_iter().flatten() {
                let at = r["at_ms"].as_i64().unwrap_or(0);
                let (method, t) = (r["method"].as_str().unwrap_or("?"), r["template"].as_str().unwrap_or("?"));
                let polled = site == "hub" && method == "GET" && t == format!("{API}/issue/{{issueIdOrKey}}");
                if (since..until).contains(&at) && !polled {
                    let path = r["path"].as_str().unwrap_or("?");
                    calls.push((at - since, site, format!("{method} {path}")));
                }
            }
        }
        calls.sort();
        println!(
            "structure {part}: calls while the first {TIMELINE_LINKS} {what} were handled (the benchmark's hub reads left out):"
        );
        for (ms, site, call) in calls {
            println!("structure {part}:   +{ms:>4} ms  {site:<4}  {call}");
        }
        Ok(())
    }
}

/// The machine's load average, to tell a busy machine's numbers apart.
fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

/// The sites' control paths (`/_sim/`), which the counters leave out.
struct Sites {
    http: reqwest::Client,
    bases: BTreeMap<&'static str, String>,
}

impl Sites {
    fn new(sim: &Simulator) -> Sites {
        let bases = SITES.iter().filter_map(|s| sim.site(s).map(|i| (*s, i.base_url.clone()))).collect();
        Sites { http: reqwest::Client::new(), bases }
    }

    async fn control(&self, site: &str, path: &str) -> Result<Value, String> {
        let base = self.bases.get(site).ok_or_else(|| format!("no site {site}"))?;
        let resp = self.http.get(format!("{base}{path}")).send().await.map_err(|e| e.to_string())?;
        if !resp.status().is_success() {
            return Err(format!("{site} {path}: {}", resp.status()));
        }
        resp.json().await.map_err(|e| e.to_string())
    }

    async fn stats(&self, site: &str) -> Result<Value, String> {
        self.control(site, "/_sim/stats").await
    }

    async fn all_stats(&self) -> Result<BTreeMap<&'static str, Value>, String> {
        let mut out = BTreeMap::new();
        for site in SITES {
            out.insert(site, self.stats(site).await?);
        }
        Ok(out)
    }

    /// Calls and webhooks delivered on every site: while they move, the
    /// engine is busy.
    async fn activity(&self) -> Result<Vec<u64>, String> {
        let mut out = Vec::new();
        for s in self.all_stats().await?.values() {
            out.extend([&s["reads"], &s["writes"], &s["webhooks"]["delivered"]].map(|v| v.as_u64().unwrap_or(0)));
        }
        Ok(out)
    }

    /// Waits until nothing has moved on any site for [`QUIET`].
    async fn settle(&self) -> Result<(), String> {
        let end = Instant::now() + QUIET_WITHIN;
        let mut last = self.activity().await?;
        let mut quiet_since = Instant::now();
        while quiet_since.elapsed() < QUIET {
            if Instant::now() > end {
                return Err(format!("the sites never went quiet within {} s", QUIET_WITHIN.as_secs()));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
            let now = self.activity().await?;
            if now != last {
                quiet_since = Instant::now();
                last = now;
            }
        }
        Ok(())
    }
}
