//! The simulator's world file (`jirafed sim --config FILE`): sites, their
//! users, projects, custom fields and seed issues. `default_world()` is the
//! demo world that `jirafed sim` serves with no config.

use serde::{Deserialize, Serialize};

/// Every site the simulator serves.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorldConfig {
    /// First delay between webhook delivery retries, doubled each time
    /// (real Jira waits longer; tests want it short).
    #[serde(default = "default_retry_base_ms")]
    pub webhook_retry_base_ms: u64,
    /// Deliveries tried at most this many times after the first.
    #[serde(default = "default_retries")]
    pub webhook_retries: u32,
    pub sites: Vec<SiteConfig>,
}

fn default_retry_base_ms() -> u64 {
    200
}

fn default_retries() -> u32 {
    5
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SimFlavour {
    Cloud,
    Datacenter,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SiteConfig {
    pub name: String,
    pub flavour: SimFlavour,
    /// Loopback port; 0 picks a free one.
    #[serde(default)]
    pub port: u16,
    pub projects: Vec<ProjectConfig>,
    pub users: Vec<UserConfig>,
    /// Link types besides the defaults (Blocks, Relates, Cloners).
    #[serde(default)]
    pub extra_link_types: Vec<LinkTypeConfig>,
    #[serde(default)]
    pub custom_fields: Vec<CustomFieldConfig>,
    /// Field ids or names left off the create/edit screens.
    #[serde(default)]
    pub off_screen: Vec<String>,
    /// Built-in field ids or names this site does not have (a Data Center
    /// without Jira Software has no "Epic Link").
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub absent_fields: Vec<String>,
    /// Statuses the site has (`GET /status` lists them) that no workflow
    /// uses: no issue type of any project reaches them (a status left
    /// behind by a retired workflow).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unused_statuses: Vec<String>,
    #[serde(default)]
    pub issues: Vec<IssueConfig>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProjectConfig {
    pub key: String,
    pub name: String,
    #[serde(default)]
    pub components: Vec<String>,
}

#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserConfig {
    /// Data Center user name; also the handle used in this file.
    pub name: String,
    pub display_name: String,
    pub email: String,
    /// IANA time zone of the user's profile (JQL dates are read in it).
    #[serde(default = "default_tz")]
    pub time_zone: String,
    /// Cloud API token (Basic email:token).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// Data Center personal access token (Bearer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pat: Option<String>,
    /// Data Center password (Basic name:password).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    /// Permission keys held; default: all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permissions: Option<Vec<String>>,
    /// Keys of the projects those permissions hold in (BROWSE_PROJECTS
    /// included: other projects' issues are invisible); default: all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub projects: Option<Vec<String>>,
}

impl std::fmt::Debug for UserConfig {
    // The secrets stay out of logs and panics.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserConfig")
            .field("name", &self.name)
            .field("display_name", &self.display_name)
            .field("email", &self.email)
            .field("time_zone", &self.time_zone)
            .field("permissions", &self.permissions)
            .field("projects", &self.projects)
            .finish_non_exhaustive()
    }
}

fn default_tz() -> String {
    "UTC".into()
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkTypeConfig {
    pub name: String,
    pub inward: String,
    pub outward: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomFieldConfig {
    /// e.g. `customfield_10016`.
    pub id: String,
    pub name: String,
    /// number | text | textarea | select | multiselect | date | datetime | user | labels
    pub kind: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssueConfig {
    pub project: String,
    pub issuetype: String,
    pub summary: String,
    /// Wiki markup.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<String>,
    /// User name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignee: Option<String>,
    /// Other fields by id or name, as JSON-like TOML values in the v2 write shape.
    #[serde(default, skip_serializing_if = "toml::Table::is_empty")]
    pub fields: toml::Table,
}

/// Credentials of the technical user on every default site.
pub const SYNC_BOT_EMAIL: &str = "sync-bot@example.com";
pub const SYNC_BOT_TOKEN: &str = "sim-token";
pub const SYNC_BOT_PAT: &str = "sim-pat";
pub const SYNC_BOT_PASSWORD: &str = "sim-password";
/// Default ports: hub, emea, apac at `port_base + 1..=3`.
pub const DEFAULT_PORT_BASE: u16 = 8800;

fn people(tz: &str) -> Vec<UserConfig> {
    let person = |name: &str, display: &str, perms: Option<Vec<String>>| UserConfig {
        name: name.into(),
        display_name: display.into(),
        email: format!("{name}@example.com"),
        time_zone: tz.into(),
        token: Some(format!("{name}-token")),
        pat: Some(format!("{name}-pat")),
        password: Some(format!("{name}-password")),
        permissions: perms,
        projects: None,
    };
    vec![
        UserConfig {
            name: "sync-bot".into(),
            display_name: "Sync Bot".into(),
            email: SYNC_BOT_EMAIL.into(),
            time_zone: tz.into(),
            token: Some(SYNC_BOT_TOKEN.into()),
            pat: Some(SYNC_BOT_PAT.into()),
            password: Some(SYNC_BOT_PASSWORD.into()),
            permissions: None,
            projects: None,
        },
        person("alice", "Alice Example", None),
        person("bob", "Bob Example", None),
        // Carol may look but not touch: writes get 403.
        person("carol", "Carol Example", Some(vec!["BROWSE_PROJECTS".into()])),
    ]
}

fn custom_fields(ids: [&str; 3], teams: &[&str]) -> Vec<CustomFieldConfig> {
    vec![
        CustomFieldConfig { id: ids[0].into(), name: "Story Points".into(), kind: "number".into(), options: vec![] },
        CustomFieldConfig {
            id: ids[1].into(),
            name: "Team".into(),
            kind: "select".into(),
            options: teams.iter().map(|s| s.to_string()).collect(),
        },
        CustomFieldConfig { id: ids[2].into(), name: "Target start".into(), kind: "date".into(), options: vec![] },
    ]
}

fn seed_issue(project: &str, issuetype: &str, summary: &str, status: &str, priority: &str) -> IssueConfig {
    IssueConfig {
        project: project.into(),
        issuetype: issuetype.into(),
        summary: summary.into(),
        description: Some(format!("Seeded issue: *{summary}*.")),
        status: Some(status.into()),
        priority: Some(priority.into()),
        labels: vec![],
        assignee: None,
        fields: toml::Table::new(),
    }
}

/// The demo world: `hub` (cloud, PORT), `emea` (cloud, EMEA), `apac`
/// (datacenter, APAC) on `port_base + 1..=3`; a `port_base` of 0 lets the
/// system pick free ports (tests).
pub fn default_world(port_base: u16) -> WorldConfig {
    let port = |n: u16| if port_base == 0 { 0 } else { port_base.saturating_add(n) };
    let hub = SiteConfig {
        name: "hub".into(),
        flavour: SimFlavour::Cloud,
        port: port(1),
        projects: vec![ProjectConfig {
            key: "PORT".into(),
            name: "Portfolio".into(),
            components: vec!["Platform".into(), "Apps".into()],
        }],
        users: people("Europe/Berlin"),
        extra_link_types: vec![LinkTypeConfig {
            name: "Dependency".into(),
            inward: "is a dependency of".into(),
            outward: "depends on".into(),
        }],
        custom_fields: custom_fields(
            ["customfield_10016", "customfield_10020", "customfield_10015"],
            &["Platform", "Apps", "Data"],
        ),
        off_screen: vec![],
        absent_fields: vec![],
        unused_statuses: vec![],
        issues: vec![],
    };
    let emea = SiteConfig {
        name: "emea".into(),
        flavour: SimFlavour::Cloud,
        port: port(2),
        projects: vec![ProjectConfig {
            key: "EMEA".into(),
            name: "EMEA Delivery".into(),
            components: vec!["Core".into()],
        }],
        users: people("Europe/London"),
        extra_link_types: vec![],
        custom_fields: custom_fields(
            ["customfield_10026", "customfield_10031", "customfield_10032"],
            &["EMEA Core", "EMEA Apps"],
        ),
        off_screen: vec![],
        absent_fields: vec![],
        unused_statuses: vec![],
        issues: vec![
            seed_issue("EMEA", "Epic", "Payments revamp", "In Progress", "High"),
            seed_issue("EMEA", "Story", "Card tokenisation", "To Do", "Medium"),
        ],
    };
    let apac = SiteConfig {
        name: "apac".into(),
        flavour: SimFlavour::Datacenter,
        port: port(3),
        projects: vec![ProjectConfig {
            key: "APAC".into(),
            name: "APAC Platform".into(),
            components: vec!["Core".into()],
        }],
        users: people("Australia/Sydney"),
        extra_link_types: vec![],
        custom_fields: custom_fields(
            ["customfield_10106", "customfield_10200", "customfield_10201"],
            &["APAC Core", "APAC Apps"],
        ),
        off_screen: vec![],
        absent_fields: vec![],
        unused_statuses: vec![],
        issues: vec![
            seed_issue("APAC", "Epic", "Regional rollout", "To Do", "Medium"),
            seed_issue("APAC", "Bug", "Login times out in Sydney", "In Progress", "Highest"),
        ],
    };
    WorldConfig {
        webhook_retry_base_ms: default_retry_base_ms(),
        webhook_retries: default_retries(),
        sites: vec![hub, emea, apac],
    }
}

impl WorldConfig {
    pub fn from_toml(text: &str) -> Result<Self, String> {
        toml::from_str(text).map_err(|e| e.to_string())
    }

    /// The same world with its sites on `base + 1`, `base + 2`, ... in
    /// order (`--port-base`); a `base` of 0 lets the system pick free ports.
    pub fn with_port_base(mut self, base: u16) -> Self {
        for (i, site) in self.sites.iter_mut().enumerate() {
            let offset = u16::try_from(i + 1).unwrap_or(u16::MAX);
            site.port = if base == 0 { 0 } else { base.saturating_add(offset) };
        }
        self
    }

    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_else(|e| format!("# cannot render the world: {e}\n"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_keeps_the_secrets_out() {
        let text = format!("{:?}", default_world(0));
        for secret in [SYNC_BOT_TOKEN, SYNC_BOT_PAT, SYNC_BOT_PASSWORD, "alice-token"] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
        assert!(text.contains(SYNC_BOT_EMAIL));
    }

    #[test]
    fn port_base_moves_every_site_in_order() {
        let ports = |w: WorldConfig| w.sites.iter().map(|s| s.port).collect::<Vec<_>>();
        assert_eq!(ports(default_world(0).with_port_base(9900)), [9901, 9902, 9903]);
        assert_eq!(ports(default_world(8800).with_port_base(0)), [0, 0, 0]);
        assert_eq!(ports(default_world(9900)), ports(default_world(1).with_port_base(9900)));
    }
}
