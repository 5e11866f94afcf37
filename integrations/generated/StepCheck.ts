// Generated from the Rust types by `cargo test` (src/ts_types.rs); do not edit.
import type { DecisionKind } from "./DecisionKind";
import type { PolicyRef } from "./PolicyRef";

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
 * The policies that determined the decision.
 */
determiningPolicies: Array<PolicyRef>, 
/**
 * Human reasons from the policy engine.
 */
reasons: Array<string>, 
/**
 * The `priorSteps` the step was checked with (actions guaranteed to have run before it).
 */
priorSteps: Array<string>, };
