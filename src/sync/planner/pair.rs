//! Planning the groups of one pass: which issues each needs read, the
//! batched reads, and per linked pair the three-way plan against the shadow.

use std::collections::HashSet;

use super::super::engine::Engine;
use super::super::fields::{side, status_of};
use super::super::flows::ResolvedFlow;
use super::super::in_flight::{Claim, SiteIssue};
use super::Group;
use super::deps;
use super::hierarchy::{self, AtCreate, Kind, Parent};
use super::plan::{Gone, Mirror, create_mirror, gone, plan_link, plan_link_gone_mirror};
use super::push;
use super::reads::{self, Got, Wanted};
use super::remote;
use crate::config::ReadTarget;
use crate::jira::mark::is_mark;
use crate::jira::model::Issue;
use crate::mapping;
use crate::store::{LinkRecord, Op};

/// What planning a pass produced: the issues' output, and the changes it
/// acknowledges.
#[derive(Default)]
pub(super) struct Planned {
    pub(super) out: Output,
    pub(super) acked: Vec<u64>,
}

/// What one group needs.
enum Work {
    /// A secondary issue: read it under its flow's scope (every candidate
    /// flow's when unlinked) and, when linked, its mirror.
    Secondary { link: Option<LinkRecord>, flows: Vec<usize>, read_mirror: bool },
    /// A primary issue: read it, then the secondary of every link it mirrors
    /// that is not settled.
    Primary { links: Vec<LinkRecord> },
    /// A primary issue that mirrors nothing: read it under the scope of each
    /// flow that pushes, to push it where one selects it.
    Push { flows: Vec<usize> },
}

pub(super) async fn plan(engine: &Engine, groups: Vec<Group>, backlog: bool) -> Planned {
    let mut planned = Planned::default();
    let mut work = Vec::new();
    for g in groups {
        let class = classify(engine, &g, backlog);
        tracing::debug!(
            instance = %g.instance,
            issue = %g.change.issue_id,
            seqs = ?g.seqs,
            own = g.own,
            class = class.name(),
            "changes of an issue classified"
        );
        match class {
            Class::Defer => {}
            Class::Done => planned.acked.extend(g.seqs),
            Class::Work(w) => work.push((g, w)),
        }
    }
    covered(&mut work, &mut planned.acked);
    let found = first_reads(engine, &work).read(engine).await;
    let second = second_reads(engine, &work, &found);
    let found2 = if second.is_empty() { reads::Found::default() } else { second.read(engine).await };
    for (g, w) in work {
        let result = match &w {
            Work::Secondary { link, flows, read_mirror } => {
                secondary(engine, &g, link.as_ref(), flows, *read_mirror, &found).await
            }
            Work::Primary { links } => primary(engine, &g, links, &found, &found2).await,
            Work::Push { flows } => push::plan(engine, &g.change, flows, &found).await.map(Some),
        };
        match result {
            Ok(Some(o)) => {
                planned.out.add(o);
                planned.acked.extend(g.seqs);
            }
            Ok(None) => {}
            Err(f) if f.retriable => {
                tracing::warn!(instance = %g.instance, error = %f.text, "issue read failed; kept for later")
            }
            Err(f) => {
                tracing::warn!(instance = %g.instance, error = %f.text, "change dropped: the issue cannot be read");
                planned.acked.extend(g.seqs);
            }
        }
    }
    planned
}

enum Class {
    /// A write of the issue is still in flight: plan it once it is done.
    Defer,
    /// Nothing to read or write: acknowledge.
    Done,
    Work(Work),
}

impl Class {
    fn name(&self) -> &'static str {
        match self {
            Class::Defer => "defer",
            Class::Done => "done",
            Class::Work(Work::Secondary { read_mirror: true, .. }) => "secondary, mirror read",
            Class::Work(Work::Secondary { .. }) => "secondary",
            Class::Work(Work::Primary { .. }) => "primary",
            Class::Work(Work::Push { .. }) => "push",
        }
    }
}

fn classify(engine: &Engine, g: &Group, backlog: bool) -> Class {
    let issue = g.change.issue_id.as_str();
    if g.instance == engine.primary().as_str() {
        let links = engine.store.links_by_primary(issue).unwrap_or_default();
        if links.iter().any(|l| engine.in_flight.link_busy(l)) {
            return Class::Defer;
        }
        // A mirror being created may be edited before its pair is recorded.
        if links.is_empty() && !g.own && engine.in_flight.creating_on(engine.primary(), &g.instance) {
            return Class::Defer;
        }
        let pushing = push::pushing(engine);
        if links.is_empty() && !g.own && !pushing.is_empty() {
            if engine.in_flight.is_claimed(&Claim::Source(SiteIssue::new(&g.instance, issue))) {
                return Class::Defer;
            }
            return Class::Work(Work::Push { flows: pushing });
        }
        // jirafed's own write to a mirror of one source: nothing can flow
        // from it (with several sources it must reach the others).
        if links.is_empty() || (g.own && links.len() == 1) {
            return Class::Done;
        }
        return Class::Work(Work::Primary { links });
    }
    let link = engine.store.link_by_secondary(&g.instance, issue).ok().flatten();
    let busy = match &link {
        Some(l) => engine.in_flight.link_busy(l),
        None => engine.in_flight.is_claimed(&Claim::Source(SiteIssue::new(&g.instance, issue))),
    };
    // A pushed mirror being created may be edited before its pair is recorded.
    let creating = link.is_none() && !g.own && engine.in_flight.creating_on(engine.primary(), &g.instance);
    if busy || creating {
        return Class::Defer;
    }
    if g.own && link.is_some() {
        return Class::Done;
    }
    let flows: Vec<usize> = match &link {
        Some(l) => engine.flows.iter().position(|f| f.name() == l.flow).into_iter().collect(),
        None => engine
            .flows
            .iter()
            .enumerate()
            .filter(|(_, f)| f.cfg.secondary.as_str() == g.instance)
            .map(|(i, _)| i)
            .collect(),
    };
    if flows.is_empty() {
        return Class::Done;
    }
    let read_mirror = match (&link, flows.first()) {
        (Some(l), Some(&i)) => backlog || !may_assume_mirror(engine, engine.flows.at(i), l),
        _ => false,
    };
    Class::Work(Work::Secondary { link, flows, read_mirror })
}

/// `read_target = "auto"`: the mirror may be taken to hold the shadow
/// (saving its read) when nothing suggests otherwise. See
/// [`crate::config::ReadTarget::Auto`] and [`Activity::quiet`](super::super::activity::Activity::quiet).
fn may_assume_mirror(engine: &Engine, flow: &ResolvedFlow, l: &LinkRecord) -> bool {
    // The policy does not matter here: a mirror taken to hold the shadow
    // has not moved, so no conflict is possible to resolve.
    if flow.cfg.read_target != ReadTarget::Auto {
        return false;
    }
    let Some(shadow) = shadow_of(engine, l.id) else { return false };
    let statuses = flow.status.to_primary.is_empty() && flow.status.to_secondary.is_empty();
    if !(statuses || shadow.status_primary.is_some()) || !flow.rules.iter().all(|r| shadow.values.contains_key(&r.key))
    {
        return false;
    }
    engine.activity.quiet(&SiteIssue::new(engine.primary().as_str(), &l.primary_issue), engine.now_ms())
}

/// A link whose secondary issue is planned in this pass does not need its
/// primary side planned too: the secondary's plan reads both sides. (It
/// must read the mirror then, whatever `read_target = "auto"` assumed: the
/// primary's change is in hand, e.g. one left in the inbox by a crash,
/// before any activity of the mirror was seen.)
fn covered(work: &mut Vec<(Group, Work)>, acked: &mut Vec<u64>) {
    let on_primary: HashSet<u64> = work
        .iter()
        .flat_map(|(_, w)| match w {
            Work::Primary { links } => links.iter().map(|l| l.id).collect(),
            _ => Vec::new(),
        })
        .collect();
    for (_, w) in work.iter_mut() {
        if let Work::Secondary { link: Some(l), read_mirror, .. } = w {
            *read_mirror |= on_primary.contains(&l.id);
        }
    }
    let claimed: HashSet<u64> = work
        .iter()
        .filter_map(|(_, w)| match w {
            Work::Secondary { link: Some(l), .. } => Some(l.id),
            _ => None,
        })
        .collect();
    work.retain_mut(|(g, w)| {
        let Work::Primary { links } = w else { return true };
        links.retain(|l| !claimed.contains(&l.id));
        if links.is_empty() {
            acked.append(&mut g.seqs);
            return false;
        }
        true
    });
}

fn first_reads(engine: &Engine, work: &[(Group, Work)]) -> Wanted {
    let mut wanted = Wanted::default();
    let primary = engine.primary().as_str();
    for (g, w) in work {
        let issue = g.change.issue_id.as_str();
        match w {
            Work::Secondary { link, flows, read_mirror } => {
                for &i in flows {
                    let f = engine.flows.at(i);
                    wanted.add(&g.instance, Some(&f.cfg.scope), issue, &f.field_ids(false));
                }
                if let (Some(l), Some(&i), true) = (link, flows.first(), read_mirror) {
                    wanted.add(primary, None, &l.primary_issue, &engine.flows.at(i).field_ids(true));
                }
            }
            Work::Primary { links } => {
                for l in links {
                    if let Some(f) = engine.flows.get(&l.flow) {
                        wanted.add(primary, None, issue, &f.field_ids(true));
                    }
                }
            }
            Work::Push { flows } => {
                for &i in flows {
                    let f = engine.flows.at(i);
                    let mut fields = f.field_ids(true);
                    fields.push("labels".to_string());
                    wanted.add(primary, f.cfg.primary_scope.as_deref(), issue, &fields);
                }
            }
        }
    }
    wanted
}

/// The secondaries of primary changes whose mirror is not what the last
/// sync agreed.
fn second_reads(engine: &Engine, work: &[(Group, Work)], found: &reads::Found) -> Wanted {
    let mut wanted = Wanted::default();
    for (g, w) in work {
        let Work::Primary { links } = w else { continue };
        let Got::Issue(mirror) = found.get(engine.primary().as_str(), None, g.change.issue_id.as_str()) else {
            continue;
        };
        for l in links {
            let Some(f) = engine.flows.get(&l.flow) else { continue };
            if !settled(engine, f, l, mirror) {
                wanted.add(&l.secondary, None, &l.secondary_issue, &f.field_ids(false));
            }
        }
    }
    wanted
}

/// Planning output: ops to commit, claims with the issues they cover (for
/// jobs pushed), and versions read (instance, issue id, updated ms),
/// remembered so that a poll or webhook of the same version is a duplicate.
#[derive(Default)]
pub(crate) struct Output {
    pub(super) ops: Vec<Op>,
    pub(super) claims: Vec<(Claim, Vec<SiteIssue>)>,
    pub(super) seen: Vec<(String, String, i64)>,
}

impl Output {
    pub(super) fn add(&mut self, o: Output) {
        self.ops.extend(o.ops);
        self.claims.extend(o.claims);
        self.seen.extend(o.seen);
    }

    fn saw(&mut self, instance: &str, issue: &Issue) {
        if let Some(t) = issue.updated {
            self.seen.push((instance.to_string(), issue.id.to_string(), t.timestamp_millis()));
        }
    }
}

type Outcome = Result<Option<Output>, reads::Failed>;

fn failed(e: &crate::jira::JiraError) -> reads::Failed {
    reads::Failed { retriable: e.is_retriable(), text: e.to_string() }
}

async fn secondary(
    engine: &Engine,
    g: &Group,
    link: Option<&LinkRecord>,
    flows: &[usize],
    read_mirror: bool,
    found: &reads::Found,
) -> Outcome {
    let issue_id = g.change.issue_id.as_str();
    for &i in flows {
        let flow = engine.flows.at(i);
        let source = match found.get(&g.instance, Some(&flow.cfg.scope), issue_id) {
            Got::Issue(s) => s.clone(),
            Got::Missing => continue,
            Got::Failed(f) => return Err(f.clone()),
        };
        let mut out = Output::default();
        out.saw(&g.instance, &source);
        let s_parent = secondary_parent(engine, flow, &source).await;
        let Some(l) = link else {
            if source.labels.iter().any(|l| is_mark(l)) {
                // A copy jirafed pushed from the primary whose pairing is
                // not committed yet: never mirrored back.
                return Ok(Some(out));
            }
            if engine.store.ended(&g.instance, issue_id).ok().flatten().is_some() {
                // Its pairing ended: not mirrored again until paired anew.
                tracing::debug!(instance = %g.instance, issue = %source.key, "pairing ended; not mirrored again");
                return Ok(Some(out));
            }
            out.ops.extend(deps::far_end_in_scope(engine, &g.instance, issue_id));
            let at = match s_parent {
                Some(sp) => hierarchy::at_create(engine, flow, &source, sp).await,
                None => AtCreate::Parent(None, Default::default(), Vec::new()),
            };
            out.add(create_mirror(engine, flow, &source, &g.change, at));
            return Ok(Some(out));
        };
        if !read_mirror {
            out.add(plan_link(engine, flow, l, &source, Mirror::Assumed, s_parent.as_ref(), &g.change));
            return Ok(Some(out));
        }
        let primary = engine.primary().as_str();
        let mirror = match found.get(primary, None, &l.primary_issue) {
            Got::Issue(m) => Some(m.clone()),
            Got::Missing => reads::confirm(engine, primary, &l.primary_issue, &flow.field_ids(true))
                .await
                .map_err(|e| failed(&e))?,
            Got::Failed(f) => return Err(f.clone()),
        };
        if let Some(m) = &mirror {
            out.saw(primary, m);
        }
        out.add(plan_link(engine, flow, l, &source, Mirror::from(mirror), s_parent.as_ref(), &g.change));
        return Ok(Some(out));
    }
    // In no flow's scope: deleted, moved out, or never in.
    Ok(Some(match link {
        Some(l) => {
            // Deleted, or still there outside the scope (moved, edited out)?
            let there = reads::confirm(engine, &g.instance, issue_id, &[]).await.map_err(|e| failed(&e))?;
            gone(engine, l, &g.change, if there.is_some() { Gone::LeftScope } else { Gone::Deleted })
        }
        None => Output { ops: deps::far_end_out_of_scope(engine, &g.instance, issue_id), ..Output::default() },
    }))
}

async fn primary(
    engine: &Engine,
    g: &Group,
    links: &[LinkRecord],
    found: &reads::Found,
    found2: &reads::Found,
) -> Outcome {
    let p = engine.primary().as_str();
    let id = g.change.issue_id.as_str();
    let mut out = Output::default();
    for l in links {
        let Some(flow) = engine.flows.get(&l.flow) else { continue };
        let mirror = match found.get(p, None, id) {
            Got::Issue(m) => Some(m.clone()),
            Got::Missing => reads::confirm(engine, p, id, &flow.field_ids(true)).await.map_err(|e| failed(&e))?,
            Got::Failed(f) => return Err(f.clone()),
        };
        let Some(mirror) = mirror else {
            out.add(plan_link_gone_mirror(engine, flow, l));
            continue;
        };
        out.saw(p, &mirror);
        if settled(engine, flow, l, &mirror) {
            // The mirror holds what the last sync agreed (typically the
            // echo of jirafed's own write): nothing can flow down, and the
            // secondary's own edits come as changes of their own.
            continue;
        }
        let fields = flow.field_ids(false);
        let source = match found2.get(&l.secondary, None, &l.secondary_issue) {
            Got::Issue(s) => Some(s.clone()),
            Got::Missing => {
                reads::confirm(engine, &l.secondary, &l.secondary_issue, &fields).await.map_err(|e| failed(&e))?
            }
            Got::Failed(f) => return Err(f.clone()),
        };
        match source {
            Some(s) => {
                out.saw(&l.secondary, &s);
                let s_parent = secondary_parent(engine, flow, &s).await;
                let mirror = Mirror::Read(Box::new(mirror));
                out.add(plan_link(engine, flow, l, &s, mirror, s_parent.as_ref(), &g.change));
            }
            None => out.add(gone(engine, l, &g.change, Gone::Deleted)),
        }
    }
    Ok(Some(out))
}

pub(super) fn shadow_of(engine: &Engine, link: u64) -> Option<mapping::Shadow> {
    engine.store.shadow(link).ok().flatten()
}

/// The mirror's fields and status are exactly the shadow's, and its key is
/// the link's: the primary changed nothing since the last sync.
fn settled(engine: &Engine, flow: &ResolvedFlow, link: &LinkRecord, primary: &Issue) -> bool {
    let Some(shadow) = shadow_of(engine, link.id) else { return false };
    let p = side(primary, &flow.fields, true, status_of(primary));
    let same = |key: &str| match (p.values.get(key), shadow.values.get(key)) {
        (Some(a), Some(b)) => a.clone().normalise() == b.clone().normalise(),
        _ => false,
    };
    link.primary_key == primary.key.as_str()
        && p.status.is_some()
        && p.status == shadow.status_primary
        && flow.rules.iter().all(|r| same(&r.key))
        && deps::settled(engine, flow, link, primary)
        && remote::desired(engine, flow, link, primary).is_none_or(|want| want == shadow.remote_links)
        && hierarchy::of_mirror(engine, flow, link, primary)
            .is_none_or(|p| shadow.parent.as_ref().is_some_and(|h| p.same_as(h)))
}

/// The secondary issue's parent with its id (`None`: the flow carries no
/// parents).
async fn secondary_parent(engine: &Engine, flow: &ResolvedFlow, issue: &Issue) -> Option<(Parent, Kind)> {
    let (parent, kind) = hierarchy::of_secondary(flow, issue)?;
    Some((hierarchy::with_id(engine, flow.cfg.secondary.as_str(), parent).await, kind))
}
