//! `jirafed webhooks install|list|remove [INSTANCE]`: the admin webhooks
//! that make each site post its events to this daemon, managed through
//! Jira's webhook REST API (`/rest/webhooks/1.0/webhook`, Cloud and Data
//! Center alike) with the technical user's credentials, which must be a
//! Jira administrator's for this.
//!
//! jirafed's registration on a site is the one whose URL is
//! `daemon.public_url` + `/webhooks/{instance}`. It asks for the events
//! jirafed consumes, filters issue events with the JQL the daemon polls
//! (the flows' scopes on a secondary, the mirror projects and pushing
//! scopes on the primary) and carries the instance's `webhook_secret`, so
//! deliveries arrive signed. `install` is idempotent: a registration with
//! the same URL is updated (and others with that URL removed), never
//! duplicated. `check` reports a registration missing or stale.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::Context as _;
use serde_json::{Value, json};

use super::{WebhooksAction, WebhooksArgs};
use crate::config::{self, Config, InstanceConfig, WebhookAuth};
use crate::jira::client::{JiraClient, WebhookRegistration, WebhookSpec};
use crate::jira::webhook::CONSUMED_EVENTS;
use crate::jira::{ErrorKind, JiraError};

/// The name jirafed's registrations carry on every site.
pub const REGISTRATION_NAME: &str = "jirafed";

/// What jirafed's registration on one site must be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wanted {
    pub url: String,
    pub jql: Option<String>,
}

/// What a site's registrations are, against [`Wanted`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Registration {
    /// No registration posts to jirafed's URL.
    Missing,
    /// Registration `id` is as wanted.
    Current { id: u64 },
    /// Registration `id` posts to jirafed's URL but differs: why, each.
    Stale { id: u64, why: Vec<String> },
}

/// The state of one site: its registration and any others posting to the
/// same URL (duplicates, which make every event arrive twice).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assessment {
    pub registration: Registration,
    pub duplicates: Vec<u64>,
}

impl Assessment {
    /// One line: "registered (webhook 4)", "missing", "stale (webhook 4:
    /// ...)", with duplicates named.
    pub fn describe(&self) -> String {
        let mut s = match &self.registration {
            Registration::Missing => "missing".to_string(),
            Registration::Current { id } => format!("registered (webhook {id})"),
            Registration::Stale { id, why } => format!("stale (webhook {id}: {})", why.join("; ")),
        };
        if !self.duplicates.is_empty() {
            let ids: Vec<String> = self.duplicates.iter().map(u64::to_string).collect();
            let _ = write!(s, "; duplicate registration(s) {} post to the same URL", ids.join(", "));
        }
        s
    }

    /// Whether nothing needs doing.
    pub fn is_current(&self) -> bool {
        matches!(self.registration, Registration::Current { .. }) && self.duplicates.is_empty()
    }

    fn state(&self) -> &'static str {
        match (&self.registration, self.duplicates.is_empty()) {
            (Registration::Missing, _) => "missing",
            (Registration::Current { .. }, true) => "registered",
            _ => "stale",
        }
    }
}

/// jirafed's registration on `instance`; None without `daemon.public_url`.
pub fn wanted(cfg: &Config, instance: &InstanceConfig) -> Option<Wanted> {
    let base = cfg.daemon.public_url.as_ref()?;
    let url = format!("{}/webhooks/{}", base.as_str().trim_end_matches('/'), instance.id);
    let jql = crate::sync::poller::scope_of(cfg.flows.iter(), &cfg.primary().id, &instance.id);
    Some(Wanted { url, jql })
}

/// Compares a site's registrations with what is wanted (pure).
pub fn assess(existing: &[WebhookRegistration], wanted: &Wanted) -> Assessment {
    let mut ours = existing.iter().filter(|r| r.url == wanted.url);
    let Some(first) = ours.next() else {
        return Assessment { registration: Registration::Missing, duplicates: vec![] };
    };
    let duplicates = ours.map(|r| r.id).collect();
    let mut why = Vec::new();
    let missing: Vec<&str> = CONSUMED_EVENTS.iter().copied().filter(|e| !first.events.iter().any(|x| x == e)).collect();
    if !missing.is_empty() {
        why.push(format!("lacks event(s) {}", missing.join(", ")));
    }
    let norm = |q: Option<&str>| q.map(str::trim).filter(|q| !q.is_empty()).map(String::from);
    if norm(first.jql.as_deref()) != norm(wanted.jql.as_deref()) {
        why.push(format!(
            "filter is {:?}, the flows want {:?}",
            first.jql.as_deref().unwrap_or(""),
            wanted.jql.as_deref().unwrap_or("")
        ));
    }
    if !first.enabled {
        why.push("disabled".into());
    }
    let registration =
        if why.is_empty() { Registration::Current { id: first.id } } else { Registration::Stale { id: first.id, why } };
    Assessment { registration, duplicates }
}

/// Reads the registrations of `instance` and assesses them: the line
/// `check` prints (without the instance), and whether it is current.
pub async fn check_instance(cfg: &Config, instance: &InstanceConfig) -> (String, bool) {
    let Some(wanted) = wanted(cfg, instance) else {
        return ("webhook registration not checked: daemon.public_url is not set".into(), true);
    };
    let client = match JiraClient::new(instance) {
        Ok(c) => c,
        Err(e) => return (format!("webhook registration not checked: {e}"), false),
    };
    match client.webhooks().await {
        Ok(list) => {
            let a = assess(&list, &wanted);
            let hint = if a.is_current() { "" } else { "; `jirafed webhooks install` fixes it" };
            (format!("webhook {}: {}{hint}", wanted.url, a.describe()), a.is_current())
        }
        Err(e) => (format!("webhook registration not checked: {}", denied(&e)), false),
    }
}

/// An error of the webhook API, with what a 403 means there.
fn denied(e: &JiraError) -> String {
    if e.status() == Some(403) {
        format!("{e} (managing webhooks needs the Jira administrators global permission)")
    } else {
        e.to_string()
    }
}

/// Runs `jirafed webhooks ...` on the config at `path`; returns what to
/// print, or an error naming each site that failed.
pub async fn run(path: &Path, args: WebhooksArgs) -> anyhow::Result<String> {
    let cfg = config::load(path).map_err(|e| anyhow::anyhow!("{e}"))?;
    let chosen: Vec<&InstanceConfig> = match &args.action.instance() {
        Some(id) => vec![cfg.instance(id).with_context(|| {
            let known: Vec<&str> = cfg.instances.keys().map(|k| k.as_str()).collect();
            format!("no instance {id:?} in {}; known: {}", path.display(), known.join(", "))
        })?],
        None => cfg.instances.values().collect(),
    };
    let needs_url = !matches!(args.action, WebhooksAction::List { .. });
    if needs_url && cfg.daemon.public_url.is_none() {
        anyhow::bail!(
            "daemon.public_url is not set in {}: it names where the sites post webhooks (e.g. \"https://jirafed.acme.internal\")",
            path.display()
        );
    }
    let mut out = String::new();
    let mut docs = Vec::new();
    let mut failed = Vec::new();
    for inst in chosen {
        let id = inst.id.as_str();
        let client = JiraClient::new(inst).map_err(|e| anyhow::anyhow!("{id}: {e}"))?;
        let done = match &args.action {
            WebhooksAction::Install { .. } => install(&cfg, inst, &client, &mut out).await,
            WebhooksAction::Remove { .. } => remove(&cfg, inst, &client, &mut out).await,
            WebhooksAction::List { .. } => list(&cfg, inst, &client, &mut out, &mut docs).await,
        };
        if let Err(e) = done {
            let _ = writeln!(out, "{id}: error: {}", denied(&e));
            docs.push(json!({"instance": id, "error": denied(&e)}));
            failed.push(id.to_string());
        }
    }
    if let WebhooksAction::List { json: true, .. } = args.action {
        out = format!("{}\n", serde_json::to_string_pretty(&Value::Array(docs))?);
    }
    if failed.is_empty() {
        Ok(out)
    } else {
        eprint!("{out}");
        anyhow::bail!("webhooks: failed on {}", failed.join(", "))
    }
}

fn spec<'a>(inst: &'a InstanceConfig, wanted: &'a Wanted) -> Result<WebhookSpec<'a>, Box<JiraError>> {
    let secret = inst.webhook_secret.as_ref().map(|s| s.expose());
    if secret.is_none() && inst.webhooks == WebhookAuth::Signed {
        return Err(Box::new(JiraError::new(ErrorKind::Refused, "webhooks install").with_detail(format!(
            "instance {} has no webhook_secret, so the daemon would refuse its deliveries; set webhook_secret_file first",
            inst.id
        ))));
    }
    Ok(WebhookSpec {
        name: REGISTRATION_NAME,
        url: &wanted.url,
        events: CONSUMED_EVENTS,
        jql: wanted.jql.as_deref(),
        secret,
    })
}

async fn install(cfg: &Config, inst: &InstanceConfig, client: &JiraClient, out: &mut String) -> Result<(), JiraError> {
    let id = inst.id.as_str();
    let Some(wanted) = wanted(cfg, inst) else { return Ok(()) };
    let spec = spec(inst, &wanted).map_err(|e| *e)?;
    let a = assess(&client.webhooks().await?, &wanted);
    let filter = wanted.jql.as_deref().unwrap_or("every issue");
    match a.registration {
        Registration::Missing => {
            let made = client.register_webhook(&spec).await?;
            let _ = writeln!(out, "{id}: registered webhook {} -> {} (filter: {filter})", made.id, wanted.url);
        }
        // Updated even when it looks current: the secret cannot be read
        // back, and this is how a rotated secret reaches the site.
        Registration::Current { id: n } | Registration::Stale { id: n, .. } => {
            client.update_webhook(n, &spec).await?;
            let _ = writeln!(out, "{id}: updated webhook {n} -> {} (filter: {filter})", wanted.url);
        }
    }
    for dup in a.duplicates {
        client.remove_webhook(dup).await?;
        let _ = writeln!(out, "{id}: removed duplicate webhook {dup} (same URL)");
    }
    Ok(())
}

async fn remove(cfg: &Config, inst: &InstanceConfig, client: &JiraClient, out: &mut String) -> Result<(), JiraError> {
    let id = inst.id.as_str();
    let Some(wanted) = wanted(cfg, inst) else { return Ok(()) };
    let ours: Vec<u64> = client.webhooks().await?.into_iter().filter(|r| r.url == wanted.url).map(|r| r.id).collect();
    if ours.is_empty() {
        let _ = writeln!(out, "{id}: no webhook posts to {}", wanted.url);
    }
    for n in ours {
        client.remove_webhook(n).await?;
        let _ = writeln!(out, "{id}: removed webhook {n} ({})", wanted.url);
    }
    Ok(())
}

async fn list(
    cfg: &Config,
    inst: &InstanceConfig,
    client: &JiraClient,
    out: &mut String,
    docs: &mut Vec<Value>,
) -> Result<(), JiraError> {
    let id = inst.id.as_str();
    let all = client.webhooks().await?;
    let wanted = wanted(cfg, inst);
    let a = wanted.as_ref().map(|w| assess(&all, w));
    let state = a.as_ref().map_or("unknown (daemon.public_url is not set)".to_string(), Assessment::describe);
    let _ = writeln!(out, "{id}: {state}");
    let mut regs = Vec::new();
    for r in &all {
        let ours = wanted.as_ref().is_some_and(|w| w.url == r.url);
        let _ = writeln!(
            out,
            "  {:>6}  {:<12} {}{}  {} event(s)  filter: {}{}",
            r.id,
            r.name,
            r.url,
            if ours { " (jirafed)" } else { "" },
            r.events.len(),
            r.jql.as_deref().unwrap_or("every issue"),
            if r.enabled { "" } else { "  DISABLED" },
        );
        regs.push(json!({
            "id": r.id, "name": r.name, "url": r.url, "events": r.events,
            "jql": r.jql, "enabled": r.enabled, "jirafed": ours,
        }));
    }
    if all.is_empty() {
        let _ = writeln!(out, "  (no webhooks registered)");
    }
    docs.push(json!({
        "instance": id,
        "url": wanted.as_ref().map(|w| w.url.clone()),
        "state": a.as_ref().map(Assessment::state),
        "detail": a.as_ref().map(Assessment::describe),
        "registrations": regs,
    }));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reg(id: u64, url: &str, jql: Option<&str>) -> WebhookRegistration {
        WebhookRegistration {
            id,
            name: REGISTRATION_NAME.into(),
            url: url.into(),
            events: CONSUMED_EVENTS.iter().map(|e| e.to_string()).collect(),
            jql: jql.map(String::from),
            enabled: true,
        }
    }

    #[test]
    fn registrations_are_missing_current_stale_or_duplicated() {
        let w = Wanted { url: "https://j/webhooks/hub".into(), jql: Some("(project in (PORT))".into()) };
        let other = reg(1, "https://elsewhere/hook", None);
        assert_eq!(assess(std::slice::from_ref(&other), &w).registration, Registration::Missing);
        let good = reg(2, &w.url, Some("(project in (PORT))"));
        let a = assess(&[other, good.clone()], &w);
        assert!(a.is_current(), "{a:?}");
        let mut old = reg(3, &w.url, Some("project = OLD"));
        old.events.retain(|e| e != "issuelink_deleted");
        old.enabled = false;
        let a = assess(&[old, good], &w);
        let Registration::Stale { id: 3, why } = &a.registration else { panic!("{a:?}") };
        assert_eq!(why.len(), 3, "{why:?}");
        assert!(why[0].contains("issuelink_deleted"), "{why:?}");
        assert_eq!(a.duplicates, vec![2]);
        assert!(a.describe().contains("duplicate registration(s) 2"), "{}", a.describe());
    }
}
