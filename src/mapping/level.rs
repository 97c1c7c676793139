//! Two existing issues paired by hand (`jirafed link`): the shadow that
//! makes the next plan bring them level, the winning side's values flowing
//! to the other within each rule's direction.

use super::plan::{Pair, Shadow, Side};
use super::rules::{Conflict, FieldRule, Site};

/// The side whose values are kept: `prefer` when given, else the flow's
/// conflict policy (`NewestWins` compares [`Side::updated_ms`], a tie going
/// to the primary).
pub fn level_winner(conflict: Conflict, prefer: Option<Site>, secondary: &Side, primary: &Side) -> Site {
    prefer.unwrap_or_else(|| Pair { secondary, primary, conflict }.winner())
}

/// The shadow to store with a pair made by hand so that [`super::plan`]
/// sees only `winner` as having moved: the loser's current values (in
/// primary space) and status as the last agreed ones. Fields the loser
/// lacks, or whose value cannot be translated, are left unknown (the plan
/// then carries the secondary's value up, as after a create).
pub fn level_shadow(rules: &[FieldRule], winner: Site, secondary: &Side, primary: &Side) -> Shadow {
    let mut shadow = Shadow::default();
    for rule in rules {
        let loser = match winner {
            Site::Secondary => primary.values.get(&rule.key).cloned(),
            Site::Primary => secondary.values.get(&rule.key).and_then(|v| rule.translate_to_primary(v).ok()),
        };
        if let Some(v) = loser {
            shadow.values.insert(rule.key.clone(), v.normalise());
        }
    }
    match winner {
        Site::Secondary => shadow.status_primary = primary.status.clone(),
        Site::Primary => shadow.status_secondary = secondary.status.clone(),
    }
    shadow
}
