// Generated from the Rust types by `cargo test` (src/ts_types.rs); do not edit.
/**
 * A policy that determined a decision, with its annotations (`@id`, `@description`, ...).
 */
export type PolicyRef = { 
/**
 * The policy id (`@id` annotation or `policyN`).
 */
id: string, 
/**
 * All annotations of the policy.
 */
annotations: { [key in string]?: string }, };
