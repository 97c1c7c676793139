//! `jirafed check` against the live sites, connected as the daemon
//! connects: per flow, fields resolved and on the create screen, scopes
//! run, link types present, what carrying parents needs, the link types in
//! use that the flow does not map; across flows, pushing scopes that
//! overlap. Every finding is reported, not only the first.
//!
//! It stays cheap: besides what connecting reads (myself, fields, link
//! types), a flow costs one page of its scope, one of its `primary_scope`
//! when it pushes, the primary project's create screen and, with parents
//! carried, a few projects' issue types. Nothing is read per issue.

use std::fmt::Write as _;

use super::findings::{self, Finding, Level};
use crate::config::{Config, FlowConfig};
use crate::ids::IssueKey;
use crate::jira::Site;
use crate::jira::fields::FieldCatalogue;
use crate::jira::model::{Issue, LinkType, Project};
use crate::sync::fields;
use crate::sync::sites::Sites;

/// Issues of a flow's scope read (one page) for the link types in use and
/// the projects whose issue types are checked.
const SCOPE_SAMPLE: usize = 50;
/// Issue keys of a pushing flow's `primary_scope` read (one page) to find
/// overlaps with other flows; an overlap beyond it is not seen.
const PRIMARY_SCOPE_SAMPLE: usize = 100;
/// Projects of the scope's page read for their issue types, at most.
const SCOPE_PROJECTS: usize = 3;

/// One side of a flow, as connected.
struct Side<'a> {
    site: &'a dyn Site,
    catalogue: &'a FieldCatalogue,
    link_types: &'a [LinkType],
}

/// What checking one flow found.
struct FlowReport {
    findings: Vec<Finding>,
    /// The keys a pushing flow's `primary_scope` found (its first page).
    pushed: Option<Vec<IssueKey>>,
}

/// Checks the sites; returns the report lines and whether all passed.
pub async fn check_sites(cfg: &Config) -> (String, bool) {
    let mut out = String::from("sites:\n");
    let sites = Sites::connect(cfg).await;
    let mut ok = true;
    for (id, entry) in sites.entries() {
        match &entry.connection {
            Ok(c) => {
                let who = c.me.user.display_name.clone().or(c.me.user.email.clone()).unwrap_or_default();
                let tz = c.me.time_zone.clone().unwrap_or_else(|| "?".into());
                let _ = writeln!(out, "  {id}: reachable, authenticated as {who} (time zone {tz})");
            }
            Err(e) => {
                ok = false;
                let _ = writeln!(out, "  error: {id}: {e}");
            }
        }
    }
    webhook_registrations(cfg, &sites, &mut out).await;
    let primary = cfg.primary().id.as_str();
    let mut pushed: Vec<(&str, Vec<IssueKey>)> = Vec::new();
    for flow in &cfg.flows {
        let (Some(s), Some(p)) = (side(&sites, flow.secondary.as_str()), side(&sites, primary)) else { continue };
        let mut report = check_flow(flow, &s, &p).await;
        report.findings.sort_by_key(|f| f.level);
        let errors = report.findings.iter().any(|f| f.level == Level::Error);
        if !errors {
            let _ =
                writeln!(out, "  flow {}: {} field(s) resolved, scope and project OK", flow.name, flow.fields.len());
        }
        ok &= !errors;
        for f in &report.findings {
            let _ = writeln!(out, "  {f}");
        }
        pushed.extend(report.pushed.map(|keys| (flow.name.as_str(), keys)));
    }
    for f in findings::overlaps(primary, &pushed) {
        let _ = writeln!(out, "  {f}");
    }
    (out, ok)
}

/// Each reachable site's webhook registration against what `jirafed
/// webhooks install` makes: a warning when missing or stale (the daemon
/// still polls, only slower to see changes).
async fn webhook_registrations(cfg: &Config, sites: &Sites, out: &mut String) {
    if cfg.daemon.public_url.is_none() {
        let _ = writeln!(out, "  webhooks: registrations not checked (daemon.public_url is not set)");
        return;
    }
    for (id, entry) in sites.entries() {
        if entry.connection.is_err() {
            continue;
        }
        let Some(inst) = cfg.instance(id.as_str()) else { continue };
        let (line, current) = crate::cli::webhooks::check_instance(cfg, inst).await;
        let finding =
            if current { Finding::info(format!("{id}: {line}")) } else { Finding::warning(format!("{id}: {line}")) };
        let _ = writeln!(out, "  {finding}");
    }
}

/// The side of `id`, when it connected.
fn side<'a>(sites: &'a Sites, id: &str) -> Option<Side<'a>> {
    Some(Side { site: sites.get(id)?.as_ref(), catalogue: sites.catalogue(id)?, link_types: sites.link_types(id)? })
}

async fn check_flow(flow: &FlowConfig, s: &Side<'_>, p: &Side<'_>) -> FlowReport {
    let name = flow.name.as_str();
    let error = |text: String| Finding::error(format!("flow {name}: {text}"));
    let mut out = Vec::new();
    let resolved = match fields::resolve(flow, s.catalogue, p.catalogue) {
        Ok(r) => r,
        Err(list) => {
            out.extend(list.into_iter().map(error));
            vec![]
        }
    };
    let sample = match scope_sample(flow, s.site).await {
        Ok(issues) => issues,
        Err(e) => {
            out.push(error(format!("scope {:?} is refused by {}: {e}", flow.scope, flow.secondary)));
            vec![]
        }
    };
    // A flow that maps no link type carries none, as it says; one that
    // maps some may not expect the others to stay behind.
    let in_use =
        if flow.links.types.is_empty() { vec![] } else { findings::unmapped_link_types(&sample, &flow.links.types) };
    for t in in_use {
        out.push(Finding::warning(format!(
            "flow {name}: link type {t:?} is used on {} but not mapped; such links are not carried",
            flow.secondary
        )));
    }
    let mut pushed = None;
    if let Some(scope) = &flow.primary_scope {
        let jql = format!("({scope}) ORDER BY key");
        match p.site.search_page(&jql, &["key"], PRIMARY_SCOPE_SAMPLE, None).await {
            Ok(page) => pushed = Some(page.issues.into_iter().map(|i| i.key).collect()),
            Err(e) => out.push(error(format!("primary_scope {scope:?} is refused by {}: {e}", p.site.id()))),
        }
    }
    let issue_type = default_type(flow);
    match p.site.create_meta(&flow.primary_project, &issue_type).await {
        Ok(meta) => {
            for f in resolved.iter().filter(|f| f.direction.to_primary()) {
                if !meta.iter().any(|m| m.id == f.primary.id) && !matches!(f.primary.id.as_str(), "status") {
                    out.push(error(format!(
                        "{} '{}' is not on the create screen of {} {issue_type}",
                        f.primary.id, f.primary.name, flow.primary_project
                    )));
                }
            }
        }
        Err(e) => out.push(error(format!("primary project {}: {e}", flow.primary_project))),
    }
    let (s_id, p_id) = (s.site.id().as_str(), p.site.id().as_str());
    out.extend(findings::missing_link_types(name, "secondary", s_id, flow.links.types.keys(), s.link_types));
    out.extend(findings::missing_link_types(name, "primary", p_id, flow.links.types.values(), p.link_types));
    if flow.hierarchy.parent {
        out.extend(hierarchy(flow, s, p, &sample).await);
    }
    FlowReport { findings: out, pushed }
}

/// The first page of the flow's scope, with the issues' projects and, when
/// the flow maps link types, their links. Its error is the scope's.
async fn scope_sample(flow: &FlowConfig, site: &dyn Site) -> Result<Vec<Issue>, crate::jira::JiraError> {
    let jql = format!("({}) ORDER BY key", flow.scope);
    let mut wanted = vec!["key", "project"];
    if !flow.links.types.is_empty() {
        wanted.push("issuelinks");
    }
    Ok(site.search_page(&jql, &wanted, SCOPE_SAMPLE, None).await?.issues)
}

/// What carrying parents needs: the Epic Link field on a Data Center side,
/// and mapped issue types of the same level (sub-task or standard) on both.
async fn hierarchy(flow: &FlowConfig, s: &Side<'_>, p: &Side<'_>, sample: &[Issue]) -> Vec<Finding> {
    let name = flow.name.as_str();
    let mut out: Vec<Finding> = [s, p]
        .iter()
        .filter_map(|side| findings::epic_link(name, side.site.id().as_str(), side.site.flavour(), side.catalogue))
        .collect();
    if flow.issue_types.is_empty() {
        return out;
    }
    // Which issue types a project offers is its scheme's choice, and the
    // secondary's projects are named by a JQL scope, not statically. Read
    // are the primary project, `secondary_project` when the flow pushes,
    // and the projects of the scope's first page. A project that enters
    // the scope later, or a type none of these offers, is left to run
    // time, where creating the mirror fails with Jira's own message.
    let mut keys: Vec<&str> = flow.secondary_project.iter().map(String::as_str).collect();
    let most = keys.len() + SCOPE_PROJECTS;
    for key in sample.iter().filter_map(|i| i.project.as_deref()) {
        if keys.len() < most && !keys.iter().any(|k| k.eq_ignore_ascii_case(key)) {
            keys.push(key);
        }
    }
    let secondary = projects(name, s.site, &keys, &mut out).await;
    let primary = projects(name, p.site, &[flow.primary_project.as_str()], &mut out).await;
    out.extend(findings::subtask_mismatches(
        name,
        (s.site.id().as_str(), &findings::type_kinds(&secondary)),
        (p.site.id().as_str(), &findings::type_kinds(&primary)),
        &flow.issue_types,
    ));
    out
}

/// The projects `keys` of `site`; one that cannot be read is a warning
/// (the checks that need it are skipped), not an error: the scope and the
/// create screen checks already fail for a project that is not there.
async fn projects(flow: &str, site: &dyn Site, keys: &[&str], out: &mut Vec<Finding>) -> Vec<Project> {
    let mut read = Vec::new();
    for key in keys {
        match site.project(key).await {
            Ok(p) => read.push(p),
            Err(e) => out.push(Finding::warning(format!(
                "flow {flow}: issue types of project {key} on {} not checked: {e}",
                site.id()
            ))),
        }
    }
    read
}

/// The issue type mirrors are most likely created with.
fn default_type(flow: &FlowConfig) -> String {
    flow.issue_types
        .get("Story")
        .cloned()
        .or_else(|| flow.issue_types.values().next().cloned())
        .unwrap_or_else(|| "Story".into())
}
