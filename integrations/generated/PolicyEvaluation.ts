// Generated from the Rust types by `cargo test` (src/ts_types.rs); do not edit.
import type { EvaluationMode } from "./EvaluationMode";

/**
 * How one policy is evaluated.
 */
export type PolicyEvaluation = { 
/**
 * The policy id.
 */
id: string, 
/**
 * `compiled` or `interpreted`.
 */
mode: EvaluationMode, 
/**
 * For an interpreted policy, the construct the compiler does not implement.
 */
reason: string | null, };
