//! Supervision of the engine's tasks: each runs in a task of its own,
//! watched by a supervisor that logs why it ended (a panic's message, or
//! "ended" for a task that returned without being asked to), counts the
//! restart (`jirafed_task_restarts_total{task}`) and starts it again after a
//! capped exponential backoff. A task that ran for [`HEALTHY_RUN`] before
//! failing starts again from the shortest delay.
//!
//! The store's writer thread cannot be restarted inside the process (the
//! file stays open with it), so it is watched instead: the `store` probe
//! commits an empty transaction every [`STORE_PROBE_EVERY`] and beats only
//! when the commit came back. A dead or stuck writer stops the beats; the
//! watchdog stops being pinged and systemd restarts the process.
//!
//! A test hook, `TEST_JIRAFED_PANIC_ONCE`, a comma-separated list of task
//! names read once per process, makes each named task panic the first time
//! it starts. It exists for the integration tests of supervision (it is
//! outside the `JIRAFED_` config namespace on purpose); never set it in
//! production.

use std::collections::BTreeSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::observe::Observer;
use crate::store::Store;

/// The shortest and the longest wait before a restart.
pub const RESTART_MIN: Duration = Duration::from_secs(1);
pub const RESTART_MAX: Duration = Duration::from_secs(60);
/// A task that ran this long before failing was healthy: its next restart
/// waits [`RESTART_MIN`] again.
pub const HEALTHY_RUN: Duration = Duration::from_secs(120);
/// How often the store probe commits.
pub const STORE_PROBE_EVERY: Duration = Duration::from_secs(5);
/// A probe commit slower than this counts as no progress.
const STORE_PROBE_TIMEOUT: Duration = Duration::from_secs(10);
/// The store probe's name, for its heartbeat.
pub const STORE: &str = "store";
/// The test hook's variable.
pub const PANIC_ONCE_VAR: &str = "TEST_JIRAFED_PANIC_ONCE";

type Run = Pin<Box<dyn Future<Output = ()> + Send>>;

/// One supervised task: its name and how to start it (again).
pub struct Task {
    pub name: String,
    start: Box<dyn Fn() -> Run + Send + Sync>,
}

impl Task {
    pub fn new<F, Fut>(name: impl Into<String>, start: F) -> Task
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        Task { name: name.into(), start: Box::new(move || Box::pin(start())) }
    }
}

/// Capped exponential backoff: `min`, doubled per failure, at most `max`.
#[derive(Debug, Clone)]
pub struct Backoff {
    min: Duration,
    max: Duration,
    next: Duration,
}

impl Backoff {
    pub fn new(min: Duration, max: Duration) -> Backoff {
        Backoff { min, max, next: min }
    }

    /// The wait before the next restart.
    pub fn next_delay(&mut self) -> Duration {
        let d = self.next;
        self.next = (self.next * 2).min(self.max);
        d
    }

    pub fn reset(&mut self) {
        self.next = self.min;
    }
}

/// Aborts the task when dropped, so that a supervisor aborted at the end of
/// a shutdown does not leave its task running.
struct Abort(JoinHandle<()>);

impl Drop for Abort {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Runs `task` until `cancel` fires, restarting it whenever it ends or
/// panics before that. Returns once the task has stopped after `cancel`.
pub async fn supervise(task: Task, observer: Arc<Observer>, cancel: CancellationToken) {
    let mut backoff = Backoff::new(RESTART_MIN, RESTART_MAX);
    loop {
        let started = Instant::now();
        let run = (task.start)();
        let inject = take_injected_panic(&task.name);
        let mut handle = Abort(tokio::spawn(async move {
            if inject {
                panic!("injected by {PANIC_ONCE_VAR} (a test hook)");
            }
            run.await
        }));
        let result = (&mut handle.0).await;
        if cancel.is_cancelled() {
            return;
        }
        let cause = match result {
            Ok(()) => "ended without being asked to".to_string(),
            Err(e) if e.is_panic() => format!("panicked: {}", panic_message(e.into_panic())),
            Err(e) => format!("stopped: {e}"),
        };
        if started.elapsed() >= HEALTHY_RUN {
            backoff.reset();
        }
        let delay = backoff.next_delay();
        tracing::error!(task = %task.name, cause = %cause, restart_in_ms = delay.as_millis() as u64, "engine task failed; restarting it");
        observer.metrics.task_restart(&task.name);
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(delay) => {}
        }
        tracing::info!(task = %task.name, "engine task restarted");
    }
}

fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    match payload.downcast::<String>() {
        Ok(s) => *s,
        Err(payload) => payload.downcast_ref::<&str>().map(|s| s.to_string()).unwrap_or_else(|| "(no message)".into()),
    }
}

/// Whether `task` should panic now: true once per named task per process.
fn take_injected_panic(task: &str) -> bool {
    static NAMES: OnceLock<Mutex<BTreeSet<String>>> = OnceLock::new();
    let names = NAMES.get_or_init(|| {
        let var = std::env::var(PANIC_ONCE_VAR).unwrap_or_default();
        Mutex::new(var.split(',').map(str::trim).filter(|s| !s.is_empty()).map(String::from).collect())
    });
    names.lock().unwrap_or_else(|p| p.into_inner()).remove(task)
}

/// The store probe: an empty commit every [`STORE_PROBE_EVERY`]; a beat
/// for each one that came back in time.
pub async fn probe_store(store: Store, observer: Arc<Observer>, cancel: CancellationToken) {
    loop {
        match tokio::time::timeout(STORE_PROBE_TIMEOUT, store.commit(Vec::new())).await {
            Ok(Ok(_)) => observer.board.heartbeats.beat(STORE),
            Ok(Err(e)) => tracing::error!(error = %e, "the store does not take commits"),
            Err(_) => tracing::error!(timeout_s = STORE_PROBE_TIMEOUT.as_secs(), "a store commit did not come back"),
        }
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(STORE_PROBE_EVERY) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    #[test]
    fn backoff_doubles_up_to_its_cap_and_resets() {
        let mut b = Backoff::new(Duration::from_secs(1), Duration::from_secs(5));
        let delays: Vec<u64> = (0..5).map(|_| b.next_delay().as_secs()).collect();
        assert_eq!(delays, [1, 2, 4, 5, 5]);
        b.reset();
        assert_eq!(b.next_delay(), Duration::from_secs(1));
    }

    /// A task that panics twice and then runs is started three times, after
    /// 1 s and 2 s, and both restarts are counted.
    #[tokio::test(start_paused = true)]
    async fn a_failing_task_is_restarted_with_backoff_until_cancelled() {
        let observer = Arc::new(Observer::empty());
        let cancel = CancellationToken::new();
        let starts = Arc::new(AtomicU32::new(0));
        let counted = starts.clone();
        let stop = cancel.clone();
        let task = Task::new("flaky", move || {
            let (n, stop) = (counted.fetch_add(1, Ordering::SeqCst), stop.clone());
            async move {
                if n < 2 {
                    panic!("boom {n}");
                }
                stop.cancelled().await;
            }
        });
        let begun = Instant::now();
        let supervisor = tokio::spawn(supervise(task, observer.clone(), cancel.clone()));
        while starts.load(Ordering::SeqCst) < 3 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let waited = begun.elapsed();
        assert!(waited >= Duration::from_secs(3) && waited < Duration::from_millis(3100), "{waited:?}");
        assert_eq!(observer.metrics.task_restarts_total("flaky"), 2);
        cancel.cancel();
        supervisor.await.expect("supervisor ends");
        assert_eq!(starts.load(Ordering::SeqCst), 3);
    }

    /// A task that returns on its own is restarted too; one that returns
    /// because it was cancelled is not.
    #[tokio::test(start_paused = true)]
    async fn a_task_that_returns_early_is_restarted() {
        let observer = Arc::new(Observer::empty());
        let cancel = CancellationToken::new();
        let starts = Arc::new(AtomicU32::new(0));
        let counted = starts.clone();
        let task = Task::new("quitter", move || {
            counted.fetch_add(1, Ordering::SeqCst);
            async {}
        });
        let supervisor = tokio::spawn(supervise(task, observer.clone(), cancel.clone()));
        tokio::time::sleep(Duration::from_millis(3_500)).await;
        // Started at 0, then after 1 s and 2 more: three runs.
        assert_eq!(starts.load(Ordering::SeqCst), 3);
        cancel.cancel();
        supervisor.await.expect("supervisor ends");
        assert_eq!(observer.metrics.task_restarts_total("quitter"), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn the_store_probe_beats_while_the_store_commits() {
        let observer = Arc::new(Observer::empty());
        observer.board.heartbeats.watch([STORE.to_string()]);
        let store = Store::open_in_memory(crate::store::StoreOptions::default()).expect("store");
        let cancel = CancellationToken::new();
        tokio::time::advance(Duration::from_secs(100)).await;
        assert_eq!(observer.board.heartbeats.stalled(Duration::from_secs(60)).len(), 1);
        let probe = tokio::spawn(probe_store(store, observer.clone(), cancel.clone()));
        // The commit runs on the store's thread, outside tokio's clock.
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while !observer.board.heartbeats.stalled(Duration::from_secs(60)).is_empty() {
            assert!(std::time::Instant::now() < deadline, "no beat");
            tokio::task::yield_now().await;
        }
        cancel.cancel();
        probe.await.expect("probe ends");
    }
}
