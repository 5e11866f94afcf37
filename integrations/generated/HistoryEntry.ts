// Generated from the Rust types by `cargo test` (src/ts_types.rs); do not edit.
/**
 * One step in a session's history.
 */
export type HistoryEntry = { 
/**
 * The step's `actionId` (for `feedback`).
 */
stepId: string, 
/**
 * The chunk that started the step (truncated to 200 characters).
 */
input: string, 
/**
 * The action that ran.
 */
action: string, 
/**
 * Whether it succeeded.
 */
success: boolean, 
/**
 * The reward it earned.
 */
reward: number, 
/**
 * When it completed (ms since the epoch).
 */
timestamp: number, };
