// Generated from the Rust types by `cargo test` (src/ts_types.rs); do not edit.
import type { Certificate } from "./Certificate";
import type { DecisionKind } from "./DecisionKind";
import type { NearMiss } from "./NearMiss";
import type { PolicyRef } from "./PolicyRef";

/**
 * The outcome of one authorization request.
 */
export type Decision = { 
/**
 * Allow or deny.
 */
decision: DecisionKind, 
/**
 * The policies that caused the decision (the matching permits on allow, the matching
 * forbids on an explicit deny, none on a default deny).
 */
determiningPolicies: Array<PolicyRef>, 
/**
 * Evaluation errors as `policy "<id>": <message>`; an erroring policy is skipped.
 */
errors: Array<string>, 
/**
 * Human sentences explaining the decision.
 */
reasons: Array<string>, 
/**
 * On a default deny: the permit policies closest to matching, best first.
 */
nearMiss: Array<NearMiss>, 
/**
 * A replayable record of the decision.
 */
certificate: Certificate, };
