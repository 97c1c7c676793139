//! The Debian package's parts as the repository holds them: the generic
//! systemd unit, the package metadata in `Cargo.toml`, and the example
//! config checked with its secrets handed over the way the unit hands them
//! (the credentials folder loaded whole). The package itself is built and
//! listed by `packaging/build-deb` and `packaging/check-deb` in `.ci/run`.

use std::path::Path;

use jirafed::config::CREDENTIALS_FOLDER_ID;

use super::cli::{FILES, VARS, jirafed, text};
use super::config::write_private;

/// Where the package puts the secret files (docs/install.md).
const CREDENTIALS_FOLDER: &str = "/etc/jirafed/credentials";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &str) -> String {
    std::fs::read_to_string(root().join(path)).unwrap_or_else(|e| panic!("read {path}: {e}"))
}

/// The `KEY=` lines of the unit, values as written.
fn unit_values<'a>(unit: &'a str, key: &str) -> Vec<&'a str> {
    let prefix = format!("{key}=");
    unit.lines().filter_map(|l| l.strip_prefix(prefix.as_str())).collect()
}

/// The unit works for any config without an edit: one `LoadCredential=`
/// for the whole folder (none per secret), under the id jirafed resolves
/// relative `*_file` paths with, and the binary where the package puts it.
#[test]
fn the_unit_loads_the_credentials_folder_whole() {
    let unit = read("systemd/jirafed.service");
    let loads = unit_values(&unit, "LoadCredential");
    assert_eq!(loads, [format!("{CREDENTIALS_FOLDER_ID}:{CREDENTIALS_FOLDER}")], "per-secret LoadCredential= lines");
    for secret in FILES {
        assert!(!unit.contains(&format!("{secret}:")), "the unit names the secret {secret}");
    }
    assert_eq!(unit_values(&unit, "EnvironmentFile"), ["-/etc/jirafed/environment"]);
    let execs: Vec<&str> = ["ExecStartPre", "ExecStart"].iter().flat_map(|k| unit_values(&unit, k)).collect();
    assert_eq!(execs.len(), 2, "{execs:?}");
    for exec in execs {
        assert!(exec.starts_with("/usr/bin/jirafed ") && exec.contains("--config /etc/jirafed/jirafed.toml"), "{exec}");
    }
    assert!(!unit.contains("/usr/local"), "the packaged binary is /usr/bin/jirafed");
    assert_eq!(unit_values(&unit, "DynamicUser"), ["yes"]);
}

/// `[package.metadata.deb]` puts the binary, the unit, the example config
/// (a conffile), the man page and the completions where Debian looks for
/// them, from files that exist in the repository or that
/// `packaging/build-deb` generates.
#[test]
fn the_package_metadata_names_every_part() {
    let manifest: toml::Table = read("Cargo.toml").parse().expect("Cargo.toml");
    let deb = &manifest["package"]["metadata"]["deb"];
    let assets: Vec<(&str, &str)> = deb["assets"]
        .as_array()
        .expect("assets")
        .iter()
        .map(|a| (a[0].as_str().expect("source"), a[1].as_str().expect("dest")))
        .collect();
    let build_deb = read("packaging/build-deb");
    for (source, _) in &assets {
        match source.strip_prefix("target/release/packaging/") {
            Some(generated) => assert!(build_deb.contains(&format!("$out/{generated}\"")), "{source} not generated"),
            None if *source == "target/release/jirafed" => {}
            None => assert!(root().join(source).is_file(), "{source} missing"),
        }
    }
    let dest = |d: &str| assets.iter().find(|(_, dest)| *dest == d).map(|(s, _)| *s);
    assert_eq!(dest("usr/bin/"), Some("target/release/jirafed"));
    assert_eq!(dest("etc/jirafed/jirafed.toml"), Some("config/jirafed.example.toml"));
    for d in [
        "usr/share/man/man1/jirafed.1.gz",
        "usr/share/bash-completion/completions/jirafed",
        "usr/share/zsh/vendor-completions/_jirafed",
        "usr/share/fish/vendor_completions.d/jirafed.fish",
    ] {
        assert!(dest(d).is_some(), "no asset for {d}");
    }
    assert_eq!(deb["conf-files"].as_array().expect("conf-files")[0].as_str(), Some("/etc/jirafed/jirafed.toml"));
    // cargo-deb finds the unit as systemd/<unit-name>.service.
    let unit = deb["systemd-units"]["unit-name"].as_str().expect("unit-name");
    assert!(root().join(format!("systemd/{unit}.service")).is_file());
    let postinst = read("packaging/debian/postinst");
    assert!(postinst.contains(&format!("install -d -m 0700 -o root -g root {CREDENTIALS_FOLDER}")), "{postinst}");
    assert!(postinst.contains("#DEBHELPER#"), "the unit's maintainer snippets go in");
}

/// systemd loads each file `F` of the folder as the credential
/// `jirafed_F`: the shipped example config, unchanged, finds every secret
/// and its CA certificate there. A missing one is reported under the name
/// the config gave, and no secret value is ever printed.
#[test]
fn the_example_config_checks_with_the_credentials_folder_loaded_whole() {
    let creds = tempfile::tempdir().expect("tempdir");
    let loaded = |name: &str| creds.path().join(format!("{CREDENTIALS_FOLDER_ID}_{name}"));
    for name in FILES {
        write_private(&loaded(name), "dummy-secret-value\n");
    }
    std::fs::copy(root().join("tests/it/fixtures/isrg-root-x1.pem"), loaded("acme-internal-ca.pem")).expect("CA");
    let example = root().join("config/jirafed.example.toml").display().to_string();
    let creds_dir = creds.path().display().to_string();
    let mut envs = vec![("CREDENTIALS_DIRECTORY", creds_dir.as_str())];
    envs.extend(VARS.iter().map(|v| (*v, "dummy-secret-value")));
    let check = ["check", "--offline", "--config", example.as_str()];

    let out = jirafed(&check, &envs);
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    assert!(t.contains("valid") && t.contains("OK"), "{t}");
    assert!(!t.contains("dummy-secret-value"), "{t}");
    assert!(!t.contains("readable by everyone"), "{t}");

    std::fs::remove_file(loaded("emea-pat")).expect("remove");
    let out = jirafed(&check, &envs);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    let wanted = creds.path().join("emea-pat").display().to_string();
    assert!(t.contains("bearer_file") && t.contains(&format!("cannot read secret file {wanted}")), "{t}");
    assert!(!t.contains("dummy-secret-value"), "{t}");
}
