//! The simulator's webhooks, rate limits and faults, its control paths and
//! the `jirafed sim` command.

use std::time::Duration;

use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use super::support::receiver::Receiver;
use super::support::{Sim, wait_until};

fn hmac_hex(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

async fn register(s: &Sim, site: &str, url: &str, events: &[&str], jql: Option<&str>, secret: Option<&str>) -> u64 {
    let mut body = json!({"name": "test", "url": url, "events": events});
    if let Some(q) = jql {
        body["jql"] = json!(q);
    }
    if let Some(k) = secret {
        body["secret"] = json!(k);
    }
    let r = s.control(site, "POST", "/_sim/webhooks", Some(&body)).await;
    assert_eq!(r.status, 201, "{}", r.body);
    r.body["id"].as_u64().unwrap()
}

#[tokio::test]
async fn webhooks_are_signed_carry_jiras_headers_and_are_retried() {
    let s = Sim::start().await;
    let rx = Receiver::start().await;
    register(&s, "emea", &rx.url(), &["jira:issue_created"], None, Some("It's a Secret to Everybody")).await;
    rx.fail_next(2, 503);
    let key = s.create("emea", "EMEA", "hooked", json!({})).await;
    let got = wait_until(Duration::from_secs(10), "three delivery attempts", || {
        let rx = rx.clone();
        async move { (rx.all().len() >= 3).then(|| rx.all()) }
    })
    .await;
    let ids: Vec<&str> = got.iter().map(|r| r.headers["x-atlassian-webhook-identifier"].to_str().unwrap()).collect();
    assert!(ids.iter().all(|i| *i == ids[0]), "the identifier is the same across retries");
    assert!(got[0].headers.get("x-atlassian-webhook-retry").is_none());
    assert_eq!(got[1].headers["x-atlassian-webhook-retry"], "1");
    assert_eq!(got[2].headers["x-atlassian-webhook-retry"], "2");
    for r in &got {
        let sig = r.headers["x-hub-signature"].to_str().unwrap();
        assert_eq!(sig, format!("sha256={}", hmac_hex("It's a Secret to Everybody", &r.body)));
    }
    let body: Value = serde_json::from_slice(&got[2].body).unwrap();
    assert_eq!(body["webhookEvent"], "jira:issue_created");
    assert_eq!(body["issue_event_type_name"], "issue_created");
    assert_eq!(body["issue"]["key"], key.as_str());
    assert!(body["timestamp"].is_i64(), "epoch milliseconds");
    assert!(body["issue"]["self"].as_str().unwrap().contains("/rest/api/2/"), "webhooks carry the v2 shape");
    let stats = wait_until(Duration::from_secs(5), "delivered counted", || {
        let s = &s;
        async move {
            let st = s.stats("emea").await;
            (st["webhooks"]["delivered"] == 1).then_some(st)
        }
    })
    .await;
    assert_eq!(stats["webhooks"]["retried"], 2);
}

#[tokio::test]
async fn webhooks_follow_events_and_jql_filters() {
    let s = Sim::start().await;
    let rx = Receiver::start().await;
    let events =
        ["jira:issue_created", "jira:issue_updated", "comment_created", "issuelink_created", "jira:issue_deleted"];
    register(&s, "apac", &rx.url(), &events, Some("project = APAC AND labels = hot"), None).await;
    let cold = s.create("apac", "APAC", "cold", json!({})).await;
    let hot = s.create("apac", "APAC", "hot", json!({"labels": ["hot"]})).await;
    let edit = json!({"fields": {"summary": "hotter"}});
    assert_eq!(s.call("apac", "PUT", &format!("/rest/api/2/issue/{hot}"), Some(&edit)).await.status, 204);
    let c = json!({"body": "hello"});
    assert_eq!(s.call("apac", "POST", &format!("/rest/api/2/issue/{hot}/comment"), Some(&c)).await.status, 201);
    let link = json!({"type": {"name": "Relates"}, "inwardIssue": {"key": hot}, "outwardIssue": {"key": cold}});
    assert_eq!(s.call("apac", "POST", "/rest/api/2/issueLink", Some(&link)).await.status, 201);
    assert_eq!(s.call("apac", "DELETE", &format!("/rest/api/2/issue/{hot}"), None).await.status, 204);
    let got = wait_until(Duration::from_secs(10), "deletion delivered", || {
        let rx = rx.clone();
        async move {
            let e = rx.events();
            e.iter().any(|(n, _)| n == "jira:issue_deleted").then_some(e)
        }
    })
    .await;
    let names: Vec<&str> = got.iter().map(|(n, _)| n.as_str()).collect();
    for want in events {
        assert!(names.contains(&want), "{want} missing from {names:?}");
    }
    for (name, body) in &got {
        if let Some(k) = body["issue"]["key"].as_str() {
            assert_eq!(k, hot, "{name}: only the hot issue passes the filter");
        }
    }
    let updated =
        got.iter().find(|(n, b)| n == "jira:issue_updated" && b["changelog"]["items"][0]["field"] == "summary");
    let updated = updated.map(|(_, b)| b.clone()).expect("an update with a changelog");
    assert_eq!(updated["changelog"]["items"][0]["toString"], "hotter");
    let link = got.iter().find(|(n, _)| n == "issuelink_created").map(|(_, b)| b.clone()).unwrap();
    assert!(link.get("issue").is_none(), "issuelink events carry only issueLink");
    assert!(link["issueLink"]["sourceIssueId"].is_u64());
}

#[tokio::test]
async fn dropped_webhooks_are_counted_not_sent() {
    let s = Sim::start().await;
    let rx = Receiver::start().await;
    register(&s, "hub", &rx.url(), &["jira:issue_created"], None, None).await;
    assert_eq!(s.control("hub", "POST", "/_sim/faults", Some(&json!({"drop_webhooks": 1.0}))).await.status, 200);
    s.create("hub", "PORT", "lost", json!({})).await;
    assert_eq!(s.stats("hub").await["webhooks"]["dropped"], 1, "dropped at once, before any delivery");
    assert!(rx.all().is_empty());
}

#[tokio::test]
async fn rate_limits_answer_429_with_jiras_headers() {
    let s = Sim::start().await;
    let faults = json!({"write_rate": {"per_second": 0.5, "burst": 2}});
    s.control("hub", "POST", "/_sim/faults", Some(&faults)).await;
    let body = json!({"fields": {"project": {"key": "PORT"}, "issuetype": {"name": "Task"}, "summary": "x"}});
    let mut statuses = Vec::new();
    let mut limited = None;
    for _ in 0..3 {
        let r = s.call("hub", "POST", "/rest/api/3/issue", Some(&body)).await;
        statuses.push(r.status);
        if r.status == 429 {
            limited = Some(r);
        }
    }
    assert_eq!(statuses, [201, 201, 429]);
    let r = limited.unwrap();
    let h = |k: &str| r.headers.get(k).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    assert!(h("retry-after").parse::<u64>().unwrap() >= 1);
    assert_eq!(h("x-ratelimit-limit"), "2");
    assert_eq!(h("x-ratelimit-remaining"), "0");
    assert!(
        chrono::NaiveDateTime::parse_from_str(&h("x-ratelimit-reset"), "%Y-%m-%dT%H:%MZ").is_ok(),
        "{}",
        h("x-ratelimit-reset")
    );
    assert_eq!(h("ratelimit-reason"), "jira-burst-based");
    assert_eq!(s.get("hub", "/rest/api/3/myself").await.status, 200, "reads have their own budget");
    let st = s.stats("hub").await;
    assert_eq!((st["rate_limited"].as_u64(), st["writes"].as_u64()), (Some(1), Some(2)));
    assert_eq!(st["mutations"], 2, "two creates, no search");

    s.control("hub", "DELETE", "/_sim/faults", None).await;
    let a = s.create("hub", "PORT", "a", json!({})).await;
    let b = s.create("hub", "PORT", "b", json!({})).await;
    s.control("hub", "POST", "/_sim/faults", Some(&json!({"issue_write_rate": {"per_second": 0.1, "burst": 1}}))).await;
    let edit = json!({"fields": {"summary": "again"}});
    assert_eq!(s.call("hub", "PUT", &format!("/rest/api/3/issue/{a}"), Some(&edit)).await.status, 204);
    let r = s.call("hub", "PUT", &format!("/rest/api/3/issue/{a}"), Some(&edit)).await;
    assert_eq!(r.status, 429);
    assert_eq!(r.headers["ratelimit-reason"], "jira-per-issue-on-write");
    assert_eq!(
        s.call("hub", "PUT", &format!("/rest/api/3/issue/{b}"), Some(&edit)).await.status,
        204,
        "other issues go on"
    );
}

#[tokio::test]
async fn injected_errors_come_at_the_asked_share() {
    let s = Sim::start().await;
    s.control("emea", "POST", "/_sim/faults", Some(&json!({"error_rate": 0.2}))).await;
    let mut errors = 0u64;
    for _ in 0..1000 {
        let r = s.get("emea", "/rest/api/3/myself").await;
        match r.status {
            200 => {}
            500 | 502 | 503 => errors += 1,
            other => panic!("unexpected {other}"),
        }
    }
    // Binomial(1000, 0.2): sd ~12.6; +-60 is over 4.7 sd.
    assert!((140..=260).contains(&errors), "{errors} errors out of 1000");
    assert_eq!(s.stats("emea").await["errors_injected"], errors);
}

/// `spare_users`: the people a test acts as meet none of the faults; the
/// technical user meets them all.
#[tokio::test]
async fn spared_users_meet_no_fault() {
    let s = Sim::start().await;
    for site in ["emea", "apac"] {
        let faults = json!({"error_rate": 1.0, "latency_ms": 3000, "spare_users": ["alice"]});
        assert_eq!(s.control(site, "POST", "/_sim/faults", Some(&faults)).await.status, 200);
        let path = if site == "emea" { "/rest/api/3/myself" } else { "/rest/api/2/myself" };
        let started = std::time::Instant::now();
        assert_eq!(s.call_as("alice", site, "GET", path, None).await.status, 200, "{site}");
        assert!(started.elapsed() < Duration::from_secs(3), "{site}: alice meets no latency");
        let resets = json!({"error_rate": 0.0, "latency_ms": 0, "reset_rate": 1.0});
        assert_eq!(s.control(site, "POST", "/_sim/faults", Some(&resets)).await.status, 200);
        assert_eq!(s.call_as("alice", site, "GET", path, None).await.status, 200, "{site}: no reset for alice");
        let faults = json!({"reset_rate": 0.0, "error_rate": 1.0});
        assert_eq!(s.control(site, "POST", "/_sim/faults", Some(&faults)).await.status, 200);
        let bot = s.call_as("sync-bot", site, "GET", path, None).await.status;
        assert!(matches!(bot, 500 | 502 | 503), "{site}: the technical user meets the error: {bot}");
    }
}

#[tokio::test]
async fn connection_resets_fail_at_the_transport() {
    let s = Sim::start().await;
    s.control("apac", "POST", "/_sim/faults", Some(&json!({"reset_rate": 1.0}))).await;
    let url = format!("{}/rest/api/2/myself", s.base("apac"));
    let err = reqwest::Client::new().get(&url).bearer_auth("sim-pat").send().await;
    assert!(err.is_err(), "the connection is dropped without an answer");
    assert_eq!(s.control("apac", "GET", "/_sim/stats", None).await.status, 200, "control paths never reset");
    s.control("apac", "DELETE", "/_sim/faults", None).await;
    assert_eq!(s.get("apac", "/rest/api/2/myself").await.status, 200);
    let bad = s.control("apac", "POST", "/_sim/faults", Some(&json!({"error_rate": 2.0}))).await;
    assert_eq!(bad.status, 400);
    let bad = s.control("apac", "POST", "/_sim/faults", Some(&json!({"errror_rate": 0.1}))).await;
    assert_eq!(bad.status, 400, "unknown fault keys are refused");
}

#[tokio::test]
async fn reset_restores_the_seed_and_zeroes_counters() {
    let s = Sim::start().await;
    let key = s.create("emea", "EMEA", "temporary", json!({})).await;
    assert_eq!(key, "EMEA-3", "two seeded issues come first");
    let hooks = s.control("emea", "GET", "/_sim/webhooks", None).await.body;
    assert_eq!(hooks, json!([]));
    assert_eq!(s.control("emea", "POST", "/_sim/reset", None).await.status, 204);
    assert_eq!(s.get("emea", "/rest/api/3/issue/EMEA-3").await.status, 404);
    assert_eq!(s.get("emea", "/rest/api/3/issue/EMEA-1").await.status, 200);
    let st = s.stats("emea").await;
    assert_eq!((&st["writes"], &st["mutations"]), (&json!(0), &json!(0)));
    assert_eq!(st["requests"]["GET /rest/api/3/issue/{issueIdOrKey}"], 2);
}

#[tokio::test]
async fn the_sim_command_serves_the_default_world() {
    use tokio::io::AsyncBufReadExt;
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_jirafed"))
        .args(["sim", "--port-base", "0"])
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = tokio::io::BufReader::new(stdout).lines();
    let mut urls = Vec::new();
    while urls.len() < 3 {
        let line =
            tokio::time::timeout(Duration::from_secs(20), lines.next_line()).await.expect("banner").unwrap().unwrap();
        if let Some(url) = line.split_whitespace().find(|w| w.starts_with("http://")) {
            urls.push((line.split_whitespace().next().unwrap_or_default().to_string(), url.to_string()));
        }
    }
    let names: Vec<&str> = urls.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["hub", "emea", "apac"]);
    let http = reqwest::Client::new();
    let hub = http
        .get(format!("{}/rest/api/3/project/PORT", urls[0].1))
        .basic_auth("sync-bot@example.com", Some("sim-token"));
    assert_eq!(hub.send().await.unwrap().status(), 200);
    let apac = http.get(format!("{}/rest/api/2/project/APAC", urls[2].1)).bearer_auth("sim-pat");
    assert_eq!(apac.send().await.unwrap().status(), 200);
    child.kill().await.expect("kill");
}

#[test]
fn print_config_round_trips() {
    let out =
        std::process::Command::new(env!("CARGO_BIN_EXE_jirafed")).args(["sim", "--print-config"]).output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let world = jirafed::sim::WorldConfig::from_toml(&text).expect("the printed world parses");
    assert_eq!(world.sites.len(), 3);
    assert!(text.contains("sim-token"));
}

/// `reads`, `writes`, `mutations` of a site's stats.
async fn counters(s: &Sim, site: &str) -> [u64; 3] {
    let st = s.stats(site).await;
    ["reads", "writes", "mutations"].map(|k| st[k].as_u64().unwrap_or_else(|| panic!("no {k} in {st}")))
}

#[tokio::test]
async fn post_searches_count_as_writes_but_not_as_mutations() {
    let s = Sim::start().await;
    for (site, project, path) in [("hub", "PORT", "/rest/api/3/search/jql"), ("apac", "APAC", "/rest/api/2/search")] {
        let before = counters(&s, site).await;
        let search = json!({"jql": format!("project = {project}"), "fields": ["key"]});
        let r = s.call(site, "POST", path, Some(&search)).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let [reads, writes, mutations] = counters(&s, site).await;
        assert_eq!([reads, writes, mutations], [before[0], before[1] + 1, before[2]], "{site}: a POST search");
        s.create(site, project, "counted", json!({})).await;
        assert_eq!(counters(&s, site).await, [reads, writes + 1, mutations + 1], "{site}: a create");
    }
    // The read budget still pays for POST searches, as Jira's limits do.
    s.control("hub", "POST", "/_sim/faults", Some(&json!({"read_rate": {"per_second": 0.01, "burst": 1}}))).await;
    let search = json!({"jql": "project = PORT"});
    assert_eq!(s.call("hub", "POST", "/rest/api/3/search/jql", Some(&search)).await.status, 200);
    assert_eq!(s.call("hub", "POST", "/rest/api/3/search/jql", Some(&search)).await.status, 429);
    s.create("hub", "PORT", "writes have their own budget", json!({})).await;
}

#[tokio::test]
async fn a_fixed_retry_after_is_sent_and_held() {
    let s = Sim::start().await;
    // Two tokens a second: the bucket is empty for 500 ms after the first
    // create, long enough for the next call even on a loaded machine.
    let faults = json!({"write_rate": {"per_second": 2.0, "burst": 1, "retry_after": 2}});
    let r = s.control("hub", "POST", "/_sim/faults", Some(&faults)).await;
    assert_eq!(r.body["write_rate"]["retry_after"], 2, "{}", r.body);
    s.create("hub", "PORT", "the burst", json!({})).await;
    let body = json!({"fields": {"project": {"key": "PORT"}, "issuetype": {"name": "Task"}, "summary": "x"}});
    let sent = chrono::Utc::now();
    let refused = s.call("hub", "POST", "/rest/api/3/issue", Some(&body)).await;
    let answered = chrono::Utc::now();
    assert_eq!(refused.status, 429);
    let h = |r: &super::support::Resp, k: &str| r.headers[k].to_str().unwrap().to_string();
    assert_eq!(h(&refused, "retry-after"), "2");
    let reset = h(&refused, "x-ratelimit-reset");
    let two = chrono::Duration::seconds(2);
    let fmt = |t: chrono::DateTime<chrono::Utc>| (t + two).format("%Y-%m-%dT%H:%MZ").to_string();
    assert!([fmt(sent), fmt(answered)].contains(&reset), "reset {reset} is two seconds after the 429");
    // After 600 ms the bucket has a token again; it stays closed anyway.
    let refused_at = std::time::Instant::now();
    wait_until(Duration::from_secs(2), "600 ms to pass", || async {
        (refused_at.elapsed() >= Duration::from_millis(600)).then_some(())
    })
    .await;
    let again = s.call("hub", "POST", "/rest/api/3/issue", Some(&body)).await;
    assert_eq!((again.status, h(&again, "retry-after")), (429, "2".to_string()));
    assert_eq!(s.get("hub", "/rest/api/3/myself").await.status, 200, "reads are not held");
    let open = wait_until(Duration::from_secs(5), "the write budget to open", || {
        let (s, body) = (&s, &body);
        async move {
            let r = s.call("hub", "POST", "/rest/api/3/issue", Some(body)).await;
            (r.status == 201).then_some(std::time::Instant::now())
        }
    })
    .await;
    assert!(open.duration_since(refused_at) >= Duration::from_millis(1900), "held for the two seconds announced");
}

#[tokio::test]
async fn lost_responses_apply_the_write_but_answer_502_or_reset() {
    let s = Sim::start().await;
    let faults = json!({"lost_response_rate": 1.0});
    assert_eq!(s.control("hub", "POST", "/_sim/faults", Some(&faults)).await.status, 200);
    assert_eq!(s.get("hub", "/rest/api/3/myself").await.status, 200, "reads are answered");
    let body = json!({"fields": {"project": {"key": "PORT"}, "issuetype": {"name": "Story"}, "summary": "ghost"}});
    let r = s.call("hub", "POST", "/rest/api/3/issue", Some(&body)).await;
    assert_eq!(r.status, 502, "{}", r.body);
    assert!(r.body["errorMessages"][0].is_string(), "Jira's error shape: {}", r.body);
    let st = s.stats("hub").await;
    assert_eq!((&st["errors_injected"], &st["mutations"]), (&json!(1), &json!(1)), "{st}");
    let issue = s.get("hub", "/rest/api/3/issue/PORT-1?fields=summary").await;
    assert_eq!((issue.status, &issue.body["fields"]["summary"]), (200, &json!("ghost")), "the create happened");

    s.control("hub", "POST", "/_sim/faults", Some(&json!({"lost_response_as": "reset"}))).await;
    let url = format!("{}/rest/api/3/issue/PORT-1", s.base("hub"));
    let edit = json!({"fields": {"summary": "edited in the dark"}});
    let sent = s.http.put(&url).basic_auth("sync-bot@example.com", Some("sim-token")).json(&edit).send().await;
    assert!(sent.is_err(), "the connection is closed without an answer");
    s.control("hub", "DELETE", "/_sim/faults", None).await;
    let issue = s.get("hub", "/rest/api/3/issue/PORT-1?fields=summary").await;
    assert_eq!(issue.body["fields"]["summary"], "edited in the dark", "the edit happened");
    assert_eq!(s.stats("hub").await["errors_injected"], 2);
}

/// A small world: one cloud and one Data Center site, with their own
/// technical users; the ports given are taken by nobody (`--port-base` moves them).
const SMALL_WORLD: &str = r#"
[[sites]]
name = "solo"
flavour = "cloud"
port = 1

  [[sites.projects]]
  key = "SOLO"
  name = "Solo"

  [[sites.users]]
  name = "robot"
  display_name = "Robot"
  email = "robot@example.org"
  token = "robot-token"

[[sites]]
name = "onprem"
flavour = "datacenter"
port = 2

  [[sites.projects]]
  key = "ONP"
  name = "On premises"

  [[sites.users]]
  name = "butler"
  display_name = "Butler"
  email = "butler@example.org"
  pat = "butler-pat"
  password = "butler-password"
"#;

#[test]
fn print_config_applies_port_base_to_a_config() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("world.toml");
    std::fs::write(&file, SMALL_WORLD).unwrap();
    let ports = |extra: &[&str]| {
        let mut args = vec!["sim", "--print-config", "--config", file.to_str().unwrap()];
        args.extend(extra);
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_jirafed")).args(&args).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let world = jirafed::sim::WorldConfig::from_toml(&String::from_utf8(out.stdout).unwrap()).unwrap();
        world.sites.iter().map(|s| s.port).collect::<Vec<_>>()
    };
    assert_eq!(ports(&[]), [1, 2], "without --port-base the file's ports stand");
    assert_eq!(ports(&["--port-base", "9900"]), [9901, 9902]);
    assert_eq!(ports(&["--port-base", "0"]), [0, 0]);
}

#[tokio::test]
async fn the_sim_command_serves_a_config_file_on_free_ports() {
    use tokio::io::AsyncBufReadExt;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("world.toml");
    std::fs::write(&file, SMALL_WORLD).unwrap();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_jirafed"))
        .args(["sim", "--config", file.to_str().unwrap(), "--port-base", "0"])
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn");
    let mut lines = tokio::io::BufReader::new(child.stdout.take().expect("stdout")).lines();
    let mut banner = Vec::new();
    while !banner.last().is_some_and(|l: &String| l.starts_with("control:")) {
        let line = tokio::time::timeout(Duration::from_secs(20), lines.next_line()).await.expect("banner");
        banner.push(line.unwrap().expect("the banner ends with the control line"));
    }
    let url = |site: &str| {
        let line = banner.iter().find(|l| l.split_whitespace().next() == Some(site) && l.contains("http://"));
        line.and_then(|l| l.split_whitespace().find(|w| w.starts_with("http://"))).expect(site).to_string()
    };
    let text = banner.join("\n");
    assert!(text.contains("robot@example.org / API token robot-token"), "{text}");
    assert!(text.contains("PAT butler-pat (or butler / butler-password)"), "{text}");
    assert!(!text.contains("sim-token") && !text.contains("sync-bot"), "no default credentials: {text}");
    let http = reqwest::Client::new();
    let solo = http
        .get(format!("{}/rest/api/3/project/SOLO", url("solo")))
        .basic_auth("robot@example.org", Some("robot-token"));
    assert_eq!(solo.send().await.unwrap().status(), 200);
    let onprem = http.get(format!("{}/rest/api/2/project/ONP", url("onprem"))).bearer_auth("butler-pat");
    assert_eq!(onprem.send().await.unwrap().status(), 200);
    child.kill().await.expect("kill");
}
