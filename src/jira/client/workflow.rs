//! Moving an issue to a status through its workflow.
//!
//! Jira lists only the transitions available from the status an issue is
//! in, so the client learns the workflow as it goes: every listing is the
//! set of edges out of one status, kept in a graph per project and issue
//! type of the site for later calls. A path is a breadth-first search over
//! the known edges. When the target cannot be reached over them, the issue
//! moves towards the nearest status whose transitions have not been seen
//! (preferring steps whose status category comes closer to the target's)
//! and the search starts again, up to [`MAX_TRANSITION_STEPS`] transitions.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};

use serde_json::{Map, Value, json};

use super::{JiraClient, refused};
use crate::jira::error::{ErrorKind, JiraError};
use crate::jira::explain::Action;
use crate::jira::model::{StatusRef, Transition};
use crate::jira::timing::CallOp;
use crate::jira::transport::Call;

/// Most transitions one `transition_to` call makes, exploring included.
const MAX_TRANSITION_STEPS: usize = 12;

/// The workflow graphs of one site, per (project, issue type).
#[derive(Debug, Default)]
pub(super) struct Workflows {
    graphs: Mutex<HashMap<(String, String), Graph>>,
}

impl Workflows {
    fn with<T>(&self, project: &str, issue_type: &str, f: impl FnOnce(&mut Graph) -> T) -> T {
        // A graph is only a hint (every step is checked against Jira), so
        // one left behind by a panicking holder is still good to use.
        let mut graphs = self.graphs.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        f(graphs.entry((project.to_lowercase(), issue_type.to_lowercase())).or_default())
    }
}

/// Statuses by lower-case name; the edges of those seen so far.
#[derive(Debug, Default, Clone)]
struct Graph {
    nodes: BTreeMap<String, Node>,
}

#[derive(Debug, Clone)]
struct Node {
    name: String,
    category: Option<String>,
    /// `None` until the client has stood at this status.
    edges: Option<Vec<Edge>>,
}

#[derive(Debug, Clone)]
struct Edge {
    id: String,
    to: String,
}

/// Order of the status categories (`new` -> `indeterminate` -> `done`).
fn category_rank(category: Option<&str>) -> Option<u8> {
    match category? {
        "new" => Some(0),
        "indeterminate" => Some(1),
        "done" => Some(2),
        _ => None,
    }
}

impl Graph {
    fn node(&mut self, status: &StatusRef) -> &mut Node {
        let node = self.nodes.entry(status.name.to_lowercase()).or_insert_with(|| Node {
            name: status.name.clone(),
            category: None,
            edges: None,
        });
        if status.category.is_some() {
            node.category = status.category.clone();
        }
        node
    }

    /// What Jira listed at `from`, replacing what was known there.
    fn learn(&mut self, from: &StatusRef, transitions: &[Transition]) {
        let mut edges = Vec::new();
        for t in transitions {
            if let Some(to) = &t.to {
                self.node(to);
                edges.push(Edge { id: t.id.clone(), to: to.name.to_lowercase() });
            }
        }
        self.node(from).edges = Some(edges);
    }

    /// The shortest known path to `target`, in listed order among equals.
    fn path(&self, from: &str, target: &str) -> Option<Vec<Edge>> {
        let target = target.to_lowercase();
        self.search(from, |name, _| *name == target, |_| 0)
    }

    /// A shortest path to the nearest status whose transitions are not
    /// known; among equals, the one whose category is closest to
    /// `target_category`.
    fn explore(&self, from: &str, target_category: Option<&str>) -> Option<Vec<Edge>> {
        let want = category_rank(target_category);
        let distance = |n: &Node| match (want, category_rank(n.category.as_deref())) {
            (Some(w), Some(c)) => w.abs_diff(c),
            _ => 1,
        };
        self.search(from, |_, n| n.edges.is_none(), distance)
    }

    /// Breadth-first, one layer at a time; edges of a status are followed
    /// in order of `rank` of their target, and the best-ranked goal of the
    /// first layer holding one wins.
    fn search(
        &self,
        from: &str,
        goal: impl Fn(&String, &Node) -> bool,
        rank: impl Fn(&Node) -> u8,
    ) -> Option<Vec<Edge>> {
        let start = from.to_lowercase();
        let rank_of = |name: &String| self.nodes.get(name).map(&rank).unwrap_or(u8::MAX);
        let mut came_from: HashMap<String, (String, Edge)> = HashMap::new();
        let mut seen = HashSet::from([start.clone()]);
        let mut layer = vec![start];
        while !layer.is_empty() {
            let mut next = Vec::new();
            for name in &layer {
                let Some(edges) = self.nodes.get(name).and_then(|n| n.edges.as_ref()) else { continue };
                let mut ordered: Vec<&Edge> = edges.iter().collect();
                ordered.sort_by_key(|e| rank_of(&e.to));
                for e in ordered {
                    if seen.insert(e.to.clone()) {
                        came_from.insert(e.to.clone(), (name.clone(), e.clone()));
                        next.push(e.to.clone());
                    }
                }
            }
            let goals = next.iter().filter(|n| self.nodes.get(*n).is_some_and(|node| goal(n, node)));
            if let Some(best) = goals.min_by_key(|n| rank_of(n)) {
                let mut path = Vec::new();
                let mut at = best.clone();
                while let Some((prev, edge)) = came_from.get(&at) {
                    path.push(edge.clone());
                    at = prev.clone();
                }
                path.reverse();
                return Some(path);
            }
            layer = next;
        }
        None
    }

    fn known(&self) -> String {
        let names: Vec<&str> = self.nodes.values().map(|n| n.name.as_str()).collect();
        names.join(", ")
    }
}

impl JiraClient {
    /// Moves an issue to `target` status, through several transitions when
    /// no direct one exists, filling fields a transition screen requires
    /// (from `extra`, else the allowed value named like the target, else
    /// the first one, with a warning). Safe to call again: it starts from
    /// the status the issue is in now, and does nothing when that is the
    /// target. Returns the names of the transitions taken.
    pub async fn transition_to(
        &self,
        key: &str,
        target: &str,
        extra: &Map<String, Value>,
    ) -> Result<Vec<String>, JiraError> {
        let issue = self.issue(key, &["status", "project", "issuetype"]).await?;
        let project = issue.project.unwrap_or_default();
        let issue_type = issue.issuetype.unwrap_or_default();
        let mut current = issue.status;
        let mut taken = Vec::new();
        loop {
            let Some(at) = current.take() else {
                return Err(JiraError::new(ErrorKind::Decode, "GET issue").with_detail(format!("{key} has no status")));
            };
            if at.name.eq_ignore_ascii_case(target) {
                return Ok(taken);
            }
            if taken.len() >= MAX_TRANSITION_STEPS {
                return Err(refused(
                    "POST transitions",
                    format!(
                        "{key} ({project} {issue_type}) did not reach {target:?} within {MAX_TRANSITION_STEPS} transitions on {}; it is at {:?}",
                        self.id, at.name
                    ),
                ));
            }
            let options = self.transitions(key).await?;
            let step = self.next_step(key, (&project, &issue_type), &at, &options, target).await?;
            let Some(t) = options.iter().find(|t| t.id == step.id) else {
                return Err(refused("POST transitions", format!("transition {} of {key} vanished", step.id)));
            };
            self.take_transition(key, (&project, &issue_type), &at, t, target, extra).await?;
            taken.push(t.name.clone());
            current = self.issue(key, &["status"]).await?.status;
        }
    }

    /// The first edge of a known path to `target`, or of the way to the
    /// nearest unexplored status.
    async fn next_step(
        &self,
        key: &str,
        (project, issue_type): (&str, &str),
        at: &StatusRef,
        options: &[Transition],
        target: &str,
    ) -> Result<Edge, JiraError> {
        let known = self.workflows.with(project, issue_type, |g| {
            g.learn(at, options);
            g.path(&at.name, target)
        });
        if let Some(edge) = known.and_then(|p| p.into_iter().next()) {
            return Ok(edge);
        }
        // Before moving the issue around, make sure the target exists.
        let statuses = self.statuses().await?;
        let Some(wanted) = statuses.iter().find(|s| s.name.eq_ignore_ascii_case(target)) else {
            return Err(refused(
                "POST transitions",
                format!("status {target:?} does not exist on {}; {key} stays at {:?}", self.id, at.name),
            ));
        };
        let (step, seen) = self.workflows.with(project, issue_type, |g| {
            (g.explore(&at.name, wanted.category.as_deref()).and_then(|p| p.into_iter().next()), g.known())
        });
        step.ok_or_else(|| {
            refused(
                "POST transitions",
                format!(
                    "no workflow path of {project} {issue_type} leads from {:?} to {target:?} for {key} on {} (statuses seen: {seen})",
                    at.name, self.id
                ),
            )
        })
    }

    async fn take_transition(
        &self,
        key: &str,
        (project, issue_type): (&str, &str),
        at: &StatusRef,
        t: &Transition,
        target: &str,
        extra: &Map<String, Value>,
    ) -> Result<(), JiraError> {
        let fields = self.screen_fields(key, t, target, extra)?;
        let body = json!({"transition": {"id": t.id}, "fields": fields});
        let call = Call::post(self.path(&format!("issue/{key}/transitions")), body).op(CallOp::Transition).issue(key);
        let Err(e) = self.transport.send(call).await else { return Ok(()) };
        let to = t.to.as_ref().map(|s| s.name.as_str()).unwrap_or("?");
        let action = Action::Transition { name: &t.name, from: &at.name, to };
        Err(self.explained(e, &self.context(action, Some(key), Some(project), Some(issue_type))).await)
    }

    /// The site's statuses, read once.
    pub(super) async fn statuses(&self) -> Result<Arc<Vec<StatusRef>>, JiraError> {
        if let Some(s) = self.statuses.read().await.as_ref() {
            return Ok(s.clone());
        }
        let raw = self.get(CallOp::Metadata, "status", &[]).await?;
        let list: Vec<StatusRef> =
            raw.as_array().map(|a| a.iter().filter_map(StatusRef::parse).collect()).unwrap_or_default();
        let list = Arc::new(list);
        *self.statuses.write().await = Some(list.clone());
        Ok(list)
    }

    /// Values for the fields a transition screen requires.
    fn screen_fields(
        &self,
        key: &str,
        t: &Transition,
        target: &str,
        extra: &Map<String, Value>,
    ) -> Result<Map<String, Value>, JiraError> {
        let mut out = Map::new();
        for f in t.fields.iter().filter(|f| f.required) {
            if let Some(v) = extra.get(&f.id) {
                out.insert(f.id.clone(), v.clone());
                continue;
            }
            let named =
                f.allowed_values.iter().find(|a| a.name.as_deref().is_some_and(|n| n.eq_ignore_ascii_case(target)));
            let Some(a) = named.or_else(|| f.allowed_values.first()) else {
                return Err(refused(
                    "POST transitions",
                    format!(
                        "transition {:?} of {key} on {} requires field {} '{}' and no value is configured",
                        t.name, self.id, f.id, f.name
                    ),
                ));
            };
            if named.is_none() {
                let chosen = a.name.as_deref().or(a.id.as_deref()).unwrap_or_default();
                tracing::warn!(
                    instance = %self.id, issue = key, transition = %t.name, field = %f.id, field_name = %f.name,
                    value = chosen, "required transition field has no configured value; using its first allowed value"
                );
            }
            let v = match (&a.id, &a.name) {
                (_, Some(n)) => json!({"name": n}),
                (Some(id), None) => json!({"id": id}),
                (None, None) => continue,
            };
            out.insert(f.id.clone(), v);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(name: &str, category: &str) -> StatusRef {
        StatusRef { id: None, name: name.into(), category: Some(category.into()) }
    }

    fn t(id: &str, to: &StatusRef) -> Transition {
        Transition { id: id.into(), name: format!("to {}", to.name), to: Some(to.clone()), fields: vec![] }
    }

    fn ids(path: Option<Vec<Edge>>) -> Vec<String> {
        path.unwrap_or_default().into_iter().map(|e| e.id).collect()
    }

    #[test]
    fn known_paths_are_shortest_and_exploration_prefers_the_target_category() {
        let (todo, doing, blocked, review, done) = (
            status("To Do", "new"),
            status("In Progress", "indeterminate"),
            status("On Hold", "new"),
            status("In Review", "indeterminate"),
            status("Done", "done"),
        );
        let mut g = Graph::default();
        g.learn(&todo, &[t("11", &doing)]);
        g.learn(&doing, &[t("41", &blocked), t("21", &review)]);
        assert_eq!(ids(g.path("to do", "In Progress")), ["11"]);
        assert_eq!(ids(g.path("To Do", "Done")), Vec::<String>::new(), "Done is not known yet");
        // Both unexplored statuses are one step away; In Review's category
        // is nearer to done than On Hold's.
        assert_eq!(ids(g.explore("To Do", Some("done"))), ["11", "21"]);
        assert_eq!(ids(g.explore("To Do", Some("new"))), ["11", "41"]);
        assert_eq!(ids(g.explore("To Do", None)), ["11", "41"], "listed order when nothing is preferred");
        g.learn(&review, &[t("31", &done), t("61", &doing)]);
        assert_eq!(ids(g.path("To Do", "Done")), ["11", "21", "31"]);
        g.learn(&blocked, &[t("51", &doing)]);
        g.learn(&done, &[t("71", &todo)]);
        assert!(g.explore("Done", Some("done")).is_none(), "everything is explored");
        assert_eq!(ids(g.path("On Hold", "Done")), ["51", "21", "31"]);
    }
}
