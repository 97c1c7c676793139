//! The sync engine: changes come in (webhook intake, poller), the planner
//! turns them into jobs, the writers carry the jobs out. See
//! `docs/architecture.md` for one change's walk through it.

pub mod activity;
pub mod change;
pub mod engine;
pub mod fields;
pub mod flows;
pub mod housekeeping;
pub mod import;
pub mod in_flight;
pub mod intake;
pub mod job;
pub mod link_echoes;
pub mod pairing;
pub mod planner;
pub mod poller;
pub mod reconcile;
pub mod sites;
pub mod supervise;
#[cfg(test)]
pub(crate) mod testing;
pub mod wake;
pub mod writer;

pub use engine::Engine;
