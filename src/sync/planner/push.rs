//! Mirrors pushed from the primary (`create = "to_secondary"` or `"both"`):
//! an issue made on the primary (not itself a mirror) that one flow's
//! `primary_scope` selects gets a mirror on that flow's secondary, in
//! `secondary_project`, made like any mirror (provenance mark, found again
//! after a lost answer), with the fields that flow down, the status through
//! the secondary's workflow, and its parent. An issue two flows' scopes
//! select is mirrored by neither, and the overlap is reported with both
//! names.

use super::super::change::Change;
use super::super::engine::Engine;
use super::super::fields::{side, status_of};
use super::super::flows::ResolvedFlow;
use super::super::in_flight::{Claim, SiteIssue};
use super::super::job::{Action, Job, Source};
use super::hierarchy::{self, AtCreate};
use super::pair::Output;
use super::plan::push;
use super::reads::{self, Got};
use crate::jira::mark::is_mark;
use crate::jira::model::Issue;
use crate::mapping::{self, AgreedParent};

/// The flows that push from the primary, by index.
pub(super) fn pushing(engine: &Engine) -> Vec<usize> {
    engine.flows.iter().enumerate().filter(|(_, f)| f.cfg.primary_scope.is_some()).map(|(i, _)| i).collect()
}

/// The plan of a primary issue that mirrors nothing: pushed by the one
/// flow whose scope selects it.
pub(super) async fn plan(
    engine: &Engine,
    change: &Change,
    flows: &[usize],
    found: &reads::Found,
) -> Result<Output, reads::Failed> {
    let primary = engine.primary().as_str();
    let id = change.issue_id.as_str();
    let mut matches: Vec<(&ResolvedFlow, Issue)> = Vec::new();
    for &i in flows {
        let flow = engine.flows.at(i);
        let scope = flow.cfg.primary_scope.as_deref();
        match found.get(primary, scope, id) {
            Got::Issue(issue) => matches.push((flow, issue.clone())),
            Got::Missing => {}
            Got::Failed(f) => return Err(f.clone()),
        }
    }
    let (flow, issue) = match matches.len() {
        0 => return Ok(Output::default()),
        1 => matches.remove(0),
        _ => {
            overlap(engine, &matches);
            return Ok(Output::default());
        }
    };
    // A mirror of a secondary issue whose pairing is not committed yet, or
    // an issue whose pairing ended (not pushed again until paired anew).
    if issue.labels.iter().any(|l| is_mark(l)) || engine.store.ended(primary, id).ok().flatten().is_some() {
        return Ok(Output::default());
    }
    let at = match hierarchy::of_primary(flow, &issue) {
        Some(parent) => hierarchy::push_parent(engine, flow, &issue, parent).await,
        None => AtCreate::Parent(None, AgreedParent::default(), Vec::new()),
    };
    Ok(create(engine, flow, &issue, change, at))
}

/// Two flows (or more) would push the same issue: neither does.
fn overlap(engine: &Engine, matches: &[(&ResolvedFlow, Issue)]) {
    let names: Vec<&str> = matches.iter().map(|(f, _)| f.name()).collect();
    let key = matches[0].1.key.as_str();
    let text = format!("{key}: matched by the primary_scope of {}; mirrored by neither", names.join(" and "));
    tracing::warn!(issue = key, flows = ?names, "primary_scope overlap; not pushed");
    for (flow, _) in matches {
        engine.observer.board.record_flow_error(flow.name(), engine.now_ms(), text.clone());
    }
}

/// The create of the secondary mirror of `issue`.
fn create(engine: &Engine, flow: &ResolvedFlow, issue: &Issue, change: &Change, at: AtCreate) -> Output {
    let (parent, agreed, wait) = match at {
        AtCreate::Wait(ops) => return Output { ops, ..Output::default() },
        AtCreate::Parent(write, agreed, ops) => (write, agreed, ops),
    };
    let p_side = side(issue, &flow.fields, true, status_of(issue));
    let mut plan = mapping::plan_push(&flow.rules, &flow.status, &p_side);
    for w in &plan.warnings {
        tracing::warn!(flow = %flow.cfg.name, issue = %issue.key, warning = %w, "mapping");
        engine.observer.board.record_flow_error(flow.name(), engine.now_ms(), format!("{}: {w}", issue.key));
    }
    if flow.hierarchy.is_some() {
        plan.shadow.parent = Some(agreed);
    }
    let fields = plan
        .to_secondary
        .iter()
        .filter_map(|(k, v)| flow.fields.iter().find(|f| &f.key == k).map(|f| (f.secondary.id.clone(), v.clone())))
        .collect();
    let primary = engine.primary().as_str();
    let source =
        Source { instance: primary.to_string(), issue_id: issue.id.to_string(), issue_key: issue.key.to_string() };
    let p_type = issue.issuetype.clone().unwrap_or_else(|| "Task".into());
    let issue_type =
        flow.cfg.issue_types.iter().find(|(_, p)| **p == p_type).map_or(p_type.clone(), |(s, _)| s.clone());
    let job = Job {
        flow: flow.name().to_string(),
        link: None,
        target_key: None,
        action: Action::Create {
            project: flow.cfg.secondary_project.clone().unwrap_or_default(),
            issue_type,
            fields,
            status: plan.secondary_status.clone(),
            mark: source.mark(flow.name()),
            source: source.clone(),
            parent,
        },
        shadow_after: Some(plan.shadow),
        origin_ms: change.seen_ms,
        cause: Some(crate::sync::job::Cause::of(change)),
    };
    let target = format!("create:{}:{}", source.instance, source.issue_id);
    let mut ops = vec![push(engine, flow.cfg.secondary.as_str(), &target, &job)];
    ops.extend(wait);
    let claimed = SiteIssue::new(primary, &source.issue_id);
    Output { ops, claims: vec![(Claim::Source(claimed.clone()), vec![claimed])], ..Output::default() }
}
