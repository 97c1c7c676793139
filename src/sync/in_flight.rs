//! The planner–writer protocol: which writes are in flight. The planner
//! claims a link (or, before a mirror exists, its source issue) once per job
//! it queues for it; the writer releases one claim per job done or
//! dead-lettered, and the link is free when the last is released. While a claim is held the planner leaves the
//! issues it covers alone, so that it never diffs against a shadow a queued
//! job is about to replace, nor queues a second create of one mirror.

use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, MutexGuard};

use super::job::{Action, Job};
use crate::ids::{InstanceId, IssueId};
use crate::store::{LinkRecord, Store, StoreError};

/// One issue on one site.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SiteIssue {
    pub instance: InstanceId,
    pub issue: IssueId,
}

impl SiteIssue {
    pub fn new(instance: &str, issue: &str) -> SiteIssue {
        SiteIssue { instance: InstanceId::new(instance), issue: IssueId::new(issue) }
    }

    /// Both issues of a link: the secondary's and its mirror on `primary`.
    pub fn of_link(primary: &InstanceId, l: &LinkRecord) -> Vec<SiteIssue> {
        vec![SiteIssue::new(&l.secondary, &l.secondary_issue), SiteIssue::new(primary.as_str(), &l.primary_issue)]
    }
}

/// What a run of queued jobs is about.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Claim {
    /// Jobs of an existing link.
    Link(u64),
    /// The create of the mirror of a secondary issue (no link yet).
    Source(SiteIssue),
}

impl Claim {
    /// The claim a queued job belongs to; `None` for a job of neither kind.
    pub fn of(job: &Job) -> Option<Claim> {
        match (&job.link, &job.action) {
            (Some(l), _) => Some(Claim::Link(*l)),
            (None, Action::Create { source, .. }) => {
                Some(Claim::Source(SiteIssue::new(&source.instance, &source.issue_id)))
            }
            (None, _) => None,
        }
    }
}

/// A claim's issues and how many of its jobs are not done yet.
#[derive(Debug)]
struct Held {
    issues: Vec<SiteIssue>,
    jobs: usize,
}

/// The claims held now.
#[derive(Debug, Default)]
pub struct InFlight {
    claims: Mutex<HashMap<Claim, Held>>,
}

impl InFlight {
    pub fn new() -> InFlight {
        InFlight::default()
    }

    /// Holds `claim` over `issues` for one more job.
    pub fn claim(&self, claim: Claim, issues: Vec<SiteIssue>) {
        let mut claims = self.lock();
        let held = claims.entry(claim).or_insert(Held { issues: Vec::new(), jobs: 0 });
        held.jobs += 1;
        for i in issues {
            if !held.issues.contains(&i) {
                held.issues.push(i);
            }
        }
    }

    /// One job of `claim` is done; the claim goes with its last job.
    pub fn release(&self, claim: &Claim) {
        let mut claims = self.lock();
        if let Some(held) = claims.get_mut(claim) {
            held.jobs = held.jobs.saturating_sub(1);
            if held.jobs == 0 {
                claims.remove(claim);
            }
        }
    }

    pub fn is_claimed(&self, claim: &Claim) -> bool {
        self.lock().contains_key(claim)
    }

    /// A link has jobs in flight: its own, or the create of its mirror.
    pub fn link_busy(&self, link: &LinkRecord) -> bool {
        let claims = self.lock();
        claims.contains_key(&Claim::Link(link.id))
            || claims.contains_key(&Claim::Source(SiteIssue::new(&link.secondary, &link.secondary_issue)))
    }

    /// Whether a mirror is being created on `target` now: a create is
    /// claimed whose pair is not recorded yet. (A secondary issue's mirror
    /// is made on the primary; a primary issue's, pushed, on a secondary.)
    /// A change of an unpaired issue of `target` may be of that mirror,
    /// edited before its pair is recorded: it waits for the create.
    pub fn creating_on(&self, primary: &InstanceId, target: &str) -> bool {
        let to_primary = target == primary.as_str();
        self.lock().keys().any(|c| matches!(c, Claim::Source(s) if (s.instance != *primary) == to_primary))
    }

    /// Every issue some claim covers.
    pub fn busy_issues(&self) -> HashSet<SiteIssue> {
        self.lock().values().flat_map(|h| h.issues.iter().cloned()).collect()
    }

    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The claims of the jobs an earlier run left in the outbox (a crash, a
    /// reload): they are in flight as much as those planned in this one.
    /// Every entry counts, also those waiting behind a dead letter; the
    /// outbox is read in pages so memory stays flat.
    pub fn rebuild(store: &Store, primary: &InstanceId) -> Result<InFlight, StoreError> {
        const PAGE: usize = 1_000;
        let in_flight = InFlight::new();
        let mut after = None;
        loop {
            let page = store.outbox_after(after, PAGE)?;
            let Some(last) = page.last() else { return Ok(in_flight) };
            after = Some(last.seq);
            for job in page.iter().filter_map(|e| Job::from_bytes(&e.payload)) {
                let Some(claim) = Claim::of(&job) else { continue };
                let issues =
                    if in_flight.is_claimed(&claim) { Vec::new() } else { covered(store, primary, &job, &claim) };
                in_flight.claim(claim, issues);
            }
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<Claim, Held>> {
        self.claims.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The issues a job's claim covers.
fn covered(store: &Store, primary: &InstanceId, job: &Job, claim: &Claim) -> Vec<SiteIssue> {
    if let Claim::Source(source) = claim {
        return vec![source.clone()];
    }
    match job.link.and_then(|l| store.link(l).ok().flatten()) {
        Some(l) => SiteIssue::of_link(primary, &l),
        None => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Op, StoreOptions};
    use crate::sync::job::Source;

    fn link(id: u64) -> LinkRecord {
        LinkRecord {
            id,
            flow: "f".into(),
            secondary: "emea".into(),
            secondary_issue: "10".into(),
            secondary_key: "EMEA-1".into(),
            primary_issue: "20".into(),
            primary_key: "PORT-1".into(),
            created_ms: 0,
            by_hand: false,
            pushed: false,
        }
    }

    fn create_job() -> Job {
        let source = Source { instance: "emea".into(), issue_id: "11".into(), issue_key: "EMEA-2".into() };
        Job {
            flow: "f".into(),
            link: None,
            target_key: None,
            action: Action::Create {
                project: "PORT".into(),
                issue_type: "Story".into(),
                fields: Default::default(),
                status: None,
                mark: crate::jira::mark::Mark::of("f", "emea", "11"),
                source,
                parent: None,
            },
            shadow_after: None,
            origin_ms: 0,
            cause: None,
        }
    }

    #[test]
    fn a_link_is_busy_while_its_own_or_its_create_claim_is_held() {
        let f = InFlight::new();
        let l = link(3);
        assert!(!f.link_busy(&l));
        f.claim(Claim::Link(3), SiteIssue::of_link(&InstanceId::new("hub"), &l));
        assert!(f.link_busy(&l));
        assert_eq!(f.busy_issues().len(), 2);
        f.claim(Claim::Link(3), SiteIssue::of_link(&InstanceId::new("hub"), &l));
        f.release(&Claim::Link(3));
        assert!(f.link_busy(&l), "one of its two jobs is still in flight");
        f.release(&Claim::Link(3));
        assert!(!f.link_busy(&l) && f.is_empty());
        f.claim(Claim::Source(SiteIssue::new("emea", "10")), vec![SiteIssue::new("emea", "10")]);
        assert!(f.link_busy(&l), "the create of its mirror is still in flight");
    }

    #[test]
    fn claims_are_rebuilt_from_the_outbox() {
        let store = Store::open_in_memory(StoreOptions::default()).unwrap();
        let id = match store.commit_blocking(vec![Op::LinkPut(link(0))]).unwrap()[0] {
            crate::store::OpResult::LinkId(id) => id,
            other => panic!("{other:?}"),
        };
        let update = Job {
            link: Some(id),
            action: Action::Unlink { delete_mirror: false, label: false, severed_label: false, ended: None },
            ..create_job()
        };
        let push = |target: &str, job: &Job| Op::OutboxPush {
            instance: "hub".into(),
            target: target.into(),
            payload: job.to_bytes(),
            next_at_ms: 0,
        };
        store
            .commit_blocking(vec![push("20", &update), push("20", &update), push("create:emea:11", &create_job())])
            .unwrap();
        let f = InFlight::rebuild(&store, &InstanceId::new("hub")).unwrap();
        assert_eq!(f.len(), 2);
        assert!(f.is_claimed(&Claim::Source(SiteIssue::new("emea", "11"))));
        let busy = f.busy_issues();
        for (instance, issue) in [("emea", "10"), ("hub", "20"), ("emea", "11")] {
            assert!(busy.contains(&SiteIssue::new(instance, issue)), "{instance} {issue}");
        }
        f.release(&Claim::Link(id));
        assert!(f.is_claimed(&Claim::Link(id)), "two jobs of the link are queued");
        f.release(&Claim::Link(id));
        assert!(!f.is_claimed(&Claim::Link(id)));
    }
}
