//! The pure rules of what a flow needs of its sites beyond fields: the
//! statuses its status maps name (on the site, and in the workflows of
//! the issue types it carries) and the technical user's permissions in
//! each project it reads or writes. Kept apart from the calls, as
//! [`super::findings`] is, so that each rule is tested without a site.

use std::collections::BTreeMap;

use super::findings::Finding;
use crate::config::{CreatePolicy, FlowConfig, OnDelete};
use crate::jira::model::{IssueTypeStatuses, StatusRef};

/// Where a project sits in a flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// `primary_project`, where mirrors live.
    Primary,
    /// A project of the secondary's scope.
    Scope,
    /// `secondary_project`, where a pushing flow creates issues.
    Push,
}

/// One permission a flow may need, where, what for, and when.
struct Need {
    permission: &'static str,
    places: &'static [Place],
    /// Completes "needed ...".
    feature: &'static str,
    applies: fn(&FlowConfig) -> bool,
}

const SECONDARY: &[Place] = &[Place::Scope, Place::Push];

/// Every permission a flow can need. A flow carrying comments or
/// attachments (none does yet) adds its row here: `ADD_COMMENTS`,
/// `CREATE_ATTACHMENTS`.
const NEEDS: &[Need] = &[
    Need {
        permission: "BROWSE_PROJECTS",
        places: &[Place::Primary],
        feature: "to find and read mirrors",
        applies: |_| true,
    },
    Need {
        permission: "BROWSE_PROJECTS",
        places: &[Place::Scope],
        feature: "to read the issues in scope",
        applies: |_| true,
    },
    Need { permission: "BROWSE_PROJECTS", places: &[Place::Push], feature: "to read pushed issues", applies: |_| true },
    Need {
        permission: "CREATE_ISSUES",
        places: &[Place::Primary],
        feature: "to create mirrors",
        applies: |f| matches!(f.create, CreatePolicy::ToPrimary | CreatePolicy::Both),
    },
    Need { permission: "CREATE_ISSUES", places: &[Place::Push], feature: "to create pushed issues", applies: |_| true },
    Need { permission: "EDIT_ISSUES", places: &[Place::Primary], feature: "to update mirrors", applies: |_| true },
    Need {
        permission: "EDIT_ISSUES",
        places: SECONDARY,
        feature: "to write fields back to the secondary",
        applies: |f| f.create.pushes() || f.fields.iter().any(|m| m.direction.to_secondary()),
    },
    Need {
        permission: "TRANSITION_ISSUES",
        places: &[Place::Primary],
        feature: "to move mirrors to the mapped status (status.to_primary)",
        applies: |f| !f.status.to_primary.is_empty(),
    },
    Need {
        permission: "TRANSITION_ISSUES",
        places: SECONDARY,
        feature: "to move issues to the mapped status (status.to_secondary)",
        applies: |f| !f.status.to_secondary.is_empty(),
    },
    Need {
        permission: "LINK_ISSUES",
        places: &[Place::Primary],
        feature: "to carry dependencies (links.types)",
        applies: |f| !f.links.types.is_empty(),
    },
    Need {
        permission: "LINK_ISSUES",
        places: SECONDARY,
        feature: "to carry dependencies back (links.direction = \"both\")",
        applies: |f| !f.links.types.is_empty() && f.links.direction.to_secondary(),
    },
    Need {
        permission: "DELETE_ISSUES",
        places: &[Place::Primary],
        feature: "to delete mirrors (on_delete = \"delete_mirror\")",
        applies: |f| f.on_delete == OnDelete::DeleteMirror,
    },
];

/// What `flow` needs in a project that sits at `places` in it:
/// permission key -> what for, each once, in the order of [`NEEDS`].
pub fn needed(flow: &FlowConfig, places: &[Place]) -> Vec<(&'static str, Vec<&'static str>)> {
    let mut out: Vec<(&'static str, Vec<&'static str>)> = Vec::new();
    for need in NEEDS.iter().filter(|n| n.places.iter().any(|p| places.contains(p)) && (n.applies)(flow)) {
        match out.iter_mut().find(|(p, _)| *p == need.permission) {
            Some((_, features)) => features.push(need.feature),
            None => out.push((need.permission, vec![need.feature])),
        }
    }
    out
}

/// Each of `needs` that `held` (the site's answer) does not grant: an
/// error naming the user, the site, the project, the permission and what
/// needs it.
pub fn missing_permissions(
    flow: &str,
    user: &str,
    (site, project): (&str, &str),
    needs: &[(&str, Vec<&str>)],
    held: &BTreeMap<String, bool>,
) -> Vec<Finding> {
    needs
        .iter()
        .filter(|(permission, _)| !held.get(*permission).copied().unwrap_or(false))
        .map(|(permission, features)| {
            Finding::error(format!(
                "flow {flow}: {user} lacks {permission} on {site} project {project}: needed {}",
                features.join("; ")
            ))
        })
        .collect()
}

/// One status a flow's status map names on one side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedStatus {
    pub status: String,
    /// The map entry: `status.to_primary "Done" = "Finished"`.
    pub entry: String,
}

/// The statuses `flow`'s maps name on the secondary and on the primary:
/// `to_primary` maps a secondary status to a primary one, `to_secondary`
/// the other way.
pub fn named_statuses(flow: &FlowConfig) -> (Vec<NamedStatus>, Vec<NamedStatus>) {
    let (mut secondary, mut primary) = (Vec::new(), Vec::new());
    let add = |map: &str, from: &str, to: &str, from_side: &mut Vec<NamedStatus>, to_side: &mut Vec<NamedStatus>| {
        let entry = format!("status.{map} {from:?} = {to:?}");
        from_side.push(NamedStatus { status: from.to_string(), entry: entry.clone() });
        to_side.push(NamedStatus { status: to.to_string(), entry });
    };
    for (from, to) in &flow.status.to_primary {
        add("to_primary", from, to, &mut secondary, &mut primary);
    }
    for (from, to) in &flow.status.to_secondary {
        add("to_secondary", from, to, &mut primary, &mut secondary);
    }
    (secondary, primary)
}

/// Names as a list for a message ("none" when empty).
fn listed<'a>(names: impl IntoIterator<Item = &'a str>) -> String {
    let list: Vec<&str> = names.into_iter().collect();
    if list.is_empty() { "none".to_string() } else { list.join(", ") }
}

/// Each of `named` that is not among `statuses`, the site's own: an error
/// naming the flow, the map entry, the site and the statuses it has.
pub fn missing_statuses(flow: &str, site: &str, named: &[NamedStatus], statuses: &[StatusRef]) -> Vec<Finding> {
    named
        .iter()
        .filter(|n| !statuses.iter().any(|s| s.name.eq_ignore_ascii_case(&n.status)))
        .map(|n| {
            Finding::error(format!(
                "flow {flow}: status {:?} of {} does not exist on {site}; it has {}",
                n.status,
                n.entry,
                listed(statuses.iter().map(|s| s.name.as_str()))
            ))
        })
        .collect()
}

/// Each of `named` that exists on the site (is among `statuses`) but that
/// the workflows of `project` do not hold: with `types` (the issue types
/// the flow maps on this side), an error per type of the project whose
/// workflow lacks it; without, an error when no type's workflow has it.
/// A mapped type the project does not offer is left to the other checks.
pub fn unreachable_statuses(
    flow: &str,
    (site, project): (&str, &str),
    named: &[NamedStatus],
    statuses: &[StatusRef],
    workflows: &[IssueTypeStatuses],
    types: &[&str],
) -> Vec<Finding> {
    let holds = |w: &IssueTypeStatuses, name: &str| w.statuses.iter().any(|s| s.name.eq_ignore_ascii_case(name));
    let mut out = Vec::new();
    for n in named.iter().filter(|n| statuses.iter().any(|s| s.name.eq_ignore_ascii_case(&n.status))) {
        if types.is_empty() {
            if !workflows.iter().any(|w| holds(w, &n.status)) {
                out.push(Finding::error(format!(
                    "flow {flow}: status {:?} of {} is in the workflow of no issue type of project {project} on {site}",
                    n.status, n.entry
                )));
            }
            continue;
        }
        let mapped = workflows.iter().filter(|w| types.iter().any(|t| t.eq_ignore_ascii_case(&w.issue_type)));
        for w in mapped.filter(|w| !holds(w, &n.status)) {
            out.push(Finding::error(format!(
                "flow {flow}: status {:?} of {} is not in the workflow of issue type {} in project {project} on {site}; it has {}",
                n.status,
                n.entry,
                w.issue_type,
                listed(w.statuses.iter().map(|s| s.name.as_str()))
            )));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Direction, FieldMapping};
    use crate::jira::model::StatusRef;

    /// The demo's first flow, as the config reads it.
    fn flow() -> FlowConfig {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = crate::harness::write_config(dir.path()).expect("demo config");
        let cfg = crate::config::load_with(&path, &[], &crate::config::ProcessEnv).expect("demo config loads");
        cfg.flows[0].clone()
    }

    fn status(name: &str) -> StatusRef {
        StatusRef { id: None, name: name.into(), category: None }
    }

    fn statuses(names: &[&str]) -> Vec<StatusRef> {
        names.iter().map(|n| status(n)).collect()
    }

    fn texts(found: &[Finding]) -> Vec<String> {
        found.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn a_flow_needs_what_its_features_use_and_no_more() {
        let mut f = flow();
        f.fields.retain(|m| !m.direction.to_secondary());
        f.status.to_secondary.clear();
        f.links.types.clear();
        let keys =
            |needs: Vec<(&'static str, Vec<&'static str>)>| needs.into_iter().map(|(p, _)| p).collect::<Vec<_>>();
        assert_eq!(
            keys(needed(&f, &[Place::Primary])),
            ["BROWSE_PROJECTS", "CREATE_ISSUES", "EDIT_ISSUES", "TRANSITION_ISSUES"]
        );
        assert_eq!(keys(needed(&f, &[Place::Scope])), ["BROWSE_PROJECTS"]);
        f.create = CreatePolicy::Both;
        f.on_delete = OnDelete::DeleteMirror;
        f.links.types.insert("Blocks".into(), "Dependency".into());
        f.fields.push(FieldMapping {
            secondary: "summary".into(),
            primary: "summary".into(),
            direction: Direction::Both,
            values: BTreeMap::new(),
        });
        assert_eq!(
            keys(needed(&f, &[Place::Primary])),
            ["BROWSE_PROJECTS", "CREATE_ISSUES", "EDIT_ISSUES", "TRANSITION_ISSUES", "LINK_ISSUES", "DELETE_ISSUES"]
        );
        // A project both in scope and pushed to needs the union, each once.
        let both = needed(&f, &[Place::Scope, Place::Push]);
        assert_eq!(keys(both.clone()), ["BROWSE_PROJECTS", "CREATE_ISSUES", "EDIT_ISSUES"]);
        assert_eq!(both[0].1, ["to read the issues in scope", "to read pushed issues"]);
    }

    #[test]
    fn a_missing_permission_names_user_site_project_and_feature() {
        let needs =
            vec![("BROWSE_PROJECTS", vec!["to find and read mirrors"]), ("EDIT_ISSUES", vec!["to update mirrors"])];
        let held: BTreeMap<String, bool> =
            [("BROWSE_PROJECTS".to_string(), true), ("EDIT_ISSUES".to_string(), false)].into();
        assert_eq!(
            texts(&missing_permissions("emea-delivery", "sync-bot", ("hub", "PORT"), &needs, &held)),
            ["error: flow emea-delivery: sync-bot lacks EDIT_ISSUES on hub project PORT: needed to update mirrors"]
        );
        // A key the site did not answer for is not held.
        let found = missing_permissions("f", "u", ("hub", "PORT"), &needs, &BTreeMap::new());
        assert_eq!(found.len(), 2);
    }

    #[test]
    fn statuses_are_named_on_the_side_each_map_entry_puts_them() {
        let mut f = flow();
        f.status.to_primary = [("Done".to_string(), "Finished".to_string())].into();
        f.status.to_secondary = [("Closed".to_string(), "Done".to_string())].into();
        let (secondary, primary) = named_statuses(&f);
        let names = |list: &[NamedStatus]| list.iter().map(|n| n.status.clone()).collect::<Vec<_>>();
        assert_eq!(names(&secondary), ["Done", "Done"]);
        assert_eq!(names(&primary), ["Finished", "Closed"]);
        assert_eq!(primary[0].entry, "status.to_primary \"Done\" = \"Finished\"");
        let found = missing_statuses("f", "hub", &primary, &statuses(&["To Do", "done", "closed"]));
        assert_eq!(
            texts(&found),
            [
                "error: flow f: status \"Finished\" of status.to_primary \"Done\" = \"Finished\" does not exist on hub; it has To Do, done, closed"
            ]
        );
    }

    #[test]
    fn a_status_outside_the_mapped_types_workflows_is_named_with_the_type() {
        let named = vec![
            NamedStatus { status: "Blocked".into(), entry: "status.to_primary \"Blocked\" = \"Blocked\"".into() },
            NamedStatus { status: "Gone".into(), entry: "status.to_primary \"X\" = \"Gone\"".into() },
        ];
        let site = statuses(&["To Do", "Blocked", "Done"]);
        let workflows = vec![
            IssueTypeStatuses { issue_type: "Story".into(), subtask: false, statuses: statuses(&["To Do", "Blocked"]) },
            IssueTypeStatuses { issue_type: "Epic".into(), subtask: false, statuses: statuses(&["To Do", "Done"]) },
        ];
        let at = ("hub", "PORT");
        assert!(unreachable_statuses("f", at, &named, &site, &workflows, &["story", "Bug"]).is_empty());
        assert_eq!(
            texts(&unreachable_statuses("f", at, &named, &site, &workflows, &["Story", "Epic"])),
            [
                "error: flow f: status \"Blocked\" of status.to_primary \"Blocked\" = \"Blocked\" is not in the workflow of issue type Epic in project PORT on hub; it has To Do, Done"
            ]
        );
        assert!(unreachable_statuses("f", at, &named, &site, &workflows, &[]).is_empty());
        assert_eq!(
            texts(&unreachable_statuses("f", at, &named, &site, &workflows[1..], &[])),
            [
                "error: flow f: status \"Blocked\" of status.to_primary \"Blocked\" = \"Blocked\" is in the workflow of no issue type of project PORT on hub"
            ]
        );
    }
}
