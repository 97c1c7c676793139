//! The command line (clap definitions only; `main.rs` dispatches).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::telemetry::LogFormat;

/// Default config path for an on-prem install.
pub const DEFAULT_CONFIG: &str = "/etc/jirafed/jirafed.toml";

#[derive(Debug, Parser)]
#[command(
    name = "jirafed",
    version,
    about = "Federates several Jira sites: one primary, several secondaries, mapped both ways."
)]
pub struct Cli {
    /// Log format; default: human on a terminal, json otherwise.
    #[arg(long, global = true, value_enum, env = "JIRAFED_LOG_FORMAT")]
    pub log_format: Option<LogFormat>,
    /// Log level or filter (e.g. `info`, `jirafed=debug`); RUST_LOG wins when set.
    #[arg(long, global = true, default_value = "info", env = "JIRAFED_LOG_LEVEL")]
    pub log_level: String,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Validate the configuration (and, unless --offline, the sites) and report every problem; exit 1 if any.
    Check(CheckArgs),
    /// Run the daemon in the foreground (systemd Type=notify; SIGHUP reloads, SIGTERM drains).
    Run(ConfigArg),
    /// Run the simulated sites and the daemon, and play a story of changes flowing.
    Demo(DemoArgs),
    /// List, retry or drop writes that Jira refused (through the running daemon).
    #[command(name = "dead-letters")]
    DeadLetters(DeadLettersArgs),
    /// Run the Jira simulator (the demo world unless --config is given) until Ctrl-C.
    Sim(SimArgs),
}

#[derive(Debug, Args)]
pub struct ConfigArg {
    /// Path of the TOML config file.
    #[arg(long, short = 'c', env = "JIRAFED_CONFIG", default_value = DEFAULT_CONFIG)]
    pub config: PathBuf,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub config: ConfigArg,
    /// Do not contact the sites; still reads every secret.
    #[arg(long)]
    pub offline: bool,
}

#[derive(Debug, Args)]
pub struct SimArgs {
    /// A world file (TOML) describing sites and seed data; default: the demo world.
    #[arg(long, short = 'c')]
    pub config: Option<PathBuf>,
    /// Serve the sites on N+1, N+2, ... in order (default world: hub, emea,
    /// apac on 8801..8803); 0 picks free ports. With --config it overrides
    /// the file's ports; without it the file's ports stand.
    #[arg(long)]
    pub port_base: Option<u16>,
    /// Print the world that would be served (the default one, or --config's,
    /// with --port-base applied) as TOML and exit: a starting point for --config.
    #[arg(long)]
    pub print_config: bool,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Keep the daemon's state here instead of a temporary folder.
    #[arg(long)]
    pub state_dir: Option<PathBuf>,
    /// Exit after the story: 0 only if every expected propagation was seen.
    #[arg(long)]
    pub once: bool,
    /// Serve the simulated sites on N+1..N+3 (0: free ports).
    #[arg(long, default_value_t = 0)]
    pub port_base: u16,
}

#[derive(Debug, Args)]
pub struct DeadLettersArgs {
    #[command(subcommand)]
    pub action: DeadLetterAction,
    /// The daemon's admin socket; default: `daemon.admin_socket` of the config.
    #[arg(long, global = true)]
    pub socket: Option<PathBuf>,
    #[command(flatten)]
    pub config: ConfigArg,
}

#[derive(Debug, Subcommand)]
pub enum DeadLetterAction {
    /// Show every dead letter with Jira's own error text.
    List,
    /// Put a dead letter (or --all) back at the head of its issue's queue.
    Retry {
        id: Option<u64>,
        #[arg(long, conflicts_with = "id")]
        all: bool,
    },
    /// Forget a dead letter; later writes to its issue go on.
    Drop { id: u64 },
}
