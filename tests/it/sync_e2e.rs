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
}
