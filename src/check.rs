//! `jirafed check`: load and validate the config and print a report a person
//! can act on. Without `--offline` the sites are checked too
//! (`check_sites.rs`); `--offline` skips them but still reads every secret.

use crate::config::Choice;
use std::fmt::Write as _;
use std::path::Path;

use crate::config::{self, Auth, Config, Environment, Role};

/// The outcome of a check: the report to print and whether it passed.
pub struct CheckReport {
    pub text: String,
    pub ok: bool,
}

/// Checks the config at `path` with the given override variables and
/// environment (see [`config::load_with`]).
pub fn check_config(path: &Path, vars: &[(String, String)], env: &dyn Environment, offline: bool) -> CheckReport {
    match config::load_with(path, vars, env) {
        Ok(cfg) => {
            tracing::debug!(config = ?cfg, "config loaded");
            CheckReport { text: render_ok(&cfg, offline), ok: true }
        }
        Err(e) => {
            let mut text = String::new();
            let problems = e.problems();
            let _ = writeln!(text, "config {}: INVALID, {} problem(s)", path.display(), problems.len());
            for p in problems {
                let _ = writeln!(text, "  error: {p}");
            }
            CheckReport { text, ok: false }
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
        let _ = writeln!(
            out,
            "  {:<20} {} <-> {} project {}  ({} field mapping(s), create {}, conflict {}, read_target {})",
            f.name.as_str(),
            f.secondary.as_str(),
            cfg.primary().id.as_str(),
            f.primary_project,
            f.fields.len(),
            f.create.config_name(),
            f.conflict.config_name(),
            f.read_target.config_name()
        );
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
