//! Pairs made and severed by hand (`jirafed link`, `jirafed unlink`): two
//! issues that exist already paired and brought level by the planner, or a
//! pair forgotten with both issues left as they are and not mirrored again
//! by themselves. Run by the daemon (admin socket) or standalone on the
//! store when no daemon runs; the planner does the writes either way.

use serde::{Deserialize, Serialize};

use super::engine::Engine;
use super::fields::{side, status_of};
use super::flows::ResolvedFlow;
use super::job::Job;
use super::writer::replan_pair;
use crate::jira::Site;
use crate::jira::model::Issue;
use crate::mapping::{self, level_shadow, level_winner};
use crate::store::{EndedPair, LinkRecord, Op, OpResult};

/// What `jirafed link` asks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkRequest {
    /// The flow the pair belongs to.
    pub flow: String,
    /// The issue on the flow's secondary, by key.
    pub secondary_key: String,
    /// The issue on the primary, by key.
    pub primary_key: String,
    /// The side whose values are kept; default: the flow's conflict policy.
    pub prefer: Option<Prefer>,
}

/// The side whose values a pair made by hand keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Prefer {
    Primary,
    Secondary,
}

impl Prefer {
    fn site(self) -> mapping::Site {
        match self {
            Prefer::Primary => mapping::Site::Primary,
            Prefer::Secondary => mapping::Site::Secondary,
        }
    }
}

/// A pair made by hand.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Linked {
    /// The pair's id in the store.
    pub link: u64,
    pub flow: String,
    /// The secondary instance.
    pub secondary: String,
    pub secondary_key: String,
    pub primary_key: String,
    /// `primary` or `secondary`: whose values the other side takes.
    pub winner: String,
}

/// A pair severed by hand.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unlinked {
    pub flow: String,
    /// The secondary instance.
    pub secondary: String,
    pub secondary_key: String,
    pub primary_key: String,
}

/// Pairs two existing issues of `req.flow` and queues the change that
/// brings them level: the winner's values (the preference, else the flow's
/// conflict policy) flow to the other side within each rule's direction.
/// Refused, naming why, when either issue is missing, outside the flow, or
/// paired already.
pub async fn link(engine: &Engine, req: &LinkRequest) -> anyhow::Result<Linked> {
    let flow = flow(engine, &req.flow)?;
    let secondary_id = flow.cfg.secondary.as_str();
    let primary_id = engine.primary().as_str();
    let s_site = engine.connected(secondary_id)?;
    let p_site = engine.connected(primary_id)?;
    let s_fields = flow.field_ids(false);
    let p_fields = flow.field_ids(true);
    let s_issue = read_in_scope(s_site.as_ref(), &req.secondary_key, &flow.cfg.scope, &s_fields, flow.name()).await?;
    let p_scope = format!("project = \"{}\"", flow.cfg.primary_project);
    let p_issue = read_in_scope(p_site.as_ref(), &req.primary_key, &p_scope, &p_fields, flow.name()).await?;

    if let Some(l) = engine.store.link_by_secondary(secondary_id, s_issue.id.as_str())? {
        anyhow::bail!(
            "{} is already paired with {} (flow {}); `jirafed unlink {}` first",
            s_issue.key,
            l.primary_key,
            l.flow,
            s_issue.key
        );
    }
    if let Some(l) = engine.store.links_by_primary(p_issue.id.as_str())?.into_iter().find(|l| l.flow == flow.name()) {
        anyhow::bail!(
            "{} already mirrors {} in flow {}; `jirafed unlink {}` first",
            p_issue.key,
            l.secondary_key,
            l.flow,
            l.secondary_key
        );
    }

    let (ops, winner) = pair_ops(engine, flow, &s_issue, &p_issue, req.prefer, (true, false));
    let results = engine.store.commit(ops).await?;
    let Some(&OpResult::LinkId(link)) = results.get(2) else {
        anyhow::bail!("the store did not record the pair ({:?})", results.get(2));
    };
    let winner = match winner {
        mapping::Site::Primary => "primary",
        mapping::Site::Secondary => "secondary",
    };
    tracing::info!(flow = %flow.name(), secondary = %s_issue.key, primary = %p_issue.key, winner, "paired by hand");
    // Links that waited for a mirror of this issue have one now.
    super::planner::deps::complete(engine, secondary_id, s_issue.id.as_str()).await;
    engine.wake.planner();
    Ok(Linked {
        link,
        flow: flow.name().to_string(),
        secondary: secondary_id.to_string(),
        secondary_key: s_issue.key.to_string(),
        primary_key: p_issue.key.to_string(),
        winner: winner.to_string(),
    })
}

/// The ops that pair two existing issues of `flow` and bring them level:
/// the winner's values (`prefer`, else the flow's conflict policy) flow to
/// the other side within each rule's direction. The pair's record is the
/// third op. `by_hand`: jirafed did not make the mirror (it is never
/// deleted by `on_delete = "delete_mirror"`); `pushed`: the secondary issue
/// is the copy jirafed made of the primary one.
pub(crate) fn pair_ops(
    engine: &Engine,
    flow: &ResolvedFlow,
    s_issue: &Issue,
    p_issue: &Issue,
    prefer: Option<Prefer>,
    (by_hand, pushed): (bool, bool),
) -> (Vec<Op>, mapping::Site) {
    let secondary_id = flow.cfg.secondary.as_str();
    let s_side = side(s_issue, &flow.fields, false, status_of(s_issue));
    let p_side = side(p_issue, &flow.fields, true, status_of(p_issue));
    let winner = level_winner(flow.conflict, prefer.map(Prefer::site), &s_side, &p_side);
    let shadow = level_shadow(&flow.rules, winner, &s_side, &p_side);
    let record = LinkRecord {
        id: 0,
        flow: flow.name().to_string(),
        secondary: secondary_id.to_string(),
        secondary_issue: s_issue.id.to_string(),
        secondary_key: s_issue.key.to_string(),
        primary_issue: p_issue.id.to_string(),
        primary_key: p_issue.key.to_string(),
        created_ms: engine.now_ms(),
        by_hand,
        pushed,
    };
    // Both ends read again: the planner plans the pair from what they hold.
    let replan = replan_pair(engine, &record);
    let mut ops = vec![
        // Paired anew: whatever was remembered of either issue's end is over.
        Op::EndedDelete { instance: secondary_id.to_string(), issue: s_issue.id.to_string() },
        Op::EndedDelete { instance: engine.primary().to_string(), issue: p_issue.id.to_string() },
        Op::LinkWithShadow { link: record, shadow },
    ];
    ops.extend(replan);
    (ops, winner)
}

/// Severs the pair holding `key` (its secondary or its primary issue, as
/// the store last saw their keys), leaving both issues; neither is mirrored
/// again by itself until `jirafed link` pairs it anew. Refused while writes
/// of the pair are queued.
pub async fn unlink(engine: &Engine, key: &str) -> anyhow::Result<Unlinked> {
    let pair = pair_holding(engine, key)?;
    let queued = queued_writes(engine, pair.id)?;
    if queued > 0 {
        anyhow::bail!(
            "{} <-> {} has {queued} write(s) queued; unlink it once they are written (see /status, or `jirafed dead-letters list` for refused ones)",
            pair.secondary_key,
            pair.primary_key
        );
    }
    let ended = ended_pair(engine, &pair, "unlinked");
    let mut ops = vec![Op::LinkDelete { id: pair.id }, Op::EndedPut(ended)];
    ops.extend(crate::sync::writer::replan_children(engine, &pair));
    engine.store.commit(ops).await?;
    tracing::info!(flow = %pair.flow, secondary = %pair.secondary_key, primary = %pair.primary_key, "pair severed by hand");
    Ok(Unlinked {
        flow: pair.flow,
        secondary: pair.secondary,
        secondary_key: pair.secondary_key,
        primary_key: pair.primary_key,
    })
}

/// The record that keeps both issues of pair `l`, ended for `reason`, from
/// being mirrored again by themselves.
pub(crate) fn ended_pair(engine: &Engine, l: &LinkRecord, reason: &str) -> EndedPair {
    EndedPair {
        flow: l.flow.clone(),
        secondary: l.secondary.clone(),
        secondary_issue: l.secondary_issue.clone(),
        secondary_key: l.secondary_key.clone(),
        primary: engine.primary().to_string(),
        primary_issue: l.primary_issue.clone(),
        primary_key: l.primary_key.clone(),
        reason: reason.to_string(),
        at_ms: engine.now_ms(),
    }
}

pub(crate) fn flow<'a>(engine: &'a Engine, name: &str) -> anyhow::Result<&'a ResolvedFlow> {
    engine.flows.get(name).ok_or_else(|| {
        let names: Vec<&str> = engine.flows.iter().map(ResolvedFlow::name).collect();
        anyhow::anyhow!("no flow named {name:?} in the config (flows: {})", names.join(", "))
    })
}

/// `key` read within `scope`; an error naming what is wrong otherwise.
async fn read_in_scope(
    site: &dyn Site,
    key: &str,
    scope: &str,
    fields: &[String],
    flow: &str,
) -> anyhow::Result<Issue> {
    let fields: Vec<&str> = fields.iter().map(String::as_str).collect();
    let found = site.issues(Some(scope), &[key], &fields).await.map_err(|e| anyhow::anyhow!("{}: {e}", site.id()))?;
    if let Some(issue) = found.into_iter().next() {
        return Ok(issue);
    }
    match site.issue(key, &[]).await {
        Ok(_) => anyhow::bail!("{key} on {} is outside flow {flow} ({scope})", site.id()),
        Err(e) => anyhow::bail!("{key} cannot be read on {}: {e}", site.id()),
    }
}

/// The one pair whose secondary or primary key is `key`.
pub(crate) fn pair_holding(engine: &Engine, key: &str) -> anyhow::Result<LinkRecord> {
    let mut found = Vec::new();
    let mut after = None;
    loop {
        let page = engine.store.links_after(after, 500)?;
        let Some(last) = page.last() else { break };
        after = Some(last.id);
        found.extend(
            page.into_iter()
                .filter(|l| l.secondary_key.eq_ignore_ascii_case(key) || l.primary_key.eq_ignore_ascii_case(key)),
        );
    }
    match found.len() {
        0 => anyhow::bail!("no pair holds {key}"),
        1 => Ok(found.remove(0)),
        _ => {
            let pairs: Vec<String> = found.iter().map(|l| format!("{} ({})", l.secondary_key, l.flow)).collect();
            anyhow::bail!("{key} mirrors several issues: {}; unlink by the secondary key", pairs.join(", "))
        }
    }
}

/// How many outbox jobs belong to pair `link`.
fn queued_writes(engine: &Engine, link: u64) -> anyhow::Result<usize> {
    let mut n = 0;
    let mut after = None;
    loop {
        let page = engine.store.outbox_after(after, 500)?;
        let Some(last) = page.last() else { break };
        after = Some(last.seq);
        n += page.iter().filter_map(|e| Job::from_bytes(&e.payload)).filter(|j| j.link == Some(link)).count();
    }
    Ok(n)
}
