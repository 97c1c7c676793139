//! The configured rules of a flow, as the planner needs them.

use serde::{Deserialize, Serialize};

use super::value::{Unmapped, Value, Way, translate};

/// Which way a mapped field flows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Secondary edits reach the primary; primary edits stay where they are.
    ToPrimary,
    /// Primary edits reach the secondary; secondary edits stay where they are.
    ToSecondary,
    /// Edits flow both ways; edits on both sides since the last sync are a conflict.
    Both,
}

impl Direction {
    /// Whether secondary edits reach the primary.
    pub fn includes_to_primary(self) -> bool {
        matches!(self, Direction::ToPrimary | Direction::Both)
    }

    /// Whether primary edits reach the secondary.
    pub fn includes_to_secondary(self) -> bool {
        matches!(self, Direction::ToSecondary | Direction::Both)
    }
}

/// Who wins when both sides changed a `Both` field (or the status) differently since the last sync.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Conflict {
    /// The primary's value is kept and written to the secondary.
    #[default]
    PrimaryWins,
    /// The secondary's value is kept and written to the primary.
    SecondaryWins,
    /// The side whose issue was updated last wins; a tie goes to the primary.
    NewestWins,
}

/// One of the two sites of a link.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Site {
    /// The central site that holds the mirrors.
    Primary,
    /// The site the mirrored issue comes from.
    Secondary,
}

/// One mapped field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldRule {
    /// Stable key naming the field in [`super::Side::values`], the shadow and the plan, e.g. `"summary"`.
    pub key: String,
    /// Which way the field flows.
    pub direction: Direction,
    /// Pairs of (secondary value, primary value). Empty means values cross unchanged. The
    /// configuration keeps it one-to-one when the direction includes `ToSecondary`.
    pub values: Vec<(String, String)>,
}

impl FieldRule {
    /// A rule whose values cross unchanged.
    pub fn new(key: impl Into<String>, direction: Direction) -> Self {
        FieldRule { key: key.into(), direction, values: Vec::new() }
    }

    /// Translates a secondary value into primary space (the map read forwards).
    pub fn translate_to_primary(&self, value: &Value) -> Result<Value, Unmapped> {
        translate(&self.values, value, Way::ToPrimary)
    }

    /// Translates a primary value into secondary space (the map read backwards).
    pub fn translate_to_secondary(&self, value: &Value) -> Result<Value, Unmapped> {
        translate(&self.values, value, Way::ToSecondary)
    }
}

/// How statuses correspond. An empty map means status does not flow that way.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusRule {
    /// Pairs of (secondary status, primary status); several secondary statuses may share one
    /// primary status.
    pub to_primary: Vec<(String, String)>,
    /// Pairs of (primary status, secondary status).
    pub to_secondary: Vec<(String, String)>,
}

impl StatusRule {
    /// The primary status that a secondary status maps to, if any. Names match exactly.
    pub fn primary_for(&self, secondary: &str) -> Option<&str> {
        find(&self.to_primary, secondary)
    }

    /// The secondary status that a primary status maps to, if any. Names match exactly.
    pub fn secondary_for(&self, primary: &str) -> Option<&str> {
        find(&self.to_secondary, primary)
    }
}

fn find<'m>(map: &'m [(String, String)], from: &str) -> Option<&'m str> {
    map.iter().find(|(k, _)| k == from).map(|(_, v)| v.as_str())
}
