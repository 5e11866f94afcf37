// Generated from the Rust types by `cargo test` (src/ts_types.rs); do not edit.
import type { ActionView } from "./ActionView";
import type { Entity } from "./Entity";
import type { Observation } from "./Observation";
import type { Verification } from "./Verification";

/**
 * A finished step.
 */
export type StepResult = { 
/**
 * Id for delayed `feedback`.
 */
actionId: string, 
/**
 * The session.
 */
sessionId: string, 
/**
 * The action that ran (or was denied).
 */
action: ActionView, 
/**
 * The plan it belongs to: action names in order; the first one ran.
 */
plan: Array<string>, 
/**
 * What happened.
 */
observation: Observation, 
/**
 * The reward learned from.
 */
reward: number, 
/**
 * True only when a verifier allowed the action.
 */
verified: boolean, 
/**
 * The verifier's answer.
 */
verification: Verification, 
/**
 * Entities found in the chunk (the first [`MAX_STEP_ENTITIES`]).
 */
entities: Array<Entity>, 
/**
 * The chunk had more entities than `entities` holds (serialised only when true).
 */
entitiesTruncated?: boolean, 
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
 * This step's reward made the learner's drift detector fire: the rewards of its action
 * changed, and exploration is boosted for a while (serialised only when true).
 */
driftAlarm?: boolean, 
/**
 * Time from receiving the chunk to the result, in microseconds.
 */
latencyUs: number, };
