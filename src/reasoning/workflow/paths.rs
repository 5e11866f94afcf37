//! Branch choices and the steps that run under each.
//!
//! A *path* is one choice of option for every branch group. Under a choice, a step runs when
//! (a) it has no branch or its option is the chosen one, and (b) it has no dependencies or at
//! least one of its dependencies runs: skipping propagates only when *every* dependency was
//! skipped, so a join step after alternatives runs after whichever alternative ran. Steps that
//! run are ordered only by their running dependencies; the ancestor set of a step on a path is
//! exactly the set of steps guaranteed to have run before it on every execution of that path.
//! Only branch combinations are enumerated (bounded by [`MAX_PATHS`]), never linearisations.

use std::collections::BTreeMap;

use super::graph::{BitSet, Graph};
use super::types::Workflow;
use crate::error::{err, ErrorCode, Result};

/// Maximum number of branch-choice combinations examined.
pub const MAX_PATHS: usize = 4096;

/// The steps that run under one branch choice, with their ancestor sets.
pub(crate) struct PathView {
    /// `(group, option)` chosen for each group, sorted by group.
    pub(crate) choice: Vec<(String, String)>,
    /// Which steps run.
    pub(crate) active: Vec<bool>,
    /// Running steps guaranteed to run before each step.
    pub(crate) ancestors: Vec<BitSet>,
}

impl PathView {
    /// `group=option, ...` or `no branches`.
    pub(crate) fn describe(&self) -> String {
        if self.choice.is_empty() {
            return "on the only path".into();
        }
        let parts: Vec<String> = self
            .choice
            .iter()
            .map(|(g, o)| format!("{g}={o}"))
            .collect();
        format!("when {}", parts.join(", "))
    }

    /// A valid execution order of the running steps that runs `first`'s ancestors, then
    /// `first`, then everything else (in topological order).
    pub(crate) fn order_with_first(&self, topo: &[usize], first: usize) -> Vec<usize> {
        let anc = &self.ancestors[first];
        let mut order: Vec<usize> = topo
            .iter()
            .copied()
            .filter(|&s| self.active[s] && anc.contains(s))
            .collect();
        order.push(first);
        order.extend(
            topo.iter()
                .copied()
                .filter(|&s| self.active[s] && s != first && !anc.contains(s)),
        );
        order
    }

    /// All running steps in topological order.
    pub(crate) fn order(&self, topo: &[usize]) -> Vec<usize> {
        topo.iter().copied().filter(|&s| self.active[s]).collect()
    }
}

/// Enumerates every branch choice of an acyclic workflow.
pub(crate) fn enumerate_paths(
    wf: &Workflow,
    graph: &Graph,
    topo: &[usize],
) -> Result<Vec<PathView>> {
    let mut groups: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for step in &wf.steps {
        if let Some(branch) = &step.branch {
            let options = groups.entry(branch.group.as_str()).or_default();
            if !options.contains(&branch.option.as_str()) {
                options.push(branch.option.as_str());
            }
        }
    }
    let mut total: usize = 1;
    for options in groups.values() {
        total = total.saturating_mul(options.len());
    }
    if total > MAX_PATHS {
        return err(
            ErrorCode::InvalidWorkflow,
            format!(
                "workflow \"{}\" has {total} branch combinations (more than {MAX_PATHS}); \
                 split it into smaller workflows or merge branch groups",
                wf.id
            ),
        );
    }
    let group_list: Vec<(&str, &Vec<&str>)> = groups.iter().map(|(g, o)| (*g, o)).collect();
    let n = graph.len();
    let mut paths = Vec::with_capacity(total);
    for combo in 0..total {
        let mut rest = combo;
        let mut chosen: BTreeMap<&str, &str> = BTreeMap::new();
        for (group, options) in &group_list {
            chosen.insert(group, options[rest % options.len()]);
            rest /= options.len();
        }
        let mut active = vec![false; n];
        let mut ancestors = vec![BitSet::new(n); n];
        for &s in topo {
            let step = &wf.steps[s];
            let branch_ok = step
                .branch
                .as_ref()
                .is_none_or(|b| chosen.get(b.group.as_str()) == Some(&b.option.as_str()));
            let deps = &graph.deps[s];
            let runs = branch_ok && (deps.is_empty() || deps.iter().any(|&d| active[d]));
            if !runs {
                continue;
            }
            active[s] = true;
            let mut anc = BitSet::new(n);
            for &d in deps.iter().filter(|&&d| active[d]) {
                anc.union_with(&ancestors[d]);
                anc.insert(d);
            }
            ancestors[s] = anc;
        }
        paths.push(PathView {
            choice: chosen
                .into_iter()
                .map(|(g, o)| (g.to_string(), o.to_string()))
                .collect(),
            active,
            ancestors,
        });
    }
    Ok(paths)
}
