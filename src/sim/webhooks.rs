//! Webhooks out: which registrations an event goes to, and a delivery worker
//! that posts them with Jira's headers and HMAC signature, retrying on
//! 408/409/425/429/5xx and connection failures with backoff.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use hmac::{Hmac, Mac};
use sha2::Sha256;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::model::SiteData;
use super::ops::Event;
use super::query;
use super::state::Site;

/// One webhook request to make (and retry).
#[derive(Clone)]
pub struct Delivery {
    pub url: String,
    pub secret: Option<String>,
    pub body: Vec<u8>,
    pub identifier: String,
    /// `Primary` for the event itself, `Secondary` for those that follow
    /// from it (a deleted issue's links and comments).
    pub flow: &'static str,
}

impl std::fmt::Debug for Delivery {
    // The secret stays out of logs and panics.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Delivery")
            .field("url", &self.url)
            .field("secret", &self.secret.as_ref().map(|_| "***"))
            .field("identifier", &self.identifier)
            .field("flow", &self.flow)
            .finish_non_exhaustive()
    }
}

/// `sha256=<hex>` of the body under `secret`, as Jira signs.
pub fn signature(secret: &str, body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// The deliveries an event list causes: registrations listening to the
/// event whose JQL filter (if any) matches the issue.
pub fn matching_deliveries(site: &SiteData, events: &[Event]) -> Vec<Delivery> {
    let mut out = Vec::new();
    let mut primary_seen = false;
    for e in events {
        let flow = if e.name == "jira:issue_deleted" || !primary_seen { "Primary" } else { "Secondary" };
        primary_seen |= e.name == "jira:issue_deleted";
        let body = match serde_json::to_vec(&e.body) {
            Ok(b) => b,
            Err(_) => continue,
        };
        for reg in &site.webhooks {
            if !reg.events.iter().any(|x| x == e.name || x == "*") {
                continue;
            }
            if let (Some(q), Some(id)) = (&reg.jql, e.issue_id) {
                if !query::issue_matches(site, q, id) {
                    continue;
                }
            }
            out.push(Delivery {
                url: reg.url.clone(),
                secret: reg.secret.clone(),
                body: body.clone(),
                identifier: uuid::Uuid::new_v4().to_string(),
                flow,
            });
        }
    }
    out
}

/// Delivery settings.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub base: Duration,
    pub retries: u32,
}

fn retriable(status: u16) -> bool {
    matches!(status, 408 | 409 | 425 | 429) || status >= 500
}

/// Runs until cancelled, delivering each queued webhook in its own task.
pub async fn worker(
    site: Arc<Site>,
    mut rx: mpsc::UnboundedReceiver<Delivery>,
    policy: RetryPolicy,
    cancel: CancellationToken,
) {
    let client = match reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .connect_timeout(Duration::from_secs(5))
        .user_agent("Atlassian Webhook HTTP Client")
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(site = %site.name, error = %e, "cannot build the webhook client");
            return;
        }
    };
    loop {
        let d = tokio::select! {
            _ = cancel.cancelled() => return,
            d = rx.recv() => match d { Some(d) => d, None => return },
        };
        let (site, client, cancel) = (site.clone(), client.clone(), cancel.clone());
        tokio::spawn(async move {
            tokio::select! {
                _ = cancel.cancelled() => {}
                _ = deliver(&site, &client, &d, policy) => {}
            }
        });
    }
}

async fn deliver(site: &Site, client: &reqwest::Client, d: &Delivery, policy: RetryPolicy) {
    for attempt in 0..=policy.retries {
        let mut req = client
            .post(&d.url)
            .header("content-type", "application/json")
            .header("X-Atlassian-Webhook-Identifier", &d.identifier)
            .header("X-Atlassian-Webhook-Flow", d.flow)
            .body(d.body.clone());
        if attempt > 0 {
            req = req.header("X-Atlassian-Webhook-Retry", attempt.to_string());
        }
        if let Some(secret) = &d.secret {
            req = req.header("X-Hub-Signature", signature(secret, &d.body));
        }
        let outcome = req.send().await.map(|r| r.status().as_u16());
        match outcome {
            Ok(s) if (200..300).contains(&s) => {
                site.stats.delivered.fetch_add(1, Ordering::Relaxed);
                return;
            }
            Ok(s) if !retriable(s) => break,
            _ if attempt == policy.retries => break,
            _ => {
                site.stats.retried.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(policy.base * 2u32.saturating_pow(attempt)).await;
            }
        }
    }
    site.stats.failed.fetch_add(1, Ordering::Relaxed);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atlassians_test_vector() {
        assert_eq!(
            signature("It's a Secret to Everybody", b"Hello World!"),
            "sha256=a4771c39fbe90f317c7824e83ddef3caae9cb3d976c214ace1f2937e133263c9"
        );
    }
}
