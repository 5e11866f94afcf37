// Generated from the Rust types by `cargo test` (src/ts_types.rs); do not edit.
import type { MemoryOutcome } from "./MemoryOutcome";
import type { JsonValue } from "./serde_json/JsonValue";

/**
 * The source of a stored memory.
 */
export type MemorySource = { 
/**
 * Source task id.
 */
taskId: string | null, 
/**
 * Source agent id.
 */
agentId: string | null, 
/**
 * Outcome of the task.
 */
outcome: MemoryOutcome, 
/**
 * Evidence items.
 */
evidence: Array<JsonValue>, };
