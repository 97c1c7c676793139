//! The planner's inputs and output, and its one entry point, [`plan`].

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::fields;
use super::rules::{Conflict, FieldRule, Site, StatusRule};
use super::status;
use super::value::Value;

/// The key under which a status conflict is recorded in [`Plan::conflicts`].
pub const STATUS_KEY: &str = "status";

/// One issue as the planner sees it: the mapped fields (already in canonical form), its status
/// and when it was last updated.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Side {
    /// Rule key -> value, in this site's own space. A key that is absent means the value is
    /// unknown (not read): that field is skipped with a [`Warning::MissingField`]. A cleared field
    /// is [`Value::Empty`], not absent.
    pub values: BTreeMap<String, Value>,
    /// The status name; `None` when unknown, which leaves the status alone.
    pub status: Option<String>,
    /// When the issue was last updated, in milliseconds since the Unix epoch (for `NewestWins`).
    pub updated_ms: i64,
}

/// The last values the two sides agreed on, kept per link.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Shadow {
    /// Rule key -> last agreed value, in primary space. A missing entry means unknown.
    pub values: BTreeMap<String, Value>,
    /// The secondary's raw status when last in sync.
    pub status_secondary: Option<String>,
    /// The primary's raw status when last in sync.
    pub status_primary: Option<String>,
    /// The remote links jirafed keeps on the secondary issue for its
    /// mirror's dependencies on issues of other sites: global id -> what
    /// was last written. Not planned here; kept by the engine.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub remote_links: BTreeMap<String, RemoteLinkState>,
    /// The parent last agreed (`hierarchy.parent = true`); `None` when not
    /// known yet. Not planned here; kept by the engine.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<AgreedParent>,
}

/// A parent both sides agreed on, as the secondary's issue id (`None`: no
/// parent).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgreedParent {
    pub issue: Option<String>,
}

/// A remote link as last written.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemoteLinkState {
    pub url: String,
    pub title: String,
}

/// Both values of a field (or the status) that were changed differently on both sides, and who won.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConflictNote {
    /// The rule key, or [`STATUS_KEY`].
    pub key: String,
    /// The secondary's value, as found there (secondary space).
    pub secondary: Value,
    /// The primary's value, as found there.
    pub primary: Value,
    /// The side whose value is kept; the other side is written.
    pub winner: Site,
}

/// Something the planner could not do; reported, never guessed around.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Warning {
    /// Values on `site` that the field's non-empty value map has no entry for. The field is not written.
    UnmappedValue { key: String, site: Site, values: Vec<String> },
    /// A status on `site` that the status map has no entry for. No transition is made.
    UnmappedStatus { site: Site, status: String },
    /// The field's value on `site` was not supplied. The field is not written.
    MissingField { key: String, site: Site },
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Warning::UnmappedValue { key, site, values } => {
                write!(f, "field {key}: no translation for {site:?} value(s) {}", values.join(", "))
            }
            Warning::UnmappedStatus { site, status } => write!(f, "no status mapping for {site:?} status {status}"),
            Warning::MissingField { key, site } => write!(f, "field {key}: no value read on the {site:?}"),
        }
    }
}

/// What to do for one link: the writes, the transitions, and the shadow to store once they succeed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// Rule key -> value to write on the primary (primary space).
    pub to_primary: BTreeMap<String, Value>,
    /// Rule key -> value to write on the secondary (secondary space).
    pub to_secondary: BTreeMap<String, Value>,
    /// Transition the primary to this status.
    pub primary_status: Option<String>,
    /// Transition the secondary to this status.
    pub secondary_status: Option<String>,
    /// The shadow to store once the writes and transitions above have succeeded.
    pub shadow: Shadow,
    /// Conflicts resolved by the policy, for the audit and the status page.
    pub conflicts: Vec<ConflictNote>,
    /// What could not be mapped.
    pub warnings: Vec<Warning>,
}

impl Plan {
    /// True when there is nothing to write and nothing to transition. Conflicts, warnings and
    /// a changed shadow do not count: storing the shadow alone needs no call to Jira.
    pub fn is_empty(&self) -> bool {
        self.to_primary.is_empty()
            && self.to_secondary.is_empty()
            && self.primary_status.is_none()
            && self.secondary_status.is_none()
    }
}

/// Plans one link: compares `secondary`, `primary` and `shadow` field by field under `rules`
/// and `status`, and returns the writes, transitions, conflicts and warnings, with the shadow
/// to store afterwards. `primary: None` means no mirror exists yet: the plan is its creation.
///
/// The semantics are described in the module documentation.
pub fn plan(
    rules: &[FieldRule],
    status: &StatusRule,
    conflict: Conflict,
    secondary: &Side,
    primary: Option<&Side>,
    shadow: Option<&Shadow>,
) -> Plan {
    let mut out = Plan::default();
    match primary {
        None => {
            for rule in rules {
                fields::create(rule, secondary, &mut out);
            }
            status::create(status, secondary, &mut out);
        }
        Some(primary) => {
            let pair = Pair { secondary, primary, conflict };
            for rule in rules {
                let agreed = shadow.and_then(|h| h.values.get(&rule.key));
                fields::sync(rule, &pair, agreed, &mut out);
            }
            status::sync(status, &pair, shadow, &mut out);
        }
    }
    out
}

/// The two linked issues and the flow's conflict policy.
pub(super) struct Pair<'a> {
    pub(super) secondary: &'a Side,
    pub(super) primary: &'a Side,
    pub(super) conflict: Conflict,
}

impl Pair<'_> {
    /// The side whose edit is kept when both sides changed differently.
    pub(super) fn winner(&self) -> Site {
        match self.conflict {
            Conflict::PrimaryWins => Site::Primary,
            Conflict::SecondaryWins => Site::Secondary,
            Conflict::NewestWins if self.secondary.updated_ms > self.primary.updated_ms => Site::Secondary,
            Conflict::NewestWins => Site::Primary,
        }
    }
}
