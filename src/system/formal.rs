//! The formal verifier: Cedar authorization of every step (and, with the rule engine,
//! proofs of its preconditions).
//!
//! Mapping of a step onto a Cedar request (documented in the README):
//! - principal: `Agent::"<agentId>"` — the session's `agentId`, else the session id;
//! - action: `Action::"<action name>"`;
//! - resource: `Resource::"<session id>"` unless the caller names one;
//! - context: built by [`super::cedar_context::StepContext`] (params, the session's ledger,
//!   runs, approvals, session, stepIndex).
//!
//! A verification error (a malformed request, an engine failure, a policy that cannot be
//! evaluated, a request that does not conform to the schema) fails closed: deny.

use std::sync::Arc;

use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::cedar_context::StepContext;
use super::verify::{PolicyDetails, Verdict, Verification, Verifier, VerifyRequest};
use crate::error::Result;
use crate::reasoning::rules::{ProveOptions, ProveOutcome, RuleEngine};
use crate::reasoning::{DecisionKind, PolicyEngine};

/// A caller's question "may this action run?", outside of a processed chunk.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ActionCheck {
    /// The action (tool) name.
    #[serde(alias = "actionType")]
    pub name: String,
    /// The action's parameters (the Cedar `context.params`).
    #[serde(default)]
    pub params: Value,
    /// What it touches: a bare id or `Type::"id"` (default `Resource::"<session>"`).
    #[serde(default)]
    pub resource: Option<String>,
}

/// The context of an [`ActionCheck`].
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckContext {
    /// The session whose agent, history and context apply.
    #[serde(default)]
    pub session_id: Option<String>,
    /// The acting agent (overrides the session's).
    #[serde(default)]
    pub agent_id: Option<String>,
    /// Actions already run (overrides the session's history).
    #[serde(default)]
    pub prior_steps: Option<Vec<String>>,
    /// Approvals granted (any JSON).
    #[serde(default)]
    pub approvals: Option<Value>,
    /// The step's index.
    #[serde(default)]
    pub step_index: Option<u64>,
    /// Any other context fields, passed through to Cedar's `context`.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Turns a Cedar decision into the engine's verification answer.
pub fn to_verification(d: crate::reasoning::Decision) -> Verification {
    let decision = match d.decision {
        DecisionKind::Allow => Verdict::Allow,
        DecisionKind::Deny => Verdict::Deny,
    };
    Verification {
        decision,
        reasons: d.reasons,
        policy: Some(Box::new(PolicyDetails {
            determining_policies: d.determining_policies,
            errors: d.errors,
            near_miss: d.near_miss,
            certificate: d.certificate,
        })),
        details: Map::new(),
    }
}

/// A denial caused by a verification failure (fail closed).
pub fn fail_closed(message: String) -> Verification {
    let mut details = Map::new();
    details.insert("determiningPolicies".into(), json!([]));
    details.insert("errors".into(), json!([message.clone()]));
    Verification {
        decision: Verdict::Deny,
        reasons: vec![format!(
            "verification failed, so the action is denied: {message}"
        )],
        policy: None,
        details,
    }
}

/// Authorises a request built from its parts against `policies`.
pub fn authorize_parts(
    policies: &PolicyEngine,
    agent: &str,
    action: &str,
    resource: &str,
    context: Value,
) -> Result<Verification> {
    let req = policies
        .mapping()
        .request(agent, action, resource, context)?;
    Ok(to_verification(policies.authorize_owned(req)?))
}

/// The verifier used by the engine: proofs of the action's preconditions, then Cedar
/// policies over the step.
pub struct FormalVerifier {
    policies: Arc<PolicyEngine>,
    rules: Arc<RuleEngine>,
}

impl FormalVerifier {
    /// A verifier over a (possibly empty) policy engine and rule base.
    pub fn new(policies: Arc<PolicyEngine>, rules: Arc<RuleEngine>) -> Self {
        FormalVerifier { policies, rules }
    }
}

/// The outcome of proving an action's preconditions.
pub enum Preconditions {
    /// Every precondition was proved; the checked proofs, in order.
    Proved(Vec<crate::reasoning::rules::Proof>),
    /// A precondition could not be proved: the denial to return.
    Denied(Verification),
}

/// Proves each precondition from the rule base plus `premises` (the session's facts).
pub fn prove_preconditions(
    rules: &RuleEngine,
    preconditions: &[String],
    premises: &[String],
) -> Preconditions {
    let mut proofs = Vec::with_capacity(preconditions.len());
    let opts = ProveOptions {
        premises: premises.to_vec(),
        ..ProveOptions::default()
    };
    for goal in preconditions {
        match rules.prove(goal, &opts) {
            Ok(ProveOutcome::Proved(p)) => proofs.push(p),
            Ok(ProveOutcome::Failed {
                goal,
                reason,
                failed_subgoals,
            }) => {
                let mut details = Map::new();
                details.insert("failedGoal".into(), json!(goal));
                details.insert("failedSubgoals".into(), json!(failed_subgoals));
                details.insert("proofs".into(), json!(proofs));
                return Preconditions::Denied(Verification {
                    decision: Verdict::Deny,
                    reasons: vec![format!("precondition `{goal}` cannot be proved: {reason}")],
                    policy: None,
                    details,
                });
            }
            Err(e) => return Preconditions::Denied(fail_closed(e.to_string())),
        }
    }
    Preconditions::Proved(proofs)
}

/// The session's facts that are ground atoms (usable as premises).
pub fn premises_of(facts: impl IntoIterator<Item = String>) -> Vec<String> {
    facts
        .into_iter()
        .filter(|f| crate::reasoning::rules::parse_fact(f).is_ok())
        .collect()
}

/// The default resource of a request about session (or agent) `id`: `Resource::"<id>"`,
/// quoted so that it reads back as exactly `id` (whatever characters it holds).
pub fn default_resource(policies: &PolicyEngine, id: &str) -> String {
    crate::reasoning::policy::quoted_ref(&policies.mapping().resource_type, id)
}

impl Verifier for FormalVerifier {
    fn verify(&self, req: VerifyRequest<'_>) -> Verification {
        let proofs = if req.action.preconditions.is_empty() {
            Vec::new()
        } else {
            let premises = premises_of(req.session.facts());
            match prove_preconditions(&self.rules, &req.action.preconditions, &premises) {
                Preconditions::Proved(p) => p,
                Preconditions::Denied(v) => return v,
            }
        };
        let mut v = if !self.policies.has_policies() {
            Verification::skipped(
                "no policies are loaded: call loadPolicies() or pass `policies` to open() to verify actions",
            )
        } else {
            let (session, action) = (req.session, req.action);
            let resource = default_resource(&self.policies, &session.id);
            let mut context = StepContext::of_session(session, req.params.into_owned());
            if self.policies.reads(&action.name, "runs") {
                context.runs = Some(session.runs_json(
                    req.known_actions.iter().map(|a| a.name.as_str()),
                    req.now_ms,
                ));
            }
            match authorize_parts(
                &self.policies,
                session.agent_id(),
                &action.name,
                &resource,
                context.build(),
            ) {
                Ok(v) => v,
                Err(e) => fail_closed(e.to_string()),
            }
        };
        attach_proofs(&mut v, proofs);
        v
    }
}

/// Adds checked precondition proofs to a verification's details.
pub fn attach_proofs(v: &mut Verification, proofs: Vec<crate::reasoning::rules::Proof>) {
    if !proofs.is_empty() {
        v.reasons.push(format!(
            "{} precondition(s) proved and checked",
            proofs.len()
        ));
        v.details.insert("proofs".into(), json!(proofs));
    }
}
