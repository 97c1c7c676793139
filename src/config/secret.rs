//! Secrets: a wrapper that never prints its value, and the rules for where a
//! secret is read from (`*_file`, `*_env`, or inline with a warning).

use std::fmt;
use std::path::{Path, PathBuf};

/// A credential. `Debug` and `Display` print `***`; only [`Secret::expose`]
/// gives the value, and only the Jira client and webhook verifier call it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Where a secret comes from, as written in the config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretSource {
    /// `*_file`: as given when absolute; else relative to
    /// `$CREDENTIALS_DIRECTORY` when set, else to the config file's folder.
    File(PathBuf),
    /// `*_env`: the name of an environment variable.
    Env(String),
    /// An inline value: accepted, with a warning from `check`.
    Inline,
}

/// What the loader needs from the process environment, injected so tests do
/// not depend on (or change) the real environment.
pub trait Environment {
    fn var(&self, name: &str) -> Option<String>;
}

/// The real process environment.
pub struct ProcessEnv;

impl Environment for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }
}

impl<F: Fn(&str) -> Option<String>> Environment for F {
    fn var(&self, name: &str) -> Option<String> {
        self(name)
    }
}

/// Resolves a `*_file` path per the rules of [`SecretSource::File`].
pub fn resolve_secret_path(path: &Path, config_dir: &Path, env: &dyn Environment) -> PathBuf {
    if path.is_absolute() {
        return path.to_path_buf();
    }
    match env.var("CREDENTIALS_DIRECTORY") {
        Some(dir) if !dir.is_empty() => Path::new(&dir).join(path),
        _ => config_dir.join(path),
    }
}

/// Reads a secret file. Trailing newlines are dropped (editors and `echo`
/// add them); other whitespace is kept. Returns the value and whether the
/// file is readable by everyone, which deserves a warning.
pub fn read_secret_file(path: &Path) -> Result<(Secret, bool), String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read secret file {}: {e}", path.display()))?;
    let value = text.trim_end_matches(['\n', '\r']);
    if value.is_empty() {
        return Err(format!("secret file {} is empty", path.display()));
    }
    Ok((Secret::new(value), world_readable(path)))
}

#[cfg(unix)]
fn world_readable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).map(|m| m.permissions().mode() & 0o004 != 0).unwrap_or(false)
}

#[cfg(not(unix))]
fn world_readable(_path: &Path) -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_hide_the_value() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s:?}"), "***");
        assert_eq!(format!("{s}"), "***");
        assert_eq!(s.expose(), "hunter2");
    }

    #[test]
    fn relative_paths_prefer_the_credentials_directory() {
        let env = |k: &str| (k == "CREDENTIALS_DIRECTORY").then(|| "/run/credentials/x".to_string());
        let p = resolve_secret_path(Path::new("tok"), Path::new("/etc/jirafed"), &env);
        assert_eq!(p, Path::new("/run/credentials/x/tok"));
        let none = |_: &str| None;
        let p = resolve_secret_path(Path::new("tok"), Path::new("/etc/jirafed"), &none);
        assert_eq!(p, Path::new("/etc/jirafed/tok"));
        let p = resolve_secret_path(Path::new("/abs/tok"), Path::new("/etc/jirafed"), &env);
        assert_eq!(p, Path::new("/abs/tok"));
    }
}
