//! Dependencies across sites (`links.across_instances = "remote_link"`): a
//! link on the primary between this pair's mirror and a mirror of another
//! secondary, or an issue of the primary's own, shows on the secondary
//! issue as a remote link to the other issue on its own site. Each has a
//! global id made of the link's type and ends, so writing it again updates
//! it; the set written is kept in the pair's shadow, so that a link removed
//! on the primary removes its remote link, and nothing is written when
//! nothing changed.

use std::collections::BTreeMap;

use super::super::engine::Engine;
use super::super::flows::ResolvedFlow;
use crate::config::AcrossInstances;
use crate::jira::model::{Issue, LinkDirection, RemoteLinkWrite};
use crate::mapping::RemoteLinkState;
use crate::store::LinkRecord;

/// The prefix of every global id jirafed gives a remote link.
pub const GLOBAL_ID_PREFIX: &str = "jirafed:";

/// The remote links the secondary issue of `pair` should carry, from its
/// mirror's links; `None` when the flow does not show them.
pub(super) fn desired(
    engine: &Engine,
    flow: &ResolvedFlow,
    pair: &LinkRecord,
    mirror: &Issue,
) -> Option<BTreeMap<String, RemoteLinkState>> {
    if flow.link_types.is_empty() || flow.cfg.links.across_instances != AcrossInstances::RemoteLink {
        return None;
    }
    let mut out = BTreeMap::new();
    for l in mirror.links.iter().filter(|l| l.other.id != mirror.id) {
        if flow.secondary_link_type(&l.link_type.name).is_none() {
            continue;
        }
        let others = engine.store.links_by_primary(l.other.id.as_str()).unwrap_or_default();
        if others.iter().any(|o| o.secondary == pair.secondary) {
            // Both ends on this secondary: a dependency inside the flow.
            continue;
        }
        let (site, key) = match others.first() {
            Some(o) => (o.secondary.as_str(), o.secondary_key.clone()),
            None => (engine.primary().as_str(), l.other.key.to_string()),
        };
        let Some(base) = engine.config.instance(site).map(|i| i.url.as_str().to_string()) else { continue };
        let (from, to) = match l.direction {
            LinkDirection::Outward => (mirror.id.as_str(), l.other.id.as_str()),
            LinkDirection::Inward => (l.other.id.as_str(), mirror.id.as_str()),
        };
        let id = format!("{GLOBAL_ID_PREFIX}{}:{from}:{to}", l.link_type.name);
        let summary = l.other_summary.as_deref().unwrap_or_default();
        let state =
            RemoteLinkState { url: format!("{base}/browse/{key}"), title: format!("{} {key}: {summary}", l.text()) };
        out.insert(id, state);
    }
    Some(out)
}

/// The writes that bring `now` to `want`: what to write (new or changed)
/// and which global ids to delete.
pub(super) fn writes(
    now: &BTreeMap<String, RemoteLinkState>,
    want: &BTreeMap<String, RemoteLinkState>,
) -> (Vec<RemoteLinkWrite>, Vec<String>) {
    let upsert = want
        .iter()
        .filter(|(id, s)| now.get(*id) != Some(s))
        .map(|(id, s)| RemoteLinkWrite::new(id.clone(), s.url.clone(), s.title.clone()))
        .collect();
    let delete = now.keys().filter(|id| !want.contains_key(*id)).cloned().collect();
    (upsert, delete)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(url: &str) -> RemoteLinkState {
        RemoteLinkState { url: url.into(), title: "t".into() }
    }

    #[test]
    fn only_what_changed_is_written_and_what_went_is_deleted() {
        let now = BTreeMap::from([("a".to_string(), state("u1")), ("b".to_string(), state("u2"))]);
        let want = BTreeMap::from([("a".to_string(), state("u1")), ("c".to_string(), state("u3"))]);
        let (upsert, delete) = writes(&now, &want);
        assert_eq!(upsert.iter().map(|w| w.global_id.as_str()).collect::<Vec<_>>(), ["c"]);
        assert_eq!(delete, ["b"]);
        assert_eq!(writes(&want, &want), (vec![], vec![]));
    }
}
