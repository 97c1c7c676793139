//! The flows of the config resolved against the live sites: each flow's
//! mapped fields found in both field catalogues (types checked), turned
//! into the pure rules `mapping::plan` takes.

use super::fields::{self, ResolvedField};
use super::sites::Sites;
use crate::config::{Config, ConflictPolicy, FlowConfig};
use crate::ids::InstanceId;
use crate::jira::model::FieldInfo;
use crate::mapping;

/// A flow with its fields and link types resolved on both sites.
pub struct ResolvedFlow {
    pub cfg: FlowConfig,
    pub fields: Vec<ResolvedField>,
    /// Mapped issue link types, (secondary name, primary name) as each
    /// site spells them.
    pub link_types: Vec<(String, String)>,
    /// With `hierarchy.parent = true`: the fields parents are kept in.
    pub hierarchy: Option<HierarchyFields>,
    pub rules: Vec<mapping::FieldRule>,
    pub status: mapping::StatusRule,
    pub conflict: mapping::Conflict,
}

impl ResolvedFlow {
    pub fn name(&self) -> &str {
        self.cfg.name.as_str()
    }

    /// The field ids to read on one side: the mapped fields and what every
    /// plan needs.
    pub fn field_ids(&self, primary: bool) -> Vec<String> {
        let mut ids: Vec<String> =
            self.fields.iter().map(|f| if primary { f.primary.id.clone() } else { f.secondary.id.clone() }).collect();
        // Labels always: a provenance mark says an issue is itself a copy.
        ids.extend(["status", "updated", "issuetype", "project", "labels"].map(String::from));
        if !self.link_types.is_empty() {
            ids.push("issuelinks".to_string());
        }
        if let Some(h) = &self.hierarchy {
            ids.push("parent".to_string());
            let epic = if primary { &h.primary_epic } else { &h.secondary_epic };
            ids.extend(epic.as_ref().map(|f| f.id.clone()));
        }
        ids
    }

    /// The primary's link type for the secondary's `name`, when mapped.
    pub fn primary_link_type(&self, name: &str) -> Option<&str> {
        self.link_types.iter().find(|(s, _)| s.eq_ignore_ascii_case(name)).map(|(_, p)| p.as_str())
    }

    /// The secondary's link type for the primary's `name`, when mapped.
    pub fn secondary_link_type(&self, name: &str) -> Option<&str> {
        self.link_types.iter().find(|(_, p)| p.eq_ignore_ascii_case(name)).map(|(s, _)| s.as_str())
    }

    /// The mapped field whose id on one side is `id`.
    pub fn field_by_id(&self, on_primary: bool, id: &str) -> Option<&ResolvedField> {
        self.fields.iter().find(|f| if on_primary { f.primary.id == id } else { f.secondary.id == id })
    }
}

/// Where parents are kept on each side, besides `parent`: the Epic Link
/// field (Data Center), found by its schema, never by id.
#[derive(Debug, Clone, Default)]
pub struct HierarchyFields {
    pub secondary_epic: Option<FieldInfo>,
    pub primary_epic: Option<FieldInfo>,
}

fn epic_link(catalogue: &crate::jira::fields::FieldCatalogue) -> Option<FieldInfo> {
    catalogue.epic_link().cloned()
}

/// Every resolved flow, and the primary they all mirror into.
pub struct Flows {
    pub primary: InstanceId,
    list: Vec<ResolvedFlow>,
}

impl Flows {
    pub fn new(primary: InstanceId, list: Vec<ResolvedFlow>) -> Flows {
        Flows { primary, list }
    }

    /// Resolves every flow of `config` whose sites connected; every problem
    /// (unknown or ambiguous field names, incompatible types) is reported,
    /// not only the first.
    pub fn resolve(config: &Config, sites: &Sites) -> Result<Flows, Vec<String>> {
        let primary = config.primary().id.clone();
        let mut list = Vec::new();
        let mut problems = Vec::new();
        for f in &config.flows {
            let (Some(s), Some(p)) = (sites.catalogue(f.secondary.as_str()), sites.catalogue(primary.as_str())) else {
                continue;
            };
            let links = link_types(f, sites, primary.as_str());
            match (fields::resolve(f, s, p), links) {
                (Ok(resolved), Ok(links)) => {
                    let hierarchy = f
                        .hierarchy
                        .parent
                        .then(|| HierarchyFields { secondary_epic: epic_link(s), primary_epic: epic_link(p) });
                    list.push(ResolvedFlow { link_types: links, hierarchy, ..ResolvedFlow::new(f, resolved) })
                }
                (fields, links) => {
                    problems.extend(fields.err().into_iter().flatten());
                    problems.extend(links.err().into_iter().flatten());
                }
            }
        }
        if problems.is_empty() { Ok(Flows { primary, list }) } else { Err(problems) }
    }

    pub fn get(&self, name: &str) -> Option<&ResolvedFlow> {
        self.list.iter().find(|f| f.name() == name)
    }

    /// The flow at `i` in config order (as [`Flows::iter`] counts).
    pub fn at(&self, i: usize) -> &ResolvedFlow {
        &self.list[i]
    }

    pub fn iter(&self) -> impl Iterator<Item = &ResolvedFlow> {
        self.list.iter()
    }

    pub fn len(&self) -> usize {
        self.list.len()
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// The flows whose secondary is `instance`.
    pub fn of_secondary<'a>(&'a self, instance: &'a str) -> impl Iterator<Item = &'a ResolvedFlow> {
        self.list.iter().filter(move |f| f.cfg.secondary.as_str() == instance)
    }
}

impl ResolvedFlow {
    /// The flow `cfg` with its fields resolved.
    pub fn new(cfg: &FlowConfig, fields: Vec<ResolvedField>) -> ResolvedFlow {
        ResolvedFlow {
            rules: fields::rules(&fields),
            fields,
            status: mapping::StatusRule {
                to_primary: cfg.status.to_primary.iter().map(|(a, b)| (a.clone(), b.clone())).collect(),
                to_secondary: cfg.status.to_secondary.iter().map(|(a, b)| (a.clone(), b.clone())).collect(),
            },
            conflict: conflict(cfg.conflict),
            link_types: Vec::new(),
            hierarchy: None,
            cfg: cfg.clone(),
        }
    }
}

/// The flow's `links.types` found by name (any case) among each site's
/// link types, as the sites spell them; every name not found is a problem.
fn link_types(flow: &FlowConfig, sites: &Sites, primary: &str) -> Result<Vec<(String, String)>, Vec<String>> {
    let at = format!("flows[{:?}].links.types", flow.name.as_str());
    let find = |site: &str, name: &str| -> Result<String, String> {
        let types = sites.link_types(site).unwrap_or_default();
        let found = types.iter().find(|t| t.name.eq_ignore_ascii_case(name));
        found.map(|t| t.name.clone()).ok_or_else(|| {
            let known: Vec<&str> = types.iter().map(|t| t.name.as_str()).collect();
            format!("{at}: link type {name:?} does not exist on {site}; it has {}", known.join(", "))
        })
    };
    let mut out = Vec::new();
    let mut problems = Vec::new();
    for (s, p) in &flow.links.types {
        match (find(flow.secondary.as_str(), s), find(primary, p)) {
            (Ok(s), Ok(p)) => out.push((s, p)),
            (s, p) => problems.extend([s.err(), p.err()].into_iter().flatten()),
        }
    }
    if problems.is_empty() { Ok(out) } else { Err(problems) }
}

fn conflict(p: ConflictPolicy) -> mapping::Conflict {
    match p {
        ConflictPolicy::PrimaryWins => mapping::Conflict::PrimaryWins,
        ConflictPolicy::SecondaryWins => mapping::Conflict::SecondaryWins,
        ConflictPolicy::NewestWins => mapping::Conflict::NewestWins,
    }
}
