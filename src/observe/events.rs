//! What happened in the engine, for people watching (the demo, tests) and
//! for the audit log: writes done, writes given up, conflicts resolved.

use serde::Serialize;

use crate::mapping;

/// Something that happened, broadcast to whoever subscribed.
#[derive(Debug, Clone)]
pub enum EngineEvent {
    /// A write to Jira succeeded.
    Written { flow: String, instance: String, action: &'static str, key: String, latency_ms: i64 },
    /// A write was given up and dead-lettered.
    DeadLettered { flow: String, instance: String, error: String },
    /// Both sides changed one field; the policy chose.
    Conflict(ConflictRecord),
}

/// A conflict as the audit log and `/status` (`last_conflict`) show it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConflictRecord {
    /// Always `"conflict"`: audit records say what they are.
    pub kind: &'static str,
    pub flow: String,
    /// The field's rule key, or `status`.
    pub field: String,
    /// `primary` or `secondary`: whose value was kept.
    pub winner: String,
    pub secondary_key: String,
    pub primary_key: String,
    /// Both values as found (canonical form).
    pub secondary: mapping::Value,
    pub primary: mapping::Value,
    pub at_ms: i64,
}

impl ConflictRecord {
    /// The record of `note`, resolved in `flow` for the pair of `secondary_key`
    /// and `primary_key` at `at_ms`.
    pub fn new(
        flow: &str,
        note: &mapping::ConflictNote,
        secondary_key: &str,
        primary_key: &str,
        at_ms: i64,
    ) -> ConflictRecord {
        ConflictRecord {
            kind: "conflict",
            flow: flow.to_string(),
            field: note.key.clone(),
            winner: format!("{:?}", note.winner).to_lowercase(),
            secondary_key: secondary_key.to_string(),
            primary_key: primary_key.to_string(),
            secondary: note.secondary.clone(),
            primary: note.primary.clone(),
            at_ms,
        }
    }

    /// The audit log's payload.
    pub fn to_bytes(&self) -> Vec<u8> {
        // A struct of strings and canonical values always serialises.
        serde_json::to_vec(self).unwrap_or_default()
    }
}

/// A write done or given up, as the audit log keeps it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WriteRecord<'a> {
    pub flow: &'a str,
    pub instance: &'a str,
    pub op: &'static str,
    pub key: &'a str,
    /// `ok`, or `dead_letter` when Jira refused it for good.
    pub outcome: &'static str,
    /// From the change being seen to this outcome (ms).
    pub latency_ms: i64,
    /// The change that caused it, when the job says.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cause: Option<&'a crate::sync::job::Cause>,
    /// Jira's own words, for a write given up.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<&'a str>,
}

impl WriteRecord<'_> {
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A conflict on `field` of flow `f`, the primary's value kept.
    pub(crate) fn conflict(field: &str) -> ConflictRecord {
        let note = mapping::ConflictNote {
            key: field.to_string(),
            secondary: mapping::Value::Text("s".into()),
            primary: mapping::Value::Text("p".into()),
            winner: mapping::Site::Primary,
        };
        ConflictRecord::new("f", &note, "EMEA-1", "PORT-1", 7)
    }

    #[test]
    fn records_serialise_as_the_audit_log_has_always_kept_them() {
        let text = String::from_utf8(conflict("summary").to_bytes()).unwrap();
        assert_eq!(
            text,
            r#"{"kind":"conflict","flow":"f","field":"summary","winner":"primary","secondary_key":"EMEA-1","primary_key":"PORT-1","secondary":{"t":"Text","v":"s"},"primary":{"t":"Text","v":"p"},"at_ms":7}"#
        );
        // The names older records have stay, and new ones come after them.
        let cause = crate::sync::job::Cause {
            instance: "emea".into(),
            issue: "EMEA-1".into(),
            via: "webhook".into(),
            by: Some("alice".into()),
        };
        let w = WriteRecord {
            flow: "f",
            instance: "hub",
            op: "create",
            key: "PORT-1",
            outcome: "ok",
            latency_ms: 25,
            cause: Some(&cause),
            error: None,
        };
        assert_eq!(
            String::from_utf8(w.to_bytes()).unwrap(),
            r#"{"flow":"f","instance":"hub","op":"create","key":"PORT-1","outcome":"ok","latency_ms":25,"cause":{"instance":"emea","issue":"EMEA-1","via":"webhook","by":"alice"}}"#
        );
    }
}
