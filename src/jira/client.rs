//! One client per configured instance, speaking its dialect (Cloud REST v3
//! or Data Center REST v2) behind dialect-neutral operations.

use std::sync::Arc;

use serde_json::{Map, Value, json};
use tokio::sync::RwLock;

use super::error::{ErrorKind, JiraError};
use super::fields::FieldCatalogue;
use super::limiter::Budget;
use super::model::*;
use super::richtext::Doc;
use super::transport::{Call, Transport};
use crate::config::{Flavour, InstanceConfig};
use crate::ids::InstanceId;

/// Entity property that carries a mirror's provenance.
pub const ORIGIN_PROPERTY: &str = "jirafed.origin";

/// Most workflow steps `transition_to` takes looking for a status.
const MAX_TRANSITION_STEPS: usize = 6;

pub struct JiraClient {
    pub id: InstanceId,
    pub flavour: Flavour,
    transport: Transport,
    fields: RwLock<Option<Arc<FieldCatalogue>>>,
}

impl std::fmt::Debug for JiraClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JiraClient").field("id", &self.id).field("flavour", &self.flavour).finish_non_exhaustive()
    }
}

fn refused(call: &str, detail: String) -> JiraError {
    JiraError::new(ErrorKind::Refused, call).with_detail(detail)
}

impl JiraClient {
    pub fn new(cfg: &InstanceConfig) -> Result<JiraClient, String> {
        Ok(Self::from_transport(cfg.id.clone(), cfg.flavour, Transport::new(cfg)?))
    }

    pub fn from_transport(id: InstanceId, flavour: Flavour, transport: Transport) -> JiraClient {
        JiraClient { id, flavour, transport, fields: RwLock::new(None) }
    }

    pub fn transport(&self) -> &Transport {
        &self.transport
    }

    /// `/rest/api/3/...` on Cloud, `/rest/api/2/...` on Data Center.
    fn path(&self, rel: &str) -> String {
        match self.flavour {
            Flavour::Cloud => format!("/rest/api/3/{rel}"),
            Flavour::DataCenter => format!("/rest/api/2/{rel}"),
        }
    }

    async fn json(&self, call: Call) -> Result<Value, JiraError> {
        self.transport.send(call).await?.json()
    }

    async fn get(&self, rel: &str, query: &[(&str, String)]) -> Result<Value, JiraError> {
        let mut call = Call::get(self.path(rel));
        for (k, v) in query {
            call = call.query(*k, v.clone());
        }
        self.json(call).await
    }

    fn decode<T>(call: &str, parsed: Option<T>) -> Result<T, JiraError> {
        parsed.ok_or_else(|| JiraError::new(ErrorKind::Decode, call))
    }

    pub async fn myself(&self) -> Result<Myself, JiraError> {
        Self::decode("GET myself", Myself::parse(&self.get("myself", &[]).await?))
    }

    pub async fn server_info(&self) -> Result<ServerInfo, JiraError> {
        Self::decode("GET serverInfo", ServerInfo::parse(&self.get("serverInfo", &[]).await?))
    }

    pub async fn project(&self, key: &str) -> Result<Project, JiraError> {
        Self::decode("GET project", Project::parse(&self.get(&format!("project/{key}"), &[]).await?))
    }

    /// The field catalogue, read once and cached.
    pub async fn fields(&self) -> Result<Arc<FieldCatalogue>, JiraError> {
        if let Some(c) = self.fields.read().await.as_ref() {
            return Ok(c.clone());
        }
        let raw = self.get("field", &[]).await?;
        let list = raw.as_array().map(|a| a.iter().filter_map(FieldInfo::parse).collect()).unwrap_or_default();
        let catalogue = Arc::new(FieldCatalogue::new(self.id.as_str(), list));
        *self.fields.write().await = Some(catalogue.clone());
        Ok(catalogue)
    }

    /// Fields of the create screen of `issue_type` in `project`.
    pub async fn create_meta(&self, project: &str, issue_type: &str) -> Result<Vec<FieldMeta>, JiraError> {
        let types =
            self.get(&format!("issue/createmeta/{project}/issuetypes"), &[("maxResults", "200".into())]).await?;
        let list = types.get("issueTypes").or_else(|| types.get("values")).and_then(Value::as_array);
        let found =
            list.into_iter().flatten().find(|t| t["name"].as_str().is_some_and(|n| n.eq_ignore_ascii_case(issue_type)));
        let Some(type_id) = found.and_then(|t| t["id"].as_str()) else {
            return Err(refused(
                "GET createmeta",
                format!("issue type {issue_type:?} does not exist in project {project} on {}", self.id),
            ));
        };
        let mut out = Vec::new();
        loop {
            let q = [("startAt", out.len().to_string()), ("maxResults", "200".into())];
            let page = self.get(&format!("issue/createmeta/{project}/issuetypes/{type_id}"), &q).await?;
            let items = page
                .get("fields")
                .or_else(|| page.get("values"))
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let before = out.len();
            out.extend(items.iter().filter_map(|f| FieldMeta::parse(f, None)));
            let total = page["total"].as_u64().unwrap_or(0) as usize;
            if out.len() >= total || out.len() == before {
                return Ok(out);
            }
        }
    }

    /// Fields the technical user may edit on this issue.
    pub async fn edit_meta(&self, key: &str) -> Result<Vec<FieldMeta>, JiraError> {
        Ok(FieldMeta::parse_map(&self.get(&format!("issue/{key}/editmeta"), &[]).await?["fields"]))
    }

    /// One issue with the named fields (all when empty).
    pub async fn issue(&self, key: &str, fields: &[&str]) -> Result<Issue, JiraError> {
        let mut q = Vec::new();
        if !fields.is_empty() {
            q.push(("fields", fields.join(",")));
        }
        Self::decode("GET issue", Issue::parse(&self.get(&format!("issue/{key}"), &q).await?))
    }

    /// Streams a search page by page.
    pub fn search(&self, jql: impl Into<String>, fields: &[&str], page_size: usize) -> Search<'_> {
        Search {
            client: self,
            jql: jql.into(),
            fields: fields.iter().map(|f| f.to_string()).collect(),
            page_size: page_size.max(1),
            cursor: Cursor::Start,
        }
    }

    /// Creates an issue; with a provenance `mark` the issue carries it as a
    /// label and an entity property so that a retry can find it.
    pub async fn create_issue(
        &self,
        project: &str,
        issue_type: &str,
        mut fields: Map<String, Value>,
        mark: Option<&str>,
    ) -> Result<IssueRef, JiraError> {
        fields.insert("project".into(), json!({"key": project}));
        fields.insert("issuetype".into(), json!({"name": issue_type}));
        let mut body = json!({"fields": fields});
        if let Some(m) = mark {
            let labels = body["fields"]["labels"].as_array().cloned().unwrap_or_default();
            let mut labels: Vec<Value> = labels.into_iter().filter(|l| l.as_str() != Some(m)).collect();
            labels.push(json!(m));
            body["fields"]["labels"] = Value::Array(labels);
            if self.flavour == Flavour::Cloud {
                body["properties"] = json!([{"key": ORIGIN_PROPERTY, "value": {"mark": m}}]);
            }
        }
        let created =
            self.json(Call::post(self.path("issue"), body)).await.map_err(|e| self.explain(e, project, issue_type))?;
        let created = Self::decode("POST issue", IssueRef::parse(&created))?;
        if let Some(m) = mark {
            // Data Center takes no `properties` on create; set it explicitly
            // (on Cloud too, in case the site ignored them).
            self.set_property(created.key.as_str(), ORIGIN_PROPERTY, &json!({"mark": m})).await?;
        }
        Ok(created)
    }

    /// The issue carrying a provenance mark, if one was created already.
    pub async fn find_by_mark(&self, project: &str, mark: &str) -> Result<Option<IssueRef>, JiraError> {
        let jql = format!("project = \"{project}\" AND labels = \"{mark}\" ORDER BY created ASC");
        let mut search = self.search(jql, &["key"], 10);
        let page = search.next_page().await?.unwrap_or_default();
        Ok(page.into_iter().next().map(|i| IssueRef { id: i.id, key: i.key }))
    }

    /// Sets fields (`fields` shape, already in this dialect).
    pub async fn edit_issue(&self, key: &str, fields: Map<String, Value>) -> Result<(), JiraError> {
        let call = Call::put(self.path(&format!("issue/{key}")), json!({"fields": fields})).issue(key);
        self.transport.send(call).await.map(|_| ()).map_err(|e| self.explain_edit(e, key))
    }

    /// Adds words naming the field and screen to a 400 about fields.
    fn explain(&self, e: JiraError, project: &str, issue_type: &str) -> JiraError {
        if e.errors.is_empty() {
            return e;
        }
        let catalogue = self.fields.try_read().ok().and_then(|c| c.clone());
        let named: Vec<String> =
            e.errors.keys().map(|f| catalogue.as_ref().map(|c| c.describe(f)).unwrap_or_else(|| f.clone())).collect();
        e.with_detail(format!("field {} on {} {project} {issue_type}", named.join(", "), self.id))
    }

    fn explain_edit(&self, e: JiraError, key: &str) -> JiraError {
        let project = key.split('-').next().unwrap_or(key).to_string();
        self.explain(e, &project, &format!("issue {key}"))
    }

    pub async fn transitions(&self, key: &str) -> Result<Vec<Transition>, JiraError> {
        let v = self.get(&format!("issue/{key}/transitions"), &[("expand", "transitions.fields".into())]).await?;
        Ok(Transition::parse_list(&v))
    }

    /// Moves an issue to `target` status, through several transitions when
    /// no direct one exists, filling fields a transition screen requires
    /// (from `extra`, else the allowed value named like the target or the
    /// first one). Returns the transitions taken.
    pub async fn transition_to(
        &self,
        key: &str,
        target: &str,
        extra: &Map<String, Value>,
    ) -> Result<Vec<String>, JiraError> {
        let mut taken = Vec::new();
        let mut seen: Vec<String> = Vec::new();
        for _ in 0..MAX_TRANSITION_STEPS {
            let issue = self.issue(key, &["status"]).await?;
            let current = issue.status.map(|s| s.name).unwrap_or_default();
            if current.eq_ignore_ascii_case(target) {
                return Ok(taken);
            }
            seen.push(current.to_lowercase());
            let options = self.transitions(key).await?;
            let next =
                options.iter().find(|t| t.to.as_ref().is_some_and(|s| s.name.eq_ignore_ascii_case(target))).or_else(
                    || options.iter().find(|t| t.to.as_ref().is_some_and(|s| !seen.contains(&s.name.to_lowercase()))),
                );
            let Some(t) = next else {
                return Err(refused(
                    "POST transitions",
                    format!("no transition of {key} on {} leads from {current:?} towards {target:?}", self.id),
                ));
            };
            let body = json!({"transition": {"id": t.id}, "fields": screen_fields(t, target, extra)?});
            let call = Call::post(self.path(&format!("issue/{key}/transitions")), body).issue(key);
            self.transport.send(call).await?;
            taken.push(t.name.clone());
        }
        Err(refused(
            "POST transitions",
            format!("{target:?} not reached within {MAX_TRANSITION_STEPS} transitions of {key} on {}", self.id),
        ))
    }

    pub async fn delete_issue(&self, key: &str) -> Result<(), JiraError> {
        let call = Call::delete(self.path(&format!("issue/{key}"))).query("deleteSubtasks", "true").issue(key);
        self.transport.send(call).await.map(|_| ())
    }

    pub async fn link_types(&self) -> Result<Vec<LinkType>, JiraError> {
        Ok(LinkType::parse_list(&self.get("issueLinkType", &[]).await?))
    }

    /// The links an issue carries.
    pub async fn links(&self, key: &str) -> Result<Vec<IssueLink>, JiraError> {
        Ok(self.issue(key, &["issuelinks"]).await?.links)
    }

    /// Links `source` to `destination` so that `source` shows the type's
    /// outward text ("blocks"). Jira's POST body names these confusingly, so
    /// the link is read back and, if it came out reversed, made again the
    /// other way. Returns the link id.
    pub async fn create_link(&self, type_name: &str, source: &str, destination: &str) -> Result<String, JiraError> {
        for (inward, outward) in [(source, destination), (destination, source)] {
            let body =
                json!({"type": {"name": type_name}, "inwardIssue": {"key": inward}, "outwardIssue": {"key": outward}});
            self.transport.send(Call::post(self.path("issueLink"), body).issue(source)).await?;
            let found = self.find_link(type_name, source, destination).await?;
            match found {
                Some((id, LinkDirection::Outward)) => return Ok(id),
                Some((id, LinkDirection::Inward)) => self.delete_link(&id).await?,
                None => break,
            }
        }
        Err(refused(
            "POST issueLink",
            format!("the {type_name} link {source} -> {destination} could not be read back on {}", self.id),
        ))
    }

    async fn find_link(
        &self,
        type_name: &str,
        from: &str,
        to: &str,
    ) -> Result<Option<(String, LinkDirection)>, JiraError> {
        let links = self.links(from).await?;
        Ok(links
            .into_iter()
            .find(|l| {
                l.link_type.name.eq_ignore_ascii_case(type_name)
                    && (l.other.key.as_str() == to || l.other.id.as_str() == to)
            })
            .map(|l| (l.id, l.direction)))
    }

    pub async fn delete_link(&self, id: &str) -> Result<(), JiraError> {
        self.transport.send(Call::delete(self.path(&format!("issueLink/{id}")))).await.map(|_| ())
    }

    pub async fn remote_links(&self, key: &str) -> Result<Vec<RemoteLink>, JiraError> {
        let v = self.get(&format!("issue/{key}/remotelink"), &[]).await?;
        Ok(v.as_array().map(|a| a.iter().filter_map(RemoteLink::parse).collect()).unwrap_or_default())
    }

    /// Creates or updates the remote link with `global_id`.
    pub async fn upsert_remote_link(
        &self,
        key: &str,
        global_id: &str,
        url: &str,
        title: &str,
    ) -> Result<(), JiraError> {
        let body =
            json!({"globalId": global_id, "relationship": "federated with", "object": {"url": url, "title": title}});
        self.transport
            .send(Call::post(self.path(&format!("issue/{key}/remotelink")), body).issue(key))
            .await
            .map(|_| ())
    }

    pub async fn delete_remote_link(&self, key: &str, global_id: &str) -> Result<(), JiraError> {
        let call = Call::delete(self.path(&format!("issue/{key}/remotelink"))).query("globalId", global_id).issue(key);
        self.transport.send(call).await.map(|_| ())
    }

    fn comment_body(&self, body: &Doc) -> Value {
        match self.flavour {
            Flavour::Cloud => json!({"body": body.to_adf()}),
            Flavour::DataCenter => json!({"body": body.to_wiki()}),
        }
    }

    pub async fn comments(&self, key: &str) -> Result<Vec<Comment>, JiraError> {
        Ok(Comment::parse_list(&self.get(&format!("issue/{key}/comment"), &[("maxResults", "5000".into())]).await?))
    }

    /// Adds a comment; returns its id.
    pub async fn add_comment(&self, key: &str, body: &Doc) -> Result<String, JiraError> {
        let call = Call::post(self.path(&format!("issue/{key}/comment")), self.comment_body(body)).issue(key);
        let v = self.json(call).await?;
        Self::decode("POST comment", Comment::parse(&v).map(|c| c.id))
    }

    pub async fn edit_comment(&self, key: &str, id: &str, body: &Doc) -> Result<(), JiraError> {
        let call = Call::put(self.path(&format!("issue/{key}/comment/{id}")), self.comment_body(body)).issue(key);
        self.transport.send(call).await.map(|_| ())
    }

    pub async fn delete_comment(&self, key: &str, id: &str) -> Result<(), JiraError> {
        self.transport.send(Call::delete(self.path(&format!("issue/{key}/comment/{id}"))).issue(key)).await.map(|_| ())
    }

    pub async fn set_property(&self, key: &str, property: &str, value: &Value) -> Result<(), JiraError> {
        let call = Call::put(self.path(&format!("issue/{key}/properties/{property}")), value.clone()).issue(key);
        self.transport.send(call).await.map(|_| ())
    }

    pub async fn property(&self, key: &str, property: &str) -> Result<Option<Value>, JiraError> {
        match self.get(&format!("issue/{key}/properties/{property}"), &[]).await {
            Ok(v) => Ok(v.get("value").cloned()),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    pub async fn delete_property(&self, key: &str, property: &str) -> Result<(), JiraError> {
        let call = Call::delete(self.path(&format!("issue/{key}/properties/{property}"))).issue(key);
        self.transport.send(call).await.map(|_| ())
    }

    /// Finds a user by e-mail (Cloud `query=`, Data Center `username=`).
    pub async fn find_user_by_email(&self, email: &str) -> Result<Option<UserRef>, JiraError> {
        let param = match self.flavour {
            Flavour::Cloud => "query",
            Flavour::DataCenter => "username",
        };
        let v = self.get("user/search", &[(param, email.to_string())]).await?;
        let users = v.as_array().map(|a| a.iter().filter_map(UserRef::parse).collect::<Vec<_>>()).unwrap_or_default();
        Ok(users.into_iter().find(|u| u.email.as_deref().is_some_and(|e| e.eq_ignore_ascii_case(email))))
    }
}

/// Values for the fields a transition screen requires.
fn screen_fields(t: &Transition, target: &str, extra: &Map<String, Value>) -> Result<Map<String, Value>, JiraError> {
    let mut out = Map::new();
    for f in t.fields.iter().filter(|f| f.required) {
        if let Some(v) = extra.get(&f.id) {
            out.insert(f.id.clone(), v.clone());
            continue;
        }
        let pick = f
            .allowed_values
            .iter()
            .find(|a| a.name.as_deref().is_some_and(|n| n.eq_ignore_ascii_case(target)))
            .or_else(|| f.allowed_values.first());
        let Some(a) = pick else {
            return Err(refused(
                "POST transitions",
                format!("transition {:?} requires field {} '{}' and no value is configured", t.name, f.id, f.name),
            ));
        };
        let v = match (&a.id, &a.name) {
            (_, Some(n)) => json!({"name": n}),
            (Some(id), None) => json!({"id": id}),
            (None, None) => continue,
        };
        out.insert(f.id.clone(), v);
    }
    Ok(out)
}

enum Cursor {
    Start,
    Token(String),
    StartAt(usize),
    Done,
}

/// A search being read page by page: Cloud `search/jql` with
/// `nextPageToken`, Data Center `search` with `startAt`.
pub struct Search<'a> {
    client: &'a JiraClient,
    jql: String,
    fields: Vec<String>,
    page_size: usize,
    cursor: Cursor,
}

impl Search<'_> {
    /// Whether the last page has been read.
    pub fn is_done(&self) -> bool {
        matches!(self.cursor, Cursor::Done)
    }

    /// The next page, or `None` after the last.
    pub async fn next_page(&mut self) -> Result<Option<Vec<Issue>>, JiraError> {
        let c = self.client;
        let (page, next) = match (&self.cursor, c.flavour) {
            (Cursor::Done, _) => return Ok(None),
            (cursor, Flavour::Cloud) => {
                let mut body = json!({"jql": self.jql, "fields": self.fields, "maxResults": self.page_size});
                if let Cursor::Token(t) = cursor {
                    body["nextPageToken"] = json!(t);
                }
                let call = Call { budget: Budget::Read, ..Call::post(c.path("search/jql"), body) };
                let v = c.json(call).await?;
                let next =
                    v["nextPageToken"].as_str().filter(|_| v["isLast"] != true).map(|t| Cursor::Token(t.to_string()));
                (v, next.unwrap_or(Cursor::Done))
            }
            (cursor, Flavour::DataCenter) => {
                let start = if let Cursor::StartAt(n) = cursor { *n } else { 0 };
                let call = Call::get(c.path("search"))
                    .query("jql", self.jql.clone())
                    .query("startAt", start.to_string())
                    .query("maxResults", self.page_size.to_string())
                    .query("fields", self.fields.join(","));
                let v = c.json(call).await?;
                let got = v["issues"].as_array().map(Vec::len).unwrap_or(0);
                let total = v["total"].as_u64().unwrap_or(0) as usize;
                let next = if got == 0 || start + got >= total { Cursor::Done } else { Cursor::StartAt(start + got) };
                (v, next)
            }
        };
        self.cursor = next;
        let issues = page["issues"].as_array().map(|a| a.iter().filter_map(Issue::parse).collect()).unwrap_or_default();
        Ok(Some(issues))
    }

    /// Reads every page (for small searches; the poller streams instead).
    pub async fn all(mut self) -> Result<Vec<Issue>, JiraError> {
        let mut out = Vec::new();
        while let Some(page) = self.next_page().await? {
            out.extend(page);
        }
        Ok(out)
    }
}
