//! jirafed: a daemon that federates several Jira sites.
//!
//! The binary (`src/main.rs`) is thin; everything it does lives here so that
//! tests drive the same code. See `docs/architecture.md` for the map.

pub mod admin;
pub mod cli;
pub mod clock;
pub mod config;
pub mod current;
pub mod daemon;
pub mod error_text;
pub mod harness;
pub mod http;
pub mod ids;
pub mod jira;
pub mod mapping;
pub mod observe;
pub mod sim;
pub mod store;
pub mod sync;
pub mod telemetry;
