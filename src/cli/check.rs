//! `jirafed check`: load and validate the config once and print a report
//! a person can act on; then, unless `--offline`, reach every site the way
//! the daemon does: authenticated, every mapped field resolved with
//! compatible types and on the mirror project's create screen, every scope
//! valid JQL, every mapped link type present. `--offline` still reads every
//! secret. Exit 0 when all is well, 1 otherwise.

use std::fmt::Write as _;
use std::path::Path;
use std::process::ExitCode;

use crate::config::{self, Auth, Choice, Config, Environment, FlowConfig, ProcessEnv, Role};
use crate::jira::Site;
use crate::sync::fields;
use crate::sync::sites::Sites;

/// Runs `jirafed check` on the config at `path`.
pub fn run(path: &Path, offline: bool) -> ExitCode {
    let vars: Vec<(String, String)> = std::env::vars().collect();
    let (report, config) = check_config(path, &vars, &ProcessEnv, offline);
    print!("{}", report.text);
    let mut ok = report.ok;
    if let (Some(cfg), false) = (config, offline) {
        let online = super::runtime().map(|rt| rt.block_on(check_sites(&cfg)));
        match online {
            Ok((text, sites_ok)) => {
                print!("{text}");
                println!("{}", if sites_ok { "OK" } else { "FAILED" });
                ok = sites_ok;
            }
            Err(e) => {
                println!("sites: cannot check: {e:#}");
                ok = false;
            }
        }
    }
    if ok { ExitCode::SUCCESS } else { ExitCode::from(1) }
}

/// The outcome of a check: the report to print and whether it passed.
pub struct CheckReport {
    pub text: String,
    pub ok: bool,
}

/// Checks the config at `path` with the given override variables and
/// environment (see [`config::load_with`]); the config too when it is valid.
pub fn check_config(
    path: &Path,
    vars: &[(String, String)],
    env: &dyn Environment,
    offline: bool,
) -> (CheckReport, Option<Config>) {
    match config::load_with(path, vars, env) {
        Ok(cfg) => {
            tracing::debug!(config = ?cfg, "config loaded");
            (CheckReport { text: render_ok(&cfg, offline), ok: true }, Some(cfg))
        }
        Err(e) => {
            let mut text = String::new();
            let problems = e.problems();
            let _ = writeln!(text, "config {}: INVALID, {} problem(s)", path.display(), problems.len());
            for p in problems {
                let _ = writeln!(text, "  error: {p}");
            }
            (CheckReport { text, ok: false }, None)
        }
    }
}

fn render_ok(cfg: &Config, offline: bool) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "config {}: valid", cfg.source.display());
    let _ = writeln!(out, "daemon: listen {}, state {}", cfg.daemon.listen, cfg.daemon.state_dir.display());
    let _ = writeln!(out, "instances:");
    for i in cfg.instances.values() {
        let role = if i.role == Role::Primary { "primary" } else { "secondary" };
        let auth = match &i.auth {
            Auth::CloudToken { email, .. } => format!("token for {email}"),
            Auth::Bearer { .. } => "personal access token".to_string(),
            Auth::Basic { user, .. } => format!("password for {user}"),
        };
        let _ = writeln!(
            out,
            "  {:<12} {:<9} {:<10} {}  ({auth}; {} writes/s, burst {}; poll every {})",
            i.id.as_str(),
            role,
            i.flavour.as_str(),
            i.url,
            i.writes_per_second,
            i.burst,
            humantime::format_duration(i.poll_interval)
        );
    }
    let _ = writeln!(out, "flows:");
    for f in &cfg.flows {
        render_flow(&mut out, f, cfg.primary().id.as_str());
    }
    if cfg.flows.is_empty() {
        let _ = writeln!(out, "  (none: nothing will be synced)");
    }
    for w in &cfg.warnings {
        let _ = writeln!(out, "  warning: {w}");
    }
    if offline {
        let _ = writeln!(out, "sites: not contacted (--offline)");
    }
    if offline {
        let _ = writeln!(out, "OK");
    }
    out
}

/// One flow: its sides and policies, then (indented under the secondary)
/// how links and parents travel, then what it pushes from the primary.
fn render_flow(out: &mut String, f: &FlowConfig, primary: &str) {
    let _ = writeln!(
        out,
        "  {:<20} {} <-> {primary} project {}  ({} field mapping(s), create {}, conflict {}, read_target {})",
        f.name.as_str(),
        f.secondary.as_str(),
        f.primary_project,
        f.fields.len(),
        f.create.config_name(),
        f.conflict.config_name(),
        f.read_target.config_name()
    );
    let indent = " ".repeat(23);
    let _ = writeln!(
        out,
        "{indent}links {} ({} type(s), across instances {}), hierarchy {} (parent {})",
        f.links.direction.config_name(),
        f.links.types.len(),
        f.links.across_instances.config_name(),
        f.hierarchy.direction.config_name(),
        if f.hierarchy.parent { "carried" } else { "not carried" }
    );
    if let (Some(scope), Some(project)) = (&f.primary_scope, &f.secondary_project) {
        let _ = writeln!(out, "{indent}pushes {scope:?} from {primary} to {} project {project}", f.secondary.as_str());
    }
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

async fn check_flow(flow: &FlowConfig, s: &dyn Site, p: &dyn Site) -> Vec<String> {
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
    if let Some(scope) = &flow.primary_scope {
        let jql = format!("({scope}) ORDER BY key");
        if let Err(e) = p.search_page(&jql, &["key"], 1, None).await {
            problems.push(format!("primary_scope {scope:?} is refused by {}: {e}", p.id()));
        }
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
fn default_type(flow: &FlowConfig) -> String {
    flow.issue_types
        .get("Story")
        .cloned()
        .or_else(|| flow.issue_types.values().next().cloned())
        .unwrap_or_else(|| "Story".into())
}
