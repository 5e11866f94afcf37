//! Stages 2–4, act: knowledge graph, plan, select, verify, and the hand-off — a built-in
//! executes here, a JS handler gets a [`PendingStep`]. `act` reads as the diagram in `lib.rs`:
//! each stage is one call.

use super::execute::builtin_execute;
use super::*;

/// The planner's prior for a candidate, in [-1, 1]: its relevance and the caller's expected reward.
fn prior(relevance: f64, action: &ActionSpec) -> f64 {
    (0.5 * relevance + 0.5 * action.expected_reward.unwrap_or(0.0)).clamp(-1.0, 1.0)
}

/// The learner's arms for a plan's candidates: each action with its planner prior.
pub(super) fn arms(plan: &Plan) -> Vec<ArmCandidate> {
    plan.candidates
        .iter()
        .map(|c| ArmCandidate::new(c.action.name.clone(), prior(c.relevance, &c.action)))
        .collect()
}

/// The distinct first actions of a plan's candidates, in order (`None` if a candidate has an
/// empty plan, which the planner never returns).
pub(super) fn first_actions(plan: &Plan) -> Option<Vec<&str>> {
    let mut firsts: Vec<&str> = Vec::new();
    for c in &plan.candidates {
        let first = c.plan.first()?.as_str();
        if !firsts.contains(&first) {
            firsts.push(first);
        }
    }
    Some(firsts)
}

/// The verification of a candidate's first action among `verified`, if it was made.
pub(super) fn verification_of<'a>(
    verified: &'a [(String, Verification)],
    candidate: &crate::agent::PlanCandidate,
) -> Option<&'a Verification> {
    let first = candidate.plan.first().map(String::as_str).unwrap_or("");
    verified.iter().find(|(n, _)| n == first).map(|(_, v)| v)
}

/// The probability that the selection policy ran `action`: the sum of the probabilities of
/// the candidates whose plan starts with it (clamped to (0, 1] against rounding).
pub(super) fn ran_propensity(
    candidates: &[crate::agent::PlanCandidate],
    probabilities: &[f64],
    action: &str,
) -> f64 {
    let p: f64 = candidates
        .iter()
        .zip(probabilities)
        .filter(|(c, _)| c.plan.first().is_some_and(|f| f == action))
        .map(|(_, p)| p)
        .sum();
    p.clamp(f64::MIN_POSITIVE, 1.0)
}

impl Engine {
    /// Runs a step up to execution: finishes it natively, or hands it to a JS handler.
    pub fn begin(&self, session_id: &str, chunk: &str) -> Result<Begun> {
        self.begin_with(session_id, chunk, ResultDetail::Full)
    }

    /// [`Self::begin`] for a caller that wants `detail` of the result: with
    /// [`ResultDetail::Summary`] a finished step carries only what its [`StepSummary`]
    /// reads (no action description, tool calls, expected reward or built-in result), so
    /// nothing is built that would be thrown away. A step waiting for a handler is whole.
    pub(super) fn begin_with(
        &self,
        session_id: &str,
        chunk: &str,
        detail: ResultDetail,
    ) -> Result<Begun> {
        self.ensure_open()?;
        let started = Instant::now();
        self.check_chunk(chunk)?;
        let session = self.session(session_id)?;
        self.registered_actions()?;
        let perception = self.perceive(&session, chunk)?;
        self.act(session, chunk, perception, started, detail, false)
    }

    /// The registered actions; fails when there are none.
    pub(super) fn registered_actions(&self) -> Result<Arc<Vec<Arc<ActionSpec>>>> {
        let actions = self.actions.snapshot();
        if actions.is_empty() {
            return err(
                ErrorCode::UnknownAction,
                "no actions are registered; call registerAction first",
            );
        }
        Ok(actions)
    }

    /// The rest of a step, in session order — the diagram in `lib.rs`, one call per stage:
    /// the chunk goes into the knowledge graph, the planner ranks runnable plans, the learner
    /// selects one, the verifier decides its first action, and the step is handed off (denied,
    /// built in, or to a JS handler). In a `pipelined` batch the helper thread adds the chunk
    /// to the graph instead (see `engine/pipeline.rs`).
    pub(super) fn act(
        &self,
        session: Arc<Session>,
        chunk: &str,
        perception: Perception,
        started: Instant,
        detail: ResultDetail,
        pipelined: bool,
    ) -> Result<Begun> {
        let actions = self.registered_actions()?;
        let (start, seen) = self.start_step(session, chunk, perception, started, pipelined)?;
        let plan = self.plan(&start.session, &actions, &seen)?;
        if plan.candidates.is_empty() {
            let result = self.nothing_runnable(start, seen.params, &plan);
            return Ok(Begun::Done(Box::new(result)));
        }
        let checked = self.check_candidates(&start.session, &plan, &seen, &actions);
        let selected = self.select(&start, &plan, &seen, checked)?;
        let decided = self.verify_selected(&start, selected, seen.params, &actions, detail);
        self.hand_off(start, decided)
    }

    /// Knowledge graph: the chunk's entities go into the graph (all of them), and the step
    /// keeps at most [`MAX_STEP_ENTITIES`]. Returns where the step begins and what planning
    /// reads of the chunk.
    fn start_step(
        &self,
        session: Arc<Session>,
        chunk: &str,
        perception: Perception,
        started: Instant,
        pipelined: bool,
    ) -> Result<(StepStart, Seen)> {
        let Perception {
            mut entities,
            words,
            types,
            features,
            params,
            input,
            took: _,
        } = perception;
        // A pipelined batch's helper thread adds the chunk to the graph (no step reads it).
        if !pipelined {
            self.graph.ingest(chunk, &entities, now_ms())?;
        }
        let entities_truncated = entities.len() > MAX_STEP_ENTITIES;
        entities.truncate(MAX_STEP_ENTITIES);
        let start = StepStart::new(
            &self.ids,
            session,
            input,
            features,
            (entities, entities_truncated),
            started,
        );
        Ok((
            start,
            Seen {
                words,
                types,
                params,
            },
        ))
    }

    /// Plan: runnable plans for the chunk, preconditions proved from the session's facts, the
    /// rules and the knowledge graph's facts.
    pub(super) fn plan(
        &self,
        session: &Session,
        actions: &[Arc<ActionSpec>],
        seen: &Seen,
    ) -> Result<Plan> {
        let facts = session.facts();
        let provable = actions.iter().any(|a| !a.preconditions.is_empty());
        if provable {
            self.sync_graph_facts()?;
        }
        let rules_active = provable && self.rules.is_active();
        let premises = std::cell::OnceCell::new();
        let holds = |atom: &str| {
            facts.contains(atom)
                || (rules_active
                    && self
                        .rules
                        .prove(
                            atom,
                            &ProveOptions {
                                premises: premises
                                    .get_or_init(|| premises_of(facts.iter().cloned()))
                                    .clone(),
                                ..ProveOptions::default()
                            },
                        )
                        .map(|o| o.is_proved())
                        .unwrap_or(false))
        };
        Ok(self.planner.plan(actions, &seen.words, &seen.types, &holds))
    }

    /// Safe exploration: when the learner may draw among several first actions, each distinct
    /// first action is verified before the draw, so exploration is never spent on an action
    /// the verifier would deny (see `learning::exploration::mask_denied`). Off when
    /// `safeExploration` is false, verification is off, the session only observes (observe
    /// mode promises that policies change nothing), or there is one first action to run.
    /// Returns, per candidate, whether it may run, and each verification made (the chosen
    /// action's is reused, not made twice).
    pub(super) fn check_candidates(
        &self,
        session: &Session,
        plan: &Plan,
        seen: &Seen,
        actions: &[Arc<ActionSpec>],
    ) -> Option<Checked> {
        if !(self.config.safe_exploration && self.config.enable_formal_verification)
            || plan.candidates.len() < 2
            || session.enforcement(self.config.enforcement) == Enforcement::Observe
        {
            return None;
        }
        let firsts = first_actions(plan)?;
        if firsts.len() < 2 {
            return None;
        }
        let verified = self.verify_each(session, &firsts, &seen.params, actions);
        let allowed = plan
            .candidates
            .iter()
            .map(|c| verification_of(&verified, c).is_some_and(|v| v.decision != Verdict::Deny))
            .collect();
        Some(Checked { allowed, verified })
    }

    /// Verifies each named action once with the step's parameters (an action that cannot be
    /// found or verified counts as denied: fail closed). Safe exploration and
    /// [`Self::rank`] share it.
    pub(super) fn verify_each(
        &self,
        session: &Session,
        names: &[&str],
        params: &Value,
        actions: &[Arc<ActionSpec>],
    ) -> Vec<(String, Verification)> {
        let verifier = self.verifier.read();
        names
            .iter()
            .map(|name| {
                let v = match self.actions.get(name) {
                    Ok(action) => verifier.verify(VerifyRequest {
                        session,
                        action: &action,
                        params: Cow::Borrowed(params),
                        known_actions: actions,
                        now_ms: now_ms(),
                    }),
                    Err(e) => crate::system::formal::fail_closed(e.message),
                };
                (name.to_string(), v)
            })
            .collect()
    }

    /// Select: the learner scores the candidates and draws one (among those the verifier
    /// allows, when candidates were checked). The step runs the chosen plan's first action: it
    /// is credited with the probability that the policy ran it (every candidate whose plan
    /// starts with it) and, when built in, scored by its own relevance.
    fn select(
        &self,
        start: &StepStart,
        plan: &Plan,
        seen: &Seen,
        checked: Option<Checked>,
    ) -> Result<Selected> {
        let candidates = arms(plan);
        let choice = self.learner.choose_allowed(
            &start.session.id,
            &start.features,
            &candidates,
            checked.as_ref().map(|c| c.allowed.as_slice()),
        )?;
        let chosen = &plan.candidates[choice.index];
        let first = self.actions.get(&chosen.plan[0])?;
        let relevance = if chosen.action.name == first.name {
            chosen.relevance
        } else {
            self.planner.relevance(&first, &seen.words, &seen.types)
        };
        let (allowed, verification) = match checked {
            Some(c) => (
                Some(c.allowed),
                c.verified
                    .into_iter()
                    .find(|(n, _)| *n == first.name)
                    .map(|(_, v)| v),
            ),
            None => (None, None),
        };
        let log = crate::learning::ChoiceLog {
            checked: allowed.is_some(),
            candidates: plan
                .candidates
                .iter()
                .zip(candidates)
                .enumerate()
                .map(|(i, (c, arm))| crate::learning::LoggedCandidate {
                    first: match c.plan.first() {
                        Some(f) if *f != arm.name => f.clone(),
                        _ => String::new(),
                    },
                    name: arm.name,
                    prior: arm.prior,
                    allowed: allowed.as_ref().is_none_or(|a| a[i]),
                })
                .collect(),
        };
        Ok(Selected {
            propensity: ran_propensity(&plan.candidates, &choice.probabilities, &first.name),
            explored: choice.explored,
            plan: chosen.plan.clone(),
            relevance,
            action: first,
            verification,
            choice: Box::new(log),
        })
    }

    /// Verify: the verifier decides the action (its preconditions, then the policies), and the
    /// session's enforcement says whether a denial stops it.
    fn verify_selected(
        &self,
        start: &StepStart,
        selected: Selected,
        params: Value,
        actions: &[Arc<ActionSpec>],
        detail: ResultDetail,
    ) -> Decided {
        let action = selected.action.clone();
        let prerequisite = selected.plan.len() > 1;
        // A summary reads none of the view but its action name (parameters go to verification).
        let whole = detail == ResultDetail::Full || action.has_handler;
        let expected = if whole {
            self.learner
                .predict(&start.session.id, &start.features, &action.name)
        } else {
            0.0
        };
        let mut view = ActionView::of(&action, params, expected, whole);
        let verification = if let Some(v) = selected.verification {
            // Verified before the draw (safe exploration): the same request, not asked twice.
            v
        } else if self.config.enable_formal_verification {
            // A summary does not return the parameters: verification keeps them uncopied.
            let params = if whole {
                Cow::Borrowed(&view.parameters)
            } else {
                Cow::Owned(std::mem::take(&mut view.parameters))
            };
            self.verifier.read().verify(VerifyRequest {
                session: &start.session,
                action: &action,
                params,
                known_actions: actions,
                now_ms: now_ms(),
            })
        } else {
            Verification::skipped(
                "formal verification is disabled (enableFormalVerification: false)",
            )
        };
        let denied = verification.decision == Verdict::Deny;
        let observe = start.session.enforcement(self.config.enforcement) == Enforcement::Observe;
        Decided {
            timeout_ms: action.timeout_ms.unwrap_or(self.config.handler_timeout_ms),
            view,
            plan: selected.plan,
            verification,
            propensity: selected.propensity,
            explored: selected.explored,
            enforced_deny: denied && !observe,
            would_deny: denied && observe,
            params: Value::Null,
            builtin: Some((selected.relevance, prerequisite)),
            whole,
            action,
            choice: Some(selected.choice),
        }
    }

    /// Hand-off: a denial that is enforced finishes here without running; a JS handler gets a
    /// [`PendingStep`] (the step finishes in `complete`); a built-in runs and finishes here.
    fn hand_off(&self, start: StepStart, decided: Decided) -> Result<Begun> {
        if decided.enforced_deny {
            let outcome = HandlerOutcome {
                success: false,
                result: Value::Null,
                denied: true,
                error: Some(format!(
                    "denied by verification: {}",
                    decided.verification.reasons.join("; ")
                )),
                error_code: Some("ERR_DENIED".into()),
                ..HandlerOutcome::default()
            };
            let (action_id, flight) = InFlight::new(start, decided);
            return self
                .finish(action_id, flight, outcome)
                .map(|r| Begun::Done(Box::new(r)));
        }
        let builtin = decided.builtin;
        let whole = decided.whole;
        let (action_id, flight) = InFlight::new(start, decided);
        if flight.action.has_handler {
            let pending = flight.pending(&action_id);
            self.in_flight.insert(action_id, flight);
            return Ok(Begun::Pending(Box::new(pending)));
        }
        let (relevance, prerequisite) = builtin.unwrap_or((0.0, false));
        let outcome = builtin_execute(
            &flight.action,
            &flight.entities,
            relevance,
            prerequisite,
            whole,
        );
        self.finish(action_id, flight, outcome)
            .map(|r| Begun::Done(Box::new(r)))
    }
}

/// What planning reads of a chunk, and the parameters the chosen action gets.
pub(super) struct Seen {
    pub(super) words: FastSet<String>,
    pub(super) types: FastSet<String>,
    pub(super) params: Value,
}

/// The learner's choice: the action the step runs, and how it came to run it.
struct Selected {
    action: Arc<ActionSpec>,
    plan: Vec<String>,
    propensity: f64,
    explored: bool,
    /// The action's own relevance to the chunk (what a built-in earns).
    relevance: f64,
    /// Its verification, when it was verified before the draw.
    verification: Option<Verification>,
    /// The choice as the journal keeps it.
    choice: Box<crate::learning::ChoiceLog>,
}

/// Candidates checked before the draw (safe exploration).
pub(super) struct Checked {
    /// Per plan candidate: whether its first action may run.
    pub(super) allowed: Vec<bool>,
    /// The verification of each distinct first action.
    pub(super) verified: Vec<(String, Verification)>,
}
