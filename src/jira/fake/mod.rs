//! An in-memory Jira site implementing [`Site`]: a test double for the
//! engine's planner and writer, with no sockets and a clock the test
//! controls. It is compiled always (not only under `cfg(test)`) so that
//! integration tests and benchmarks can use it too.
//!
//! It knows Jira's shapes, which is why it lives in `jira/`: issues are
//! kept as the site's flavour shows them when read (ADF or wiki, users as
//! objects, options by value...), so the engine reads them back through
//! the same `read_value` it uses on a real site. Its own API is typed:
//! tests seed issues with [`IssueSeed`] and [`FieldValue`]s, act as people
//! do ([`FakeSite::edit_as_person`], [`FakeSite::link_as_person`],
//! [`FakeSite::remote_link_as_person`]), read what the engine wrote
//! ([`FakeSite::issue_value`], [`FakeSite::links_of`],
//! [`FakeSite::remote_links_of`]), see every call it made ([`FakeCall`]), and
//! queue the failures a real site has ([`FakeSite::fail_next`],
//! [`FakeSite::lose_answer`]).
//!
//! It is as lenient as a test needs where Jira's rules would only get in
//! the way: any project and issue type can be created in, any user can be
//! written, a transition goes straight to any status the site knows.
//!
//! [`FieldValue`]: crate::jira::values::FieldValue

use std::sync::{Mutex, MutexGuard};

use crate::clock::Clock;
use crate::config::Flavour;
use crate::ids::InstanceId;
use crate::jira::error::JiraError;
use crate::jira::fields::FieldCatalogue;
use crate::jira::model::{FieldInfo, FieldMeta, LinkType, Myself, Project, UserRef};
#[cfg(doc)]
use crate::jira::site::Site;

mod calls;
mod errors;
mod issues;
mod links;
mod ops;
mod remote;
mod scope;
mod setup;
mod site;
mod state;
#[cfg(test)]
mod tests;

pub use calls::{FakeCall, FakeOp};
pub use errors::{ISSUE_MISSING, answer_lost, bad_request, cannot_connect, not_found, rate_limited, unavailable};
pub use issues::IssueSeed;
pub use setup::{CustomKind, custom_field, project};

use state::{Fault, State};

/// One in-memory Jira site. Share it as `Arc<FakeSite>`; the engine takes
/// it as `Arc<dyn Site>`.
pub struct FakeSite {
    id: InstanceId,
    flavour: Flavour,
    state: Mutex<State>,
}

impl std::fmt::Debug for FakeSite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeSite").field("id", &self.id).field("flavour", &self.flavour).finish_non_exhaustive()
    }
}

impl FakeSite {
    /// A site with the usual system fields, the statuses "To Do",
    /// "In Progress", "In Review" and "Done", the usual link types, and the
    /// technical user `sync-bot` in UTC; no issues, users or projects.
    pub fn new(id: &str, flavour: Flavour, clock: Clock) -> FakeSite {
        FakeSite { id: InstanceId::new(id), flavour, state: Mutex::new(State::new(id, flavour, clock)) }
    }

    /// The state; a test that panicked while holding it leaves it usable.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// [`FakeSite::add_field`], chained.
    pub fn with_field(self, field: FieldInfo) -> FakeSite {
        self.add_field(field);
        self
    }

    /// Adds a field to the catalogue, replacing one with the same id.
    pub fn add_field(&self, field: FieldInfo) {
        let mut s = self.lock();
        let mut fields: Vec<FieldInfo> = s.catalogue.fields.iter().filter(|f| f.id != field.id).cloned().collect();
        fields.push(field);
        s.catalogue = std::sync::Arc::new(FieldCatalogue::new(s.site.clone(), fields));
    }

    /// The technical user `myself()` answers with.
    pub fn with_myself(self, user: UserRef, time_zone: &str) -> FakeSite {
        self.lock().myself = Myself { user, time_zone: Some(time_zone.to_string()) };
        self
    }

    /// Replaces the site's statuses with `(name, category key)` pairs, the
    /// category being `new`, `indeterminate` or `done`. New issues start in
    /// the first one.
    pub fn with_statuses(self, statuses: &[(&str, &str)]) -> FakeSite {
        self.lock().statuses = setup::statuses(statuses);
        self
    }

    /// [`FakeSite::add_user`], chained.
    pub fn with_user(self, user: UserRef) -> FakeSite {
        self.add_user(user);
        self
    }

    /// A user `find_user_by_email` can find; users written into fields are
    /// shown as the site knows them.
    pub fn add_user(&self, user: UserRef) {
        self.lock().users.push(user);
    }

    /// [`FakeSite::add_project`], chained.
    pub fn with_project(self, project: Project) -> FakeSite {
        self.add_project(project);
        self
    }

    /// A project `project()` can find (see [`project`] for a quick one); an
    /// empty id is given one.
    pub fn add_project(&self, mut project: Project) {
        let mut s = self.lock();
        if project.id.is_empty() {
            project.id = (10_000 + s.projects.len()).to_string();
        }
        s.projects.retain(|p| !p.key.eq_ignore_ascii_case(&project.key));
        s.projects.push(project);
    }

    /// The create screen of `issue_type` in `project`: `create_meta`
    /// answers with it, and creates refuse fields it does not show and
    /// require those it marks required.
    pub fn set_create_screen(&self, project: &str, issue_type: &str, fields: Vec<FieldMeta>) {
        self.lock().create_screens.insert(ops::screen_key(project, issue_type), fields);
    }

    /// The link types `link_types()` answers with and links are made with;
    /// links made before keep the type they were made with.
    pub fn set_link_types(&self, link_types: Vec<LinkType>) {
        self.lock().link_types = link_types;
    }

    /// Every call made through [`Site`], in order, failed ones included.
    pub fn calls(&self) -> Vec<FakeCall> {
        self.lock().calls.clone()
    }

    /// The calls that change the site (create, edit, add label,
    /// transition, delete, link, unlink, remote link upsert and delete), in
    /// order.
    pub fn writes(&self) -> Vec<FakeCall> {
        self.lock().calls.iter().filter(|c| c.is_write()).cloned().collect()
    }

    /// The calls so far, forgotten by the site.
    pub fn take_calls(&self) -> Vec<FakeCall> {
        std::mem::take(&mut self.lock().calls)
    }

    /// How many calls of `op` were made.
    pub fn count(&self, op: FakeOp) -> usize {
        self.lock().calls.iter().filter(|c| c.op() == op).count()
    }

    /// The next call of `op` fails with `error` and changes nothing. Errors
    /// queue: each call of `op` takes the oldest. An error with an empty
    /// `call` (as the helpers of this module make them) is given the
    /// request of the call that returns it.
    pub fn fail_next(&self, op: FakeOp, error: JiraError) {
        self.lock().faults.push_back((op, Fault::Fail(error)));
    }

    /// The next call of `op` is applied, then answers with a network error
    /// ([`answer_lost`]): the site acted but the caller cannot know it.
    pub fn lose_answer(&self, op: FakeOp) {
        self.lock().faults.push_back((op, Fault::LoseAnswer));
    }

    /// An unreachable site fails every call with a connect error
    /// ([`cannot_connect`]) and leaves queued faults waiting.
    pub fn set_reachable(&self, reachable: bool) {
        self.lock().reachable = reachable;
    }
}
