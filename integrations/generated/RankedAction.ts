// Generated from the Rust types by `cargo test` (src/ts_types.rs); do not edit.
import type { Verdict } from "./Verdict";

/**
 * One runnable plan, as the learner sees it before a step.
 */
export type RankedAction = { 
/**
 * The action the plan leads to.
 */
action: string, 
/**
 * Action names in execution order; the first one would run now.
 */
plan: Array<string>, 
/**
 * The planner's relevance of the action to the chunk, in [0, 1].
 */
relevance: number, 
/**
 * The learner's predicted reward for the plan's first action in this context.
 */
predicted: number, 
/**
 * The probability that the next step chooses this plan.
 */
probability: number, 
/**
 * The verifier's answer for the plan's first action (`skipped` when verification is off).
 */
decision: Verdict, 
/**
 * Why, in the verifier's words.
 */
reasons: Array<string>, };
