//! Knowledge-graph facts in preconditions, kept in step with the graph.
//!
//! The graph's logical facts (`entity(Id)`, `place(Id)`, `works_at(A, B)`, …, see
//! [`KnowledgeGraph::logical_facts`]) are a layer of the rule base ([`RuleEngine::set_layer`]),
//! separate from the facts callers assert, so the layer can be replaced — facts added and
//! retracted — without touching theirs. Planning, the verify stage, `verifyAction` and
//! `proveTheorem` all sync the layer first, so a precondition is proved against the graph as
//! it is now, not as it was when someone last called `proveTheorem`.
//!
//! Only facts whose predicate a rule or a registered action's precondition mentions can
//! matter to a proof, so only those are copied: with no such predicate (the common case) a
//! sync costs a comparison of counts. The graph only grows, so its counts change whenever its
//! facts do; a relation known *only* through temporal facts (`addFact` with a validity
//! interval, dated sentences) holds while one of them is valid, so a sync also happens when
//! the next validity boundary passes.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use parking_lot::Mutex;

use crate::agent::ActionSpec;
use crate::error::Result;
use crate::knowledge::KnowledgeGraph;
use crate::reasoning::rules::{Atom, RuleEngine};

/// Most graph facts copied into the rule base.
const GRAPH_FACTS_LIMIT: usize = 1_000_000;

/// What the last sync saw.
#[derive(Default)]
struct Synced {
    /// Graph counts (nodes, edges, temporal facts) at the last sync.
    size: (usize, usize, usize),
    /// The predicates that mattered then.
    predicates: BTreeSet<String>,
    /// The next time a temporal fact starts or stops holding, if any.
    next_boundary_ms: Option<i64>,
    /// Whether anything was synced yet.
    done: bool,
}

/// Keeps the rule engine's graph layer in step with the graph.
#[derive(Default)]
pub(crate) struct GraphFacts {
    synced: Mutex<Synced>,
}

impl GraphFacts {
    /// Brings the layer up to date for `actions`' preconditions and the rules, at `now_ms`.
    pub(crate) fn sync(
        &self,
        graph: &KnowledgeGraph,
        rules: &RuleEngine,
        actions: &[Arc<ActionSpec>],
        now_ms: i64,
    ) -> Result<()> {
        let mut predicates = rules.rule_predicates();
        for a in actions {
            for p in &a.preconditions {
                predicates.insert(predicate_of(p).to_string());
            }
        }
        let size = graph.size();
        let mut synced = self.synced.lock();
        let boundary_passed = synced.next_boundary_ms.is_some_and(|b| now_ms >= b);
        if synced.done && synced.size == size && synced.predicates == predicates && !boundary_passed
        {
            return Ok(());
        }
        let (layer, next) = if predicates.is_empty() {
            (BTreeSet::new(), None)
        } else {
            layer_of(graph, &predicates, now_ms)
        };
        rules.set_layer(layer)?;
        *synced = Synced {
            size,
            predicates,
            next_boundary_ms: next,
            done: true,
        };
        Ok(())
    }
}

/// The predicate of an atom's text (`place(x)` → `place`, `authenticated` → itself).
fn predicate_of(atom: &str) -> &str {
    atom.split('(').next().unwrap_or(atom).trim()
}

/// The graph's facts over `predicates` holding at `now_ms`, and the next validity boundary.
fn layer_of(
    graph: &KnowledgeGraph,
    predicates: &BTreeSet<String>,
    now_ms: i64,
) -> (BTreeSet<Atom>, Option<i64>) {
    // Relations known through temporal facts: do any of them hold now?
    let mut temporal: HashMap<(String, String, String), bool> = HashMap::new();
    let mut next: Option<i64> = None;
    for f in graph.temporal_facts() {
        let holds = f.valid_at(now_ms);
        let entry = temporal
            .entry((f.relation.clone(), f.subject.clone(), f.object.clone()))
            .or_insert(false);
        *entry |= holds;
        for b in [f.valid_from_ms, f.valid_until_ms].into_iter().flatten() {
            if b > now_ms {
                next = Some(next.map_or(b, |n: i64| n.min(b)));
            }
        }
    }
    let mut layer = BTreeSet::new();
    for (pred, args) in graph.logical_facts(GRAPH_FACTS_LIMIT) {
        if !predicates.contains(&pred) {
            continue;
        }
        if let [a, b] = args.as_slice() {
            let key = (pred.clone(), a.clone(), b.clone());
            let back = (pred.clone(), b.clone(), a.clone());
            let known = temporal.get(&key).or_else(|| temporal.get(&back));
            if known == Some(&false) {
                continue;
            }
        }
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let atom = Atom::fact(pred.as_str(), &refs);
        if atom.validate_fact().is_ok() {
            layer.insert(atom);
        }
    }
    (layer, next)
}
