//! What `check` found, as one document: printed as text (one line per
//! finding, grouped by instance, then by flow, and a count) or, with
//! `--json`, as JSON for tooling. The JSON names are a contract
//! (docs/operations.md, "jirafed check --json"): add, never rename.

use std::fmt::Write as _;
use std::path::Path;

use serde::Serialize;

use super::CheckReport;
use super::findings::{Finding, Level};
use super::online::SitesReport;
use crate::config::{Config, Role};

/// The whole outcome of one `jirafed check`.
#[derive(Debug, Serialize)]
pub struct Document {
    pub config: ConfigPart,
    /// Whether the sites were contacted (not with `--offline`, nor with an
    /// invalid config).
    pub sites_checked: bool,
    pub instances: Vec<InstancePart>,
    pub flows: Vec<FlowPart>,
    /// Findings of no one instance or flow (pushing scopes that overlap).
    pub across_flows: Vec<FindingPart>,
    /// Config problems and `error` findings: any fails the check.
    pub errors: usize,
    /// Config warnings and `warning` findings.
    pub warnings: usize,
    /// No errors: `jirafed check` exits 0.
    pub ok: bool,
}

#[derive(Debug, Serialize)]
pub struct ConfigPart {
    pub path: String,
    pub valid: bool,
    pub problems: Vec<String>,
    pub warnings: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct InstancePart {
    pub id: String,
    /// `primary` or `secondary`.
    pub role: &'static str,
    /// `cloud` or `datacenter`.
    pub flavour: &'static str,
    /// `null` when the sites were not contacted.
    pub reachable: Option<bool>,
    /// The technical user as the site names it, when reached.
    pub user: Option<String>,
    pub findings: Vec<FindingPart>,
}

#[derive(Debug, Serialize)]
pub struct FlowPart {
    pub name: String,
    pub secondary: String,
    /// Whether the flow's two sites connected and its checks ran.
    pub checked: bool,
    pub findings: Vec<FindingPart>,
}

#[derive(Debug, Serialize)]
pub struct FindingPart {
    /// `error`, `warning` or `info`.
    pub level: String,
    pub text: String,
}

impl From<&Finding> for FindingPart {
    fn from(f: &Finding) -> FindingPart {
        FindingPart { level: f.level.to_string(), text: f.text.clone() }
    }
}

fn parts(findings: &[Finding]) -> Vec<FindingPart> {
    findings.iter().map(FindingPart::from).collect()
}

impl Document {
    /// The document of a check of the config at `path` (`config` when it
    /// is valid), with what the sites said when they were contacted, or
    /// why they could not be (`unchecked`).
    pub fn new(
        path: &Path,
        report: &CheckReport,
        config: Option<&Config>,
        sites: Option<&SitesReport>,
        unchecked: Option<&str>,
    ) -> Document {
        let mut instances = Vec::new();
        let mut flows = Vec::new();
        if let Some(cfg) = config {
            for i in cfg.instances.values() {
                let found = sites.and_then(|s| s.instances.iter().find(|r| r.id == i.id.as_str()));
                instances.push(InstancePart {
                    id: i.id.to_string(),
                    role: if i.role == Role::Primary { "primary" } else { "secondary" },
                    flavour: i.flavour.as_str(),
                    reachable: sites.map(|_| found.is_some_and(|r| r.reachable)),
                    user: found.and_then(|r| r.user.clone()),
                    findings: found.map(|r| parts(&r.findings)).unwrap_or_default(),
                });
            }
            for f in &cfg.flows {
                let found = sites.and_then(|s| s.flows.iter().find(|r| r.name == f.name.as_str()));
                flows.push(FlowPart {
                    name: f.name.to_string(),
                    secondary: f.secondary.to_string(),
                    checked: found.is_some(),
                    findings: found.map(|r| parts(&r.findings)).unwrap_or_default(),
                });
            }
        }
        let mut across_flows = sites.map(|s| parts(&s.across_flows)).unwrap_or_default();
        across_flows.extend(unchecked.map(|u| FindingPart { level: Level::Error.to_string(), text: u.to_string() }));
        let all = instances.iter().flat_map(|i| &i.findings).chain(flows.iter().flat_map(|f| &f.findings));
        let count = |level: Level| all.clone().chain(&across_flows).filter(|f| f.level == level.to_string()).count();
        let errors = report.problems.len() + count(Level::Error);
        let warnings = report.warnings.len() + count(Level::Warning);
        Document {
            config: ConfigPart {
                path: path.display().to_string(),
                valid: config.is_some(),
                problems: report.problems.clone(),
                warnings: report.warnings.clone(),
            },
            sites_checked: sites.is_some(),
            instances,
            flows,
            across_flows,
            errors,
            warnings,
            ok: errors == 0 && report.ok,
        }
    }

    /// The document as pretty-printed JSON.
    pub fn to_json(&self) -> String {
        // Plain strings, numbers and lists: serializing cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\": {:?}}}", e.to_string()))
    }

    /// The report's last count: "3 error(s), 1 warning(s)".
    pub fn count_line(&self) -> String {
        format!("{} error(s), {} warning(s)", self.errors, self.warnings)
    }
}

/// What the sites said, one line each: every instance with its own
/// findings under it, then every flow's, then those across flows.
pub fn render_sites(sites: &SitesReport) -> String {
    let mut out = String::from("sites:\n");
    for i in &sites.instances {
        if i.reachable {
            let who = i.user.as_deref().unwrap_or_default();
            let tz = i.time_zone.as_deref().unwrap_or("?");
            let _ = writeln!(out, "  {}: reachable, authenticated as {who} (time zone {tz})", i.id);
        }
        for f in &i.findings {
            let _ = writeln!(out, "  {f}");
        }
    }
    for flow in &sites.flows {
        if !flow.findings.iter().any(|f| f.level == Level::Error) {
            let _ = writeln!(out, "  flow {}: {} field(s) resolved, scope and project OK", flow.name, flow.fields);
        }
        for f in &flow.findings {
            let _ = writeln!(out, "  {f}");
        }
    }
    for f in &sites.across_flows {
        let _ = writeln!(out, "  {f}");
    }
    out
}
