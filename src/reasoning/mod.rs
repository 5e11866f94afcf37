//! Formal reasoning about agent actions.
//!
//! Three complementary checks live here:
//!
//! * [`policy`]: every tool call an agent wants to make is mapped onto a Cedar authorization
//!   request (principal = the agent, action = the tool/action name, resource = what it touches,
//!   context = the call's parameters and session facts) and decided by the Cedar authorizer
//!   against a loaded policy set. Each decision carries the determining policies, human reasons,
//!   the closest permit policies on a default deny ("near misses") and a replayable
//!   [`policy::Certificate`].
//! * [`rules`]: a Horn-clause rule engine with stratified negation whose proofs (derivation
//!   trees) are re-verified by an independent checker; action preconditions are its goals.
//! * [`workflow`]: a multi-step plan (a DAG of steps with optional mutually exclusive branches)
//!   is checked against temporal properties ("approve precedes pay", "at most one pay", no cycles,
//!   every step reachable) by reasoning on ancestor sets per branch choice, and optionally every
//!   step is checked against the policy engine.

pub mod policy;
pub mod rules;
pub mod workflow;

pub use policy::{
    check_certificate, AuthzRequest, CacheStats, Certificate, CertificateCheck, CertifiedRequest,
    Decision, DecisionKind, EntityRef, EvaluationMode, EvaluationStats, NearMiss, PolicyEngine,
    PolicyEvaluation, PolicyRef, PolicySetInfo, RequestMapping, Verdict,
};
pub use workflow::{
    run_plan, verify_workflow, verify_workflow_with, Branch, Property, RunPlan, Selector,
    StepCheck, Violation, ViolationKind, Workflow, WorkflowReport, WorkflowStep,
};

#[cfg(test)]
mod tests;
