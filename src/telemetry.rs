//! Logging through tracing: human lines on a terminal, JSON otherwise.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Coloured, one line per event, for people at a terminal.
    Human,
    /// One JSON object per line, for journald and log shippers.
    Json,
}

/// Picks the format: the one asked for, else human on a terminal and JSON
/// otherwise (systemd, pipes).
pub fn pick_format(asked: Option<LogFormat>) -> LogFormat {
    asked.unwrap_or_else(|| if std::io::stderr().is_terminal() { LogFormat::Human } else { LogFormat::Json })
}

/// Installs the global subscriber. `RUST_LOG` wins over `level` when set.
pub fn init(format: LogFormat, level: &str) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let result = match format {
        LogFormat::Human => builder.with_ansi(std::io::stderr().is_terminal()).try_init(),
        LogFormat::Json => builder.json().flatten_event(true).with_current_span(true).try_init(),
    };
    // A second init (tests, embedded use) keeps the first subscriber.
    let _ = result;
}
