// Generated from the Rust types by `cargo test` (src/ts_types.rs); do not edit.
/**
 * A permit policy that almost matched a default-denied request.
 */
export type NearMiss = { 
/**
 * The permit policy's id.
 */
policyId: string, 
/**
 * Scope constraints and conditions that held, e.g. `principal in Role::"finance"`.
 */
satisfied: Array<string>, 
/**
 * Scope constraints and conditions that did not hold (or errored, with the error).
 */
failed: Array<string>, };
