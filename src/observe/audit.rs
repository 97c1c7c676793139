//! The audit log read back for people (the status page's latest writes).
//! Records are read tolerantly: fields added to them later are ignored,
//! fields they lack are absent, and a record of an unknown kind is skipped.

use serde::Deserialize;

use crate::store::AuditEntry;

/// One audit record as the status page shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditLine {
    pub at_ms: i64,
    pub flow: String,
    /// The instance written to (for a conflict: the side whose value was kept).
    pub instance: String,
    /// The write (`create`, `edit`, ...), or `conflict on <field>`.
    pub op: String,
    /// The issue written, or for a conflict the pair.
    pub key: String,
    /// How the write ended, when the record says (`ok`, `failed`...).
    pub outcome: Option<String>,
}

/// The union of the records' fields; each optional.
#[derive(Deserialize)]
struct Raw {
    kind: Option<String>,
    flow: Option<String>,
    instance: Option<String>,
    op: Option<String>,
    key: Option<String>,
    outcome: Option<String>,
    field: Option<String>,
    winner: Option<String>,
    secondary_key: Option<String>,
    primary_key: Option<String>,
    cause: Option<RawCause>,
}

#[derive(Deserialize)]
struct RawCause {
    issue: Option<String>,
}

/// Whether an audit record is about `issue` (any key it names: the issue
/// written, either side of a conflict's pair, the issue whose change caused
/// the write) and in `flow`; `None` matches anything. A payload that is not
/// a record matches only when nothing is asked (`jirafed audit`'s filter).
pub fn matches(payload: &[u8], issue: Option<&str>, flow: Option<&str>) -> bool {
    let Ok(raw) = serde_json::from_slice::<Raw>(payload) else { return issue.is_none() && flow.is_none() };
    if flow.is_some_and(|f| raw.flow.as_deref() != Some(f)) {
        return false;
    }
    let Some(issue) = issue else { return true };
    let cause = raw.cause.and_then(|c| c.issue);
    [raw.key, raw.secondary_key, raw.primary_key, cause].iter().flatten().any(|k| k.eq_ignore_ascii_case(issue))
}

impl AuditLine {
    /// The line of `entry`; `None` for a payload that is not a record we know.
    pub fn parse(entry: &AuditEntry) -> Option<AuditLine> {
        let raw: Raw = serde_json::from_slice(&entry.payload).ok()?;
        let flow = raw.flow?;
        match raw.kind.as_deref() {
            Some("conflict") => Some(AuditLine {
                at_ms: entry.at_ms,
                flow,
                instance: raw.winner.map(|w| format!("{w} kept")).unwrap_or_default(),
                op: format!("conflict on {}", raw.field.unwrap_or_default()),
                key: format!("{} / {}", raw.secondary_key.unwrap_or_default(), raw.primary_key.unwrap_or_default()),
                outcome: None,
            }),
            None | Some("write") => Some(AuditLine {
                at_ms: entry.at_ms,
                flow,
                instance: raw.instance?,
                op: raw.op?,
                key: raw.key.unwrap_or_default(),
                outcome: raw.outcome,
            }),
            Some(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observe::WriteRecord;
    use crate::observe::events::tests::conflict;

    fn entry(payload: Vec<u8>) -> AuditEntry {
        AuditEntry { seq: 1, at_ms: 42, payload }
    }

    #[test]
    fn writes_and_conflicts_read_back_and_new_fields_are_ignored() {
        let w = WriteRecord {
            flow: "f",
            instance: "hub",
            op: "create",
            key: "PORT-1",
            outcome: "ok",
            latency_ms: 3,
            cause: None,
            error: None,
        };
        let line = AuditLine::parse(&entry(w.to_bytes())).unwrap();
        assert_eq!((line.at_ms, line.flow.as_str(), line.instance.as_str()), (42, "f", "hub"));
        assert_eq!((line.op.as_str(), line.key.as_str(), line.outcome.as_deref()), ("create", "PORT-1", Some("ok")));

        let extended = br#"{"flow":"f","instance":"emea","op":"edit","key":"EMEA-2","outcome":"ok","latency_ms":5,"cause":{"webhook":1}}"#;
        let line = AuditLine::parse(&entry(extended.to_vec())).unwrap();
        assert_eq!((line.op.as_str(), line.outcome.as_deref()), ("edit", Some("ok")));

        let line = AuditLine::parse(&entry(conflict("summary").to_bytes())).unwrap();
        assert_eq!(
            (line.op.as_str(), line.key.as_str(), line.instance.as_str()),
            ("conflict on summary", "EMEA-1 / PORT-1", "primary kept")
        );

        assert_eq!(AuditLine::parse(&entry(b"not json".to_vec())), None);
        assert!(matches(b"not json", None, None) && !matches(b"not json", Some("X-1"), None));
        let c = conflict("summary").to_bytes();
        assert!(matches(&c, Some("port-1"), Some("f")) && matches(&c, Some("EMEA-1"), None));
        assert!(!matches(&c, Some("EMEA-1"), Some("other")) && !matches(&c, Some("EMEA-2"), None));
        assert!(matches(extended, Some("EMEA-2"), Some("f")), "the written key");
        let caused = br#"{"flow":"f","instance":"hub","op":"create","key":"PORT-9","cause":{"issue":"EMEA-7"}}"#;
        assert!(matches(caused, Some("EMEA-7"), None), "the cause's issue");
        assert_eq!(AuditLine::parse(&entry(br#"{"kind":"later","flow":"f"}"#.to_vec())), None);
    }
}
