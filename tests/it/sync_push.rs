//! Mirrors pushed from the primary, end to end: with `create = "both"` and
//! a `primary_scope`, an epic with two stories made on `hub` appears on
//! `emea` with its hierarchy; later edits flow per direction; a create
//! whose answer was lost is found again, never made twice.

use std::time::Duration;

use jirafed::config::CreatePolicy;
use serde_json::{Value, json};

use super::support::wait_until;
use super::support::world::World;

const WITHIN: Duration = Duration::from_secs(40);

async fn world() -> World {
    let w = World::start_with("1s", |c| {
        let f = &mut c.flows[0];
        f.create = CreatePolicy::Both;
        f.primary_scope = Some("project = PORT AND labels = to-emea".into());
        f.secondary_project = Some("EMEA".into());
        f.hierarchy.parent = true;
    })
    .await;
    w.register_webhooks().await;
    w
}

async fn create_on_hub(w: &World, kind: &str, summary: &str, parent: Option<&str>) -> (String, String) {
    let mut fields =
        json!({"project": {"key": "PORT"}, "issuetype": {"name": kind}, "summary": summary, "labels": ["to-emea"]});
    if let Some(p) = parent {
        fields["parent"] = json!({"key": p});
    }
    let r = w.sim.call("hub", "POST", "/rest/api/2/issue", Some(&json!({ "fields": fields }))).await;
    assert_eq!(r.status, 201, "{}", r.body);
    (r.body["id"].as_str().expect("id").to_string(), r.body["key"].as_str().expect("key").to_string())
}

/// The issues on emea carrying the provenance mark of the hub's issue `id`.
async fn pushed(w: &World, id: &str) -> Vec<Value> {
    let jql = format!("labels = \"jirafed-emea-delivery-hub-{id}\"");
    let body = json!({"jql": jql, "fields": ["summary", "parent"]});
    let r = w.sim.call("emea", "POST", "/rest/api/3/search/jql", Some(&body)).await;
    r.body["issues"].as_array().cloned().unwrap_or_default()
}

async fn wait_pushed(w: &World, id: &str) -> Value {
    wait_until(WITHIN, &format!("hub issue {id} pushed to emea"), || async {
        let found = pushed(w, id).await;
        assert!(found.len() <= 1, "pushed twice: {found:?}");
        found.into_iter().next()
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_epic_with_two_stories_made_on_the_primary_is_pushed_with_its_hierarchy() {
    let w = world().await;
    let (epic_id, epic) = create_on_hub(&w, "Epic", "portfolio epic", None).await;
    let (s1_id, _) = create_on_hub(&w, "Story", "first story", Some(&epic)).await;
    let (s2_id, _) = create_on_hub(&w, "Story", "second story", Some(&epic)).await;
    let copy = wait_pushed(&w, &epic_id).await;
    let copy_key = copy["key"].as_str().expect("key").to_string();
    for id in [&s1_id, &s2_id] {
        let story = wait_until(WITHIN, "a story under the epic's copy", || async {
            let s = wait_pushed(&w, id).await;
            (s["fields"]["parent"]["key"] == copy_key.as_str()).then_some(s)
        })
        .await;
        assert!(story["key"].as_str().unwrap_or_default().starts_with("EMEA-"));
    }
    // Later edits flow per direction: summary is mapped both ways.
    let r = w
        .sim
        .call(
            "hub",
            "PUT",
            &format!("/rest/api/2/issue/{epic}"),
            Some(&json!({"fields": {"summary": "renamed on hub"}})),
        )
        .await;
    assert_eq!(r.status, 204);
    w.wait_field("emea", &copy_key, "summary", json!("renamed on hub"), WITHIN).await;
    let r = w
        .sim
        .call(
            "emea",
            "PUT",
            &format!("/rest/api/2/issue/{copy_key}"),
            Some(&json!({"fields": {"summary": "renamed on emea"}})),
        )
        .await;
    assert_eq!(r.status, 204);
    w.wait_field("hub", &epic, "summary", json!("renamed on emea"), WITHIN).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_whose_answer_was_lost_is_found_again_not_made_twice() {
    let w = world().await;
    let before = w.mutations("emea").await;
    let lose = json!({"lost_response_rate": 1.0});
    assert_eq!(w.sim.control("emea", "POST", "/_sim/faults", Some(&lose)).await.status, 200);
    let (id, _) = create_on_hub(&w, "Story", "pushed once", None).await;
    wait_until(WITHIN, "the create to reach emea", || async { (w.mutations("emea").await > before).then_some(()) })
        .await;
    let keep = json!({"lost_response_rate": 0.0});
    assert_eq!(w.sim.control("emea", "POST", "/_sim/faults", Some(&keep)).await.status, 200);
    let copy = wait_pushed(&w, &id).await;
    wait_until(WITHIN, "the pair to be recorded", || async {
        let status = w.status().await;
        (status["instances"]["emea"]["outbox_depth"] == 0).then_some(())
    })
    .await;
    assert_eq!(pushed(&w, &id).await.len(), 1, "one issue: {copy}");
    assert_eq!(w.status().await["dead_letters"], 0);
}
