//! A test rig for the planner's and the writer's unit tests: an engine
//! built from in-memory parts (two fake sites, an in-memory store, a clock
//! the test moves), no socket anywhere. Tests seed pairs and issues, put
//! changes in the inbox as webhooks and polls would, run one planner pass or
//! one writer step, and read back the jobs, the store and the calls each
//! site received.

use std::path::Path;
use std::sync::Arc;

use super::change::{Actor, Change, ChangeKind, ChangeSource};
use super::engine::Engine;
use super::job::Job;
use super::planner::{self, Pass};
use super::sites::Sites;
use super::writer;
use crate::clock::{Clock, ManualTime};
use crate::config::{self, Config, Flavour, Role};
use crate::ids::{InstanceId, IssueId, IssueKey};
use crate::jira::fake::{CustomKind, FakeCall, FakeSite, IssueSeed, custom_field, project};
use crate::jira::model::UserRef;
use crate::jira::values::FieldValue;
use crate::mapping::{self, Shadow};
use crate::observe::Observer;
use crate::store::{LinkRecord, Op, OpResult, OutboxEntry, StorageFaults, Store, StoreOptions};

/// When every rig's clock starts: 2026-01-01T00:00:00Z.
pub(crate) const T0: i64 = 1_767_225_600_000;

/// Story Points on the primary and on the secondary.
pub(crate) const HUB_POINTS: &str = "customfield_10016";
pub(crate) const EMEA_POINTS: &str = "customfield_10026";
/// The Epic Link field of the Data Center secondary.
pub(crate) const APAC_EPIC_LINK: &str = "customfield_10100";

/// The flow tests use, `emea-delivery` (`flows[0]`): emea (Cloud) into hub
/// (Cloud) project PORT, summary / priority / labels / assignee both ways,
/// Story Points up, statuses mapped one to one. A second secondary, apac
/// (Data Center), has a flow of its own (`flows[1]`, summary only) for
/// dependencies across sites. Tests change them through [`Rig::with`].
const CONFIG: &str = r#"
[daemon]
state_dir = "state"
listen = "127.0.0.1:0"
admin_socket = "admin.sock"

[instances.hub]
role = "primary"
flavour = "cloud"
url = "https://hub.example"
auth = { email = "sync-bot@example.com", token_env = "T" }

[instances.emea]
role = "secondary"
flavour = "cloud"
url = "https://emea.example"
auth = { email = "sync-bot@example.com", token_env = "T" }

[instances.apac]
role = "secondary"
flavour = "datacenter"
url = "https://apac.example"
auth = { bearer_env = "T" }

[[flows]]
name = "emea-delivery"
secondary = "emea"
scope = "project = EMEA"
primary_project = "PORT"
create = "to_primary"
on_delete = "label"
conflict = "primary_wins"
read_target = "always"
issue_types = { Story = "Story" }

  [[flows.fields]]
  secondary = "summary"
  primary = "summary"
  direction = "both"

  [[flows.fields]]
  secondary = "priority"
  primary = "priority"
  direction = "both"

  [[flows.fields]]
  secondary = "Story Points"
  primary = "Story Points"
  direction = "to_primary"

  [[flows.fields]]
  secondary = "labels"
  primary = "labels"
  direction = "both"

  [[flows.fields]]
  secondary = "assignee"
  primary = "assignee"
  direction = "both"

  [flows.status]
  to_primary = { "To Do" = "To Do", "In Progress" = "In Progress", "Done" = "Done" }
  to_secondary = { "To Do" = "To Do", "In Progress" = "In Progress", "Done" = "Done" }

[[flows]]
name = "apac-platform"
secondary = "apac"
scope = "project = APAC"
primary_project = "PORT"
create = "to_primary"
read_target = "always"

  [[flows.fields]]
  secondary = "summary"
  primary = "summary"
  direction = "both"
"#;

/// The rig's flow.
pub(crate) const FLOW: &str = "emea-delivery";

/// Who makes a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum By {
    /// A person (alice): a change to carry.
    Person,
    /// jirafed's own technical user: the echo of its write.
    Bot,
}

pub(crate) struct Rig {
    pub(crate) engine: Arc<Engine>,
    pub(crate) hub: Arc<FakeSite>,
    pub(crate) emea: Arc<FakeSite>,
    pub(crate) apac: Arc<FakeSite>,
    pub(crate) time: ManualTime,
    /// Storage faults under the rig's store, none armed at first.
    pub(crate) faults: Arc<StorageFaults>,
    _dir: tempfile::TempDir,
}

/// alice, a person with an account on both sites.
pub(crate) fn alice() -> UserRef {
    UserRef {
        account_id: Some("acc-alice".into()),
        email: Some("alice@example.com".into()),
        display_name: Some("Alice".into()),
        ..UserRef::default()
    }
}

fn site(id: &str, flavour: Flavour, points: &str, clock: &Clock) -> Arc<FakeSite> {
    let site = FakeSite::new(id, flavour, clock.clone())
        .with_field(custom_field(points, "Story Points", CustomKind::Number))
        .with_user(alice())
        .with_project(project(&project_of(id), &[], &[]));
    Arc::new(site)
}

/// The project of a rig site: PORT, EMEA, APAC.
fn project_of(site: &str) -> String {
    if site == "hub" { "PORT".into() } else { site.to_uppercase() }
}

impl Rig {
    /// The rig with its config as written above.
    pub(crate) async fn new() -> Rig {
        Rig::with(|_| {}).await
    }

    /// The rig with the config changed by `edit` first.
    pub(crate) async fn with(edit: impl FnOnce(&mut Config)) -> Rig {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("jirafed.toml");
        std::fs::write(&path, CONFIG).expect("write config");
        let mut config = load(&path);
        edit(&mut config);
        let (clock, time) = Clock::manual(T0);
        let hub = site("hub", Flavour::Cloud, HUB_POINTS, &clock);
        let emea = site("emea", Flavour::Cloud, EMEA_POINTS, &clock);
        let apac = site("apac", Flavour::DataCenter, "customfield_10106", &clock);
        apac.add_field(custom_field(APAC_EPIC_LINK, "Epic Link", CustomKind::EpicLink));
        let sites = vec![
            (Role::Primary, hub.clone() as _),
            (Role::Secondary, emea.clone() as _),
            (Role::Secondary, apac.clone() as _),
        ];
        let sites = Sites::connect_to(InstanceId::new("hub"), sites).await;
        let faults = StorageFaults::new();
        let options = StoreOptions { clock: clock.clone(), faults: Some(faults.clone()), ..StoreOptions::default() };
        let store = Store::open_in_memory(options).expect("in-memory store");
        let config = Arc::new(config);
        let observer = Arc::new(Observer::new(&config));
        let engine = Engine::assemble(config, store, sites, observer, clock).expect("engine assembles");
        hub.take_calls();
        emea.take_calls();
        apac.take_calls();
        Rig { engine: Arc::new(engine), hub, emea, apac, time, faults, _dir: dir }
    }

    pub(crate) fn store(&self) -> &Store {
        &self.engine.store
    }

    pub(crate) fn site(&self, id: &str) -> &FakeSite {
        match id {
            "hub" => &self.hub,
            "apac" => &self.apac,
            _ => &self.emea,
        }
    }

    /// Puts an issue on a site, in the site's project.
    pub(crate) fn issue(&self, site: &str, seed: IssueSeed) -> String {
        self.site(site).put_issue(seed).id.to_string()
    }

    /// `EMEA-1` and its mirror `PORT-1`, both with `summary` and in "To Do",
    /// paired with a shadow of what they hold.
    pub(crate) async fn pair(&self, summary: &str) -> LinkRecord {
        self.pair_keys("EMEA-1", "PORT-1", summary).await
    }

    /// [`Rig::pair`] of the secondary issue `s_key` and its mirror `p_key`.
    pub(crate) async fn pair_keys(&self, s_key: &str, p_key: &str, summary: &str) -> LinkRecord {
        self.pair_on("emea", FLOW, s_key, p_key, summary).await
    }

    /// A pair of `flow` on `site`: `s_key` there and its mirror `p_key`.
    pub(crate) async fn pair_on(&self, site: &str, flow: &str, s_key: &str, p_key: &str, summary: &str) -> LinkRecord {
        let s_id = self.issue(site, IssueSeed::new(s_key).set("summary", text(summary)).status("To Do"));
        let p_id = self.issue("hub", IssueSeed::new(p_key).set("summary", text(summary)).status("To Do"));
        let link = LinkRecord {
            id: 0,
            flow: flow.into(),
            secondary: site.into(),
            secondary_issue: s_id,
            secondary_key: s_key.into(),
            primary_issue: p_id,
            primary_key: p_key.into(),
            created_ms: T0,
            by_hand: false,
            pushed: false,
        };
        let shadow = shadow_of(summary);
        let results = self.commit(vec![Op::LinkWithShadow { link: link.clone(), shadow }]).await;
        let OpResult::LinkId(id) = results[0] else { panic!("no link id: {results:?}") };
        LinkRecord { id, ..link }
    }

    /// Every job queued now carried out, in order, as the writers would;
    /// then the changes they caused planned, until nothing is left (at most
    /// `rounds` rounds).
    pub(crate) async fn settle(&self, rounds: usize) {
        for _ in 0..rounds {
            while let Some(entry) = self.outbox().into_iter().next() {
                writer::execute(&self.engine, entry).await;
            }
            if self.inbox_depth() == 0 {
                return;
            }
            self.plan().await;
        }
        panic!("not settled after {rounds} rounds: inbox {}, outbox {}", self.inbox_depth(), self.outbox().len());
    }

    pub(crate) async fn commit(&self, ops: Vec<Op>) -> Vec<OpResult> {
        self.store().commit(ops).await.expect("commit")
    }

    /// A change of `site`'s `key` in the inbox, seen now, as a webhook made
    /// `by` someone (or, with `by` None, as a poll found it).
    pub(crate) async fn change(&self, site: &str, key: &str, by: Option<By>) {
        let id = self.site(site).id_of(key).unwrap_or_else(|| IssueId::new(key));
        let actor = by.map(|b| match b {
            By::Person => Actor { account_id: Some("acc-alice".into()), ..Actor::default() },
            By::Bot => Actor { account_id: Some("sync-bot".into()), ..Actor::default() },
        });
        let change = Change {
            instance: InstanceId::new(site),
            issue_id: id.clone(),
            issue_key: Some(IssueKey::new(key)),
            source: if by.is_some() { ChangeSource::Webhook } else { ChangeSource::Poll },
            kind: ChangeKind::Updated,
            seen_ms: self.time.now_ms(),
            actor,
            version_ms: None,
            link_ends: None,
        };
        let op =
            Op::InboxPush { instance: site.into(), issue: id.to_string(), payload: change.to_bytes(), delivery: None };
        self.commit(vec![op]).await;
    }

    /// The changes an issue-link webhook of `site` makes for a link between
    /// `keys` (made or removed): one per end, naming no user.
    pub(crate) async fn link_webhook(&self, site: &str, keys: [&str; 2]) {
        let id = |key: &str| self.site(site).id_of(key).unwrap_or_else(|| IssueId::new(key));
        let ends = (id(keys[0]), id(keys[1]));
        let ops = keys
            .iter()
            .map(|key| {
                let change = Change {
                    instance: InstanceId::new(site),
                    issue_id: id(key),
                    issue_key: None,
                    source: ChangeSource::Webhook,
                    kind: ChangeKind::Updated,
                    seen_ms: self.time.now_ms(),
                    actor: None,
                    version_ms: None,
                    link_ends: Some(ends.clone()),
                };
                Op::InboxPush {
                    instance: site.into(),
                    issue: id(key).to_string(),
                    payload: change.to_bytes(),
                    delivery: None,
                }
            })
            .collect();
        self.commit(ops).await;
    }

    /// One planner pass once the changes so far have settled (as the
    /// planner's loop would wait for them).
    pub(crate) async fn plan(&self) -> Pass {
        self.time.advance(planner::SETTLE.as_millis() as i64);
        self.plan_now().await
    }

    /// One planner pass at the clock's time now.
    pub(crate) async fn plan_now(&self) -> Pass {
        planner::plan_batch(&self.engine).await.expect("planner pass")
    }

    /// The outbox: (target instance, job), in order.
    pub(crate) fn jobs(&self) -> Vec<(String, Job)> {
        self.outbox().into_iter().map(|e| (e.instance.clone(), Job::from_bytes(&e.payload).expect("job"))).collect()
    }

    pub(crate) fn outbox(&self) -> Vec<OutboxEntry> {
        self.store().outbox_after(None, 1_000).expect("outbox")
    }

    pub(crate) fn inbox_depth(&self) -> u64 {
        self.store().inbox_depth().expect("inbox depth")
    }

    /// Carries out the first outbox entry, as the writer would.
    pub(crate) async fn write_next(&self) {
        let entry = self.outbox().into_iter().next().expect("an outbox entry");
        writer::execute(&self.engine, entry).await;
    }

    /// Every call each site received since the last look.
    pub(crate) fn calls(&self) -> (Vec<FakeCall>, Vec<FakeCall>) {
        (self.emea.take_calls(), self.hub.take_calls())
    }

    pub(crate) fn shadow(&self, link: u64) -> Option<Shadow> {
        self.store().shadow(link).expect("shadow")
    }
}

pub(crate) fn text(s: &str) -> FieldValue {
    FieldValue::Text(s.to_string())
}

/// The shadow of a pair in sync on `summary` alone, both in "To Do" (the
/// other fields empty on both sides).
pub(crate) fn shadow_of(summary: &str) -> Shadow {
    let mut values = std::collections::BTreeMap::new();
    values.insert("summary".to_string(), mapping::Value::Text(summary.into()));
    for key in ["priority", "labels", "assignee", HUB_POINTS] {
        values.insert(key.to_string(), mapping::Value::Empty);
    }
    Shadow { values, status_secondary: Some("To Do".into()), status_primary: Some("To Do".into()), ..Shadow::default() }
}

fn load(path: &Path) -> Config {
    config::load_with(path, &[], &|name: &str| (name == "T").then(|| "token".to_string())).expect("rig config")
}
