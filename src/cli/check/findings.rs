//! What the online `check` finds, one line each, and the pure rules that
//! turn what the sites answered into findings: kept apart from the calls
//! so that each rule is tested without a site.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use crate::config::Flavour;
use crate::ids::IssueKey;
use crate::jira::fields::FieldCatalogue;
use crate::jira::model::{Issue, LinkType, Project};

/// Issue keys an overlap names at most.
const KEYS_SHOWN: usize = 5;

/// How much a finding matters: only errors fail `check`. Reports list
/// the graver first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// The flow cannot work as configured.
    Error,
    /// It works, but something will not travel as one may expect.
    Warning,
    /// Worth knowing; nothing to fix.
    Info,
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Level::Error => "error",
            Level::Warning => "warning",
            Level::Info => "info",
        })
    }
}

/// One line of the online report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub level: Level,
    /// Names the flow (or the two flows), the site and the thing.
    pub text: String,
}

impl Finding {
    pub fn error(text: impl Into<String>) -> Finding {
        Finding { level: Level::Error, text: text.into() }
    }

    pub fn warning(text: impl Into<String>) -> Finding {
        Finding { level: Level::Warning, text: text.into() }
    }

    pub fn info(text: impl Into<String>) -> Finding {
        Finding { level: Level::Info, text: text.into() }
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.level, self.text)
    }
}

/// Each of the `wanted` link type names (once, any case) that `types`, the
/// link types of the `side` ("secondary" or "primary") `site`, lacks: an
/// error naming the side and the types the site has.
pub fn missing_link_types<'a>(
    flow: &str,
    side: &str,
    site: &str,
    wanted: impl IntoIterator<Item = &'a String>,
    types: &[LinkType],
) -> Vec<Finding> {
    let known: Vec<&str> = types.iter().map(|t| t.name.as_str()).collect();
    let has = if known.is_empty() { "none".to_string() } else { known.join(", ") };
    let mut seen = BTreeSet::new();
    wanted
        .into_iter()
        .filter(|n| seen.insert(n.to_lowercase()))
        .filter(|n| !types.iter().any(|t| t.name.eq_ignore_ascii_case(n)))
        .map(|n| {
            Finding::error(format!("flow {flow}: link type {n:?} does not exist on the {side} ({site}); it has {has}"))
        })
        .collect()
}

/// With parents carried: Data Center keeps a story's epic in Jira
/// Software's Epic Link field, found by its type; Cloud uses `parent`,
/// which every site has, so a Cloud site gives no finding.
pub fn epic_link(flow: &str, site: &str, flavour: Flavour, catalogue: &FieldCatalogue) -> Option<Finding> {
    if flavour != Flavour::DataCenter {
        return None;
    }
    Some(match catalogue.epic_link() {
        Some(f) => Finding::info(format!(
            "flow {flow}: hierarchy.parent uses the Epic Link field {} on {site}",
            catalogue.describe(&f.id)
        )),
        None => Finding::error(format!(
            "flow {flow}: hierarchy.parent needs the Epic Link field on {site} (Data Center keeps a story's epic there); none found"
        )),
    })
}

/// Whether each issue type `projects` offer is a sub-task type, by name in
/// lower case (issue types are site-wide objects, so projects agree).
pub fn type_kinds<'a>(projects: impl IntoIterator<Item = &'a Project>) -> BTreeMap<String, bool> {
    let mut kinds = BTreeMap::new();
    for p in projects {
        for t in &p.issue_types {
            let subtask = p.subtask_types.iter().any(|s| s.eq_ignore_ascii_case(t));
            kinds.insert(t.to_lowercase(), subtask);
        }
    }
    kinds
}

/// Each mapped issue type pair (secondary type -> primary type) whose two
/// types are of different levels: a sub-task's mirror must be a sub-task
/// to hold the mirror of its parent, and a sub-task cannot mirror an issue
/// that has no such parent. A type of unknown kind (`kinds` lack it) gives
/// no finding: it is left to run time.
pub fn subtask_mismatches(
    flow: &str,
    (secondary, secondary_kinds): (&str, &BTreeMap<String, bool>),
    (primary, primary_kinds): (&str, &BTreeMap<String, bool>),
    pairs: &BTreeMap<String, String>,
) -> Vec<Finding> {
    let kind = |kinds: &BTreeMap<String, bool>, name: &str| kinds.get(&name.to_lowercase()).copied();
    let mut out = Vec::new();
    for (s, p) in pairs {
        let text = match (kind(secondary_kinds, s), kind(primary_kinds, p)) {
            (Some(true), Some(false)) => format!(
                "flow {flow}: issue type {s:?} is a sub-task type on {secondary} but maps to {p:?}, a standard type on {primary}; the mirror of a sub-task could not have its parent"
            ),
            (Some(false), Some(true)) => format!(
                "flow {flow}: issue type {s:?} is a standard type on {secondary} but maps to {p:?}, a sub-task type on {primary}; a sub-task mirror needs a parent its standard source does not have"
            ),
            _ => continue,
        };
        out.push(Finding::error(text));
    }
    out
}

/// The link types used on `issues` that `mapped` (the flow's
/// `links.types`, secondary name -> primary name, names in any case)
/// lacks, once each, in the order first seen.
pub fn unmapped_link_types<'a>(issues: &'a [Issue], mapped: &BTreeMap<String, String>) -> Vec<&'a str> {
    let mut out: Vec<&str> = Vec::new();
    for link in issues.iter().flat_map(|i| &i.links) {
        let name = link.link_type.name.as_str();
        let known = mapped.keys().any(|m| m.eq_ignore_ascii_case(name));
        if !known && !out.iter().any(|o| o.eq_ignore_ascii_case(name)) {
            out.push(name);
        }
    }
    out
}

/// Every two pushing flows whose `primary_scope`s found common issues on
/// the primary `site`, given each flow with the keys its scope found: a
/// warning naming both flows and up to [`KEYS_SHOWN`] keys.
pub fn overlaps(site: &str, found: &[(&str, Vec<IssueKey>)]) -> Vec<Finding> {
    let mut out = Vec::new();
    for (i, (a, a_keys)) in found.iter().enumerate() {
        let a_set: BTreeSet<&IssueKey> = a_keys.iter().collect();
        for (b, b_keys) in &found[i + 1..] {
            let common: Vec<&str> = b_keys.iter().filter(|k| a_set.contains(k)).map(IssueKey::as_str).collect();
            if common.is_empty() {
                continue;
            }
            let more = common.len().saturating_sub(KEYS_SHOWN);
            let more = if more > 0 { format!(" and {more} more") } else { String::new() };
            out.push(Finding::warning(format!(
                "flows {a} and {b}: both primary_scopes match {}{more} on {site}; an issue both match would be mirrored by neither",
                common[..common.len().min(KEYS_SHOWN)].join(", ")
            )));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::IssueId;
    use crate::jira::model::{FieldInfo, FieldSchema, IssueLink, IssueRef, LinkDirection};

    fn link_type(name: &str) -> LinkType {
        LinkType { id: name.len().to_string(), name: name.into(), inward: String::new(), outward: String::new() }
    }

    fn strings(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_missing_link_type_names_its_side_and_what_the_site_has() {
        let types = [link_type("Blocks"), link_type("Relates")];
        let wanted = strings(&["blocks", "Depends", "depends", "Clones"]);
        let found = missing_link_types("f", "secondary", "emea", &wanted, &types);
        let texts: Vec<String> = found.iter().map(ToString::to_string).collect();
        assert_eq!(
            texts,
            [
                "error: flow f: link type \"Depends\" does not exist on the secondary (emea); it has Blocks, Relates",
                "error: flow f: link type \"Clones\" does not exist on the secondary (emea); it has Blocks, Relates",
            ]
        );
        let none = missing_link_types("f", "primary", "hub", &strings(&["Blocks"]), &[]);
        assert!(none[0].text.ends_with("on the primary (hub); it has none"), "{none:?}");
    }

    #[test]
    fn only_a_data_center_side_needs_the_epic_link() {
        let epic = FieldInfo {
            id: "customfield_10100".into(),
            name: "Epic Link".into(),
            custom: true,
            schema: Some(FieldSchema {
                kind: "any".into(),
                custom: Some(crate::jira::fields::EPIC_LINK_TYPE.into()),
                ..FieldSchema::default()
            }),
        };
        let with = FieldCatalogue::new("apac", vec![epic]);
        let without = FieldCatalogue::new("apac", vec![]);
        assert_eq!(epic_link("f", "emea", Flavour::Cloud, &without), None);
        assert_eq!(
            epic_link("f", "apac", Flavour::DataCenter, &with),
            Some(Finding::info(
                "flow f: hierarchy.parent uses the Epic Link field customfield_10100 'Epic Link' on apac"
            ))
        );
        assert_eq!(
            epic_link("f", "apac", Flavour::DataCenter, &without),
            Some(Finding::error(
                "flow f: hierarchy.parent needs the Epic Link field on apac (Data Center keeps a story's epic there); none found"
            ))
        );
    }

    fn project(types: &[&str], subtasks: &[&str]) -> Project {
        Project {
            id: "1".into(),
            key: "P".into(),
            name: "P".into(),
            issue_types: strings(types),
            subtask_types: strings(subtasks),
            components: vec![],
            versions: vec![],
        }
    }

    #[test]
    fn issue_types_of_different_levels_cannot_map() {
        let s = type_kinds([&project(&["Story", "Sub-task", "Bug"], &["Sub-task"])]);
        let p = type_kinds([&project(&["Story", "Subtask", "Defect"], &["Subtask"])]);
        let pairs: BTreeMap<String, String> = [
            ("Sub-task", "Subtask"),
            ("sub-task", "Story"),
            ("Story", "subtask"),
            ("Bug", "Defect"),
            ("Unknown", "Subtask"),
            ("Sub-task", "Unknown"),
        ]
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
        let found = subtask_mismatches("f", ("emea", &s), ("hub", &p), &pairs);
        let texts: Vec<&str> = found.iter().map(|f| f.text.as_str()).collect();
        assert_eq!(
            texts,
            [
                "flow f: issue type \"Story\" is a standard type on emea but maps to \"subtask\", a sub-task type on hub; a sub-task mirror needs a parent its standard source does not have",
                "flow f: issue type \"sub-task\" is a sub-task type on emea but maps to \"Story\", a standard type on hub; the mirror of a sub-task could not have its parent",
            ]
        );
        assert!(found.iter().all(|f| f.level == Level::Error));
    }

    fn issue(key: &str, links: &[&str]) -> Issue {
        let mut i = Issue {
            id: IssueId::new(key),
            key: IssueKey::new(key),
            project: None,
            issuetype: None,
            status: None,
            created: None,
            updated: None,
            parent: None,
            links: vec![],
            labels: vec![],
            fields: BTreeMap::new(),
        };
        i.links = links
            .iter()
            .map(|t| IssueLink {
                id: format!("{key}-{t}"),
                link_type: link_type(t),
                direction: LinkDirection::Outward,
                other: IssueRef { id: IssueId::new("9"), key: IssueKey::new("X-9") },
                other_summary: None,
            })
            .collect();
        i
    }

    #[test]
    fn unmapped_link_types_are_named_once_each_in_order_seen() {
        let mapped: BTreeMap<String, String> = [("blocks".to_string(), "Dependency".to_string())].into();
        let issues = [issue("E-1", &["Relates", "Blocks"]), issue("E-2", &["Cloners", "relates"]), issue("E-3", &[])];
        assert_eq!(unmapped_link_types(&issues, &mapped), ["Relates", "Cloners"]);
        assert!(unmapped_link_types(&issues[2..], &mapped).is_empty());
    }

    #[test]
    fn overlapping_primary_scopes_are_named_with_five_keys_at_most() {
        let keys = |range: std::ops::RangeInclusive<u32>| range.map(|n| IssueKey::new(format!("PORT-{n}"))).collect();
        let found = [("a", keys(1..=10)), ("b", keys(3..=9)), ("c", keys(20..=21)), ("d", keys(21..=21))];
        let texts: Vec<String> = overlaps("hub", &found).iter().map(ToString::to_string).collect();
        assert_eq!(
            texts,
            [
                "warning: flows a and b: both primary_scopes match PORT-3, PORT-4, PORT-5, PORT-6, PORT-7 and 2 more on hub; an issue both match would be mirrored by neither",
                "warning: flows c and d: both primary_scopes match PORT-21 on hub; an issue both match would be mirrored by neither",
            ]
        );
        assert!(overlaps("hub", &found[..1]).is_empty());
    }
}
