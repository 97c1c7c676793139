//! The command line: the clap definitions of every command and flag, and
//! one file per command. `main.rs` parses, starts telemetry and calls
//! [`run`].

mod audit;
mod check;
mod completions;
mod dead_letters;
mod demo;
mod import;
mod pairing;
mod reload;
mod resync;
mod run;
mod sim;
mod state;
mod status;
pub mod webhooks;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::telemetry::LogFormat;

/// Default config path for an on-prem install.
pub const DEFAULT_CONFIG: &str = "/etc/jirafed/jirafed.toml";
/// The environment variable naming the config when `--config` is not given.
pub const CONFIG_ENV: &str = "JIRAFED_CONFIG";

#[derive(Debug, Parser)]
#[command(
    name = "jirafed",
    version,
    about = "Federates several Jira sites: one primary, several secondaries, mapped both ways."
)]
pub struct Cli {
    /// The config file; default $JIRAFED_CONFIG, else /etc/jirafed/jirafed.toml. For `sim`: a world
    /// file (default: the demo world). Accepted before or after the command name.
    #[arg(long, short = 'c', global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
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
    /// Exits 65 when the state file is damaged, or missing or empty where a store existed.
    Run(RunArgs),
    /// Run the simulated sites and the daemon, and play a story of changes flowing.
    Demo(DemoArgs),
    /// List, retry or drop writes that Jira refused (through the running daemon).
    #[command(name = "dead-letters")]
    DeadLetters(DeadLettersArgs),
    /// Make the running daemon read its config again (as SIGHUP does) and say what became of it.
    Reload(ReloadArgs),
    /// Run the Jira simulator (the demo world unless --config names a world file) until Ctrl-C.
    Sim(SimArgs),
    /// Check the state file, or back it up while the daemon runs.
    State(StateArgs),
    /// Pair two existing issues of a flow by hand and bring them level (through the running daemon,
    /// or on the state file when none runs).
    Link(LinkArgs),
    /// Sever the pair holding KEY, leaving both issues; neither is mirrored again unless `jirafed
    /// link` pairs it (through the running daemon, or on the state file when none runs).
    Unlink(UnlinkArgs),
    /// Make the running daemon check pairs against both sites now (every pair, a FLOW's, or the
    /// pair holding KEY) and queue what is not as last synced.
    Resync(ResyncArgs),
    /// Mirror the issues of FLOW that exist already: pair those mirrored by hand or by an earlier
    /// run, create the rest at the write budget (through the running daemon, or here on the state
    /// file when none runs). Run again, it goes on where it stopped and never duplicates.
    Import(ImportArgs),
    /// Show what the running daemon's /status says, as tables (times as "12 s ago"), or the
    /// /status JSON document itself with --json.
    Status(StatusArgs),
    /// Show the audit log of the running daemon, newest first: writes done or given up (outcome,
    /// latency, the change that caused them) and conflicts resolved.
    Audit(AuditArgs),
    /// Stop writing to INSTANCE (its maintenance): changes queue in the outbox until `jirafed
    /// resume`; kept across restarts; shown in status and metrics.
    Pause(PauseArgs),
    /// Let writes to INSTANCE go on after `jirafed pause`.
    Resume(PauseArgs),
    /// Print the shell completion script for SHELL (e.g. `jirafed completions bash >
    /// /usr/share/bash-completion/completions/jirafed`).
    Completions {
        /// bash, zsh, fish, elvish or powershell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page jirafed(1) in roff (e.g. `jirafed man > jirafed.1`).
    Man,
    /// Register, list or remove the webhooks that make each site post its events to jirafed (at
    /// `daemon.public_url`), through Jira's webhook REST API; needs a Jira administrator's token.
    Webhooks(WebhooksArgs),
}

#[derive(Debug, Args)]
pub struct WebhooksArgs {
    #[command(subcommand)]
    pub action: WebhooksAction,
}

#[derive(Debug, Subcommand)]
pub enum WebhooksAction {
    /// Register jirafed's webhook on INSTANCE (default: every site), or update the one posting to
    /// the same URL: events, JQL filter from the flows' scopes, the instance's webhook secret.
    Install {
        /// The instance (a site of the config), e.g. hub; default: every site.
        instance: Option<String>,
    },
    /// List the webhooks registered on INSTANCE (default: every site), jirafed's marked with its
    /// state: registered, missing or stale.
    List {
        /// The instance (a site of the config), e.g. hub; default: every site.
        instance: Option<String>,
        /// Print a JSON array, one object per site.
        #[arg(long)]
        json: bool,
    },
    /// Remove jirafed's webhook (every registration posting to its URL) from INSTANCE (default:
    /// every site).
    Remove {
        /// The instance (a site of the config), e.g. hub; default: every site.
        instance: Option<String>,
    },
}

impl WebhooksAction {
    fn instance(&self) -> Option<&str> {
        match self {
            WebhooksAction::Install { instance } | WebhooksAction::Remove { instance } => instance.as_deref(),
            WebhooksAction::List { instance, .. } => instance.as_deref(),
        }
    }
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The flow whose existing issues are mirrored.
    pub flow: String,
    /// JQL added to the flow's scopes with AND (e.g. "created >= -90d").
    #[arg(long, value_name = "EXTRA")]
    pub jql: Option<String>,
    /// Print the plan (to create, to pair, to skip with the reason) and write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Create or pair at most N issues in this run; run again for the rest.
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
    /// Pair issues copied by hand: `summary` (equal summaries within the flow's projects, reported
    /// as guesses) or a field of the primary (id or name) holding the secondary issue's key.
    #[arg(long, value_name = "FIELD")]
    pub match_field: Option<String>,
    /// The daemon's admin socket; default: `daemon.admin_socket` of the config.
    #[arg(long, value_name = "PATH")]
    pub socket: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ResyncArgs {
    /// A flow's name, or an issue key (either issue of a pair); default: every pair.
    #[arg(value_name = "FLOW|KEY")]
    pub target: Option<String>,
    /// The daemon's admin socket; default: `daemon.admin_socket` of the config.
    #[arg(long, value_name = "PATH")]
    pub socket: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct LinkArgs {
    /// The flow the pair belongs to.
    pub flow: String,
    /// The issue on the flow's secondary site.
    pub secondary_key: String,
    /// The issue on the primary site, in the flow's primary project.
    pub primary_key: String,
    /// Whose values the other issue takes; default: the flow's conflict policy.
    #[arg(long, value_enum)]
    pub prefer: Option<PreferArg>,
    /// The daemon's admin socket; default: `daemon.admin_socket` of the config.
    #[arg(long, value_name = "PATH")]
    pub socket: Option<PathBuf>,
}

/// `--prefer`'s values.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum PreferArg {
    Primary,
    Secondary,
}

#[derive(Debug, Args)]
pub struct UnlinkArgs {
    /// Either issue of the pair, by key (the secondary's when the primary issue mirrors several).
    pub key: String,
    /// The daemon's admin socket; default: `daemon.admin_socket` of the config.
    #[arg(long, value_name = "PATH")]
    pub socket: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Create the state file anew when it is missing or empty although a store existed here
    /// (its `.created` marker is present); every pairing is then forgotten. A damaged file is
    /// never replaced: move it aside first.
    #[arg(long)]
    pub init: bool,
}

#[derive(Debug, Args)]
pub struct StateArgs {
    #[command(subcommand)]
    pub action: StateAction,
    /// The daemon's admin socket; default: `daemon.admin_socket` of the config.
    #[arg(long, global = true, value_name = "PATH")]
    pub socket: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum StateAction {
    /// Verify the state file: redb's integrity check, the schema version, record counts. Offline
    /// on a copy of the file; through the running daemon when it holds the file (or with
    /// --socket). Exit 0 clean, 65 damaged, missing or empty, 1 could not check.
    Check {
        /// The redb file; default: `jirafed.redb` in `daemon.state_dir` of the config.
        #[arg(long, value_name = "PATH")]
        file: Option<PathBuf>,
    },
    /// Write a consistent copy of the state file while the daemon runs (through its admin
    /// socket; the daemon copies every table inside one read transaction). Restore: see
    /// docs/operations.md.
    Backup {
        /// Where the copy goes (a path as the daemon sees it).
        file: PathBuf,
        /// Overwrite FILE if it exists.
        #[arg(long)]
        force: bool,
    },
}

impl Cli {
    /// The jirafed config file: `--config`, else `$JIRAFED_CONFIG`, else
    /// [`DEFAULT_CONFIG`].
    pub fn config_path(&self) -> PathBuf {
        config_path(self.config.as_deref(), std::env::var_os(CONFIG_ENV).map(PathBuf::from))
    }
}

fn config_path(flag: Option<&Path>, env: Option<PathBuf>) -> PathBuf {
    flag.map(Path::to_path_buf).or(env).unwrap_or_else(|| PathBuf::from(DEFAULT_CONFIG))
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Do not contact the sites; still reads every secret.
    #[arg(long)]
    pub offline: bool,
    /// Print one JSON document (config, instances, flows, counts) instead
    /// of the report; its names are kept stable for tooling.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct SimArgs {
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
pub struct StatusArgs {
    /// Print the /status document (JSON) instead of tables.
    #[arg(long)]
    pub json: bool,
    /// The daemon's admin socket; default: `daemon.admin_socket` of the config.
    #[arg(long, value_name = "PATH")]
    pub socket: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct AuditArgs {
    /// Only records about this issue key (either side of a pair, or the issue whose change caused
    /// the write).
    #[arg(long, value_name = "KEY")]
    pub issue: Option<String>,
    /// Only records of this flow.
    #[arg(long, value_name = "NAME")]
    pub flow: Option<String>,
    /// Only records of the last DURATION (e.g. 1h, 30m, 2d).
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub since: Option<std::time::Duration>,
    /// Show at most N records.
    #[arg(long, value_name = "N", default_value_t = 50)]
    pub limit: usize,
    /// Print the records as a JSON array.
    #[arg(long)]
    pub json: bool,
    /// The daemon's admin socket; default: `daemon.admin_socket` of the config.
    #[arg(long, value_name = "PATH")]
    pub socket: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct PauseArgs {
    /// The instance (a site of the config), e.g. hub.
    pub instance: String,
    /// The daemon's admin socket; default: `daemon.admin_socket` of the config.
    #[arg(long, value_name = "PATH")]
    pub socket: Option<PathBuf>,
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
}

#[derive(Debug, Args)]
pub struct ReloadArgs {
    /// The daemon's admin socket; default: `daemon.admin_socket` of the config.
    #[arg(long)]
    pub socket: Option<PathBuf>,
}

/// The admin socket: `--socket`, else `daemon.admin_socket` of the config.
fn admin_socket(config: &Path, flag: Option<&Path>) -> anyhow::Result<PathBuf> {
    if let Some(s) = flag {
        return Ok(s.to_path_buf());
    }
    let cfg = crate::config::load(config).map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(cfg.daemon.admin_socket)
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

/// Runs the parsed command; what it prints goes to stdout, errors to
/// stderr as `error: ...`.
pub fn run(cli: Cli) -> ExitCode {
    let config = cli.config_path();
    match cli.command {
        Command::Check(args) => check::run(&config, args.offline, args.json),
        Command::Sim(args) => exit(runtime().and_then(|rt| rt.block_on(sim::run(cli.config.as_deref(), args)))),
        Command::Run(args) => exit(runtime().and_then(|rt| rt.block_on(run::run(&config, args.init)))),
        Command::State(args) => state::run(&config, args),
        Command::Demo(args) => exit(runtime().and_then(|rt| rt.block_on(demo::run(args)))),
        Command::DeadLetters(args) => printed(|| dead_letters::run(&config, args)),
        Command::Reload(args) => printed(|| reload::run(&config, args)),
        Command::Link(args) => printed(|| pairing::link(&config, args)),
        Command::Resync(args) => printed(|| resync::run(&config, args)),
        Command::Unlink(args) => printed(|| pairing::unlink(&config, args)),
        Command::Import(args) => printed(|| import::run(&config, args)),
        Command::Status(args) => printed(|| status::run(&config, args)),
        Command::Audit(args) => printed(|| audit::run(&config, args)),
        Command::Pause(args) => printed(|| status::pause(&config, args, true)),
        Command::Resume(args) => printed(|| status::pause(&config, args, false)),
        Command::Completions { shell } => exit(completions::completions(shell)),
        Command::Man => exit(completions::man()),
        Command::Webhooks(args) => printed(|| webhooks::run(&config, args)),
    }
}

/// Runs a command that answers with text to print (stdout), or an error.
fn printed<F: std::future::Future<Output = anyhow::Result<String>>>(command: impl FnOnce() -> F) -> ExitCode {
    exit(runtime().and_then(|rt| {
        print!("{}", rt.block_on(command())?);
        Ok(())
    }))
}

/// Whether the demo runs: its own story says what happens, so the
/// daemon's routine lines are kept below `warn` unless asked for.
pub fn is_demo(cli: &Cli) -> bool {
    matches!(cli.command, Command::Demo(_))
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread().enable_all().build()?)
}

/// Exit code of a damaged, missing or empty state file (sysexits EX_DATAERR);
/// the systemd unit does not restart on it (`RestartPreventExitStatus=65`).
pub const EXIT_DATA_ERROR: u8 = 65;

fn exit(result: anyhow::Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(exit_code(&e))
        }
    }
}

/// 65 when the error is the state file's ([`crate::store::StoreError::is_data_error`]), else 1.
fn exit_code(e: &anyhow::Error) -> u8 {
    let data = e.chain().any(|c| c.downcast_ref::<crate::store::StoreError>().is_some_and(|s| s.is_data_error()));
    if data { EXIT_DATA_ERROR } else { 1 }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Cli {
        Cli::try_parse_from(args).unwrap_or_else(|e| panic!("{args:?}: {e}"))
    }

    #[test]
    fn config_is_accepted_before_or_after_the_command() {
        for args in [
            &["jirafed", "--config", "a.toml", "dead-letters", "list"][..],
            &["jirafed", "dead-letters", "--config", "a.toml", "list"],
            &["jirafed", "dead-letters", "list", "--config", "a.toml"],
            &["jirafed", "check", "--offline", "-c", "a.toml"],
            &["jirafed", "-c", "a.toml", "run"],
            &["jirafed", "run", "--init", "-c", "a.toml"],
            &["jirafed", "state", "check", "-c", "a.toml"],
            &["jirafed", "sim", "--config", "a.toml"],
        ] {
            assert_eq!(parse(args).config.as_deref(), Some(Path::new("a.toml")), "{args:?}");
        }
    }

    #[test]
    fn the_config_path_falls_back_to_the_environment_then_etc() {
        assert_eq!(config_path(Some(Path::new("a")), Some("b".into())), PathBuf::from("a"));
        assert_eq!(config_path(None, Some("b".into())), PathBuf::from("b"));
        assert_eq!(config_path(None, None), PathBuf::from(DEFAULT_CONFIG));
    }

    #[test]
    fn the_definitions_are_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
