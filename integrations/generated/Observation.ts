// Generated from the Rust types by `cargo test` (src/ts_types.rs); do not edit.
import type { JsonValue } from "./serde_json/JsonValue";

/**
 * What executing the action produced.
 */
export type Observation = { 
/**
 * Whether it succeeded.
 */
success: boolean, 
/**
 * The handler's (or built-in's) result.
 */
result: JsonValue, 
/**
 * Changes it made.
 */
changes: JsonValue, 
/**
 * When it was observed (ms since the epoch).
 */
timestamp: number, 
/**
 * Why it failed, when it did.
 */
error?: string, 
/**
 * The stable code of `error`.
 */
errorCode?: string, };
