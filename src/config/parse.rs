//! Turning the merged figment tree into a typed [`Config`]: daemon and
//! instance sections here, flows in `flows.rs`.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::value::{Dict, Map, Value};
use figment::{Figment, Metadata, Profile, Provider};

use super::reader::{Choice, Ctx, Table};
use super::secret::{Environment, Secret, SecretSource, read_secret_file, resolve_secret_path};
use super::types::*;
use super::{CLI_ENV_VARS, ConfigError, ENV_PREFIX, TEST_ENV_VARS};
use crate::ids::{InstanceId, is_valid_instance_id};

/// `JIRAFED_A__B__C=value` as the key `a.b.c`, from a given list of
/// variables rather than the process environment, so tests can pass their own.
pub struct EnvOverrides {
    vars: Vec<(String, String)>,
}

impl EnvOverrides {
    pub fn new(vars: &[(String, String)]) -> Self {
        let vars = vars
            .iter()
            .filter(|(k, _)| k.starts_with(ENV_PREFIX))
            .filter(|(k, _)| !CLI_ENV_VARS.contains(&k.as_str()) && !TEST_ENV_VARS.contains(&k.as_str()))
            .map(|(k, v)| (k[ENV_PREFIX.len()..].to_ascii_lowercase().replace("__", "."), v.clone()))
            .filter(|(k, _)| !k.is_empty())
            .collect();
        Self { vars }
    }
}

impl Provider for EnvOverrides {
    fn metadata(&self) -> Metadata {
        Metadata::named("environment variable")
            .interpolater(|_: &Profile, keys: &[&str]| format!("{ENV_PREFIX}{}", keys.join("__").to_ascii_uppercase()))
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        let mut dict = Dict::new();
        for (key, raw) in &self.vars {
            let value: Value = raw.parse().unwrap_or_else(|_| Value::from(raw.clone()));
            if let Value::Dict(_, nested) = figment::util::nest(key, value) {
                dict = merge_dicts(dict, nested);
            }
        }
        Ok(Profile::Default.collect(dict))
    }
}

fn merge_dicts(mut base: Dict, other: Dict) -> Dict {
    for (k, v) in other {
        let merged = match (base.remove(&k), v) {
            (Some(Value::Dict(t, a)), Value::Dict(_, b)) => Value::Dict(t, merge_dicts(a, b)),
            (_, v) => v,
        };
        base.insert(k, merged);
    }
    base
}

/// The merged tree of the default profile.
pub fn root_dict(figment: &Figment) -> Result<Dict, String> {
    let data = Provider::data(figment).map_err(|e| e.to_string())?;
    let mut root = Dict::new();
    for profile in [Profile::Global, Profile::Default] {
        if let Some(d) = data.get(&profile) {
            root = merge_dicts(root, d.clone());
        }
    }
    Ok(root)
}

pub fn build(
    figment: &Figment,
    root: &Dict,
    file: &Path,
    config_dir: &Path,
    env: &dyn Environment,
) -> Result<Config, ConfigError> {
    let ctx = Ctx::new(figment, file);
    let top = Table::root(&ctx, root);
    let reader = Reader { config_dir, env };
    let daemon = reader.daemon(&top.table("daemon"));
    let instances = reader.instances(&top.table("instances"));
    let declared = declared_roles(&top.table("instances"));
    let flows = super::flows::flows(&top, &declared);
    top.finish();
    if ctx.has_problems() {
        let (problems, _) = ctx.into_parts();
        return Err(ConfigError::Invalid { file: file.to_path_buf(), problems });
    }
    let (_, warnings) = ctx.into_parts();
    Ok(Config { source: file.to_path_buf(), daemon, instances, flows, warnings })
}

/// Every instance id written in the config with its role as written (even
/// when the instance has other problems), so flows are checked against what
/// the operator declared rather than failing again for the same cause.
fn declared_roles(t: &Table) -> BTreeMap<String, Option<Role>> {
    t.keys()
        .into_iter()
        .map(|id| {
            let role = match t.get(&id) {
                Some(Value::Dict(_, d)) => match d.get("role") {
                    Some(Value::String(_, r)) => Role::ALL.iter().find(|(n, _)| n == r).map(|(_, r)| *r),
                    _ => None,
                },
                _ => None,
            };
            (id, role)
        })
        .collect()
}

struct Reader<'a> {
    config_dir: &'a Path,
    env: &'a dyn Environment,
}

impl Reader<'_> {
    fn path(&self, p: &str) -> PathBuf {
        let p = Path::new(p);
        if p.is_absolute() { p.to_path_buf() } else { self.config_dir.join(p) }
    }

    fn daemon(&self, t: &Table) -> DaemonConfig {
        let state_dir = self.path(&t.string("state_dir").unwrap_or_else(|| defaults::STATE_DIR.into()));
        let admin_socket = self.path(&t.string("admin_socket").unwrap_or_else(|| defaults::ADMIN_SOCKET.into()));
        let listen_text = t.string("listen").unwrap_or_else(|| defaults::LISTEN.into());
        let listen = listen_text.parse::<SocketAddr>().unwrap_or_else(|_| {
            t.problem(
                "listen",
                format!("invalid address {listen_text:?}; expected IP:PORT such as \"127.0.0.1:8720\""),
            );
            SocketAddr::from(([127, 0, 0, 1], 8720))
        });
        let limit = t.positive_u32("webhook_body_limit", defaults::WEBHOOK_BODY_LIMIT as u32);
        let shutdown_timeout = t.duration("shutdown_timeout", defaults::SHUTDOWN_TIMEOUT);
        let webhook_replay_window = t.duration("webhook_replay_window", defaults::WEBHOOK_REPLAY_WINDOW);
        let reconcile_interval = t.duration("reconcile_interval", defaults::RECONCILE_INTERVAL);
        let http = HttpLimits {
            header_timeout: t.duration("http_header_timeout", defaults::HTTP_HEADER_TIMEOUT),
            request_timeout: t.duration("http_request_timeout", defaults::HTTP_REQUEST_TIMEOUT),
            max_connections: t.positive_u32("http_max_connections", defaults::HTTP_MAX_CONNECTIONS),
            max_requests_per_connection: t
                .positive_u32("http_max_requests_per_connection", defaults::HTTP_MAX_REQUESTS_PER_CONNECTION),
        };
        let admin_timeout = t.duration("admin_timeout", defaults::ADMIN_TIMEOUT);
        let public_url = t.string("public_url").and_then(|text| match text.parse::<BaseUrl>() {
            Ok(url) => Some(url),
            Err(e) => {
                t.problem(
                    "public_url",
                    format!("{e}; the URL the sites post webhooks to, e.g. \"https://jirafed.acme.internal\""),
                );
                None
            }
        });
        let audit_max_entries = u64::from(t.positive_u32("audit_max_entries", defaults::AUDIT_MAX_ENTRIES));
        let audit_max_age = t.duration("audit_max_age", defaults::AUDIT_MAX_AGE);
        let cfg = DaemonConfig {
            state_dir,
            listen,
            admin_socket,
            webhook_body_limit: u64::from(limit),
            shutdown_timeout,
            webhook_replay_window,
            reconcile_interval,
            http,
            admin_timeout,
            public_url,
            audit_max_entries,
            audit_max_age,
        };
        t.finish();
        cfg
    }

    fn instances(&self, t: &Table) -> BTreeMap<InstanceId, InstanceConfig> {
        let mut out = BTreeMap::new();
        for id in t.keys() {
            let sub = t.table(&id);
            if !is_valid_instance_id(&id) {
                t.problem(
                    &id,
                    "invalid instance id; expected lower-case letters, digits, '-' or '_', starting with a letter",
                );
            }
            if let Some(inst) = self.instance(&sub, InstanceId::new(id.clone())) {
                out.insert(inst.id.clone(), inst);
            }
            sub.finish();
        }
        let primaries: Vec<&str> = out.values().filter(|i| i.role == Role::Primary).map(|i| i.id.as_str()).collect();
        match primaries.len() {
            1 => {}
            0 if t.ctx.has_problems() && !t.keys().is_empty() => {}
            0 => t.ctx.problem(None, "instances", "no instance has role = \"primary\"; exactly one is required"),
            _ => t.ctx.problem(
                None,
                "instances",
                format!(
                    "{} instances have role = \"primary\" ({}); exactly one is allowed",
                    primaries.len(),
                    primaries.join(", ")
                ),
            ),
        }
        out
    }

    fn instance(&self, t: &Table, id: InstanceId) -> Option<InstanceConfig> {
        if !t.contains("role") {
            t.required_string("role", "\"primary\" or \"secondary\"");
        }
        if !t.contains("flavour") {
            t.required_string("flavour", "\"cloud\" or \"datacenter\"");
        }
        let role = t.choice_opt::<Role>("role");
        let flavour = t.choice_opt::<Flavour>("flavour");
        let url = self.url(t);
        let auth = flavour.and_then(|f| self.auth(&t.table("auth"), f));
        if flavour.is_none() {
            // Without a flavour the auth rules are unknown; mark it read.
            t.get("auth");
        }
        let (webhook_secret, webhooks) = self.webhook_auth(t);
        let ca_file = self.ca_file(t);
        // Read every key before giving up on a missing one, so that a bad role
        // does not make the other keys look unknown.
        let writes_per_second = t.positive_f64("writes_per_second", defaults::WRITES_PER_SECOND);
        let burst = t.positive_u32("burst", defaults::BURST);
        let reads_per_second = t.positive_f64("reads_per_second", defaults::READS_PER_SECOND);
        let max_in_flight = t.positive_u32("max_in_flight", defaults::MAX_IN_FLIGHT);
        let poll_interval = t.duration("poll_interval", defaults::POLL_INTERVAL);
        let poll_overlap = t.duration("poll_overlap", defaults::POLL_OVERLAP);
        let timeout = t.duration("timeout", defaults::TIMEOUT);
        let limit = u32::try_from(defaults::RESPONSE_BODY_LIMIT).unwrap_or(u32::MAX);
        let response_body_limit = u64::from(t.positive_u32("response_body_limit", limit));
        let inst = InstanceConfig {
            id,
            role: role?,
            flavour: flavour?,
            url: url?,
            auth: auth?,
            webhook_secret,
            webhooks,
            response_body_limit,
            writes_per_second,
            burst,
            reads_per_second,
            max_in_flight,
            poll_interval,
            poll_overlap,
            ca_file,
            timeout,
        };
        if inst.poll_overlap < std::time::Duration::from_secs(60) {
            t.warn("poll_overlap", "is under a minute; JQL compares times to the minute, so changes may be missed");
        }
        if inst.url.sends_in_clear() {
            t.warn(
                "url",
                "is http:// to a host that is not loopback; credentials and issues cross the network in clear",
            );
        }
        Some(inst)
    }

    /// `webhook_secret*` and `webhooks`: a secret of at least 16 bytes, or
    /// `webhooks = "unsigned"` said in so many words (warned), or neither,
    /// and then every webhook of the site is refused.
    fn webhook_auth(&self, t: &Table) -> (Option<Secret>, WebhookAuth) {
        let secret = self.secret(t, "webhook_secret");
        let mode = t.choice("webhooks", WebhookAuth::Signed);
        let given = ["webhook_secret_file", "webhook_secret_env", "webhook_secret"].into_iter().find(|k| t.contains(k));
        if let (Some((s, _)), Some(key)) = (&secret, given) {
            let len = s.expose().len();
            if len < defaults::WEBHOOK_SECRET_MIN_BYTES {
                let min = defaults::WEBHOOK_SECRET_MIN_BYTES;
                let what = if len == 0 { "is empty".to_string() } else { format!("is {len} bytes long") };
                t.problem(
                    key,
                    format!("webhook secret {what}; expected at least {min} bytes (e.g. `openssl rand -hex 32`)"),
                );
            }
        }
        match (mode, given) {
            (WebhookAuth::Unsigned, Some(key)) => {
                t.problem("webhooks", format!("\"unsigned\" conflicts with {key}; drop one of them"));
            }
            (WebhookAuth::Unsigned, None) => t.warn(
                "webhooks",
                "\"unsigned\": anyone who can reach the listener can post changes for this site; set webhook_secret_file",
            ),
            (WebhookAuth::Signed, _) => {}
        }
        (secret.map(|(s, _)| s), mode)
    }

    fn url(&self, t: &Table) -> Option<BaseUrl> {
        let text = t.required_string("url", "the site's base URL, e.g. \"https://acme.atlassian.net\"")?;
        match text.parse::<BaseUrl>() {
            Ok(url) => Some(url),
            Err(e) => {
                t.problem("url", e.to_string());
                None
            }
        }
    }

    /// `ca_file` resolves like a secret file, so one credentials folder
    /// can hold both; it is read now so that a bad file fails `check`.
    fn ca_file(&self, t: &Table) -> Option<PathBuf> {
        let given = t.string("ca_file")?;
        let path = resolve_secret_path(Path::new(&given), self.config_dir, self.env);
        if let Err(e) = super::ca::read_ca_file(&path) {
            t.problem("ca_file", e);
        }
        Some(path)
    }

    /// Reads one secret from `<base>_file`, `<base>_env` or inline `<base>`.
    fn secret(&self, t: &Table, base: &str) -> Option<(Secret, SecretSource)> {
        let file_key = format!("{base}_file");
        let env_key = format!("{base}_env");
        let keys = [file_key.as_str(), env_key.as_str(), base];
        let given: Vec<&str> = keys.into_iter().filter(|k| t.contains(k)).collect();
        for k in keys {
            t.get(k);
        }
        if given.len() > 1 {
            t.problem(given[1], format!("conflicts with {}; give the secret one way only", given[0]));
        }
        if let Some(p) = t.string(&file_key) {
            let path = resolve_secret_path(Path::new(&p), self.config_dir, self.env);
            return match read_secret_file(&path) {
                Ok((secret, world)) => {
                    if world {
                        t.warn(
                            &file_key,
                            format!("secret file {} is readable by everyone; chmod 600 it", path.display()),
                        );
                    }
                    Some((secret, SecretSource::File(path)))
                }
                Err(e) => {
                    t.problem(&file_key, e);
                    None
                }
            };
        }
        if let Some(var) = t.string(&env_key) {
            return match self.env.var(&var).filter(|v| !v.is_empty()) {
                Some(v) => Some((Secret::new(v), SecretSource::Env(var))),
                None => {
                    t.problem(&env_key, format!("environment variable {var} is not set or empty"));
                    None
                }
            };
        }
        let inline = t.secret_string(base)?;
        t.warn(base, format!("inline secret; prefer {file_key} (works with systemd LoadCredential=) or {env_key}"));
        Some((Secret::new(inline), SecretSource::Inline))
    }

    fn auth(&self, t: &Table, flavour: Flavour) -> Option<Auth> {
        let auth = match flavour {
            Flavour::Cloud => self.cloud_auth(t),
            Flavour::DataCenter => self.dc_auth(t),
        };
        t.finish();
        auth
    }

    fn cloud_auth(&self, t: &Table) -> Option<Auth> {
        for key in ["bearer", "bearer_file", "bearer_env", "user", "password", "password_file", "password_env"] {
            if t.contains(key) {
                t.get(key);
                t.problem(key, "is for datacenter sites; cloud sites authenticate with email + API token (token_file or token_env)");
            }
        }
        let email = t.required_string("email", "the technical user's e-mail address");
        if let Some(e) = &email {
            if !e.contains('@') {
                t.problem("email", format!("{e:?} is not an e-mail address"));
            }
        }
        let token = self.secret(t, "token");
        if token.is_none() && !["token", "token_file", "token_env"].iter().any(|k| t.contains(k)) {
            t.problem("token_file", "missing; cloud sites need an API token (token_file or token_env)");
        }
        let (token, source) = token?;
        Some(Auth::CloudToken { email: email?, token, source })
    }

    fn dc_auth(&self, t: &Table) -> Option<Auth> {
        for key in ["email", "token", "token_file", "token_env"] {
            if t.contains(key) {
                t.get(key);
                t.problem(key, "is for cloud sites; datacenter sites authenticate with a personal access token (bearer_file) or user + password_file");
            }
        }
        let has_bearer = ["bearer", "bearer_file", "bearer_env"].iter().any(|k| t.contains(k));
        let has_user = t.contains("user");
        if has_bearer && has_user {
            t.problem("user", "conflicts with the bearer token; give either a bearer token or user + password");
        }
        if has_bearer {
            let (token, source) = self.secret(t, "bearer")?;
            return Some(Auth::Bearer { token, source });
        }
        if !has_user {
            t.ctx.problem(
                None,
                &t.path,
                "missing; datacenter sites need bearer_file (a personal access token) or user + password_file",
            );
            return None;
        }
        let user = t.required_string("user", "the technical user's name");
        let password = self.secret(t, "password");
        if password.is_none() && !["password", "password_file", "password_env"].iter().any(|k| t.contains(k)) {
            t.problem("password_file", "missing; user needs a password (password_file or password_env)");
        }
        let (password, source) = password?;
        Some(Auth::Basic { user: user?, password, source })
    }
}
