// Generated from the Rust types by `cargo test` (src/ts_types.rs); do not edit.
/**
 * A relevant action that cannot run yet.
 */
export type BlockedAction = { 
/**
 * The action.
 */
action: string, 
/**
 * The preconditions that could not be proved.
 */
missing: Array<string>, };
