// Generated from the Rust types by `cargo test` (src/ts_types.rs); do not edit.
import type { ActionView } from "./ActionView";
import type { Entity } from "./Entity";
import type { Verification } from "./Verification";

/**
 * A step waiting for its JS handler.
 */
export type PendingStep = { 
/**
 * Id to complete the step with.
 */
actionId: string, 
/**
 * The session.
 */
sessionId: string, 
/**
 * The action to execute.
 */
action: ActionView, 
/**
 * The plan the action belongs to: action names in order; this step runs the first.
 */
plan: Array<string>, 
/**
 * The verifier's answer (allow or skipped).
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
 * How long the handler may take.
 */
timeoutMs: number, 
/**
 * Verification denied the step and it runs anyway (`enforcement: 'observe'`).
 */
wouldDeny?: boolean, };
