//! Every real REST payload in `shared/jira-reference/rest/` that belongs to
//! an operation jirafed uses parses into the model, keeping what jirafed
//! reads.

use jirafed::jira::model::*;
use jirafed::jira::values::{FieldValue, read_value};
use serde_json::Value;

use super::support::{reference_dir, reference_json};

/// What a reference file is the answer to.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Op {
    Issue,
    SearchPage,
    CreateMetaTypes,
    CreateMetaLegacy,
    EditMeta,
    Transitions,
    Fields,
    LinkTypes,
    CommentPage,
    Comment,
    CreateResponse,
    ServerInfo,
    Project,
    IssueLink,
    Errors,
    /// Not an answer jirafed uses (watchers, dashboards, webhooks admin...).
    Unused,
}

fn classify(name: &str) -> Op {
    let n = name.to_ascii_lowercase();
    let table: &[(&str, Op)] = &[
        ("_400", Op::Errors),
        ("_403", Op::Errors),
        ("_404", Op::Errors),
        ("_409", Op::Errors),
        ("get_issue_issueidorkey_200", Op::Issue),
        ("issue-rendered", Op::Issue),
        ("approximate-count", Op::Unused),
        ("airbyte/issues", Op::SearchPage),
        ("create-issue-metadata", Op::CreateMetaLegacy),
        ("search", Op::SearchPage),
        ("createmeta_projectidorkey_issuetypes_200", Op::CreateMetaTypes),
        ("createmeta", Op::CreateMetaLegacy),
        ("editmeta", Op::EditMeta),
        ("transitions", Op::Transitions),
        ("fields", Op::Fields),
        ("issuelinktype", Op::LinkTypes),
        ("issue-link-types", Op::LinkTypes),
        ("all_issuelinktypes", Op::LinkTypes),
        ("get_issue_issueidorkey_comment_200", Op::CommentPage),
        ("post_issue_issueidorkey_comment_201", Op::Comment),
        ("post_issue_201", Op::CreateResponse),
        ("serverinfo", Op::ServerInfo),
        ("project.json", Op::Project),
        ("issuelink", Op::IssueLink),
    ];
    table.iter().find(|(k, _)| n.contains(k)).map(|(_, op)| *op).unwrap_or(Op::Unused)
}

fn check(rel: &str, op: Op, v: &Value) -> Result<(), String> {
    let fail = |what: &str| Err(format!("{rel}: {what}"));
    match op {
        Op::Issue => check_issue(rel, v),
        Op::SearchPage => {
            let issues = v["issues"].as_array().ok_or(format!("{rel}: no issues"))?;
            issues.iter().try_for_each(|i| check_issue(rel, i))
        }
        Op::CreateMetaTypes => {
            let types = v["issueTypes"].as_array().or(v["values"].as_array()).ok_or(format!("{rel}: no types"))?;
            if types.iter().any(|t| t["name"].as_str().is_none()) { fail("a type without a name") } else { Ok(()) }
        }
        Op::CreateMetaLegacy => {
            let raw: Vec<(String, Value)> = v["projects"]
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(|p| p["issuetypes"].as_array().cloned().unwrap_or_default())
                .flat_map(|t| t["fields"].as_object().cloned().unwrap_or_default())
                .collect();
            let lost = raw.iter().filter(|(k, f)| match FieldMeta::parse(f, Some(k)) {
                None => true,
                Some(m) => f.get("schema").is_some() && m.schema.is_none(),
            });
            if raw.is_empty() || lost.count() > 0 { fail("fields lost") } else { Ok(()) }
        }
        Op::EditMeta => {
            let fields = FieldMeta::parse_map(&v["fields"]);
            let raw = v["fields"].as_object().map(|m| m.len()).unwrap_or(0);
            if fields.len() != raw || fields.iter().any(|f| f.schema.is_none()) { fail("fields lost") } else { Ok(()) }
        }
        Op::Transitions => {
            let list = Transition::parse_list(v);
            let raw = v["transitions"].as_array().map(Vec::len).unwrap_or(0);
            let raw_to = v["transitions"].as_array().map(|a| a.iter().filter(|t| t.get("to").is_some()).count());
            let to = list.iter().filter(|t| t.to.is_some()).count();
            if list.len() != raw || Some(to) != raw_to { fail("transitions lost") } else { Ok(()) }
        }
        Op::Fields => {
            let raw = v.as_array().ok_or(format!("{rel}: not an array"))?;
            let parsed: Vec<FieldInfo> = raw.iter().filter_map(FieldInfo::parse).collect();
            if parsed.len() != raw.len() { fail("fields lost") } else { Ok(()) }
        }
        Op::LinkTypes => {
            let list = LinkType::parse_list(v);
            if list.is_empty() || list.iter().any(|t| t.inward.is_empty() || t.outward.is_empty()) {
                fail("link types lost")
            } else {
                Ok(())
            }
        }
        Op::CommentPage => {
            let list = Comment::parse_list(v);
            if list.is_empty() || list.iter().any(|c| c.body.is_empty()) { fail("comments lost") } else { Ok(()) }
        }
        Op::Comment => {
            Comment::parse(v).filter(|c| !c.body.is_empty()).map(|_| ()).ok_or(format!("{rel}: comment lost"))
        }
        Op::CreateResponse => {
            IssueRef::parse(v).filter(|r| !r.key.as_str().is_empty()).map(|_| ()).ok_or(format!("{rel}: no key"))
        }
        Op::ServerInfo => ServerInfo::parse(v).and_then(|s| s.version).map(|_| ()).ok_or(format!("{rel}: no version")),
        Op::Project => Project::parse(v).map(|_| ()).ok_or(format!("{rel}: project lost")),
        Op::IssueLink => {
            // mobitel captures of a single link (GET issueLink-like).
            let t = LinkType::parse(&v["type"]);
            let ends = IssueRef::parse(&v["inwardIssue"]).or_else(|| IssueRef::parse(&v["outwardIssue"]));
            if t.is_none() && ends.is_none() {
                return IssueLink::parse(v).map(|_| ()).ok_or(format!("{rel}: link lost"));
            }
            Ok(())
        }
        Op::Errors => {
            let mut e = jirafed::jira::JiraError::new(jirafed::jira::ErrorKind::Status(400), "x");
            e.read_body(&serde_json::to_vec(v).unwrap_or_default());
            if e.messages.is_empty() && e.errors.is_empty() { fail("error text lost") } else { Ok(()) }
        }
        Op::Unused => Ok(()),
    }
}

fn check_issue(rel: &str, v: &Value) -> Result<(), String> {
    let issue = Issue::parse(v).ok_or(format!("{rel}: not an issue"))?;
    let raw = &v["fields"];
    if issue.key.as_str().is_empty() {
        return Err(format!("{rel}: no key"));
    }
    if raw["status"].is_object() && issue.status.is_none() {
        return Err(format!("{rel} {}: status lost", issue.key));
    }
    if raw["updated"].is_string() && issue.updated.is_none() {
        return Err(format!("{rel} {}: updated unreadable: {}", issue.key, raw["updated"]));
    }
    if raw["issuetype"].is_object() && issue.issuetype.is_none() {
        return Err(format!("{rel} {}: issue type lost", issue.key));
    }
    let raw_links = raw["issuelinks"].as_array().map(Vec::len).unwrap_or(0);
    if issue.links.len() != raw_links {
        return Err(format!("{rel} {}: {} of {raw_links} links", issue.key, issue.links.len()));
    }
    if let Some(d) = raw.get("description").filter(|d| !d.is_null()) {
        let schema = FieldSchema { kind: "string".into(), system: Some("description".into()), ..Default::default() };
        match read_value(Some(&schema), d) {
            FieldValue::Rich(doc) if !doc.is_empty() || d.as_str() == Some("") => {}
            other => return Err(format!("{rel} {}: description lost: {other:?}", issue.key)),
        }
    }
    Ok(())
}

#[test]
fn every_reference_payload_parses_into_the_model() {
    let root = reference_dir().join("rest");
    let mut files = Vec::new();
    for dir in std::fs::read_dir(&root).expect("rest/") {
        let dir = dir.expect("entry").path();
        for f in std::fs::read_dir(&dir).expect("dir") {
            let p = f.expect("entry").path();
            if p.extension().is_some_and(|e| e == "json") {
                files.push(p.strip_prefix(reference_dir()).expect("prefix").display().to_string());
            }
        }
    }
    files.sort();
    let mut problems = Vec::new();
    let mut used = 0;
    for rel in &files {
        let op = classify(rel);
        if op == Op::Unused {
            continue;
        }
        used += 1;
        if let Err(e) = check(rel, op, &reference_json(rel)) {
            problems.push(e);
        }
    }
    assert!(used >= 30, "only {used} files were checked");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
