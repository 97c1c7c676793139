//! The `jirafed` binary: parse the command line, start telemetry, run the
//! command (`jirafed::cli`), exit with its code.

use std::process::ExitCode;

use clap::Parser;
use jirafed::cli::{self, Cli};
use jirafed::telemetry;

fn main() -> ExitCode {
    one_malloc_arena();
    let cli = Cli::parse();
    // The demo prints its own story; the daemon's routine lines would drown it.
    let level = if cli::is_demo(&cli) && cli.log_level == "info" { "warn" } else { cli.log_level.as_str() };
    telemetry::init(telemetry::pick_format(cli.log_format), level);
    cli::run(cli)
}

/// glibc keeps a malloc arena per thread (up to 8 per core), each holding
/// on to memory freed in it, so the daemon's RSS would creep up with the
/// work it has seen; jirafed's throughput is bounded by Jira's rate limits,
/// not by allocation, so one arena does (docs/benchmarks.md, "Memory").
/// `MALLOC_ARENA_MAX` in the environment still decides when set.
fn one_malloc_arena() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        // SAFETY: called first thing in main, before any other thread
        // exists; mallopt only sets a tunable of the allocator.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, 1);
        }
    }
}
