//! End to end: the real daemon against the simulated world.

use std::time::Duration;

use serde_json::json;

use super::support::world::World;

const WITHIN: Duration = Duration::from_secs(20);

fn adf(text: &str) -> serde_json::Value {
    json!({"type": "doc", "version": 1, "content": [{"type": "paragraph", "content": [{"type": "text", "text": text}]}]})
}

/// With no webhooks at all, polling alone creates the mirror with every
/// mapped field right, and edits flow both ways per direction.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polling_alone_mirrors_and_syncs_both_ways() {
    let w = World::start("1s").await;
    let s = &w.sim;
    let key = s
        .create(
            "emea",
            "EMEA",
            "Checkout is slow",
            json!({"description": adf("Profile the checkout"), "priority": {"name": "High"}, "customfield_10026": 5, "labels": ["perf"]}),
        )
        .await;
    let mirror = w.mirror_of("emea", &key, WITHIN).await;
    assert!(mirror.starts_with("PORT-"), "{mirror}");
    let hub = s.get("hub", &format!("/rest/api/2/issue/{mirror}")).await.body;
    let f = &hub["fields"];
    assert_eq!(f["summary"], "Checkout is slow");
    assert_eq!(f["description"], "Profile the checkout");
    assert_eq!(f["priority"]["name"], "High");
    assert_eq!(f["customfield_10016"], 5.0, "Story Points resolved by name on both sites");
    assert!(f["labels"].as_array().unwrap().iter().any(|l| l == "perf"));
    assert_eq!(f["issuetype"]["name"], "Story");

    // secondary -> primary
    s.call(
        "emea",
        "PUT",
        &format!("/rest/api/3/issue/{key}"),
        Some(&json!({"fields": {"summary": "Checkout is slow (p99)"}})),
    )
    .await;
    w.wait_field("hub", &mirror, "summary", json!("Checkout is slow (p99)"), WITHIN).await;
    // primary -> secondary for a field mapped both ways
    s.call(
        "hub",
        "PUT",
        &format!("/rest/api/3/issue/{mirror}"),
        Some(&json!({"fields": {"priority": {"name": "Highest"}}})),
    )
    .await;
    w.wait_field("emea", &key, "priority", json!("Highest"), WITHIN).await;
    // a to_primary field edited on the primary does not flow back
    s.call("hub", "PUT", &format!("/rest/api/3/issue/{mirror}"), Some(&json!({"fields": {"customfield_10016": 13}})))
        .await;
    s.call("hub", "PUT", &format!("/rest/api/3/issue/{mirror}"), Some(&json!({"fields": {"summary": "marker"}}))).await;
    w.wait_field("emea", &key, "summary", json!("marker"), WITHIN).await;
    let emea = s.get("emea", &format!("/rest/api/2/issue/{key}?fields=customfield_10026")).await.body;
    assert_eq!(emea["fields"]["customfield_10026"], 5.0, "Story Points are to_primary only");
    // status through the workflow, by the flow's status map
    for t in ["11", "21"] {
        let r = s
            .call(
                "emea",
                "POST",
                &format!("/rest/api/3/issue/{key}/transitions"),
                Some(&json!({"transition": {"id": t}})),
            )
            .await;
        assert_eq!(r.status, 204);
    }
    w.wait_field("hub", &mirror, "status", json!("In Review"), WITHIN).await;
    // users cross dialects by e-mail: a DC assignee (by name) shows on the cloud primary
    let dc = s.create("apac", "APAC", "assigned", json!({"assignee": {"name": "bob"}})).await;
    let dc_mirror = w.mirror_of("apac", &dc, WITHIN).await;
    let assignee = s.get("hub", &format!("/rest/api/3/issue/{dc_mirror}?fields=assignee")).await.body;
    assert_eq!(assignee["fields"]["assignee"]["emailAddress"], "bob@example.com");
}

/// A mapping between incompatible field types stops the daemon at start,
/// naming the flow and both fields.
#[tokio::test]
async fn incompatible_field_types_are_refused_at_start() {
    let sim = super::support::Sim::start().await;
    let state = tempfile::tempdir().unwrap();
    let mut cfg = super::support::world::config_for(&sim, state.path(), "60s");
    cfg.flows[0].fields.push(jirafed::config::FieldMapping {
        secondary: "Story Points".into(),
        primary: "duedate".into(),
        direction: jirafed::config::Direction::ToPrimary,
        values: Default::default(),
    });
    cfg.flows[0].fields.push(jirafed::config::FieldMapping {
        secondary: "Story Pointz".into(),
        primary: "Team".into(),
        direction: jirafed::config::Direction::ToPrimary,
        values: Default::default(),
    });
    let err = match jirafed::daemon::Daemon::start(cfg).await {
        Ok(_) => panic!("started with a broken mapping"),
        Err(e) => format!("{e:#}"),
    };
    assert!(err.contains("customfield_10026 'Story Points'") && err.contains("duedate"), "{err}");
    assert!(err.contains("\"Story Pointz\" does not exist on emea; did you mean \"Story Points\""), "{err}");
}

/// Real changes a site took (`mutations`: its `writes` count searches too).
fn writes(stats: &serde_json::Value) -> u64 {
    stats["mutations"].as_u64().unwrap_or(0)
}

/// 100 edits on the secondaries settle with no echo: the secondaries get no
/// write from jirafed at all, and nothing moves afterwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edits_settle_with_zero_echo_writes() {
    let w = World::start("1s").await;
    let s = &w.sim;
    let mut issues = Vec::new();
    for n in 0..5 {
        for (site, project) in [("emea", "EMEA"), ("apac", "APAC")] {
            let key = s.create(site, project, &format!("echo {n}"), json!({})).await;
            issues.push((site, key));
        }
    }
    let mut mirrors = Vec::new();
    for (site, key) in &issues {
        mirrors.push(w.mirror_of(site, key, WITHIN).await);
    }
    // Let the first syncs (and the seeded issues' mirrors) settle.
    settle(&w).await;
    let before: Vec<u64> = futures_stats(&w).await;
    let priorities = ["Highest", "High", "Medium", "Low", "Lowest"];
    for i in 0..100usize {
        let (site, key) = &issues[i % issues.len()];
        let fields = match i % 3 {
            0 => json!({"summary": format!("echo edit {i}")}),
            1 => json!({"priority": {"name": priorities[i % 5]}}),
            _ => json!({"labels": [format!("l{i}")]}),
        };
        let r = s.call(site, "PUT", &format!("/rest/api/2/issue/{key}"), Some(&json!({"fields": fields}))).await;
        assert_eq!(r.status, 204, "{}", r.body);
    }
    // Every mirror ends with its source's values.
    for ((site, key), mirror) in issues.iter().zip(&mirrors) {
        for field in ["summary", "priority", "labels"] {
            let want = super::support::world::pick(
                &s.get(site, &format!("/rest/api/2/issue/{key}?fields={field}")).await.body["fields"][field],
            );
            if field == "labels" {
                wait_labels(&w, mirror, want).await;
            } else {
                w.wait_field("hub", mirror, field, want, WITHIN).await;
            }
        }
    }
    settle(&w).await;
    let after = futures_stats(&w).await;
    let (hub, emea, apac) = (after[0] - before[0], after[1] - before[1], after[2] - before[2]);
    assert_eq!(emea + apac, 100, "the secondaries received only the test's own 100 edits: no echo writes");
    assert!(hub <= 100 && hub >= issues.len() as u64, "hub writes {hub}: at most one per propagated change");
}

async fn futures_stats(w: &World) -> Vec<u64> {
    let mut out = Vec::new();
    for site in ["hub", "emea", "apac"] {
        out.push(writes(&w.sim.stats(site).await));
    }
    out
}

/// Waits until every site has been polled three more times with nothing
/// left queued: anything jirafed would still write has been planned by then.
async fn settle(w: &World) {
    w.wait_polls(3, Duration::from_secs(60)).await;
}

async fn wait_labels(w: &World, mirror: &str, want: serde_json::Value) {
    let want: Vec<String> =
        want.as_array().cloned().unwrap_or_default().iter().filter_map(|v| v.as_str().map(String::from)).collect();
    super::support::wait_until(WITHIN, "labels", || {
        let want = want.clone();
        async move {
            let v = w.sim.get("hub", &format!("/rest/api/2/issue/{mirror}?fields=labels")).await.body;
            let got: Vec<String> = v["fields"]["labels"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .iter()
                .filter_map(|l| l.as_str().map(String::from))
                .filter(|l| !l.starts_with("jirafed-"))
                .collect();
            (got == want).then_some(())
        }
    })
    .await;
}

fn jirafed_cli(args: &[&str]) -> (bool, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_jirafed")).args(args).output().expect("run jirafed");
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

/// A permanent 400 on one mirror dead-letters that write; 50 other issues
/// keep syncing; once the site is fixed, `jirafed dead-letters retry`
/// makes the issue converge.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_write_is_dead_lettered_and_retried_without_blocking_others() {
    let w = World::start("1s").await;
    let s = &w.sim;
    let mut keys = Vec::new();
    for n in 0..51 {
        keys.push(s.create("emea", "EMEA", &format!("batch {n}"), json!({})).await);
    }
    let mut mirrors = Vec::new();
    for k in &keys {
        mirrors.push(w.mirror_of("emea", k, Duration::from_secs(60)).await);
    }
    let bad = mirrors[0].clone();
    let set = s.control("hub", "POST", "/_sim/faults", Some(&json!({"reject_issues": [bad]}))).await;
    assert_eq!(set.body["reject_issues"][0], bad.as_str());
    for k in &keys {
        let r = s
            .call(
                "emea",
                "PUT",
                &format!("/rest/api/3/issue/{k}"),
                Some(&json!({"fields": {"summary": format!("{k} v2")}})),
            )
            .await;
        assert_eq!(r.status, 204);
    }
    for (k, m) in keys.iter().zip(&mirrors).skip(1) {
        w.wait_field("hub", m, "summary", json!(format!("{k} v2")), Duration::from_secs(60)).await;
    }
    let socket = w.state.path().join("admin.sock").display().to_string();
    let listed = super::support::wait_until(WITHIN, "a dead letter", || {
        let (socket, bad) = (socket.clone(), bad.clone());
        async move {
            let (ok, text) = jirafed_cli(&["dead-letters", "--socket", &socket, "list"]);
            (ok && text.contains(&bad)).then_some(text)
        }
    })
    .await;
    assert!(listed.contains("cannot be set"), "Jira's own error text is shown: {listed}");
    // A later change of the same issue waits behind its dead letter (so
    // nothing is applied out of order); other issues are not held up.
    let edit = |k: &str, summary: String| {
        let path = format!("/rest/api/3/issue/{k}");
        async move {
            let r = s.call("emea", "PUT", &path, Some(&json!({"fields": {"summary": summary}}))).await;
            assert_eq!(r.status, 204);
        }
    };
    edit(&keys[0], format!("{} v3", keys[0])).await;
    edit(&keys[1], format!("{} v3", keys[1])).await;
    w.wait_field("hub", &mirrors[1], "summary", json!(format!("{} v3", keys[1])), WITHIN).await;
    super::support::wait_until(WITHIN, "the v3 write queued behind the dead letter", || async {
        let hub = w.daemon().store();
        (hub.outbox_depth("hub").unwrap_or(0) >= 1).then_some(())
    })
    .await;
    let held = s.get("hub", &format!("/rest/api/2/issue/{bad}?fields=summary")).await.body;
    assert_eq!(held["fields"]["summary"], "batch 0", "nothing reaches the dead-lettered issue: {held}");
    s.control("hub", "DELETE", "/_sim/faults", None).await;
    let (ok, text) = jirafed_cli(&["dead-letters", "--socket", &socket, "retry", "--all"]);
    assert!(ok, "{text}");
    // The retried write, then the one queued behind it.
    w.wait_field("hub", &bad, "summary", json!(format!("{} v3", keys[0])), WITHIN).await;
    let (ok, text) = jirafed_cli(&["dead-letters", "--socket", &socket, "list"]);
    assert!(ok && text.contains("no dead letters"), "{text}");
}

/// With webhooks on (and polling too slow to matter), a create on a
/// secondary is mirrored within 2 s, and a DC edit flows as fast.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_carry_changes_within_two_seconds() {
    let w = World::start("60s").await;
    w.register_webhooks().await;
    let s = &w.sim;
    let key = s.create("emea", "EMEA", "via webhook", json!({"priority": {"name": "Low"}})).await;
    let mirror = w.mirror_of("emea", &key, Duration::from_secs(2)).await;
    w.wait_field("hub", &mirror, "priority", json!("Low"), Duration::from_secs(2)).await;
    let dc = s.create("apac", "APAC", "dc via webhook", json!({})).await;
    let dc_mirror = w.mirror_of("apac", &dc, Duration::from_secs(2)).await;
    s.call(
        "apac",
        "PUT",
        &format!("/rest/api/2/issue/{dc}"),
        Some(&json!({"fields": {"description": "h1. Title\n\nSome *bold*"}})),
    )
    .await;
    w.wait_field("hub", &dc_mirror, "description", json!("h1. Title\n\nSome *bold*"), Duration::from_secs(2)).await;
    let hub = s.get("hub", &format!("/rest/api/3/issue/{dc_mirror}?fields=description")).await.body;
    assert_eq!(hub["fields"]["description"]["content"][0]["type"], "heading", "wiki became ADF on the cloud primary");
    let status = reqwest::get(format!("http://{}/status", w.daemon().addr))
        .await
        .unwrap()
        .json::<serde_json::Value>()
        .await
        .unwrap();
    assert!(status["instances"]["emea"]["last_webhook"].is_string(), "{status}");
}

/// The same field edited on both sides at once, while jirafed runs, ends
/// with one value on both (emea-delivery: primary_wins) and then nothing
/// moves. With `read_target = "always"` the mirror is read before the
/// write, so the primary's edit is seen however its webhook is timed (with
/// "auto" it must arrive within the settle window; see sync_accept for the
/// timing-free case of each policy).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_edits_converge_per_policy_and_stop() {
    let w = World::start_with("1s", |c| c.flows[0].read_target = jirafed::config::ReadTarget::Always).await;
    w.register_webhooks().await;
    let s = &w.sim;
    let key = s.create("emea", "EMEA", "contested", json!({})).await;
    let mirror = w.mirror_of("emea", &key, WITHIN).await;
    settle(&w).await;
    let (pa, pb) = (format!("/rest/api/3/issue/{key}"), format!("/rest/api/3/issue/{mirror}"));
    let (ba, bb) = (json!({"fields": {"summary": "secondary says"}}), json!({"fields": {"summary": "primary says"}}));
    let (a, b) = tokio::join!(s.call("emea", "PUT", &pa, Some(&ba)), s.call("hub", "PUT", &pb, Some(&bb)));
    assert_eq!((a.status, b.status), (204, 204));
    w.wait_field("emea", &key, "summary", json!("primary says"), WITHIN).await;
    w.wait_field("hub", &mirror, "summary", json!("primary says"), WITHIN).await;
    let before = futures_stats(&w).await;
    settle(&w).await;
    assert_eq!(futures_stats(&w).await, before, "no further writes: no ping-pong");
}

/// `/status` says a site is unreachable as soon as the daemon's calls to it
/// get no answer, names what failed, and says it is back once they do.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_shows_a_site_unreachable_while_its_connections_fail() {
    let w = World::start("300ms").await;
    let reachable = |site: &'static str, want: bool| {
        let w = &w;
        async move {
            let status = w.status().await;
            let i = &status["instances"][site];
            (i["reachable"] == want).then(|| i.clone())
        }
    };
    super::support::wait_until(WITHIN, "emea reachable", || reachable("emea", true)).await;
    let faults = json!({"reset_rate": 1.0});
    assert_eq!(w.sim.control("emea", "POST", "/_sim/faults", Some(&faults)).await.status, 200);
    let down = super::support::wait_until(WITHIN, "emea unreachable", || reachable("emea", false)).await;
    let error = down["last_error"].as_str().unwrap_or_default();
    assert!(!error.is_empty(), "the failure is named: {down}");
    assert!(!down["last_error_at"].is_null(), "{down}");
    assert_eq!(w.status().await["instances"]["hub"]["reachable"], true, "only emea is down");

    let faults = json!({"reset_rate": 0.0});
    assert_eq!(w.sim.control("emea", "POST", "/_sim/faults", Some(&faults)).await.status, 200);
    super::support::wait_until(WITHIN, "emea reachable again", || reachable("emea", true)).await;
}

/// The daemon's write rate to the hub, as `/status` shows it.
async fn allowed_rate(w: &World, site: &str) -> Option<f64> {
    w.status().await["instances"][site]["rate_limit"]["writes_per_second_allowed"].as_f64()
}

/// Another client spends nearly all of the hub's write budget: the daemon's
/// write rate there drops below its configured 20/s (`/status` and
/// `/metrics` say so) instead of running into 429s; once the other client
/// stops it comes back to 20/s, every mirror arrives and nothing is
/// dead-lettered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_budget_shared_with_another_client_slows_the_daemon_until_it_stops() {
    let w = World::start("1s").await;
    let s = &w.sim;
    assert_eq!(allowed_rate(&w, "hub").await, Some(20.0), "the configured rate at first");
    // The bucket holds 10 and refills 10/s, of which the other client takes
    // 9.5: the daemon's mirrors soon find less than a fifth of it left.
    let busy = json!({"write_rate": {"per_second": 10, "burst": 10}, "background_writes_per_second": 9.5, "spare_users": ["alice"]});
    assert_eq!(s.control("hub", "POST", "/_sim/faults", Some(&busy)).await.status, 200);
    let mut keys = Vec::new();
    for n in 0..8 {
        keys.push(s.create("emea", "EMEA", &format!("shared {n}"), json!({})).await);
    }
    let slowed = super::support::wait_until(Duration::from_secs(60), "a slower write rate to the hub", || async {
        allowed_rate(&w, "hub").await.filter(|r| *r < 20.0)
    })
    .await;
    let metrics = s.http.get(format!("http://{}/metrics", w.daemon().addr)).send().await.expect("GET /metrics");
    let metrics = metrics.text().await.expect("metrics text");
    assert!(metrics.contains("jirafed_write_rate_allowed{instance=\"hub\"}"), "{metrics}");

    let stop = json!({"background_writes_per_second": 0});
    assert_eq!(s.control("hub", "POST", "/_sim/faults", Some(&stop)).await.status, 200);
    for k in &keys {
        w.mirror_of("emea", k, Duration::from_secs(60)).await;
    }
    super::support::wait_until(Duration::from_secs(30), "the configured rate again", || async {
        allowed_rate(&w, "hub").await.filter(|r| *r == 20.0)
    })
    .await;
    let status = w.status().await;
    assert_eq!(status["instances"]["hub"]["dead_letters"], 0, "slowed to {slowed}/s: {status}");
    let background = &s.stats("hub").await["background"];
    assert!(background["writes"].as_u64().unwrap_or(0) > 0, "{background}");
}
