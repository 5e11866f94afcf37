//! The step dependency graph: validation, cycle detection, topological order, bit sets.

use std::collections::HashMap;

use super::types::Workflow;
use crate::error::{err, ErrorCode, Result};

/// A fixed-size set of step indices.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BitSet {
    words: Vec<u64>,
}

impl BitSet {
    /// An empty set able to hold indices `0..n`.
    pub(crate) fn new(n: usize) -> Self {
        BitSet {
            words: vec![0; n.div_ceil(64)],
        }
    }

    pub(crate) fn insert(&mut self, i: usize) {
        self.words[i / 64] |= 1 << (i % 64);
    }

    pub(crate) fn contains(&self, i: usize) -> bool {
        self.words[i / 64] & (1 << (i % 64)) != 0
    }

    pub(crate) fn union_with(&mut self, other: &BitSet) {
        for (a, b) in self.words.iter_mut().zip(&other.words) {
            *a |= *b;
        }
    }

    /// True when the two sets share an element.
    pub(crate) fn intersects(&self, other: &BitSet) -> bool {
        self.words.iter().zip(&other.words).any(|(a, b)| a & b != 0)
    }
}

/// Steps as indices with their dependency lists.
pub(crate) struct Graph {
    pub(crate) deps: Vec<Vec<usize>>,
}

impl Graph {
    /// Checks ids and dependencies and builds the index graph.
    pub(crate) fn build(wf: &Workflow) -> Result<Self> {
        if wf.id.trim().is_empty() {
            return err(ErrorCode::InvalidWorkflow, "the workflow id is empty");
        }
        if wf.steps.is_empty() {
            return err(
                ErrorCode::InvalidWorkflow,
                format!("workflow \"{}\" has no steps", wf.id),
            );
        }
        let mut index = HashMap::new();
        for (i, step) in wf.steps.iter().enumerate() {
            if step.id.trim().is_empty() {
                return err(
                    ErrorCode::InvalidWorkflow,
                    format!("step #{i} has an empty id; give every step a unique id"),
                );
            }
            if step.action.trim().is_empty() {
                return err(
                    ErrorCode::InvalidWorkflow,
                    format!("step \"{}\" has an empty action", step.id),
                );
            }
            if step.agent_id.trim().is_empty() {
                return err(
                    ErrorCode::InvalidWorkflow,
                    format!("step \"{}\" has an empty agentId", step.id),
                );
            }
            if let Some(branch) = &step.branch {
                if branch.group.trim().is_empty() || branch.option.trim().is_empty() {
                    return err(
                        ErrorCode::InvalidWorkflow,
                        format!(
                            "step \"{}\" has a branch with an empty group or option",
                            step.id
                        ),
                    );
                }
            }
            if index.insert(step.id.as_str(), i).is_some() {
                return err(
                    ErrorCode::InvalidWorkflow,
                    format!(
                        "step id \"{}\" is used twice; step ids must be unique",
                        step.id
                    ),
                );
            }
        }
        let mut deps = Vec::with_capacity(wf.steps.len());
        for step in &wf.steps {
            let mut list = Vec::with_capacity(step.depends_on.len());
            for dep in &step.depends_on {
                match index.get(dep.as_str()) {
                    Some(&d) if !list.contains(&d) => list.push(d),
                    Some(_) => {}
                    None => {
                        return err(
                            ErrorCode::InvalidWorkflow,
                            format!("step \"{}\" depends on unknown step \"{dep}\"", step.id),
                        )
                    }
                }
            }
            deps.push(list);
        }
        Ok(Graph { deps })
    }

    /// Number of steps.
    pub(crate) fn len(&self) -> usize {
        self.deps.len()
    }

    /// A cycle as a list of step indices (first repeated at the end), if any.
    pub(crate) fn find_cycle(&self) -> Option<Vec<usize>> {
        // 0 = unvisited, 1 = on the DFS stack, 2 = done. Iterative DFS over dependencies.
        let n = self.len();
        let mut color = vec![0u8; n];
        let mut parent = vec![usize::MAX; n];
        for start in 0..n {
            if color[start] != 0 {
                continue;
            }
            let mut stack = vec![(start, 0usize)];
            color[start] = 1;
            while let Some(&mut (node, ref mut next)) = stack.last_mut() {
                if let Some(&dep) = self.deps[node].get(*next) {
                    *next += 1;
                    match color[dep] {
                        0 => {
                            color[dep] = 1;
                            parent[dep] = node;
                            stack.push((dep, 0));
                        }
                        1 => {
                            // node depends on dep which is on the stack: dep -> ... -> node -> dep.
                            let mut cycle = vec![node];
                            let mut cur = node;
                            while cur != dep {
                                cur = parent[cur];
                                cycle.push(cur);
                            }
                            // cycle lists node, its ancestors on the stack, ..., dep: in
                            // execution order dep must precede ... precede node precede dep.
                            cycle.push(node);
                            return Some(cycle);
                        }
                        _ => {}
                    }
                } else {
                    color[node] = 2;
                    stack.pop();
                }
            }
        }
        None
    }

    /// A topological order (dependencies first), stable in declaration order. Requires no cycle.
    pub(crate) fn topo_order(&self) -> Vec<usize> {
        let n = self.len();
        let mut dependents = vec![Vec::new(); n];
        let mut missing = vec![0usize; n];
        for (step, deps) in self.deps.iter().enumerate() {
            missing[step] = deps.len();
            for &d in deps {
                dependents[d].push(step);
            }
        }
        let mut ready: std::collections::BTreeSet<usize> =
            (0..n).filter(|&i| missing[i] == 0).collect();
        let mut order = Vec::with_capacity(n);
        while let Some(step) = ready.pop_first() {
            order.push(step);
            for &next in &dependents[step] {
                missing[next] -= 1;
                if missing[next] == 0 {
                    ready.insert(next);
                }
            }
        }
        order
    }
}
