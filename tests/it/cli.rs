//! The `jirafed` binary as an operator meets it.

use std::path::Path;
use std::process::{Command, Output};

use super::config::{BASE, ConfigDir, write_private};

/// Runs the built binary with `args` and only `envs` added to the environment.
pub(super) fn jirafed(args: &[&str], envs: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_jirafed"));
    cmd.args(args).env_remove("RUST_LOG").env_remove("CREDENTIALS_DIRECTORY");
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd.output().expect("run jirafed")
}

/// What the binary printed, stdout then stderr.
pub(super) fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// The secret files config/jirafed.example.toml names (its CA file aside).
pub(super) const FILES: [&str; 6] =
    ["hub-token", "hub-webhook-secret", "emea-pat", "emea-webhook-secret", "legacy-password", "legacy-webhook-secret"];
/// The environment variables it takes its other secrets from.
pub(super) const VARS: [&str; 4] =
    ["JIRA_APAC_TOKEN", "JIRA_APAC_WEBHOOK_SECRET", "JIRA_NORDICS_PAT", "JIRA_STAGING_PASSWORD"];

/// The example config checked as the README's snippet does it: the secret
/// files and the CA certificate in one credentials directory (as systemd's
/// LoadCredential= provides them) and the `*_env` variables set.
#[test]
fn the_example_config_checks_clean_offline() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).expect("README");
    for name in FILES.iter().chain(&VARS).chain(&["tests/it/fixtures/isrg-root-x1.pem", "acme-internal-ca.pem"]) {
        assert!(readme.contains(name), "the README's example check lacks {name}");
    }
    let creds = tempfile::tempdir().expect("tempdir");
    for name in FILES {
        write_private(&creds.path().join(name), "dummy-secret-value\n");
    }
    std::fs::copy(root.join("tests/it/fixtures/isrg-root-x1.pem"), creds.path().join("acme-internal-ca.pem"))
        .expect("copy CA");
    let example = root.join("config/jirafed.example.toml");
    let creds_dir = creds.path().display().to_string();
    let mut envs = vec![("CREDENTIALS_DIRECTORY", creds_dir.as_str())];
    envs.extend(VARS.iter().map(|v| (*v, "dummy-secret-value")));
    let out = jirafed(&["check", "--offline", "--config", &example.display().to_string()], &envs);
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    assert!(t.contains("valid") && t.contains("OK"), "{t}");
    assert!(t.contains("emea-delivery") && t.contains("apac-support"), "{t}");
    assert!(t.contains("links both (1 type(s), across instances none), hierarchy both (parent not carried)"), "{t}");
    assert!(t.contains("pushes \"project = PORT AND component = APAC\" from hub to apac project APAC"), "{t}");
    for id in ["hub", "emea", "apac", "nordics", "legacy", "staging"] {
        assert!(t.lines().any(|l| l.trim_start().starts_with(id)), "instance {id} listed: {t}");
    }
    assert!(t.contains("https://acme.atlassian.net  "), "no trailing slash: {t}");
    assert!(!t.contains("dummy-secret-value"), "{t}");
    assert!(!t.contains("readable by everyone") && !t.contains("inline secret"), "{t}");
}

#[test]
fn a_broken_config_exits_1_and_lists_every_problem() {
    let dir = ConfigDir::new();
    let broken = BASE
        .replacen("role = \"secondary\"\nflavour = \"datacenter\"", "role = \"secondary\"\nflavour = \"server\"", 1)
        .replacen("listen = \"127.0.0.1:8720\"", "listen = \"nowhere\"", 1)
        .replacen("primary_project = \"PORT\"", "primary_project = \"PORT\"\ncreate = \"always\"", 1);
    let path = dir.write(&broken);
    let out = jirafed(&["check", "--offline", "--config", &path.display().to_string()], &[("APAC_TOKEN", "x")]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(t.contains("3 problem(s)"), "{t}");
    for needle in ["instances.emea.flavour", "daemon.listen", "flows[0].create"] {
        assert!(t.contains(needle), "missing {needle}: {t}");
    }
}

/// Links, hierarchy and pushes from the primary are acted on: configured,
/// they pass `check` without a warning.
#[test]
fn links_hierarchy_and_pushes_pass_check_without_a_warning() {
    let dir = ConfigDir::new();
    let cfg = BASE
        .replacen(
            "primary_project = \"PORT\"",
            "primary_project = \"PORT\"\ncreate = \"both\"\nprimary_scope = \"project = PORT AND component = EMEA\"\nsecondary_project = \"EMEA\"\nlinks = { types = { Blocks = \"Dependency\" }, direction = \"both\" }\nhierarchy = { parent = true, direction = \"both\" }",
            1,
        )
        .replacen(
            "scope = \"project = APAC\"",
            "scope = \"project = APAC\"\ncreate = \"to_secondary\"\nprimary_scope = \"project = PORT AND component = APAC\"\nsecondary_project = \"APAC\"",
            1,
        );
    let path = dir.write(&cfg);
    let out = jirafed(&["check", "--offline", "--config", &path.display().to_string()], &[("APAC_TOKEN", "x")]);
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    assert!(t.contains("OK"), "{t}");
    let warnings: Vec<&str> = t.lines().filter(|l| l.trim_start().starts_with("warning:")).collect();
    assert!(warnings.is_empty(), "{t}");
}

/// Per flow, `check --offline` shows how links and parents travel on a
/// second line under the flow, and what a pushing flow pushes on a third.
#[test]
fn check_offline_shows_link_and_hierarchy_directions_per_flow() {
    let dir = ConfigDir::new();
    let cfg = BASE
        .replacen(
            "primary_project = \"PORT\"",
            "primary_project = \"PORT\"\nlinks = { types = { Blocks = \"Dependency\", Relates = \"Relates\" }, direction = \"both\", across_instances = \"ignore\" }\nhierarchy = { parent = true }",
            1,
        )
        .replacen(
            "scope = \"project = APAC\"",
            "scope = \"project = APAC\"\ncreate = \"both\"\nprimary_scope = \"project = PORT AND component = APAC\"\nsecondary_project = \"APAC\"\nhierarchy = { direction = \"both\" }",
            1,
        );
    let path = dir.write(&cfg);
    let out = jirafed(&["check", "--offline", "--config", &path.display().to_string()], &[("APAC_TOKEN", "x")]);
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    let lines: Vec<&str> = t.lines().collect();
    let flows = lines.iter().position(|l| *l == "flows:").unwrap_or_else(|| panic!("{t}"));
    let indent = " ".repeat(23);
    let expected = [
        "  emea-delivery        emea <-> hub project PORT  (1 field mapping(s), create to_primary, conflict primary_wins, read_target auto)".to_string(),
        format!("{indent}links both (2 type(s), across instances none), hierarchy to_primary (parent carried)"),
        "  apac-support         apac <-> hub project PORT  (1 field mapping(s), create both, conflict primary_wins, read_target auto)".to_string(),
        format!("{indent}links to_primary (0 type(s), across instances remote_link), hierarchy both (parent not carried)"),
        format!("{indent}pushes \"project = PORT AND component = APAC\" from hub to apac project APAC"),
    ];
    assert_eq!(lines[flows + 1..flows + 1 + expected.len()], expected, "{t}");
}

#[test]
fn a_missing_config_file_is_named() {
    let out = jirafed(&["check", "--offline", "--config", "/nonexistent/jirafed.toml"], &[]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(t.contains("/nonexistent/jirafed.toml") && t.contains("cannot read"), "{t}");
}

/// Token, bearer and password: none reaches a log line, even at debug level
/// where the whole config is logged.
#[test]
fn secrets_never_reach_the_logs() {
    let dir = ConfigDir::new();
    write_private(&dir.dir.path().join("pw"), "password-S3CRET-value");
    let text_cfg = BASE.replace(
        "[[flows]]\nname = \"apac-support\"",
        "[instances.dc2]\nrole = \"secondary\"\nflavour = \"datacenter\"\nurl = \"http://dc2.local\"\nauth = { user = \"bot\", password_file = \"pw\" }\n\n[[flows]]\nname = \"apac-support\"",
    );
    let path = dir.write(&text_cfg);
    let out = jirafed(
        &[
            "check",
            "--offline",
            "--log-level",
            "debug",
            "--log-format",
            "json",
            "--config",
            &path.display().to_string(),
        ],
        &[("APAC_TOKEN", "apac-token-S3CRET-value")],
    );
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    assert!(t.contains("config loaded"), "the debug line is there: {t}");
    assert!(!t.contains("S3CRET"), "{t}");
}

#[test]
fn help_and_version_work() {
    let out = jirafed(&["--version"], &[]);
    assert!(text(&out).contains(env!("CARGO_PKG_VERSION")));
    let out = jirafed(&["check", "--help"], &[]);
    assert!(out.status.success());
    assert!(text(&out).contains("--offline"));
}

/// The README's first command, as a test: the whole story propagates.
#[test]
fn the_demo_plays_its_story_and_exits_0() {
    let state = tempfile::tempdir().expect("tempdir");
    let out = jirafed(&["demo", "--once", "--state-dir", &state.path().display().to_string()], &[]);
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    assert!(t.contains("summary\n"), "{t}");
    assert!(t.lines().any(|l| l.trim_start().starts_with("step") && l.trim_end().ends_with("latency")), "{t}");
    assert!(t.contains("8 of 8 propagations seen"), "{t}");
    assert!(t.contains("/status"), "the status URL is shown: {t}");
    assert!(state.path().join("jirafed.redb").exists(), "state kept where asked");
}

/// `jirafed check` without `--offline` reaches every site and resolves every
/// mapped field; a field that does not exist fails it, named.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_contacts_the_sites() {
    let sim = super::support::Sim::start().await;
    let demo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config/demo.toml");
    let mut envs: Vec<(String, String)> = Vec::new();
    for site in ["hub", "emea", "apac"] {
        envs.push((format!("JIRAFED_INSTANCES__{}__URL", site.to_uppercase()), sim.base(site)));
    }
    let run = |envs: Vec<(String, String)>| {
        let demo = demo.clone();
        tokio::task::spawn_blocking(move || {
            let env: Vec<(&str, &str)> = envs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            jirafed(&["check", "--config", &demo.display().to_string()], &env)
        })
    };
    let out = run(envs.clone()).await.unwrap();
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    assert!(t.contains("hub: reachable, authenticated as Sync Bot (time zone Europe/Berlin)"), "{t}");
    assert!(t.contains("flow emea-delivery: 6 field(s) resolved"), "{t}");
    let mut bad = envs.clone();
    bad.push(("JIRAFED_INSTANCES__APAC__URL".into(), "http://127.0.0.1:9".into()));
    let out = run(bad).await.unwrap();
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(t.contains("error: apac"), "{t}");
}

/// The completion scripts and the man page come from the command
/// definitions: each names the commands, in its shell's own form.
#[test]
fn completions_and_the_man_page_name_every_command() {
    for (shell, form) in [("bash", "_jirafed()"), ("zsh", "#compdef jirafed"), ("fish", "complete -c jirafed")] {
        let out = jirafed(&["completions", shell], &[]);
        let script = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{shell}: {}", text(&out));
        assert!(script.contains(form), "{shell}: {script}");
        for command in ["import", "dead-letters", "resync", "unlink"] {
            assert!(script.contains(command), "{shell} completes {command}");
        }
    }
    let out = jirafed(&["completions", "tcsh"], &[]);
    assert!(!out.status.success() && text(&out).contains("tcsh"), "an unknown shell is named: {}", text(&out));

    let out = jirafed(&["man"], &[]);
    let page = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", text(&out));
    assert!(page.starts_with(".ie") || page.contains(".TH jirafed 1"), "{page}");
    for section in [".SH NAME", ".SH SYNOPSIS", ".SH SUBCOMMANDS", ".SH FILES", "/etc/jirafed/jirafed.toml"] {
        assert!(page.contains(section), "{section} in:\n{page}");
    }
    assert!(page.contains("import") && page.contains("dead\\-letters"), "{page}");
}
