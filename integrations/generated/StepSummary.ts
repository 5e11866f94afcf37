// Generated from the Rust types by `cargo test` (src/ts_types.rs); do not edit.
import type { PolicyRef } from "./PolicyRef";
import type { Verdict } from "./Verdict";

/**
 * The summary of a finished step (`detail: "summary"`): what ran, how it ended and the
 * verifier's verdict with the digest of its certificate — about a tenth of the full JSON,
 * for batches whose callers keep only the outcome. The full certificate is issued either way;
 * the summary leaves it (and the echoed chunk, entities and plan) out.
 */
export type StepSummary = { 
/**
 * Id for delayed `feedback`.
 */
actionId: string, 
/**
 * The session.
 */
sessionId: string, 
/**
 * The action that ran (or was denied), `none` when nothing could run.
 */
action: string, 
/**
 * Whether it succeeded.
 */
success: boolean, 
/**
 * The reward learned from.
 */
reward: number, 
/**
 * True only when a verifier allowed the action.
 */
verified: boolean, 
/**
 * Allow, deny or skipped.
 */
decision: Verdict, 
/**
 * The policies that determined the decision (empty when no policy was consulted).
 */
determiningPolicies: Array<PolicyRef>, 
/**
 * The digest of the decision certificate, when policies were consulted.
 */
certificateDigest?: string, 
/**
 * Probability with which the policy chose this action.
 */
propensity: number, 
/**
 * Whether the choice was exploration.
 */
explored: boolean, 
/**
 * Whether the learner was updated from this step.
 */
learned: boolean, 
/**
 * Verification denied the step and it ran anyway (`enforcement: 'observe'`).
 */
wouldDeny?: boolean, 
/**
 * Time from receiving the chunk to the result, in microseconds.
 */
latencyUs: number, 
/**
 * Why it failed, when it did.
 */
error?: string, 
/**
 * The stable code of `error`.
 */
errorCode?: string, };
