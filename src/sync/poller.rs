//! Per instance: every `poll_interval`, search the issues updated since the
//! cursor (minus `poll_overlap`), page to the end, and commit each page's
//! changes to the inbox together with the advanced cursor. JQL dates are
//! minute-precise and read in the technical user's time zone, so the cursor
//! is formatted in that zone (from `/myself`).

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use tokio_util::sync::CancellationToken;

use super::change::{Change, ChangeKind, ChangeSource, version_key};
use super::engine::Engine;
use super::flows::Flows;
use crate::config::FlowConfig;
use crate::ids::InstanceId;
use crate::jira::Site;
use crate::store::Op;

/// Issues asked per search page. Jira answers with fewer where it caps them
/// (Cloud: 100 with fields; Data Center: `jira.search.views.default.max`,
/// 1,000 by default), and paging goes on from what came: after an outage,
/// a poll catches up in few pages.
const PAGE_SIZE: usize = 1_000;
/// Wait after a failed poll before trying again.
const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(5);
/// How often a poller looks again whether the store has recovered.
const STORE_WAIT: Duration = Duration::from_millis(500);

/// The JQL that selects what `instance` contributes: the union of its
/// flows' scopes on a secondary, the mirror projects on the primary.
pub fn scope(flows: &Flows, instance: &InstanceId) -> Option<String> {
    let configs: Vec<&FlowConfig> = flows.iter().map(|f| &f.cfg).collect();
    scope_of(configs.iter().copied(), &flows.primary, instance)
}

/// [`scope`] from the flows' configs alone (what `jirafed webhooks install`
/// registers as the sites' webhook filter, without connecting first).
pub fn scope_of<'a>(
    flows: impl Iterator<Item = &'a FlowConfig> + Clone,
    primary: &InstanceId,
    instance: &InstanceId,
) -> Option<String> {
    if instance == primary {
        let mut projects: Vec<&str> = flows.clone().map(|f| f.primary_project.as_str()).collect();
        projects.sort_unstable();
        projects.dedup();
        let mut parts: Vec<String> = Vec::new();
        if !projects.is_empty() {
            parts.push(format!("(project in ({}))", projects.join(", ")));
        }
        // Issues pushed to secondaries may live in other projects.
        parts.extend(flows.filter_map(|f| f.primary_scope.as_ref()).map(|s| format!("({s})")));
        return (!parts.is_empty()).then(|| parts.join(" OR "));
    }
    let scopes: Vec<String> =
        flows.filter(|f| f.secondary.as_str() == instance.as_str()).map(|f| format!("({})", f.scope)).collect();
    (!scopes.is_empty()).then(|| scopes.join(" OR "))
}

/// `updated >= "yyyy-MM-dd HH:mm"` in the user's zone, rounded down.
pub fn since_clause(cursor_ms: i64, overlap: Duration, tz: Tz) -> String {
    let from = cursor_ms - overlap.as_millis() as i64;
    let t = DateTime::<Utc>::from_timestamp_millis(from).unwrap_or_default().with_timezone(&tz);
    format!("updated >= \"{}\"", t.format("%Y-%m-%d %H:%M"))
}

/// The poll's JQL: the scope, updated since the cursor minus the overlap
/// (in the user's zone), oldest first so the cursor can follow the pages.
pub fn poll_jql(scope: &str, cursor_ms: i64, overlap: Duration, tz: Tz) -> String {
    format!("({scope}) AND {} ORDER BY updated ASC", since_clause(cursor_ms, overlap, tz))
}

pub async fn run(engine: Arc<Engine>, instance: InstanceId, cancel: CancellationToken) {
    let Some(inst) = engine.config.instance(instance.as_str()).cloned() else { return };
    let Some(scope) = scope(&engine.flows, &instance) else { return };
    let Some(site) = engine.site(instance.as_str()).cloned() else { return };
    let mut tz: Option<Tz> = None;
    loop {
        // A poll could not commit what it reads while the store recovers
        // from a storage failure; it waits instead of reading in vain.
        if !engine.store.is_available() {
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = tokio::time::sleep(STORE_WAIT) => continue,
            }
        }
        let outcome = poll_once(&engine, site.as_ref(), &scope, &mut tz, inst.poll_overlap).await;
        let wait = match outcome {
            Ok(n) => {
                if n > 0 {
                    engine.wake.planner();
                }
                inst.poll_interval
            }
            Err(e) => {
                tracing::warn!(instance = %instance, error = %e, "poll failed");
                RETRY_AFTER_FAILURE.min(inst.poll_interval)
            }
        };
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(wait) => {}
        }
    }
}

/// One poll; returns how many changes went to the inbox.
async fn poll_once(
    engine: &Engine,
    site: &dyn Site,
    scope: &str,
    tz: &mut Option<Tz>,
    overlap: Duration,
) -> anyhow::Result<usize> {
    let instance = site.id();
    let zone = match tz {
        Some(z) => *z,
        None => {
            let me = site.myself().await?;
            let z = me.time_zone.as_deref().and_then(|t| t.parse::<Tz>().ok()).unwrap_or(chrono_tz::UTC);
            *tz = Some(z);
            z
        }
    };
    let Some(cursor) = engine.store.cursor(instance.as_str())? else {
        // First start: history is for `import`; begin now.
        engine.store.commit(vec![Op::CursorSet { instance: instance.to_string(), at_ms: engine.now_ms() }]).await?;
        return Ok(0);
    };
    let started = engine.now_ms();
    let jql = poll_jql(scope, cursor, overlap, zone);
    let mut from = None;
    let mut total = 0;
    let mut newest = cursor;
    loop {
        let page = site.search_page(&jql, &["updated"], PAGE_SIZE, from).await?;
        let mut ops = Vec::new();
        for issue in &page.issues {
            let updated = issue.updated.map(|t| t.timestamp_millis()).unwrap_or(0);
            newest = newest.max(updated);
            let change = Change {
                instance: instance.clone(),
                issue_id: issue.id.clone(),
                issue_key: Some(issue.key.clone()),
                source: ChangeSource::Poll,
                kind: ChangeKind::Updated,
                seen_ms: engine.now_ms(),
                actor: None,
                version_ms: Some(updated),
                link_ends: None,
            };
            ops.push(Op::InboxPush {
                instance: instance.to_string(),
                issue: issue.id.to_string(),
                payload: change.to_bytes(),
                // The same version of an issue seen by two overlapping polls,
                // a webhook or a planner read counts once.
                delivery: Some(version_key(issue.id.as_str(), updated)),
            });
        }
        // Everything updated before this poll began has been read (the
        // overlap covers what search showed late), so the cursor may move there.
        let at_ms = if page.next.is_none() { newest.max(started) } else { newest };
        ops.push(Op::CursorSet { instance: instance.to_string(), at_ms });
        let results = engine.store.commit(ops).await?;
        for (issue, r) in page.issues.iter().zip(&results) {
            tracing::debug!(instance = %instance, issue = %issue.id, key = %issue.key, result = ?r, "polled change");
        }
        total += results.iter().filter(|r| matches!(r, crate::store::OpResult::Pushed { .. })).count();
        from = page.next;
        if from.is_none() {
            break;
        }
    }
    let cursor = engine.store.cursor(instance.as_str())?.unwrap_or(started);
    engine.observer.board.record_poll(instance.as_str(), engine.now_ms(), cursor);
    engine.observer.metrics.changes(instance.as_str(), ChangeSource::Poll.as_str(), total as u64);
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(rfc3339: &str) -> i64 {
        DateTime::parse_from_rfc3339(rfc3339).map(|t| t.timestamp_millis()).unwrap_or_default()
    }

    #[test]
    fn the_cursor_is_written_in_the_users_zone_rounded_down_to_the_minute() {
        let cases = [
            // UTC user: 10:15:59 minus 2 minutes is 10:13:59, written 10:13.
            ("2026-12-02T10:15:59.900Z", 120, chrono_tz::UTC, "2026-12-02 10:13"),
            // Sydney is UTC+11 in December: the day moves too.
            ("2026-12-02T20:30:00Z", 60, chrono_tz::Australia::Sydney, "2026-12-03 07:29"),
            // New York the night DST ends (01:00-02:00 happens twice): the
            // second 01:30 (EST, 06:30Z) is written as the wall clock shows.
            ("2026-11-01T06:30:00Z", 0, chrono_tz::America::New_York, "2026-11-01 01:30"),
            // Paris as DST starts: 02:00-03:00 does not exist; 01:05Z is 03:05.
            ("2026-03-29T01:05:00Z", 0, chrono_tz::Europe::Paris, "2026-03-29 03:05"),
        ];
        for (cursor, overlap_s, tz, want) in cases {
            let clause = since_clause(ms(cursor), Duration::from_secs(overlap_s), tz);
            assert_eq!(clause, format!("updated >= \"{want}\""), "{cursor} in {tz}");
        }
    }

    /// While the store recovers from a failed commit the poller reads
    /// nothing (what it read could not be kept); once the store is back it
    /// polls again.
    #[tokio::test(start_paused = true)]
    async fn polls_pause_while_the_store_recovers_and_resume_after() {
        use crate::jira::fake::FakeOp;
        let rig = crate::sync::testing::Rig::new().await;
        // Polled before: the next poll searches from here.
        rig.commit(vec![Op::CursorSet { instance: "emea".into(), at_ms: rig.engine.now_ms() }]).await;
        rig.faults.set_disk_full(true);
        let failed = rig.store().commit(vec![Op::Audit { at_ms: 0, payload: b"probe".to_vec() }]).await;
        assert!(failed.is_err() && !rig.store().is_available(), "a full disk makes the store recover: {failed:?}");
        let cancel = CancellationToken::new();
        let task = tokio::spawn(run(rig.engine.clone(), InstanceId::new("emea"), cancel.clone()));
        let interval = rig.engine.config.instance("emea").expect("emea").poll_interval;
        tokio::time::sleep(interval * 5).await;
        assert_eq!(rig.emea.count(FakeOp::Search), 0, "no poll while the store recovers");

        rig.faults.set_disk_full(false);
        // The store's own thread reopens the file on the real clock.
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while !rig.store().is_available() {
            assert!(std::time::Instant::now() < deadline, "the store did not recover");
            std::thread::sleep(Duration::from_millis(5));
        }
        tokio::time::sleep(STORE_WAIT + interval).await;
        assert!(rig.emea.count(FakeOp::Search) >= 1, "polls resume once the store is back");
        cancel.cancel();
        task.await.expect("the poller ends when cancelled");
    }

    #[test]
    fn the_poll_jql_wraps_the_scope_and_sorts_oldest_first() {
        let jql = poll_jql("project = EMEA OR project = X", ms("2026-12-02T10:00:00Z"), Duration::ZERO, chrono_tz::UTC);
        assert_eq!(jql, "(project = EMEA OR project = X) AND updated >= \"2026-12-02 10:00\" ORDER BY updated ASC");
    }
}
