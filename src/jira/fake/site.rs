//! The fake as a [`Site`]: every call is recorded, then meets the site's
//! reachability, a queued fault, or the operation itself. The work is done
//! at once under the lock when the future is first polled; no lock is held
//! across an await because there is none.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::FakeSite;
use super::calls::{FakeCall, listed};
use super::errors::{answer_lost, cannot_connect, from_call};
use super::state::{Fault, State};
use crate::config::Flavour;
use crate::ids::InstanceId;
use crate::jira::client::{Cursor, Page};
use crate::jira::error::JiraError;
use crate::jira::fields::FieldCatalogue;
use crate::jira::mark::Mark;
use crate::jira::model::{
    FieldMeta, Issue, IssueRef, IssueTypeStatuses, LinkType, Myself, Project, RemoteLink, RemoteLinkWrite, StatusRef,
    UserRef,
};
use crate::jira::site::{Site, SiteFuture, SiteHealth};
use crate::jira::transport::Reachability;
use crate::jira::values::FieldWrites;

impl FakeSite {
    /// Records `call`, then answers it. A lost answer still applies the
    /// operation, as when the site acted but its answer did not come back.
    fn run<T>(
        &self,
        call: FakeCall,
        op: impl FnOnce(&mut State, &str) -> Result<T, JiraError>,
    ) -> Result<T, JiraError> {
        let mut s = self.lock();
        let label = call.label(s.flavour);
        let kind = call.op();
        s.calls.push(call);
        if !s.reachable {
            return Err(s.failed(from_call(cannot_connect(), &label)));
        }
        match s.take_fault(kind) {
            Some(Fault::Fail(e)) => Err(s.failed(from_call(e, &label))),
            Some(Fault::LoseAnswer) => {
                // Whatever the site answered is lost with the rest.
                let _ = op(&mut s, &label);
                Err(s.failed(from_call(answer_lost(), &label)))
            }
            None => op(&mut s, &label),
        }
    }
}

impl Site for FakeSite {
    fn id(&self) -> &InstanceId {
        &self.id
    }

    fn flavour(&self) -> Flavour {
        self.flavour
    }

    fn health(&self) -> SiteHealth {
        let s = self.lock();
        SiteHealth {
            limiter: None,
            reach: Reachability { reachable: Some(s.reachable), last_failure: s.last_failure.clone() },
        }
    }

    fn myself(&self) -> SiteFuture<'_, Myself> {
        Box::pin(async move { self.run(FakeCall::Myself, |s, _| Ok(s.myself.clone())) })
    }

    fn fields(&self) -> SiteFuture<'_, Arc<FieldCatalogue>> {
        Box::pin(async move { self.run(FakeCall::Fields, |s, _| Ok(s.catalogue.clone())) })
    }

    fn project<'a>(&'a self, key: &'a str) -> SiteFuture<'a, Project> {
        let call = FakeCall::Project { key: key.into() };
        Box::pin(async move { self.run(call, |s, label| s.project(key, label)) })
    }

    fn link_types(&self) -> SiteFuture<'_, Vec<LinkType>> {
        Box::pin(async move { self.run(FakeCall::LinkTypes, |s, _| Ok(s.link_types.clone())) })
    }

    fn create_meta<'a>(&'a self, project: &'a str, issue_type: &'a str) -> SiteFuture<'a, Vec<FieldMeta>> {
        let call = FakeCall::CreateMeta { project: project.into(), issue_type: issue_type.into() };
        Box::pin(async move { self.run(call, |s, _| s.create_meta(project, issue_type)) })
    }

    fn statuses(&self) -> SiteFuture<'_, Arc<Vec<StatusRef>>> {
        Box::pin(async move { self.run(FakeCall::Statuses, |s, _| Ok(Arc::new(s.statuses.clone()))) })
    }

    /// The fake has one workflow: every issue type of a project holds
    /// every status of the site.
    fn project_statuses<'a>(&'a self, project: &'a str) -> SiteFuture<'a, Vec<IssueTypeStatuses>> {
        let call = FakeCall::ProjectStatuses { project: project.into() };
        Box::pin(async move {
            self.run(call, |s, label| {
                let p = s.project(project, label)?;
                let types = p.issue_types.iter().map(|t| IssueTypeStatuses {
                    issue_type: t.clone(),
                    subtask: p.subtask_types.contains(t),
                    statuses: s.statuses.clone(),
                });
                Ok(types.collect())
            })
        })
    }

    /// The fake's technical user may do anything in a project it has.
    fn my_permissions<'a>(&'a self, project: &'a str, keys: &'a [&'a str]) -> SiteFuture<'a, BTreeMap<String, bool>> {
        let call = FakeCall::Permissions { project: project.into() };
        Box::pin(async move {
            self.run(call, |s, label| {
                s.project(project, label)?;
                Ok(keys.iter().map(|k| (k.to_string(), true)).collect())
            })
        })
    }

    fn find_user_by_email<'a>(&'a self, email: &'a str) -> SiteFuture<'a, Option<UserRef>> {
        let call = FakeCall::FindUser { email: email.into() };
        Box::pin(async move { self.run(call, |s, _| s.find_user(email)) })
    }

    fn issue<'a>(&'a self, key_or_id: &'a str, fields: &'a [&'a str]) -> SiteFuture<'a, Issue> {
        let call = FakeCall::Issue { key: key_or_id.into() };
        Box::pin(async move { self.run(call, |s, label| s.read_issue(key_or_id, fields, label)) })
    }

    fn issues<'a>(
        &'a self,
        scope: Option<&'a str>,
        keys_or_ids: &'a [&'a str],
        fields: &'a [&'a str],
    ) -> SiteFuture<'a, Vec<Issue>> {
        let call = FakeCall::Issues {
            scope: scope.map(str::to_string),
            ids: keys_or_ids.iter().map(|k| k.to_string()).collect(),
        };
        Box::pin(async move { self.run(call, |s, label| s.read_issues(scope, keys_or_ids, fields, label)) })
    }

    fn search_page<'a>(
        &'a self,
        jql: &'a str,
        fields: &'a [&'a str],
        page_size: usize,
        from: Option<Cursor>,
    ) -> SiteFuture<'a, Page> {
        let call = FakeCall::Search { jql: jql.into() };
        Box::pin(async move { self.run(call, |s, label| s.search(jql, fields, page_size, from, label)) })
    }

    fn create_issue<'a>(
        &'a self,
        project: &'a str,
        issue_type: &'a str,
        fields: &'a FieldWrites,
        mark: Option<&'a Mark>,
    ) -> SiteFuture<'a, IssueRef> {
        let call = FakeCall::Create {
            project: project.into(),
            issue_type: issue_type.into(),
            fields: listed(fields),
            mark: mark.map(Mark::to_string),
        };
        Box::pin(async move { self.run(call, |s, label| s.create(project, issue_type, fields, mark, label)) })
    }

    fn find_by_mark<'a>(&'a self, project: &'a str, mark: &'a Mark) -> SiteFuture<'a, Option<IssueRef>> {
        let call = FakeCall::FindByMark { project: project.into(), mark: mark.to_string() };
        Box::pin(async move { self.run(call, |s, _| Ok(s.find_by_mark(project, mark))) })
    }

    fn edit_issue<'a>(&'a self, key: &'a str, fields: &'a FieldWrites) -> SiteFuture<'a, ()> {
        let call = FakeCall::Edit { key: key.into(), fields: listed(fields) };
        Box::pin(async move { self.run(call, |s, label| s.edit(key, fields, label)) })
    }

    fn add_label<'a>(&'a self, key: &'a str, label: &'a str) -> SiteFuture<'a, ()> {
        let call = FakeCall::AddLabel { key: key.into(), label: label.into() };
        Box::pin(async move { self.run(call, |s, call| s.add_label(key, label, call)) })
    }

    fn transition_to<'a>(&'a self, key: &'a str, status: &'a str) -> SiteFuture<'a, Vec<String>> {
        let call = FakeCall::Transition { key: key.into(), status: status.into() };
        Box::pin(async move { self.run(call, |s, label| s.transition(key, status, label)) })
    }

    fn delete_issue<'a>(&'a self, key: &'a str) -> SiteFuture<'a, ()> {
        let call = FakeCall::Delete { key: key.into() };
        Box::pin(async move { self.run(call, |s, label| s.delete(key, label)) })
    }

    fn create_link<'a>(&'a self, type_name: &'a str, from: &'a str, to: &'a str) -> SiteFuture<'a, String> {
        let call = FakeCall::CreateLink { type_name: type_name.into(), from: from.into(), to: to.into() };
        Box::pin(async move { self.run(call, |s, label| s.create_link(type_name, from, to, label)) })
    }

    /// A link already gone is no error, whether the site found no such
    /// link or answered 404 by a queued fault: `JiraClient` makes a 404
    /// from `DELETE issueLink` an `Ok` too.
    fn delete_link<'a>(&'a self, link_id: &'a str) -> SiteFuture<'a, ()> {
        let call = FakeCall::DeleteLink { id: link_id.into() };
        Box::pin(async move {
            let unlinked = self.run(call, |s, _| {
                s.delete_link(link_id);
                Ok(())
            });
            match unlinked {
                Err(e) if e.is_not_found() => Ok(()),
                other => other,
            }
        })
    }

    fn remote_links<'a>(&'a self, key: &'a str) -> SiteFuture<'a, Vec<RemoteLink>> {
        let call = FakeCall::RemoteLinks { key: key.into() };
        Box::pin(async move { self.run(call, |s, label| s.remote_links(key, label)) })
    }

    fn upsert_remote_link<'a>(&'a self, key: &'a str, link: &'a RemoteLinkWrite) -> SiteFuture<'a, ()> {
        let call = FakeCall::UpsertRemoteLink {
            key: key.into(),
            global_id: link.global_id.clone(),
            url: link.url.clone(),
            title: link.title.clone(),
        };
        Box::pin(async move { self.run(call, |s, label| s.upsert_remote_link(key, link.to_json(), label).map(|_| ())) })
    }

    /// A link already gone, alone or with its issue, is no error, as through
    /// `JiraClient`, which cannot tell those 404s apart.
    fn delete_remote_link<'a>(&'a self, key: &'a str, global_id: &'a str) -> SiteFuture<'a, ()> {
        let call = FakeCall::DeleteRemoteLink { key: key.into(), global_id: global_id.into() };
        Box::pin(async move {
            match self.run(call, |s, label| s.delete_remote_link(key, global_id, label)) {
                Err(e) if e.is_not_found() => Ok(()),
                other => other,
            }
        })
    }
}
