//! The `jirafed` binary: parse the command line, start telemetry, run the
//! command (`jirafed::cli`), exit with its code.

use std::process::ExitCode;

use clap::Parser;
use jirafed::cli::{self, Cli};
use jirafed::telemetry;

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The demo prints its own story; the daemon's routine lines would drown it.
    let level = if cli::is_demo(&cli) && cli.log_level == "info" { "warn" } else { cli.log_level.as_str() };
    telemetry::init(telemetry::pick_format(cli.log_format), level);
    cli::run(cli)
}
