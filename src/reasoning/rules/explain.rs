//! Failure explanations: which subgoals could not be established, and why.
//!
//! When a goal is not in the model, every rule whose head matches the goal is tried again
//! top-down against the (complete) model: its positive body literals are matched left to right
//! (backtracking over matching facts), then its negated literals are checked. The attempt that
//! gets furthest is the "best partial attempt"; its first failing literal is the failed subgoal.
//! A failing positive literal is explained the same way, recursively (bounded depth, no
//! revisiting the same subgoal), so `failed_subgoals` runs from the goal's direct subgoal down
//! to the deepest literal that could not be established; a failing negated literal `not x`
//! ends the chain (it failed because `x` holds). A step budget bounds the work.

use std::collections::{HashMap, HashSet};

use super::least_model::Model;
use super::syntax::{Atom, Rule, Term};

/// Why a goal could not be proved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Explanation {
    /// A human sentence naming the failing subgoals and the reason at the bottom.
    pub reason: String,
    /// The failing subgoals, outermost first, deepest last.
    pub failed_subgoals: Vec<String>,
}

const MAX_EXPLAIN_DEPTH: usize = 12;
const STEP_BUDGET: usize = 20_000;
const MATCHES_PER_LITERAL: usize = 64;

/// Explains why `goal` is not in `model` (evaluated from `rules`).
pub fn explain_failure(model: &Model, rules: &[Rule], goal: &Atom) -> Explanation {
    let mut ctx = Explainer {
        model,
        rules,
        budget: STEP_BUDGET,
        visited: HashSet::new(),
    };
    let (failed_subgoals, why) = ctx.explain_atom(goal, 0);
    Explanation {
        reason: format!("cannot prove `{goal}`: {why}"),
        failed_subgoals,
    }
}

type Bindings = HashMap<String, String>;

/// The furthest point one rule attempt reached.
#[derive(Default)]
struct Attempt {
    recorded: bool,
    satisfied: usize,
    established: Vec<String>,
    /// The first literal that failed (instantiated as far as known) and whether it is negated.
    failing: Option<(Atom, bool)>,
}

struct Explainer<'a> {
    model: &'a Model,
    rules: &'a [Rule],
    budget: usize,
    visited: HashSet<String>,
}

fn instantiate(atom: &Atom, b: &Bindings) -> Atom {
    Atom {
        pred: atom.pred.clone(),
        args: atom
            .args
            .iter()
            .map(|t| match t {
                Term::Var(v) => b
                    .get(v)
                    .map_or_else(|| t.clone(), |c| Term::Const(c.clone())),
                Term::Const(_) => t.clone(),
            })
            .collect(),
    }
}

/// Unifies a rule head with a goal (goal variables are wildcards); returns head bindings.
fn unify_head(head: &Atom, goal: &Atom) -> Option<Bindings> {
    if head.pred != goal.pred || head.args.len() != goal.args.len() {
        return None;
    }
    let mut b = Bindings::new();
    for (h, g) in head.args.iter().zip(&goal.args) {
        match (h, g) {
            (Term::Const(x), Term::Const(y)) if x != y => return None,
            (Term::Var(v), Term::Const(y)) => match b.get(v) {
                Some(x) if x != y => return None,
                _ => {
                    b.insert(v.clone(), y.clone());
                }
            },
            _ => {}
        }
    }
    Some(b)
}

/// Extends `b` so that `pattern` equals the ground `fact`.
fn extend(pattern: &Atom, fact: &Atom, b: &Bindings) -> Option<Bindings> {
    let mut out = b.clone();
    for (p, f) in pattern.args.iter().zip(&fact.args) {
        let Term::Const(value) = f else { return None };
        match p {
            Term::Const(c) if c != value => return None,
            Term::Const(_) => {}
            Term::Var(v) => match out.get(v) {
                Some(x) if x != value => return None,
                Some(_) => {}
                None => {
                    out.insert(v.clone(), value.clone());
                }
            },
        }
    }
    Some(out)
}

impl Explainer<'_> {
    fn explain_atom(&mut self, atom: &Atom, depth: usize) -> (Vec<String>, String) {
        if !self.visited.insert(atom.to_string()) {
            return (
                Vec::new(),
                format!(
                    "`{atom}` could only be derived from itself (recursion without a base case)"
                ),
            );
        }
        let arity = atom.args.len();
        let candidates: Vec<&Rule> = self
            .rules
            .iter()
            .filter(|r| r.head.pred == atom.pred && r.head.args.len() == arity)
            .collect();
        if candidates.is_empty() {
            return (
                Vec::new(),
                format!(
                    "no fact matches `{atom}` and no rule concludes {}/{arity}",
                    atom.pred
                ),
            );
        }
        let mut best: Option<(&Rule, Attempt)> = None;
        for rule in &candidates {
            let Some(b) = unify_head(&rule.head, atom) else {
                continue;
            };
            let mut attempt = Attempt::default();
            let positives: Vec<&Atom> = rule.positive_body().collect();
            let negatives: Vec<&Atom> = rule.negative_body().collect();
            self.search(&positives, &negatives, 0, &b, &mut Vec::new(), &mut attempt);
            if attempt.recorded
                && best
                    .as_ref()
                    .is_none_or(|(_, a)| attempt.satisfied > a.satisfied)
            {
                best = Some((rule, attempt));
            }
        }
        let Some((rule, attempt)) = best else {
            let ids: Vec<&str> = candidates.iter().map(|r| r.id.as_str()).collect();
            return (
                Vec::new(),
                format!(
                    "no fact matches `{atom}` and no rule head matches it (rules for {}/{arity}: {})",
                    atom.pred,
                    ids.join(", ")
                ),
            );
        };
        let after = if attempt.established.is_empty() {
            String::new()
        } else {
            format!(" (after establishing {})", attempt.established.join(", "))
        };
        match attempt.failing {
            None => (
                Vec::new(),
                format!(
                    "rule {} applies, but the search limits were reached before a proof was found",
                    rule.id
                ),
            ),
            Some((lit, true)) => (
                vec![format!("not {lit}")],
                format!(
                    "rule {}{after} needs `not {lit}`, but `{lit}` holds",
                    rule.id
                ),
            ),
            Some((lit, false)) => {
                let (deeper, why) = if depth + 1 >= MAX_EXPLAIN_DEPTH {
                    (Vec::new(), format!("`{lit}` is not derivable"))
                } else {
                    self.explain_atom(&lit, depth + 1)
                };
                let mut chain = vec![lit.to_string()];
                chain.extend(deeper);
                (
                    chain,
                    format!("rule {}{after} needs `{lit}`; {why}", rule.id),
                )
            }
        }
    }

    fn search(
        &mut self,
        positives: &[&Atom],
        negatives: &[&Atom],
        i: usize,
        b: &Bindings,
        established: &mut Vec<String>,
        best: &mut Attempt,
    ) {
        let succeeded = best.recorded && best.failing.is_none();
        if self.budget == 0 || succeeded {
            return;
        }
        self.budget -= 1;
        let mut record =
            |satisfied: usize, failing: Option<(Atom, bool)>, established: &[String]| {
                if !best.recorded || satisfied > best.satisfied {
                    *best = Attempt {
                        recorded: true,
                        satisfied,
                        established: established.to_vec(),
                        failing,
                    };
                }
            };
        if i == positives.len() {
            for (k, neg) in negatives.iter().enumerate() {
                let ground = instantiate(neg, b);
                if !self.model.query(&ground, 1).is_empty() {
                    record(i + k, Some((ground, true)), established);
                    return;
                }
            }
            record(i + negatives.len(), None, established);
            return;
        }
        let pattern = instantiate(positives[i], b);
        let found = self.model.query(&pattern, MATCHES_PER_LITERAL);
        if found.is_empty() {
            record(i, Some((pattern, false)), established);
            return;
        }
        for fact in found {
            let atom = self.model.atom(fact);
            if let Some(next) = extend(&pattern, &atom, b) {
                established.push(atom.to_string());
                self.search(positives, negatives, i + 1, &next, established, best);
                established.pop();
            }
        }
    }
}
