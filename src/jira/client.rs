//! One client per configured instance, speaking its dialect (Cloud REST v3
//! or Data Center REST v2) behind dialect-neutral operations.

use std::sync::Arc;

use serde_json::{Value, json};
use tokio::sync::RwLock;

use super::error::{ErrorKind, JiraError};
use super::explain::{Action, Context, explain};
use super::fields::FieldCatalogue;
use super::mark::{Mark, ORIGIN_PROPERTY};
use super::model::*;
use super::richtext::Doc;
use super::timing::CallOp;
use super::transport::{Call, Transport};
use super::values::{FieldValue, FieldWrites};
use crate::config::{Flavour, InstanceConfig};
use crate::ids::InstanceId;

mod access;
mod search;
mod users;
mod webhooks;
mod workflow;

pub use search::{Cursor, Page, RECONCILE_MAX, Search};
pub use webhooks::{WebhookRegistration, WebhookSpec};

pub struct JiraClient {
    pub id: InstanceId,
    pub flavour: Flavour,
    transport: Transport,
    fields: RwLock<Option<Arc<FieldCatalogue>>>,
    /// The site's statuses (`GET /status`), read once when a path is sought.
    statuses: RwLock<Option<Arc<Vec<StatusRef>>>>,
    /// Workflow graphs learnt from the transitions Jira listed.
    workflows: workflow::Workflows,
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
        JiraClient {
            id,
            flavour,
            transport,
            fields: RwLock::new(None),
            statuses: RwLock::new(None),
            workflows: workflow::Workflows::default(),
        }
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

    async fn get(&self, op: CallOp, rel: &str, query: &[(&str, String)]) -> Result<Value, JiraError> {
        let mut call = Call::get(self.path(rel)).op(op);
        for (k, v) in query {
            call = call.query(*k, v.clone());
        }
        self.json(call).await
    }

    fn decode<T>(call: &str, parsed: Option<T>) -> Result<T, JiraError> {
        parsed.ok_or_else(|| JiraError::new(ErrorKind::Decode, call))
    }

    pub async fn myself(&self) -> Result<Myself, JiraError> {
        Self::decode("GET myself", Myself::parse(&self.get(CallOp::Myself, "myself", &[]).await?))
    }

    pub async fn server_info(&self) -> Result<ServerInfo, JiraError> {
        Self::decode("GET serverInfo", ServerInfo::parse(&self.get(CallOp::Metadata, "serverInfo", &[]).await?))
    }

    pub async fn project(&self, key: &str) -> Result<Project, JiraError> {
        Self::decode("GET project", Project::parse(&self.get(CallOp::Metadata, &format!("project/{key}"), &[]).await?))
    }

    /// The field catalogue, read once and cached.
    pub async fn fields(&self) -> Result<Arc<FieldCatalogue>, JiraError> {
        if let Some(c) = self.fields.read().await.as_ref() {
            return Ok(c.clone());
        }
        let raw = self.get(CallOp::Metadata, "field", &[]).await?;
        let list = raw.as_array().map(|a| a.iter().filter_map(FieldInfo::parse).collect()).unwrap_or_default();
        let catalogue = Arc::new(FieldCatalogue::new(self.id.as_str(), list));
        *self.fields.write().await = Some(catalogue.clone());
        Ok(catalogue)
    }

    /// Fields of the create screen of `issue_type` in `project`.
    pub async fn create_meta(&self, project: &str, issue_type: &str) -> Result<Vec<FieldMeta>, JiraError> {
        let types = self
            .get(CallOp::Metadata, &format!("issue/createmeta/{project}/issuetypes"), &[("maxResults", "200".into())])
            .await?;
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
            let page =
                self.get(CallOp::Metadata, &format!("issue/createmeta/{project}/issuetypes/{type_id}"), &q).await?;
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
        Ok(FieldMeta::parse_map(&self.get(CallOp::Metadata, &format!("issue/{key}/editmeta"), &[]).await?["fields"]))
    }

    /// One issue with the named fields (all when empty).
    pub async fn issue(&self, key: &str, fields: &[&str]) -> Result<Issue, JiraError> {
        let mut q = Vec::new();
        if !fields.is_empty() {
            q.push(("fields", fields.join(",")));
        }
        Self::decode("GET issue", Issue::parse(&self.get(CallOp::GetIssue, &format!("issue/{key}"), &q).await?))
    }

    /// Creates an issue; with a provenance `mark` the issue carries it as a
    /// label and an entity property so that a retry can find it.
    pub async fn create_issue(
        &self,
        project: &str,
        issue_type: &str,
        fields: &FieldWrites,
        mark: Option<&Mark>,
    ) -> Result<IssueRef, JiraError> {
        let mut fields = fields.clone();
        if let Some(m) = mark {
            match fields.get_mut("labels") {
                Some(FieldValue::Labels(labels)) => m.keep_in(labels),
                _ => fields.set_id("labels", FieldValue::Labels(vec![m.to_string()])),
            }
        }
        let mut fields = fields.to_json(self.flavour).map_err(|e| refused("POST issue", e))?;
        fields.insert("project".into(), json!({"key": project}));
        fields.insert("issuetype".into(), json!({"name": issue_type}));
        let mut body = json!({"fields": fields});
        if let (Some(m), Flavour::Cloud) = (mark, self.flavour) {
            // One write on Cloud: the property travels in the create. (The
            // label carries the mark as well; it is what a lost answer is
            // found by.)
            body["properties"] = json!([{"key": ORIGIN_PROPERTY, "value": {"mark": m}}]);
        }
        let created = match self.json(Call::post(self.path("issue"), body).op(CallOp::Create)).await {
            Ok(v) => v,
            Err(e) => {
                let ctx = self.context(Action::Create, None, Some(project), Some(issue_type));
                return Err(self.explained(e, &ctx).await);
            }
        };
        let created = Self::decode("POST issue", IssueRef::parse(&created))?;
        if let (Some(m), Flavour::DataCenter) = (mark, self.flavour) {
            // Data Center's create types a property's value as a string
            // (its REST spec), not the JSON object the mark is: a second
            // write sets it.
            self.set_property(created.key.as_str(), ORIGIN_PROPERTY, &json!({"mark": m})).await?;
        }
        Ok(created)
    }

    /// The issue carrying a provenance mark, if one was created already.
    pub async fn find_by_mark(&self, project: &str, mark: &Mark) -> Result<Option<IssueRef>, JiraError> {
        let jql = format!("project = \"{project}\" AND labels = \"{mark}\" ORDER BY created ASC");
        let mut search = self.search(jql, &["key"], 10);
        let page = search.next_page().await?.unwrap_or_default();
        Ok(page.into_iter().next().map(|i| IssueRef { id: i.id, key: i.key }))
    }

    /// Sets fields.
    pub async fn edit_issue(&self, key: &str, fields: &FieldWrites) -> Result<(), JiraError> {
        let fields = fields.to_json(self.flavour).map_err(|e| refused("PUT issue", format!("{key}: {e}")))?;
        self.put_fields(key, json!({"fields": fields})).await
    }

    /// Adds a label (Jira's `update` verb: the other labels stay as they are).
    pub async fn add_label(&self, key: &str, label: &str) -> Result<(), JiraError> {
        self.put_fields(key, json!({"update": {"labels": [{"add": label}]}})).await
    }

    async fn put_fields(&self, key: &str, body: Value) -> Result<(), JiraError> {
        let call = Call::put(self.path(&format!("issue/{key}")), body).op(CallOp::Edit).issue(key);
        match self.transport.send(call).await {
            Ok(_) => Ok(()),
            Err(e) => Err(self.explain_for_issue(e, Action::Edit, key).await),
        }
    }

    fn context<'a>(
        &'a self,
        action: Action<'a>,
        key: Option<&'a str>,
        project: Option<&'a str>,
        issue_type: Option<&'a str>,
    ) -> Context<'a> {
        Context { site: self.id.as_str(), action, key, project, issue_type }
    }

    /// Explains a failure, reading the field catalogue first when Jira
    /// named fields (the slow path: the call has failed already).
    async fn explained(&self, e: JiraError, ctx: &Context<'_>) -> JiraError {
        let catalogue = if e.errors.is_empty() { None } else { self.fields().await.ok() };
        explain(e, ctx, catalogue.as_deref())
    }

    /// Explains a failed write to an existing issue; when Jira named fields,
    /// the issue's project and type are read too, to name the screen.
    async fn explain_for_issue(&self, e: JiraError, action: Action<'_>, key: &str) -> JiraError {
        if e.errors.is_empty() {
            return explain(e, &self.context(action, Some(key), None, None), None);
        }
        let issue = self.issue(key, &["project", "issuetype"]).await.ok();
        let project = issue.as_ref().and_then(|i| i.project.as_deref());
        let issue_type = issue.as_ref().and_then(|i| i.issuetype.as_deref());
        self.explained(e, &self.context(action, Some(key), project, issue_type)).await
    }

    pub async fn transitions(&self, key: &str) -> Result<Vec<Transition>, JiraError> {
        let v = self
            .get(CallOp::Transitions, &format!("issue/{key}/transitions"), &[("expand", "transitions.fields".into())])
            .await?;
        Ok(Transition::parse_list(&v))
    }

    pub async fn delete_issue(&self, key: &str) -> Result<(), JiraError> {
        let call = Call::delete(self.path(&format!("issue/{key}")))
            .op(CallOp::Delete)
            .query("deleteSubtasks", "true")
            .issue(key);
        self.transport.send(call).await.map(|_| ())
    }

    pub async fn link_types(&self) -> Result<Vec<LinkType>, JiraError> {
        Ok(LinkType::parse_list(&self.get(CallOp::Metadata, "issueLinkType", &[]).await?))
    }

    /// The links an issue carries.
    pub async fn links(&self, key: &str) -> Result<Vec<IssueLink>, JiraError> {
        Ok(self.issue(key, &["issuelinks"]).await?.links)
    }

    /// Links `source` to `destination` so that `source` shows the type's
    /// outward text ("blocks"); returns the link id. Safe to call again: a
    /// link that is already there is returned, not made twice. Jira's POST
    /// body names the ends confusingly, so the new link is read back and, if
    /// it came out reversed, made again the other way.
    pub async fn create_link(&self, type_name: &str, source: &str, destination: &str) -> Result<String, JiraError> {
        let before = self.links_to(type_name, source, destination).await?;
        if let Some(l) = before.iter().find(|l| l.direction == LinkDirection::Outward) {
            return Ok(l.id.clone());
        }
        for (inward, outward) in [(source, destination), (destination, source)] {
            let body =
                json!({"type": {"name": type_name}, "inwardIssue": {"key": inward}, "outwardIssue": {"key": outward}});
            self.transport.send(Call::post(self.path("issueLink"), body).op(CallOp::Link).issue(source)).await?;
            let after = self.links_to(type_name, source, destination).await?;
            let new = after.into_iter().find(|l| !before.iter().any(|b| b.id == l.id));
            match new {
                Some(l) if l.direction == LinkDirection::Outward => return Ok(l.id),
                Some(l) => self.delete_link(&l.id).await?,
                None => break,
            }
        }
        Err(refused(
            "POST issueLink",
            format!("the {type_name} link {source} -> {destination} could not be read back on {}", self.id),
        ))
    }

    /// `from`'s links of the type with `to` (by key or id), either way round.
    async fn links_to(&self, type_name: &str, from: &str, to: &str) -> Result<Vec<IssueLink>, JiraError> {
        let links = self.links(from).await?;
        Ok(links
            .into_iter()
            .filter(|l| {
                l.link_type.name.eq_ignore_ascii_case(type_name)
                    && (l.other.key.as_str() == to || l.other.id.as_str() == to)
            })
            .collect())
    }

    pub async fn delete_link(&self, id: &str) -> Result<(), JiraError> {
        self.transport.send(Call::delete(self.path(&format!("issueLink/{id}"))).op(CallOp::Unlink)).await.map(|_| ())
    }

    pub async fn remote_links(&self, key: &str) -> Result<Vec<RemoteLink>, JiraError> {
        let v = self.get(CallOp::RemoteLinks, &format!("issue/{key}/remotelink"), &[]).await?;
        Ok(v.as_array().map(|a| a.iter().filter_map(RemoteLink::parse).collect()).unwrap_or_default())
    }

    /// Creates the remote link, or updates the one with its `global_id`:
    /// Jira upserts by `globalId`, so sending it again is safe.
    pub async fn upsert_remote_link(&self, key: &str, link: &RemoteLinkWrite) -> Result<(), JiraError> {
        let call =
            Call::post(self.path(&format!("issue/{key}/remotelink")), link.to_json()).op(CallOp::RemoteLink).issue(key);
        self.transport.send(call.safe_to_repeat()).await.map(|_| ())
    }

    /// Deletes `key`'s remote link `global_id`; Jira answers 404 when the
    /// issue or the link is not there.
    pub async fn delete_remote_link(&self, key: &str, global_id: &str) -> Result<(), JiraError> {
        let call = Call::delete(self.path(&format!("issue/{key}/remotelink")))
            .op(CallOp::RemoteUnlink)
            .query("globalId", global_id)
            .issue(key);
        self.transport.send(call).await.map(|_| ())
    }

    fn comment_body(&self, body: &Doc) -> Value {
        match self.flavour {
            Flavour::Cloud => json!({"body": body.to_adf()}),
            Flavour::DataCenter => json!({"body": body.to_wiki()}),
        }
    }

    pub async fn comments(&self, key: &str) -> Result<Vec<Comment>, JiraError> {
        Ok(Comment::parse_list(
            &self.get(CallOp::Comments, &format!("issue/{key}/comment"), &[("maxResults", "5000".into())]).await?,
        ))
    }

    /// Adds a comment; returns its id.
    pub async fn add_comment(&self, key: &str, body: &Doc) -> Result<String, JiraError> {
        let call = Call::post(self.path(&format!("issue/{key}/comment")), self.comment_body(body))
            .op(CallOp::Comment)
            .issue(key);
        match self.json(call).await {
            Ok(v) => Self::decode("POST comment", Comment::parse(&v).map(|c| c.id)),
            Err(e) => Err(self.explain_for_issue(e, Action::AddComment, key).await),
        }
    }

    pub async fn edit_comment(&self, key: &str, id: &str, body: &Doc) -> Result<(), JiraError> {
        let call = Call::put(self.path(&format!("issue/{key}/comment/{id}")), self.comment_body(body))
            .op(CallOp::EditComment)
            .issue(key);
        match self.transport.send(call).await {
            Ok(_) => Ok(()),
            Err(e) => Err(self.explain_for_issue(e, Action::EditComment, key).await),
        }
    }

    pub async fn delete_comment(&self, key: &str, id: &str) -> Result<(), JiraError> {
        self.transport
            .send(Call::delete(self.path(&format!("issue/{key}/comment/{id}"))).op(CallOp::DeleteComment).issue(key))
            .await
            .map(|_| ())
    }

    pub async fn set_property(&self, key: &str, property: &str, value: &Value) -> Result<(), JiraError> {
        let call = Call::put(self.path(&format!("issue/{key}/properties/{property}")), value.clone())
            .op(CallOp::SetProperty)
            .issue(key);
        self.transport.send(call).await.map(|_| ())
    }

    pub async fn property(&self, key: &str, property: &str) -> Result<Option<Value>, JiraError> {
        match self.get(CallOp::Property, &format!("issue/{key}/properties/{property}"), &[]).await {
            Ok(v) => Ok(v.get("value").cloned()),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    pub async fn delete_property(&self, key: &str, property: &str) -> Result<(), JiraError> {
        let call = Call::delete(self.path(&format!("issue/{key}/properties/{property}")))
            .op(CallOp::DeleteProperty)
            .issue(key);
        self.transport.send(call).await.map(|_| ())
    }
}
