//! The N-API binding: converts types and errors, nothing else.
//!
//! Values cross the boundary as JSON strings (cheaper than object conversion for nested
//! results); the TypeScript wrapper in `integrations/` parses them and runs JS handlers.
//! Every export catches panics, and every engine error becomes a JS `Error` whose `code`
//! is the engine's stable code.

mod agentic_flow_db;
mod bank;
mod error;
mod knowledge;
mod rules;
mod system;
mod transfer;

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

/// How a workflow (JSON) runs under the branch options `branchesJson` names (`{group:
/// option}`; others take their first option): `RunPlan` JSON — the chosen options, the steps
/// that run in a topological order, those that do not, and each running step's running
/// dependencies. The bridge follows it, so a run takes exactly a path `verifyWorkflow` checked.
#[cfg_attr(test, allow(dead_code))]
#[napi_derive::napi(catch_unwind)]
pub fn workflow_run_plan(workflow_json: String, branches_json: String) -> napi::Result<String> {
    let wf: crate::reasoning::Workflow =
        error::parse_json("workflow", &workflow_json).map_err(|e| {
            napi::Error::from_reason(e.reason.replacen(
                "ERR_INVALID_INPUT",
                "ERR_INVALID_WORKFLOW",
                1,
            ))
        })?;
    let wanted: std::collections::BTreeMap<String, String> =
        error::parse_json("branches", &branches_json)?;
    error::to_json(&crate::reasoning::run_plan(&wf, &wanted).map_err(error::to_js)?)
}
