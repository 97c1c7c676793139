//! `jirafed check`: load and validate the config once and print a report
//! a person can act on; then, unless `--offline`, reach every site the way
//! the daemon does (see [`online`]): authenticated, every mapped field
//! resolved with compatible types and on the mirror project's create
//! screen, every scope valid JQL, every mapped link type present, what
//! carrying parents needs, link types in use but not mapped, pushing
//! scopes that overlap. `--offline` still reads every secret. Exit 0 when
//! all is well (warnings allowed), 1 otherwise.

mod access;
mod findings;
mod online;
mod report;

use std::fmt::Write as _;
use std::path::Path;
use std::process::ExitCode;

pub use self::online::check_sites;
use self::report::Document;
use crate::config::{self, Auth, Choice, Config, Environment, FlowConfig, ProcessEnv, Role};

/// Runs `jirafed check` on the config at `path`; with `json`, prints one
/// JSON document (see [`report`]) instead of the report.
pub fn run(path: &Path, offline: bool, json: bool) -> ExitCode {
    let vars: Vec<(String, String)> = std::env::vars().collect();
    let (report, config) = check_config(path, &vars, &ProcessEnv, offline);
    let mut sites = None;
    let mut unchecked = None;
    if let (Some(cfg), false) = (&config, offline) {
        match super::runtime() {
            Ok(rt) => sites = Some(rt.block_on(check_sites(cfg))),
            Err(e) => unchecked = Some(format!("sites: cannot check: {e:#}")),
        }
    }
    let doc = Document::new(path, &report, config.as_ref(), sites.as_ref(), unchecked.as_deref());
    if json {
        println!("{}", doc.to_json());
    } else {
        print!("{}", report.text);
        if let Some(s) = &sites {
            print!("{}", report::render_sites(s));
        }
        if let Some(u) = &unchecked {
            println!("{u}");
        }
        println!("{}", doc.count_line());
        if report.ok {
            println!("{}", if doc.ok { "OK" } else { "FAILED" });
        }
    }
    if doc.ok { ExitCode::SUCCESS } else { ExitCode::from(1) }
}

/// The outcome of a check: the report to print and whether it passed.
pub struct CheckReport {
    pub text: String,
    pub ok: bool,
    /// Why the config is invalid, one line each.
    pub problems: Vec<String>,
    /// What a valid config should still point out, one line each.
    pub warnings: Vec<String>,
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
            let warnings = cfg.warnings.iter().map(ToString::to_string).collect();
            let text = render_ok(&cfg, offline);
            (CheckReport { text, ok: true, problems: vec![], warnings }, Some(cfg))
        }
        Err(e) => {
            let mut text = String::new();
            let problems: Vec<String> = e.problems().iter().map(ToString::to_string).collect();
            let _ = writeln!(text, "config {}: INVALID, {} problem(s)", path.display(), problems.len());
            for p in &problems {
                let _ = writeln!(text, "  error: {p}");
            }
            (CheckReport { text, ok: false, problems, warnings: vec![] }, None)
        }
    }
}

fn render_ok(cfg: &Config, offline: bool) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "config {}: valid", cfg.source.display());
    let public = match &cfg.daemon.public_url {
        Some(url) => format!("public URL {url}"),
        None => "no public_url (webhook registrations not checked)".into(),
    };
    let _ = writeln!(out, "daemon: listen {}, state {}, {public}", cfg.daemon.listen, cfg.daemon.state_dir.display());
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
