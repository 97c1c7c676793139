//! The structural cases: which real payload is compared with which of ours, and the paths ours may lack, each
//! group with the reason.

use crate::support::shape::ShapeOptions;

/// One structural comparison: a real payload (`file[#path]` under `shared/jira-reference`, path as in `select`),
/// ours (`name[#path]` as kept by the scenario), and the paths ours may lack (`optional`) or that are not compared.
pub struct Case {
    pub real: String,
    pub ours: String,
    optional: Vec<String>,
    ignore: Vec<String>,
}

fn case(real: impl Into<String>, ours: &str) -> Case {
    Case { real: real.into(), ours: ours.into(), optional: Vec::new(), ignore: Vec::new() }
}

/// One of Atlassian's Cloud examples, by method, path and status: `GET_issue_issueIdOrKey_200`.
fn example(name: &str) -> String {
    format!("rest/atlassian-spec-examples/cloud-v3_{name}.json")
}

/// mattermost's legacy createmeta captures.
const CLOUD_META: &str = "cloud-get-create-issue-metadata-for-project";
const CLOUD_META_MANY: &str = "cloud-get-create-issue-metadata-for-project-many-fields";
const SERVER_META: &str = "server-get-create-issue-metadata-for-project";

/// Every field entry of a legacy createmeta capture.
fn createmeta_entries(capture: &str) -> String {
    format!("rest/mattermost/{capture}.json#projects/*/issuetypes/*/fields/*")
}

/// The entry of `field` for the first issue type of a legacy createmeta capture.
fn createmeta_entry(capture: &str, field: &str) -> String {
    format!("rest/mattermost/{capture}.json#projects/0/issuetypes/0/fields/{field}")
}

impl Case {
    fn optional(mut self, groups: &[&[&str]]) -> Case {
        self.optional.extend(groups.iter().flat_map(|g| g.iter().map(|p| p.to_string())));
        self
    }

    fn ignore(mut self, groups: &[&[&str]]) -> Case {
        self.ignore.extend(groups.iter().flat_map(|g| g.iter().map(|p| p.to_string())));
        self
    }

    pub fn options(&self) -> ShapeOptions {
        ShapeOptions { optional: self.optional.clone(), ignore: self.ignore.clone() }
    }

    /// Issue fields the simulator does not have, wherever an issue sits in the payload.
    fn without(self, fields: &[&str]) -> Case {
        let patterns: Vec<String> =
            fields.iter().flat_map(|f| [format!("*fields.{f}"), format!("*renderedFields.{f}")]).collect();
        let borrowed: Vec<&str> = patterns.iter().map(String::as_str).collect();
        let mut case = self.optional(&[&borrowed]);
        // The captured sites' own custom fields: their ids mean other things here.
        case.ignore.extend(["*fields.customfield_*".to_string(), "*renderedFields.customfield_*".to_string()]);
        case
    }
}

/// Issue fields of features the simulator leaves out: time tracking and work logs, attachments, votes, versions,
/// security levels, environment, view history, status-category dates, Cloud's development panel and issue
/// restrictions.
const NOT_SIMULATED: &[&str] = &[
    "aggregateprogress",
    "aggregatetimeestimate",
    "aggregatetimeoriginalestimate",
    "aggregatetimespent",
    "progress",
    "timeestimate",
    "timeoriginalestimate",
    "timespent",
    "timetracking",
    "workratio",
    "worklog",
    "attachment",
    "votes",
    "fixVersions",
    "versions",
    "security",
    "environment",
    "lastViewed",
    "statuscategorychangedate",
    "development",
    "issuerestriction",
];

/// Values Jira leaves out or nulls when unset, set in the capture and not in ours (Jira sends `assignee: null`,
/// webhook-issue-updated-assigned-nobody), or only present when configured (component descriptions).
const UNSET: &[&str] = &["*fields.assignee", "*fields.description", "*fields.parent", "*components[].description"];

/// Cloud removed user `name` and `key` in 2019 (GDPR); the older Cloud captures still carry them.
const CLOUD_USER_NAMES: &[&str] = &[
    "*user.name",
    "*user.key",
    "*author.name",
    "*author.key",
    "*Author.name",
    "*Author.key",
    "*assignee.name",
    "*assignee.key",
    "*reporter.name",
    "*reporter.key",
    "*creator.name",
    "*creator.key",
    "*lead.name",
    "*lead.key",
];

/// Cloud-only keys in the mobitel REST captures, which come from a site whose users have `accountId` (a Data
/// Center user has `name` and `key`, as the DC webhooks here show), plus Jira Service Management's comment flag.
const CLOUD_KEYS_IN_DC_CAPTURES: &[&str] = &[
    "*accountId",
    "*accountType",
    "*.tmpFromAccountId",
    "*.tmpToAccountId",
    "*jsdPublic",
    "*simplified",
    "*style",
    "*isPrivate",
    "changelog.items[].fieldId",
];

/// Keys the mobitel webhook logger added (`level`, `message`, `label`) or overwrote (`timestamp`, a string there;
/// Jira sends epoch milliseconds).
const MOBITEL_LOGGER: &[&str] = &["level", "message", "label"];

/// Atlassian's issue example (GET issue, old GET search) invents `watcher`, `sub-tasks`, a `comment` array and a
/// numeric `updated`; the captured issues (airbyte, mobitel) have `watches`, `subtasks`, a comment page and a
/// timestamp, which the other cases compare. Its project carries the `insight` expansion and a category.
const SPEC_ISSUE_EXAMPLE_OPTIONAL: &[&str] =
    &["*fields.watcher", "*fields.sub-tasks", "*project.insight", "*project.projectCategory", "*project.style"];
const SPEC_ISSUE_EXAMPLE_INVENTED: &[&str] = &["*fields.comment", "*fields.updated"];

/// Atlassian's transition examples (Cloud, and the copies in go-jira and mobitel) show a custom multi-select on
/// the screen with string `allowedValues` and a default; ours is the system resolution field, whose allowed values
/// are objects as in the mattermost createmeta captures. The screen (`fields`) is keyed by field id, so its
/// entries are compared on their own.
const SCREEN_ENTRIES: &str = "#transitions/*/fields/*";
const SCREEN_ENTRIES_OURS: &str = "transitions_review#transitions/*/fields/*";
const TRANSITION_EXAMPLE_FIELD: &[&str] =
    &["[].defaultValue", "[].schema.custom", "[].schema.customId", "[].schema.items"];

/// Fields of the captured screens the simulator does not put on its edit screen: links and comments are written
/// through their own resources, the rest are not simulated.
const EDITMETA_NOT_SIMULATED: &[&str] =
    &["fields.environment", "fields.attachment", "fields.issuelinks", "fields.comment", "fields.customfield_*"];

/// Airbyte added `projectId`, `projectKey`, `created` and `updated` to each issue it captured (alone or listed).
const AIRBYTE: &[&str] =
    &["projectId", "projectKey", "created", "updated", "[].projectId", "[].projectKey", "[].created", "[].updated"];

/// Team-managed projects' issue types carry `entityId` and `scope`; ours are company-managed.
const TEAM_MANAGED_TYPES: &[&str] = &["*.issuetype.entityId", "*.issuetype.scope"];

/// `httpStatusCode` comes from some newer Cloud services only; the classic ErrorCollection has two keys.
const STATUS_CODE: &[&str] = &["httpStatusCode"];

/// Project details only present when configured (URL, e-mail, category, component leads and assignees).
const PROJECT_UNSET: &[&str] = &[
    "url",
    "email",
    "projectCategory",
    "components[].lead",
    "components[].assignee",
    "components[].realAssignee",
    "components[].description",
];

/// mobitel's captured issuelink_created (its `issueLink` is the same in issuelink_deleted) against ours.
fn link_hook(ours: &str) -> Case {
    case("webhooks/mobitel/issuelink-created.json", ours).optional(&[MOBITEL_LOGGER]).ignore(&[&["timestamp"]])
}

pub fn cloud_cases() -> Vec<Case> {
    let webhook_issue =
        |real: &str, ours: &str| case(real, ours).without(NOT_SIMULATED).optional(&[UNSET, CLOUD_USER_NAMES]);
    vec![
        case(example("GET_issue_issueIdOrKey_200"), "issue")
            .without(NOT_SIMULATED)
            .optional(&[SPEC_ISSUE_EXAMPLE_OPTIONAL])
            .ignore(&[SPEC_ISSUE_EXAMPLE_INVENTED]),
        case("rest/airbyte/issues.json#issues/0", "issue").without(NOT_SIMULATED).optional(&[UNSET]).ignore(&[AIRBYTE]),
        case("rest/airbyte/issues.json#issues", "search#issues")
            .without(NOT_SIMULATED)
            .optional(&[UNSET])
            .ignore(&[AIRBYTE]),
        // The removed GET /search shape, compared only for its `issues` elements.
        case(example("GET_search_200") + "#issues", "search#issues")
            .without(NOT_SIMULATED)
            .optional(&[UNSET, SPEC_ISSUE_EXAMPLE_OPTIONAL])
            .ignore(&[SPEC_ISSUE_EXAMPLE_INVENTED]),
        case(example("GET_issue_createmeta_projectIdOrKey_issuetypes_200"), "createmeta_types"),
        // The legacy createmeta's field entries have the shape of the new endpoint's (which adds `fieldId`).
        // Merged over all fields, their allowed values mix priorities, issue types and options: those are
        // compared per field below.
        case(createmeta_entries(CLOUD_META), "createmeta_fields#fields")
            .ignore(&[&["[].allowedValues", "[].defaultValue"]]),
        case(createmeta_entries(CLOUD_META_MANY), "createmeta_fields#fields")
            .ignore(&[&["[].allowedValues", "[].defaultValue"]]),
        case(createmeta_entry(CLOUD_META, "priority"), "createmeta_fields#fields/fieldId=priority")
            .optional(&[&["defaultValue"]]),
        case(createmeta_entry(CLOUD_META, "issuetype"), "createmeta_fields#fields/fieldId=issuetype"),
        case(createmeta_entry(CLOUD_META, "labels"), "createmeta_fields#fields/fieldId=labels"),
        case(createmeta_entry(CLOUD_META, "components"), "createmeta_fields#fields/fieldId=components"),
        case(createmeta_entry(CLOUD_META, "customfield_10076"), "createmeta_fields#fields/name=Team"),
        case(createmeta_entry(CLOUD_META, "customfield_10072"), "createmeta_fields#fields/name=Story Points"),
        case(createmeta_entry(CLOUD_META, "customfield_10069"), "createmeta_fields#fields/name=Target start"),
        // mobitel's editmeta comes from a site with Cloud users; its entries are the same on both flavours.
        case("rest/mobitel/editmeta.json", "editmeta").optional(&[EDITMETA_NOT_SIMULATED]),
        case("rest/mobitel/editmeta.json#fields/*", "editmeta#fields/*").ignore(&[&["[].allowedValues"]]),
        case("rest/mobitel/editmeta.json#fields/priority", "editmeta#fields/priority"),
        case("rest/jira-cli/transitions.json", "transitions"),
        case(example("GET_issue_issueIdOrKey_transitions_200"), "transitions_review")
            .ignore(&[&["transitions[].fields"]]),
        case(example("GET_issue_issueIdOrKey_transitions_200") + SCREEN_ENTRIES, SCREEN_ENTRIES_OURS)
            .optional(&[TRANSITION_EXAMPLE_FIELD])
            .ignore(&[&["[].allowedValues"]]),
        case("rest/jira-cli/fields.json", "fields"),
        case("rest/jira-cli/issue-link-types.json", "link_types"),
        case(example("GET_issueLinkType_200"), "link_types"),
        // Comment visibility (role or group restrictions) is not simulated.
        case(example("GET_issue_issueIdOrKey_comment_200"), "comments").optional(&[&["comments[].visibility"]]),
        case(example("POST_issue_issueIdOrKey_comment_201"), "comment_added").optional(&[&["visibility"]]),
        case(example("POST_issue_issueIdOrKey_comment_201"), "comment_updated").optional(&[&["visibility"]]),
        // `transition` only when the create request asked for one.
        case(example("POST_issue_201"), "created").optional(&[&["transition"]]),
        case(example("GET_issue_createmeta_projectIdOrKey_issuetypes_400"), "error_400").optional(&[STATUS_CODE]),
        case(example("GET_dashboard_dashboardId_gadget_404"), "error_404"),
        case(example("GET_dashboard_dashboardId_gadget_404"), "error_401"),
        case("rest/airbyte/issues.json#issues/0/fields/reporter", "myself"),
        case("rest/airbyte/issues.json#issues/*/fields/reporter", "users"),
        case("rest/jira-cli/serverinfo.json", "server_info"),
        case(example("GET_mypermissions_200"), "permissions"),
        case("rest/airbyte/issues.json#issues/*/fields/status", "statuses"),
        case("rest/airbyte/issues.json#issues/*/fields/priority", "priorities"),
        case("rest/go-jira/all_resolutions.json", "resolutions"),
        // Project role names differ per site; go-jira's comes from a Server site (lead with `name`/`key`).
        case("rest/go-jira/project.json", "project")
            .optional(&[PROJECT_UNSET, CLOUD_USER_NAMES])
            .ignore(&[&["roles.*"]]),
        case("rest/mobitel/project.json", "project").optional(&[PROJECT_UNSET]).ignore(&[&["roles.*"]]),
        case("rest/mobitel/issuelink.json", "issue_link"),
        case("rest/mobitel/issuelinkRelates.json", "issue_link").optional(&[TEAM_MANAGED_TYPES]),
        // An issue's own link entry names only the other issue.
        case("rest/mobitel/issuelink.json", "issue#fields/issuelinks/0").optional(&[&["inwardIssue"]]),
        // Link webhooks have the same shape on Cloud; the only capture is mobitel's (Server, logger keys added).
        link_hook("hook_link_created"),
        link_hook("hook_link_deleted"),
        webhook_issue("webhooks/mattermost/webhook-cloud-comment-created.json", "hook_comment_created"),
        webhook_issue("webhooks/mattermost/webhook-cloud-comment-created-mention-user.json", "hook_comment_created"),
        webhook_issue("webhooks/mattermost/webhook-cloud-comment-updated.json", "hook_comment_updated"),
        webhook_issue("webhooks/mattermost/webhook-issue-comment-created-indentation.json", "hook_commented"),
        webhook_issue("webhooks/mattermost/webhook-cloud-issue-created-many-fields.json", "hook_created"),
        webhook_issue("webhooks/mattermost/webhook-issue-created-no-description.json", "hook_created_plain"),
        webhook_issue("webhooks/mattermost/webhook-issue-updated-assigned.json", "hook_assigned"),
        webhook_issue("webhooks/mattermost/webhook-issue-assigned-empty-changelog.json", "hook_assigned"),
        webhook_issue("webhooks/mattermost/webhook-issue-updated-edited.json", "hook_edited"),
        webhook_issue("webhooks/mattermost/webhook-issue-updated-raised-priority.json", "hook_priority"),
        webhook_issue("webhooks/mattermost/webhook-issue-updated-lowered-priority.json", "hook_priority"),
        webhook_issue("webhooks/mattermost/webhook-issue-updated-multiple-custom-fields.json", "hook_custom"),
        webhook_issue("webhooks/mattermost/webhook-issue-updated-started-working.json", "hook_started"),
        webhook_issue("webhooks/mattermost/webhook-issue-updated-resolved-one-changelog.json", "hook_resolved"),
        webhook_issue("webhooks/mattermost/webhook-issue-updated-reopened.json", "hook_reopened"),
        webhook_issue("webhooks/mattermost/webhook-issue-updated-reopened-one-changelog.json", "hook_reopened"),
        webhook_issue("webhooks/mattermost/webhook-issue-updated-assigned-nobody.json", "hook_assigned"),
        webhook_issue("webhooks/mattermost/webhook-issue-created-no-relevant-fields.json", "hook_created_plain"),
        webhook_issue("webhooks/mattermost/webhook-issue-created-with-security-level.json", "hook_created_plain"),
        // mattermost's variants without `issue_event_type_name`, from a Cloud site despite their names.
        webhook_issue(
            "webhooks/mattermost/webhook-server-old-issue-updated-no-event-type-assigned.json",
            "hook_assigned",
        ),
        webhook_issue("webhooks/mattermost/webhook-server-old-issue-updated-no-event-type-edited.json", "hook_edited"),
    ]
}

pub fn dc_cases() -> Vec<Case> {
    let webhook_issue = |real: &str, ours: &str| case(real, ours).without(NOT_SIMULATED).optional(&[UNSET]);
    let mobitel_hook = |real: &str, ours: &str| {
        case(real, ours)
            .without(NOT_SIMULATED)
            .optional(&[UNSET, MOBITEL_LOGGER, CLOUD_KEYS_IN_DC_CAPTURES])
            .ignore(&[&["timestamp"]])
    };
    vec![
        case("rest/mobitel/issue-rendered.json", "issue").without(NOT_SIMULATED).optional(&[CLOUD_KEYS_IN_DC_CAPTURES]),
        case("rest/mobitel/project-gens-search-project.json", "search")
            .without(NOT_SIMULATED)
            .optional(&[UNSET, CLOUD_KEYS_IN_DC_CAPTURES]),
        // The captured screen has system fields only; custom fields carry `schema.custom` instead.
        case(createmeta_entries(SERVER_META), "createmeta_fields#values")
            .optional(&[&["[].schema.system"]])
            .ignore(&[&["[].allowedValues", "[].defaultValue"]]),
        case(createmeta_entry(SERVER_META, "priority"), "createmeta_fields#values/fieldId=priority")
            .optional(&[&["defaultValue"]]),
        case(createmeta_entry(SERVER_META, "issuetype"), "createmeta_fields#values/fieldId=issuetype"),
        case(createmeta_entry(SERVER_META, "labels"), "createmeta_fields#values/fieldId=labels"),
        case("rest/mobitel/editmeta.json", "editmeta").optional(&[EDITMETA_NOT_SIMULATED]),
        case("rest/mobitel/editmeta.json#fields/*", "editmeta#fields/*").ignore(&[&["[].allowedValues"]]),
        case("rest/mobitel/editmeta.json#fields/priority", "editmeta#fields/priority"),
        case("rest/mobitel/editmeta.json#fields/issuetype", "editmeta#fields/issuetype"),
        case("rest/go-jira/transitions.json", "transitions").ignore(&[&["transitions[].fields"]]),
        case("rest/mobitel/transitions.json", "transitions_review").ignore(&[&["transitions[].fields"]]),
        case(format!("rest/go-jira/transitions.json{SCREEN_ENTRIES}"), SCREEN_ENTRIES_OURS)
            .optional(&[TRANSITION_EXAMPLE_FIELD])
            .ignore(&[&["[].allowedValues"]]),
        case(format!("rest/mobitel/transitions.json{SCREEN_ENTRIES}"), SCREEN_ENTRIES_OURS)
            .optional(&[TRANSITION_EXAMPLE_FIELD])
            .ignore(&[&["[].allowedValues"]]),
        // go-jira's sample lists system fields only; custom fields carry `schema.custom` instead (jira-cli's).
        case("rest/go-jira/all_fields.json", "fields").optional(&[&["[].schema.system"]]),
        case("rest/jira-cli/fields.json", "fields").optional(&[&["[].schema.system"]]),
        case("rest/jira-cli/issue-link-types.json", "link_types"),
        case(example("GET_issueLinkType_200"), "link_types"),
        // The create answer ({id, key, self}) is the same bean on Data Center.
        case(example("POST_issue_201"), "created").optional(&[&["transition"]]),
        case("rest/mobitel/issue-rendered.json#fields/comment", "comments").optional(&[CLOUD_KEYS_IN_DC_CAPTURES]),
        case("rest/mobitel/issue-rendered.json#fields/comment/comments/0", "comment_added")
            .optional(&[CLOUD_KEYS_IN_DC_CAPTURES]),
        case("rest/mobitel/issue-rendered.json#fields/comment/comments/0", "comment_updated")
            .optional(&[CLOUD_KEYS_IN_DC_CAPTURES]),
        case(example("GET_issue_createmeta_projectIdOrKey_issuetypes_400"), "error_400").optional(&[STATUS_CODE]),
        case(example("GET_dashboard_dashboardId_gadget_404"), "error_404"),
        case(example("GET_dashboard_dashboardId_gadget_404"), "error_401"),
        case("webhooks/mattermost/webhook-server-issue-updated-reopened.json#user", "myself"),
        case("rest/mobitel/watchers.json#watchers", "users"),
        case("rest/jira-cli/serverinfo.json", "server_info"),
        case(example("GET_mypermissions_200"), "permissions"),
        case("rest/mobitel/project-gens-search-project.json#issues/*/fields/status", "statuses"),
        case("rest/mobitel/project-gens-search-project.json#issues/*/fields/priority", "priorities"),
        case("rest/go-jira/all_resolutions.json", "resolutions"),
        case("rest/go-jira/project.json", "project").optional(&[PROJECT_UNSET]).ignore(&[&["roles.*"]]),
        case("rest/mobitel/project.json", "project")
            .optional(&[PROJECT_UNSET, CLOUD_KEYS_IN_DC_CAPTURES])
            .ignore(&[&["roles.*"]]),
        case("rest/mobitel/issuelink.json", "issue_link"),
        case("rest/mobitel/issuelinkRelates.json", "issue_link").optional(&[TEAM_MANAGED_TYPES]),
        case("rest/mobitel/issuelink.json", "issue#fields/issuelinks/0").optional(&[&["inwardIssue"]]),
        link_hook("hook_link_created"),
        mobitel_hook("webhooks/mobitel/issuelink-created_relates.json", "hook_link_created"),
        link_hook("hook_link_deleted"),
        mobitel_hook("webhooks/mobitel/comment-created.json", "hook_comment_created"),
        mobitel_hook("webhooks/mobitel/comment-deleted.json", "hook_comment_deleted"),
        // mobitel's created changelog shows only the Epic Link; ours lists every initial value, with a null `to`
        // for text as mattermost's created changelogs show. The Epic Link item is compared on its own.
        mobitel_hook("webhooks/mobitel/issue-created.json", "hook_created_child")
            .optional(&[&["changelog.items[].to"]]),
        case(
            "webhooks/mobitel/issue-created.json#changelog/items/0",
            "hook_created_child#changelog/items/field=Epic Link",
        ),
        mobitel_hook("webhooks/mobitel/epic-created.json", "hook_created_epic"),
        mobitel_hook("webhooks/mobitel/issue-updated-commented.json", "hook_commented"),
        mobitel_hook("webhooks/mobitel/issue-updated-description-update.json", "hook_edited"),
        mobitel_hook("webhooks/mobitel/issue-updated-issue-assigned.json", "hook_assigned"),
        webhook_issue("webhooks/mattermost/webhook-server-comment-deleted.json", "hook_comment_deleted"),
        webhook_issue("webhooks/mattermost/webhook-server-comment-updated.json", "hook_comment_updated"),
        webhook_issue(
            "webhooks/mattermost/webhook-server-issue-updated-comment-deleted.json",
            "hook_comment_deleted_issue",
        ),
        webhook_issue("webhooks/mattermost/webhook-server-issue-updated-comment-edited.json", "hook_comment_edited"),
        webhook_issue("webhooks/mattermost/webhook-server-issue-updated-commented-1.json", "hook_commented"),
        webhook_issue("webhooks/mattermost/webhook-server-issue-updated-commented-3.json", "hook_commented"),
        webhook_issue("webhooks/mattermost/webhook-server-issue-updated-many-fields.json", "hook_labels"),
        webhook_issue("webhooks/mattermost/webhook-server-issue-updated-reopened.json", "hook_reopened"),
        webhook_issue("webhooks/mattermost/webhook-server-updated-custom-field.json", "hook_custom"),
        // mattermost's variants without `issue_event_type_name` (older Server).
        webhook_issue(
            "webhooks/mattermost/webhook-server-old-issue-updated-no-event-type-comment-edited.json",
            "hook_comment_edited",
        ),
        webhook_issue(
            "webhooks/mattermost/webhook-server-old-issue-updated-no-event-type-comment-deleted.json",
            "hook_comment_deleted_issue",
        ),
    ]
}
