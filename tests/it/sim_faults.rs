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
    assert_eq!(st["writes"], 0);
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
