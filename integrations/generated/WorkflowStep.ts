// Generated from the Rust types by `cargo test` (src/ts_types.rs); do not edit.
import type { Branch } from "./Branch";
import type { JsonValue } from "./serde_json/JsonValue";

/**
 * One step: an agent performing an action after its dependencies.
 */
export type WorkflowStep = { 
/**
 * Unique step id.
 */
id: string, 
/**
 * The agent that performs the step (Cedar principal id).
 */
agentId: string, 
/**
 * The action name (Cedar action id).
 */
action: string, 
/**
 * Parameters of the call (`context.params` in Cedar).
 */
inputs: JsonValue, 
/**
 * Ids of steps that must finish before this one.
 */
dependsOn: Array<string>, 
/**
 * Resource of the call: a bare id or `Type::"id"` (default: the workflow id).
 */
resource: string | null, 
/**
 * Membership in a group of mutually exclusive alternatives.
 */
branch: Branch | null, };
