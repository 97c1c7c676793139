//! A workload of people's changes on the simulated sites and the checks
//! that the daemon carried them all: used by the crash and fault tests.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::Sim;

pub const PRIORITIES: [&str; 5] = ["Highest", "High", "Medium", "Low", "Lowest"];
pub const HUB_POINTS: &str = "customfield_10016";

/// A secondary of `config/demo.toml`: site, project, flow, Story Points field.
pub struct Secondary {
    pub site: &'static str,
    pub project: &'static str,
    pub flow: &'static str,
    pub points: &'static str,
}

pub const SECONDARIES: [Secondary; 2] = [
    Secondary { site: "emea", project: "EMEA", flow: "emea-delivery", points: "customfield_10026" },
    Secondary { site: "apac", project: "APAC", flow: "apac-platform", points: "customfield_10106" },
];

/// The mapped fields the test edits: as it last wrote them, or as found.
#[derive(Debug, Clone, PartialEq)]
pub struct Fields {
    pub summary: String,
    pub priority: String,
    pub labels: Vec<String>,
    pub points: Option<f64>,
}

/// A created secondary issue and what it should hold.
pub struct Created {
    pub site: &'static str,
    pub key: String,
    pub want: Fields,
}

pub async fn create(sim: &Sim, n: usize) -> Created {
    let s = &SECONDARIES[n % 2];
    let want = Fields {
        summary: format!("crash {n}"),
        priority: PRIORITIES[n % 5].to_string(),
        labels: vec![format!("batch{}", n % 3)],
        points: (n % 4 != 0).then_some((n % 8) as f64),
    };
    let mut fields = json!({
        "project": {"key": s.project}, "issuetype": {"name": "Story"}, "summary": want.summary,
        "description": format!("Created by the crash test, number {n}"),
        "priority": {"name": want.priority}, "labels": want.labels,
    });
    if let Some(p) = want.points {
        fields[s.points] = json!(p);
    }
    let r = sim.call(s.site, "POST", "/rest/api/2/issue", Some(&json!({"fields": fields}))).await;
    assert_eq!(r.status, 201, "create on {}: {}", s.site, r.body);
    Created { site: s.site, key: r.body["key"].as_str().expect("key").to_string(), want }
}

/// Edit number `i`: summary, priority, labels or Story Points of one issue.
pub async fn edit(sim: &Sim, issue: &mut Created, i: usize) {
    let s = SECONDARIES.iter().find(|s| s.site == issue.site).expect("secondary");
    let fields = match i % 4 {
        0 => {
            issue.want.summary = format!("crash edit {i}");
            json!({"summary": issue.want.summary})
        }
        1 => {
            issue.want.priority = PRIORITIES[i % 5].to_string();
            json!({"priority": {"name": issue.want.priority}})
        }
        2 => {
            issue.want.labels = (0..i % 3).map(|k| format!("l{}", (i + k) % 7)).collect();
            json!({"labels": issue.want.labels})
        }
        _ => {
            issue.want.points = Some((i % 21) as f64);
            json!({s.points: issue.want.points})
        }
    };
    let r = sim
        .call(issue.site, "PUT", &format!("/rest/api/2/issue/{}", issue.key), Some(&json!({"fields": fields})))
        .await;
    assert_eq!(r.status, 204, "edit {i} of {}: {}", issue.key, r.body);
}

/// A deterministic spread of edits over the issues created so far.
pub fn pick(i: usize, len: usize) -> usize {
    (i.wrapping_mul(2_654_435_761) >> 7) % len
}

/// Real changes a site took (`mutations`: its `writes` count searches too).
pub async fn writes(sim: &Sim, site: &str) -> u64 {
    sim.stats(site).await["mutations"].as_u64().unwrap_or(0)
}

/// Every issue of a JQL search on `site` (v2 shapes), paged to the end.
pub async fn search_all(sim: &Sim, site: &str, jql: &str, fields: &[&str]) -> Vec<Value> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let (path, mut body) = if sim.flavour(site) == jirafed::config::Flavour::Cloud {
            ("/rest/api/2/search/jql", json!({"jql": jql, "fields": fields, "maxResults": 100}))
        } else {
            ("/rest/api/2/search", json!({"jql": jql, "fields": fields, "maxResults": 100, "startAt": out.len()}))
        };
        if let Some(t) = &token {
            body["nextPageToken"] = json!(t);
        }
        let r = sim.call(site, "POST", path, Some(&body)).await;
        assert_eq!(r.status, 200, "search on {site}: {}", r.body);
        let page = r.body["issues"].as_array().cloned().unwrap_or_default();
        let empty = page.is_empty();
        out.extend(page);
        let done = match r.body.get("total").and_then(Value::as_u64) {
            Some(total) => out.len() as u64 >= total || empty,
            None => r.body["isLast"].as_bool().unwrap_or(true),
        };
        if done {
            return out;
        }
        token = r.body["nextPageToken"].as_str().map(String::from);
    }
}

/// The mapped fields of an issue as found (v2 shape), jirafed's labels left out.
pub fn mapped(issue: &Value, points: &str) -> (Fields, Value, Value) {
    let f = &issue["fields"];
    let mut labels: Vec<String> = f["labels"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .filter(|l| !l.starts_with("jirafed-"))
        .map(String::from)
        .collect();
    labels.sort();
    let fields = Fields {
        summary: f["summary"].as_str().unwrap_or_default().to_string(),
        priority: f["priority"]["name"].as_str().unwrap_or_default().to_string(),
        labels,
        points: f[points].as_f64(),
    };
    (fields, f["description"].clone(), f["status"]["name"].clone())
}

/// What still differs between the secondaries and the hub; panics at once
/// on what can never heal (a second mirror).
pub async fn differences(sim: &Sim) -> Vec<String> {
    let hub = search_all(
        sim,
        "hub",
        "project = PORT",
        &["summary", "description", "priority", "labels", "status", HUB_POINTS],
    )
    .await;
    let mut by_mark: BTreeMap<String, Vec<&Value>> = BTreeMap::new();
    for m in &hub {
        for l in m["fields"]["labels"].as_array().into_iter().flatten().filter_map(Value::as_str) {
            if l.starts_with("jirafed-") {
                by_mark.entry(l.to_string()).or_default().push(m);
            }
        }
    }
    let mut problems = Vec::new();
    let mut secondaries = 0;
    for s in &SECONDARIES {
        let fields = ["summary", "description", "priority", "labels", "status", s.points];
        for issue in search_all(sim, s.site, &format!("project = {}", s.project), &fields).await {
            secondaries += 1;
            let (key, id) = (issue["key"].as_str().unwrap_or("?"), issue["id"].as_str().unwrap_or("?"));
            let mark = format!("jirafed-{}-{}-{id}", s.flow, s.site);
            let mirrors = by_mark.get(&mark).map(Vec::as_slice).unwrap_or_default();
            let keys: Vec<&str> = mirrors.iter().filter_map(|m| m["key"].as_str()).collect();
            assert!(mirrors.len() <= 1, "{} {key} has {} mirrors: {keys:?}", s.site, mirrors.len());
            let Some(mirror) = mirrors.first() else {
                problems.push(format!("{} {key}: no mirror yet", s.site));
                continue;
            };
            let (want, got) = (mapped(&issue, s.points), mapped(mirror, HUB_POINTS));
            if want != got {
                problems.push(format!("{} {key} {want:?} != mirror {} {got:?}", s.site, keys[0]));
            }
        }
    }
    assert!(hub.len() <= secondaries, "the hub holds {} issues for {secondaries} secondary issues", hub.len());
    if hub.len() < secondaries {
        problems.push(format!("the hub holds {} issues for {secondaries} secondary issues", hub.len()));
    }
    problems
}

/// Nothing waits in the daemon's inbox or outboxes.
pub fn idle(status: &Value) -> bool {
    let mut outboxes = status["instances"].as_object().into_iter().flatten().map(|(_, i)| &i["outbox_depth"]);
    status["inbox_depth"] == 0 && outboxes.all(|d| *d == 0)
}

/// Waits until the sites agree while `daemon` has nothing queued before and
/// after the comparison (so no write still queued can undo it); returns its
/// last `/status`. Panics with the first differences after `within`.
pub async fn converged(sim: &Sim, daemon: &super::process::Jirafed, within: std::time::Duration) -> Value {
    let end = tokio::time::Instant::now() + within;
    loop {
        let before = daemon.status(&sim.http).await;
        let problems = differences(sim).await;
        let after = daemon.status(&sim.http).await;
        if problems.is_empty() && idle(&before) && idle(&after) {
            return after;
        }
        assert!(
            tokio::time::Instant::now() < end,
            "no convergence ({} problems), e.g.:\n{}",
            problems.len(),
            problems.iter().take(10).cloned().collect::<Vec<_>>().join("\n")
        );
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
}

/// One step of a burst: issue `n` created, then `per_create` edits of
/// issues made so far (`edits` counts them all).
pub async fn create_with_edits(sim: &Sim, issues: &mut Vec<Created>, n: usize, edits: &mut usize, per_create: usize) {
    issues.push(create(sim, n).await);
    for _ in 0..per_create {
        let at = pick(*edits, issues.len());
        edit(sim, &mut issues[at], *edits).await;
        *edits += 1;
    }
}
