//! The dependencies (issue links) of one pair, planned against what the
//! store remembers of them. A link belongs to its outward end ("A" of "A
//! blocks B"): it is planned with A's pair, so that each link is planned
//! once however many of its ends changed.
//!
//! - A secondary link of a mapped type whose far end has a mirror is made
//!   between the mirrors on the primary, with the primary's type; one whose
//!   far end has none yet waits as a pending link (completed when that
//!   mirror is made); one of an unmapped type is reported once per type.
//! - A secondary link that is gone takes its primary counterpart with it.
//! - A primary counterpart that is gone is made again (`links.direction =
//!   "to_primary"`: the secondary is the source) or takes the secondary link
//!   with it (`"both"`).
//! - With `"both"`, a link a person made on the primary between two mirrors
//!   is made on the secondary too.

use std::collections::HashSet;

use super::super::change::Change;
use super::super::engine::Engine;
use super::super::flows::ResolvedFlow;
use super::super::in_flight::{Claim, SiteIssue};
use super::super::job::{Action, Job};
use super::hierarchy::PARENT_LINK_TYPE;
use super::pair::Output;
use super::plan::push;
use crate::config::RelationDirection as Flows;
use crate::jira::model::{Issue, IssueLink, LinkDirection};
use crate::store::{DependencyRecord, LinkRecord, Op, PendingLink};
use crate::sync::writer::replan_issue;

/// The dependency jobs and records of `pair`, whose secondary issue is
/// `secondary` and whose mirror is `mirror` when it was read.
pub(super) fn plan(
    engine: &Engine,
    flow: &ResolvedFlow,
    pair: &LinkRecord,
    secondary: &Issue,
    mirror: Option<&Issue>,
    change: &Change,
) -> Output {
    let mut out = Output::default();
    if flow.link_types.is_empty() {
        return out;
    }
    let mut plan = Plan { engine, flow, pair, change, out: &mut out, jobs: 0 };
    let deps = engine.store.dependencies_from(pair.id).unwrap_or_default();
    let outward = outward_links(secondary);
    let present: HashSet<&str> = outward.iter().map(|l| l.id.as_str()).collect();
    // Removals first: a link removed and made again between two passes is
    // answered by Jira with the primary link the old dependency still
    // holds, unless that one is gone by then.
    for d in deps.iter().filter(|d| d.secondary_link.as_deref().is_some_and(|id| !present.contains(id))) {
        plan.secondary_link_gone(d);
    }
    for link in &outward {
        plan.secondary_link(link, &deps, mirror);
    }
    plan.drop_stale_pending(&present);
    if let (Some(m), Flows::Both) = (mirror, flow.cfg.links.direction) {
        plan.primary_links(m, &deps);
    }
    if plan.jobs > 0 {
        out.claims.push((Claim::Link(pair.id), SiteIssue::of_link(engine.primary(), pair)));
    }
    out
}

/// Whether the mirror's links are what the store remembers: every
/// counterpart there, and (with `"both"`) no link of a mapped type to
/// another mirror that the store does not know. A settled mirror needs no
/// plan.
pub(super) fn settled(engine: &Engine, flow: &ResolvedFlow, pair: &LinkRecord, mirror: &Issue) -> bool {
    if flow.link_types.is_empty() {
        return true;
    }
    let deps = engine.store.dependencies_from(pair.id).unwrap_or_default();
    let on_mirror: HashSet<&str> = outward_links(mirror).iter().map(|l| l.id.as_str()).collect();
    let all_there = deps.iter().all(|d| d.primary_link.as_deref().is_none_or(|id| on_mirror.contains(id)));
    if !all_there || flow.cfg.links.direction != Flows::Both {
        return all_there;
    }
    let known: HashSet<&str> = deps.iter().filter_map(|d| d.primary_link.as_deref()).collect();
    outward_links(mirror).iter().all(|l| {
        known.contains(l.id.as_str())
            || flow.secondary_link_type(&l.link_type.name).is_none()
            || far_mirror(engine, pair, &l.other.id).is_none()
    })
}

/// Completes the links waiting for a mirror of `issue` on `instance`, now
/// paired: each near end is planned again (its plan makes the link), in
/// one commit. Called after the pairing is committed; a crash before this
/// is repaired by [`sweep`].
pub(crate) async fn complete(engine: &Engine, instance: &str, issue: &str) {
    let waiting = engine.store.pending_waiting_on(instance, issue).unwrap_or_default();
    if waiting.is_empty() {
        return;
    }
    let mut ops = Vec::new();
    for p in waiting {
        tracing::info!(flow = %p.flow, instance, link = %p.link_id, "far end mirrored; pending link completed");
        // One commit: the near end's plan makes the link, or waits again.
        ops.push(replan_issue(engine, &p.instance, &p.near_issue, None));
        ops.push(Op::PendingDelete { id: p.id });
    }
    if let Err(e) = engine.store.commit(ops).await {
        tracing::warn!(instance, issue, error = %e, "cannot plan the links that waited; housekeeping will");
    }
    engine.wake.planner();
}

/// After the planner committed links as pending: those whose far end was
/// paired meanwhile (by a create the planner could not see yet) are
/// planned again now, so that none waits for a mirror that exists.
pub(crate) async fn recheck(engine: &Engine, pending: &[PendingLink]) {
    let paired = |p: &&PendingLink| is_paired(engine, &p.instance, &p.far_issue);
    // The records given may be those just put (id 0): their stored ids are
    // found by their links.
    let stored = |p: &PendingLink| match p.id {
        0 => engine.store.pending_by_link(&p.instance, &p.link_id).ok().flatten().map_or(0, |s| s.id),
        id => id,
    };
    let ops: Vec<Op> = pending
        .iter()
        .filter(paired)
        .flat_map(|p| [replan_issue(engine, &p.instance, &p.near_issue, None), Op::PendingDelete { id: stored(p) }])
        .collect();
    if !ops.is_empty() {
        if let Err(e) = engine.store.commit(ops).await {
            tracing::warn!(error = %e, "cannot plan links whose far end was just mirrored; housekeeping will");
        }
    }
}

/// Whether `issue` on `instance` is one end of a pair (on the primary: the
/// mirror of a secondary issue, or pushed from it).
fn is_paired(engine: &Engine, instance: &str, issue: &str) -> bool {
    if instance == engine.primary().as_str() {
        return engine.store.links_by_primary(issue).is_ok_and(|l| !l.is_empty());
    }
    engine.store.link_by_secondary(instance, issue).ok().flatten().is_some()
}

/// Housekeeping's repair: pending links whose far end is paired (a crash
/// came between a mirror's pairing and their completion) are planned again.
pub(crate) async fn sweep(engine: &Engine) -> anyhow::Result<()> {
    const PAGE: usize = 1_000;
    let mut after = None;
    loop {
        let page = engine.store.pending_after(after, PAGE)?;
        let Some(last) = page.last() else { return Ok(()) };
        after = Some(last.id);
        recheck(engine, &page).await;
        tokio::task::yield_now().await;
    }
}

/// The ops for the links waiting for `issue`, unpaired, seen now out of
/// every flow's scope (or deleted): those whose far end was seen in scope
/// before will not be completed and are dropped; the others wait (their
/// far end may enter the scope yet).
pub(super) fn far_end_out_of_scope(engine: &Engine, instance: &str, issue: &str) -> Vec<Op> {
    let waiting = engine.store.pending_waiting_on(instance, issue).unwrap_or_default();
    let left = waiting.into_iter().filter(|p| p.far_seen_in_scope);
    left.map(|p| {
        tracing::info!(flow = %p.flow, instance, link = %p.link_id, far = issue, "far end left the scope; pending link dropped");
        Op::PendingDelete { id: p.id }
    })
    .collect()
}

/// The ops that note the links waiting for `issue` have seen it in scope.
pub(super) fn far_end_in_scope(engine: &Engine, instance: &str, issue: &str) -> Vec<Op> {
    let waiting = engine.store.pending_waiting_on(instance, issue).unwrap_or_default();
    let unseen = waiting.into_iter().filter(|p| !p.far_seen_in_scope);
    unseen.map(|p| Op::PendingPut(PendingLink { far_seen_in_scope: true, ..p })).collect()
}

/// The ops that drop the links waiting on behalf of `issue`, whose pair
/// is going: nothing of it will make them.
pub(super) fn near_end_gone(engine: &Engine, instance: &str, issue: &str) -> Vec<Op> {
    let pending = engine.store.pending_from(instance, issue).unwrap_or_default();
    pending.into_iter().map(|p| Op::PendingDelete { id: p.id }).collect()
}

/// The links of `issue` whose outward end it is (not to itself).
fn outward_links(issue: &Issue) -> Vec<&IssueLink> {
    issue.links.iter().filter(|l| l.direction == LinkDirection::Outward && l.other.id != issue.id).collect()
}

/// The pair of the primary issue `primary_issue` on the same secondary as
/// `pair`.
fn far_mirror(engine: &Engine, pair: &LinkRecord, primary_issue: &crate::ids::IssueId) -> Option<LinkRecord> {
    let pairs = engine.store.links_by_primary(primary_issue.as_str()).ok()?;
    pairs.into_iter().find(|p| p.secondary == pair.secondary)
}

struct Plan<'a> {
    engine: &'a Engine,
    flow: &'a ResolvedFlow,
    pair: &'a LinkRecord,
    change: &'a Change,
    out: &'a mut Output,
    jobs: usize,
}

impl Plan<'_> {
    fn secondary_link(&mut self, link: &IssueLink, deps: &[DependencyRecord], mirror: Option<&Issue>) {
        let Some(p_type) = self.flow.primary_link_type(&link.link_type.name) else {
            unmapped(self.engine, self.flow, &link.link_type.name);
            return;
        };
        if let Some(d) = deps.iter().find(|d| d.secondary_link.as_deref() == Some(link.id.as_str())) {
            let counterpart_there = match (mirror, d.primary_link.as_deref()) {
                (Some(m), Some(id)) => outward_links(m).iter().any(|l| l.id == id),
                (Some(_), None) => false,
                // Not read: taken to hold what the store remembers.
                (None, _) => true,
            };
            if !counterpart_there {
                self.counterpart_gone(d);
            }
            return;
        }
        let far = self.engine.store.link_by_secondary(&self.pair.secondary, link.other.id.as_str()).ok().flatten();
        match far {
            Some(far) => {
                let waited = self.engine.store.pending_by_link(&self.pair.secondary, &link.id).ok().flatten();
                self.out.ops.extend(waited.map(|p| Op::PendingDelete { id: p.id }));
                let dep = DependencyRecord {
                    id: 0,
                    flow: self.flow.name().to_string(),
                    from_pair: self.pair.id,
                    to_pair: far.id,
                    secondary_link: Some(link.id.clone()),
                    primary_link: None,
                    secondary_type: link.link_type.name.clone(),
                    primary_type: p_type.to_string(),
                    created_ms: self.engine.now_ms(),
                };
                self.add_on_primary(dep, &far);
            }
            None => self.wait_for(link),
        }
    }

    /// The primary link of a dependency is gone (a person removed it).
    fn counterpart_gone(&mut self, d: &DependencyRecord) {
        match self.flow.cfg.links.direction {
            Flows::Both => {
                tracing::info!(flow = %self.flow.name(), link = ?d.secondary_link, "primary link removed; removing its secondary link");
                let link_id = d.secondary_link.clone().unwrap_or_default();
                self.job(false, Action::RemoveLink { link_id, dep: d.id });
            }
            Flows::ToPrimary => {
                let Ok(Some(far)) = self.engine.store.link(d.to_pair) else { return };
                let dep = DependencyRecord { primary_link: None, ..d.clone() };
                self.add_on_primary(dep, &far);
            }
        }
    }

    fn add_on_primary(&mut self, dep: DependencyRecord, far: &LinkRecord) {
        let action = Action::AddLink {
            link_type: dep.primary_type.clone(),
            from: self.pair.primary_key.clone(),
            to: far.primary_key.clone(),
            dep,
        };
        self.job(true, action);
    }

    /// A secondary link is gone: so goes its counterpart (or, never made,
    /// the record alone).
    fn secondary_link_gone(&mut self, d: &DependencyRecord) {
        match &d.primary_link {
            Some(id) => self.job(true, Action::RemoveLink { link_id: id.clone(), dep: d.id }),
            None => self.out.ops.push(Op::DependencyDelete { id: d.id }),
        }
    }

    /// The far end has no mirror yet: the link waits for it.
    fn wait_for(&mut self, link: &IssueLink) {
        let known = self.engine.store.pending_by_link(&self.pair.secondary, &link.id).ok().flatten();
        if known.is_some_and(|p| p.far_issue == link.other.id.as_str()) {
            return;
        }
        tracing::info!(flow = %self.flow.name(), link = %link.id, far = %link.other.key, "far end not mirrored yet; link waits");
        self.out.ops.push(Op::PendingPut(PendingLink {
            id: 0,
            flow: self.flow.name().to_string(),
            instance: self.pair.secondary.clone(),
            link_id: link.id.clone(),
            link_type: link.link_type.name.clone(),
            near_issue: self.pair.secondary_issue.clone(),
            far_issue: link.other.id.to_string(),
            near_is_outward: true,
            since_ms: self.engine.now_ms(),
            far_seen_in_scope: false,
        }));
    }

    /// Pending links of this issue that it no longer has.
    fn drop_stale_pending(&mut self, present: &HashSet<&str>) {
        let pending = self.engine.store.pending_from(&self.pair.secondary, &self.pair.secondary_issue);
        let links = pending.unwrap_or_default().into_iter().filter(|p| p.link_type != PARENT_LINK_TYPE);
        for p in links.filter(|p| !present.contains(p.link_id.as_str())) {
            self.out.ops.push(Op::PendingDelete { id: p.id });
        }
    }

    /// `"both"`: links a person made on the primary between this mirror
    /// and another mirror of the same secondary, made there too.
    fn primary_links(&mut self, mirror: &Issue, deps: &[DependencyRecord]) {
        let known: HashSet<&str> = deps.iter().filter_map(|d| d.primary_link.as_deref()).collect();
        for link in outward_links(mirror).into_iter().filter(|l| !known.contains(l.id.as_str())) {
            let Some(s_type) = self.flow.secondary_link_type(&link.link_type.name) else { continue };
            let Some(far) = far_mirror(self.engine, self.pair, &link.other.id) else { continue };
            let dep = DependencyRecord {
                id: 0,
                flow: self.flow.name().to_string(),
                from_pair: self.pair.id,
                to_pair: far.id,
                secondary_link: None,
                primary_link: Some(link.id.clone()),
                secondary_type: s_type.to_string(),
                primary_type: link.link_type.name.clone(),
                created_ms: self.engine.now_ms(),
            };
            let action = Action::AddLink {
                link_type: s_type.to_string(),
                from: self.pair.secondary_key.clone(),
                to: far.secondary_key.clone(),
                dep,
            };
            self.job(false, action);
        }
    }

    /// Queues a job on the primary (`on_primary`) or the secondary issue of
    /// the pair.
    fn job(&mut self, on_primary: bool, action: Action) {
        let (instance, target, key) = if on_primary {
            (self.engine.primary().as_str(), &self.pair.primary_issue, &self.pair.primary_key)
        } else {
            (self.pair.secondary.as_str(), &self.pair.secondary_issue, &self.pair.secondary_key)
        };
        let job = Job {
            flow: self.flow.name().to_string(),
            link: Some(self.pair.id),
            target_key: Some(key.clone()),
            action,
            shadow_after: None,
            origin_ms: self.change.seen_ms,
            cause: Some(crate::sync::job::Cause::of(self.change)),
        };
        self.out.ops.push(push(self.engine, instance, target, &job));
        self.jobs += 1;
    }
}

/// A link type the flow does not map: skipped, reported once per type.
fn unmapped(engine: &Engine, flow: &ResolvedFlow, link_type: &str) {
    if engine.observer.board.record_unmapped_link_type(flow.name(), link_type) {
        tracing::warn!(flow = %flow.name(), link_type, "link type not mapped by the flow; such links are not carried");
    }
}
