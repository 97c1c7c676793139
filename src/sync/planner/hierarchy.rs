//! Hierarchy (`hierarchy.parent = true`): a mirror's parent is the mirror of
//! its source's parent. Cloud keeps every parent in `parent`; Data Center
//! keeps a sub-task's there and a story's epic in the Epic Link field (found
//! by its schema when the flow is resolved).
//!
//! Parents are compared in the secondary's terms (the secondary issue id of
//! the parent), against the one last agreed (kept in the pair's shadow), so
//! a re-parenting on either side is a change like a field's, carried per
//! `hierarchy.direction` and the flow's conflict policy. A parent in scope
//! but not mirrored yet is mirrored first: the child waits for it (a pending
//! record, completed like a link's), and is planned again once it exists. A
//! parent out of scope leaves the mirror without one, reported.

use super::super::engine::Engine;
use super::super::flows::ResolvedFlow;
use crate::config::{Flavour, RelationDirection};
use crate::jira::model::Issue;
use crate::jira::values::FieldValue;
use crate::mapping::{self, AgreedParent};
use crate::store::{EndedPair, LinkRecord, Op, PendingLink};
use crate::sync::job::ParentWrite;

/// The pending records of children waiting for their parent's mirror.
pub(crate) const PARENT_LINK_TYPE: &str = "jirafed:parent";

/// How a child hangs from its parent, where it matters (Data Center keeps
/// the two in different fields).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A story's epic (Data Center: the Epic Link field).
    Epic,
    /// A sub-task's parent (`parent` on both flavours).
    SubTask,
}

/// A parent in the secondary's terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Parent {
    None,
    /// An issue of the secondary, by id and key.
    Issue {
        id: String,
        key: String,
    },
    /// On the primary: an issue that is no mirror of this secondary's.
    Foreign(String),
}

impl Parent {
    fn agreed(&self) -> Option<AgreedParent> {
        match self {
            Parent::None => Some(AgreedParent { issue: None }),
            Parent::Issue { id, .. } => Some(AgreedParent { issue: Some(id.clone()) }),
            Parent::Foreign(_) => None,
        }
    }

    pub(crate) fn same_as(&self, h: &AgreedParent) -> bool {
        match (self, &h.issue) {
            (Parent::None, None) => true,
            (Parent::Issue { id, .. }, Some(h)) => id == h,
            _ => false,
        }
    }
}

/// The same parent (issues by id: keys move).
fn same(a: &Parent, b: &Parent) -> bool {
    match (a, b) {
        (Parent::Issue { id: x, .. }, Parent::Issue { id: y, .. }) => x == y,
        _ => a == b,
    }
}

/// The secondary issue's parent and how it hangs from it; `None` when the
/// flow does not carry parents.
pub(crate) fn of_secondary(flow: &ResolvedFlow, issue: &Issue) -> Option<(Parent, Kind)> {
    let h = flow.hierarchy.as_ref()?;
    let kind = kind_of(issue);
    if let Some(p) = &issue.parent {
        return Some((Parent::Issue { id: p.id.to_string(), key: p.key.to_string() }, kind));
    }
    let epic = h.secondary_epic.as_ref().map(|f| issue.value(f));
    match epic {
        // Data Center names the epic by key only: the id is found later.
        Some(FieldValue::Issue(r)) if !r.key.as_str().is_empty() => {
            Some((Parent::Issue { id: r.id.to_string(), key: r.key.to_string() }, Kind::Epic))
        }
        _ => Some((Parent::None, kind)),
    }
}

/// A sub-task is named so on every flavour; anything else hangs from an
/// epic (or, on Cloud, any parent one level up).
pub(crate) fn kind_of(issue: &Issue) -> Kind {
    let t = issue.issuetype.as_deref().unwrap_or_default().to_lowercase().replace(['-', ' '], "");
    if t.contains("subtask") { Kind::SubTask } else { Kind::Epic }
}

/// The id of a parent named by key only (a Data Center Epic Link): as the
/// planner's reads last saw it (the epic is read when it is planned), else
/// read from the site.
pub(crate) async fn with_id(engine: &Engine, instance: &str, parent: Parent) -> Parent {
    let Parent::Issue { id, key } = &parent else { return parent };
    if !id.is_empty() {
        return parent;
    }
    let now = engine.now_ms();
    if let Some(id) = engine.lookups.issue_ids.get(instance, key, now) {
        return Parent::Issue { id, key: key.clone() };
    }
    let Some(site) = engine.site(instance) else { return parent };
    match site.issue(key, &["summary"]).await {
        Ok(i) => {
            engine.lookups.issue_ids.put(instance, key, now, i.id.to_string());
            Parent::Issue { id: i.id.to_string(), key: key.clone() }
        }
        Err(_) => parent,
    }
}

/// The mirror's parent in the secondary's terms.
pub(crate) fn of_mirror(engine: &Engine, flow: &ResolvedFlow, pair: &LinkRecord, mirror: &Issue) -> Option<Parent> {
    let h = flow.hierarchy.as_ref()?;
    let parent = mirror.parent.clone().or_else(|| match h.primary_epic.as_ref().map(|f| mirror.value(f)) {
        Some(FieldValue::Issue(r)) if !r.key.as_str().is_empty() => Some(r),
        _ => None,
    });
    let Some(p) = parent else { return Some(Parent::None) };
    let pairs = if p.id.as_str().is_empty() {
        Vec::new()
    } else {
        engine.store.links_by_primary(p.id.as_str()).unwrap_or_default()
    };
    Some(match pairs.into_iter().find(|l| l.secondary == pair.secondary) {
        Some(l) => Parent::Issue { id: l.secondary_issue, key: l.secondary_key },
        None => Parent::Foreign(p.key.to_string()),
    })
}

/// What the planner does about a pair's parent.
#[derive(Debug, Default)]
pub(crate) struct Decision {
    pub(crate) to_primary: Option<ParentWrite>,
    pub(crate) to_secondary: Option<ParentWrite>,
    /// The parent now agreed (for the shadow once the writes are done).
    pub(crate) agreed: Option<AgreedParent>,
    /// Ops to commit with the plan (a child waiting for its parent).
    pub(crate) ops: Vec<Op>,
}

/// The three-way decision for a pair: the secondary's parent `s`, the
/// mirror's `p` (`None`: not read, taken to hold the agreed one), the one
/// last agreed `h`.
pub(crate) fn decide(
    engine: &Engine,
    flow: &ResolvedFlow,
    pair: &LinkRecord,
    (s, kind): (&Parent, Kind),
    p: Option<&Parent>,
    h: Option<&AgreedParent>,
) -> Decision {
    let mut d = Decision { agreed: h.cloned(), ..Decision::default() };
    if let Some(ended) = h.and_then(|h| parent_pair_ended(engine, pair, h)) {
        orphaned(engine, flow, pair, p, kind, &ended, &mut d);
        return d;
    }
    let p_is_h = match (p, h) {
        (None, _) => true,
        (Some(p), Some(h)) => p.same_as(h),
        (Some(_), None) => false,
    };
    let s_is_h = h.is_some_and(|h| s.same_as(h));
    if p.is_some_and(|p| same(p, s)) || (p.is_none() && s_is_h) {
        d.agreed = s.agreed();
        return d;
    }
    let both = flow.cfg.hierarchy.direction == RelationDirection::Both;
    let down = both && s_is_h && !p_is_h;
    let conflict = !s_is_h && !p_is_h;
    let primary_wins = matches!(flow.conflict, mapping::Conflict::PrimaryWins);
    if down || (both && conflict && primary_wins) {
        if let Some(p) = p {
            to_secondary(engine, flow, pair, p, kind, &mut d);
        }
    } else if s_is_h {
        // Only the primary moved and it does not flow down: left alone.
        d.agreed = s.agreed();
    } else {
        to_primary(engine, flow, pair, s, kind, &mut d);
    }
    d
}

/// The pairing of the agreed parent `h` when it has ended (the parent was
/// deleted, left the scope, or was unlinked) and was not paired anew.
fn parent_pair_ended(engine: &Engine, pair: &LinkRecord, h: &AgreedParent) -> Option<EndedPair> {
    let id = h.issue.as_deref()?;
    if engine.store.link_by_secondary(&pair.secondary, id).ok().flatten().is_some() {
        return None;
    }
    engine.store.ended(&pair.secondary, id).ok().flatten()
}

/// A child whose parent's pairing ended keeps its mirror; the mirror's
/// parent (the parent's former mirror, or nothing when that was deleted)
/// is cleared, and reported. The secondary is left as it is.
fn orphaned(
    engine: &Engine,
    flow: &ResolvedFlow,
    pair: &LinkRecord,
    p: Option<&Parent>,
    kind: Kind,
    ended: &EndedPair,
    d: &mut Decision,
) {
    d.agreed = Some(AgreedParent { issue: None });
    let (parent, reason, mirror) = (&ended.secondary_key, &ended.reason, &pair.primary_key);
    if kind == Kind::SubTask {
        // Jira keeps a sub-task under a parent: its mirror stays where it is.
        let why = format!(
            "its parent {parent}'s pairing ended ({reason}): the sub-task's mirror {mirror} stays under its parent's former mirror"
        );
        report(engine, flow, &pair.secondary_key, &why);
        return;
    }
    if p != Some(&Parent::None) {
        d.to_primary = parent_field(engine, flow, true, kind).map(|field| ParentWrite { field, key: None });
    }
    let why = format!("its parent {parent}'s pairing ended ({reason}): the mirror {mirror} keeps no parent");
    report(engine, flow, &pair.secondary_key, &why);
}

/// The mirror takes the secondary's parent (or waits for its mirror).
fn to_primary(engine: &Engine, flow: &ResolvedFlow, pair: &LinkRecord, s: &Parent, kind: Kind, d: &mut Decision) {
    let field = parent_field(engine, flow, true, kind);
    match s {
        Parent::None => {
            d.to_primary = field.map(|field| ParentWrite { field, key: None });
            d.agreed = s.agreed();
        }
        Parent::Issue { id, key } => match engine.store.link_by_secondary(&pair.secondary, id).ok().flatten() {
            Some(parent_pair) => {
                d.to_primary = field.map(|field| ParentWrite { field, key: Some(parent_pair.primary_key) });
                d.agreed = s.agreed();
            }
            // Its pairing ended: not mirrored again by itself, so the
            // mirror stays without a parent rather than wait for ever.
            None if engine.store.ended(&pair.secondary, id).ok().flatten().is_some() => {
                tracing::info!(flow = %flow.name(), child = %pair.secondary_key, parent = %key, "parent's pairing ended; the mirror has no parent");
                d.agreed = Some(AgreedParent { issue: None });
            }
            None => {
                tracing::info!(flow = %flow.name(), child = %pair.secondary_key, parent = %key, "parent not mirrored yet; the child waits");
                d.ops.extend(wait_for_parent(engine, flow, &pair.secondary, &pair.secondary_issue, id));
            }
        },
        Parent::Foreign(_) => {}
    }
    if d.to_primary.is_none() && !matches!(s, Parent::Issue { .. }) && field_missing(engine, flow, true, kind) {
        report(engine, flow, &pair.secondary_key, "the primary has no field for this parent");
    }
}

/// The secondary takes the mirror's parent (`"both"`).
fn to_secondary(engine: &Engine, flow: &ResolvedFlow, pair: &LinkRecord, p: &Parent, kind: Kind, d: &mut Decision) {
    let Some(field) = parent_field(engine, flow, false, kind) else {
        report(engine, flow, &pair.secondary_key, "the secondary has no field for this parent");
        return;
    };
    match p {
        Parent::None => {
            d.to_secondary = Some(ParentWrite { field, key: None });
            d.agreed = p.agreed();
        }
        Parent::Issue { key, .. } => {
            d.to_secondary = Some(ParentWrite { field, key: Some(key.clone()) });
            d.agreed = p.agreed();
        }
        Parent::Foreign(key) => {
            let why = format!("its mirror's new parent {key} is not a mirror of this secondary; not carried");
            report(engine, flow, &pair.secondary_key, &why);
        }
    }
}

/// The field a parent is written to on one side: `parent` on Cloud and for
/// a sub-task, the Epic Link field for a Data Center story.
fn parent_field(engine: &Engine, flow: &ResolvedFlow, primary: bool, kind: Kind) -> Option<String> {
    let h = flow.hierarchy.as_ref()?;
    let site = if primary { engine.primary().as_str() } else { flow.cfg.secondary.as_str() };
    let flavour = engine.site(site)?.flavour();
    match (flavour, kind) {
        (Flavour::Cloud, _) | (Flavour::DataCenter, Kind::SubTask) => Some("parent".to_string()),
        (Flavour::DataCenter, Kind::Epic) => {
            let epic = if primary { &h.primary_epic } else { &h.secondary_epic };
            epic.as_ref().map(|f| f.id.clone())
        }
    }
}

fn field_missing(engine: &Engine, flow: &ResolvedFlow, primary: bool, kind: Kind) -> bool {
    parent_field(engine, flow, primary, kind).is_none()
}

/// The ops that make `child` wait for its parent's mirror: a pending record
/// (completed when that mirror is made) and a change of the parent, so that
/// it is planned (and mirrored, when in scope) even if nothing else moves it.
pub(crate) fn wait_for_parent(
    engine: &Engine,
    flow: &ResolvedFlow,
    instance: &str,
    child: &str,
    parent: &str,
) -> Vec<Op> {
    let pending = PendingLink {
        id: 0,
        flow: flow.name().to_string(),
        instance: instance.to_string(),
        link_id: format!("{PARENT_LINK_TYPE}:{child}"),
        link_type: PARENT_LINK_TYPE.to_string(),
        near_issue: child.to_string(),
        far_issue: parent.to_string(),
        near_is_outward: false,
        since_ms: engine.now_ms(),
        far_seen_in_scope: false,
    };
    vec![Op::PendingPut(pending), crate::sync::writer::replan_issue(engine, instance, parent, None)]
}

/// A parent that cannot be carried: logged and shown as the flow's last
/// error on `/status`.
pub(crate) fn report(engine: &Engine, flow: &ResolvedFlow, child: &str, why: &str) {
    tracing::warn!(flow = %flow.name(), issue = child, why, "parent not carried");
    engine.observer.board.record_flow_error(flow.name(), engine.now_ms(), format!("{child}: parent: {why}"));
}

/// Where a new mirror hangs.
#[derive(Debug)]
pub(crate) enum AtCreate {
    /// Created with this parent (or none), with ops to commit beside.
    Parent(Option<ParentWrite>, AgreedParent, Vec<Op>),
    /// The parent is in scope and not mirrored yet: it goes first; these
    /// ops make the child wait for it.
    Wait(Vec<Op>),
}

/// The parent of the mirror about to be made of `issue`.
pub(crate) async fn at_create(engine: &Engine, flow: &ResolvedFlow, issue: &Issue, s: (Parent, Kind)) -> AtCreate {
    let (parent, kind) = s;
    let instance = flow.cfg.secondary.as_str();
    let Parent::Issue { id, key } = &parent else {
        return AtCreate::Parent(None, AgreedParent { issue: None }, Vec::new());
    };
    if let Some(pair) = engine.store.link_by_secondary(instance, id).ok().flatten() {
        let write =
            parent_field(engine, flow, true, kind).map(|field| ParentWrite { field, key: Some(pair.primary_key) });
        return AtCreate::Parent(write, AgreedParent { issue: Some(id.clone()) }, Vec::new());
    }
    let wait = wait_for_parent(engine, flow, instance, issue.id.as_str(), id);
    if in_scope(engine, flow, id).await {
        tracing::info!(flow = %flow.name(), child = %issue.key, parent = %key, "parent in scope, not mirrored yet: it goes first");
        return AtCreate::Wait(wait);
    }
    if kind == Kind::SubTask {
        // Jira refuses a sub-task without a parent: it waits for one.
        let why = format!("parent {key} is not in the flow's scope; a sub-task cannot be mirrored without it");
        report(engine, flow, issue.key.as_str(), &why);
        return AtCreate::Wait(wait);
    }
    report(
        engine,
        flow,
        issue.key.as_str(),
        &format!("parent {key} is not in the flow's scope; mirrored without a parent"),
    );
    // Should the parent enter the scope and be mirrored, the child is
    // planned again (the pending record) and takes it.
    AtCreate::Parent(None, AgreedParent { issue: None }, wait)
}

/// Whether the secondary issue `id` is in the flow's scope (one search);
/// a failed search counts as in scope, so the child waits rather than
/// losing its parent.
async fn in_scope(engine: &Engine, flow: &ResolvedFlow, id: &str) -> bool {
    let Some(site) = engine.site(flow.cfg.secondary.as_str()) else { return false };
    match site.issues(Some(&flow.cfg.scope), &[id], &["summary"]).await {
        Ok(found) => !found.is_empty(),
        Err(_) => true,
    }
}

/// The primary issue's parent (`parent`, or an Epic Link on a Data Center
/// primary) by primary id, and how the issue hangs from it; `None` when the
/// flow does not carry parents.
pub(crate) fn of_primary(flow: &ResolvedFlow, issue: &Issue) -> Option<(Option<(String, String)>, Kind)> {
    let h = flow.hierarchy.as_ref()?;
    let kind = kind_of(issue);
    if let Some(p) = &issue.parent {
        return Some((Some((p.id.to_string(), p.key.to_string())), kind));
    }
    match h.primary_epic.as_ref().map(|f| issue.value(f)) {
        Some(FieldValue::Issue(r)) if !r.key.as_str().is_empty() => {
            Some((Some((r.id.to_string(), r.key.to_string())), Kind::Epic))
        }
        _ => Some((None, kind)),
    }
}

/// The parent of the secondary mirror about to be pushed for the primary
/// `issue`: the secondary issue of the parent's pair; a parent with no
/// pair yet that the flow's `primary_scope` selects goes first (the child
/// waits); one out of it leaves the mirror without a parent, reported.
pub(crate) async fn push_parent(
    engine: &Engine,
    flow: &ResolvedFlow,
    issue: &Issue,
    (parent, kind): (Option<(String, String)>, Kind),
) -> AtCreate {
    let primary = engine.primary().as_str();
    let Some((id, key)) = parent else {
        return AtCreate::Parent(None, AgreedParent { issue: None }, Vec::new());
    };
    let pairs = engine.store.links_by_primary(&id).unwrap_or_default();
    if let Some(pair) = pairs.into_iter().find(|p| p.secondary == flow.cfg.secondary.as_str()) {
        let write =
            parent_field(engine, flow, false, kind).map(|field| ParentWrite { field, key: Some(pair.secondary_key) });
        return AtCreate::Parent(write, AgreedParent { issue: Some(pair.secondary_issue) }, Vec::new());
    }
    let wait = wait_for_parent(engine, flow, primary, issue.id.as_str(), &id);
    let in_scope = match (engine.site(primary), flow.cfg.primary_scope.as_deref()) {
        (Some(site), Some(scope)) => {
            site.issues(Some(scope), &[id.as_str()], &["summary"]).await.map_or(true, |f| !f.is_empty())
        }
        _ => false,
    };
    if in_scope || kind == Kind::SubTask {
        return AtCreate::Wait(wait);
    }
    report(
        engine,
        flow,
        issue.key.as_str(),
        &format!("parent {key} is not in the flow's primary_scope; pushed without a parent"),
    );
    AtCreate::Parent(None, AgreedParent { issue: None }, wait)
}
