//! What the engine asks of one Jira site, as a trait. [`JiraClient`]
//! implements it over HTTP; the engine's unit tests implement it in memory
//! (`jira::fake`), so that the planner and the writer run without a network.
//! Every method is one dialect-neutral operation with typed inputs and
//! outputs: no Jira JSON crosses this line.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use super::client::{Cursor, JiraClient, Page};
use super::error::JiraError;
use super::fields::FieldCatalogue;
use super::limiter::LimiterState;
use super::mark::Mark;
use super::model::{
    FieldMeta, Issue, IssueRef, IssueTypeStatuses, LinkType, Myself, Project, RemoteLink, RemoteLinkWrite, StatusRef,
    UserRef,
};
use super::transport::Reachability;
use super::values::FieldWrites;
use crate::config::Flavour;
use crate::ids::InstanceId;

/// The answer of one site operation, boxed so that sites can be `dyn`.
pub type SiteFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, JiraError>> + Send + 'a>>;

/// What a site's client knows of its own health, for `/status`.
#[derive(Debug, Clone, Default)]
pub struct SiteHealth {
    /// The rate limiter's budgets and pauses.
    pub limiter: Option<LimiterState>,
    /// Whether the last call got an answer, and the last one that did not.
    pub reach: Reachability,
}

/// One Jira site, as the engine uses it.
pub trait Site: Send + Sync {
    /// The instance id of the config.
    fn id(&self) -> &InstanceId;
    fn flavour(&self) -> Flavour;
    fn health(&self) -> SiteHealth;

    /// The technical user (`/myself`), with its time zone.
    fn myself(&self) -> SiteFuture<'_, Myself>;
    /// The field catalogue (cached by the client).
    fn fields(&self) -> SiteFuture<'_, Arc<FieldCatalogue>>;
    fn project<'a>(&'a self, key: &'a str) -> SiteFuture<'a, Project>;
    fn link_types(&self) -> SiteFuture<'_, Vec<LinkType>>;
    /// The fields of `issue_type`'s create screen in `project`.
    fn create_meta<'a>(&'a self, project: &'a str, issue_type: &'a str) -> SiteFuture<'a, Vec<FieldMeta>>;
    /// Every status the site has.
    fn statuses(&self) -> SiteFuture<'_, Arc<Vec<StatusRef>>>;
    /// The issue types of `project`, each with its workflow's statuses.
    fn project_statuses<'a>(&'a self, project: &'a str) -> SiteFuture<'a, Vec<IssueTypeStatuses>>;
    /// Whether the technical user holds each of the permission `keys` in
    /// `project`.
    fn my_permissions<'a>(&'a self, project: &'a str, keys: &'a [&'a str]) -> SiteFuture<'a, BTreeMap<String, bool>>;
    /// The one user with this e-mail; `None` when there is none, an error
    /// when several could be meant.
    fn find_user_by_email<'a>(&'a self, email: &'a str) -> SiteFuture<'a, Option<UserRef>>;

    /// One issue by key or id (a 404 is an error the caller can test with
    /// [`JiraError::is_not_found`]).
    fn issue<'a>(&'a self, key_or_id: &'a str, fields: &'a [&'a str]) -> SiteFuture<'a, Issue>;
    /// Many issues by key or id, within `scope` when given; those that do
    /// not exist or are out of scope are left out.
    fn issues<'a>(
        &'a self,
        scope: Option<&'a str>,
        keys_or_ids: &'a [&'a str],
        fields: &'a [&'a str],
    ) -> SiteFuture<'a, Vec<Issue>>;
    /// One page of a JQL search, from `from` (the start when `None`).
    fn search_page<'a>(
        &'a self,
        jql: &'a str,
        fields: &'a [&'a str],
        page_size: usize,
        from: Option<Cursor>,
    ) -> SiteFuture<'a, Page>;

    /// Creates an issue carrying `mark` (label and entity property).
    fn create_issue<'a>(
        &'a self,
        project: &'a str,
        issue_type: &'a str,
        fields: &'a FieldWrites,
        mark: Option<&'a Mark>,
    ) -> SiteFuture<'a, IssueRef>;
    /// The issue of `project` carrying `mark`, if any.
    fn find_by_mark<'a>(&'a self, project: &'a str, mark: &'a Mark) -> SiteFuture<'a, Option<IssueRef>>;
    fn edit_issue<'a>(&'a self, key: &'a str, fields: &'a FieldWrites) -> SiteFuture<'a, ()>;
    /// Adds one label, leaving the others.
    fn add_label<'a>(&'a self, key: &'a str, label: &'a str) -> SiteFuture<'a, ()>;
    /// Moves the issue to the status named `status`, through as many
    /// transitions as the workflow needs; returns the transitions taken.
    fn transition_to<'a>(&'a self, key: &'a str, status: &'a str) -> SiteFuture<'a, Vec<String>>;
    fn delete_issue<'a>(&'a self, key: &'a str) -> SiteFuture<'a, ()>;
    /// Links `from` to `to` with the link type named `type_name`, so that
    /// `from` shows the type's outward text ("blocks") and `to` its inward
    /// one; returns the link's id. Safe to call again: a link that is
    /// already there is returned, not made twice.
    fn create_link<'a>(&'a self, type_name: &'a str, from: &'a str, to: &'a str) -> SiteFuture<'a, String>;
    /// Deletes an issue link by id; one that is already gone is not an error.
    fn delete_link<'a>(&'a self, link_id: &'a str) -> SiteFuture<'a, ()>;
    /// The remote links of an issue.
    fn remote_links<'a>(&'a self, key: &'a str) -> SiteFuture<'a, Vec<RemoteLink>>;
    /// Creates the remote link `global_id` on `key`, or updates it when the
    /// issue has one with that id already (never two).
    fn upsert_remote_link<'a>(&'a self, key: &'a str, link: &'a RemoteLinkWrite) -> SiteFuture<'a, ()>;
    /// Deletes `key`'s remote link `global_id`; one already gone is not an
    /// error, nor is one gone with its issue (Jira answers both with a 404).
    fn delete_remote_link<'a>(&'a self, key: &'a str, global_id: &'a str) -> SiteFuture<'a, ()>;
}

impl Site for JiraClient {
    fn id(&self) -> &InstanceId {
        &self.id
    }

    fn flavour(&self) -> Flavour {
        self.flavour
    }

    fn health(&self) -> SiteHealth {
        SiteHealth { limiter: Some(self.transport().limiter().state()), reach: self.transport().reachability() }
    }

    fn myself(&self) -> SiteFuture<'_, Myself> {
        Box::pin(JiraClient::myself(self))
    }

    fn fields(&self) -> SiteFuture<'_, Arc<FieldCatalogue>> {
        Box::pin(JiraClient::fields(self))
    }

    fn project<'a>(&'a self, key: &'a str) -> SiteFuture<'a, Project> {
        Box::pin(JiraClient::project(self, key))
    }

    fn link_types(&self) -> SiteFuture<'_, Vec<LinkType>> {
        Box::pin(JiraClient::link_types(self))
    }

    fn create_meta<'a>(&'a self, project: &'a str, issue_type: &'a str) -> SiteFuture<'a, Vec<FieldMeta>> {
        Box::pin(JiraClient::create_meta(self, project, issue_type))
    }

    fn statuses(&self) -> SiteFuture<'_, Arc<Vec<StatusRef>>> {
        Box::pin(JiraClient::site_statuses(self))
    }

    fn project_statuses<'a>(&'a self, project: &'a str) -> SiteFuture<'a, Vec<IssueTypeStatuses>> {
        Box::pin(JiraClient::project_statuses(self, project))
    }

    fn my_permissions<'a>(&'a self, project: &'a str, keys: &'a [&'a str]) -> SiteFuture<'a, BTreeMap<String, bool>> {
        Box::pin(JiraClient::my_permissions(self, project, keys))
    }

    fn find_user_by_email<'a>(&'a self, email: &'a str) -> SiteFuture<'a, Option<UserRef>> {
        Box::pin(JiraClient::find_user_by_email(self, email))
    }

    fn issue<'a>(&'a self, key_or_id: &'a str, fields: &'a [&'a str]) -> SiteFuture<'a, Issue> {
        Box::pin(JiraClient::issue(self, key_or_id, fields))
    }

    fn issues<'a>(
        &'a self,
        scope: Option<&'a str>,
        keys_or_ids: &'a [&'a str],
        fields: &'a [&'a str],
    ) -> SiteFuture<'a, Vec<Issue>> {
        Box::pin(JiraClient::issues(self, scope, keys_or_ids, fields))
    }

    fn search_page<'a>(
        &'a self,
        jql: &'a str,
        fields: &'a [&'a str],
        page_size: usize,
        from: Option<Cursor>,
    ) -> SiteFuture<'a, Page> {
        Box::pin(JiraClient::search_page(self, jql, fields, page_size, from))
    }

    fn create_issue<'a>(
        &'a self,
        project: &'a str,
        issue_type: &'a str,
        fields: &'a FieldWrites,
        mark: Option<&'a Mark>,
    ) -> SiteFuture<'a, IssueRef> {
        Box::pin(JiraClient::create_issue(self, project, issue_type, fields, mark))
    }

    fn find_by_mark<'a>(&'a self, project: &'a str, mark: &'a Mark) -> SiteFuture<'a, Option<IssueRef>> {
        Box::pin(JiraClient::find_by_mark(self, project, mark))
    }

    fn edit_issue<'a>(&'a self, key: &'a str, fields: &'a FieldWrites) -> SiteFuture<'a, ()> {
        Box::pin(JiraClient::edit_issue(self, key, fields))
    }

    fn add_label<'a>(&'a self, key: &'a str, label: &'a str) -> SiteFuture<'a, ()> {
        Box::pin(JiraClient::add_label(self, key, label))
    }

    fn transition_to<'a>(&'a self, key: &'a str, status: &'a str) -> SiteFuture<'a, Vec<String>> {
        Box::pin(async move { JiraClient::transition_to(self, key, status, &serde_json::Map::new()).await })
    }

    fn delete_issue<'a>(&'a self, key: &'a str) -> SiteFuture<'a, ()> {
        Box::pin(JiraClient::delete_issue(self, key))
    }

    fn create_link<'a>(&'a self, type_name: &'a str, from: &'a str, to: &'a str) -> SiteFuture<'a, String> {
        Box::pin(JiraClient::create_link(self, type_name, from, to))
    }

    fn delete_link<'a>(&'a self, link_id: &'a str) -> SiteFuture<'a, ()> {
        Box::pin(async move {
            match JiraClient::delete_link(self, link_id).await {
                Err(e) if e.is_not_found() => Ok(()),
                other => other,
            }
        })
    }

    fn remote_links<'a>(&'a self, key: &'a str) -> SiteFuture<'a, Vec<RemoteLink>> {
        Box::pin(JiraClient::remote_links(self, key))
    }

    fn upsert_remote_link<'a>(&'a self, key: &'a str, link: &'a RemoteLinkWrite) -> SiteFuture<'a, ()> {
        Box::pin(JiraClient::upsert_remote_link(self, key, link))
    }

    fn delete_remote_link<'a>(&'a self, key: &'a str, global_id: &'a str) -> SiteFuture<'a, ()> {
        Box::pin(async move {
            match JiraClient::delete_remote_link(self, key, global_id).await {
                Err(e) if e.is_not_found() => Ok(()),
                other => other,
            }
        })
    }
}
