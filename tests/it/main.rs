//! One integration-test binary; each area is a module (compiling many test
//! crates is slow on CI's two cores).

mod cli;
mod config;
