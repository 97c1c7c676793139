//! `jirafed check` against the live sites, connected as the daemon
//! connects: per flow, fields resolved and on the create screen, scopes
//! run, link types present, what carrying parents needs, the link types in
//! use that the flow does not map, the statuses its maps name (on the
//! site and in the workflows of the mapped issue types), the technical
//! user's permissions in each project it touches; across flows, pushing
//! scopes that overlap. Every finding is reported, not only the first,
//! grouped by instance, then by flow.
//!
//! It stays cheap: besides what connecting reads (myself, fields, link
//! types) and each site's statuses, a flow costs one page of its scope,
//! one of its `primary_scope` when it pushes, the primary project's create
//! screen, a few projects' workflows and permissions and, with parents
//! carried, their issue types. Nothing is read per issue.

use super::access::{self, Place};
use super::findings::{self, Finding};
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
    /// The technical user, as the report names it.
    user: String,
    catalogue: &'a FieldCatalogue,
    link_types: &'a [LinkType],
}

/// What checking one flow found.
struct FlowReport {
    findings: Vec<Finding>,
    /// The keys a pushing flow's `primary_scope` found (its first page).
    pushed: Option<Vec<IssueKey>>,
}

/// What the sites said, grouped as `check` reports it.
pub struct SitesReport {
    /// Per configured instance, in id order.
    pub instances: Vec<InstanceReport>,
    /// Per flow whose two sites connected, in config order.
    pub flows: Vec<FlowFindings>,
    /// What belongs to no one instance or flow: pushing scopes that
    /// overlap.
    pub across_flows: Vec<Finding>,
}

/// One instance: whether it answered, as whom, and what was found of it
/// alone (an instance that did not answer has one error: why).
pub struct InstanceReport {
    pub id: String,
    pub reachable: bool,
    /// The technical user's display name (or e-mail), when reached.
    pub user: Option<String>,
    pub time_zone: Option<String>,
    pub findings: Vec<Finding>,
}

/// One flow's findings, the graver first.
pub struct FlowFindings {
    pub name: String,
    /// Mapped fields, for the line of a flow without errors.
    pub fields: usize,
    pub findings: Vec<Finding>,
}

/// Checks the sites of `cfg`: connects each, runs the per-instance checks,
/// then each flow's, then those across flows.
pub async fn check_sites(cfg: &Config) -> SitesReport {
    let sites = Sites::connect(cfg).await;
    let mut instances = Vec::new();
    for (id, entry) in sites.entries() {
        let mut report =
            InstanceReport { id: id.to_string(), reachable: false, user: None, time_zone: None, findings: vec![] };
        match (&entry.connection, &entry.site) {
            (Ok(c), Some(site)) => {
                report.reachable = true;
                report.user = Some(display(&c.me.user));
                report.time_zone = c.me.time_zone.clone();
                report.findings = instance_findings(cfg, site.as_ref()).await;
            }
            (Ok(_), None) => {}
            (Err(e), _) => report.findings.push(Finding::error(format!("{id}: {e}"))),
        }
        instances.push(report);
    }
    let primary = cfg.primary().id.as_str();
    let mut pushed: Vec<(&str, Vec<IssueKey>)> = Vec::new();
    let mut flows = Vec::new();
    for flow in &cfg.flows {
        let (Some(s), Some(p)) = (side(&sites, flow.secondary.as_str()), side(&sites, primary)) else { continue };
        let mut report = check_flow(flow, &s, &p).await;
        report.findings.sort_by_key(|f| f.level);
        flows.push(FlowFindings { name: flow.name.to_string(), fields: flow.fields.len(), findings: report.findings });
        pushed.extend(report.pushed.map(|keys| (flow.name.as_str(), keys)));
    }
    SitesReport { instances, flows, across_flows: findings::overlaps(primary, &pushed) }
}

/// The checks of one instance on its own, each a source of findings
/// listed under the instance's line; one more source (the webhook
/// registration, say) is one more call here.
async fn instance_findings(cfg: &Config, site: &dyn Site) -> Vec<Finding> {
    let mut out = Vec::new();
    if let Err(e) = site.statuses().await {
        out.push(Finding::warning(format!("{}: statuses not read, status maps not checked there: {e}", site.id())));
    }
    out.extend(webhook_registration(cfg, site.id().as_str()).await);
    out
}

/// How the report names a user: display name, else e-mail, else login.
fn display(user: &crate::jira::model::UserRef) -> String {
    let named = user.display_name.clone().or(user.email.clone()).or(user.name.clone());
    named.unwrap_or_else(|| "the technical user".into())
}

/// The site's webhook registration against what `jirafed webhooks
/// install` makes: a warning when missing or stale (the daemon still
/// polls, only slower to see changes); info when current. Nothing without
/// `daemon.public_url` (the config part of the report says so once).
async fn webhook_registration(cfg: &Config, id: &str) -> Option<Finding> {
    cfg.daemon.public_url.as_ref()?;
    let inst = cfg.instance(id)?;
    let (line, current) = crate::cli::webhooks::check_instance(cfg, inst).await;
    Some(if current { Finding::info(format!("{id}: {line}")) } else { Finding::warning(format!("{id}: {line}")) })
}

/// The side of `id`, when it connected.
fn side<'a>(sites: &'a Sites, id: &str) -> Option<Side<'a>> {
    let user =
        sites.entries().find(|(i, _)| i.as_str() == id)?.1.connection.as_ref().ok().map(|c| display(&c.me.user))?;
    Some(Side {
        site: sites.get(id)?.as_ref(),
        user,
        catalogue: sites.catalogue(id)?,
        link_types: sites.link_types(id)?,
    })
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
    let secondary_projects = secondary_projects(flow, &sample);
    let primary_projects = [(flow.primary_project.clone(), vec![Place::Primary])];
    let (s_named, p_named) = access::named_statuses(flow);
    let s_types: Vec<&str> = flow.issue_types.keys().map(String::as_str).collect();
    let p_types: Vec<&str> = flow.issue_types.values().map(String::as_str).collect();
    out.extend(statuses(name, s, &secondary_projects, &s_named, &s_types).await);
    out.extend(statuses(name, p, &primary_projects, &p_named, &p_types).await);
    out.extend(permissions(flow, s, &secondary_projects).await);
    out.extend(permissions(flow, p, &primary_projects).await);
    FlowReport { findings: out, pushed }
}

/// The secondary's projects a flow is checked in, with their places:
/// `secondary_project` when it pushes and the projects of the scope's
/// first page, [`SCOPE_PROJECTS`] at most. A project that enters the scope
/// later is left to run time.
fn secondary_projects(flow: &FlowConfig, sample: &[Issue]) -> Vec<(String, Vec<Place>)> {
    let mut out: Vec<(String, Vec<Place>)> = Vec::new();
    for key in sample.iter().filter_map(|i| i.project.as_deref()) {
        if out.len() >= SCOPE_PROJECTS {
            break;
        }
        if !out.iter().any(|(k, _)| k.eq_ignore_ascii_case(key)) {
            out.push((key.to_string(), vec![Place::Scope]));
        }
    }
    if let Some(push) = &flow.secondary_project {
        match out.iter_mut().find(|(k, _)| k.eq_ignore_ascii_case(push)) {
            Some((_, places)) => places.push(Place::Push),
            None => out.push((push.clone(), vec![Place::Push])),
        }
    }
    out
}

/// The statuses `named` on `side`: each on the site, and in the workflows
/// of `types` (the mapped issue types of this side) in each of `projects`.
/// A site whose statuses cannot be read is reported under its instance;
/// a project whose workflows cannot be read is a warning.
async fn statuses(
    flow: &str,
    side: &Side<'_>,
    projects: &[(String, Vec<Place>)],
    named: &[access::NamedStatus],
    types: &[&str],
) -> Vec<Finding> {
    let site_id = side.site.id().as_str();
    let Ok(known) = side.site.statuses().await else { return vec![] };
    if named.is_empty() {
        return vec![];
    }
    let mut out = access::missing_statuses(flow, site_id, named, &known);
    for (key, _) in projects {
        match side.site.project_statuses(key).await {
            Ok(workflows) => {
                out.extend(access::unreachable_statuses(flow, (site_id, key), named, &known, &workflows, types))
            }
            Err(e) => out.push(Finding::warning(format!(
                "flow {flow}: workflows of project {key} on {site_id} not read, its statuses not checked: {e}"
            ))),
        }
    }
    out
}

/// The technical user's permissions in each of `projects` of `side`
/// against what the flow needs there. A project the user cannot see is
/// one error (Jira answers 404 for a project without Browse Projects).
async fn permissions(flow: &FlowConfig, side: &Side<'_>, projects: &[(String, Vec<Place>)]) -> Vec<Finding> {
    let (name, site_id) = (flow.name.as_str(), side.site.id().as_str());
    let mut out = Vec::new();
    for (key, places) in projects {
        let needs = access::needed(flow, places);
        let keys: Vec<&str> = needs.iter().map(|(p, _)| *p).collect();
        match side.site.my_permissions(key, &keys).await {
            Ok(held) => out.extend(access::missing_permissions(name, &side.user, (site_id, key), &needs, &held)),
            Err(e) if e.is_not_found() => out.push(Finding::error(format!(
                "flow {name}: {} cannot see {site_id} project {key} (it lacks BROWSE_PROJECTS there, or there is no such project)",
                side.user
            ))),
            Err(e) => out.push(Finding::warning(format!(
                "flow {name}: permissions of {} on {site_id} project {key} not checked: {e}",
                side.user
            ))),
        }
    }
    out
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
