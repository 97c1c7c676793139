//! The online half of `jirafed check`: every site is reached and
//! authenticated, every mapped field resolves with compatible types and is
//! on the mirror project's create screen, every scope is valid JQL, every
//! mapped link type exists.

use std::fmt::Write as _;

use crate::config::Config;
use crate::jira::Site;
use crate::sync::fields;
use crate::sync::sites::Sites;

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
    let primary = cfg.primary().id.as_str();
    for flow in &cfg.flows {
        let usable = |id: &str| sites.catalogue(id).and(sites.get(id));
        let (Some(s), Some(p)) = (usable(flow.secondary.as_str()), usable(primary)) else { continue };
        let problems = check_flow(flow, s.as_ref(), p.as_ref()).await;
        if problems.is_empty() {
            let _ =
                writeln!(out, "  flow {}: {} field(s) resolved, scope and project OK", flow.name, flow.fields.len());
        }
        for pr in problems {
            ok = false;
            let _ = writeln!(out, "  error: flow {}: {pr}", flow.name);
        }
    }
    (out, ok)
}

async fn check_flow(flow: &crate::config::FlowConfig, s: &dyn Site, p: &dyn Site) -> Vec<String> {
    let mut problems = Vec::new();
    let (sf, pf) = match (s.fields().await, p.fields().await) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) | (_, Err(e)) => return vec![format!("cannot read fields: {e}")],
    };
    let resolved = match fields::resolve(flow, &sf, &pf) {
        Ok(r) => r,
        Err(list) => {
            problems.extend(list);
            vec![]
        }
    };
    let jql = format!("({}) ORDER BY key", flow.scope);
    if let Err(e) = s.search_page(&jql, &["key"], 1, None).await {
        problems.push(format!("scope {:?} is refused by {}: {e}", flow.scope, flow.secondary));
    }
    match p.create_meta(&flow.primary_project, &default_type(flow)).await {
        Ok(meta) => {
            for f in resolved.iter().filter(|f| f.direction.to_primary()) {
                if !meta.iter().any(|m| m.id == f.primary.id) && !matches!(f.primary.id.as_str(), "status") {
                    problems.push(format!(
                        "{} '{}' is not on the create screen of {} {}",
                        f.primary.id,
                        f.primary.name,
                        flow.primary_project,
                        default_type(flow)
                    ));
                }
            }
        }
        Err(e) => problems.push(format!("primary project {}: {e}", flow.primary_project)),
    }
    for (side, client, names) in [
        ("secondary", s, flow.links.types.keys().cloned().collect::<Vec<_>>()),
        ("primary", p, flow.links.types.values().cloned().collect()),
    ] {
        if names.is_empty() {
            continue;
        }
        match client.link_types().await {
            Ok(types) => {
                for n in names.iter().filter(|n| !types.iter().any(|t| t.name.eq_ignore_ascii_case(n))) {
                    problems.push(format!("link type {n:?} does not exist on the {side} ({})", client.id()));
                }
            }
            Err(e) => problems.push(format!("link types on {}: {e}", client.id())),
        }
    }
    problems
}

/// The issue type mirrors are most likely created with.
fn default_type(flow: &crate::config::FlowConfig) -> String {
    flow.issue_types
        .get("Story")
        .cloned()
        .or_else(|| flow.issue_types.values().next().cloned())
        .unwrap_or_else(|| "Story".into())
}
