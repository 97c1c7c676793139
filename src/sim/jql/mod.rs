//! JQL (Jira Query Language) parsing and evaluation for the Jira simulator.
//!
//! [`parse`] turns a query into a validated [`Query`] or a [`JqlError`] whose
//! message is worded like the entries of Jira's REST `errorMessages`.
//! [`Query::matches`] filters issues described by [`JqlIssue`] under an
//! [`EvalContext`] (now, the caller's time zone, the current user),
//! [`Query::compare`] orders them per ORDER BY, and [`Query::literal_values`]
//! lists the values a query names so the caller can refuse unknown ones.
//!
//! Supported: fields `project`, `issuetype` (`type`), `status`, `key`
//! (`issuekey`), `labels`, `assignee`, `reporter`, `created` (`createdDate`),
//! `updated` (`updatedDate`); operators `= != > >= < <= in, not in, is, is not`
//! as Jira allows them per field; `AND`/`OR`/`NOT` (also `&&`/`||`/`!`) with
//! precedence NOT > AND > OR and parentheses; values bare, quoted (`"…"` or
//! `'…'` with backslash escapes), lists, `EMPTY`/`null`, and the functions
//! `currentUser()`, `now()`, `startOfDay([inc])`, `endOfDay([inc])`;
//! `ORDER BY created|updated|key [ASC|DESC], …`.
//!
//! Semantic choices (detailed in the `eval` and `dates` module docs):
//! * Date `=`/`!=`/`in`/`not in` compare at minute precision; `<`/`>`/… compare
//!   instants, a literal meaning the first instant of its minute.
//! * Date literals and day functions are read in [`EvalContext::tz`]; a
//!   wall-clock time in a DST gap means the end of the gap, an ambiguous one
//!   its earlier occurrence.
//! * `!=` and `not in` never match an EMPTY field, as in Jira.
//! * Without ORDER BY, and to break ties, issues sort by `key ASC` (natural:
//!   EMEA-9 before EMEA-10). An ORDER BY key without ASC/DESC takes Jira's
//!   field default: `created`/`updated` DESC, `key` ASC.
//! * History operators (`WAS`, `CHANGED`), `~`, custom fields and other Jira
//!   functions are not supported and are refused with Jira-style errors.

mod ast;
mod dates;
mod eval;
mod lexer;
mod parser;
mod validate;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_errors;
#[cfg(test)]
mod tests_order;

// The module's public surface; a binary crate embedding it may not use every item.
#[allow(unused_imports)]
pub use ast::{
    Clause, DateExpr, EvalContext, Field, JqlError, JqlIssue, KeyLiteral, Op, Operand, OrderField, OrderKey, Period,
    Query, Value,
};
pub use parser::parse;
