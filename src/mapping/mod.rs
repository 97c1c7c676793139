//! Field, value and status mapping between a secondary issue and its primary mirror: the
//! planner's pure core. No IO, no async, no clock: the engine reads both issues, converts them
//! into [`Side`]s, loads the link's [`Shadow`], calls [`plan`] and carries out the [`Plan`]; once
//! every write and transition succeeded it stores [`Plan::shadow`].
//!
//! # Values
//! [`Value`]s arrive dialect-neutral and are compared in their canonical form
//! ([`Value::normalise`]): empty strings and empty `Choices` are `Empty`, `Choices` are sorted
//! and deduplicated, users lower-cased. A NaN number equals itself for the diff.
//!
//! A [`FieldRule`]'s `values` are pairs (secondary value, primary value). Crossing to the primary
//! reads them forwards, crossing to the secondary backwards (first matching pair wins; the
//! configuration keeps the map one-to-one when the field flows to the secondary). Text, `Choice`,
//! `User` (ignoring ASCII case) and each element of `Choices` are translated; rich text, numbers,
//! dates and instants cross unchanged. An empty map is the identity. A value with no entry in a
//! non-empty map is reported as [`Warning::UnmappedValue`] (every missing name) and the field is
//! neither written nor given a new shadow entry: a translation is never guessed.
//!
//! # Fields: a three-way diff in primary space
//! Per rule, `s` is the secondary value translated, `p` the primary value, `h` the shadow entry
//! (absent = unknown). A value absent from a [`Side`] is unknown, not empty: the field is skipped
//! with [`Warning::MissingField`].
//!
//! | direction     | situation                               | write                        | new shadow |
//! |---------------|-----------------------------------------|------------------------------|------------|
//! | any           | `s == p` (echo, or both made the same edit) | none                     | `s`        |
//! | `ToPrimary`   | `s != h` or no `h`                      | primary := `s`               | `s`        |
//! | `ToPrimary`   | `s == h` (only the primary moved)       | none: never flows back       | `s`        |
//! | `ToSecondary` | `p != h` or no `h`                      | secondary := back(`p`)       | `p`        |
//! | `ToSecondary` | `p == h` (only the secondary moved)     | none: never flows back       | `p`        |
//! | `Both`        | no `h` (first sync after create/link)   | primary := `s`               | `s`        |
//! | `Both`        | only `s` moved                          | primary := `s`               | `s`        |
//! | `Both`        | only `p` moved                          | secondary := back(`p`)       | `p`        |
//! | `Both`        | both moved differently                  | the loser gets the winner's  | winner's   |
//!
//! A conflict is resolved by [`Conflict`]: `NewestWins` compares [`Side::updated_ms`], a tie going
//! to the primary. Each one is recorded in [`Plan::conflicts`] with both values as found and the
//! winner. Under `ToSecondary`, a secondary value without translation counts as different from
//! `p` (it is overwritten when `p` moves); under `ToPrimary` and `Both` it skips the field. When a
//! value to be written down cannot be translated back, the field is skipped with a warning.
//! Shadow entries exist only for the rules given: entries of removed rules are dropped.
//!
//! # Status
//! [`StatusRule::to_primary`] maps secondary statuses to primary ones (several may share one),
//! [`StatusRule::to_secondary`] the reverse; an empty map means status does not flow that way.
//! The shadow keeps the raw statuses last seen in sync on each side. The same three-way logic
//! applies, with these refinements:
//! - when the two current statuses already correspond under either map, nothing is transitioned
//!   (so a transition is only planned when the mapped target differs from the other side's
//!   current status, and the finer status of a many-to-one map is kept);
//! - a side "moved" when its status differs from the shadow's; a move counts only if status
//!   flows from that side; without shadow statuses the secondary is the source when status flows
//!   up, else the primary; both moving is a conflict for the policy (key [`STATUS_KEY`]);
//! - a status the map lacks is a [`Warning::UnmappedStatus`], no transition, and the shadow
//!   statuses are kept; an unknown status (`None`) leaves the status alone.
//!
//! # Creating a mirror
//! With `primary: None`, [`Plan::to_primary`] holds every `ToPrimary`/`Both` field whose
//! translated secondary value is not empty, [`Plan::primary_status`] the mapped secondary status
//! (when status flows up), and the shadow what the new mirror will hold: those values (`Empty`
//! for empty ones and for `ToSecondary` fields) and, with a mapped status, both statuses.
//!
//! # Guarantees
//! - An echo writes nothing: applying a plan's writes and transitions to the sides and planning
//!   again with [`Plan::shadow`] gives an empty plan ([`Plan::is_empty`]); so does planning with
//!   both sides equal to the shadow. Both are property-tested.
//! - The planner never panics on its inputs.

mod fields;
mod level;
mod plan;
mod push;
mod rules;
mod status;
mod value;

#[cfg(test)]
mod tests;

pub use level::{level_shadow, level_winner};
pub use plan::{AgreedParent, ConflictNote, Plan, RemoteLinkState, STATUS_KEY, Shadow, Side, Warning, plan};
pub use push::plan_push;
pub use rules::{Conflict, Direction, FieldRule, Site, StatusRule};
pub use value::{Unmapped, Value};
