//! The flows of the config resolved against the live sites: each flow's
//! mapped fields found in both field catalogues (types checked), turned
//! into the pure rules `mapping::plan` takes.

use super::fields::{self, ResolvedField};
use super::sites::Sites;
use crate::config::{Config, ConflictPolicy, FlowConfig};
use crate::ids::InstanceId;
use crate::mapping;

/// A flow with its fields resolved on both sites.
pub struct ResolvedFlow {
    pub cfg: FlowConfig,
    pub fields: Vec<ResolvedField>,
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
        ids.extend(["status", "updated", "issuetype", "project"].map(String::from));
        ids
    }

    /// The mapped field whose id on one side is `id`.
    pub fn field_by_id(&self, on_primary: bool, id: &str) -> Option<&ResolvedField> {
        self.fields.iter().find(|f| if on_primary { f.primary.id == id } else { f.secondary.id == id })
    }
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
            match fields::resolve(f, s, p) {
                Ok(resolved) => list.push(ResolvedFlow::new(f, resolved)),
                Err(p) => problems.extend(p),
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
            cfg: cfg.clone(),
        }
    }
}

fn conflict(p: ConflictPolicy) -> mapping::Conflict {
    match p {
        ConflictPolicy::PrimaryWins => mapping::Conflict::PrimaryWins,
        ConflictPolicy::SecondaryWins => mapping::Conflict::SecondaryWins,
        ConflictPolicy::NewestWins => mapping::Conflict::NewestWins,
    }
}
