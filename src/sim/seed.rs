//! Building a site's initial state from its world config.

use std::collections::{BTreeMap, HashMap};

use serde_json::Value;

use super::input::{Screen, WriteCtx, parse_value};
use super::model::*;
use super::ops::{insert_issue, transition_issue};
use super::render::Api;
use super::world::{SimFlavour, SiteConfig};
use crate::config::Flavour;
use crate::jira::richtext::Doc;

/// The Data Center Epic Link field's id.
pub const EPIC_LINK_ID: &str = "customfield_10100";

fn field(id: &str, name: &str, kind: FieldKind, on_screen: bool) -> FieldDef {
    FieldDef {
        id: id.into(),
        name: name.into(),
        kind,
        custom: id.starts_with("customfield_"),
        options: vec![],
        on_screen,
        required_on_create: false,
    }
}

fn system_fields(flavour: Flavour) -> Vec<FieldDef> {
    let mut f = vec![
        FieldDef { required_on_create: true, ..field("summary", "Summary", FieldKind::Text, true) },
        field("description", "Description", FieldKind::RichText, true),
        FieldDef { required_on_create: true, ..field("issuetype", "Issue Type", FieldKind::IssueType, true) },
        FieldDef { required_on_create: true, ..field("project", "Project", FieldKind::Project, true) },
        field("status", "Status", FieldKind::Status, false),
        field("priority", "Priority", FieldKind::Priority, true),
        field("labels", "Labels", FieldKind::Labels, true),
        field("components", "Components", FieldKind::Components, true),
        field("duedate", "Due date", FieldKind::Date, true),
        field("assignee", "Assignee", FieldKind::User, true),
        field("reporter", "Reporter", FieldKind::User, true),
        field("resolution", "Resolution", FieldKind::Resolution, false),
        field("parent", "Parent", FieldKind::Parent, true),
    ];
    for (id, name) in [
        ("created", "Created"),
        ("updated", "Updated"),
        ("resolutiondate", "Resolved"),
        ("creator", "Creator"),
        ("issuelinks", "Linked Issues"),
        ("subtasks", "Sub-tasks"),
        ("comment", "Comment"),
        ("watches", "Watchers"),
    ] {
        f.push(field(id, name, FieldKind::System, false));
    }
    if flavour == Flavour::DataCenter {
        f.push(field(EPIC_LINK_ID, "Epic Link", FieldKind::EpicLink, true));
    }
    f
}

fn custom_kind(kind: &str) -> Result<FieldKind, String> {
    Ok(match kind {
        "number" => FieldKind::Number,
        "text" => FieldKind::Text,
        "textarea" => FieldKind::RichText,
        "select" => FieldKind::Select,
        "multiselect" => FieldKind::MultiSelect,
        "date" => FieldKind::Date,
        "datetime" => FieldKind::DateTime,
        "user" => FieldKind::User,
        "labels" => FieldKind::Labels,
        other => return Err(format!("unknown custom field kind {other:?}")),
    })
}

fn account_id(name: &str) -> String {
    // Deterministic, Cloud-looking ids (24 hex digits).
    let mut h: u64 = 0xcbf29ce484222325;
    for b in name.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x100000001b3);
    }
    format!("5b10ac8d{h:016x}")
}

/// The site's statuses that no workflow uses, with ids of their own; one
/// the workflow has already is refused.
fn unused_statuses(cfg: &SiteConfig) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    for (n, name) in cfg.unused_statuses.iter().enumerate() {
        if status_def(name).is_some() {
            return Err(format!("site {}: unused_statuses names {name:?}, a status of the workflow", cfg.name));
        }
        out.push(((10_100 + n).to_string(), name.clone()));
    }
    Ok(out)
}

/// Builds a site's state; `base_url` is where it is served.
pub fn build_site(cfg: &SiteConfig, base_url: &str) -> Result<SiteData, String> {
    let flavour = match cfg.flavour {
        SimFlavour::Cloud => Flavour::Cloud,
        SimFlavour::Datacenter => Flavour::DataCenter,
    };
    let mut fields = system_fields(flavour);
    for absent in &cfg.absent_fields {
        let before = fields.len();
        fields.retain(|f| &f.id != absent && !f.name.eq_ignore_ascii_case(absent));
        if fields.len() == before {
            return Err(format!("site {}: absent_fields names unknown field {absent:?}", cfg.name));
        }
    }
    let mut option_id = 10_000;
    for c in &cfg.custom_fields {
        let mut def = field(&c.id, &c.name, custom_kind(&c.kind)?, true);
        def.custom = true;
        def.options = c
            .options
            .iter()
            .map(|o| {
                option_id += 1;
                (option_id.to_string(), o.clone())
            })
            .collect();
        fields.push(def);
    }
    for off in &cfg.off_screen {
        let def = fields.iter_mut().find(|f| &f.id == off || f.name.eq_ignore_ascii_case(off));
        def.ok_or_else(|| format!("site {}: off_screen names unknown field {off:?}", cfg.name))?.on_screen = false;
    }
    let users = cfg
        .users
        .iter()
        .enumerate()
        .map(|(i, u)| {
            let time_zone =
                u.time_zone.parse().map_err(|_| format!("user {}: unknown time zone {:?}", u.name, u.time_zone))?;
            for p in u.permissions.iter().flatten() {
                if !PERMISSIONS.iter().any(|known| known.1 == p) {
                    return Err(format!("user {}: unknown permission {p:?}", u.name));
                }
            }
            for p in u.projects.iter().flatten() {
                if !cfg.projects.iter().any(|known| known.key.eq_ignore_ascii_case(p)) {
                    return Err(format!("user {}: unknown project {p:?}", u.name));
                }
            }
            Ok(User {
                login: u.name.clone(),
                key: format!("JIRAUSER{}", 10100 + i),
                account_id: account_id(&u.name),
                display_name: u.display_name.clone(),
                email: u.email.clone(),
                time_zone,
                token: u.token.clone(),
                pat: u.pat.clone(),
                password: u.password.clone(),
                permissions: u
                    .permissions
                    .clone()
                    .unwrap_or_else(|| PERMISSIONS.iter().map(|p| p.1.to_string()).collect()),
                projects: u.projects.clone(),
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    let lead = users.first().map(|u| u.login.clone()).ok_or(format!("site {} has no users", cfg.name))?;
    let mut component_id = 10_000;
    let projects = cfg
        .projects
        .iter()
        .enumerate()
        .map(|(i, p)| Project {
            id: (10_000 + i).to_string(),
            key: p.key.to_ascii_uppercase(),
            name: p.name.clone(),
            lead: lead.clone(),
            components: p
                .components
                .iter()
                .map(|c| {
                    component_id += 1;
                    (component_id.to_string(), c.clone())
                })
                .collect(),
            next_number: 0,
        })
        .collect();
    let mut link_types = vec![
        LinkType {
            id: "10000".into(),
            name: "Blocks".into(),
            inward: "is blocked by".into(),
            outward: "blocks".into(),
        },
        LinkType {
            id: "10001".into(),
            name: "Cloners".into(),
            inward: "is cloned by".into(),
            outward: "clones".into(),
        },
        LinkType {
            id: "10003".into(),
            name: "Relates".into(),
            inward: "relates to".into(),
            outward: "relates to".into(),
        },
    ];
    for (i, t) in cfg.extra_link_types.iter().enumerate() {
        link_types.push(LinkType {
            id: (10_100 + i).to_string(),
            name: t.name.clone(),
            inward: t.inward.clone(),
            outward: t.outward.clone(),
        });
    }
    let mut site = SiteData {
        name: cfg.name.clone(),
        flavour,
        base_url: base_url.trim_end_matches('/').to_string(),
        users,
        projects,
        fields,
        link_types,
        issues: BTreeMap::new(),
        keys: HashMap::new(),
        links: BTreeMap::new(),
        webhooks: vec![],
        next_id: 10_000,
        unused_statuses: unused_statuses(cfg)?,
    };
    for (n, issue) in cfg.issues.iter().enumerate() {
        seed_issue(&mut site, issue).map_err(|e| format!("site {} issues[{n}]: {e}", cfg.name))?;
    }
    Ok(site)
}

fn seed_issue(site: &mut SiteData, cfg: &super::world::IssueConfig) -> Result<(), String> {
    let project = site.project(&cfg.project).cloned().ok_or(format!("unknown project {:?}", cfg.project))?;
    let (_, issuetype, _, _) =
        issue_type_def(&cfg.issuetype).ok_or(format!("unknown issue type {:?}", cfg.issuetype))?;
    let mut changes = vec![("summary".to_string(), Some(FieldValue::Text(cfg.summary.clone())))];
    if let Some(d) = &cfg.description {
        changes.push(("description".into(), Some(FieldValue::Rich(Doc::from_wiki(d)))));
    }
    if let Some(p) = &cfg.priority {
        let (id, _, _) = priority_def(p).ok_or(format!("unknown priority {p:?}"))?;
        changes.push(("priority".into(), Some(FieldValue::Priority(id.into()))));
    }
    if !cfg.labels.is_empty() {
        changes.push(("labels".into(), Some(FieldValue::Labels(cfg.labels.clone()))));
    }
    if let Some(a) = &cfg.assignee {
        site.user(a).ok_or(format!("unknown user {a:?}"))?;
        changes.push(("assignee".into(), Some(FieldValue::User(a.clone()))));
    }
    for (name, value) in &cfg.fields {
        let def = site
            .fields
            .iter()
            .find(|f| &f.id == name || f.name.eq_ignore_ascii_case(name))
            .cloned()
            .ok_or(format!("unknown field {name:?}"))?;
        let json: Value = serde_json::to_value(value).map_err(|e| e.to_string())?;
        let ctx =
            WriteCtx { site, api: Api::V2, screen: Screen::Create, current: None, issuetype, project: Some(&project) };
        let v = parse_value(&ctx, &def, &json).map_err(|e| format!("field {name}: {e}"))?;
        changes.push((def.id.clone(), v));
    }
    let reporter = project.lead.clone();
    let id = insert_issue(site, &project.key, issuetype, &reporter, changes);
    walk_to_status(site, id, &reporter, cfg.status.as_deref().unwrap_or("To Do"))
}

/// Moves a seeded issue along the workflow to `target` (breadth-first).
fn walk_to_status(site: &mut SiteData, id: u64, actor: &str, target: &str) -> Result<(), String> {
    status_def(target).ok_or(format!("unknown status {target:?}"))?;
    let path = path_to(site.issues.get(&id).map(|i| i.status.clone()).unwrap_or_default().as_str(), target)
        .ok_or(format!("status {target:?} cannot be reached"))?;
    for t in path {
        let mut body = serde_json::json!({"transition": {"id": t.id}});
        if t.required_fields.contains(&"resolution") {
            body["fields"] = serde_json::json!({"resolution": {"name": "Done"}});
        }
        transition_issue(site, Api::V2, actor, id, &body).map_err(|e| format!("{e:?}"))?;
    }
    Ok(())
}

/// The shortest chain of transitions from one status to another.
pub fn path_to(from: &str, to: &str) -> Option<Vec<&'static TransitionDef>> {
    let mut queue = std::collections::VecDeque::from([(from.to_string(), Vec::new())]);
    let mut seen = vec![from.to_string()];
    while let Some((status, path)) = queue.pop_front() {
        if status.eq_ignore_ascii_case(to) {
            return Some(path);
        }
        for t in TRANSITIONS.iter().filter(|t| t.from.iter().any(|f| f.eq_ignore_ascii_case(&status))) {
            if !seen.iter().any(|s| s == t.to) {
                seen.push(t.to.to_string());
                let mut p = path.clone();
                p.push(t);
                queue.push_back((t.to.to_string(), p));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::default_world;

    /// A world can take a built-in field away (a Data Center without Jira
    /// Software has no Epic Link); naming one that is not there is an error.
    #[test]
    fn absent_fields_leave_the_catalogue() {
        let mut apac = default_world(0).sites.remove(2);
        let has_epic_link = |site: &SiteConfig| {
            let data = build_site(site, "http://apac.local").expect("site builds");
            data.fields.iter().any(|f| f.id == EPIC_LINK_ID)
        };
        assert!(has_epic_link(&apac));
        apac.absent_fields = vec!["epic link".into()];
        assert!(!has_epic_link(&apac));
        apac.absent_fields = vec!["Epic Lnk".into()];
        let err = build_site(&apac, "http://apac.local").err();
        assert_eq!(err.as_deref(), Some("site apac: absent_fields names unknown field \"Epic Lnk\""));
    }

    /// A world can give a site statuses no workflow uses, with ids apart
    /// from the workflow's; naming one of the workflow's is an error.
    #[test]
    fn unused_statuses_are_the_sites_but_no_workflows() {
        let mut hub = default_world(0).sites.remove(0);
        hub.unused_statuses = vec!["Closed".into(), "Won't Fix".into()];
        let data = build_site(&hub, "http://hub.local").expect("site builds");
        let unused: Vec<(&str, &str)> = data.unused_statuses.iter().map(|(i, n)| (i.as_str(), n.as_str())).collect();
        assert_eq!(unused, [("10100", "Closed"), ("10101", "Won't Fix")]);
        assert!(unused.iter().all(|(id, _)| !STATUSES.iter().any(|s| s.0 == *id)));
        hub.unused_statuses = vec!["done".into()];
        let err = build_site(&hub, "http://hub.local").err();
        assert_eq!(err.as_deref(), Some("site hub: unused_statuses names \"done\", a status of the workflow"));
    }
}
