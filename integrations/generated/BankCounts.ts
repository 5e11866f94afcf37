// Generated from the Rust types by `cargo test` (src/ts_types.rs); do not edit.
/**
 * Numbers of stored items.
 */
export type BankCounts = { 
/**
 * Reasoning memories (`patterns` rows of type `reasoning_memory`).
 */
memories: number, 
/**
 * Learnings.
 */
learnings: number, };
