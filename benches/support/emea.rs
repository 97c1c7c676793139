//! The transport benchmarks' site: the simulator's `emea` (Cloud) reached
//! as its technical user, issues made on it, and its counters (included
//! with `#[path]`).

use std::sync::Arc;
use std::time::Duration;

use jirafed::config::{Auth, BaseUrl, Flavour, InstanceConfig, Role, Secret, SecretSource, WebhookAuth, defaults};
use jirafed::ids::InstanceId;
use jirafed::jira::{Call, Transport};
use serde_json::{Value, json};
use tokio::task::JoinSet;

pub const SITE: &str = "emea";

/// `emea` as an instance writing at `writes_per_second`, `burst` at once.
pub fn instance(base: &str, writes_per_second: f64, burst: u32) -> Result<InstanceConfig, String> {
    Ok(InstanceConfig {
        id: InstanceId::new(SITE),
        role: Role::Secondary,
        flavour: Flavour::Cloud,
        url: base.parse::<BaseUrl>().map_err(|e| e.to_string())?,
        auth: Auth::CloudToken {
            email: "sync-bot@example.com".into(),
            token: Secret::new("sim-token"),
            source: SecretSource::Inline,
        },
        webhook_secret: None,
        webhooks: WebhookAuth::Signed,
        response_body_limit: defaults::RESPONSE_BODY_LIMIT,
        writes_per_second,
        burst,
        reads_per_second: defaults::READS_PER_SECOND,
        max_in_flight: defaults::MAX_IN_FLIGHT,
        poll_interval: defaults::POLL_INTERVAL,
        poll_overlap: defaults::POLL_OVERLAP,
        ca_file: None,
        timeout: Duration::from_secs(10),
    })
}

/// `count` stories made on EMEA at once; their keys.
pub async fn create_issues(t: &Arc<Transport>, count: usize) -> Result<Vec<String>, String> {
    let mut set = JoinSet::new();
    for i in 0..count {
        let t = t.clone();
        set.spawn(async move {
            let fields =
                json!({"project": {"key": "EMEA"}, "issuetype": {"name": "Story"}, "summary": format!("bench {i}")});
            let reply =
                t.send(Call::post("/rest/api/3/issue", json!({"fields": fields}))).await.map_err(|e| e.to_string())?;
            let body = reply.json().map_err(|e| e.to_string())?;
            body["key"].as_str().map(str::to_string).ok_or_else(|| format!("no key in {body}"))
        });
    }
    set.join_all().await.into_iter().collect()
}

/// The site's `/_sim/stats`.
pub async fn stats(http: &reqwest::Client, base: &str) -> Result<Value, String> {
    let resp = http.get(format!("{base}/_sim/stats")).send().await.map_err(|e| e.to_string())?;
    resp.json().await.map_err(|e| e.to_string())
}
