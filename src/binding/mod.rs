//! The N-API binding: converts types and errors, nothing else.
//!
//! Values cross the boundary as JSON strings (cheaper than object conversion for nested
//! results); the TypeScript wrapper in `integrations/` parses them and runs JS handlers.
//! Every export catches panics, and every engine error becomes a JS `Error` whose `code`
//! is the engine's stable code.

mod bank;
mod error;
mod knowledge;
mod rules;
mod system;

/// The engine's reward rules as JSON (`{denied, success, failure, maxLatencyPenalty, limit}`):
/// the one source the TypeScript side reads them from.
#[cfg_attr(test, allow(dead_code))]
#[napi_derive::napi(catch_unwind)]
pub fn reward_constants() -> String {
    use crate::agent::reward::{
        DENIED_REWARD, FAILURE_REWARD, MAX_LATENCY_PENALTY, REWARD_LIMIT, SUCCESS_REWARD,
    };
    serde_json::json!({
        "denied": DENIED_REWARD,
        "success": SUCCESS_REWARD,
        "failure": FAILURE_REWARD,
        "maxLatencyPenalty": MAX_LATENCY_PENALTY,
        "limit": REWARD_LIMIT,
    })
    .to_string()
}
