//! The typed, validated configuration. Every field's doc comment is mirrored
//! in `docs/configuration.md`.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use url::Url;

use super::reader::{Choice, Problem};
use super::secret::{Secret, SecretSource};
use crate::ids::{FlowName, InstanceId};

/// Defaults, named so docs and code agree.
pub mod defaults {
    use std::time::Duration;
    pub const STATE_DIR: &str = "/var/lib/jirafed";
    pub const LISTEN: &str = "127.0.0.1:8720";
    pub const ADMIN_SOCKET: &str = "/run/jirafed/admin.sock";
    /// Largest webhook body accepted (Jira's own bodies are well under this).
    pub const WEBHOOK_BODY_LIMIT: u64 = 1024 * 1024;
    /// How long SIGTERM waits for in-flight writes; below systemd's 90 s default.
    pub const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(20);
    pub const WRITES_PER_SECOND: f64 = 5.0;
    pub const BURST: u32 = 10;
    pub const READS_PER_SECOND: f64 = 10.0;
    pub const MAX_IN_FLIGHT: u32 = 8;
    pub const POLL_INTERVAL: Duration = Duration::from_secs(60);
    /// JQL has minute precision, so the overlap must cover at least a minute.
    pub const POLL_OVERLAP: Duration = Duration::from_secs(120);
    pub const TIMEOUT: Duration = Duration::from_secs(30);
    /// How long a webhook delivery id is remembered: Jira retries a delivery
    /// for hours, so two days covers every retry.
    pub const WEBHOOK_REPLAY_WINDOW: Duration = Duration::from_secs(48 * 60 * 60);
    /// How often reconciliation checks every pair.
    pub const RECONCILE_INTERVAL: Duration = Duration::from_secs(60 * 60);
    /// How long a client may take to send a request's headers.
    pub const HTTP_HEADER_TIMEOUT: Duration = Duration::from_secs(10);
    /// How long a whole request may take, headers, body and answer.
    pub const HTTP_REQUEST_TIMEOUT: Duration = Duration::from_secs(15);
    /// Most connections served at once; more wait in the kernel's backlog.
    pub const HTTP_MAX_CONNECTIONS: u32 = 256;
    /// Most requests on one kept-alive connection before it is closed.
    pub const HTTP_MAX_REQUESTS_PER_CONNECTION: u32 = 1000;
    /// How long an admin socket client may take to send its request.
    pub const AUDIT_MAX_ENTRIES: u32 = 50_000;
    pub const AUDIT_MAX_AGE: Duration = Duration::from_secs(30 * 24 * 60 * 60);
    pub const ADMIN_TIMEOUT: Duration = Duration::from_secs(5);
    /// Largest Jira response body read (search pages of big issues stay far below).
    pub const RESPONSE_BODY_LIMIT: u64 = 32 * 1024 * 1024;
    /// Shortest webhook secret accepted, in bytes.
    pub const WEBHOOK_SECRET_MIN_BYTES: usize = 16;
}

/// The whole, validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file it was loaded from.
    pub source: PathBuf,
    pub daemon: DaemonConfig,
    /// Instances by id, in id order.
    pub instances: BTreeMap<InstanceId, InstanceConfig>,
    pub flows: Vec<FlowConfig>,
    /// Things `check` should point out that do not stop the daemon.
    pub warnings: Vec<Problem>,
}

impl Config {
    /// The one primary instance (validation guarantees exactly one).
    pub fn primary(&self) -> &InstanceConfig {
        self.instances
            .values()
            .find(|i| i.role == Role::Primary)
            .unwrap_or_else(|| unreachable!("validated config has a primary"))
    }

    pub fn instance(&self, id: &str) -> Option<&InstanceConfig> {
        self.instances.get(id)
    }
}

/// `[daemon]`
#[derive(Debug, Clone)]
pub struct DaemonConfig {
    /// Folder of the redb state file.
    pub state_dir: PathBuf,
    /// Address of the HTTP server (webhooks, health, status, metrics).
    pub listen: SocketAddr,
    /// Unix socket for mutating admin actions, used by the CLI.
    pub admin_socket: PathBuf,
    /// Largest accepted webhook body, in bytes.
    pub webhook_body_limit: u64,
    /// How long a SIGTERM drain may take before exiting anyway.
    pub shutdown_timeout: Duration,
    /// How long webhook delivery ids (and the other inbox dedupe keys) are
    /// remembered; a delivery id seen again within it is dropped.
    pub webhook_replay_window: Duration,
    /// How often every pair is checked against both sites (reconciliation).
    pub reconcile_interval: Duration,
    /// The HTTP listener's limits against slow and hostile clients.
    pub http: HttpLimits,
    /// How long an admin socket client may take to send its request.
    pub admin_timeout: Duration,
    /// The URL at which the sites reach this daemon's `/webhooks/{instance}`
    /// (through a proxy or load balancer, often not `listen`); what
    /// `jirafed webhooks install` registers. None: not set.
    pub public_url: Option<BaseUrl>,
    /// Audit log entries kept at most (the oldest are dropped).
    pub audit_max_entries: u64,
    /// How old an audit entry may grow before it is dropped.
    pub audit_max_age: Duration,
}

/// The HTTP listener's limits (`daemon.http_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpLimits {
    /// A connection that has not sent a request's headers in this time is closed.
    pub header_timeout: Duration,
    /// A request not answered in this time (a slow body included) gets 408
    /// and its connection is closed.
    pub request_timeout: Duration,
    /// Most connections served at once; further ones wait, unaccepted, in
    /// the kernel's backlog until one closes.
    pub max_connections: u32,
    /// Most requests served on one kept-alive connection; it is closed after.
    pub max_requests_per_connection: u32,
}

impl Default for HttpLimits {
    fn default() -> Self {
        HttpLimits {
            header_timeout: defaults::HTTP_HEADER_TIMEOUT,
            request_timeout: defaults::HTTP_REQUEST_TIMEOUT,
            max_connections: defaults::HTTP_MAX_CONNECTIONS,
            max_requests_per_connection: defaults::HTTP_MAX_REQUESTS_PER_CONNECTION,
        }
    }
}

/// Whether a site's webhooks must be signed (`webhooks = "signed" | "unsigned"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookAuth {
    /// Only webhooks signed with the instance's `webhook_secret` are taken;
    /// without a secret every webhook is refused (401).
    Signed,
    /// Webhooks are taken without a signature (warned about by `check`).
    Unsigned,
}

impl Choice for WebhookAuth {
    const ALL: &'static [(&'static str, Self)] =
        &[("signed", WebhookAuth::Signed), ("unsigned", WebhookAuth::Unsigned)];
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Primary,
    Secondary,
}

impl Choice for Role {
    const ALL: &'static [(&'static str, Self)] = &[("primary", Role::Primary), ("secondary", Role::Secondary)];
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavour {
    /// Jira Cloud: REST v3, ADF rich text, `search/jql` with `nextPageToken`.
    Cloud,
    /// Jira Data Center: REST v2, wiki markup, `search` with `startAt`.
    DataCenter,
}

impl Choice for Flavour {
    const ALL: &'static [(&'static str, Self)] = &[("cloud", Flavour::Cloud), ("datacenter", Flavour::DataCenter)];
}

impl Flavour {
    pub fn as_str(self) -> &'static str {
        match self {
            Flavour::Cloud => "cloud",
            Flavour::DataCenter => "datacenter",
        }
    }
}

/// A site's base URL: http or https, a host, maybe a base path (a Data
/// Center context path such as `/jira`, or Cloud's scoped-token gateway
/// `https://api.atlassian.com/ex/jira/{cloudId}`), and never a trailing
/// slash, so that request paths are appended as `{base}/rest/...`.
/// `url::Url` renders an empty path as `/`, hence the separate text.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct BaseUrl {
    url: Url,
    text: String,
}

/// Why a text is not a [`BaseUrl`]; the message names the value (unless it
/// carries credentials) and what was expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BaseUrlError(String);

impl BaseUrl {
    /// The normalised form, e.g. `https://acme.atlassian.net` or
    /// `https://jira.acme.internal/jira`.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The parsed URL (its path is `/` for a site at the root).
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// Whether requests to it cross a network unencrypted: `http://` to a
    /// host other than loopback (`localhost`, `127.0.0.0/8`, `::1`).
    pub fn sends_in_clear(&self) -> bool {
        let loopback = match self.url.host() {
            Some(url::Host::Domain(d)) => {
                d.eq_ignore_ascii_case("localhost") || d.to_ascii_lowercase().ends_with(".localhost")
            }
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            None => false,
        };
        self.url.scheme() == "http" && !loopback
    }
}

impl TryFrom<Url> for BaseUrl {
    type Error = BaseUrlError;

    fn try_from(url: Url) -> Result<Self, BaseUrlError> {
        let shown = url.as_str().to_string();
        BaseUrl::check(url, &shown)
    }
}

impl BaseUrl {
    /// Validates and normalises `url`; `shown` is how errors quote it (the
    /// text as the operator wrote it).
    fn check(mut url: Url, shown: &str) -> Result<Self, BaseUrlError> {
        let problem = if !matches!(url.scheme(), "http" | "https") {
            Some(format!("URL {shown:?} has scheme {:?}; expected http or https", url.scheme()))
        } else if url.host_str().is_none_or(str::is_empty) {
            Some(format!("URL {shown:?} has no host; expected an http(s) URL with a host"))
        } else if !url.username().is_empty() || url.password().is_some() {
            Some("URL carries credentials; put them in [auth] instead".to_string())
        } else if url.query().is_some() || url.fragment().is_some() {
            Some(format!("URL {shown:?} has a query or fragment; expected a base URL only"))
        } else {
            None
        };
        if let Some(p) = problem {
            return Err(BaseUrlError(p));
        }
        let path = url.path().trim_end_matches('/').to_string();
        url.set_path(&path);
        let text = url.as_str().trim_end_matches('/').to_string();
        Ok(BaseUrl { url, text })
    }
}

impl FromStr for BaseUrl {
    type Err = BaseUrlError;

    fn from_str(s: &str) -> Result<Self, BaseUrlError> {
        let url = Url::parse(s.trim()).map_err(|e| {
            // A text that does not parse may still hold credentials.
            let shown = if s.contains('@') { "(not shown: it contains '@')".to_string() } else { format!("{s:?}") };
            BaseUrlError(format!("invalid URL {shown} ({e}); expected an http(s) URL"))
        })?;
        BaseUrl::check(url, s.trim())
    }
}

impl fmt::Display for BaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl fmt::Debug for BaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.text)
    }
}

/// How jirafed authenticates to one site.
#[derive(Debug, Clone)]
pub enum Auth {
    /// Cloud: `email` + API token, sent as HTTP Basic.
    CloudToken { email: String, token: Secret, source: SecretSource },
    /// Data Center: a personal access token, sent as `Bearer`.
    Bearer { token: Secret, source: SecretSource },
    /// Data Center: user + password, sent as HTTP Basic.
    Basic { user: String, password: Secret, source: SecretSource },
}

/// `[instances.<id>]`
#[derive(Debug, Clone)]
pub struct InstanceConfig {
    pub id: InstanceId,
    pub role: Role,
    pub flavour: Flavour,
    /// Base URL without trailing slash; may carry a context path.
    pub url: BaseUrl,
    pub auth: Auth,
    /// Secret that signs this site's webhooks (`X-Hub-Signature`), at least
    /// 16 bytes.
    pub webhook_secret: Option<Secret>,
    /// Whether webhooks must be signed; `Unsigned` only when said so.
    pub webhooks: WebhookAuth,
    /// Largest response body read from this site, in bytes.
    pub response_body_limit: u64,
    /// Write budget: sustained writes per second.
    pub writes_per_second: f64,
    /// Write budget: how many writes may go at once after a quiet spell.
    pub burst: u32,
    /// Read budget: sustained reads per second.
    pub reads_per_second: f64,
    /// Most requests in flight to this site at once.
    pub max_in_flight: u32,
    /// How often the poller searches for updated issues.
    pub poll_interval: Duration,
    /// How far before the cursor each poll looks again.
    pub poll_overlap: Duration,
    /// Extra CA certificate (PEM) to trust for this site.
    pub ca_file: Option<PathBuf>,
    /// Timeout of one HTTP request.
    pub timeout: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CreatePolicy {
    ToPrimary,
    ToSecondary,
    Both,
    None,
}

impl CreatePolicy {
    /// Whether issues created on the primary are pushed to the secondary.
    pub fn pushes(self) -> bool {
        matches!(self, CreatePolicy::ToSecondary | CreatePolicy::Both)
    }
}

impl Choice for CreatePolicy {
    const ALL: &'static [(&'static str, Self)] = &[
        ("to_primary", CreatePolicy::ToPrimary),
        ("to_secondary", CreatePolicy::ToSecondary),
        ("both", CreatePolicy::Both),
        ("none", CreatePolicy::None),
    ];
}

/// When the planner reads a pair's other side before writing to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadTarget {
    /// Before every write: an edit made there since the last sync is always
    /// seen and given to the conflict policy. One more read per change.
    Always,
    /// Only when a change there may not have reached jirafed yet: it
    /// changed in the last minute, its site's webhooks are not confirmed
    /// (jirafed's own writes not seen coming back), or the inbox has a
    /// backlog. Otherwise the target is taken to hold the last synced
    /// values: one read and one write per change. An edit made there whose
    /// webhook is still on its way when jirafed writes is overwritten
    /// without a conflict being seen. Applies to writes towards the
    /// primary; a primary change always reads the secondary.
    Auto,
}

impl Choice for ReadTarget {
    const ALL: &'static [(&'static str, Self)] = &[("always", ReadTarget::Always), ("auto", ReadTarget::Auto)];
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnDelete {
    /// Forget the link; both issues stay.
    Sever,
    /// Delete the mirror too.
    DeleteMirror,
    /// Keep the mirror, label it `jirafed-source-deleted`, forget the link.
    Label,
}

impl Choice for OnDelete {
    const ALL: &'static [(&'static str, Self)] =
        &[("sever", OnDelete::Sever), ("delete_mirror", OnDelete::DeleteMirror), ("label", OnDelete::Label)];
}

/// What a pair's secondary issue leaving the flow's scope (its JQL no longer
/// matching it, the issue still there) does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScopeExit {
    /// As if it were deleted: `on_delete` applies.
    AsDeleted,
    /// Nothing: the pair and the mirror stay as they are, and sync resumes
    /// if the issue comes back into scope.
    Keep,
}

impl Choice for ScopeExit {
    const ALL: &'static [(&'static str, Self)] = &[("as_deleted", ScopeExit::AsDeleted), ("keep", ScopeExit::Keep)];
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConflictPolicy {
    PrimaryWins,
    SecondaryWins,
    NewestWins,
}

impl Choice for ConflictPolicy {
    const ALL: &'static [(&'static str, Self)] = &[
        ("primary_wins", ConflictPolicy::PrimaryWins),
        ("secondary_wins", ConflictPolicy::SecondaryWins),
        ("newest_wins", ConflictPolicy::NewestWins),
    ];
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    ToPrimary,
    ToSecondary,
    Both,
}

impl Choice for Direction {
    const ALL: &'static [(&'static str, Self)] =
        &[("to_primary", Direction::ToPrimary), ("to_secondary", Direction::ToSecondary), ("both", Direction::Both)];
}

impl Direction {
    pub fn to_primary(self) -> bool {
        matches!(self, Direction::ToPrimary | Direction::Both)
    }
    pub fn to_secondary(self) -> bool {
        matches!(self, Direction::ToSecondary | Direction::Both)
    }
}

/// `[[flows.fields]]`: one mapped field.
#[derive(Debug, Clone)]
pub struct FieldMapping {
    /// Field on the secondary, by id or name (resolved at start).
    pub secondary: String,
    /// Field on the primary, by id or name.
    pub primary: String,
    pub direction: Direction,
    /// Value translation, secondary value -> primary value.
    pub values: BTreeMap<String, String>,
}

/// `[flows.status]`
#[derive(Debug, Clone, Default)]
pub struct StatusMap {
    /// Secondary status -> primary status.
    pub to_primary: BTreeMap<String, String>,
    /// Primary status -> secondary status.
    pub to_secondary: BTreeMap<String, String>,
}

/// Which way a relation between two issues of a flow (an issue link, a
/// parent) is carried. One made on the secondary always reaches the
/// primary, where the portfolio is planned; there is no `to_secondary`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RelationDirection {
    /// Relations made on the secondary are carried to the primary only.
    ToPrimary,
    /// Those made on the primary between two mirrors of the flow are
    /// carried back to the secondary too.
    Both,
}

impl Choice for RelationDirection {
    const ALL: &'static [(&'static str, Self)] =
        &[("to_primary", RelationDirection::ToPrimary), ("both", RelationDirection::Both)];
}

impl RelationDirection {
    /// Whether relations made on the primary go back to the secondary.
    pub fn to_secondary(self) -> bool {
        self == RelationDirection::Both
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AcrossInstances {
    /// Show a dependency between mirrors of two secondaries as remote links.
    RemoteLink,
    /// Do not carry such dependencies.
    None,
}

impl Choice for AcrossInstances {
    const ALL: &'static [(&'static str, Self)] =
        &[("remote_link", AcrossInstances::RemoteLink), ("none", AcrossInstances::None)];
    /// `ignore` is the older name of `none`, kept so existing configs load.
    const ALIASES: &'static [(&'static str, Self)] = &[("ignore", AcrossInstances::None)];
}

/// `[flows.links]`
#[derive(Debug, Clone)]
pub struct LinkMap {
    /// Secondary link type name -> primary link type name.
    pub types: BTreeMap<String, String>,
    /// Whether links made on the primary between two mirrors of this flow
    /// go back to the secondary.
    pub direction: RelationDirection,
    /// How a dependency between mirrors of two different secondaries shows.
    pub across_instances: AcrossInstances,
}

/// `[flows.hierarchy]`
#[derive(Debug, Clone)]
pub struct Hierarchy {
    /// Carry the parent (or Epic Link on older Data Center) across.
    pub parent: bool,
    /// Whether re-parenting on the primary goes back to the secondary.
    pub direction: RelationDirection,
}

/// `[[flows]]`
#[derive(Debug, Clone)]
pub struct FlowConfig {
    pub name: FlowName,
    /// The secondary instance this flow syncs with the primary.
    pub secondary: InstanceId,
    /// JQL selecting the secondary's issues in scope.
    pub scope: String,
    /// Project on the primary where mirrors are created.
    pub primary_project: String,
    pub create: CreatePolicy,
    /// JQL on the primary: which of its issues this flow pushes to the
    /// secondary. Set exactly when `create` is `to_secondary` or `both`.
    pub primary_scope: Option<String>,
    /// Project on the secondary where pushed issues are created. Set
    /// exactly when `create` is `to_secondary` or `both`.
    pub secondary_project: Option<String>,
    /// Secondary issue type -> primary issue type (unlisted: same name).
    pub issue_types: BTreeMap<String, String>,
    pub on_delete: OnDelete,
    pub on_scope_exit: ScopeExit,
    pub conflict: ConflictPolicy,
    /// When the other side of a pair is read before writing to it.
    pub read_target: ReadTarget,
    pub fields: Vec<FieldMapping>,
    pub status: StatusMap,
    pub links: LinkMap,
    pub hierarchy: Hierarchy,
}

#[cfg(test)]
mod tests {
    use super::{AcrossInstances, BaseUrl, Choice, CreatePolicy, RelationDirection};

    /// An alias reads as its value, which keeps its current name.
    #[test]
    fn choices_are_named_by_their_current_spelling() {
        assert_eq!(AcrossInstances::None.config_name(), "none");
        assert!(AcrossInstances::ALIASES.contains(&("ignore", AcrossInstances::None)));
        assert!(!AcrossInstances::ALL.iter().any(|(n, _)| *n == "ignore"));
        assert_eq!(RelationDirection::ALL.iter().map(|(n, _)| *n).collect::<Vec<_>>(), ["to_primary", "both"]);
        assert!(RelationDirection::Both.to_secondary() && !RelationDirection::ToPrimary.to_secondary());
        let pushes: Vec<bool> = CreatePolicy::ALL.iter().map(|(_, c)| c.pushes()).collect();
        assert_eq!(pushes, [false, true, true, false]);
    }

    #[test]
    fn base_urls_lose_trailing_slashes_and_keep_their_path() {
        for (given, normal) in [
            ("https://acme.atlassian.net", "https://acme.atlassian.net"),
            ("https://acme.atlassian.net/", "https://acme.atlassian.net"),
            ("https://ACME.atlassian.net//", "https://acme.atlassian.net"),
            ("http://127.0.0.1:8080/jira/", "http://127.0.0.1:8080/jira"),
            ("https://api.atlassian.com/ex/jira/1a2b-3c4d", "https://api.atlassian.com/ex/jira/1a2b-3c4d"),
        ] {
            let url: BaseUrl = given.parse().unwrap_or_else(|e| panic!("{given}: {e}"));
            assert_eq!(url.as_str(), normal);
            assert_eq!(url.to_string(), normal);
            assert_eq!(format!("{url:?}"), format!("{normal:?}"));
            assert_eq!(BaseUrl::try_from(url.url().clone()).as_ref(), Ok(&url));
        }
    }

    #[test]
    fn only_http_to_a_host_beyond_loopback_sends_in_clear() {
        let cases = [
            ("http://jira.acme.internal", true),
            ("http://10.0.0.7:8080/jira", true),
            ("http://[2001:db8::1]", true),
            ("https://jira.acme.internal", false),
            ("http://127.0.0.1:8801", false),
            ("http://127.8.9.10", false),
            ("http://[::1]:8080", false),
            ("http://localhost:8080", false),
            ("http://jira.localhost", false),
        ];
        for (url, clear) in cases {
            assert_eq!(url.parse::<BaseUrl>().unwrap().sends_in_clear(), clear, "{url}");
        }
    }

    #[test]
    fn base_urls_refuse_what_is_not_a_site() {
        for bad in
            ["ftp://x.example", "not a url", "https://bot:pw@x.example", "https://x.example/?a=1", "https://x/#f"]
        {
            let err = bad.parse::<BaseUrl>().expect_err(bad).to_string();
            assert!(!err.contains("pw"), "{err}");
        }
    }
}
