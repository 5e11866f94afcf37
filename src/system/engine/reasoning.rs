//! The reasoning façade: policies and entities (Cedar), `verifyAction`, rules and theorems,
//! workflows — the engine's formal side, outside a step. The graph's facts are synced into the
//! rule base before anything is proved (`graph_facts`).

use super::*;

/// Cedar entities given as JSON text or as a JSON value.
pub(super) fn entities_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

impl Engine {
    /// Loads (replacing) the Cedar policy set, validated against `schema` when given.
    pub fn load_policies(&self, policies: &str, schema: Option<&str>) -> Result<PolicySetInfo> {
        self.ensure_open()?;
        self.policies.load(policies, schema)
    }

    /// Replaces the Cedar entities (agents, roles, resources) used by every decision.
    pub fn set_entities(&self, json: &str) -> Result<usize> {
        self.ensure_open()?;
        self.policies.set_entities(json)
    }

    /// What the loaded policy set is: ids, counts, hashes, warnings and how each policy is
    /// evaluated (`compiled` or `interpreted`, with the construct that keeps it interpreted).
    pub fn policy_info(&self) -> Result<PolicySetInfo> {
        self.ensure_open()?;
        Ok(self.policies.policy_info())
    }

    /// The Cedar policy engine.
    pub fn policy_engine(&self) -> &Arc<PolicyEngine> {
        &self.policies
    }

    /// Verifies an action outside of a processed chunk.
    pub fn verify_action(&self, action: &ActionCheck, ctx: &CheckContext) -> Result<Verification> {
        self.ensure_open()?;
        if action.name.trim().is_empty() {
            return err(ErrorCode::InvalidInput, "verifyAction needs an action name");
        }
        let session = match &ctx.session_id {
            Some(id) => Some(self.session(id)?),
            None => None,
        };
        // Preconditions are proved first, with or without policies, exactly as the verify
        // stage of a step does.
        let mut proofs = Vec::new();
        if let Ok(spec) = self.actions.get(&action.name) {
            if !spec.preconditions.is_empty() {
                self.sync_graph_facts()?;
                let facts = session.as_ref().map(|s| s.facts()).unwrap_or_default();
                match prove_preconditions(&self.rules, &spec.preconditions, &premises_of(facts)) {
                    Preconditions::Proved(p) => proofs = p,
                    Preconditions::Denied(v) => return Ok(v),
                }
            }
        }
        if !self.policies.has_policies() {
            let mut v = Verification::skipped(
                "no policies are loaded: call loadPolicies() or pass `policies` to open()",
            );
            attach_proofs(&mut v, proofs);
            return Ok(v);
        }
        let agent = ctx
            .agent_id
            .clone()
            .or_else(|| session.as_ref().map(|s| s.agent_id().to_string()))
            .ok_or_else(|| {
                Error::new(
                    ErrorCode::InvalidInput,
                    "verifyAction needs a context with a sessionId (a session handle) or an agentId",
                )
            })?;
        let mut context = match &session {
            Some(s) => StepContext::of_session(s, action.params.clone()),
            None => StepContext {
                params: action.params.clone(),
                approvals: json!([]),
                ..StepContext::default()
            },
        };
        context.extra = ctx.extra.clone();
        if let Some(prior) = &ctx.prior_steps {
            context.prior.succeeded = prior.clone();
        }
        if let Some(approvals) = &ctx.approvals {
            context.approvals = approvals.clone();
        }
        if let Some(index) = ctx.step_index {
            context.prior.step_index = index;
        }
        if self.policies.reads(&action.name, "runs") {
            let actions = self.actions.snapshot();
            let names = actions
                .iter()
                .map(|a| a.name.as_str())
                .chain(std::iter::once(action.name.as_str()));
            context.runs = Some(match &session {
                Some(s) => s.runs_json(names, now_ms()),
                None => crate::agent::Ledger::new(self.runs.clone()).runs_json(names, now_ms()),
            });
        }
        let resource = action.resource.clone().unwrap_or_else(|| {
            let id = session
                .as_ref()
                .map(|s| s.id.clone())
                .unwrap_or_else(|| agent.clone());
            default_resource(&self.policies, &id)
        });
        let mut v = authorize_parts(
            &self.policies,
            &agent,
            &action.name,
            &resource,
            context.build(),
        )?;
        attach_proofs(&mut v, proofs);
        Ok(v)
    }

    /// Adds rules (text syntax; facts in the text are asserted); returns the new rule ids.
    pub fn add_rules(&self, text: &str) -> Result<Vec<String>> {
        self.ensure_open()?;
        self.rules.add_rules(text)
    }

    /// Asserts a ground fact, e.g. `approved(tx1)`.
    pub fn assert_fact(&self, text: &str) -> Result<()> {
        self.ensure_open()?;
        self.rules.assert_fact(text)
    }

    /// Retracts an asserted fact; true when it was there.
    pub fn retract_fact(&self, text: &str) -> Result<bool> {
        self.ensure_open()?;
        self.rules.retract_fact(text)
    }

    /// Brings the rule base's layer of knowledge-graph facts (`entity(Id)`, `place(Id)`,
    /// `works_at(A, B)`, …) up to date: see `graph_facts`.
    pub(super) fn sync_graph_facts(&self) -> Result<()> {
        self.graph_facts
            .sync(&self.graph, &self.rules, &self.actions.snapshot(), now_ms())
    }

    /// Proves a goal from the rule base, the knowledge graph's facts and the given premises
    /// and extra rules. A proof is re-verified by the independent checker and stored as a
    /// theorem; a failure names the subgoals that could not be established.
    pub fn prove_theorem(
        &self,
        goal: &str,
        opts: &ProveOptions,
    ) -> Result<std::result::Result<Theorem, ProveOutcome>> {
        self.ensure_open()?;
        self.sync_graph_facts()?;
        match self.rules.prove(goal, opts)? {
            ProveOutcome::Proved(proof) => Ok(Ok(Theorem::from_proof(proof))),
            failed => Ok(Err(failed)),
        }
    }

    /// The stored theorems, oldest first.
    pub fn theorems(&self) -> Result<Vec<Theorem>> {
        self.ensure_open()?;
        Ok(self.rules.theorems())
    }

    /// The rule engine.
    pub fn rule_engine(&self) -> &Arc<RuleEngine> {
        &self.rules
    }

    /// Checks a whole workflow before it runs: temporal properties over every path, and a
    /// Cedar check of every step (when policies are loaded).
    pub fn verify_workflow(
        &self,
        workflow: &Workflow,
        properties: &[Property],
    ) -> Result<WorkflowReport> {
        self.ensure_open()?;
        let known = self.action_names();
        let runs_config = self.runs.clone();
        let reads_runs = |action: &str| self.policies.reads(action, "runs");
        // A step is checked on the context it will meet at run time (see `cedar_context`):
        // the actions guaranteed to have run before it as prior steps and runs.
        let context = |step: &crate::reasoning::WorkflowStep, prior: &[String], position: usize| {
            // `prior` holds each action as often as it is guaranteed to have run.
            let now = now_ms();
            let mut ledger = Ledger::new(runs_config.clone());
            for a in prior {
                ledger.record(a, StepKind::Succeeded, now, &Value::Null);
            }
            let mut ctx = StepContext {
                params: step.inputs.clone(),
                approvals: json!([]),
                ..StepContext::default()
            };
            ctx.prior.succeeded = ledger.succeeded().to_vec();
            ctx.prior.step_index = position as u64;
            ctx.extra.insert("workflowId".into(), json!(workflow.id));
            if reads_runs(&step.action) {
                let names = known
                    .iter()
                    .map(String::as_str)
                    .chain(std::iter::once(step.action.as_str()));
                ctx.runs = Some(ledger.runs_json(names, now));
            }
            ctx.build()
        };
        verify_workflow_with(workflow, properties, Some(&self.policies), &known, &context)
    }
}
