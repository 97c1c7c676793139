//! Dependencies end to end: people link issues on `emea` (Cloud) and
//! `apac` (Data Center), some before the far end is in scope, some of a type
//! the flows do not map; the daemon carries them between the mirrors on
//! `hub`, and removals on either side converge.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use jirafed::config::RelationDirection;
use serde_json::{Value, json};

use super::support::wait_until;
use super::support::world::World;

const WITHIN: Duration = Duration::from_secs(40);
/// Issues per secondary; the last `HELD` of each start out of scope.
const PER_SITE: usize = 20;
const HELD: usize = 3;

/// (from key, type, to key): one link, read from its outward end.
type Link = (String, String, String);

/// Every link among `keys` on `site`, by type name.
async fn links_among(w: &World, site: &str, keys: &BTreeSet<String>) -> BTreeSet<Link> {
    let mut out = BTreeSet::new();
    for key in keys {
        let issue = w.sim.get(site, &format!("/rest/api/2/issue/{key}?fields=issuelinks")).await.body;
        for l in issue["fields"]["issuelinks"].as_array().into_iter().flatten() {
            let Some(other) = l["outwardIssue"]["key"].as_str() else { continue };
            if keys.contains(other) {
                out.insert((key.clone(), l["type"]["name"].as_str().unwrap_or("?").to_string(), other.to_string()));
            }
        }
    }
    out
}

/// "`from` blocks `to`" as alice: Jira's POST takes the outward end as
/// `inwardIssue` (its well-known twisted sense); returns the link's id.
async fn link(w: &World, site: &str, link_type: &str, from: &str, to: &str) -> String {
    let body = json!({"type": {"name": link_type}, "inwardIssue": {"key": from}, "outwardIssue": {"key": to}});
    let r = w.sim.call(site, "POST", "/rest/api/2/issueLink", Some(&body)).await;
    assert_eq!(r.status, 201, "{site} {from} {link_type} {to}: {}", r.body);
    let issue = w.sim.get(site, &format!("/rest/api/2/issue/{from}?fields=issuelinks")).await.body;
    let found = issue["fields"]["issuelinks"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|l| l["type"]["name"] == link_type && l["outwardIssue"]["key"] == to);
    found.and_then(|l| l["id"].as_str()).expect("the new link").to_string()
}

async fn unlink(w: &World, site: &str, id: &str) {
    let r = w.sim.call(site, "DELETE", &format!("/rest/api/2/issueLink/{id}"), None).await;
    assert_eq!(r.status, 204, "{site} delete link {id}: {}", r.body);
}

/// The mapped source links of `site`, as links between the mirrors.
fn expected(source: &BTreeSet<Link>, mirrors: &BTreeMap<String, String>, types: &[(&str, &str)]) -> BTreeSet<Link> {
    source
        .iter()
        .filter_map(|(from, t, to)| {
            let t = types.iter().find(|(s, _)| s == t)?.1;
            Some((mirrors.get(from)?.clone(), t.to_string(), mirrors.get(to)?.clone()))
        })
        .collect()
}

/// The last difference seen while waiting, printed if the test fails.
#[derive(Default)]
struct LastDifference(std::sync::Mutex<String>);

impl LastDifference {
    fn record(&self, want: &BTreeSet<Link>, got: &BTreeSet<Link>) {
        let missing: Vec<_> = want.difference(got).collect();
        let extra: Vec<_> = got.difference(want).collect();
        *self.0.lock().unwrap() = format!("missing on the hub: {missing:?}; extra on the hub: {extra:?}");
    }
}

impl Drop for LastDifference {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("last difference: {}", self.0.lock().unwrap());
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dependencies_converge_between_the_mirrors() {
    const TYPES: [(&str, &str); 2] = [("Blocks", "Dependency"), ("Relates", "Relates")];
    let w = World::start_with("1s", |c| {
        for f in &mut c.flows {
            for (s, p) in TYPES {
                f.links.types.insert(s.into(), p.into());
            }
            f.scope = format!("{} AND (labels is EMPTY OR labels != hold)", f.scope);
        }
        c.flows[1].links.direction = RelationDirection::Both;
    })
    .await;
    w.register_webhooks().await;
    let sites = [("emea", "EMEA"), ("apac", "APAC")];
    let mut keys: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for (site, project) in sites {
        for n in 0..PER_SITE {
            let held = n >= PER_SITE - HELD;
            let labels = if held { json!(["hold"]) } else { json!([]) };
            let key = w.sim.create(site, project, &format!("{site} issue {n}"), json!({"labels": labels})).await;
            keys.entry(site).or_default().push(key);
        }
    }
    // A chain of Blocks, every fourth also Relates two ahead, every fifth a
    // Cloners (not mapped); the held issues are linked too.
    let mut ids: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for (site, _) in sites {
        let k = &keys[site];
        for n in 0..PER_SITE - 1 {
            ids.entry(site).or_default().push(link(&w, site, "Blocks", &k[n], &k[n + 1]).await);
            if n % 4 == 0 && n + 2 < PER_SITE {
                link(&w, site, "Relates", &k[n], &k[n + 2]).await;
            }
            if n % 5 == 0 {
                link(&w, site, "Cloners", &k[n], &k[n + 1]).await;
            }
        }
    }
    // The held issues enter the scope: their mirrors are made, and the
    // links that waited for them are completed.
    for (site, _) in sites {
        for key in &keys[site][PER_SITE - HELD..] {
            let r = w
                .sim
                .call(site, "PUT", &format!("/rest/api/2/issue/{key}"), Some(&json!({"fields": {"labels": []}})))
                .await;
            assert_eq!(r.status, 204);
        }
    }
    let mut mirrors: BTreeMap<String, String> = BTreeMap::new();
    for (site, _) in sites {
        for key in &keys[site] {
            mirrors.insert(key.clone(), w.mirror_of(site, key, WITHIN).await);
        }
    }
    let hub_keys: BTreeSet<String> = mirrors.values().cloned().collect();
    let last_difference = LastDifference::default();
    let converge = |what: &'static str| {
        let (w, keys, mirrors, hub_keys, last) = (&w, &keys, &mirrors, &hub_keys, &last_difference);
        async move {
            wait_until(WITHIN, what, || async move {
                let mut want = BTreeSet::new();
                for (site, _) in sites {
                    let source = links_among(w, site, &keys[site].iter().cloned().collect()).await;
                    want.extend(expected(&source, mirrors, &TYPES));
                }
                let got = links_among(w, "hub", hub_keys).await;
                last.record(&want, &got);
                (got == want && !want.is_empty()).then_some(want)
            })
            .await
        }
    };
    let first = converge("the mirrors' links to equal the mapped source links").await;
    assert_eq!(first.len(), 2 * (PER_SITE - 1 + 5), "every mapped link, none of the Cloners");
    let status = w.status().await;
    for flow in ["emea-delivery", "apac-platform"] {
        assert_eq!(status["flows"][flow]["unmapped_link_types"], json!(["Cloners"]), "{status}");
        assert_eq!(status["flows"][flow]["pending_links"], json!(0), "{status}");
    }

    // Five removed on the secondaries; three mirrored links removed on the
    // primary: emea's flow (to_primary) makes its two again, apac's (both)
    // removes the source of its one.
    for (site, n) in [("emea", 2), ("emea", 7), ("apac", 3), ("apac", 9), ("apac", 12)] {
        unlink(&w, site, &ids[site][n]).await;
    }
    let hub_links = |from: &str| {
        let (w, from) = (&w, from.to_string());
        async move {
            let issue = w.sim.get("hub", &format!("/rest/api/2/issue/{from}?fields=issuelinks")).await.body;
            let list = issue["fields"]["issuelinks"].as_array().cloned().unwrap_or_default();
            list.into_iter().find(|l| l["type"]["name"] == "Dependency" && !l["outwardIssue"].is_null())
        }
    };
    for (site, n) in [("emea", 0), ("emea", 5), ("apac", 0)] {
        let from = &mirrors[&keys[site][n]];
        let l: Value = hub_links(from).await.expect("a mirrored Dependency");
        unlink(&w, "hub", l["id"].as_str().expect("id")).await;
    }
    let after = converge("removals to converge on both sides").await;
    let apac_blocks = links_among(&w, "apac", &keys["apac"].iter().cloned().collect()).await;
    assert!(
        !apac_blocks.iter().any(|(f, t, _)| f == &keys["apac"][0] && t == "Blocks"),
        "apac's flow is both ways: the link removed on the hub went on apac too"
    );
    let emea_links = links_among(&w, "emea", &keys["emea"].iter().cloned().collect()).await;
    assert!(emea_links.iter().any(|(f, t, _)| f == &keys["emea"][0] && t == "Blocks"), "emea's stays: to_primary");
    assert_eq!(after.len(), first.len() - 5 - 1, "five removed on the secondaries, one by the hub on apac");
}

/// A link on the hub between mirrors of `emea` and `apac` issues shows on
/// both secondaries as a remote link to the other issue, exactly once, and
/// goes with the link.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn links_across_secondaries_show_as_remote_links() {
    let w = World::start_with("1s", |c| {
        for f in &mut c.flows {
            f.links.types.insert("Blocks".into(), "Dependency".into());
        }
    })
    .await;
    w.register_webhooks().await;
    let emea = w.sim.create("emea", "EMEA", "checkout", json!({})).await;
    let apac = w.sim.create("apac", "APAC", "payments api", json!({})).await;
    let (m_emea, m_apac) = (w.mirror_of("emea", &emea, WITHIN).await, w.mirror_of("apac", &apac, WITHIN).await);
    let id = link(&w, "hub", "Dependency", &m_emea, &m_apac).await;
    let remote = |site: &'static str, key: String| {
        let w = &w;
        async move {
            let r = w.sim.get(site, &format!("/rest/api/2/issue/{key}/remotelink")).await.body;
            r.as_array().cloned().unwrap_or_default()
        }
    };
    let apac_url = format!("{}/browse/{apac}", w.sim.base("apac"));
    let on_emea = wait_until(WITHIN, "a remote link on emea", || async {
        let links = remote("emea", emea.clone()).await;
        (!links.is_empty()).then_some(links)
    })
    .await;
    assert_eq!(on_emea.len(), 1, "{on_emea:?}");
    assert_eq!(on_emea[0]["object"]["url"], apac_url.as_str());
    assert_eq!(on_emea[0]["object"]["title"], format!("depends on {apac}: payments api").as_str());
    let on_apac = wait_until(WITHIN, "a remote link on apac", || async {
        let links = remote("apac", apac.clone()).await;
        (!links.is_empty()).then_some(links)
    })
    .await;
    assert_eq!(on_apac.len(), 1, "{on_apac:?}");
    assert_eq!(on_apac[0]["object"]["url"], format!("{}/browse/{emea}", w.sim.base("emea")).as_str());

    unlink(&w, "hub", &id).await;
    wait_until(WITHIN, "the remote links to go", || async {
        (remote("emea", emea.clone()).await.is_empty() && remote("apac", apac.clone()).await.is_empty()).then_some(())
    })
    .await;
}
