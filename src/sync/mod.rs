//! The sync engine: change intake, poller, planner, writer, reconcile.

pub mod change;
pub mod engine;
pub mod fields;
pub mod housekeeping;
pub mod intake;
pub mod job;
pub mod metrics;
pub mod planner;
pub mod poller;
pub mod status;
pub mod writer;
