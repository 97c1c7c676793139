//! Searches, streamed page by page, and reading many issues at once.

use serde_json::json;

use super::JiraClient;
use crate::config::Flavour;
use crate::jira::error::JiraError;
use crate::jira::limiter::Budget;
use crate::jira::model::Issue;
use crate::jira::timing::CallOp;
use crate::jira::transport::Call;

/// Most keys or ids in one `key in (...)` clause: what Cloud's
/// `reconcileIssues` takes in one search.
pub const RECONCILE_MAX: usize = 50;

impl JiraClient {
    /// Streams a search page by page.
    pub fn search(&self, jql: impl Into<String>, fields: &[&str], page_size: usize) -> Search<'_> {
        Search {
            client: self,
            jql: jql.into(),
            fields: fields.iter().map(|f| f.to_string()).collect(),
            page_size: page_size.max(1),
            cursor: Cursor::Start,
            reconcile: Vec::new(),
        }
    }

    /// One page of a search, from `from` (the start when `None`).
    pub async fn search_page(
        &self,
        jql: &str,
        fields: &[&str],
        page_size: usize,
        from: Option<Cursor>,
    ) -> Result<Page, JiraError> {
        let mut search = self.search(jql, fields, page_size);
        search.cursor = from.unwrap_or(Cursor::Start);
        let issues = search.next_page().await?.unwrap_or_default();
        Ok(Page { issues, next: (!search.is_done()).then_some(search.cursor) })
    }

    /// Reads many issues, by key or id, with the named fields: a search for
    /// `key in (...)` (Jira's key clause takes ids too) per 50 of them,
    /// within `scope` when given (an issue outside it is not returned). On
    /// Cloud the ids are passed as `reconcileIssues`, so that the answer is
    /// as fresh as a direct read (the search index may lag behind writes
    /// otherwise). Issues that do not exist or that the technical user
    /// cannot see are left out, as are strings that are no key or id.
    pub async fn issues(
        &self,
        scope: Option<&str>,
        keys_or_ids: &[&str],
        fields: &[&str],
    ) -> Result<Vec<Issue>, JiraError> {
        let mut wanted: Vec<&str> = Vec::new();
        for k in keys_or_ids.iter().copied().filter(|k| is_key_or_id(k)) {
            if !wanted.iter().any(|w| w.eq_ignore_ascii_case(k)) {
                wanted.push(k);
            }
        }
        let mut out = Vec::new();
        for chunk in wanted.chunks(RECONCILE_MAX) {
            out.extend(self.issues_chunk(scope, chunk.to_vec(), fields).await?);
        }
        Ok(out)
    }

    async fn issues_chunk(
        &self,
        scope: Option<&str>,
        mut keys: Vec<&str>,
        fields: &[&str],
    ) -> Result<Vec<Issue>, JiraError> {
        // Jira refuses the whole query when one key names no issue (deleted,
        // or never made): leave those out and ask again.
        while !keys.is_empty() {
            let list: Vec<String> = keys.iter().map(|k| format!("\"{k}\"")).collect();
            let clause = format!("key in ({})", list.join(", "));
            let jql = match scope {
                Some(s) => format!("({s}) AND {clause} ORDER BY key ASC"),
                None => format!("{clause} ORDER BY key ASC"),
            };
            let mut search = self.search(jql, fields, RECONCILE_MAX);
            if self.flavour == Flavour::Cloud {
                search.reconcile = keys.iter().filter_map(|k| k.parse().ok()).collect();
            }
            match search.all().await {
                Ok(found) => return Ok(found),
                Err(e) if e.status() == Some(400) => {
                    let unknown = unknown_keys(&e);
                    let before = keys.len();
                    keys.retain(|k| !unknown.iter().any(|u| u.eq_ignore_ascii_case(k)));
                    if keys.len() == before {
                        return Err(e);
                    }
                }
                Err(e) => return Err(e),
            }
        }
        Ok(Vec::new())
    }
}

/// `EMEA-12` or `10042`: only what can be put in JQL as it is.
fn is_key_or_id(s: &str) -> bool {
    !s.is_empty() && s.len() <= 255 && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// The keys a 400 names: "An issue with key 'EMEA-9' does not exist for
/// field 'key'.", "The issue key 'x' for field 'key' is invalid."
fn unknown_keys(e: &JiraError) -> Vec<String> {
    e.messages
        .iter()
        .filter_map(|m| {
            let (_, rest) = m.split_once("key '")?;
            let (key, _) = rest.split_once('\'')?;
            Some(key.to_string())
        })
        .collect()
}

/// Where a search continues: Cloud's `nextPageToken`, Data Center's
/// `startAt`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cursor {
    Start,
    Token(String),
    StartAt(usize),
    Done,
}

/// One page of a search and where the next one starts (`None` after the
/// last).
#[derive(Debug, Clone, Default)]
pub struct Page {
    pub issues: Vec<Issue>,
    pub next: Option<Cursor>,
}

/// A search being read page by page: Cloud `search/jql` with
/// `nextPageToken`, Data Center `search` with `startAt`.
pub struct Search<'a> {
    client: &'a JiraClient,
    jql: String,
    fields: Vec<String>,
    page_size: usize,
    cursor: Cursor,
    /// Cloud: ids whose results must be strongly consistent.
    reconcile: Vec<u64>,
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
                if !self.reconcile.is_empty() {
                    body["reconcileIssues"] = json!(self.reconcile);
                }
                let call = Call { budget: Budget::Read, ..Call::post(c.path("search/jql"), body).op(CallOp::Search) }
                    .safe_to_repeat();
                let v = c.json(call).await?;
                let next =
                    v["nextPageToken"].as_str().filter(|_| v["isLast"] != true).map(|t| Cursor::Token(t.to_string()));
                (v, next.unwrap_or(Cursor::Done))
            }
            (cursor, Flavour::DataCenter) => {
                let start = if let Cursor::StartAt(n) = cursor { *n } else { 0 };
                let call = Call::get(c.path("search"))
                    .op(CallOp::Search)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jira::ErrorKind;

    #[test]
    fn only_keys_and_ids_go_into_jql() {
        for ok in ["EMEA-12", "10042", "MY_PROJ-1"] {
            assert!(is_key_or_id(ok), "{ok}");
        }
        for bad in ["", "EMEA-1\" OR project = X", "a b", "EMEA-1)", "x'"] {
            assert!(!is_key_or_id(bad), "{bad}");
        }
    }

    #[test]
    fn the_keys_a_400_names_are_found() {
        let mut e = JiraError::new(ErrorKind::Status(400), "GET /rest/api/2/search");
        e.read_body(
            br#"{"errorMessages":["An issue with key 'APAC-99' does not exist for field 'key'.","The issue key 'x-' for field 'key' is invalid.","Something else."]}"#,
        );
        assert_eq!(unknown_keys(&e), ["APAC-99", "x-"]);
    }
}
