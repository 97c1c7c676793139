//! The connected sites: a client per configured instance, each reached and
//! authenticated (`/myself`, which also names the technical user whose
//! webhooks are jirafed's own echoes) and its field catalogue read. The
//! daemon starts from it and `jirafed check` reports from it, so both
//! connect the same way.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::change::Actor;
use crate::config::{Config, Role};
use crate::ids::InstanceId;
use crate::jira::Site;
use crate::jira::client::JiraClient;
use crate::jira::fields::FieldCatalogue;
use crate::jira::model::{LinkType, Myself};
use crate::jira::{CallTimer, CallTiming, Transport};
use crate::observe::Observer;

/// Records each call of `instance` in the latency histogram.
fn call_timer(instance: &str, observer: &Arc<Observer>) -> CallTimer {
    let (instance, observer) = (instance.to_string(), Arc::clone(observer));
    Arc::new(move |t: &CallTiming| {
        observer.metrics.call_latency(&instance, t.op.as_str(), t.outcome.as_str(), t.seconds)
    })
}

/// A site that answered.
#[derive(Clone)]
pub struct Connection {
    /// The technical user, with its time zone.
    pub me: Myself,
    pub catalogue: Arc<FieldCatalogue>,
    /// The issue link types the site has.
    pub link_types: Vec<LinkType>,
}

/// One configured instance and how connecting to it went.
pub struct SiteEntry {
    pub role: Role,
    /// `None` when no client could be built (a CA file, a credential).
    pub site: Option<Arc<dyn Site>>,
    /// Why the site is not usable, when it is not (without the instance's
    /// name: [`Sites::problems`] adds it).
    pub connection: Result<Connection, String>,
}

/// Every instance of the config, connected.
pub struct Sites {
    primary: InstanceId,
    entries: BTreeMap<InstanceId, SiteEntry>,
}

impl Sites {
    /// Builds a client per instance of `config` and connects each.
    pub async fn connect(config: &Config) -> Sites {
        Sites::connect_timed(config, None).await
    }

    /// [`Sites::connect`], each call's latency recorded in `observer`'s
    /// metrics (`jirafed_jira_call_seconds`).
    pub async fn connect_observed(config: &Config, observer: &Arc<Observer>) -> Sites {
        Sites::connect_timed(config, Some(observer)).await
    }

    async fn connect_timed(config: &Config, observer: Option<&Arc<Observer>>) -> Sites {
        let mut sites = Vec::new();
        let mut unbuilt = Vec::new();
        for inst in config.instances.values() {
            let built = Transport::new(inst).map(|t| match observer {
                Some(o) => t.with_timer(call_timer(inst.id.as_str(), o)),
                None => t,
            });
            match built.map(|t| JiraClient::from_transport(inst.id.clone(), inst.flavour, t)) {
                Ok(c) => sites.push((inst.role, Arc::new(c) as Arc<dyn Site>)),
                Err(e) => {
                    let bare = e.strip_prefix(&format!("instance {}: ", inst.id)).map(str::to_string);
                    unbuilt.push((inst.id.clone(), inst.role, bare.unwrap_or(e)));
                }
            }
        }
        let mut connected = Sites::connect_to(config.primary().id.clone(), sites).await;
        for (id, role, e) in unbuilt {
            connected.entries.insert(id, SiteEntry { role, site: None, connection: Err(e) });
        }
        connected
    }

    /// Connects the given sites (tests pass in-memory ones).
    pub async fn connect_to(primary: InstanceId, sites: Vec<(Role, Arc<dyn Site>)>) -> Sites {
        let mut entries = BTreeMap::new();
        for (role, site) in sites {
            let connection = connect_one(site.as_ref()).await;
            entries.insert(site.id().clone(), SiteEntry { role, site: Some(site), connection });
        }
        Sites { primary, entries }
    }

    pub fn primary(&self) -> &InstanceId {
        &self.primary
    }

    /// Every problem, one line each, naming the instance.
    pub fn problems(&self) -> Vec<String> {
        let problem =
            |(id, e): (&InstanceId, &SiteEntry)| Some(format!("instance {id}: {}", e.connection.as_ref().err()?));
        self.entries.iter().filter_map(problem).collect()
    }

    /// The instances whose connection failed, with why.
    pub fn failed(&self) -> Vec<(InstanceId, String)> {
        let failed = |(id, e): (&InstanceId, &SiteEntry)| Some((id.clone(), e.connection.as_ref().err()?.clone()));
        self.entries.iter().filter_map(failed).collect()
    }

    /// Takes `id`'s client and connection from `running` (a reload keeps
    /// the running client of an instance it cannot reach); false when
    /// `running` has no working one for it.
    pub fn keep_running(&mut self, running: &Sites, id: &InstanceId) -> bool {
        let Some(old) = running.entries.get(id) else { return false };
        let (Some(site), Ok(connection)) = (old.site.clone(), old.connection.clone()) else { return false };
        let role = self.entries.get(id).map_or(old.role, |e| e.role);
        self.entries.insert(id.clone(), SiteEntry { role, site: Some(site), connection: Ok(connection) });
        true
    }

    pub fn entries(&self) -> impl Iterator<Item = (&InstanceId, &SiteEntry)> {
        self.entries.iter()
    }

    /// The client of `id`, when one could be built.
    pub fn get(&self, id: &str) -> Option<&Arc<dyn Site>> {
        self.entries.get(id).and_then(|e| e.site.as_ref())
    }

    /// The technical user of `id`: webhooks it caused are jirafed's own
    /// writes coming back.
    pub fn me(&self, id: &str) -> Option<Actor> {
        let user = &self.entries.get(id)?.connection.as_ref().ok()?.me.user;
        Some(Actor {
            account_id: user.account_id.clone(),
            name: user.name.clone(),
            key: user.key.clone(),
            display_name: user.display_name.clone(),
        })
    }

    pub fn catalogue(&self, id: &str) -> Option<&Arc<FieldCatalogue>> {
        Some(&self.entries.get(id)?.connection.as_ref().ok()?.catalogue)
    }

    /// The issue link types of `id`.
    pub fn link_types(&self, id: &str) -> Option<&[LinkType]> {
        Some(&self.entries.get(id)?.connection.as_ref().ok()?.link_types)
    }
}

async fn connect_one(site: &dyn Site) -> Result<Connection, String> {
    let me = site.myself().await.map_err(|e| format!("cannot authenticate: {e}"))?;
    let catalogue = site.fields().await.map_err(|e| format!("cannot read fields: {e}"))?;
    let link_types = site.link_types().await.map_err(|e| format!("cannot read link types: {e}"))?;
    Ok(Connection { me, catalogue, link_types })
}
