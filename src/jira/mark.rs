//! The provenance mark of a mirror: how jirafed recognises an issue it
//! created, so that a create whose answer was lost is found again instead of
//! made twice. The mark is one text, carried twice on the mirror: as a label
//! (searchable with JQL on every flavour) and as the entity property
//! [`ORIGIN_PROPERTY`]. Labels that start with [`MARK_PREFIX`] are jirafed's
//! own: they are not content, so comparisons leave them out and label writes
//! keep them.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Entity property that carries a mirror's provenance (`{"mark": "..."}`).
pub const ORIGIN_PROPERTY: &str = "jirafed.origin";

/// The prefix of every label jirafed puts on an issue.
pub const MARK_PREFIX: &str = "jirafed-";

/// Label put on a mirror whose source is gone (`on_delete = "label"`).
pub const SOURCE_DELETED_LABEL: &str = "jirafed-source-deleted";

/// The label of an issue whose pair was severed by `on_delete = "sever"`.
pub const SEVERED_LABEL: &str = "jirafed-severed";

/// A mirror's provenance mark: a label safe in JQL, unique per source issue
/// and flow.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Mark(String);

impl Mark {
    /// The mark of the mirror of `issue_id` on `instance`, made by `flow`.
    pub fn of(flow: &str, instance: &str, issue_id: &str) -> Mark {
        Mark(format!("{MARK_PREFIX}{flow}-{instance}-{issue_id}"))
    }

    /// A mark as stored earlier (an outbox entry, a label read back).
    pub fn from_label(label: impl Into<String>) -> Mark {
        Mark(label.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Puts the mark into a list of labels that will replace an issue's
    /// labels, so that the write does not remove it.
    pub fn keep_in(&self, labels: &mut Vec<String>) {
        if !labels.iter().any(|l| l == &self.0) {
            labels.push(self.0.clone());
        }
    }
}

impl fmt::Display for Mark {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Mark {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Mark({:?})", self.0)
    }
}

/// A label jirafed put there (a mark, or [`SOURCE_DELETED_LABEL`]).
pub fn is_mark(label: &str) -> bool {
    label.starts_with(MARK_PREFIX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mark_names_flow_site_and_issue_and_is_kept_once() {
        let m = Mark::of("emea-delivery", "emea", "10042");
        assert_eq!(m.as_str(), "jirafed-emea-delivery-emea-10042");
        assert!(is_mark(m.as_str()) && is_mark(SOURCE_DELETED_LABEL) && !is_mark("backend"));
        let mut labels = vec!["backend".to_string()];
        m.keep_in(&mut labels);
        m.keep_in(&mut labels);
        assert_eq!(labels, ["backend", "jirafed-emea-delivery-emea-10042"]);
        assert_eq!(serde_json::to_string(&m).unwrap(), "\"jirafed-emea-delivery-emea-10042\"");
    }
}
