//! The shapes a step takes on its way out: the finished [`StepResult`] and the
//! [`PendingStep`] handed to a JS handler.

use serde::Serialize;
use serde_json::Value;

use super::verify::Verification;
use crate::knowledge::Entity;

/// The action as reported to callers and handlers.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ActionView {
    /// The action's name.
    pub action_type: String,
    /// Its description.
    pub description: String,
    /// Parameters: the chunk text and its entities grouped by type.
    pub parameters: Value,
    /// Tool calls it stands for.
    pub tool_calls: Vec<String>,
    /// The learner's predicted reward (or the caller's prior before anything is learned).
    pub expected_reward: f64,
}

/// What executing the action produced.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Observation {
    /// Whether it succeeded.
    pub success: bool,
    /// The handler's (or built-in's) result.
    pub result: Value,
    /// Changes it made.
    pub changes: Value,
    /// When it was observed (ms since the epoch).
    pub timestamp: i64,
    /// Why it failed, when it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The stable code of `error`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
}

/// A finished step.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StepResult {
    /// Id for delayed `feedback`.
    pub action_id: String,
    /// The session.
    pub session_id: String,
    /// The action that ran (or was denied).
    pub action: ActionView,
    /// The plan it belongs to: action names in order; the first one ran.
    pub plan: Vec<String>,
    /// What happened.
    pub observation: Observation,
    /// The reward learned from.
    pub reward: f64,
    /// True only when a verifier allowed the action.
    pub verified: bool,
    /// The verifier's answer.
    pub verification: Verification,
    /// Entities found in the chunk.
    pub entities: Vec<Entity>,
    /// Probability with which the policy chose this action.
    pub propensity: f64,
    /// Whether the choice was exploration.
    pub explored: bool,
    /// Whether the learner was updated from this step.
    pub learned: bool,
    /// Time from receiving the chunk to the result, in microseconds.
    pub latency_us: u64,
}

/// A step waiting for its JS handler.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PendingStep {
    /// Id to complete the step with.
    pub action_id: String,
    /// The session.
    pub session_id: String,
    /// The action to execute.
    pub action: ActionView,
    /// The plan.
    pub plan: Vec<String>,
    /// The verifier's answer (allow or skipped).
    pub verification: Verification,
    /// Entities found in the chunk.
    pub entities: Vec<Entity>,
    /// How long the handler may take.
    pub timeout_ms: u64,
}

/// Either a finished step or one that waits for a handler.
#[derive(Debug, Clone)]
pub enum Begun {
    /// Finished natively (built-in action, denial, or nothing runnable).
    Done(Box<StepResult>),
    /// Needs the JS handler, then [`super::Engine::complete`].
    Pending(Box<PendingStep>),
}

/// Progress of a batch: the steps finished natively, then possibly one waiting for a handler.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchProgress {
    /// Finished steps, in input order.
    pub results: Vec<StepResult>,
    /// The step at index `results.len()` if it waits for a handler.
    pub pending: Option<PendingStep>,
}
