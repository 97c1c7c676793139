//! `[[flows]]`: which issues of a secondary sync with the primary, and how.

use std::collections::{BTreeMap, BTreeSet};

use figment::value::Value;

use super::reader::{Choice, Table};
use super::types::*;
use crate::ids::{FlowName, InstanceId};

pub fn flows(top: &Table, instances: &BTreeMap<String, Option<Role>>) -> Vec<FlowConfig> {
    let mut out: Vec<FlowConfig> = Vec::new();
    let mut names = BTreeSet::new();
    // Normalised primary scope -> the first flow that pushes it.
    let mut pushed: BTreeMap<String, FlowName> = BTreeMap::new();
    for t in top.array_of_tables("flows") {
        if let Some(flow) = flow(&t, instances) {
            if !names.insert(flow.name.clone()) {
                t.problem("name", format!("duplicate flow name {:?}; flow names must be unique", flow.name.as_str()));
            }
            if let Some(scope) = &flow.primary_scope {
                let key = scope.trim().to_lowercase();
                match pushed.get(&key) {
                    Some(first) => t.warn(
                        "primary_scope",
                        format!(
                            "flows {:?} and {:?} have the same primary_scope, so an issue they both match would be mirrored by neither; give each flow its own",
                            first.as_str(),
                            flow.name.as_str()
                        ),
                    ),
                    None => {
                        pushed.insert(key, flow.name.clone());
                    }
                }
            }
            out.push(flow);
        }
        t.finish();
    }
    out
}

fn flow(t: &Table, instances: &BTreeMap<String, Option<Role>>) -> Option<FlowConfig> {
    let name = t.required_string("name", "a unique flow name");
    if let Some(n) = &name {
        if !n.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')) {
            t.problem("name", format!("invalid flow name {n:?}; expected letters, digits, '-', '_' or '.'"));
        }
    }
    let secondary = t.required_string("secondary", "the id of a secondary instance");
    if let Some(s) = &secondary {
        match instances.get(s.as_str()) {
            Some(Some(Role::Secondary)) | Some(None) => {}
            Some(Some(Role::Primary)) => {
                t.problem("secondary", format!("instance {s:?} is the primary; expected a secondary instance"))
            }
            None => {
                let known: Vec<&str> = instances.keys().map(String::as_str).collect();
                t.problem("secondary", format!("no instance named {s:?}; known instances: {}", known.join(", ")));
            }
        }
    }
    let scope = t.required_string("scope", "a JQL query selecting the secondary's issues");
    let primary_project = t.required_string("primary_project", "the key of the primary project for mirrors");
    // Every key is read before a missing one ends the flow, so that its
    // other keys are still checked (and not reported as unknown).
    // `None` when `create` is invalid (already reported): the keys that
    // depend on it are then not judged against a guess.
    let create = if t.contains("create") { t.choice_opt("create") } else { Some(CreatePolicy::ToPrimary) };
    let (primary_scope, secondary_project) = push_keys(t, create);
    let issue_types = t.string_map("issue_types");
    let on_delete = t.choice("on_delete", OnDelete::Sever);
    let on_scope_exit = t.choice("on_scope_exit", ScopeExit::AsDeleted);
    let conflict = t.choice("conflict", ConflictPolicy::PrimaryWins);
    let read_target = t.choice("read_target", ReadTarget::Auto);
    let fields = fields(t);
    let status = status(&t.table("status"));
    let links = links(&t.table("links"));
    let hierarchy = hierarchy(&t.table("hierarchy"));
    let create = create.unwrap_or(CreatePolicy::ToPrimary);
    let flow = FlowConfig {
        name: FlowName::new(name?),
        secondary: InstanceId::new(secondary?),
        scope: scope?,
        primary_project: primary_project?,
        create,
        primary_scope,
        secondary_project,
        issue_types,
        on_delete,
        on_scope_exit,
        conflict,
        read_target,
        fields,
        status,
        links,
        hierarchy,
    };
    Some(flow)
}

/// `primary_scope` and `secondary_project` say which primary issues are
/// pushed and where: required when `create` pushes, refused when it does
/// not (they would do nothing). Both are `Some` only when `create` pushes.
fn push_keys(t: &Table, create: Option<CreatePolicy>) -> (Option<String>, Option<String>) {
    const KEYS: [(&str, &str); 2] = [
        ("primary_scope", "a JQL query selecting the primary's issues to push"),
        ("secondary_project", "the key of the secondary project where pushed issues are created"),
    ];
    let [scope, project] = KEYS.map(|(key, expected)| match create {
        Some(c) if c.pushes() => {
            if !t.contains(key) {
                t.get(key);
                t.problem(
                    key,
                    format!(
                        "missing; create = {:?} pushes issues created on the primary to the secondary, so it needs {expected}",
                        c.config_name()
                    ),
                );
                return None;
            }
            t.required_string(key, expected)
        }
        Some(c) => {
            if t.contains(key) {
                t.get(key);
                t.problem(
                    key,
                    format!(
                        "has no effect with create = {:?}, which pushes nothing from the primary; remove it, or set create = \"to_secondary\" or \"both\"",
                        c.config_name()
                    ),
                );
            }
            None
        }
        None => t.string(key),
    });
    (scope, project)
}

fn fields(t: &Table) -> Vec<FieldMapping> {
    let mut out: Vec<FieldMapping> = Vec::new();
    let mut primaries = BTreeSet::new();
    let mut secondaries = BTreeSet::new();
    for f in t.array_of_tables("fields") {
        let secondary = f.required_string("secondary", "a field id or name on the secondary");
        let primary = f.required_string("primary", "a field id or name on the primary");
        let direction = f.choice("direction", Direction::ToPrimary);
        let values = f.string_map("values");
        if let Some(p) = &primary {
            if !primaries.insert(p.to_lowercase()) {
                f.problem("primary", format!("field {p:?} is already mapped in this flow; map each field once"));
            }
        }
        if let Some(s) = &secondary {
            if !secondaries.insert(s.to_lowercase()) {
                f.problem("secondary", format!("field {s:?} is already mapped in this flow; map each field once"));
            }
        }
        if direction.to_secondary() {
            check_reversible(&f, &values);
        }
        if let (Some(secondary), Some(primary)) = (secondary, primary) {
            out.push(FieldMapping { secondary, primary, direction, values });
        }
        f.finish();
    }
    out
}

/// A value map used towards the secondary is read backwards, so two
/// secondary values may not share one primary value.
fn check_reversible(f: &Table, values: &BTreeMap<String, String>) {
    let mut seen: BTreeMap<&str, &str> = BTreeMap::new();
    for (from, to) in values {
        if let Some(first) = seen.insert(to.as_str(), from.as_str()) {
            f.problem(
                "values",
                format!(
                    "{first:?} and {from:?} both map to {to:?}, so the way back to the secondary is ambiguous; use direction = \"to_primary\" or make the map one-to-one"
                ),
            );
        }
    }
}

fn status(t: &Table) -> StatusMap {
    let map = StatusMap { to_primary: t.string_map("to_primary"), to_secondary: t.string_map("to_secondary") };
    t.finish();
    map
}

fn links(t: &Table) -> LinkMap {
    let map = LinkMap {
        types: t.string_map("types"),
        direction: relation_direction(
            t,
            "links made on the secondary always reach the primary; with \"both\", links made on the primary between two mirrors of this flow go back to the secondary too",
        ),
        across_instances: t.choice("across_instances", AcrossInstances::RemoteLink),
    };
    t.finish();
    map
}

fn hierarchy(t: &Table) -> Hierarchy {
    let h = Hierarchy {
        parent: t.bool("parent", false),
        direction: relation_direction(
            t,
            "a parent set on the secondary always reaches the primary; with \"both\", re-parenting on the primary goes back to the secondary too",
        ),
    };
    t.finish();
    h
}

/// `direction` of `[flows.links]` or `[flows.hierarchy]`. `to_secondary`,
/// valid for a field, is refused here with `why`.
fn relation_direction(t: &Table, why: &str) -> RelationDirection {
    if let Some(Value::String(_, s)) = t.get("direction") {
        if s == "to_secondary" {
            t.problem(
                "direction",
                format!("invalid value \"to_secondary\"; expected one of: to_primary, both ({why})"),
            );
            return RelationDirection::ToPrimary;
        }
    }
    t.choice("direction", RelationDirection::ToPrimary)
}
