//! Stages 6–7, finish: a step's outcome becomes its reward, the learner's update, the session's
//! ledger and history, and a journal row — for steps finished here, by a JS handler
//! (`complete`), or executed elsewhere (`record_outcome`); and delayed `feedback`.

use super::*;

/// The determining policy ids of a verification, as a JSON array.
pub(super) fn determining_ids_json(v: &Verification) -> String {
    let ids: Vec<&str> = v
        .policy
        .as_deref()
        .map(|p| {
            p.determining_policies
                .iter()
                .map(|d| d.id.as_str())
                .collect()
        })
        .unwrap_or_default();
    serde_json::to_string(&ids).unwrap_or_else(|_| "[]".into())
}

/// The numeric top-level parameters of a step as a JSON object (at most 32 of them).
pub(super) fn numeric_params_json(params: &Value) -> String {
    let Some(obj) = params.as_object() else {
        return "{}".into();
    };
    let nums: serde_json::Map<String, Value> = obj
        .iter()
        .filter(|(_, v)| v.is_number())
        .take(32)
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    Value::Object(nums).to_string()
}

impl Engine {
    /// Completes a step that waited for its handler.
    pub fn complete(&self, action_id: &str, outcome: HandlerOutcome) -> Result<StepResult> {
        self.ensure_open()?;
        let (_, flight) = self.in_flight.remove(action_id).ok_or_else(|| {
            Error::new(
                ErrorCode::NotFound,
                format!("no step {action_id:?} is waiting for a handler result (already completed, or never started)"),
            )
        })?;
        self.finish(action_id.to_string(), flight, outcome)
    }

    /// Records the outcome of an action executed outside `processChunk` (a workflow step, a
    /// tool call seen by an agent hook): the learner learns from it in the context of `text`,
    /// and it is journaled, counted and entered in the session's ledger like any step, with
    /// the caller's verification decision (`skipped` when none is given) and propensity (1 by
    /// default: the caller chose it). A recorded `deny` that did not succeed is a denied
    /// attempt (`deniedSteps`); one that succeeded ran anyway (`wouldDeny`). Unregistered
    /// action names are allowed.
    pub fn record_outcome(
        &self,
        session_id: &str,
        action: &str,
        text: &str,
        step: RecordedStep,
        latency_ms: f64,
    ) -> Result<StepResult> {
        self.ensure_open()?;
        if action.trim().is_empty() {
            return err(
                ErrorCode::InvalidInput,
                "recordOutcome needs the action name",
            );
        }
        if !latency_ms.is_finite() || latency_ms < 0.0 {
            return err(
                ErrorCode::InvalidInput,
                format!("latencyMs must be a non-negative number, got {latency_ms}"),
            );
        }
        let propensity = step.propensity.unwrap_or(1.0);
        if !(propensity.is_finite() && propensity > 0.0 && propensity <= 1.0) {
            return err(
                ErrorCode::InvalidInput,
                format!("propensity must be a number in (0, 1], got {propensity}"),
            );
        }
        self.check_chunk(text)?;
        let session = self.session(session_id)?;
        let spec = self.actions.get(action).unwrap_or_else(|_| {
            Arc::new(ActionSpec::named(
                action,
                format!("{action} (executed outside the engine)"),
            ))
        });
        let mut entities = self.extractor.extract(text);
        self.graph.ingest(text, &entities, now_ms())?;
        let entities_truncated = entities.len() > MAX_STEP_ENTITIES;
        entities.truncate(MAX_STEP_ENTITIES);
        let features = Arc::new(context_features(text, &entities, &session)?);
        let started = Instant::now()
            .checked_sub(std::time::Duration::from_secs_f64(latency_ms / 1e3))
            .unwrap_or_else(Instant::now);
        let expected = self.learner.predict(&session.id, &features, &spec.name);
        let view = ActionView::of(&spec, parameters(text, &entities), expected, true);
        let start = StepStart::new(
            &self.ids,
            session,
            truncate(text, 200),
            features,
            (entities, entities_truncated),
            started,
        );
        let decision = step.decision.unwrap_or(Verdict::Skipped);
        let verification = Verification {
            decision,
            reasons: vec![match decision {
                Verdict::Skipped => {
                    "an outcome recorded after an external execution (no decision given)".into()
                }
                d => format!(
                    "decided `{}` by the caller's verification before the external execution",
                    d.as_str()
                ),
            }],
            policy: None,
            details: serde_json::Map::new(),
        };
        let denied = decision == Verdict::Deny && !step.outcome.success;
        let mut outcome = step.outcome;
        outcome.denied = denied;
        let (action_id, flight) = InFlight::new(
            start,
            Decided {
                view,
                plan: vec![spec.name.clone()],
                verification,
                propensity,
                explored: false,
                timeout_ms: spec.timeout_ms.unwrap_or(self.config.handler_timeout_ms),
                enforced_deny: denied,
                would_deny: decision == Verdict::Deny && !denied,
                params: step.params,
                builtin: None,
                whole: true,
                action: spec,
                choice: None,
            },
        );
        self.finish(action_id, flight, outcome)
    }

    pub(super) fn finish(
        &self,
        action_id: String,
        flight: InFlight,
        outcome: HandlerOutcome,
    ) -> Result<StepResult> {
        let latency = flight.started.elapsed();
        let reward = reward_for(
            &outcome,
            latency.as_secs_f64() * 1e3,
            flight.timeout_ms as f64,
        );
        let (reward, learn_error) = match reward {
            Ok(r) => (r, None),
            Err(e) => (-1.0, Some(e)),
        };
        let learned = learn_error.is_none();
        let mut drift_alarm = false;
        if learned {
            drift_alarm = self
                .learner
                .update(
                    &flight.session.id,
                    &flight.features,
                    &flight.action.name,
                    reward,
                    flight.propensity,
                )?
                .drift_detected;
        }
        let success = outcome.success && learn_error.is_none();
        let kind = if outcome.denied {
            StepKind::Denied
        } else if success {
            StepKind::Succeeded
        } else {
            StepKind::Failed
        };
        let now = now_ms();
        flight.session.record(
            crate::agent::HistoryEntry {
                step_id: action_id.clone(),
                input: flight.input.clone(),
                action: flight.action.name.clone(),
                success,
                reward,
                timestamp: now,
            },
            kind,
            &flight.params,
            &flight.action.effects,
        );
        self.counters.actions.fetch_add(1, Ordering::Relaxed);
        if success {
            self.counters.successes.fetch_add(1, Ordering::Relaxed);
        }
        if outcome.denied {
            self.counters.denied.fetch_add(1, Ordering::Relaxed);
        }
        if flight.would_deny {
            self.counters.would_deny.fetch_add(1, Ordering::Relaxed);
        }
        self.counters
            .reward_micros
            .fetch_add((reward * 1e6) as i64, Ordering::Relaxed);
        self.journal.append(JournalRow {
            id: action_id.clone(),
            session: flight.session.id.clone(),
            action: flight.action.name.clone(),
            success,
            reward,
            propensity: flight.propensity,
            decision: flight.verification.decision.as_str().to_string(),
            latency_us: latency.as_micros() as u64,
            at_ms: now,
            would_deny: flight.would_deny,
            policies: determining_ids_json(&flight.verification),
            nums: numeric_params_json(&flight.params),
            features: flight.choice.as_ref().map(|_| flight.features.to_bytes()),
            choice: flight
                .choice
                .as_ref()
                .and_then(|c| serde_json::to_string(c).ok()),
        })?;
        self.remember(&flight, learned.then_some(reward));
        if let Some(e) = learn_error {
            return Err(e);
        }
        let changes = if success && outcome.changes.is_null() && !flight.action.effects.is_empty() {
            json!({ "effects": flight.action.effects })
        } else {
            outcome.changes
        };
        Ok(StepResult {
            action_id,
            session_id: flight.session.id.clone(),
            verified: flight.verification.decision == Verdict::Allow,
            action: flight.view,
            plan: flight.plan,
            observation: Observation {
                success,
                result: outcome.result,
                changes,
                timestamp: now,
                error: outcome.error,
                error_code: outcome.error_code,
            },
            reward,
            verification: flight.verification,
            entities: flight.entities,
            entities_truncated: flight.entities_truncated,
            propensity: flight.propensity,
            explored: flight.explored,
            learned,
            would_deny: flight.would_deny,
            drift_alarm,
            latency_us: flight.started.elapsed().as_micros() as u64,
        })
    }

    pub(super) fn remember(&self, flight: &InFlight, learned: Option<f64>) {
        self.finished.remember(
            flight.seq,
            Finished {
                session: flight.session.id.clone(),
                features: flight.features.clone(),
                action: flight.action.name.clone(),
                propensity: flight.propensity,
                learned,
            },
        );
    }

    /// Applies a delayed reward to a finished step. A step the learner already learned from
    /// has its reward *replaced* (the learner moves as if the step had earned `reward`, see
    /// [`Learner::replace_reward`]); a step it did not learn from is learned now.
    pub fn feedback(&self, action_id: &str, reward: f64) -> Result<FeedbackResult> {
        self.ensure_open()?;
        if !reward.is_finite() {
            return err(
                ErrorCode::InvalidReward,
                format!("reward must be a finite number, got {reward}"),
            );
        }
        let not_found = || {
            let why = if StepIds::is_step_id(action_id) && self.ids.seq_of(action_id).is_none() {
                "it was issued by another system (another process, or before a reopen)".to_string()
            } else {
                format!(
                    "feedback applies to the last {} steps of this system",
                    FinishedSteps::WINDOW
                )
            };
            Error::new(
                ErrorCode::NotFound,
                format!("unknown action id {action_id:?}: {why}"),
            )
        };
        let seq = self.ids.seq_of(action_id).ok_or_else(not_found)?;
        let Finished {
            session,
            features,
            action: action_name,
            propensity,
            learned,
        } = self.finished.get(seq).ok_or_else(not_found)?;
        let before = self.learner.predict(&session, &features, &action_name);
        match learned {
            Some(old) => self.learner.replace_reward(
                &session,
                &features,
                &action_name,
                old,
                reward,
                propensity,
            )?,
            None => {
                self.learner
                    .update(&session, &features, &action_name, reward, propensity)?;
            }
        }
        self.finished.set_learned(seq, reward);
        let after = self.learner.predict(&session, &features, &action_name);
        Ok(FeedbackResult {
            action_id: action_id.to_string(),
            action: action_name,
            predicted_before: before,
            predicted_after: after,
        })
    }
}
