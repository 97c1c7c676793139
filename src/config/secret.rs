//! Secrets: a wrapper that never prints its value, and the rules for where a
//! secret is read from (`*_file`, `*_env`, or inline with a warning).

use std::fmt;
use std::path::{Component, Path, PathBuf};

/// The credential id under which the packaged unit hands over the whole
/// credentials folder (`LoadCredential=jirafed:/etc/jirafed/credentials`).
/// systemd loads each file of a folder as its own credential named
/// `<id>_<file>` (a file in a subfolder as `<id>_<sub>_<file>`), so the
/// file `hub-token` arrives as `$CREDENTIALS_DIRECTORY/jirafed_hub-token`.
pub const CREDENTIALS_FOLDER_ID: &str = "jirafed";

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
    /// `$CREDENTIALS_DIRECTORY` when set (as `<path>`, or as systemd names a
    /// file of the credentials folder, see [`CREDENTIALS_FOLDER_ID`]), else
    /// to the config file's folder.
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

/// Resolves a `*_file` path per the rules of [`SecretSource::File`]. In
/// `$CREDENTIALS_DIRECTORY`, a credential loaded by its own name wins; when
/// there is none, the one systemd made of the same file in the credentials
/// folder is used; when neither exists, the first is returned, so that the
/// error names the path the config asked for.
pub fn resolve_secret_path(path: &Path, config_dir: &Path, env: &dyn Environment) -> PathBuf {
    if path.is_absolute() {
        return path.to_path_buf();
    }
    match env.var("CREDENTIALS_DIRECTORY") {
        Some(dir) if !dir.is_empty() => {
            let own = Path::new(&dir).join(path);
            let folded = Path::new(&dir).join(folder_credential_name(path));
            if own.symlink_metadata().is_err() && folded.symlink_metadata().is_ok() { folded } else { own }
        }
        _ => config_dir.join(path),
    }
}

/// The name systemd gives `path` (relative to the credentials folder) when
/// it loads the folder as [`CREDENTIALS_FOLDER_ID`]: the id and every
/// component, joined with `_`.
fn folder_credential_name(path: &Path) -> String {
    let mut name = CREDENTIALS_FOLDER_ID.to_string();
    for part in path.components() {
        if let Component::Normal(part) = part {
            name.push('_');
            name.push_str(&part.to_string_lossy());
        }
    }
    name
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

    /// `LoadCredential=jirafed:/etc/jirafed/credentials` (the packaged unit)
    /// puts `hub-token` at `jirafed_hub-token` and `ca/internal.pem` at
    /// `jirafed_ca_internal.pem`; the config's names find them there.
    #[test]
    fn relative_paths_find_the_files_of_a_credentials_folder() {
        let dir = tempfile::tempdir().expect("tempdir");
        for name in ["jirafed_hub-token", "jirafed_ca_internal.pem", "emea-pat", "jirafed_emea-pat"] {
            std::fs::write(dir.path().join(name), "x").expect("write");
        }
        let creds = dir.path().display().to_string();
        let env = move |k: &str| (k == "CREDENTIALS_DIRECTORY").then(|| creds.clone());
        let resolve = |p: &str| resolve_secret_path(Path::new(p), Path::new("/etc/jirafed"), &env);
        assert_eq!(resolve("hub-token"), dir.path().join("jirafed_hub-token"));
        assert_eq!(resolve("./hub-token"), dir.path().join("jirafed_hub-token"));
        assert_eq!(resolve("ca/internal.pem"), dir.path().join("jirafed_ca_internal.pem"));
        // A credential loaded by its own name wins over the folder's copy.
        assert_eq!(resolve("emea-pat"), dir.path().join("emea-pat"));
        // Neither: the error will name the path the config gave.
        assert_eq!(resolve("legacy-password"), dir.path().join("legacy-password"));
    }
}
