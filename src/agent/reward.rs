//! Rewards come from what happened, never from a constant — and every reward rule lives here.
//!
//! - A step's reward is the handler's own reward when it gives one (it knows best, e.g. "the
//!   user accepted the answer"), otherwise [`SUCCESS_REWARD`] / [`FAILURE_REWARD`]; in both
//!   cases minus a latency penalty of up to [`MAX_LATENCY_PENALTY`] that grows linearly with the
//!   share of the action's timeout the step used ([`reward_for`]).
//! - A denied step earns [`DENIED_REWARD`]: the agent chose something it was not allowed to do.
//! - A built-in action (no JS handler) earns its relevance to the chunk, or [`FAILURE_REWARD`]
//!   when it was of no use ([`builtin_reward`]).
//! - The learner learns from rewards clamped to ±[`REWARD_LIMIT`] ([`clamp_reward`]).
//!
//! The constants reach JavaScript through the binding (`rewardConstants()`), so the bridge
//! never keeps a copy of its own.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{err, ErrorCode, Result};

/// The reward of a step verification denied.
pub const DENIED_REWARD: f64 = -0.5;
/// The reward of a success, before the latency penalty, when the handler gives none.
pub const SUCCESS_REWARD: f64 = 1.0;
/// The reward of a failure, before the latency penalty, when the handler gives none.
pub const FAILURE_REWARD: f64 = -1.0;
/// The most a slow step loses: when it used its whole timeout.
pub const MAX_LATENCY_PENALTY: f64 = 0.2;
/// Rewards are clamped to ±this before learning (keeps squared gradients finite).
pub const REWARD_LIMIT: f64 = 1000.0;

/// `reward` clamped to ±[`REWARD_LIMIT`].
pub fn clamp_reward(reward: f64) -> f64 {
    reward.clamp(-REWARD_LIMIT, REWARD_LIMIT)
}

/// The reward of a built-in action: its relevance to the chunk when it was of use (relevant,
/// or a prerequisite of a relevant plan), else [`FAILURE_REWARD`].
pub fn builtin_reward(relevance: f64, useful: bool) -> f64 {
    if useful {
        relevance
    } else {
        FAILURE_REWARD
    }
}

/// What an execution produced, as observed.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct HandlerOutcome {
    /// Whether the action achieved what it was for.
    pub success: bool,
    /// The handler's result (any JSON).
    #[serde(default)]
    pub result: Value,
    /// The handler's own reward, if it gave one.
    #[serde(default)]
    pub reward: Option<f64>,
    /// Changes the action made (any JSON), reported back to the caller.
    #[serde(default)]
    pub changes: Value,
    /// The error message when the handler threw or timed out.
    #[serde(default)]
    pub error: Option<String>,
    /// The stable code of `error` (e.g. `ERR_HANDLER_TIMEOUT`).
    #[serde(default)]
    pub error_code: Option<String>,
    /// A reward JSON cannot carry (`NaN`, `Infinity`), as text; always rejected.
    #[serde(default)]
    pub reward_invalid: Option<String>,
    /// Whether the action was denied by verification (and so not executed).
    #[serde(default)]
    pub denied: bool,
}

/// The reward for `outcome` after `latency_ms` out of a `timeout_ms` budget.
pub fn reward_for(outcome: &HandlerOutcome, latency_ms: f64, timeout_ms: f64) -> Result<f64> {
    if outcome.denied {
        return Ok(DENIED_REWARD);
    }
    if let Some(bad) = &outcome.reward_invalid {
        return err(
            ErrorCode::InvalidReward,
            format!("the handler returned reward {bad}; rewards must be finite numbers"),
        );
    }
    let base = match outcome.reward {
        Some(r) if !r.is_finite() => {
            return err(
                ErrorCode::InvalidReward,
                format!("the handler returned reward {r}; rewards must be finite numbers"),
            )
        }
        Some(r) => r,
        None if outcome.success => SUCCESS_REWARD,
        None => FAILURE_REWARD,
    };
    let share = if timeout_ms > 0.0 && latency_ms.is_finite() {
        (latency_ms / timeout_ms).clamp(0.0, 1.0)
    } else {
        0.0
    };
    Ok(base - MAX_LATENCY_PENALTY * share)
}
