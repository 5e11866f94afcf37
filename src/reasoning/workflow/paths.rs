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

/// How a workflow runs under one branch choice: what `executeWorkflow` follows, so a run takes
/// exactly a path the verifier checked.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunPlan {
    /// The option chosen for each branch group: the one asked for, else the group's first
    /// option in step order.
    pub branches: BTreeMap<String, String>,
    /// Ids of the steps that run, in a topological order.
    pub running: Vec<String>,
    /// Ids of the steps that do not run (another option chosen, or no dependency runs).
    pub not_taken: Vec<String>,
    /// For each running step, its dependencies that run (the ones it waits for).
    pub dependencies: BTreeMap<String, Vec<String>>,
}

/// The [`RunPlan`] of `wf` for the options `wanted` names (others: the first option). An option
/// that the group does not have is `ERR_INVALID_INPUT`.
pub fn run_plan(wf: &Workflow, wanted: &BTreeMap<String, String>) -> Result<RunPlan> {
    let graph = Graph::build(wf)?;
    if let Some(cycle) = graph.find_cycle() {
        let ids: Vec<&str> = cycle.iter().map(|&s| wf.steps[s].id.as_str()).collect();
        return err(
            ErrorCode::InvalidWorkflow,
            format!(
                "steps {} form a dependency cycle; the workflow cannot run",
                ids.join(" -> ")
            ),
        );
    }
    let topo = graph.topo_order();
    let mut options: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for step in &wf.steps {
        if let Some(b) = &step.branch {
            let o = options.entry(b.group.as_str()).or_default();
            if !o.contains(&b.option.as_str()) {
                o.push(b.option.as_str());
            }
        }
    }
    for (group, option) in wanted {
        let Some(opts) = options.get(group.as_str()) else {
            return err(
                ErrorCode::InvalidInput,
                format!(
                    "branches.{group}: workflow \"{}\" has no branch group {group:?} (groups: {})",
                    wf.id,
                    options
                        .keys()
                        .map(|g| format!("{g:?}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            );
        };
        if !opts.contains(&option.as_str()) {
            return err(
                ErrorCode::InvalidInput,
                format!(
                    "branches.{group} is {option:?}, but branch group {group:?} has options {}",
                    opts.iter()
                        .map(|o| format!("{o:?}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            );
        }
    }
    let branches: BTreeMap<String, String> = options
        .iter()
        .map(|(g, opts)| {
            let chosen = wanted.get(*g).map(String::as_str).unwrap_or(opts[0]);
            (g.to_string(), chosen.to_string())
        })
        .collect();
    let n = graph.len();
    let mut active = vec![false; n];
    for &s in &topo {
        let step = &wf.steps[s];
        let branch_ok = step
            .branch
            .as_ref()
            .is_none_or(|b| branches.get(&b.group) == Some(&b.option));
        let deps = &graph.deps[s];
        active[s] = branch_ok && (deps.is_empty() || deps.iter().any(|&d| active[d]));
    }
    let running: Vec<String> = topo
        .iter()
        .filter(|&&s| active[s])
        .map(|&s| wf.steps[s].id.clone())
        .collect();
    let not_taken = (0..n)
        .filter(|&s| !active[s])
        .map(|s| wf.steps[s].id.clone())
        .collect();
    let dependencies = topo
        .iter()
        .filter(|&&s| active[s])
        .map(|&s| {
            let deps = graph.deps[s]
                .iter()
                .filter(|&&d| active[d])
                .map(|&d| wf.steps[d].id.clone())
                .collect();
            (wf.steps[s].id.clone(), deps)
        })
        .collect();
    Ok(RunPlan {
        branches,
        running,
        not_taken,
        dependencies,
    })
}
