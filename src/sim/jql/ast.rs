//! The validated query tree that [`parse`](super::parse) produces, plus the
//! error type and the issue/context views the evaluator works on.

use std::fmt;

use chrono::{DateTime, NaiveDateTime, TimeDelta, Utc};

/// A parsed and validated JQL query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    /// The WHERE part; `None` for empty JQL or a query that is only `ORDER BY ...`.
    pub clause: Option<Clause>,
    /// The ORDER BY keys, in the order written (empty when there is no ORDER BY).
    pub order_by: Vec<OrderKey>,
}

/// One `ORDER BY` key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderKey {
    pub field: OrderField,
    /// `true` for `DESC`. When no direction is written, the field's Jira
    /// default applies: `created`/`updated` sort DESC, `key` sorts ASC.
    pub descending: bool,
}

/// Fields the simulator can sort by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderField {
    Updated,
    Created,
    Key,
}

/// A boolean combination of conditions. `And`/`Or` hold two or more children.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Clause {
    And(Vec<Clause>),
    Or(Vec<Clause>),
    Not(Box<Clause>),
    /// One terminal clause such as `status in (Open, Done)`.
    Cond {
        field: Field,
        op: Op,
        operand: Operand,
    },
}

/// The searchable fields, with their JQL names and aliases.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    /// `project`
    Project,
    /// `issuetype`, alias `type`
    IssueType,
    /// `status`
    Status,
    /// `key`, aliases `issuekey`, `id`, `issue` (a key or a numeric id)
    Key,
    /// `labels`
    Labels,
    /// `assignee`
    Assignee,
    /// `reporter`
    Reporter,
    /// `created`, alias `createdDate`
    Created,
    /// `updated`, alias `updatedDate`
    Updated,
}

impl Field {
    /// Looks a field up by any of its JQL names, case-insensitively.
    pub fn from_name(name: &str) -> Option<Field> {
        let field = match name.to_lowercase().as_str() {
            "project" => Field::Project,
            "issuetype" | "type" => Field::IssueType,
            "status" => Field::Status,
            // Jira's aliases: `id` and `issue` name the same field and take keys or ids.
            "key" | "issuekey" | "id" | "issue" => Field::Key,
            "labels" => Field::Labels,
            "assignee" => Field::Assignee,
            "reporter" => Field::Reporter,
            "created" | "createddate" => Field::Created,
            "updated" | "updateddate" => Field::Updated,
            _ => return None,
        };
        Some(field)
    }

    /// Whether the field's values are dates.
    pub fn is_date(self) -> bool {
        matches!(self, Field::Created | Field::Updated)
    }

    /// Whether the field's values are users.
    pub fn is_user(self) -> bool {
        matches!(self, Field::Assignee | Field::Reporter)
    }
}

/// Comparison operators. `= EMPTY` / `!= EMPTY` are stored as `Is` / `IsNot`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    NotEq,
    In,
    NotIn,
    Gt,
    Ge,
    Lt,
    Le,
    Is,
    IsNot,
}

/// The right-hand side of a condition. Nested lists are flattened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Operand {
    Single(Value),
    List(Vec<Value>),
}

/// One operand value, already interpreted for its field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// `EMPTY` or `null`.
    Empty,
    /// A text value for project, issuetype, status, labels, assignee, reporter.
    Text(String),
    /// A value of the `key` field.
    Key { text: String, key: KeyLiteral },
    /// A value of a date field; `text` is the literal as written, `None` for a function.
    Date { text: Option<String>, expr: DateExpr },
    /// `currentUser()`.
    CurrentUser,
}

/// An issue key literal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyLiteral {
    /// `EMEA-12`: project key (upper-cased) and issue number.
    Key { project: String, number: u64 },
    /// A bare number, which Jira reads as an issue id. Issues in [`JqlIssue`]
    /// carry no id, so such a value matches nothing.
    Id(u64),
}

/// A date operand, resolved against an [`EvalContext`] at evaluation time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateExpr {
    /// `"yyyy-MM-dd HH:mm"` etc.: a wall-clock time in the caller's time zone
    /// (date-only literals are midnight).
    Local(NaiveDateTime),
    /// `-5d`, `"-1w 2d"`, `4h`: an offset from `now`.
    Relative(TimeDelta),
    /// An unquoted integer: milliseconds since the Unix epoch, as in Jira.
    Instant(DateTime<Utc>),
    /// `now()`
    Now,
    /// `startOfDay(inc)`
    StartOfDay(Period),
    /// `endOfDay(inc)`
    EndOfDay(Period),
}

/// A calendar increment for date functions: `(+/-)n(y|M|w|d|h|m)`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Period {
    pub months: i32,
    pub days: i64,
    pub minutes: i64,
}

/// A JQL error; `message` is worded like the entries of Jira's REST
/// `errorMessages` array.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JqlError {
    pub message: String,
}

impl JqlError {
    /// A validation error (no "Error in the JQL Query" prefix).
    pub(super) fn new(message: impl Into<String>) -> Self {
        JqlError { message: message.into() }
    }

    /// A syntax error, prefixed like Jira's and, when known, suffixed with the
    /// 1-based position.
    pub(super) fn syntax(message: impl fmt::Display, pos: Option<Pos>) -> Self {
        let message = match pos {
            Some(p) => format!("Error in the JQL Query: {message} (line {}, character {})", p.line, p.col),
            None => format!("Error in the JQL Query: {message}"),
        };
        JqlError { message }
    }
}

impl fmt::Display for JqlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for JqlError {}

/// A 1-based line and character position in the query text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Pos {
    pub line: usize,
    pub col: usize,
}

/// The view of one issue that the evaluator needs (the simulator fills it).
#[derive(Debug, Clone, Copy)]
pub struct JqlIssue<'a> {
    /// The numeric id (`id = 10001`, `key in (10001)`); `None` in fixtures without one.
    pub id: Option<u64>,
    /// `"EMEA-12"`
    pub key: &'a str,
    /// Project key, `"EMEA"`; `project = X` also matches [`Self::project_name`].
    pub project: &'a str,
    pub project_name: &'a str,
    /// `"Story"`
    pub issuetype: &'a str,
    /// `"In Progress"`
    pub status: &'a str,
    pub labels: &'a [String],
    /// Every identity the assignee can be named by (accountId, name, key,
    /// email, displayName); `None` when unassigned.
    pub assignee: Option<&'a [String]>,
    /// Same as `assignee`, for the reporter.
    pub reporter: Option<&'a [String]>,
    pub created: DateTime<Utc>,
    pub updated: DateTime<Utc>,
}

/// What evaluation needs to know about the caller.
#[derive(Debug, Clone, Copy)]
pub struct EvalContext<'a> {
    /// The instant relative dates and date functions are computed from.
    pub now: DateTime<Utc>,
    /// The caller's time zone: absolute date literals and `startOfDay()` /
    /// `endOfDay()` are read in it.
    pub tz: chrono_tz::Tz,
    /// Every identity of the user `currentUser()` stands for (empty when anonymous).
    pub current_user: &'a [String],
}
