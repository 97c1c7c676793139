//! A job's canonical values as typed field writes for the target site.
//! Users are found by e-mail; components and versions the target project
//! lacks, users that cannot be found and values a field cannot take are
//! reported and left out, so the rest of the write goes through.

use std::collections::BTreeMap;

use super::super::engine::Engine;
use super::super::fields::to_jira;
use super::super::job::{Action, Job};
use crate::jira::model::{Project, UserRef};
use crate::jira::values::{FieldValue, FieldWrites, ValueKind, can_write};
use crate::jira::{JiraError, Site};
use crate::mapping;

/// A job's fields as typed writes for one site, and the fields left out.
pub(super) struct Written {
    pub(super) writes: FieldWrites,
    /// Field ids (on this site) not written: a user not found by e-mail, a
    /// field missing from the site's catalogue.
    pub(super) skipped: Vec<String>,
    /// Field ids written without some of their values (components or
    /// versions the project lacks), with the names written.
    pub(super) partial: Vec<(String, Vec<String>)>,
}

/// Canonical values as this site's field writes.
pub(super) async fn field_writes(
    engine: &Engine,
    job: &Job,
    site: &dyn Site,
    fields: &BTreeMap<String, mapping::Value>,
) -> Result<Written, JiraError> {
    let catalogue = site.fields().await?;
    let mut out = Written { writes: FieldWrites::new(), skipped: Vec::new(), partial: Vec::new() };
    for (id, v) in fields {
        let Some(info) = catalogue.by_id(id) else {
            report(engine, job, site, id, "the field is not in the site's field list; not written");
            out.skipped.push(id.clone());
            continue;
        };
        let mut value = to_jira(v, ValueKind::of(info.schema.as_ref()));
        if let FieldValue::User(u) = &value {
            match find_user(engine, job, site, id, u).await? {
                Some(found) => value = FieldValue::User(found),
                None => {
                    out.skipped.push(id.clone());
                    continue;
                }
            }
        }
        if let (FieldValue::Named(names), Some(items)) =
            (&mut value, info.schema.as_ref().and_then(|s| s.items.clone()))
        {
            if let Some(missing) = missing_names(engine, site, job, &items, names).await? {
                let why = format!("no {items} named {} in the project; left out", missing.join(", "));
                report(engine, job, site, id, &why);
                if names.is_empty() && !missing.is_empty() {
                    out.skipped.push(id.clone());
                    continue;
                }
                out.partial.push((id.clone(), names.clone()));
            }
        }
        if can_write(site.flavour(), info.schema.as_ref(), &value) {
            out.writes.set(info, value);
        } else {
            out.skipped.push(id.clone());
        }
    }
    Ok(out)
}

/// The user `wanted` names (by e-mail) on this site; `None`, reported, when
/// there is none or several could be meant (never guess). A site that does
/// not answer fails the write, to be retried.
async fn find_user(
    engine: &Engine,
    job: &Job,
    site: &dyn Site,
    field: &str,
    wanted: &UserRef,
) -> Result<Option<UserRef>, JiraError> {
    let found = match wanted.email.as_deref() {
        Some(email) => user_by_email(engine, site, email).await,
        None => Ok(None),
    };
    match found {
        Ok(Some(user)) => Ok(Some(user)),
        Ok(None) => {
            report(engine, job, site, field, "no user with this e-mail on the site; left unset");
            Ok(None)
        }
        Err(e) if e.is_retriable() => Err(e),
        Err(e) => {
            report(engine, job, site, field, &format!("{e}; left unset"));
            Ok(None)
        }
    }
}

/// The names of `items` (components or versions) that the target project
/// lacks, removed from `names`; `None` when all exist (or the kind is not
/// one a project lists). Writing them would make Jira refuse the whole
/// write; they are reported instead.
async fn missing_names(
    engine: &Engine,
    site: &dyn Site,
    job: &Job,
    items: &str,
    names: &mut Vec<String>,
) -> Result<Option<Vec<String>>, JiraError> {
    if !matches!(items, "component" | "version") || names.is_empty() {
        return Ok(None);
    }
    let project = match &job.action {
        Action::Create { project, .. } => project.clone(),
        _ => match job.target_key.as_deref().and_then(|k| k.rsplit_once('-')) {
            Some((p, _)) => p.to_string(),
            None => return Ok(None),
        },
    };
    let known = project_names(engine, site, &project, items, false).await?;
    let mut missing: Vec<String> = names.iter().filter(|n| !known.iter().any(|k| k == *n)).cloned().collect();
    if !missing.is_empty() {
        // Made since the cache was filled? Look once more before leaving them out.
        let known = project_names(engine, site, &project, items, true).await?;
        missing.retain(|n| !known.iter().any(|k| k == n));
    }
    if missing.is_empty() {
        return Ok(None);
    }
    names.retain(|n| !missing.contains(n));
    Ok(Some(missing))
}

/// A project's component or version names.
async fn project_names(
    engine: &Engine,
    site: &dyn Site,
    project: &str,
    items: &str,
    fresh: bool,
) -> Result<Vec<String>, JiraError> {
    let names = |p: &Project| if items == "component" { p.components.clone() } else { p.versions.clone() };
    let now = engine.now_ms();
    if let Some(p) = engine.lookups.projects.get(site.id().as_str(), project, now).filter(|_| !fresh) {
        return Ok(names(&p));
    }
    let p = site.project(project).await?;
    engine.lookups.projects.put(site.id().as_str(), project, now, p.clone());
    Ok(names(&p))
}

/// A user of the site by e-mail, remembered for a while so that writes do
/// not search for the same person again and again.
async fn user_by_email(engine: &Engine, site: &dyn Site, email: &str) -> Result<Option<UserRef>, JiraError> {
    let (email, now) = (email.to_lowercase(), engine.now_ms());
    if let Some(found) = engine.lookups.users.get(site.id().as_str(), &email, now) {
        return Ok(found);
    }
    let found = site.find_user_by_email(&email).await?;
    engine.lookups.users.put(site.id().as_str(), &email, now, found.clone());
    Ok(found)
}

/// A value that could not be written: logged and shown as the flow's last
/// error on `/status` (it is not a failed write: the rest went through).
fn report(engine: &Engine, job: &Job, site: &dyn Site, field: &str, why: &str) {
    let instance = site.id();
    tracing::warn!(flow = %job.flow, instance = %instance, field, why, "value not written");
    let text = format!("{instance}: field {field}: {why}");
    engine.observer.board.record_flow_error(&job.flow, engine.now_ms(), text);
}
