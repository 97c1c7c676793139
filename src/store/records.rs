//! How each record is laid out in its table's value, shared by the writer and
//! the readers. Errors are descriptions of what could not be decoded.

use serde::{Deserialize, Serialize};

use super::model::{
    AuditEntry, DeadLetter, DependencyRecord, EndedPair, InboxEntry, LinkRecord, OutboxEntry, PendingLink,
};
use super::tables::{decode, decode_header, encode};
use crate::mapping::Shadow;

#[derive(Serialize, Deserialize)]
struct InboxHeader {
    instance: String,
    issue: String,
    received_ms: i64,
}

/// The metadata of an outbox entry; the payload follows it in the value.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct OutboxHeader {
    pub(super) instance: String,
    pub(super) target: String,
    pub(super) attempts: u32,
    pub(super) next_at_ms: i64,
    pub(super) last_error: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct DeadHeader {
    entry: OutboxHeader,
    seq: u64,
    error: String,
    at_ms: i64,
}

#[derive(Serialize, Deserialize)]
struct AuditHeader {
    at_ms: i64,
}

fn enc_err(what: &str, e: &serde_json::Error) -> String {
    format!("{what}: cannot encode: {e}")
}

fn dec_err(what: &str, seq: u64, e: &str) -> String {
    format!("{what} {seq}: {e}")
}

/// The value of an inbox entry (its seq is the key).
pub(super) fn inbox_value(instance: &str, issue: &str, received_ms: i64, payload: &[u8]) -> Result<Vec<u8>, String> {
    let header = InboxHeader { instance: instance.to_string(), issue: issue.to_string(), received_ms };
    encode(&header, payload).map_err(|e| enc_err("inbox entry", &e))
}

/// Decodes an inbox entry.
pub(super) fn inbox_entry(seq: u64, bytes: &[u8]) -> Result<InboxEntry, String> {
    let (h, payload) = decode::<InboxHeader>(bytes).map_err(|e| dec_err("inbox entry", seq, &e))?;
    Ok(InboxEntry { seq, instance: h.instance, issue: h.issue, received_ms: h.received_ms, payload })
}

/// The value of an outbox entry (its seq is the key).
pub(super) fn outbox_value(header: &OutboxHeader, payload: &[u8]) -> Result<Vec<u8>, String> {
    encode(header, payload).map_err(|e| enc_err("outbox entry", &e))
}

/// Decodes an outbox entry into its header and payload.
pub(super) fn outbox_parts(seq: u64, bytes: &[u8]) -> Result<(OutboxHeader, Vec<u8>), String> {
    decode::<OutboxHeader>(bytes).map_err(|e| dec_err("outbox entry", seq, &e))
}

/// Decodes only the metadata of an outbox entry.
pub(super) fn outbox_header(seq: u64, bytes: &[u8]) -> Result<OutboxHeader, String> {
    decode_header::<OutboxHeader>(bytes).map_err(|e| dec_err("outbox entry", seq, &e))
}

/// Builds the public outbox entry.
pub(super) fn outbox_entry(seq: u64, h: OutboxHeader, payload: Vec<u8>) -> OutboxEntry {
    OutboxEntry {
        seq,
        instance: h.instance,
        target: h.target,
        attempts: h.attempts,
        next_at_ms: h.next_at_ms,
        payload,
        last_error: h.last_error,
    }
}

/// The value of a dead letter (its id is the key).
pub(super) fn dead_value(
    seq: u64,
    entry: &OutboxHeader,
    error: &str,
    at_ms: i64,
    payload: &[u8],
) -> Result<Vec<u8>, String> {
    let header = DeadHeader { entry: entry.clone(), seq, error: error.to_string(), at_ms };
    encode(&header, payload).map_err(|e| enc_err("dead letter", &e))
}

/// Decodes a dead letter.
pub(super) fn dead_letter(id: u64, bytes: &[u8]) -> Result<DeadLetter, String> {
    let (h, payload) = decode::<DeadHeader>(bytes).map_err(|e| dec_err("dead letter", id, &e))?;
    Ok(DeadLetter { id, entry: outbox_entry(h.seq, h.entry, payload), error: h.error, at_ms: h.at_ms })
}

/// The value of an audit entry (its seq is the key).
pub(super) fn audit_value(at_ms: i64, payload: &[u8]) -> Result<Vec<u8>, String> {
    encode(&AuditHeader { at_ms }, payload).map_err(|e| enc_err("audit entry", &e))
}

/// Decodes an audit entry.
pub(super) fn audit_entry(seq: u64, bytes: &[u8]) -> Result<AuditEntry, String> {
    let (h, payload) = decode::<AuditHeader>(bytes).map_err(|e| dec_err("audit entry", seq, &e))?;
    Ok(AuditEntry { seq, at_ms: h.at_ms, payload })
}

/// The value of a link.
pub(super) fn link_value(link: &LinkRecord) -> Result<Vec<u8>, String> {
    serde_json::to_vec(link).map_err(|e| enc_err("link", &e))
}

/// Decodes a link.
pub(super) fn link_record(id: u64, bytes: &[u8]) -> Result<LinkRecord, String> {
    serde_json::from_slice(bytes).map_err(|e| dec_err("link", id, &e.to_string()))
}

/// The value of a dependency.
pub(super) fn dependency_value(dependency: &DependencyRecord) -> Result<Vec<u8>, String> {
    serde_json::to_vec(dependency).map_err(|e| enc_err("dependency", &e))
}

/// Decodes a dependency; its id is the key's.
pub(super) fn dependency_record(id: u64, bytes: &[u8]) -> Result<DependencyRecord, String> {
    let record: DependencyRecord =
        serde_json::from_slice(bytes).map_err(|e| dec_err("dependency", id, &e.to_string()))?;
    Ok(DependencyRecord { id, ..record })
}

/// The value of a pending link.
pub(super) fn pending_value(pending: &PendingLink) -> Result<Vec<u8>, String> {
    serde_json::to_vec(pending).map_err(|e| enc_err("pending link", &e))
}

/// Decodes a pending link; its id is the key's.
pub(super) fn pending_link(id: u64, bytes: &[u8]) -> Result<PendingLink, String> {
    let record: PendingLink = serde_json::from_slice(bytes).map_err(|e| dec_err("pending link", id, &e.to_string()))?;
    Ok(PendingLink { id, ..record })
}

/// The value of an ended pairing.
pub(super) fn ended_value(ended: &EndedPair) -> Result<Vec<u8>, String> {
    serde_json::to_vec(ended).map_err(|e| enc_err("ended pairing", &e))
}

/// Decodes an ended pairing.
pub(super) fn ended_pair(bytes: &[u8]) -> Result<EndedPair, String> {
    serde_json::from_slice(bytes).map_err(|e| format!("ended pairing: {e}"))
}

/// The value of a shadow.
pub(super) fn shadow_value(value: &Shadow) -> Result<Vec<u8>, String> {
    serde_json::to_vec(value).map_err(|e| enc_err("shadow", &e))
}

/// Decodes a shadow.
pub(super) fn shadow(link: u64, bytes: &[u8]) -> Result<Shadow, String> {
    serde_json::from_slice(bytes).map_err(|e| dec_err("shadow of link", link, &e.to_string()))
}
