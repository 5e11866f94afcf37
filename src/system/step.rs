//! The shapes a step takes on its way out: the finished [`StepResult`] and the
//! [`PendingStep`] handed to a JS handler.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::verify::Verification;
use crate::knowledge::Entity;

/// Most entities a step reports (in its result, its action's parameters, the handler's view and
/// the verifier's context); the knowledge graph still receives every entity of the chunk. A
/// 1 MB chunk can hold 350,000 entities: echoing them all made a 20 MB response.
pub const MAX_STEP_ENTITIES: usize = 1_000;

fn is_false(b: &bool) -> bool {
    !*b
}

/// The action as reported to callers and handlers.
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ActionView {
    /// The action's name.
    pub action_type: String,
    /// Its description.
    pub description: String,
    /// Parameters: the chunk text and its entities grouped by type.
    #[cfg_attr(
        test,
        ts(type = "{ entities: { [entityType: string]: Array<string> }, text: string }")
    )]
    pub parameters: Value,
    /// Tool calls it stands for.
    pub tool_calls: Vec<String>,
    /// The learner's predicted reward (or the caller's prior before anything is learned).
    pub expected_reward: f64,
}

impl ActionView {
    /// The view of `action` with `parameters`. Unless `whole`, only what a summary reads is
    /// filled in (the name; the parameters go on to verification).
    pub fn of(
        action: &crate::agent::ActionSpec,
        parameters: Value,
        expected_reward: f64,
        whole: bool,
    ) -> ActionView {
        let mut view = ActionView {
            action_type: action.name.clone(),
            description: String::new(),
            parameters,
            tool_calls: Vec::new(),
            expected_reward,
        };
        if whole {
            view.description = action.description.clone();
            view.tool_calls = action.tool_calls.clone();
        }
        view
    }

    /// The view of a step in which no registered action could run.
    pub fn none(parameters: Value) -> ActionView {
        ActionView {
            action_type: "none".into(),
            description: "no registered action can run now".into(),
            parameters,
            tool_calls: Vec::new(),
            expected_reward: 0.0,
        }
    }
}

/// What executing the action produced.
#[cfg_attr(test, derive(ts_rs::TS))]
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
    #[cfg_attr(test, ts(optional))]
    pub error: Option<String>,
    /// The stable code of `error`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub error_code: Option<String>,
}

/// A finished step.
#[cfg_attr(test, derive(ts_rs::TS))]
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
    #[cfg_attr(test, ts(as = "crate::ts_types::VerificationTs"))]
    pub verification: Verification,
    /// Entities found in the chunk (the first [`MAX_STEP_ENTITIES`]).
    pub entities: Vec<Entity>,
    /// The chunk had more entities than `entities` holds (serialised only when true).
    #[serde(skip_serializing_if = "is_false")]
    #[cfg_attr(test, ts(as = "Option<bool>", optional))]
    pub entities_truncated: bool,
    /// Probability with which the policy chose this action.
    pub propensity: f64,
    /// Whether the choice was exploration.
    pub explored: bool,
    /// Whether the learner was updated from this step.
    pub learned: bool,
    /// Verification denied the step and it ran anyway (`enforcement: 'observe'`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    #[cfg_attr(test, ts(as = "Option<bool>", optional))]
    pub would_deny: bool,
    /// This step's reward made the learner's drift detector fire: the rewards of its action
    /// changed, and exploration is boosted for a while (serialised only when true).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    #[cfg_attr(test, ts(as = "Option<bool>", optional))]
    pub drift_alarm: bool,
    /// Time from receiving the chunk to the result, in microseconds.
    pub latency_us: u64,
}

/// What a caller tells about a step it executed outside the engine (`recordOutcome`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordedStep {
    /// What happened.
    #[serde(flatten)]
    pub outcome: crate::agent::HandlerOutcome,
    /// The action's parameters (numeric ones feed `runs` sums).
    #[serde(default)]
    pub params: Value,
    /// The caller's verification decision before it ran, if it verified.
    #[serde(default)]
    pub decision: Option<super::verify::Verdict>,
    /// The probability with which the caller chose the action (default 1).
    #[serde(default)]
    pub propensity: Option<f64>,
}

/// A step waiting for its JS handler.
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PendingStep {
    /// Id to complete the step with.
    pub action_id: String,
    /// The session.
    pub session_id: String,
    /// The action to execute.
    pub action: ActionView,
    /// The plan the action belongs to: action names in order; this step runs the first.
    pub plan: Vec<String>,
    /// The verifier's answer (allow or skipped).
    #[cfg_attr(test, ts(as = "crate::ts_types::VerificationTs"))]
    pub verification: Verification,
    /// Entities found in the chunk (the first [`MAX_STEP_ENTITIES`]).
    pub entities: Vec<Entity>,
    /// The chunk had more entities than `entities` holds (serialised only when true).
    #[serde(skip_serializing_if = "is_false")]
    #[cfg_attr(test, ts(as = "Option<bool>", optional))]
    pub entities_truncated: bool,
    /// How long the handler may take.
    pub timeout_ms: u64,
    /// Verification denied the step and it runs anyway (`enforcement: 'observe'`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    #[cfg_attr(test, ts(as = "Option<bool>", optional))]
    pub would_deny: bool,
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
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchProgress {
    /// Finished steps, in input order.
    pub results: Vec<StepResult>,
    /// The step at index `results.len()` if it waits for a handler.
    pub pending: Option<PendingStep>,
}

/// How much of each finished step a batch returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ResultDetail {
    /// Every [`StepResult`] whole: action view, observation, entities, verification with its
    /// certificate.
    #[default]
    Full,
    /// A [`StepSummary`] per step (a step waiting for a handler is still given whole).
    Summary,
}

impl ResultDetail {
    /// Parses `"full"` or `"summary"`.
    pub fn parse(text: &str) -> crate::error::Result<Self> {
        match text {
            "full" => Ok(ResultDetail::Full),
            "summary" => Ok(ResultDetail::Summary),
            other => crate::error::err(
                crate::error::ErrorCode::InvalidConfig,
                format!("detail must be \"full\" or \"summary\", got {other:?}"),
            ),
        }
    }
}

impl ResultDetail {
    /// `r` as a caller asked for it: the whole result, or its [`StepSummary`].
    pub fn view(self, r: &StepResult) -> StepView<'_> {
        match self {
            ResultDetail::Full => StepView::Full(r),
            ResultDetail::Summary => StepView::Summary(StepSummary::from(r)),
        }
    }
}

/// A finished step in the detail a caller asked for; serialises as that form alone.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum StepView<'a> {
    /// The whole result.
    Full(&'a StepResult),
    /// Its summary.
    Summary(StepSummary<'a>),
}

/// The summary of a finished step (`detail: "summary"`): what ran, how it ended and the
/// verifier's verdict with the digest of its certificate — about a tenth of the full JSON,
/// for batches whose callers keep only the outcome. The full certificate is issued either way;
/// the summary leaves it (and the echoed chunk, entities and plan) out.
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StepSummary<'a> {
    /// Id for delayed `feedback`.
    pub action_id: &'a str,
    /// The session.
    pub session_id: &'a str,
    /// The action that ran (or was denied), `none` when nothing could run.
    pub action: &'a str,
    /// Whether it succeeded.
    pub success: bool,
    /// The reward learned from.
    pub reward: f64,
    /// True only when a verifier allowed the action.
    pub verified: bool,
    /// Allow, deny or skipped.
    pub decision: super::verify::Verdict,
    /// The policies that determined the decision (empty when no policy was consulted).
    pub determining_policies: &'a [crate::reasoning::PolicyRef],
    /// The digest of the decision certificate, when policies were consulted.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub certificate_digest: Option<&'a str>,
    /// Probability with which the policy chose this action.
    pub propensity: f64,
    /// Whether the choice was exploration.
    pub explored: bool,
    /// Whether the learner was updated from this step.
    pub learned: bool,
    /// Verification denied the step and it ran anyway (`enforcement: 'observe'`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    #[cfg_attr(test, ts(as = "Option<bool>", optional))]
    pub would_deny: bool,
    /// Time from receiving the chunk to the result, in microseconds.
    pub latency_us: u64,
    /// Why it failed, when it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub error: Option<&'a str>,
    /// The stable code of `error`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub error_code: Option<&'a str>,
}

impl<'a> From<&'a StepResult> for StepSummary<'a> {
    fn from(r: &'a StepResult) -> Self {
        let policy = r.verification.policy.as_deref();
        StepSummary {
            action_id: &r.action_id,
            session_id: &r.session_id,
            action: &r.action.action_type,
            success: r.observation.success,
            reward: r.reward,
            verified: r.verified,
            decision: r.verification.decision,
            determining_policies: policy
                .map(|p| p.determining_policies.as_slice())
                .unwrap_or_default(),
            certificate_digest: policy.map(|p| p.certificate.digest.as_str()),
            propensity: r.propensity,
            explored: r.explored,
            learned: r.learned,
            would_deny: r.would_deny,
            latency_us: r.latency_us,
            error: r.observation.error.as_deref(),
            error_code: r.observation.error_code.as_deref(),
        }
    }
}
