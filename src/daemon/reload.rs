//! A reload: the new configuration's sites are connected and its flows
//! resolved beside the running engine; only when all of that worked is the
//! running engine stopped (its in-flight writes drained) and the new one
//! started on the same store, observer and HTTP face. Queued work stays in
//! the store and is picked up by the new engine.
//!
//! What never takes the daemon down: an invalid file or a flow that does
//! not resolve is refused and the running engine goes on; an instance that
//! cannot be reached keeps its running client (reported); settings that
//! need a restart ([`RESTART_ONLY`]) keep their running values (reported).

use std::sync::Arc;

use tokio::time::Instant;

use super::Daemon;
use crate::config::Config;
use crate::observe::parts::{ReloadOutcome, ReloadRecord};
use crate::sync::Engine;
use crate::sync::flows::Flows;
use crate::sync::sites::Sites;
use crate::sync::wake::Wakeups;

/// The settings a reload cannot change: the listening socket, the admin
/// socket, the state file and its audit bounds (opened once per process),
/// the body limit and the listener's limits (the HTTP server is built once).
pub const RESTART_ONLY: &[&str] = &[
    "daemon.listen",
    "daemon.admin_socket",
    "daemon.state_dir",
    "daemon.webhook_body_limit",
    "daemon.http_header_timeout",
    "daemon.http_request_timeout",
    "daemon.http_max_connections",
    "daemon.http_max_requests_per_connection",
    "daemon.audit_max_entries",
    "daemon.audit_max_age",
];

impl Daemon {
    /// Replaces the running configuration with `loaded` (the result of
    /// reading the file again), or keeps it and says why. Every problem is
    /// logged, recorded for `/status` and returned.
    ///
    /// Dropped before it finishes (a SIGTERM during a reload), it leaves
    /// the running engine running, or stopping with its tasks still in the
    /// daemon: follow it with [`Daemon::shutdown`], which finishes the
    /// drain.
    pub async fn reload(&mut self, loaded: anyhow::Result<Config>) -> ReloadRecord {
        let at_ms = self.clock.now_ms();
        let (outcome, errors) = match loaded {
            Err(e) => (ReloadOutcome::Refused, vec![format!("{e:#}")]),
            Ok(cfg) => self.apply(cfg).await,
        };
        for e in &errors {
            tracing::warn!(problem = %e, "reload");
        }
        match outcome {
            ReloadOutcome::Applied => tracing::info!("configuration reloaded"),
            ReloadOutcome::Partial => {
                tracing::warn!(problems = errors.len(), "configuration reloaded; some parts keep their running state")
            }
            ReloadOutcome::Refused => {
                tracing::error!(problems = errors.len(), "reload refused; keeping the running configuration")
            }
        }
        self.observer.metrics.reload(outcome.as_str());
        let record = ReloadRecord { at_ms, outcome, errors };
        self.observer.board.reloads.record(record.clone());
        record
    }

    async fn apply(&mut self, mut cfg: Config) -> (ReloadOutcome, Vec<String>) {
        let running = self.engine.get();
        let mut notes = keep_restart_only(&running.config, &mut cfg);
        let cfg = Arc::new(cfg);
        let mut sites = Sites::connect_observed(&cfg, &self.observer).await;
        let mut kept = Vec::new();
        for (id, why) in sites.failed() {
            if sites.keep_running(&running.sites, &id) {
                notes.push(format!("instance {id}: {why}; its running client is kept"));
                kept.push((id, why));
            }
        }
        let mut problems = sites.problems();
        if problems.is_empty()
            && let Err(p) = Flows::resolve(&cfg, &sites)
        {
            problems.extend(p);
        }
        if !problems.is_empty() {
            problems.extend(notes);
            return (ReloadOutcome::Refused, problems);
        }
        self.stop_engine(Instant::now() + running.config.daemon.shutdown_timeout).await;
        self.observer.board.apply_config(&cfg);
        let assembled =
            Engine::assemble(cfg.clone(), self.store.clone(), sites, self.observer.clone(), self.clock.clone());
        let mut engine = match assembled {
            Ok(engine) => engine,
            Err(e) => {
                // Only the store can fail here (the in-flight claims are
                // read from the outbox): the running engine starts again.
                self.observer.board.apply_config(&running.config);
                self.start_engine(running);
                return (ReloadOutcome::Refused, vec![format!("{e:#}")]);
            }
        };
        // The HTTP face keeps ringing the same bell; what the running engine
        // saw lately (changes per site for read_target = "auto", the link
        // echoes it expects) carries over.
        engine.wake = Wakeups::sharing(running.wake.planner_bell(), cfg.instances.keys().cloned());
        engine.activity = running.activity.clone();
        engine.link_echoes = running.link_echoes.clone();
        let now = self.clock.now_ms();
        for (id, why) in kept {
            self.observer.board.record_auth(id.as_str(), false, now, Some(why));
        }
        self.start_engine(Arc::new(engine));
        self.config.set(cfg);
        let outcome = if notes.is_empty() { ReloadOutcome::Applied } else { ReloadOutcome::Partial };
        (outcome, notes)
    }
}

/// Puts the running values of [`RESTART_ONLY`] settings back into `new`;
/// one note per setting that was changed.
fn keep_restart_only(running: &Config, new: &mut Config) -> Vec<String> {
    let (old, d) = (&running.daemon, &mut new.daemon);
    let mut notes = Vec::new();
    let mut note = |key: &str, from: String, to: String| {
        notes.push(format!("{key} changed ({from} -> {to}): it needs a restart; the running value is kept"));
    };
    if d.listen != old.listen {
        note("daemon.listen", old.listen.to_string(), d.listen.to_string());
        d.listen = old.listen;
    }
    if d.admin_socket != old.admin_socket {
        note("daemon.admin_socket", old.admin_socket.display().to_string(), d.admin_socket.display().to_string());
        d.admin_socket = old.admin_socket.clone();
    }
    if d.state_dir != old.state_dir {
        note("daemon.state_dir", old.state_dir.display().to_string(), d.state_dir.display().to_string());
        d.state_dir = old.state_dir.clone();
    }
    if d.webhook_body_limit != old.webhook_body_limit {
        note("daemon.webhook_body_limit", old.webhook_body_limit.to_string(), d.webhook_body_limit.to_string());
        d.webhook_body_limit = old.webhook_body_limit;
    }
    if d.audit_max_entries != old.audit_max_entries {
        note("daemon.audit_max_entries", old.audit_max_entries.to_string(), d.audit_max_entries.to_string());
        d.audit_max_entries = old.audit_max_entries;
    }
    if d.audit_max_age != old.audit_max_age {
        let show = |v| humantime::format_duration(v).to_string();
        note("daemon.audit_max_age", show(old.audit_max_age), show(d.audit_max_age));
        d.audit_max_age = old.audit_max_age;
    }
    if d.http != old.http {
        note("daemon.http_*", format!("{:?}", old.http), format!("{:?}", d.http));
        d.http = old.http;
    }
    notes
}
