//! Stratification: ordering rules so that negation only looks at completed predicates.
//!
//! The predicate dependency graph has an edge `q -> p` for each rule with head predicate `p`
//! and a body literal on `q` (negative if the literal is negated). Its strongly connected
//! components (Tarjan's algorithm) are the groups of mutually recursive predicates. A negative
//! edge inside a component is recursion through negation: the rule set has no stratified
//! meaning and is rejected with the offending cycle spelled out. Otherwise every component that
//! some rule concludes becomes one stratum, in topological order (dependencies first), so the
//! evaluator can finish each stratum before any rule negates one of its predicates.
//! Predicates are identified by name (all arities together), which is conservative.

use std::collections::{HashMap, VecDeque};

use super::syntax::Rule;
use crate::error::{err, ErrorCode, Result};

/// One stratum: the rules to evaluate together and the predicates they define.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stratum {
    /// Indices into the rule slice given to [`stratify`], in input order.
    pub rules: Vec<usize>,
    /// The predicate names concluded in this stratum (mutually recursive).
    pub predicates: Vec<String>,
}

/// The predicate dependency graph.
struct Graph<'a> {
    names: Vec<&'a str>,
    /// `edges[q]` lists `(p, negated)` for every dependency edge `q -> p`.
    edges: Vec<Vec<(usize, bool)>>,
}

impl<'a> Graph<'a> {
    fn build(rules: &'a [Rule]) -> (Graph<'a>, HashMap<&'a str, usize>) {
        let mut ids: HashMap<&str, usize> = HashMap::new();
        let mut graph = Graph {
            names: Vec::new(),
            edges: Vec::new(),
        };
        for rule in rules {
            for atom in std::iter::once(&rule.head).chain(rule.body.iter().map(|l| &l.atom)) {
                if !ids.contains_key(atom.pred.as_str()) {
                    ids.insert(atom.pred.as_str(), graph.names.len());
                    graph.names.push(atom.pred.as_str());
                    graph.edges.push(Vec::new());
                }
            }
            let p = ids[rule.head.pred.as_str()];
            for lit in &rule.body {
                let q = ids[lit.atom.pred.as_str()];
                graph.edges[q].push((p, lit.negated));
            }
        }
        (graph, ids)
    }

    /// Tarjan's strongly connected components (iterative), returned in reverse topological
    /// order of the edge direction (a component comes after every component it reaches).
    fn components(&self) -> Vec<Vec<usize>> {
        let n = self.names.len();
        let mut index = vec![usize::MAX; n];
        let mut low = vec![0usize; n];
        let mut on_stack = vec![false; n];
        let mut stack: Vec<usize> = Vec::new();
        let mut out: Vec<Vec<usize>> = Vec::new();
        let mut counter = 0usize;
        for root in 0..n {
            if index[root] != usize::MAX {
                continue;
            }
            // Call stack of (node, next edge position).
            let mut calls: Vec<(usize, usize)> = vec![(root, 0)];
            index[root] = counter;
            low[root] = counter;
            counter += 1;
            stack.push(root);
            on_stack[root] = true;
            while let Some(&mut (v, ref mut pos)) = calls.last_mut() {
                if let Some(&(w, _)) = self.edges[v].get(*pos) {
                    *pos += 1;
                    if index[w] == usize::MAX {
                        index[w] = counter;
                        low[w] = counter;
                        counter += 1;
                        stack.push(w);
                        on_stack[w] = true;
                        calls.push((w, 0));
                    } else if on_stack[w] {
                        low[v] = low[v].min(index[w]);
                    }
                    continue;
                }
                calls.pop();
                if let Some(&(parent, _)) = calls.last() {
                    low[parent] = low[parent].min(low[v]);
                }
                if low[v] == index[v] {
                    let mut component = Vec::new();
                    while let Some(w) = stack.pop() {
                        on_stack[w] = false;
                        component.push(w);
                        if w == v {
                            break;
                        }
                    }
                    out.push(component);
                }
            }
        }
        out
    }

    /// A shortest path `from -> ... -> to` using only nodes of `component`.
    fn path_within(&self, from: usize, to: usize, component: &[usize]) -> Vec<usize> {
        let mut prev: HashMap<usize, usize> = HashMap::new();
        let mut queue = VecDeque::from([from]);
        prev.insert(from, from);
        while let Some(v) = queue.pop_front() {
            if v == to {
                break;
            }
            for &(w, _) in &self.edges[v] {
                if component.contains(&w) && !prev.contains_key(&w) {
                    prev.insert(w, v);
                    queue.push_back(w);
                }
            }
        }
        let mut path = vec![to];
        let mut cur = to;
        while cur != from {
            match prev.get(&cur) {
                Some(&p) => {
                    path.push(p);
                    cur = p;
                }
                None => break,
            }
        }
        path.reverse();
        path
    }
}

/// Splits `rules` into strata in evaluation order, or fails with [`ErrorCode::RuleParse`]
/// naming a cycle of predicates that goes through negation.
pub fn stratify(rules: &[Rule]) -> Result<Vec<Stratum>> {
    let (graph, ids) = Graph::build(rules);
    let mut components = graph.components();
    components.reverse(); // dependencies first
    let mut component_of = vec![0usize; graph.names.len()];
    for (c, members) in components.iter().enumerate() {
        for &m in members {
            component_of[m] = c;
        }
    }
    for (q, edges) in graph.edges.iter().enumerate() {
        for &(p, negated) in edges {
            if negated && component_of[p] == component_of[q] {
                // p depends negatively on q, and q is reachable from p: show p -> ... -> q -> p.
                let members = &components[component_of[p]];
                let path = graph.path_within(p, q, members);
                let cycle: Vec<&str> = path.iter().map(|&n| graph.names[n]).collect();
                return err(
                    ErrorCode::RuleParse,
                    format!(
                        "the rule set is not stratifiable: predicate `{}` depends on `not {}` \
                         while `{}` depends on `{}` (cycle through negation: {} -not-> {}; remove the \
                         negation from the cycle or split the predicate; `a -> b` means a rule \
                         for b uses a)",
                        graph.names[p],
                        graph.names[q],
                        graph.names[q],
                        graph.names[p],
                        cycle.join(" -> "),
                        graph.names[p]
                    ),
                );
            }
        }
    }
    let mut strata: Vec<Stratum> = components
        .iter()
        .map(|members| Stratum {
            rules: Vec::new(),
            predicates: members
                .iter()
                .map(|&m| graph.names[m].to_string())
                .collect(),
        })
        .collect();
    for (i, rule) in rules.iter().enumerate() {
        strata[component_of[ids[rule.head.pred.as_str()]]]
            .rules
            .push(i);
    }
    strata.retain(|s| !s.rules.is_empty());
    Ok(strata)
}
