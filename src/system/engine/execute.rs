//! Stage 5 without a JS handler: the built-in executor, and the answer when no action can run.

use super::*;

/// Executes an action that has no JS handler. Its result records what it acted on; it
/// succeeds when it was relevant to the chunk — or ran as the prerequisite of a relevant plan
/// — with a reward equal to its own relevance (in [0, 1]), and fails with −1 when it was
/// neither. Without `with_result` (a summary is wanted) the result is left `null`: nothing
/// else depends on it.
pub(super) fn builtin_execute(
    action: &ActionSpec,
    entities: &[Entity],
    relevance: f64,
    prerequisite: bool,
    with_result: bool,
) -> HandlerOutcome {
    let useful = relevance > 0.0 || prerequisite;
    let result = if with_result {
        let names: Vec<&str> = entities.iter().map(|e| e.name.as_str()).collect();
        json!({
            "handledBy": "builtin",
            "action": action.name,
            "summary": format!("{}: {}", action.name, action.description),
            "entities": names,
            "relevance": relevance,
            "prerequisite": prerequisite,
        })
    } else {
        Value::Null
    };
    HandlerOutcome {
        success: useful,
        result,
        reward: Some(crate::agent::reward::builtin_reward(relevance, useful)),
        changes: Value::Null,
        error: if useful {
            None
        } else {
            Some("the action was not relevant to the chunk".into())
        },
        ..HandlerOutcome::default()
    }
}

impl Engine {
    /// The answer when no registered action can run now: the relevant actions' missing
    /// preconditions, nothing executed, nothing learned, nothing journaled.
    pub(super) fn nothing_runnable(
        &self,
        start: StepStart,
        params: Value,
        plan: &Plan,
    ) -> StepResult {
        let message = match &plan.below_threshold {
            Some(best) => format!(
                "no action is relevant to the chunk: the closest, {}, scored {:.2} < actionThreshold {} (noRelevantAction: 'skip')",
                best.action, best.relevance, best.threshold
            ),
            None => {
                let reasons: Vec<String> = plan
                    .blocked
                    .iter()
                    .map(|(a, missing)| format!("{a} needs {}", missing.join(", ")))
                    .collect();
                format!("no action can run: {}", reasons.join("; "))
            }
        };
        StepResult {
            action_id: start.action_id,
            session_id: start.session.id.clone(),
            action: ActionView::none(params),
            plan: vec![],
            observation: Observation {
                success: false,
                result: Value::Null,
                changes: Value::Null,
                timestamp: now_ms(),
                error: Some(message.clone()),
                error_code: None,
            },
            reward: 0.0,
            verified: false,
            verification: Verification::skipped(message),
            entities: start.entities,
            entities_truncated: start.entities_truncated,
            propensity: 1.0,
            explored: false,
            learned: false,
            would_deny: false,
            drift_alarm: false,
            latency_us: start.started.elapsed().as_micros() as u64,
        }
    }
}
