// Generated from the Rust types by `cargo test` (src/ts_types.rs); do not edit.
import type { JsonValue } from "./serde_json/JsonValue";

/**
 * A stored learning.
 */
export type LearningRecord = { 
/**
 * Stable id (`la_learnings.id`).
 */
id: string, 
/**
 * What was learned about, e.g. `tool/Bash` or `workflow/deploy`.
 */
pattern: string, 
/**
 * The outcome label.
 */
outcome: string, 
/**
 * The reward observed (finite).
 */
reward: number, 
/**
 * Free JSON context.
 */
context: JsonValue | null, 
/**
 * Session id.
 */
session: string | null, 
/**
 * Action name.
 */
action: string | null, 
/**
 * Creation time, Unix milliseconds.
 */
createdAtMs: number, };
