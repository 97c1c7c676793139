//! The sync core's acceptance cases, end to end: the real daemon against the
//! simulated world (hub primary; emea Cloud, apac Data Center secondaries),
//! with the test's own edits made by alice.

use std::time::Duration;

use jirafed::config::ConflictPolicy;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};

use super::support::wait_until;
use super::support::world::{World, pick};

const WITHIN: Duration = Duration::from_secs(20);
const HUB_POINTS: &str = "customfield_10016";

/// A secondary of `config/demo.toml`.
struct Secondary {
    site: &'static str,
    project: &'static str,
    points: &'static str,
}

const EMEA: Secondary = Secondary { site: "emea", project: "EMEA", points: "customfield_10026" };
const APAC: Secondary = Secondary { site: "apac", project: "APAC", points: "customfield_10106" };

fn adf(text: &str) -> Value {
    json!({"type": "doc", "version": 1, "content": [{"type": "paragraph", "content": [{"type": "text", "text": text}]}]})
}

/// A rich-text value as `site` takes it (ADF on Cloud, wiki on DC).
fn rich(site: &str, text: &str) -> Value {
    if site == "apac" { json!(text) } else { adf(text) }
}

/// A field of an issue as the v2 API shows it, names picked out; jirafed's
/// own labels left out.
async fn field(w: &World, site: &str, key: &str, name: &str) -> Value {
    let v = w.sim.get(site, &format!("/rest/api/2/issue/{key}?fields={name}")).await.body;
    match pick(&v["fields"][name]) {
        Value::Array(a) => {
            let mut labels: Vec<Value> =
                a.into_iter().filter(|l| !l.as_str().is_some_and(|s| s.starts_with("jirafed-"))).collect();
            labels.sort_by_key(|l| l.to_string());
            Value::Array(labels)
        }
        other => other,
    }
}

async fn wait_hub(w: &World, mirror: &str, name: &str, want: &Value) {
    let what = format!("hub {mirror} {name} = {want}");
    wait_until(WITHIN, &what, || async { (field(w, "hub", mirror, name).await == *want).then_some(()) }).await;
}

async fn put(w: &World, site: &str, key: &str, fields: Value) {
    let r =
        w.sim.call(site, "PUT", &format!("{}/issue/{key}", w.sim.api(site)), Some(&json!({"fields": fields}))).await;
    assert_eq!(r.status, 204, "edit of {site} {key}: {}", r.body);
}

async fn transition(w: &World, site: &str, key: &str, id: &str) {
    let path = format!("{}/issue/{key}/transitions", w.sim.api(site));
    let r = w.sim.call(site, "POST", &path, Some(&json!({"transition": {"id": id}}))).await;
    assert_eq!(r.status, 204, "transition {id} of {site} {key}: {}", r.body);
}

/// With webhooks on, a create on a Cloud and on a Data Center secondary is
/// mirrored in PORT within 2 s with every mapped field right.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_is_mirrored_with_every_mapped_field_within_two_seconds() {
    let w = World::start("60s").await;
    w.register_webhooks().await;
    for s in [EMEA, APAC] {
        let extra = json!({
            "description": rich(s.site, "Profile the checkout"), "priority": {"name": "High"},
            s.points: 8, "labels": ["perf", "q3"],
        });
        let key = w.sim.create(s.site, s.project, "Checkout is slow", extra).await;
        transition(&w, s.site, &key, "11").await;
        let mirror = w.mirror_of(s.site, &key, Duration::from_secs(2)).await;
        let checks = [
            ("summary", json!("Checkout is slow")),
            ("description", json!("Profile the checkout")),
            ("priority", json!("High")),
            (HUB_POINTS, json!(8.0)),
            ("labels", json!(["perf", "q3"])),
            ("issuetype", json!("Story")),
            ("project", json!("PORT")),
        ];
        for (name, want) in checks {
            // The mirror is created with every field at once.
            let got = if name == "project" {
                w.sim.get("hub", &format!("/rest/api/2/issue/{mirror}")).await.body["fields"]["project"]["key"].clone()
            } else {
                field(&w, "hub", &mirror, name).await
            };
            assert_eq!(got, want, "{} {key} -> {mirror}: {name}", s.site);
        }
        let wait = Duration::from_secs(2);
        w.wait_field("hub", &mirror, "status", json!("In Progress"), wait).await;
    }
}

/// Every webhook dropped: the next poll (every 2 s here) carries the create.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_every_webhook_dropped_the_next_poll_carries_the_change() {
    let w = World::start("2s").await;
    w.register_webhooks().await;
    for site in ["hub", "emea", "apac"] {
        w.sim.control(site, "POST", "/_sim/faults", Some(&json!({"drop_webhooks": 1.0}))).await;
    }
    // Polls have started (the first one sets the cursor to "now").
    w.wait_polls(1, WITHIN).await;
    let key = w.sim.create("emea", "EMEA", "no webhook for this", json!({"priority": {"name": "Low"}})).await;
    // One poll interval, plus a second for planning and the write.
    let mirror = w.mirror_of("emea", &key, Duration::from_secs(3)).await;
    assert_eq!(field(&w, "hub", &mirror, "priority").await, json!("Low"));
    let stats = w.sim.stats("emea").await;
    assert_eq!(stats["webhooks"]["delivered"], 0, "{stats}");
    assert!(stats["webhooks"]["dropped"].as_u64().unwrap_or(0) > 0, "{stats}");
}

/// One random edit of a linked secondary issue, applied; returns what the
/// mirror must then show (field, value), or `None` when nothing maps over
/// (a move to or from Blocked, which the hub shows as In Progress).
async fn random_edit(w: &World, rng: &mut StdRng, s: &Secondary, key: &str, n: usize) -> Option<(String, Value)> {
    match rng.random_range(0..6) {
        0 => {
            let text = format!("edit {n}");
            put(w, s.site, key, json!({"summary": text})).await;
            Some(("summary".into(), json!(text)))
        }
        1 => {
            let text = format!("description {n}");
            put(w, s.site, key, json!({"description": rich(s.site, &text)})).await;
            Some(("description".into(), json!(text)))
        }
        2 => {
            let now = field(w, s.site, key, "priority").await;
            let others: Vec<&str> =
                ["Highest", "High", "Medium", "Low", "Lowest"].into_iter().filter(|p| json!(p) != now).collect();
            let p = others[rng.random_range(0..others.len())];
            put(w, s.site, key, json!({"priority": {"name": p}})).await;
            Some(("priority".into(), json!(p)))
        }
        3 => {
            let labels = vec![format!("l{n}"), format!("t{}", rng.random_range(0..5))];
            put(w, s.site, key, json!({"labels": labels})).await;
            let mut sorted: Vec<Value> = labels.into_iter().map(Value::from).collect();
            sorted.sort_by_key(|l| l.to_string());
            Some(("labels".into(), Value::Array(sorted)))
        }
        4 => {
            let points = 100.0 + n as f64;
            put(w, s.site, key, json!({s.points: points})).await;
            Some((HUB_POINTS.into(), json!(points)))
        }
        _ => {
            let status = field(w, s.site, key, "status").await;
            let (id, to, hub) = match status.as_str().unwrap_or_default() {
                "To Do" => ("11", "In Progress", Some("In Progress")),
                "In Progress" if rng.random_bool(0.5) => ("41", "Blocked", None),
                "In Progress" => ("21", "In Review", Some("In Review")),
                "In Review" => ("61", "In Progress", Some("In Progress")),
                _ => ("51", "In Progress", None),
            };
            transition(w, s.site, key, id).await;
            assert_eq!(field(w, s.site, key, "status").await, json!(to));
            hub.map(|h| ("status".into(), json!(h)))
        }
    }
}

/// 100 random edits of every mapped kind on both secondaries, each waited
/// for on the hub: the hub takes exactly one write per edit that maps to a
/// change, the secondaries none at all (their webhooks and the hub's echoes
/// of jirafed's own writes produce nothing), and nothing moves afterwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_edits_cost_one_write_each_and_no_echo() {
    let w = World::start("1s").await;
    w.register_webhooks().await;
    let mut issues = Vec::new();
    for (n, s) in [EMEA, APAC, EMEA, APAC].into_iter().enumerate() {
        let key = w.sim.create(s.site, s.project, &format!("echo {n}"), json!({})).await;
        let mirror = w.mirror_of(s.site, &key, WITHIN).await;
        issues.push((s, key, mirror));
    }
    w.wait_polls(2, WITHIN).await;
    let sites = ["hub", "emea", "apac"];
    let mut before = Vec::new();
    for site in sites {
        before.push(w.mutations(site).await);
    }
    let mut rng = StdRng::seed_from_u64(0x6a69_7261);
    let mut needed = 0;
    for n in 0..100 {
        let (s, key, mirror) = &issues[rng.random_range(0..issues.len())];
        if let Some((name, want)) = random_edit(&w, &mut rng, s, key, n).await {
            wait_hub(&w, mirror, &name, &want).await;
            needed += 1;
        }
    }
    w.wait_polls(3, WITHIN).await;
    let mut delta = Vec::new();
    for (site, b) in sites.iter().zip(&before) {
        delta.push(w.mutations(site).await - b);
    }
    assert_eq!(delta[0], needed, "the hub took one write per edit that needed one ({needed} of 100)");
    assert_eq!(delta[1] + delta[2], 100, "the secondaries took only the test's 100 edits: no echo writes");
}

/// Both sides edit the same field while jirafed is stopped (so it sees both
/// at once, whatever the timing); after it starts again both sides end with
/// the policy's value, the conflict is recorded, and nothing is written
/// during the next ten polls of every site.
async fn both_sides_edited_converge(policy: ConflictPolicy, want: &str) {
    let mut w = World::start_with("1s", |c| c.flows[0].conflict = policy).await;
    w.register_webhooks().await;
    let key = w.sim.create("emea", "EMEA", "contested", json!({})).await;
    let mirror = w.mirror_of("emea", &key, WITHIN).await;
    w.wait_polls(1, WITHIN).await;
    w.stop().await;
    put(&w, "hub", &mirror, json!({"summary": "primary says"})).await;
    // The secondary's edit is the newer one (newest_wins compares to the ms).
    let updated = |site: &'static str, key: String| {
        let w = &w;
        async move {
            w.sim.get(site, &format!("/rest/api/2/issue/{key}?fields=updated")).await.body["fields"]["updated"].clone()
        }
    };
    let hub_updated = updated("hub", mirror.clone()).await;
    wait_until(WITHIN, "a later secondary edit", || async {
        put(&w, "emea", &key, json!({"summary": "secondary says"})).await;
        let t = |v: &Value| jirafed::jira::model::parse_timestamp(v.as_str().unwrap_or_default());
        (t(&updated("emea", key.clone()).await) > t(&hub_updated)).then_some(())
    })
    .await;
    w.resume().await;
    w.wait_field("emea", &key, "summary", json!(want), WITHIN).await;
    w.wait_field("hub", &mirror, "summary", json!(want), WITHIN).await;
    let flow = &w.status().await["flows"]["emea-delivery"];
    assert!(flow["conflicts"].as_u64().unwrap_or(0) >= 1, "the conflict is counted: {flow}");
    assert_eq!(flow["last_conflict"]["field"], "summary", "{flow}");
    let winner = if want == "primary says" { "primary" } else { "secondary" };
    assert_eq!(flow["last_conflict"]["winner"], winner, "{flow}");
    let mut before = Vec::new();
    for site in ["hub", "emea", "apac"] {
        before.push(w.mutations(site).await);
    }
    w.wait_polls(10, Duration::from_secs(60)).await;
    for (site, b) in ["hub", "emea", "apac"].iter().zip(before) {
        assert_eq!(w.mutations(site).await, b, "{site}: no write after convergence (no ping-pong)");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_sides_edited_primary_wins() {
    both_sides_edited_converge(ConflictPolicy::PrimaryWins, "primary says").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_sides_edited_secondary_wins() {
    both_sides_edited_converge(ConflictPolicy::SecondaryWins, "secondary says").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_sides_edited_newest_wins() {
    both_sides_edited_converge(ConflictPolicy::NewestWins, "secondary says").await;
}

/// The hub applies creates (and every other write) but loses half of the
/// answers: the writer never sends a create twice blindly; it looks for the
/// provenance mark before trying again. Every issue ends with one mirror.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_create_answers_never_make_a_second_mirror() {
    let w = World::start("60s").await;
    w.register_webhooks().await;
    let faults = json!({"lost_response_rate": 0.5});
    assert_eq!(w.sim.control("hub", "POST", "/_sim/faults", Some(&faults)).await.status, 200);
    let mut keys = Vec::new();
    for n in 0..12 {
        keys.push(w.sim.create("emea", "EMEA", &format!("lossy {n}"), json!({"labels": ["lossy"]})).await);
    }
    for k in &keys {
        w.mirror_of("emea", k, Duration::from_secs(60)).await;
    }
    let hub = w.sim.stats("hub").await;
    assert!(hub["errors_injected"].as_u64().unwrap_or(0) > 0, "answers were lost: {hub}");
    w.sim.control("hub", "DELETE", "/_sim/faults", None).await;
    let search = json!({"jql": "project = PORT AND labels = lossy", "fields": ["labels"], "maxResults": 100});
    let found = w.sim.call("hub", "POST", "/rest/api/3/search/jql", Some(&search)).await.body;
    let mut marks: Vec<String> = found["issues"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|i| i["fields"]["labels"].as_array().cloned().unwrap_or_default())
        .filter_map(|l| l.as_str().filter(|l| l.starts_with("jirafed-")).map(String::from))
        .collect();
    let all = marks.len();
    marks.sort();
    marks.dedup();
    assert_eq!((all, marks.len()), (keys.len(), keys.len()), "one mirror per source issue: {found}");
}

/// A deleted secondary issue (webhook `jira:issue_deleted`) leaves its
/// mirror labelled `jirafed-source-deleted` (demo flows: on_delete =
/// label) and unlinked; its neighbours keep syncing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_source_labels_its_mirror_and_the_others_keep_syncing() {
    let w = World::start("60s").await;
    w.register_webhooks().await;
    let gone = w.sim.create("apac", "APAC", "to be deleted", json!({})).await;
    let kept = w.sim.create("apac", "APAC", "kept", json!({})).await;
    let gone_mirror = w.mirror_of("apac", &gone, WITHIN).await;
    let kept_mirror = w.mirror_of("apac", &kept, WITHIN).await;
    let r = w.sim.call("apac", "DELETE", &format!("/rest/api/2/issue/{gone}"), None).await;
    assert_eq!(r.status, 204, "{}", r.body);
    put(&w, "apac", &kept, json!({"summary": "kept (edited)"})).await;
    wait_hub(&w, &kept_mirror, "summary", &json!("kept (edited)")).await;
    wait_until(WITHIN, "the mirror labelled", || async {
        let labels = w.sim.get("hub", &format!("/rest/api/2/issue/{gone_mirror}?fields=labels")).await.body;
        let labelled =
            labels["fields"]["labels"].as_array().is_some_and(|l| l.iter().any(|l| l == "jirafed-source-deleted"));
        labelled.then_some(())
    })
    .await;
    // The pair is forgotten in the commit that follows the label's write.
    wait_until(WITHIN, "only `kept` still linked", || async {
        (w.status().await["links"].as_u64() == Some(1)).then_some(())
    })
    .await;
}

/// A component the primary project lacks is reported and left out: the
/// mirror is still created with everything else, nothing is dead-lettered,
/// and later edits keep flowing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_component_missing_on_the_primary_is_reported_not_fatal() {
    let w = World::start_with("60s", |c| {
        c.flows[0].fields.push(jirafed::config::FieldMapping {
            secondary: "components".into(),
            primary: "components".into(),
            direction: jirafed::config::Direction::ToPrimary,
            values: Default::default(),
        })
    })
    .await;
    w.register_webhooks().await;
    let key = w.sim.create("emea", "EMEA", "with a component", json!({"components": [{"name": "Core"}]})).await;
    let mirror = w.mirror_of("emea", &key, WITHIN).await;
    assert_eq!(field(&w, "hub", &mirror, "components").await, json!([]), "PORT has no component Core");
    let status = w.status().await;
    let error = status["flows"]["emea-delivery"]["last_error"].as_str().unwrap_or_default().to_string();
    assert!(error.contains("no component named Core"), "reported: {status}");
    assert_eq!(status["dead_letters"], 0, "{status}");
    put(&w, "emea", &key, json!({"summary": "still flowing"})).await;
    wait_hub(&w, &mirror, "summary", &json!("still flowing")).await;
}
