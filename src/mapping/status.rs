//! The three-way diff of the status, against the raw statuses last seen in sync.

use super::plan::{ConflictNote, Pair, Plan, STATUS_KEY, Shadow, Side, Warning};
use super::rules::{Site, StatusRule};
use super::value::Value;

/// The status of a mirror about to be created: the mapped secondary status, if status flows up.
pub(super) fn create(rule: &StatusRule, secondary: &Side, out: &mut Plan) {
    let Some(current) = secondary.status.as_deref() else { return };
    if rule.to_primary.is_empty() {
        return;
    }
    match rule.primary_for(current) {
        Some(target) => {
            out.primary_status = Some(target.to_owned());
            record(out, current, target);
        }
        None => out.warnings.push(Warning::UnmappedStatus { site: Site::Secondary, status: current.to_owned() }),
    }
}

/// The status of an existing link.
///
/// Statuses already in correspondence under either map are left alone (with many-to-one maps
/// this keeps the finer status on the side that has it). Otherwise the side that moved since
/// the shadow, and whose moves flow, is followed; both moving is a conflict for the policy.
/// Without shadow statuses the secondary is the source when status flows up, else the primary.
pub(super) fn sync(rule: &StatusRule, pair: &Pair<'_>, shadow: Option<&Shadow>, out: &mut Plan) {
    let (seen_secondary, seen_primary) =
        shadow.map_or((None, None), |h| (h.status_secondary.as_deref(), h.status_primary.as_deref()));
    out.shadow.status_secondary = seen_secondary.map(str::to_owned);
    out.shadow.status_primary = seen_primary.map(str::to_owned);
    let (Some(a), Some(b)) = (pair.secondary.status.as_deref(), pair.primary.status.as_deref()) else { return };

    let up = !rule.to_primary.is_empty();
    let down = !rule.to_secondary.is_empty();
    let mapped_up = rule.primary_for(a);
    let mapped_down = rule.secondary_for(b);
    if (up && mapped_up == Some(b)) || (down && mapped_down == Some(a)) {
        record(out, a, b);
        return;
    }

    let (secondary_moved, primary_moved) = if seen_secondary.is_none() && seen_primary.is_none() {
        (up, !up && down)
    } else {
        (up && seen_secondary != Some(a), down && seen_primary != Some(b))
    };
    let (mover, note) = match (secondary_moved, primary_moved) {
        (false, false) => {
            record(out, a, b);
            return;
        }
        (true, false) => (Site::Secondary, None),
        (false, true) => (Site::Primary, None),
        (true, true) => {
            let winner = pair.winner();
            let note = ConflictNote {
                key: STATUS_KEY.to_owned(),
                secondary: Value::Choice(a.to_owned()),
                primary: Value::Choice(b.to_owned()),
                winner,
            };
            (winner, Some(note))
        }
    };
    match (mover, mapped_up, mapped_down) {
        (Site::Secondary, Some(target), _) => {
            out.primary_status = Some(target.to_owned());
            record(out, a, target);
        }
        (Site::Primary, _, Some(target)) => {
            out.secondary_status = Some(target.to_owned());
            record(out, target, b);
        }
        // The mover's status has no mapping: warn and keep the old shadow, so the next pass
        // sees the same move and warns again until the configuration or the issue is fixed.
        (Site::Secondary, None, _) => {
            out.warnings.push(Warning::UnmappedStatus { site: Site::Secondary, status: a.to_owned() });
            return;
        }
        (Site::Primary, _, None) => {
            out.warnings.push(Warning::UnmappedStatus { site: Site::Primary, status: b.to_owned() });
            return;
        }
    }
    out.conflicts.extend(note);
}

fn record(out: &mut Plan, secondary: &str, primary: &str) {
    out.shadow.status_secondary = Some(secondary.to_owned());
    out.shadow.status_primary = Some(primary.to_owned());
}
