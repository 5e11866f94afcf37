// Generated from the Rust types by `cargo test` (src/ts_types.rs); do not edit.
import type { DecisionKind } from "./DecisionKind";

/**
 * The policy decision for one step.
 */
export type StepCheck = { 
/**
 * The step id.
 */
stepId: string, 
/**
 * Allow or deny.
 */
decision: DecisionKind, 
/**
 * Ids of the determining policies.
 */
determiningPolicies: Array<string>, 
/**
 * Human reasons from the policy engine.
 */
reasons: Array<string>, 
/**
 * The `priorSteps` the step was checked with (actions guaranteed to have run before it).
 */
priorSteps: Array<string>, };
