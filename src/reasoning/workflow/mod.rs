//! Verification of multi-step agent workflows.
//!
//! A [`Workflow`] is a DAG of [`WorkflowStep`]s (`dependsOn` edges) in which steps that share a
//! [`Branch`] group with different options are mutually exclusive alternatives. The verifier:
//!
//! 1. validates the structure (unique non-empty ids, known dependencies) — errors are
//!    `ERR_INVALID_WORKFLOW`;
//! 2. checks `noCycles` (a cycle is reported as a violation with the cycle as counterexample,
//!    and the remaining checks are skipped since no execution exists);
//! 3. enumerates branch-choice combinations only (at most [`paths::MAX_PATHS`]) and computes,
//!    per combination, which steps run and each step's ancestor set (see [`paths`] for the
//!    execution model);
//! 4. checks `allReachable` and the given [`Property`]s exactly on those ancestor sets, giving
//!    a concrete execution order as counterexample (see [`properties`]);
//! 5. optionally asks a [`PolicyEngine`] about every reachable step with the context the
//!    caller builds from the step, the actions guaranteed to run before it on every path and
//!    its position in a topological order (the engine builds the same record a step meets at
//!    run time); a denied step is a violation with property `{"type": "policy", "step": id}`.
//!
//! Properties name steps by id or by action (see [`Selector`]). A property whose selector
//! matches no step is a violation of kind `absent` (with the closest step id or action as a
//! hint), never a vacuous pass.

mod graph;
pub mod paths;
pub mod properties;
mod types;

pub use paths::{run_plan, RunPlan};
pub use types::{
    Branch, Property, Selector, StepCheck, Violation, ViolationKind, Workflow, WorkflowReport,
    WorkflowStep,
};

/// Builds a step's Cedar context from the step, the actions guaranteed to run before it, and
/// its position in a topological order.
pub type StepContextFn<'a> = dyn Fn(&WorkflowStep, &[String], usize) -> serde_json::Value + 'a;

use serde_json::json;

use crate::error::{Error, Result};
use crate::reasoning::policy::{EntityRef, PolicyEngine};
use graph::Graph;
use paths::{enumerate_paths, PathView};

/// [`verify_workflow_with`] on the plain context `{ params: inputs, priorSteps, stepIndex,
/// workflowId }` and no registered actions (the engine passes its own builder).
pub fn verify_workflow(
    wf: &Workflow,
    props: &[Property],
    engine: Option<&PolicyEngine>,
) -> Result<WorkflowReport> {
    let context = |step: &WorkflowStep, prior: &[String], position: usize| {
        json!({
            "params": if step.inputs.is_null() { json!({}) } else { step.inputs.clone() },
            "priorSteps": prior.iter().collect::<std::collections::BTreeSet<_>>(),
            "stepIndex": position,
            "workflowId": wf.id,
        })
    };
    verify_workflow_with(wf, props, engine, &[], &context)
}

/// Verifies `wf` against `props` (plus `noCycles` and `allReachable`), and checks each
/// reachable step against `engine` when one with loaded policies is given, on the context
/// `context` builds. `known_actions` (registered action names) feed "did you mean" hints.
pub fn verify_workflow_with(
    wf: &Workflow,
    props: &[Property],
    engine: Option<&PolicyEngine>,
    known_actions: &[String],
    context: &StepContextFn<'_>,
) -> Result<WorkflowReport> {
    let graph = Graph::build(wf)?;
    let mut report = WorkflowReport {
        ok: true,
        violations: Vec::new(),
        step_checks: Vec::new(),
        warnings: Vec::new(),
        paths_checked: 0,
    };
    if let Some(cycle) = graph.find_cycle() {
        let ids: Vec<String> = cycle.iter().map(|&s| wf.steps[s].id.clone()).collect();
        report.violations.push(Violation {
            property: json!({"type": "noCycles"}),
            kind: ViolationKind::Violated,
            message: format!(
                "steps {} form a dependency cycle (each must run before the next), so none of \
                 them can ever run; other properties were not checked",
                ids.join(" -> ")
            ),
            counterexample: ids,
        });
        report.ok = false;
        return Ok(report);
    }
    let topo = graph.topo_order();
    let paths = enumerate_paths(wf, &graph, &topo)?;
    report.paths_checked = paths.len();
    let ctx = properties::Context {
        wf,
        topo: &topo,
        paths: &paths,
        known_actions,
    };
    let unreachable = ctx.unreachable();
    if !unreachable.is_empty() {
        let ids: Vec<String> = unreachable
            .iter()
            .map(|&s| wf.steps[s].id.clone())
            .collect();
        report.violations.push(Violation {
            property: json!({"type": "allReachable"}),
            kind: ViolationKind::Violated,
            message: format!(
                "steps {} run on no path: under every branch choice either their own branch \
                 option is not chosen or none of their dependencies runs",
                ids.join(", ")
            ),
            counterexample: ids,
        });
    }
    for property in props {
        if let Some(violation) = ctx.check(property) {
            report.violations.push(violation);
        }
    }
    if let Some(engine) = engine {
        if engine.has_policies() {
            check_steps(wf, &topo, &paths, engine, context, &mut report)?;
        } else {
            report
                .warnings
                .push("no policies are loaded; per-step policy checks were skipped".into());
        }
    }
    report.ok = report.violations.is_empty();
    Ok(report)
}

/// Asks the policy engine about every reachable step.
fn check_steps(
    wf: &Workflow,
    topo: &[usize],
    paths: &[PathView],
    engine: &PolicyEngine,
    context: &StepContextFn<'_>,
    report: &mut WorkflowReport,
) -> Result<()> {
    let mapping = engine.mapping();
    for (position, &s) in topo.iter().enumerate() {
        let step = &wf.steps[s];
        let running: Vec<&PathView> = paths.iter().filter(|p| p.active[s]).collect();
        let Some(first_path) = running.first() else {
            continue;
        };
        let prior_steps = guaranteed_prior_actions(wf, s, &running);
        let resource = match &step.resource {
            Some(r) => EntityRef::parse(r, &mapping.resource_type),
            None => Ok(EntityRef::new(&mapping.resource_type, &wf.id)),
        }
        .map_err(|e| step_error(step, e))?;
        let request = crate::reasoning::policy::AuthzRequest {
            principal: EntityRef::new(&mapping.principal_type, &step.agent_id),
            action: step.action.clone(),
            resource,
            context: context(step, &prior_steps, position),
        };
        let decision = engine
            .authorize(&request)
            .map_err(|e| step_error(step, e))?;
        if !decision.is_allowed() {
            let order = first_path.order_with_first(topo, s);
            let cut = order
                .iter()
                .position(|&x| x == s)
                .map_or(order.len(), |i| i + 1);
            report.violations.push(Violation {
                property: json!({"type": "policy", "step": step.id}),
                kind: ViolationKind::Denied,
                message: format!(
                    "step \"{}\" ({} by {}) is denied: {}",
                    step.id,
                    step.action,
                    step.agent_id,
                    decision.reasons.join("; ")
                ),
                counterexample: order[..cut]
                    .iter()
                    .map(|&x| wf.steps[x].id.clone())
                    .collect(),
            });
        }
        report.step_checks.push(StepCheck {
            step_id: step.id.clone(),
            decision: decision.decision,
            determining_policies: decision.determining_policies,
            reasons: decision.reasons,
            prior_steps: {
                let mut distinct = prior_steps;
                distinct.dedup();
                distinct
            },
        });
    }
    Ok(())
}

/// Actions of steps that run before `s` on every path where `s` runs, each as many times as
/// it runs before `s` at least (the minimum over those paths), sorted.
fn guaranteed_prior_actions(wf: &Workflow, s: usize, running: &[&PathView]) -> Vec<String> {
    use std::collections::BTreeMap;
    let mut common: Option<BTreeMap<&str, usize>> = None;
    for path in running {
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        for x in (0..wf.steps.len()).filter(|&x| path.ancestors[s].contains(x)) {
            *counts.entry(wf.steps[x].action.as_str()).or_default() += 1;
        }
        common = Some(match common {
            None => counts,
            Some(prev) => prev
                .into_iter()
                .filter_map(|(a, n)| counts.get(a).map(|m| (a, n.min(*m))))
                .collect(),
        });
    }
    common
        .unwrap_or_default()
        .into_iter()
        .flat_map(|(a, n)| std::iter::repeat_n(a.to_string(), n))
        .collect()
}

fn step_error(step: &WorkflowStep, e: Error) -> Error {
    Error::new(e.code, format!("step \"{}\": {}", step.id, e.message))
}
