//! The shadow a finished write leaves: what the two sites now agree on.

use super::super::engine::Engine;
use super::super::job::Job;
use super::values::Written;
use crate::ids::InstanceId;
use crate::mapping;

/// The shadow to store after a write that left `skipped` fields out: the
/// shadow records what the sites agree on, so a field not written keeps the
/// value it had (a new mirror holds nothing for it). Otherwise the next pass
/// would take the target's unchanged value for an edit there and carry it
/// back over the source.
pub(super) fn shadow_after(
    engine: &Engine,
    job: &Job,
    target: &InstanceId,
    written: &Written,
    created: bool,
) -> Option<mapping::Shadow> {
    let mut shadow = job.shadow_after.clone()?;
    if written.skipped.is_empty() && written.partial.is_empty() {
        return Some(shadow);
    }
    let flow = engine.flows.get(&job.flow)?;
    let on_primary = target == engine.primary();
    // Written in part: the shadow holds what was written, in primary space.
    for (id, names) in &written.partial {
        let Some(f) = flow.field_by_id(on_primary, id) else { continue };
        let translate = |n: &String| match f.values.iter().find(|(s, _)| s == n) {
            Some((_, p)) if !on_primary => p.clone(),
            _ => n.clone(),
        };
        let value = mapping::Value::Choices(names.iter().map(translate).collect()).normalise();
        shadow.values.insert(f.key.clone(), value);
    }
    let before = match job.link {
        Some(l) if !created => engine.store.shadow(l).ok().flatten(),
        _ => None,
    };
    for id in &written.skipped {
        let Some(f) = flow.field_by_id(on_primary, id) else { continue };
        match (created, before.as_ref().and_then(|b| b.values.get(&f.key))) {
            (true, _) => {
                shadow.values.insert(f.key.clone(), mapping::Value::Empty);
            }
            (false, Some(old)) => {
                shadow.values.insert(f.key.clone(), old.clone());
            }
            (false, None) => {
                shadow.values.remove(&f.key);
            }
        }
    }
    Some(shadow)
}
