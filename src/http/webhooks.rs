//! `POST /webhooks/{instance}`: verify, parse, commit to the inbox, then
//! answer. Nothing is acknowledged before it is durable, and nothing of a
//! refused request reaches the inbox.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use hmac::{Hmac, Mac};
use serde::Serialize;
use sha2::Sha256;

use super::{HttpState, error};
use crate::config::WebhookAuth;
use crate::ids::InstanceId;
use crate::jira::webhook::{self, Subject, WebhookEvent};
use crate::observe::WebhookOutcome;
use crate::sync::change::ChangeSource;
use crate::sync::intake::{self, Accepted};

/// Jira's signature header: `method=hex digest` (WebSub).
const SIGNATURE_HEADER: &str = "x-hub-signature";
/// Jira Cloud's delivery id, the same across retries.
const DELIVERY_HEADER: &str = "x-atlassian-webhook-identifier";

pub(super) async fn receive(
    State(state): State<HttpState>,
    Path(instance): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let config = state.config.get();
    let Some(inst) = config.instance(&instance) else {
        tracing::warn!(instance = %instance, "webhook for an unknown instance");
        return error(StatusCode::NOT_FOUND, format!("no instance named {instance:?} in the config"));
    };
    let id = inst.id.clone();
    let reject = |status: StatusCode, reason: String| {
        tracing::warn!(instance = %id, status = status.as_u16(), reason = %reason, "webhook refused");
        state.observer.metrics.webhook(id.as_str(), WebhookOutcome::Rejected);
        error(status, reason)
    };
    let body = match body {
        Ok(body) => body,
        Err(rejection) => return reject(rejection.status(), rejection.body_text()),
    };
    match (&inst.webhook_secret, inst.webhooks) {
        (Some(secret), _) => {
            let signature = headers.get(SIGNATURE_HEADER).map(|v| v.to_str().unwrap_or(""));
            if let Err(reason) = verify(secret.expose().as_bytes(), signature, &body) {
                return reject(StatusCode::UNAUTHORIZED, reason.to_string());
            }
        }
        (None, WebhookAuth::Unsigned) => {}
        (None, WebhookAuth::Signed) => {
            let reason = format!(
                "instance {id} has no webhook secret, so its webhooks are refused; \
                 set webhook_secret_file (or webhooks = \"unsigned\")"
            );
            return reject(StatusCode::UNAUTHORIZED, reason);
        }
    }
    let event = match webhook::parse(&body) {
        Ok(event) => event,
        Err(e) => return reject(StatusCode::BAD_REQUEST, e.to_string()),
    };
    let now = state.now_ms();
    if event.subject == Subject::Ignored {
        state.observer.board.record_webhook(id.as_str(), now);
        tracing::debug!(instance = %id, event = %event.event, "webhook event not used");
        state.observer.metrics.webhook(id.as_str(), WebhookOutcome::Ignored);
        return (StatusCode::OK, Json(Ignored { ignored: true, event: &event.event })).into_response();
    }
    let header = headers.get(DELIVERY_HEADER).and_then(|v| v.to_str().ok()).map(str::trim).filter(|h| !h.is_empty());
    let key = event.delivery_key(header);
    commit(&state, &id, &event, (&key, header), now).await
}

/// Commits the changes (claiming the delivery id Jira sent, when it sent
/// one) and answers only once the commit is durable.
async fn commit(
    state: &HttpState,
    id: &InstanceId,
    event: &WebhookEvent,
    (key, claim): (&str, Option<&str>),
    now_ms: i64,
) -> Response {
    let name = event.event.as_str();
    let done = match intake::accept(&state.store, id, event, key, claim, now_ms).await {
        Ok(done) => done,
        Err(e) => {
            tracing::error!(instance = %id, event = name, error = %e, "webhook changes could not be committed");
            state.observer.metrics.webhook(id.as_str(), WebhookOutcome::Rejected);
            // 503 makes Jira retry the delivery later.
            return error(StatusCode::SERVICE_UNAVAILABLE, "the inbox could not be written; try again");
        }
    };
    let Accepted { accepted, duplicates, issues, replayed } = done;
    state.observer.board.record_webhook(id.as_str(), now_ms);
    if accepted > 0 {
        state.wake.notify_one();
        state.observer.metrics.changes(id.as_str(), ChangeSource::Webhook.as_str(), accepted);
        state.observer.metrics.webhook(id.as_str(), WebhookOutcome::Accepted);
    } else {
        state.observer.metrics.webhook(id.as_str(), WebhookOutcome::Duplicate);
    }
    // At debug: a line per delivery is most of the CPU a busy intake would
    // spend on logging; the counts are in jirafed_webhooks_total.
    if tracing::enabled!(tracing::Level::DEBUG) {
        let issues: Vec<&str> = issues.iter().map(|i| i.as_str()).collect();
        tracing::debug!(instance = %id, event = name, delivery = key, ?issues, accepted, duplicates, replayed, "webhook received");
    }
    let status = if accepted > 0 { StatusCode::ACCEPTED } else { StatusCode::OK };
    (status, Json(Committed { accepted, duplicates })).into_response()
}

/// The answer to a committed delivery.
#[derive(Serialize)]
struct Committed {
    accepted: u64,
    duplicates: u64,
}

/// The answer to an event jirafed does not use.
#[derive(Serialize)]
struct Ignored<'a> {
    ignored: bool,
    event: &'a str,
}

/// Why a signature was refused. The texts never contain the secret or the
/// expected digest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("X-Hub-Signature is missing")]
    Missing,
    #[error("X-Hub-Signature is not of the form method=hexdigest")]
    Malformed,
    #[error("X-Hub-Signature uses an unsupported method (only sha256 is accepted)")]
    UnsupportedMethod,
    #[error("X-Hub-Signature does not match the body")]
    Mismatch,
}

/// Checks `X-Hub-Signature: <method>=<hex>` over the raw body, in constant
/// time. Jira may add methods later, so the method is parsed, not assumed.
pub fn verify(secret: &[u8], header: Option<&str>, body: &[u8]) -> Result<(), SignatureError> {
    let header = header.map(str::trim).filter(|h| !h.is_empty()).ok_or(SignatureError::Missing)?;
    let (method, digest) = header.split_once('=').ok_or(SignatureError::Malformed)?;
    if !method.trim().eq_ignore_ascii_case("sha256") {
        return Err(SignatureError::UnsupportedMethod);
    }
    let digest = hex::decode(digest.trim()).map_err(|_| SignatureError::Malformed)?;
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).map_err(|_| SignatureError::Mismatch)?;
    mac.update(body);
    mac.verify_slice(&digest).map_err(|_| SignatureError::Mismatch)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"It's a Secret to Everybody";
    const BODY: &[u8] = b"Hello World!";
    /// Atlassian's published test vector.
    const GOOD: &str = "sha256=a4771c39fbe90f317c7824e83ddef3caae9cb3d976c214ace1f2937e133263c9";

    #[test]
    fn atlassians_test_vector_verifies() {
        assert_eq!(verify(SECRET, Some(GOOD), BODY), Ok(()));
        assert_eq!(verify(SECRET, Some(&GOOD.to_uppercase().replace("SHA256", "sha256")), BODY), Ok(()));
    }

    #[test]
    fn bad_signatures_are_refused_with_a_reason() {
        let cases = [
            (None, SignatureError::Missing),
            (Some(""), SignatureError::Missing),
            (Some("a4771c39"), SignatureError::Malformed),
            (Some("sha256=zz"), SignatureError::Malformed),
            (Some("sha1=a4771c39fbe90f317c7824e83ddef3caae9cb3d9"), SignatureError::UnsupportedMethod),
            (Some("sha256=a4771c39fbe90f317c7824e83ddef3caae9cb3d976c214ace1f2937e133263c8"), SignatureError::Mismatch),
            (Some("sha256=a4771c39"), SignatureError::Mismatch),
        ];
        for (header, want) in cases {
            assert_eq!(verify(SECRET, header, BODY), Err(want), "{header:?}");
        }
        assert_eq!(verify(SECRET, Some(GOOD), b"Hello World?"), Err(SignatureError::Mismatch));
        assert_eq!(verify(b"another secret", Some(GOOD), BODY), Err(SignatureError::Mismatch));
    }
}
