//! The sync engine: change intake, poller, planner, writer, reconcile.

pub mod change;
pub mod engine;
pub mod fields;
pub mod job;
pub mod planner;
pub mod poller;
pub mod writer;
