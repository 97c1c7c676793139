//! Configuration: loaded with figment (TOML file, then `JIRAFED_` environment
//! overrides with `__` between levels), validated into typed structs, every
//! problem reported at once with its origin and key path.

mod ca;
mod flows;
mod parse;
mod reader;
mod secret;
mod syntax;
mod types;

use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Format, Toml};

pub use ca::read_ca_file;
pub use reader::{Choice, Problem};
pub use secret::{CREDENTIALS_FOLDER_ID, Environment, ProcessEnv, Secret, SecretSource};
pub use syntax::SyntaxError;
pub use types::*;

/// Prefix of environment overrides, e.g. `JIRAFED_INSTANCES__HUB__URL`.
pub const ENV_PREFIX: &str = "JIRAFED_";

/// Variables with the prefix that belong to the command line, not to the
/// config tree, and are therefore not treated as overrides.
pub const CLI_ENV_VARS: &[&str] = &["JIRAFED_CONFIG", "JIRAFED_LOG_FORMAT", "JIRAFED_LOG_LEVEL"];

/// Variables with the prefix that belong to the test suite, not to the
/// config tree: CI sets `JIRAFED_REQUIRE_TOOLS=1` (a test whose external
/// tool is missing fails instead of skipping), and the daemons the tests
/// start inherit it.
pub const TEST_ENV_VARS: &[&str] = &["JIRAFED_REQUIRE_TOOLS"];

/// Why a config could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("config file {file}: {message}")]
    Unreadable { file: PathBuf, message: String },
    #[error("config file {file}, {error}")]
    Syntax { file: PathBuf, error: SyntaxError },
    #[error("{}", render_problems(file, problems))]
    Invalid { file: PathBuf, problems: Vec<Problem> },
}

fn render_problems(file: &Path, problems: &[Problem]) -> String {
    let mut out = format!(
        "config file {} has {} problem{}:",
        file.display(),
        problems.len(),
        if problems.len() == 1 { "" } else { "s" }
    );
    for p in problems {
        out.push_str("\n  - ");
        out.push_str(&p.to_string());
    }
    out
}

impl ConfigError {
    /// Every problem, one per line item (a read error counts as one).
    pub fn problems(&self) -> Vec<String> {
        match self {
            ConfigError::Unreadable { .. } | ConfigError::Syntax { .. } => vec![self.to_string()],
            ConfigError::Invalid { problems, .. } => problems.iter().map(ToString::to_string).collect(),
        }
    }
}

/// Loads `path` with overrides from the real process environment.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let vars: Vec<(String, String)> = std::env::vars().collect();
    load_with(path, &vars, &ProcessEnv)
}

/// Loads `path` with the given environment variables as overrides (only
/// those with [`ENV_PREFIX`] count) and `env` for `*_env` secrets and
/// `$CREDENTIALS_DIRECTORY`. Tests call this instead of touching the real
/// environment.
pub fn load_with(path: &Path, vars: &[(String, String)], env: &dyn Environment) -> Result<Config, ConfigError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigError::Unreadable { file: path.to_path_buf(), message: format!("cannot read: {e}") })?;
    if let Err(e) = toml::from_str::<toml::Table>(&text) {
        return Err(ConfigError::Syntax { file: path.to_path_buf(), error: syntax::describe(&text, &e) });
    }
    let figment = Figment::from(Toml::file_exact(path)).merge(parse::EnvOverrides::new(vars));
    let root =
        parse::root_dict(&figment).map_err(|message| ConfigError::Unreadable { file: path.to_path_buf(), message })?;
    let config_dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let config_dir = if config_dir.as_os_str().is_empty() { PathBuf::from(".") } else { config_dir };
    parse::build(&figment, &root, path, &config_dir, env)
}
