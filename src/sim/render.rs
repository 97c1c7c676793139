//! Rendering simulator state as Jira JSON, per API version (v2: wiki
//! strings; v3: ADF) and in the viewer's time zone, with the shapes of the
//! real payloads in `shared/jira-reference/`.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde_json::{Map, Value, json};

use super::model::*;
use crate::config::Flavour;
use crate::jira::richtext::Doc;

/// REST API version of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    V2,
    V3,
}

impl Api {
    pub fn path(self) -> &'static str {
        match self {
            Api::V2 => "2",
            Api::V3 => "3",
        }
    }
}

/// Which fields to render (`fields=` parameter).
#[derive(Debug, Clone)]
pub enum FieldFilter {
    /// `*all` (GET issue's default).
    All,
    /// `*navigable` (DC search's default).
    Navigable,
    /// Named fields, minus excluded ones (`-name`); empty list = id only.
    List { include: Vec<String>, exclude: Vec<String>, base: Option<Box<FieldFilter>> },
}

impl FieldFilter {
    /// Parses the comma-separated (or repeated) `fields` values.
    pub fn parse(values: &[String], default: FieldFilter) -> FieldFilter {
        let parts: Vec<String> =
            values.iter().flat_map(|v| v.split(',')).map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect();
        if parts.is_empty() {
            return default;
        }
        let mut include = Vec::new();
        let mut exclude = Vec::new();
        let mut base = None;
        for p in parts {
            match p.as_str() {
                "*all" => base = Some(Box::new(FieldFilter::All)),
                "*navigable" => base = Some(Box::new(FieldFilter::Navigable)),
                _ => match p.strip_prefix('-') {
                    Some(x) => exclude.push(x.to_string()),
                    None => include.push(p),
                },
            }
        }
        FieldFilter::List { include, exclude, base }
    }

    pub fn wants(&self, id: &str, name: &str) -> bool {
        match self {
            FieldFilter::All | FieldFilter::Navigable => true,
            FieldFilter::List { include, exclude, base } => {
                let named = |l: &Vec<String>| l.iter().any(|f| f == id || f.eq_ignore_ascii_case(name));
                if named(exclude) {
                    return false;
                }
                named(include) || base.as_ref().is_some_and(|b| b.wants(id, name))
            }
        }
    }

    pub fn is_id_only(&self) -> bool {
        matches!(self, FieldFilter::List { include, base: None, .. } if include.iter().all(|f| f == "id" || f == "key"))
    }
}

/// One request's point of view: which site, which API version, whose clock.
pub struct View<'a> {
    pub site: &'a SiteData,
    pub api: Api,
    pub tz: Tz,
}

pub fn timestamp(t: DateTime<Utc>, tz: Tz) -> String {
    t.with_timezone(&tz).format("%Y-%m-%dT%H:%M:%S%.3f%z").to_string()
}

impl<'a> View<'a> {
    pub fn new(site: &'a SiteData, api: Api, tz: Tz) -> Self {
        Self { site, api, tz }
    }

    fn base(&self) -> String {
        format!("{}/rest/api/{}", self.site.base_url, self.api.path())
    }

    pub fn ts(&self, t: DateTime<Utc>) -> String {
        timestamp(t, self.tz)
    }

    pub fn doc(&self, doc: &Doc) -> Value {
        match self.api {
            Api::V3 => doc.to_adf(),
            Api::V2 => Value::String(doc.to_wiki()),
        }
    }

    fn avatars(&self, seed: &str) -> Value {
        let u = |s: u32| format!("{}/secure/useravatar?size={s}&ownerId={seed}", self.site.base_url);
        json!({"48x48": u(48), "24x24": u(24), "16x16": u(16), "32x32": u(32)})
    }

    pub fn user(&self, login: &str) -> Value {
        let Some(u) = self.site.user(login) else { return Value::Null };
        match self.site.flavour {
            Flavour::Cloud => json!({
                "self": format!("{}/user?accountId={}", self.base(), u.account_id),
                "accountId": u.account_id,
                "emailAddress": u.email,
                "avatarUrls": self.avatars(&u.account_id),
                "displayName": u.display_name,
                "active": true,
                "timeZone": u.time_zone.name(),
                "accountType": "atlassian",
            }),
            Flavour::DataCenter => json!({
                "self": format!("{}/user?username={}", self.base(), u.login),
                "name": u.login,
                "key": u.key,
                "emailAddress": u.email,
                "avatarUrls": self.avatars(&u.key),
                "displayName": u.display_name,
                "active": true,
                "timeZone": u.time_zone.name(),
            }),
        }
    }

    pub fn myself(&self, login: &str) -> Value {
        let mut v = self.user(login);
        if let Value::Object(m) = &mut v {
            m.insert("locale".into(), json!("en_US"));
            m.insert("groups".into(), json!({"size": 1, "items": []}));
            m.insert("applicationRoles".into(), json!({"size": 1, "items": []}));
            m.insert("expand".into(), json!("groups,applicationRoles"));
            if self.site.flavour == Flavour::DataCenter {
                m.insert("deleted".into(), json!(false));
            }
        }
        v
    }

    pub fn status_category(&self, id: u8) -> Value {
        let (id, key, colour, name) =
            STATUS_CATEGORIES.iter().copied().find(|c| c.0 == id).unwrap_or(STATUS_CATEGORIES[0]);
        json!({"self": format!("{}/statuscategory/{id}", self.base()), "id": id, "key": key, "colorName": colour, "name": name})
    }

    pub fn status(&self, name: &str) -> Value {
        let (id, name, cat) = status_def(name).unwrap_or(STATUSES[0]);
        json!({
            "self": format!("{}/status/{id}", self.base()),
            "description": "",
            "iconUrl": format!("{}/images/icons/statuses/generic.png", self.site.base_url),
            "name": name,
            "id": id,
            "statusCategory": self.status_category(cat),
        })
    }

    /// A status of the site that no workflow uses (category To Do).
    pub fn unused_status(&self, id: &str, name: &str) -> Value {
        json!({
            "self": format!("{}/status/{id}", self.base()),
            "description": "",
            "iconUrl": format!("{}/images/icons/statuses/generic.png", self.site.base_url),
            "name": name,
            "id": id,
            "statusCategory": self.status_category(STATUS_CATEGORIES[0].0),
        })
    }

    /// One issue type of a project with its workflow's statuses (`GET
    /// /project/{key}/statuses`): one workflow for every type.
    pub fn issue_type_statuses(&self, name: &str) -> Value {
        let (id, name, subtask, _) = issue_type_def(name).unwrap_or(ISSUE_TYPES[1]);
        json!({
            "self": format!("{}/issueType/{id}", self.base()),
            "id": id,
            "name": name,
            "subtask": subtask,
            "statuses": STATUSES.iter().map(|s| self.status(s.1)).collect::<Vec<_>>(),
        })
    }

    pub fn issue_type(&self, name: &str) -> Value {
        let (id, name, subtask, level) = issue_type_def(name).unwrap_or(ISSUE_TYPES[1]);
        let mut v = json!({
            "self": format!("{}/issuetype/{id}", self.base()),
            "id": id,
            "description": format!("A {name}."),
            "iconUrl": format!("{}/images/icons/issuetypes/{}.svg", self.site.base_url, name.to_lowercase()),
            "name": name,
            "subtask": subtask,
        });
        // Data Center issue types carry `avatarId` too (mattermost's server createmeta); only Cloud has levels.
        v["avatarId"] = json!(10300);
        if self.site.flavour == Flavour::Cloud {
            v["hierarchyLevel"] = json!(level);
        }
        v
    }

    pub fn priority(&self, id: &str) -> Value {
        let (id, name, colour) = priority_def(id).unwrap_or(PRIORITIES[2]);
        json!({
            "self": format!("{}/priority/{id}", self.base()),
            "iconUrl": format!("{}/images/icons/priorities/{}.svg", self.site.base_url, name.to_lowercase()),
            "name": name,
            "id": id,
            "statusColor": colour,
            "description": format!("{name} priority"),
        })
    }

    pub fn resolution(&self, id: &str) -> Value {
        let (id, name) = resolution_def(id).unwrap_or(RESOLUTIONS[0]);
        json!({"self": format!("{}/resolution/{id}", self.base()), "id": id, "description": "", "name": name})
    }

    pub fn project_ref(&self, p: &Project) -> Value {
        let mut v = json!({
            "self": format!("{}/project/{}", self.base(), p.id),
            "id": p.id,
            "key": p.key,
            "name": p.name,
            "projectTypeKey": "software",
            "avatarUrls": self.avatars(&p.id),
        });
        if self.site.flavour == Flavour::Cloud {
            v["simplified"] = json!(false); // company-managed; team-managed projects are Cloud-only
        }
        v
    }

    pub fn project(&self, p: &Project) -> Value {
        let mut v = self.project_ref(p);
        v["expand"] = json!("description,lead,issueTypes,url,projectKeys,permissions,insight");
        v["description"] = json!(format!("The {} project", p.name));
        v["lead"] = self.user(&p.lead);
        v["components"] = Value::Array(p.components.iter().map(|(id, n)| self.project_component(p, id, n)).collect());
        v["issueTypes"] = Value::Array(ISSUE_TYPES.iter().map(|t| self.issue_type(t.1)).collect());
        v["assigneeType"] = json!("UNASSIGNED");
        v["versions"] = json!([]);
        v["roles"] = json!({});
        if self.site.flavour == Flavour::Cloud {
            v["style"] = json!("classic");
            v["isPrivate"] = json!(false);
        }
        v
    }

    /// A component as `GET /project` lists it: with its (default) assignee settings.
    fn project_component(&self, p: &Project, id: &str, name: &str) -> Value {
        let mut v = self.component(id, name);
        v["assigneeType"] = json!("PROJECT_DEFAULT");
        v["realAssigneeType"] = json!("PROJECT_DEFAULT");
        v["isAssigneeTypeValid"] = json!(false);
        v["project"] = json!(p.key);
        v["projectId"] = json!(p.id.parse::<u64>().unwrap_or(0));
        v
    }

    pub fn component(&self, id: &str, name: &str) -> Value {
        json!({"self": format!("{}/component/{id}", self.base()), "id": id, "name": name})
    }

    /// The small issue reference used in links, parents and subtasks.
    pub fn issue_ref(&self, id: u64) -> Value {
        let Some(i) = self.site.issues.get(&id) else { return json!({"id": id.to_string()}) };
        let mut fields = json!({
            "summary": text_field(i, "summary"),
            "status": self.status(&i.status),
            "issuetype": self.issue_type(&i.issuetype),
        });
        if let Some(FieldValue::Priority(p)) = i.fields.get("priority") {
            fields["priority"] = self.priority(p);
        }
        json!({"id": i.id.to_string(), "key": i.key, "self": format!("{}/issue/{}", self.base(), i.id), "fields": fields})
    }

    pub fn link_type(&self, t: &LinkType) -> Value {
        json!({"id": t.id, "name": t.name, "inward": t.inward, "outward": t.outward, "self": format!("{}/issueLinkType/{}", self.base(), t.id)})
    }

    /// An `issuelinks[]` entry as seen from `from`.
    pub fn issue_link(&self, from: u64, l: &IssueLink) -> Value {
        let ty = self.site.link_type(&l.type_id).map(|t| self.link_type(t)).unwrap_or(Value::Null);
        let mut v = json!({"id": l.id.to_string(), "self": format!("{}/issueLink/{}", self.base(), l.id), "type": ty});
        if l.source == from {
            v["outwardIssue"] = self.issue_ref(l.destination);
        } else {
            v["inwardIssue"] = self.issue_ref(l.source);
        }
        v
    }

    /// `GET /issueLink/{id}`: `inwardIssue` is the source, `outwardIssue`
    /// the destination, as in the POST body that created it.
    pub fn issue_link_full(&self, l: &IssueLink) -> Value {
        let ty = self.site.link_type(&l.type_id).map(|t| self.link_type(t)).unwrap_or(Value::Null);
        json!({
            "id": l.id.to_string(),
            "self": format!("{}/issueLink/{}", self.base(), l.id),
            "type": ty,
            "inwardIssue": self.issue_ref(l.source),
            "outwardIssue": self.issue_ref(l.destination),
        })
    }

    pub fn comment(&self, issue: &Issue, c: &Comment) -> Value {
        let mut v = json!({
            "self": format!("{}/issue/{}/comment/{}", self.base(), issue.id, c.id),
            "id": c.id.to_string(),
            "author": self.user(&c.author),
            "body": self.doc(&c.body),
            "updateAuthor": self.user(&c.update_author),
            "created": self.ts(c.created),
            "updated": self.ts(c.updated),
        });
        if self.site.flavour == Flavour::Cloud {
            v["jsdPublic"] = json!(true);
        }
        v
    }

    pub fn comments_page(&self, issue: &Issue, start_at: usize, max: usize) -> Value {
        let page: Vec<Value> = issue.comments.iter().skip(start_at).take(max).map(|c| self.comment(issue, c)).collect();
        json!({"startAt": start_at, "maxResults": max, "total": issue.comments.len(), "comments": page})
    }

    pub fn field_value(&self, def: &FieldDef, v: &FieldValue) -> Value {
        match v {
            FieldValue::Text(s) => json!(s),
            FieldValue::Rich(d) => self.doc(d),
            FieldValue::Number(n) => json!(n),
            FieldValue::Date(d) => json!(d.format("%Y-%m-%d").to_string()),
            FieldValue::DateTime(t) => json!(self.ts(*t)),
            FieldValue::Select(id) => self.option(def, id),
            FieldValue::MultiSelect(ids) => Value::Array(ids.iter().map(|id| self.option(def, id)).collect()),
            FieldValue::Labels(l) => json!(l),
            FieldValue::Components(ids) => Value::Array(
                ids.iter()
                    .filter_map(|id| self.site.projects.iter().flat_map(|p| &p.components).find(|c| &c.0 == id))
                    .map(|(id, n)| self.component(id, n))
                    .collect(),
            ),
            FieldValue::Priority(id) => self.priority(id),
            FieldValue::User(login) => self.user(login),
            FieldValue::Resolution(id) => self.resolution(id),
            FieldValue::Parent(id) => self.issue_ref(*id),
            FieldValue::EpicLink(id) => self.site.issues.get(id).map(|i| json!(i.key)).unwrap_or(Value::Null),
        }
    }

    fn option(&self, def: &FieldDef, id: &str) -> Value {
        let value = def.options.iter().find(|o| o.0 == id).map(|o| o.1.as_str()).unwrap_or("");
        json!({"self": format!("{}/customFieldOption/{id}", self.base()), "value": value, "id": id})
    }

    fn system_field(&self, issue: &Issue, id: &str) -> Option<Value> {
        let project = self.site.project(&issue.project);
        Some(match id {
            "issuetype" => self.issue_type(&issue.issuetype),
            "project" => project.map(|p| self.project_ref(p)).unwrap_or(Value::Null),
            "status" => self.status(&issue.status),
            "created" => json!(self.ts(issue.created)),
            "updated" => json!(self.ts(issue.updated)),
            "resolutiondate" => issue.resolution_date.map(|t| json!(self.ts(t))).unwrap_or(Value::Null),
            "reporter" | "creator" => self.user(&issue.reporter),
            "issuelinks" => Value::Array(
                self.site
                    .links
                    .values()
                    .filter(|l| l.source == issue.id || l.destination == issue.id)
                    .map(|l| self.issue_link(issue.id, l))
                    .collect(),
            ),
            "subtasks" => Value::Array(
                self.site
                    .issues
                    .values()
                    .filter(|i| matches!(i.fields.get("parent"), Some(FieldValue::Parent(p)) if *p == issue.id))
                    .filter(|i| issue_type_def(&i.issuetype).is_some_and(|t| t.2))
                    .map(|i| self.issue_ref(i.id))
                    .collect(),
            ),
            "comment" => {
                let mut page = self.comments_page(issue, 0, 5000);
                if self.site.flavour == Flavour::Cloud {
                    page["self"] = json!(format!("{}/issue/{}/comment", self.base(), issue.id));
                }
                page
            }
            "watches" => {
                json!({"self": format!("{}/issue/{}/watchers", self.base(), issue.key), "watchCount": 0, "isWatching": false})
            }
            _ => return None,
        })
    }

    /// The `fields` object of an issue.
    pub fn fields(&self, issue: &Issue, filter: &FieldFilter) -> Map<String, Value> {
        let mut out = Map::new();
        for def in &self.site.fields {
            if !filter.wants(&def.id, &def.name) {
                continue;
            }
            if def.kind == FieldKind::Parent && !issue.fields.contains_key("parent") {
                continue; // Jira leaves `parent` out when there is none.
            }
            let v = match issue.fields.get(&def.id) {
                Some(v) => self.field_value(def, v),
                None => self.system_field(issue, &def.id).unwrap_or(match def.kind {
                    FieldKind::Labels | FieldKind::Components | FieldKind::MultiSelect => json!([]),
                    _ => Value::Null,
                }),
            };
            out.insert(def.id.clone(), v);
        }
        out
    }

    pub fn issue(&self, issue: &Issue, filter: &FieldFilter, expand: &[String]) -> Value {
        let mut v = json!({
            "expand": "renderedFields,names,schema,operations,editmeta,changelog,versionedRepresentations",
            "id": issue.id.to_string(),
            "self": format!("{}/issue/{}", self.base(), issue.id),
            "key": issue.key,
        });
        if filter.is_id_only() {
            return v;
        }
        v["fields"] = Value::Object(self.fields(issue, filter));
        if expand.iter().any(|e| e == "changelog") {
            v["changelog"] = self.changelog(issue);
        }
        if expand.iter().any(|e| e == "renderedFields") {
            v["renderedFields"] = self.rendered_fields(issue, filter);
        }
        if expand.iter().any(|e| e == "names") {
            v["names"] = self.site.fields.iter().map(|f| (f.id.clone(), json!(f.name))).collect::<Map<_, _>>().into();
        }
        v
    }

    /// `renderedFields`: a key for every field in `fields`, null unless Jira renders it (rich text as HTML,
    /// dates as the viewer reads them).
    fn rendered_fields(&self, issue: &Issue, filter: &FieldFilter) -> Value {
        let mut m = Map::new();
        for def in self.site.fields.iter().filter(|d| filter.wants(&d.id, &d.name)) {
            let v = match (def.id.as_str(), issue.fields.get(&def.id)) {
                (_, Some(FieldValue::Rich(d))) => json!(html(d)),
                (_, Some(FieldValue::Date(d))) => json!(d.format("%d/%b/%y").to_string()),
                (_, Some(FieldValue::DateTime(t))) => json!(self.rendered_ts(*t)),
                ("created", _) => json!(self.rendered_ts(issue.created)),
                ("updated", _) => json!(self.rendered_ts(issue.updated)),
                ("resolutiondate", _) => issue.resolution_date.map_or(Value::Null, |t| json!(self.rendered_ts(t))),
                ("comment", _) => self.rendered_comments(issue),
                _ => Value::Null,
            };
            m.insert(def.id.clone(), v);
        }
        Value::Object(m)
    }

    fn rendered_ts(&self, t: DateTime<Utc>) -> String {
        t.with_timezone(&self.tz).format("%d/%b/%y %I:%M %p").to_string()
    }

    fn rendered_comments(&self, issue: &Issue) -> Value {
        let mut page = self.comments_page(issue, 0, 5000);
        if let Some(list) = page["comments"].as_array_mut() {
            for (c, v) in issue.comments.iter().zip(list) {
                v["body"] = json!(html(&c.body));
                v["created"] = json!(self.rendered_ts(c.created));
                v["updated"] = json!(self.rendered_ts(c.updated));
            }
        }
        page
    }

    pub fn history(&self, h: &History) -> Value {
        let items: Vec<Value> = h
            .items
            .iter()
            .map(|i| {
                let mut v = json!({
                    "field": i.field,
                    "fieldtype": if i.custom { "custom" } else { "jira" },
                    "from": i.from, "fromString": i.from_string, "to": i.to, "toString": i.to_string,
                });
                if self.site.flavour == Flavour::Cloud {
                    v["fieldId"] = json!(i.field_id);
                }
                v
            })
            .collect();
        json!({"id": h.id.to_string(), "author": self.user(&h.author), "created": self.ts(h.created), "items": items})
    }

    pub fn changelog(&self, issue: &Issue) -> Value {
        let histories: Vec<Value> = issue.changelog.iter().map(|h| self.history(h)).collect();
        json!({"startAt": 0, "maxResults": histories.len(), "total": histories.len(), "histories": histories})
    }
}

pub fn text_field(issue: &Issue, id: &str) -> String {
    match issue.fields.get(id) {
        Some(FieldValue::Text(s)) => s.clone(),
        _ => String::new(),
    }
}

/// Rich text as the HTML of `renderedFields`: one paragraph per block of plain text.
fn html(d: &Doc) -> String {
    let paragraphs = d.to_plain_text();
    paragraphs.split("\n\n").map(|p| format!("<p>{}</p>", html_escape(p))).collect::<Vec<_>>().join("\n")
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// A Jira error body (`ErrorCollection`).
pub fn error_body(messages: &[&str], errors: &[(&str, &str)]) -> Value {
    let errors: Map<String, Value> = errors.iter().map(|(k, v)| (k.to_string(), json!(v))).collect();
    json!({"errorMessages": messages, "errors": errors})
}
