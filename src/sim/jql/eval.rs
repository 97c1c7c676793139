//! Evaluating a [`Query`] against issues: matching, ordering, and listing the
//! literal values a query names.
//!
//! Matching rules (following Jira):
//! * Text comparisons (project, issuetype, status, labels, users) ignore case.
//! * A field is a set of strings: a project is its key and its name, a user is
//!   every identity they go by, labels are the labels. `=`/`in` match when any
//!   string matches; `!=`/`not in` match when the field is not EMPTY and no
//!   string matches (so they never match an EMPTY field).
//! * Dates: `>`, `>=`, `<`, `<=` compare instants (a literal stands for the
//!   first instant of its minute, so `updated > "2024-03-10 10:30"` includes
//!   10:30:00.001). `=`, `!=`, `in`, `not in` compare at minute precision: the
//!   issue's time truncated to the minute against the operand's.
//! * `key` ranges compare issue numbers within the literal's project only.

use std::cmp::Ordering;

use chrono::{DateTime, DurationRound, TimeDelta, Utc};

use super::ast::{Clause, EvalContext, Field, JqlIssue, KeyLiteral, Op, Operand, OrderField, Query, Value};
use super::dates;
use super::validate::key_literal;

impl Query {
    /// Whether `issue` satisfies the query's WHERE part (a query without one
    /// matches everything).
    pub fn matches(&self, issue: &JqlIssue<'_>, ctx: &EvalContext<'_>) -> bool {
        self.clause.as_ref().is_none_or(|clause| clause_matches(clause, issue, ctx))
    }

    /// Orders two issues per ORDER BY. Ties, and queries without ORDER BY
    /// (where Jira promises no particular order), fall back to `key ASC`:
    /// project key, then issue number, so EMEA-9 sorts before EMEA-10.
    pub fn compare(&self, a: &JqlIssue<'_>, b: &JqlIssue<'_>) -> Ordering {
        for key in &self.order_by {
            let ord = match key.field {
                OrderField::Updated => a.updated.cmp(&b.updated),
                OrderField::Created => a.created.cmp(&b.created),
                OrderField::Key => compare_keys(a.key, b.key),
            };
            let ord = if key.descending { ord.reverse() } else { ord };
            if ord != Ordering::Equal {
                return ord;
            }
        }
        compare_keys(a.key, b.key)
    }

    /// Every literal value written for `field` (any of its names, any case),
    /// in query order without repeats, e.g. `"project"` -> `["EMEA", "PORT"]`,
    /// so the caller can refuse unknown values as Jira does. EMPTY and
    /// function calls are not literals. Unknown field names give nothing.
    pub fn literal_values(&self, field: &str) -> Vec<String> {
        let mut out = Vec::new();
        if let (Some(field), Some(clause)) = (Field::from_name(field), &self.clause) {
            collect_literals(clause, field, &mut out);
        }
        out
    }
}

fn collect_literals(clause: &Clause, wanted: Field, out: &mut Vec<String>) {
    match clause {
        Clause::And(parts) | Clause::Or(parts) => {
            for part in parts {
                collect_literals(part, wanted, out);
            }
        }
        Clause::Not(inner) => collect_literals(inner, wanted, out),
        Clause::Cond { field, operand, .. } if *field == wanted => {
            for value in operand_values(operand) {
                let text = match value {
                    Value::Text(t) | Value::Key { text: t, .. } => Some(t),
                    Value::Date { text, .. } => text.as_ref(),
                    Value::Empty | Value::CurrentUser => None,
                };
                if let Some(t) = text
                    && !out.contains(t)
                {
                    out.push(t.clone());
                }
            }
        }
        Clause::Cond { .. } => {}
    }
}

fn operand_values(operand: &Operand) -> &[Value] {
    match operand {
        Operand::Single(v) => std::slice::from_ref(v),
        Operand::List(vs) => vs,
    }
}

fn clause_matches(clause: &Clause, issue: &JqlIssue<'_>, ctx: &EvalContext<'_>) -> bool {
    match clause {
        Clause::And(parts) => parts.iter().all(|c| clause_matches(c, issue, ctx)),
        Clause::Or(parts) => parts.iter().any(|c| clause_matches(c, issue, ctx)),
        Clause::Not(inner) => !clause_matches(inner, issue, ctx),
        Clause::Cond { field, op, operand } => cond_matches(*field, *op, operand, issue, ctx),
    }
}

fn cond_matches(field: Field, op: Op, operand: &Operand, issue: &JqlIssue<'_>, ctx: &EvalContext<'_>) -> bool {
    let values = operand_values(operand);
    match field {
        Field::Created => date_matches(issue.created, op, values, ctx),
        Field::Updated => date_matches(issue.updated, op, values, ctx),
        Field::Key => key_matches(issue.key, issue.id, op, values),
        Field::Project => set_matches(&[issue.project, issue.project_name], op, values, ctx),
        Field::IssueType => set_matches(&[issue.issuetype], op, values, ctx),
        Field::Status => set_matches(&[issue.status], op, values, ctx),
        Field::Labels => set_matches(&strs(issue.labels), op, values, ctx),
        Field::Assignee => set_matches(&strs(issue.assignee.unwrap_or(&[])), op, values, ctx),
        Field::Reporter => set_matches(&strs(issue.reporter.unwrap_or(&[])), op, values, ctx),
    }
}

fn strs(items: &[String]) -> Vec<&str> {
    items.iter().map(String::as_str).collect()
}

fn eq_ci(a: &str, b: &str) -> bool {
    a == b || a.to_lowercase() == b.to_lowercase()
}

/// Whether one string of a text/user field equals `value`.
fn text_value_matches(s: &str, value: &Value, ctx: &EvalContext<'_>) -> bool {
    match value {
        Value::Text(t) => eq_ci(s, t),
        Value::CurrentUser => ctx.current_user.iter().any(|u| eq_ci(s, u)),
        Value::Empty | Value::Key { .. } | Value::Date { .. } => false,
    }
}

/// The shared semantics of set-valued fields (see the module docs).
/// `any_match(v)`: does some element of the field equal `v`.
fn membership(is_empty: bool, op: Op, values: &[Value], any_match: impl Fn(&Value) -> bool) -> bool {
    let hit = || values.iter().any(&any_match);
    let wants_empty = values.contains(&Value::Empty);
    match op {
        Op::Eq | Op::In => hit() || (is_empty && wants_empty),
        Op::NotEq | Op::NotIn => !is_empty && !hit(),
        Op::Is => is_empty,
        Op::IsNot => !is_empty,
        // Validation refuses ordering operators on these fields.
        Op::Gt | Op::Ge | Op::Lt | Op::Le => false,
    }
}

fn set_matches(items: &[&str], op: Op, values: &[Value], ctx: &EvalContext<'_>) -> bool {
    membership(items.is_empty(), op, values, |v| items.iter().any(|s| text_value_matches(s, v, ctx)))
}

fn key_matches(issue_key: &str, issue_id: Option<u64>, op: Op, values: &[Value]) -> bool {
    let parsed = match key_literal(issue_key) {
        Some(KeyLiteral::Key { project, number }) => Some((project, number)),
        _ => None,
    };
    let literal = |v: &Value| match v {
        Value::Key { key: KeyLiteral::Key { project, number }, .. } => Some((project.clone(), *number)),
        _ => None,
    };
    match op {
        Op::Gt | Op::Ge | Op::Lt | Op::Le => values.iter().any(|v| {
            let (Some((ip, inum)), Some((lp, lnum))) = (&parsed, literal(v)) else {
                return false;
            };
            *ip == lp && compare_op(op, inum.cmp(&lnum))
        }),
        _ => membership(false, op, values, |v| match (&parsed, literal(v)) {
            (Some(issue), Some(lit)) => *issue == lit,
            _ => matches!(v, Value::Key { key: KeyLiteral::Id(id), .. } if Some(*id) == issue_id),
        }),
    }
}

fn compare_op(op: Op, ord: Ordering) -> bool {
    match op {
        Op::Gt => ord == Ordering::Greater,
        Op::Ge => ord != Ordering::Less,
        Op::Lt => ord == Ordering::Less,
        Op::Le => ord != Ordering::Greater,
        _ => false,
    }
}

fn truncate_minute(t: DateTime<Utc>) -> DateTime<Utc> {
    t.duration_trunc(TimeDelta::minutes(1)).unwrap_or(t)
}

fn date_matches(at: DateTime<Utc>, op: Op, values: &[Value], ctx: &EvalContext<'_>) -> bool {
    let instant = |v: &Value| match v {
        Value::Date { expr, .. } => dates::resolve(expr, ctx),
        _ => None,
    };
    match op {
        Op::Gt | Op::Ge | Op::Lt | Op::Le => {
            values.iter().any(|v| instant(v).is_some_and(|lit| compare_op(op, at.cmp(&lit))))
        }
        Op::NotEq if values.iter().all(|v| instant(v).is_none()) => false,
        _ => {
            let minute = truncate_minute(at);
            membership(false, op, values, |v| instant(v).is_some_and(|lit| truncate_minute(lit) == minute))
        }
    }
}

/// Natural issue-key order: project key (case-insensitively), then number.
/// Keys that do not look like `PROJ-123` sort after those that do, by text.
pub(super) fn compare_keys(a: &str, b: &str) -> Ordering {
    let split = |k: &str| match key_literal(k) {
        Some(KeyLiteral::Key { project, number }) => Some((project, number)),
        _ => None,
    };
    match (split(a), split(b)) {
        (Some(x), Some(y)) => x.cmp(&y),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => a.cmp(b),
    }
}
