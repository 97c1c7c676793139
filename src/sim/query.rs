//! Running JQL over a site: the bridge between the pure `jql` module and the
//! simulator's issues (searches and webhook filters).

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use super::auth;
use super::jql::{self, EvalContext, JqlIssue};
use super::model::{FieldValue, Issue, SiteData};

/// Owned values an issue is searched by.
struct IssueView {
    id: u64,
    key: String,
    project: String,
    project_name: String,
    issuetype: String,
    status: String,
    labels: Vec<String>,
    assignee: Option<Vec<String>>,
    reporter: Option<Vec<String>>,
    created: DateTime<Utc>,
    updated: DateTime<Utc>,
}

impl IssueView {
    fn jql(&self) -> JqlIssue<'_> {
        JqlIssue {
            id: Some(self.id),
            key: &self.key,
            project: &self.project,
            project_name: &self.project_name,
            issuetype: &self.issuetype,
            status: &self.status,
            labels: &self.labels,
            assignee: self.assignee.as_deref(),
            reporter: self.reporter.as_deref(),
            created: self.created,
            updated: self.updated,
        }
    }
}

/// Every name a user can be searched by.
fn identities(site: &SiteData, login: &str) -> Vec<String> {
    match site.user(login) {
        Some(u) => vec![u.login.clone(), u.key.clone(), u.account_id.clone(), u.email.clone(), u.display_name.clone()],
        None => vec![login.to_string()],
    }
}

fn view(site: &SiteData, issue: &Issue) -> IssueView {
    let labels = match issue.fields.get("labels") {
        Some(FieldValue::Labels(l)) => l.clone(),
        _ => vec![],
    };
    let assignee = match issue.fields.get("assignee") {
        Some(FieldValue::User(u)) => Some(identities(site, u)),
        _ => None,
    };
    IssueView {
        id: issue.id,
        key: issue.key.clone(),
        project: issue.project.clone(),
        project_name: site.project(&issue.project).map(|p| p.name.clone()).unwrap_or_default(),
        issuetype: issue.issuetype.clone(),
        status: issue.status.clone(),
        labels,
        assignee,
        reporter: Some(identities(site, &issue.reporter)),
        created: issue.created,
        updated: issue.updated,
    }
}

/// Whether issue `id` matches `query` (webhook filters: evaluated in the
/// site's own time zone). An issue already gone (deleted) matches, so that
/// its deletion is still announced.
pub fn issue_matches(site: &SiteData, query: &str, id: u64) -> bool {
    let Ok(q) = jql::parse(query) else { return false };
    let Some(issue) = site.issues.get(&id) else { return true };
    let tz = site.users.first().map(|u| u.time_zone).unwrap_or(chrono_tz::UTC);
    let ctx = EvalContext { now: Utc::now(), tz, current_user: &[] };
    q.matches(&view(site, issue).jql(), &ctx)
}

/// Runs a search for `caller`; returns the matching issue ids in order, or
/// Jira's error messages. Issues of projects the caller cannot browse are
/// left out silently, and naming such a project is an error, as if it did
/// not exist (Jira's own answer).
pub fn search(site: &SiteData, query: &str, caller: &str, tz: Tz) -> Result<Vec<u64>, Vec<String>> {
    let q = jql::parse(query).map_err(|e| vec![e.message])?;
    let user = site.user(caller);
    let browsable = |project: &str| user.is_some_and(|u| auth::can_browse(u, project));
    let mut errors = Vec::new();
    for value in q.literal_values("project") {
        let named = site.project(&value).or_else(|| site.projects.iter().find(|p| p.name.eq_ignore_ascii_case(&value)));
        if !named.is_some_and(|p| browsable(&p.key)) {
            errors.push(format!("The value '{value}' does not exist for the field 'project'."));
        }
    }
    // Like Jira, an issue clause naming an issue that does not exist (or
    // that the caller cannot see) fails the whole query.
    for value in q.literal_values("key") {
        let found = site.issue_id(&value).and_then(|id| site.issues.get(&id));
        if !found.is_some_and(|i| browsable(&i.project)) {
            errors.push(format!("An issue with key '{value}' does not exist for field 'key'."));
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let me = identities(site, caller);
    let ctx = EvalContext { now: Utc::now(), tz, current_user: &me };
    let mut views: Vec<(u64, IssueView)> = site
        .issues
        .values()
        .filter(|i| browsable(&i.project))
        .map(|i| (i.id, view(site, i)))
        .filter(|(_, v)| q.matches(&v.jql(), &ctx))
        .collect();
    views.sort_by(|a, b| q.compare(&a.1.jql(), &b.1.jql()));
    Ok(views.into_iter().map(|(id, _)| id).collect())
}
