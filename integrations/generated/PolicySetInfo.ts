// Generated from the Rust types by `cargo test` (src/ts_types.rs); do not edit.
import type { PolicyEvaluation } from "./PolicyEvaluation";

/**
 * Summary of a successfully loaded policy set.
 */
export type PolicySetInfo = { 
/**
 * Policy ids, sorted.
 */
policyIds: Array<string>, 
/**
 * Number of permit policies.
 */
permitCount: number, 
/**
 * Number of forbid policies.
 */
forbidCount: number, 
/**
 * SHA-256 (hex) of the canonical policy text.
 */
policySetHash: string, 
/**
 * SHA-256 (hex) of the schema text, when a schema was given.
 */
schemaHash: string | null, 
/**
 * True when the policies were validated (strict mode) against a schema.
 */
validated: boolean, 
/**
 * Validation and schema warnings (they do not prevent loading).
 */
warnings: Array<string>, 
/**
 * How each policy is evaluated, sorted by id: compiled, or on Cedar's interpreter (with
 * the construct that keeps it there).
 */
evaluation: Array<PolicyEvaluation>, };
