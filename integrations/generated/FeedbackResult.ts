// Generated from the Rust types by `cargo test` (src/ts_types.rs); do not edit.
/**
 * The answer to a delayed `feedback` call.
 */
export type FeedbackResult = { 
/**
 * The step the reward was for.
 */
actionId: string, 
/**
 * The action that step ran.
 */
action: string, 
/**
 * The learner's prediction before the update.
 */
predictedBefore: number, 
/**
 * The prediction after the update.
 */
predictedAfter: number, };
