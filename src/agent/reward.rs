//! Rewards come from what happened, never from a constant.
//!
//! The reward of a step is the handler's own reward when it gives one (it knows best, e.g.
//! "the user accepted the answer"), otherwise +1 for success and −1 for failure; in both
//! cases minus a latency penalty of up to 0.2 that grows linearly with the share of the
//! action's timeout the step used. A denied step earns −0.5: the agent chose something it
//! was not allowed to do.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{err, ErrorCode, Result};

/// What an execution produced, as observed.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Outcome {
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
pub fn reward_for(outcome: &Outcome, latency_ms: f64, timeout_ms: f64) -> Result<f64> {
    if outcome.denied {
        return Ok(-0.5);
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
        None if outcome.success => 1.0,
        None => -1.0,
    };
    let share = if timeout_ms > 0.0 && latency_ms.is_finite() {
        (latency_ms / timeout_ms).clamp(0.0, 1.0)
    } else {
        0.0
    };
    Ok(base - 0.2 * share)
}
