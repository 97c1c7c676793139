//! Hierarchy end to end: Epic → Story → Sub-task trees made by people on
//! `emea` (Cloud `parent`) and `apac` (Data Center Epic Link and sub-task
//! parent), the epics out of scope at first; the mirrors on `hub` get the
//! same tree, and a re-parenting on a secondary moves the mirror.

use std::time::Duration;

use serde_json::{Value, json};

use super::support::wait_until;
use super::support::world::World;

const WITHIN: Duration = Duration::from_secs(40);
/// The Data Center Epic Link field of the simulated `apac`.
const APAC_EPIC_LINK: &str = "customfield_10100";

async fn create(w: &World, site: &str, fields: Value) -> String {
    let r = w.sim.call(site, "POST", "/rest/api/2/issue", Some(&json!({ "fields": fields }))).await;
    assert_eq!(r.status, 201, "create on {site}: {}", r.body);
    r.body["key"].as_str().expect("key").to_string()
}

fn fields(project: &str, kind: &str, summary: &str, held: bool) -> Value {
    let labels = if held { json!(["hold"]) } else { json!([]) };
    json!({"project": {"key": project}, "issuetype": {"name": kind}, "summary": summary, "labels": labels})
}

/// The key of `key`'s parent on the hub, once it is `want`.
async fn wait_parent(w: &World, key: &str, want: &str) {
    wait_until(WITHIN, &format!("{key}'s parent to be {want}"), || async {
        let issue = w.sim.get("hub", &format!("/rest/api/2/issue/{key}?fields=parent")).await.body;
        (issue["fields"]["parent"]["key"] == want).then_some(())
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trees_are_reproduced_on_the_primary_and_follow_a_re_parenting() {
    let w = World::start_with("1s", |c| {
        for f in &mut c.flows {
            f.hierarchy.parent = true;
            f.scope = format!("{} AND (labels is EMPTY OR labels != hold)", f.scope);
        }
    })
    .await;
    w.register_webhooks().await;

    // emea (Cloud): everything in `parent`.
    let e_epic = create(&w, "emea", fields("EMEA", "Epic", "emea epic", true)).await;
    let mut story = fields("EMEA", "Story", "emea story", false);
    story["parent"] = json!({"key": e_epic});
    let e_story = create(&w, "emea", story).await;
    let mut task = fields("EMEA", "Sub-task", "emea task", false);
    task["parent"] = json!({"key": e_story});
    let e_task = create(&w, "emea", task).await;
    // apac (Data Center): the story's epic in Epic Link.
    let a_epic = create(&w, "apac", fields("APAC", "Epic", "apac epic", true)).await;
    let mut story = fields("APAC", "Story", "apac story", false);
    story[APAC_EPIC_LINK] = json!(a_epic);
    let a_story = create(&w, "apac", story).await;
    let mut task = fields("APAC", "Sub-task", "apac task", false);
    task["parent"] = json!({"key": a_story});
    let a_task = create(&w, "apac", task).await;

    // The children are mirrored while their epics are out of scope.
    let (m_e_story, m_e_task) =
        (w.mirror_of("emea", &e_story, WITHIN).await, w.mirror_of("emea", &e_task, WITHIN).await);
    let (m_a_story, m_a_task) =
        (w.mirror_of("apac", &a_story, WITHIN).await, w.mirror_of("apac", &a_task, WITHIN).await);
    wait_parent(&w, &m_e_task, &m_e_story).await;
    wait_parent(&w, &m_a_task, &m_a_story).await;

    // The epics enter the scope: they are mirrored and the stories hang from them.
    for (site, key) in [("emea", &e_epic), ("apac", &a_epic)] {
        let r = w
            .sim
            .call(site, "PUT", &format!("/rest/api/2/issue/{key}"), Some(&json!({"fields": {"labels": []}})))
            .await;
        assert_eq!(r.status, 204);
    }
    let m_e_epic = w.mirror_of("emea", &e_epic, WITHIN).await;
    let m_a_epic = w.mirror_of("apac", &a_epic, WITHIN).await;
    wait_parent(&w, &m_e_story, &m_e_epic).await;
    wait_parent(&w, &m_a_story, &m_a_epic).await;

    // A re-parenting on each secondary moves the mirror.
    let e_epic2 = create(&w, "emea", fields("EMEA", "Epic", "emea epic 2", false)).await;
    let a_epic2 = create(&w, "apac", fields("APAC", "Epic", "apac epic 2", false)).await;
    let m_e_epic2 = w.mirror_of("emea", &e_epic2, WITHIN).await;
    let m_a_epic2 = w.mirror_of("apac", &a_epic2, WITHIN).await;
    let r = w
        .sim
        .call(
            "emea",
            "PUT",
            &format!("/rest/api/2/issue/{e_story}"),
            Some(&json!({"fields": {"parent": {"key": e_epic2}}})),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    let r = w
        .sim
        .call(
            "apac",
            "PUT",
            &format!("/rest/api/2/issue/{a_story}"),
            Some(&json!({"fields": {APAC_EPIC_LINK: a_epic2}})),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    wait_parent(&w, &m_e_story, &m_e_epic2).await;
    wait_parent(&w, &m_a_story, &m_a_epic2).await;
    assert_eq!(w.status().await["dead_letters"], 0);
}
