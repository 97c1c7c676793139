//! Config loading: every validation rule, each error snapshotted, each
//! naming its key path; secrets never shown.

use std::path::{Path, PathBuf};

use jirafed::config::{self, AcrossInstances, Auth, Choice, Config, ConfigError, CreatePolicy, RelationDirection};

const HUB_TOKEN: &str = "hub-token-S3CRET-value";
const EMEA_PAT: &str = "emea-pat-S3CRET-value";
const APAC_TOKEN: &str = "apac-token-S3CRET-value";

pub const BASE: &str = r#"
[daemon]
state_dir = "state"
listen = "127.0.0.1:8720"

[instances.hub]
role = "primary"
flavour = "cloud"
url = "https://acme.atlassian.net/"
auth = { email = "sync-bot@acme.com", token_file = "hub-token" }

[instances.emea]
role = "secondary"
flavour = "datacenter"
url = "https://jira.emea.acme.internal/jira/"
auth = { bearer_file = "emea-pat" }

[instances.apac]
role = "secondary"
flavour = "cloud"
url = "https://acme-apac.atlassian.net"
auth = { email = "sync-bot@acme.com", token_env = "APAC_TOKEN" }

[[flows]]
name = "emea-delivery"
secondary = "emea"
scope = "project = EMEA"
primary_project = "PORT"

  [[flows.fields]]
  secondary = "summary"
  primary = "summary"
  direction = "both"

[[flows]]
name = "apac-support"
secondary = "apac"
scope = "project = APAC"
primary_project = "PORT"

  [[flows.fields]]
  secondary = "priority"
  primary = "priority"
  direction = "both"
  values = { High = "P1", Low = "P2" }
"#;

/// A temporary folder holding a config and the secret files it names.
pub struct ConfigDir {
    pub dir: tempfile::TempDir,
}

impl ConfigDir {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        for (name, value) in [("hub-token", HUB_TOKEN), ("emea-pat", EMEA_PAT)] {
            write_private(&dir.path().join(name), &format!("{value}\n"));
        }
        Self { dir }
    }

    pub fn write(&self, text: &str) -> PathBuf {
        let path = self.dir.path().join("jirafed.toml");
        std::fs::write(&path, text).expect("write config");
        path
    }

    pub fn load(&self, text: &str, vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let path = self.write(text);
        let vars: Vec<(String, String)> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let env = |k: &str| (k == "APAC_TOKEN").then(|| APAC_TOKEN.to_string());
        config::load_with(&path, &vars, &env)
    }

    /// An error's text with the temporary folder replaced, for snapshots.
    pub fn scrub(&self, text: &str) -> String {
        text.replace(&self.dir.path().display().to_string(), "[DIR]")
    }
}

pub fn write_private(path: &Path, text: &str) {
    std::fs::write(path, text).expect("write secret");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    }
}

fn replace(from: &str, to: &str) -> String {
    assert!(BASE.contains(from), "BASE lacks {from:?}");
    BASE.replacen(from, to, 1)
}

/// BASE with `lines` added to the first flow (after its `primary_project`).
fn with_flow0(lines: &str) -> String {
    replace("primary_project = \"PORT\"", &format!("primary_project = \"PORT\"\n{lines}"))
}

/// The keys of a flow that pushes primary issues matching `scope` to `project`.
fn push(scope: &str, project: &str) -> String {
    format!("create = \"both\"\nprimary_scope = \"{scope}\"\nsecondary_project = \"{project}\"")
}

/// One broken config: its name (the snapshot's), its text, override
/// variables, and the key path its error must name.
struct Case {
    name: &'static str,
    text: String,
    vars: Vec<(&'static str, &'static str)>,
    path: &'static str,
}

fn case(name: &'static str, text: String, path: &'static str) -> Case {
    Case { name, text, vars: Vec::new(), path }
}

fn cases() -> Vec<Case> {
    let mut v = vec![
        case(
            "two_primaries",
            replace("role = \"secondary\"\nflavour = \"datacenter\"", "role = \"primary\"\nflavour = \"datacenter\""),
            "instances",
        ),
        case("no_primary", replace("role = \"primary\"", "role = \"secondary\""), "instances"),
        case("duplicate_flow_name", replace("name = \"apac-support\"", "name = \"emea-delivery\""), "flows[1].name"),
        case("flow_secondary_unknown", replace("secondary = \"apac\"", "secondary = \"japan\""), "flows[1].secondary"),
        case("flow_secondary_is_primary", replace("secondary = \"apac\"", "secondary = \"hub\""), "flows[1].secondary"),
        case(
            "url_scheme",
            replace("https://acme-apac.atlassian.net", "ftp://acme-apac.atlassian.net"),
            "instances.apac.url",
        ),
        case("url_unparseable", replace("https://acme-apac.atlassian.net", "not a url"), "instances.apac.url"),
        case(
            "url_credentials",
            replace("https://acme-apac.atlassian.net", "https://bot:pw@acme-apac.atlassian.net"),
            "instances.apac.url",
        ),
        case(
            "url_query",
            replace("https://acme-apac.atlassian.net", "https://acme-apac.atlassian.net/?x=1"),
            "instances.apac.url",
        ),
        case("url_missing", replace("url = \"https://acme-apac.atlassian.net\"\n", ""), "instances.apac.url"),
        case(
            "duration_bad",
            replace("flavour = \"datacenter\"", "flavour = \"datacenter\"\npoll_interval = \"soon\""),
            "instances.emea.poll_interval",
        ),
        case(
            "duration_zero",
            replace("flavour = \"datacenter\"", "flavour = \"datacenter\"\ntimeout = \"0s\""),
            "instances.emea.timeout",
        ),
        case(
            "duration_number",
            replace("flavour = \"datacenter\"", "flavour = \"datacenter\"\npoll_overlap = 90"),
            "instances.emea.poll_overlap",
        ),
        case(
            "rate_zero",
            replace(
                "flavour = \"cloud\"\nurl = \"https://acme.atlassian.net/\"",
                "flavour = \"cloud\"\nwrites_per_second = 0\nurl = \"https://acme.atlassian.net/\"",
            ),
            "instances.hub.writes_per_second",
        ),
        case(
            "rate_negative",
            replace(
                "flavour = \"cloud\"\nurl = \"https://acme.atlassian.net/\"",
                "flavour = \"cloud\"\nreads_per_second = -2\nurl = \"https://acme.atlassian.net/\"",
            ),
            "instances.hub.reads_per_second",
        ),
        case(
            "burst_fraction",
            replace(
                "flavour = \"cloud\"\nurl = \"https://acme.atlassian.net/\"",
                "flavour = \"cloud\"\nburst = 1.5\nurl = \"https://acme.atlassian.net/\"",
            ),
            "instances.hub.burst",
        ),
        case(
            "max_in_flight_text",
            replace(
                "flavour = \"cloud\"\nurl = \"https://acme.atlassian.net/\"",
                "flavour = \"cloud\"\nmax_in_flight = \"many\"\nurl = \"https://acme.atlassian.net/\"",
            ),
            "instances.hub.max_in_flight",
        ),
        case(
            "create_bad",
            replace("primary_project = \"PORT\"", "primary_project = \"PORT\"\ncreate = \"sometimes\""),
            "flows[0].create",
        ),
        case(
            "on_delete_bad",
            replace("primary_project = \"PORT\"", "primary_project = \"PORT\"\non_delete = \"archive\""),
            "flows[0].on_delete",
        ),
        case(
            "conflict_bad",
            replace("primary_project = \"PORT\"", "primary_project = \"PORT\"\nconflict = \"random\""),
            "flows[0].conflict",
        ),
        case(
            "direction_bad",
            replace("direction = \"both\"\n  values", "direction = \"sideways\"\n  values"),
            "flows[1].fields[0].direction",
        ),
        case("flavour_bad", replace("flavour = \"datacenter\"", "flavour = \"server\""), "instances.emea.flavour"),
        case(
            "role_bad",
            replace("role = \"secondary\"\nflavour = \"cloud\"", "role = \"tertiary\"\nflavour = \"cloud\""),
            "instances.apac.role",
        ),
        case(
            "cloud_missing_email",
            replace("auth = { email = \"sync-bot@acme.com\", token_file", "auth = { token_file"),
            "instances.hub.auth.email",
        ),
        case("cloud_missing_token", replace(", token_file = \"hub-token\" }", " }"), "instances.hub.auth.token_file"),
        case(
            "cloud_with_bearer",
            replace(", token_file = \"hub-token\" }", ", token_file = \"hub-token\", bearer_file = \"emea-pat\" }"),
            "instances.hub.auth.bearer_file",
        ),
        case("dc_missing_auth", replace("auth = { bearer_file = \"emea-pat\" }", "auth = { }"), "instances.emea.auth"),
        case(
            "dc_user_without_password",
            replace("auth = { bearer_file = \"emea-pat\" }", "auth = { user = \"sync-bot\" }"),
            "instances.emea.auth.password_file",
        ),
        case(
            "dc_with_email",
            replace(
                "auth = { bearer_file = \"emea-pat\" }",
                "auth = { bearer_file = \"emea-pat\", email = \"a@b.c\" }",
            ),
            "instances.emea.auth.email",
        ),
        case(
            "secret_file_missing",
            replace("bearer_file = \"emea-pat\"", "bearer_file = \"no-such-file\""),
            "instances.emea.auth.bearer_file",
        ),
        case(
            "secret_env_unset",
            replace("token_env = \"APAC_TOKEN\"", "token_env = \"UNSET_TOKEN\""),
            "instances.apac.auth.token_env",
        ),
        case(
            "secret_two_ways",
            replace("token_env = \"APAC_TOKEN\"", "token_env = \"APAC_TOKEN\", token_file = \"hub-token\""),
            "instances.apac.auth.token_env",
        ),
        case("unknown_top_key", format!("colour = \"blue\"\n{BASE}"), "colour"),
        case(
            "unknown_instance_key",
            replace("flavour = \"datacenter\"", "flavour = \"datacenter\"\nwirtes_per_second = 3"),
            "instances.emea.wirtes_per_second",
        ),
        case(
            "unknown_field_key",
            replace("direction = \"both\"\n  values", "direction = \"both\"\n  value_map = {}\n  values"),
            "flows[1].fields[0].value_map",
        ),
        case("listen_bad", replace("listen = \"127.0.0.1:8720\"", "listen = \"localhost\""), "daemon.listen"),
        case(
            "instance_id_bad",
            replace("[instances.apac]", "[instances.Apac]").replace("secondary = \"apac\"", "secondary = \"Apac\""),
            "instances.Apac",
        ),
        case(
            "values_not_reversible",
            replace("values = { High = \"P1\", Low = \"P2\" }", "values = { High = \"P1\", Highest = \"P1\" }"),
            "flows[1].fields[0].values",
        ),
        case(
            "field_mapped_twice",
            replace(
                "[[flows]]\nname = \"apac-support\"",
                "  [[flows.fields]]\n  secondary = \"Summary\"\n  primary = \"summary\"\n\n[[flows]]\nname = \"apac-support\"",
            ),
            "flows[0].fields[1].primary",
        ),
        case("flow_missing_scope", replace("scope = \"project = APAC\"\n", ""), "flows[1].scope"),
        case(
            "parent_not_bool",
            replace("primary_project = \"PORT\"", "primary_project = \"PORT\"\nhierarchy = { parent = \"yes\" }"),
            "flows[0].hierarchy.parent",
        ),
        case(
            "links_direction_to_secondary",
            with_flow0("links = { direction = \"to_secondary\" }"),
            "flows[0].links.direction",
        ),
        case(
            "hierarchy_direction_bad",
            with_flow0("hierarchy = { parent = true, direction = \"up\" }"),
            "flows[0].hierarchy.direction",
        ),
        case(
            "across_instances_bad",
            with_flow0("links = { across_instances = \"hide\" }"),
            "flows[0].links.across_instances",
        ),
        case(
            "push_missing_primary_scope",
            with_flow0("create = \"both\"\nsecondary_project = \"EMEA\""),
            "flows[0].primary_scope",
        ),
        case(
            "push_missing_secondary_project",
            with_flow0("create = \"to_secondary\"\nprimary_scope = \"project = PORT\""),
            "flows[0].secondary_project",
        ),
        case("push_scope_empty", with_flow0(&push("  ", "EMEA")), "flows[0].primary_scope"),
        case(
            "push_keys_refused_to_primary",
            with_flow0("primary_scope = \"project = PORT\"\nsecondary_project = \"EMEA\""),
            "flows[0].secondary_project",
        ),
        case(
            "push_keys_refused_none",
            with_flow0("create = \"none\"\nprimary_scope = \"project = PORT\""),
            "flows[0].primary_scope",
        ),
        case(
            "flows_not_array",
            format!("flows = \"all\"\n{}", BASE.split("[[flows]]").next().unwrap_or_default()),
            "flows",
        ),
        case("toml_syntax", replace("[instances.apac]", "[instances.apac"), "line 18, column 16: instances.apac"),
        case(
            "toml_syntax_value",
            replace("direction = \"both\"\n  values", "direction = both\n  values"),
            "line 44, column 15: flows[1].fields[0].direction",
        ),
        case(
            "toml_syntax_in_a_secret",
            replace("token_file = \"hub-token\" }", &format!("token = \"{HUB_TOKEN} }}")),
            "instances.hub.auth",
        ),
    ];
    v.push(Case {
        name: "env_override_bad",
        text: BASE.to_string(),
        vars: vec![("JIRAFED_INSTANCES__HUB__BURST", "lots")],
        path: "instances.hub.burst",
    });
    v.push(Case {
        name: "env_override_unknown",
        text: BASE.to_string(),
        vars: vec![("JIRAFED_DAEMON__LISSEN", "0.0.0.0:1")],
        path: "daemon.lissen",
    });
    v
}

#[test]
fn the_base_config_is_valid_and_normalised() {
    let dir = ConfigDir::new();
    let cfg = dir.load(BASE, &[]).expect("base config is valid");
    assert_eq!(cfg.instances.len(), 3);
    assert_eq!(cfg.primary().id.as_str(), "hub");
    assert_eq!(cfg.instance("hub").map(|i| i.url.as_str()), Some("https://acme.atlassian.net"));
    assert_eq!(cfg.instance("emea").map(|i| i.url.as_str()), Some("https://jira.emea.acme.internal/jira"));
    assert_eq!(cfg.instance("emea").map(|i| i.poll_interval.as_secs()), Some(60));
    assert_eq!(cfg.daemon.state_dir, dir.dir.path().join("state"));
    assert_eq!(cfg.flows.len(), 2);
    assert!(cfg.warnings.is_empty(), "{:?}", cfg.warnings);
    match &cfg.instance("hub").map(|i| &i.auth) {
        Some(Auth::CloudToken { email, token, .. }) => {
            assert_eq!(email, "sync-bot@acme.com");
            assert_eq!(token.expose(), HUB_TOKEN, "trailing newline dropped");
        }
        other => panic!("unexpected auth {other:?}"),
    }
}

#[test]
fn every_broken_config_is_reported_with_its_key_path() {
    let dir = ConfigDir::new();
    let all = cases();
    assert!(all.len() >= 25);
    let mut names = std::collections::BTreeSet::new();
    for c in all {
        assert!(names.insert(c.name), "duplicate case {}", c.name);
        let err = match dir.load(&c.text, &c.vars) {
            Ok(_) => panic!("case {} was accepted", c.name),
            Err(e) => dir.scrub(&e.to_string()),
        };
        assert!(err.contains(c.path), "case {}: error does not name {:?}:\n{err}", c.name, c.path);
        for secret in [HUB_TOKEN, EMEA_PAT, APAC_TOKEN] {
            assert!(!err.contains(secret), "case {} leaks a secret", c.name);
        }
        insta::assert_snapshot!(format!("config_error_{}", c.name), err);
    }
}

#[test]
fn all_problems_are_reported_at_once() {
    let dir = ConfigDir::new();
    let text = BASE
        .replacen("flavour = \"datacenter\"", "flavour = \"datacenter\"\npoll_interval = \"soon\"\nburst = 0", 1)
        .replacen("primary_project = \"PORT\"", "primary_project = \"PORT\"\nconflict = \"random\"", 1);
    let err = dir.load(&text, &[]).expect_err("broken");
    let problems = err.problems();
    assert_eq!(problems.len(), 3, "{problems:#?}");
}

#[test]
fn environment_overrides_apply_and_are_named_in_errors() {
    let dir = ConfigDir::new();
    let cfg = dir
        .load(
            BASE,
            &[("JIRAFED_INSTANCES__HUB__URL", "https://other.atlassian.net"), ("JIRAFED_INSTANCES__EMEA__BURST", "7")],
        )
        .expect("valid");
    assert_eq!(cfg.instance("hub").map(|i| i.url.as_str()), Some("https://other.atlassian.net"));
    assert_eq!(cfg.instance("emea").map(|i| i.burst), Some(7));
    let err = dir.load(BASE, &[("JIRAFED_INSTANCES__EMEA__POLL_INTERVAL", "never")]).expect_err("bad");
    assert!(err.to_string().contains("environment variable JIRAFED_INSTANCES__EMEA__POLL_INTERVAL"), "{err}");
}

#[test]
fn inline_and_world_readable_secrets_are_accepted_with_warnings() {
    let dir = ConfigDir::new();
    std::fs::write(dir.dir.path().join("loose"), "loose-S3CRET\n").expect("write");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir.dir.path().join("loose"), std::fs::Permissions::from_mode(0o644)).expect("chmod");
    }
    let text = BASE
        .replace("token_file = \"hub-token\"", "token = \"inline-S3CRET\"")
        .replace("bearer_file = \"emea-pat\"", "bearer_file = \"loose\"");
    let cfg = dir.load(&text, &[]).expect("valid with warnings");
    let warnings: Vec<String> = cfg.warnings.iter().map(|w| dir.scrub(&w.to_string())).collect();
    assert_eq!(warnings.len(), 2, "{warnings:#?}");
    assert!(warnings.iter().any(|w| w.contains("instances.hub.auth.token: inline secret")));
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("instances.emea.auth.bearer_file: secret file") && w.contains("readable by everyone"))
    );
    assert!(warnings.iter().all(|w| !w.contains("S3CRET")));
}

#[test]
fn credentials_directory_is_used_for_relative_secret_files() {
    let dir = ConfigDir::new();
    let creds = tempfile::tempdir().expect("tempdir");
    write_private(&creds.path().join("hub-token"), "from-credentials-dir");
    let path = dir.write(BASE);
    let creds_path = creds.path().display().to_string();
    let env = move |k: &str| match k {
        "CREDENTIALS_DIRECTORY" => Some(creds_path.clone()),
        "APAC_TOKEN" => Some(APAC_TOKEN.to_string()),
        _ => None,
    };
    // emea-pat is not in the credentials directory: that is reported.
    let err = config::load_with(&path, &[], &env).expect_err("emea-pat missing there");
    assert!(err.to_string().contains("instances.emea.auth.bearer_file"), "{err}");
    write_private(&creds.path().join("emea-pat"), "pat");
    let cfg = config::load_with(&path, &[], &env).expect("valid");
    match cfg.instance("hub").map(|i| &i.auth) {
        Some(Auth::CloudToken { token, .. }) => assert_eq!(token.expose(), "from-credentials-dir"),
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn debug_output_never_shows_secrets() {
    let dir = ConfigDir::new();
    let text = BASE.replace("bearer_file = \"emea-pat\"", "user = \"sync-bot\", password_file = \"emea-pat\"");
    let cfg = dir.load(&text, &[]).expect("valid");
    let debug = format!("{cfg:?} {cfg:#?}");
    for secret in [HUB_TOKEN, EMEA_PAT, APAC_TOKEN] {
        assert!(!debug.contains(secret), "Debug shows a secret");
    }
    assert!(debug.contains("***"));
}

#[test]
fn a_wrongly_typed_inline_secret_is_not_echoed() {
    let dir = ConfigDir::new();
    let text = BASE.replace("token_file = \"hub-token\"", "token = 123987456");
    let err = dir.load(&text, &[]).expect_err("bad type").to_string();
    assert!(err.contains("instances.hub.auth.token"), "{err}");
    assert!(!err.contains("123987456"), "{err}");
}

/// `ca_file` resolves like a secret file and must hold usable PEM
/// certificates, so `check --offline` refuses what the HTTPS setup would.
#[test]
fn ca_file_resolves_like_a_secret_file_and_must_be_pem() {
    let ca = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/fixtures/isrg-root-x1.pem"))
        .expect("fixture");
    let dir = ConfigDir::new();
    std::fs::write(dir.dir.path().join("ca.pem"), &ca).expect("write ca");
    let with_ca = |ca_file: &str| {
        replace(
            "auth = { bearer_file = \"emea-pat\" }",
            &format!("auth = {{ bearer_file = \"emea-pat\" }}\nca_file = \"{ca_file}\""),
        )
    };
    let emea_ca = |cfg: &Config| cfg.instance("emea").and_then(|i| i.ca_file.clone());
    // Relative, no credentials directory: next to the config file.
    let cfg = dir.load(&with_ca("ca.pem"), &[]).expect("valid");
    assert_eq!(emea_ca(&cfg), Some(dir.dir.path().join("ca.pem")));
    // Absolute: as given.
    let other = tempfile::tempdir().expect("tempdir");
    let abs = other.path().join("site-ca.pem");
    std::fs::write(&abs, &ca).expect("write ca");
    let cfg = dir.load(&with_ca(&abs.display().to_string()), &[]).expect("valid");
    assert_eq!(emea_ca(&cfg), Some(abs.clone()));
    // Relative with a credentials directory: there, beside the secrets.
    for name in ["hub-token", "emea-pat"] {
        write_private(&other.path().join(name), "secret");
    }
    let creds = other.path().display().to_string();
    let env = move |k: &str| match k {
        "CREDENTIALS_DIRECTORY" => Some(creds.clone()),
        "APAC_TOKEN" => Some(APAC_TOKEN.to_string()),
        _ => None,
    };
    let cfg = config::load_with(&dir.write(&with_ca("site-ca.pem")), &[], &env).expect("valid");
    assert_eq!(emea_ca(&cfg), Some(abs));
    // Missing, not PEM, PEM without a usable certificate: each named.
    std::fs::write(dir.dir.path().join("text.pem"), "no certificate here\n").expect("write");
    let bad_der = "-----BEGIN CERTIFICATE-----\naGVsbG8gd29ybGQ=\n-----END CERTIFICATE-----\n";
    std::fs::write(dir.dir.path().join("bad-der.pem"), bad_der).expect("write");
    for (file, expect) in
        [("missing.pem", "cannot read"), ("text.pem", "holds no certificate"), ("bad-der.pem", "TLS cannot use")]
    {
        let err = dir.scrub(&dir.load(&with_ca(file), &[]).expect_err(file).to_string());
        let named = err.contains("instances.emea.ca_file: ") && err.contains(&format!("[DIR]/{file}"));
        assert!(named && err.contains(expect), "{err}");
    }
}

/// Links and parents go to the primary only, nothing is pushed from the
/// primary, and dependencies on other secondaries show as remote links,
/// unless the config says otherwise.
#[test]
fn links_hierarchy_and_push_keys_have_their_defaults() {
    let dir = ConfigDir::new();
    let cfg = dir.load(BASE, &[]).expect("valid");
    for f in &cfg.flows {
        assert_eq!(f.links.direction, RelationDirection::ToPrimary, "{}", f.name);
        assert_eq!(f.hierarchy.direction, RelationDirection::ToPrimary, "{}", f.name);
        assert_eq!(f.links.across_instances, AcrossInstances::RemoteLink, "{}", f.name);
        assert!(!f.hierarchy.parent);
        assert_eq!((f.create, &f.primary_scope, &f.secondary_project), (CreatePolicy::ToPrimary, &None, &None));
    }
}

#[test]
fn both_directions_and_push_keys_are_read() {
    let dir = ConfigDir::new();
    let text = with_flow0(&format!(
        "{}\nlinks = {{ direction = \"both\", across_instances = \"none\" }}\nhierarchy = {{ parent = true, direction = \"both\" }}",
        push("project = PORT AND component = EMEA", "EMEA")
    ))
    .replacen("scope = \"project = APAC\"", "scope = \"project = APAC\"\ncreate = \"to_secondary\"\nprimary_scope = \"project = PORT AND component = APAC\"\nsecondary_project = \"APAC\"", 1);
    let cfg = dir.load(&text, &[]).expect("valid");
    let [emea, apac] = [&cfg.flows[0], &cfg.flows[1]];
    assert_eq!(emea.links.direction, RelationDirection::Both);
    assert!(emea.links.direction.to_secondary());
    assert_eq!(emea.hierarchy.direction, RelationDirection::Both);
    assert_eq!(emea.links.across_instances, AcrossInstances::None);
    assert_eq!(emea.primary_scope.as_deref(), Some("project = PORT AND component = EMEA"));
    assert_eq!(emea.secondary_project.as_deref(), Some("EMEA"));
    assert_eq!(apac.create, CreatePolicy::ToSecondary);
    assert_eq!(apac.primary_scope.as_deref(), Some("project = PORT AND component = APAC"));
    assert_eq!(apac.secondary_project.as_deref(), Some("APAC"));
    // Different scopes: no overlap warning.
    assert!(cfg.warnings.is_empty(), "{:#?}", cfg.warnings);
}

/// `ignore` was the name of `none` before the design settled on it;
/// configs that use it keep loading, without a warning.
#[test]
fn ignore_is_still_accepted_as_the_older_name_of_none() {
    let dir = ConfigDir::new();
    let cfg = dir.load(&with_flow0("links = { across_instances = \"ignore\" }"), &[]).expect("valid");
    assert_eq!(cfg.flows[0].links.across_instances, AcrossInstances::None);
    assert_eq!(cfg.flows[0].links.across_instances.config_name(), "none");
    assert!(cfg.warnings.is_empty(), "{:#?}", cfg.warnings);
    // An error lists the current names only.
    let err = dir.load(&with_flow0("links = { across_instances = \"hide\" }"), &[]).expect_err("bad").to_string();
    assert!(err.contains("expected one of: remote_link, none") && !err.contains("ignore"), "{err}");
}

/// Both push keys missing are reported at once, each saying why it is
/// needed; an invalid `create` does not make them look missing or refused.
#[test]
fn push_keys_follow_create() {
    let dir = ConfigDir::new();
    let err = dir.load(&with_flow0("create = \"both\""), &[]).expect_err("keys missing");
    let problems = err.problems();
    assert_eq!(problems.len(), 2, "{problems:#?}");
    for key in ["flows[0].primary_scope: missing", "flows[0].secondary_project: missing"] {
        let p = problems.iter().find(|p| p.contains(key)).unwrap_or_else(|| panic!("{key}: {problems:#?}"));
        assert!(p.contains("create = \"both\" pushes issues created on the primary"), "{p}");
    }
    let err = dir.load(&with_flow0(&push("project = PORT", "EMEA").replace("both", "none")), &[]).expect_err("refused");
    let problems = err.problems();
    assert_eq!(problems.len(), 2, "{problems:#?}");
    assert!(problems.iter().all(|p| p.contains("has no effect with create = \"none\"")), "{problems:#?}");
    let err = dir.load(&with_flow0(&push("project = PORT", "EMEA").replace("both", "often")), &[]).expect_err("bad");
    let problems = err.problems();
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert!(problems[0].contains("flows[0].create"), "{problems:#?}");
}

/// Two flows pushing the very same primary issues: neither would mirror
/// an issue both match, so `check` says so, naming both flows.
#[test]
fn two_flows_with_the_same_primary_scope_get_a_warning() {
    let dir = ConfigDir::new();
    let text = with_flow0(&push("project = PORT AND component = Shared", "EMEA")).replacen(
        "scope = \"project = APAC\"",
        &format!("scope = \"project = APAC\"\n{}", push("  PROJECT = port and COMPONENT = shared ", "APAC")),
        1,
    );
    let cfg = dir.load(&text, &[]).expect("valid with a warning");
    let overlaps: Vec<String> =
        cfg.warnings.iter().filter(|w| w.path.ends_with("primary_scope")).map(ToString::to_string).collect();
    assert_eq!(overlaps.len(), 1, "{:#?}", cfg.warnings);
    let w = &overlaps[0];
    assert!(w.contains("flows[1].primary_scope: "), "{w}");
    assert!(w.contains("\"emea-delivery\"") && w.contains("\"apac-support\""), "{w}");
    assert!(w.contains("mirrored by neither"), "{w}");
    insta::assert_snapshot!("config_warning_same_primary_scope", dir.scrub(w));
}
