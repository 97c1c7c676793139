//! Dependencies across sites as tables: a link on the primary between
//! mirrors of two secondaries (or to an issue of the primary's own) shows on
//! each secondary issue as a remote link to the other issue on its own site.

use crate::config::AcrossInstances;
use crate::jira::fake::IssueSeed;
use crate::sync::testing::{By, Rig, text};

/// Both flows map Blocks to Blocks; EMEA-1 ↔ PORT-1 (emea-delivery) and
/// APAC-1 ↔ PORT-2 (apac-platform).
async fn rig(across: AcrossInstances) -> Rig {
    let rig = Rig::with(|c| {
        for f in &mut c.flows {
            f.links.types.insert("Blocks".into(), "Blocks".into());
            f.links.across_instances = across;
        }
    })
    .await;
    rig.pair_on("emea", "emea-delivery", "EMEA-1", "PORT-1", "checkout").await;
    rig.pair_on("apac", "apac-platform", "APAC-1", "PORT-2", "payments api").await;
    rig.calls();
    rig
}

/// (url, title) of `site`'s `key`'s remote links.
fn remote(rig: &Rig, site: &str, key: &str) -> Vec<(String, String)> {
    rig.site(site).remote_links_of(key).into_iter().map(|r| (r.url, r.title)).collect()
}

async fn hub_changed(rig: &Rig, keys: &[&str]) {
    for key in keys {
        rig.change("hub", key, Some(By::Person)).await;
    }
    rig.plan().await;
    rig.settle(3).await;
}

#[tokio::test]
async fn a_link_between_mirrors_of_two_secondaries_shows_on_both_as_remote_links() {
    let rig = rig(AcrossInstances::RemoteLink).await;
    let id = rig.hub.link_as_person("Blocks", "PORT-1", "PORT-2");
    hub_changed(&rig, &["PORT-1", "PORT-2"]).await;

    assert_eq!(
        remote(&rig, "emea", "EMEA-1"),
        [("https://apac.example/browse/APAC-1".to_string(), "blocks APAC-1: payments api".to_string())]
    );
    assert_eq!(
        remote(&rig, "apac", "APAC-1"),
        [("https://emea.example/browse/EMEA-1".to_string(), "is blocked by EMEA-1: checkout".to_string())]
    );

    // Planned again with nothing new: nothing is written.
    rig.calls();
    rig.apac.take_calls();
    hub_changed(&rig, &["PORT-1", "PORT-2"]).await;
    let (emea, hub) = rig.calls();
    let writes = emea.iter().chain(&hub).chain(&rig.apac.take_calls()).filter(|c| c.is_write()).count();
    assert_eq!(writes, 0, "upserted once, not again: {emea:?} {hub:?}");

    rig.hub.unlink_as_person(&id);
    hub_changed(&rig, &["PORT-1", "PORT-2"]).await;
    assert!(remote(&rig, "emea", "EMEA-1").is_empty(), "removed with the link");
    assert!(remote(&rig, "apac", "APAC-1").is_empty());
}

#[tokio::test]
async fn a_link_to_an_issue_of_the_primary_points_to_the_primary() {
    let rig = rig(AcrossInstances::RemoteLink).await;
    rig.issue("hub", IssueSeed::new("PORT-9").set("summary", text("portfolio epic")));
    rig.hub.link_as_person("Blocks", "PORT-9", "PORT-1");
    hub_changed(&rig, &["PORT-9", "PORT-1"]).await;
    assert_eq!(
        remote(&rig, "emea", "EMEA-1"),
        [("https://hub.example/browse/PORT-9".to_string(), "is blocked by PORT-9: portfolio epic".to_string())]
    );
}

#[tokio::test]
async fn none_shows_nothing() {
    let rig = rig(AcrossInstances::None).await;
    rig.hub.link_as_person("Blocks", "PORT-1", "PORT-2");
    hub_changed(&rig, &["PORT-1", "PORT-2"]).await;
    assert!(remote(&rig, "emea", "EMEA-1").is_empty());
    assert!(remote(&rig, "apac", "APAC-1").is_empty());
}
