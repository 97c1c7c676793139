//! How engine tasks wake each other: one [`Notify`] per task, always used
//! with `notify_one`, so that a wake-up given while the task is busy is
//! kept and seen at its next wait, never lost. Tasks also wake on their own
//! timers; a wake-up only makes them look sooner.

use std::collections::BTreeMap;
use std::sync::Arc;

use tokio::sync::Notify;

use crate::ids::InstanceId;

pub struct Wakeups {
    planner: Arc<Notify>,
    writers: BTreeMap<InstanceId, Notify>,
}

impl Wakeups {
    /// The planner's and one writer's per instance.
    pub fn new(instances: impl IntoIterator<Item = InstanceId>) -> Wakeups {
        Wakeups { planner: Arc::default(), writers: instances.into_iter().map(|i| (i, Notify::new())).collect() }
    }

    /// As [`Wakeups::new`], ringing an existing planner bell (a reloaded
    /// engine keeps the one the HTTP face rings).
    pub fn sharing(planner: Arc<Notify>, instances: impl IntoIterator<Item = InstanceId>) -> Wakeups {
        Wakeups { planner, writers: instances.into_iter().map(|i| (i, Notify::new())).collect() }
    }

    /// The planner has new changes to look at.
    pub fn planner(&self) {
        self.planner.notify_one();
    }

    /// The planner's wake-up, for the HTTP face (which does not know the
    /// engine): a committed webhook rings it.
    pub fn planner_bell(&self) -> Arc<Notify> {
        self.planner.clone()
    }

    pub async fn planner_woken(&self) {
        self.planner.notified().await;
    }

    /// `instance`'s writer has new jobs (or a job of an issue is done and
    /// the next one may go).
    pub fn writer(&self, instance: &str) {
        if let Some(n) = self.writers.get(instance) {
            n.notify_one();
        }
    }

    pub fn all_writers(&self) {
        self.writers.values().for_each(Notify::notify_one);
    }

    pub async fn writer_woken(&self, instance: &str) {
        match self.writers.get(instance) {
            Some(n) => n.notified().await,
            None => std::future::pending().await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_wake_up_given_while_busy_is_kept() {
        let w = Wakeups::new([InstanceId::new("hub")]);
        w.planner();
        w.writer("hub");
        w.writer("nowhere");
        // Both complete at once: the permits were stored.
        tokio::time::timeout(std::time::Duration::from_secs(1), async {
            w.planner_woken().await;
            w.writer_woken("hub").await;
        })
        .await
        .expect("woken");
    }
}
