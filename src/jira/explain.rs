//! Words an admin can act on, added to a failed call's error: which field,
//! on which screen of which project and issue type, which issue, which
//! site. Pure: the client gathers what it knows and passes it in. The words
//! come from the call and Jira's answer only, never from credentials.

use super::error::JiraError;
use super::fields::FieldCatalogue;

/// What the failed call was doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action<'a> {
    Create,
    Edit,
    Transition { name: &'a str, from: &'a str, to: &'a str },
    AddComment,
    EditComment,
}

/// What the call knows about where it failed.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    pub site: &'a str,
    pub action: Action<'a>,
    pub key: Option<&'a str>,
    pub project: Option<&'a str>,
    pub issue_type: Option<&'a str>,
}

/// Jira's words for a field that no screen of the call shows.
const OFF_SCREEN: &[&str] = &["not on the appropriate screen", "cannot be set"];

/// Adds the explanation, if one applies, as the error's detail.
pub fn explain(err: JiraError, ctx: &Context<'_>, fields: Option<&FieldCatalogue>) -> JiraError {
    let detail = if err.errors.is_empty() { status_words(&err, ctx) } else { Some(field_words(&err, ctx, fields)) };
    match detail {
        Some(d) => err.with_detail(d),
        None => err,
    }
}

/// `EMEA Story (EMEA-5)`, `EMEA Story`, `EMEA-5`: as much as is known.
fn issue_words(ctx: &Context<'_>) -> String {
    let kind: Vec<&str> = [ctx.project, ctx.issue_type].into_iter().flatten().collect();
    match (kind.is_empty(), ctx.key) {
        (false, Some(key)) => format!("{} ({key})", kind.join(" ")),
        (false, None) => kind.join(" "),
        (true, Some(key)) => key.to_string(),
        (true, None) => "the issue".to_string(),
    }
}

fn screen_words(ctx: &Context<'_>) -> String {
    match ctx.action {
        Action::Create => "create screen".into(),
        Action::Transition { name, from, to } => format!("screen of transition '{name}' ({from} -> {to})"),
        Action::Edit | Action::AddComment | Action::EditComment => "edit screen".into(),
    }
}

fn field_words(err: &JiraError, ctx: &Context<'_>, fields: Option<&FieldCatalogue>) -> String {
    let (screen, issue) = (screen_words(ctx), issue_words(ctx));
    let words: Vec<String> = err
        .errors
        .iter()
        .map(|(id, message)| {
            let field = fields.map(|c| c.describe(id)).unwrap_or_else(|| id.clone());
            let lower = message.to_lowercase();
            if OFF_SCREEN.iter().any(|w| lower.contains(w)) {
                format!("field {field} is not on the {screen} of {issue}")
            } else if lower.contains("required") || lower.contains("must specify") {
                format!("field {field} is required by the {screen} of {issue} and has no value")
            } else {
                format!("field {field} has a value the {screen} of {issue} does not accept")
            }
        })
        .collect();
    format!("on {}: {}", ctx.site, words.join("; "))
}

/// The action as "the technical user may not ..." ends.
fn verb(ctx: &Context<'_>) -> String {
    let key = ctx.key.unwrap_or("the issue");
    match ctx.action {
        Action::Create => format!("create {} issues", issue_words(&Context { key: None, ..*ctx })),
        Action::Edit => format!("edit {key}"),
        Action::Transition { name, .. } => format!("transition {key} ('{name}')"),
        Action::AddComment => format!("comment on {key}"),
        Action::EditComment => format!("edit the comments of {key}"),
    }
}

fn status_words(err: &JiraError, ctx: &Context<'_>) -> Option<String> {
    let site = ctx.site;
    let words = match (err.status()?, ctx.action) {
        (401, _) => format!("{site} refused the credentials; check the instance's auth settings"),
        (403, _) => format!("the technical user may not {} on {site}", verb(ctx)),
        (404, Action::Create) => {
            format!("project {} does not exist on {site} or the technical user cannot see it", ctx.project?)
        }
        (404, _) => format!("{} does not exist on {site} or the technical user cannot see it", ctx.key?),
        (409, _) => format!("a conflicting update to {} on {site}", issue_words(ctx)),
        (413, _) => format!("{} has reached a per-issue limit on {site} (comments, links, ...)", issue_words(ctx)),
        (400, Action::Transition { name, from, to }) => {
            format!("transition '{name}' of {} from '{from}' to '{to}' was refused on {site}", issue_words(ctx))
        }
        (400, Action::AddComment | Action::EditComment) => {
            format!("the comment on {} was refused on {site}", ctx.key.unwrap_or("the issue"))
        }
        _ => return None,
    };
    Some(words)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jira::ErrorKind;
    use crate::jira::model::FieldInfo;

    fn catalogue() -> FieldCatalogue {
        let f = |id: &str, name: &str| FieldInfo { id: id.into(), name: name.into(), custom: true, schema: None };
        FieldCatalogue::new("emea", vec![f("customfield_10016", "Story Points"), f("resolution", "Resolution")])
    }

    fn error(status: u16, call: &str, body: &str) -> JiraError {
        let mut e = JiraError::new(ErrorKind::Status(status), call);
        e.read_body(body.as_bytes());
        e
    }

    fn edit<'a>() -> Context<'a> {
        Context {
            site: "emea",
            action: Action::Edit,
            key: Some("EMEA-5"),
            project: Some("EMEA"),
            issue_type: Some("Story"),
        }
    }

    #[test]
    fn a_field_off_the_edit_screen() {
        let e = error(
            400,
            "PUT /rest/api/3/issue/EMEA-5",
            r#"{"errorMessages":[],"errors":{"customfield_10016":"Field 'customfield_10016' cannot be set. It is not on the appropriate screen, or unknown."}}"#,
        );
        let e = explain(e, &edit(), Some(&catalogue()));
        assert_eq!(
            e.detail.as_deref(),
            Some("on emea: field customfield_10016 'Story Points' is not on the edit screen of EMEA Story (EMEA-5)")
        );
        insta::assert_snapshot!(e.to_string());
    }

    #[test]
    fn fields_on_create_without_a_catalogue() {
        let e = error(
            400,
            "POST /rest/api/3/issue",
            r#"{"errors":{"customfield_10016":"Number value expected","summary":"You must specify a summary of the issue. It is required."}}"#,
        );
        let ctx = Context { action: Action::Create, key: None, ..edit() };
        insta::assert_snapshot!(explain(e, &ctx, None).to_string());
    }

    #[test]
    fn a_transition_screen_field_and_a_refused_transition() {
        let ctx = Context { action: Action::Transition { name: "Done", from: "In Review", to: "Done" }, ..edit() };
        let call = "POST /rest/api/3/issue/EMEA-5/transitions";
        let e = error(400, call, r#"{"errors":{"resolution":"Resolution is required."}}"#);
        insta::assert_snapshot!("transition_field", explain(e, &ctx, Some(&catalogue())).to_string());
        let e = error(400, call, r#"{"errorMessages":["Transition id '31' is not valid for this issue."]}"#);
        insta::assert_snapshot!("transition_refused", explain(e, &ctx, None).to_string());
    }

    #[test]
    fn comments_permissions_and_missing_issues() {
        let ctx = Context { action: Action::AddComment, project: None, issue_type: None, ..edit() };
        let e = error(
            403,
            "POST /rest/api/3/issue/EMEA-5/comment",
            r#"{"errorMessages":["You do not have the permission to comment on this issue."]}"#,
        );
        insta::assert_snapshot!("comment_forbidden", explain(e, &ctx, None).to_string());
        let e = error(
            400,
            "POST /rest/api/3/issue/EMEA-5/comment",
            r#"{"errorMessages":["Comment body can not be empty!"]}"#,
        );
        insta::assert_snapshot!("comment_refused", explain(e, &ctx, None).to_string());
        let e = error(
            404,
            "PUT /rest/api/3/issue/EMEA-5",
            r#"{"errorMessages":["Issue does not exist or you do not have permission to see it."]}"#,
        );
        insta::assert_snapshot!("edit_not_found", explain(e, &edit(), None).to_string());
    }

    #[test]
    fn other_failures_are_left_as_they_are() {
        let e = JiraError::new(ErrorKind::Timeout, "PUT /rest/api/3/issue/EMEA-5");
        assert_eq!(explain(e.clone(), &edit(), None), e);
        let e = error(502, "PUT /rest/api/3/issue/EMEA-5", "<html>bad gateway</html>");
        assert_eq!(explain(e.clone(), &edit(), None), e);
    }
}
