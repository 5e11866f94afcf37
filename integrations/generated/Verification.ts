// Generated from the Rust types by `cargo test` (src/ts_types.rs); do not edit.
import type { Certificate } from "./Certificate";
import type { NearMiss } from "./NearMiss";
import type { PolicyRef } from "./PolicyRef";
import type { Proof } from "./Proof";
import type { Verdict } from "./Verdict";

/**
 * A verification as TypeScript sees it: the verdict and reasons, the Cedar part when policies
 * were consulted, and the other details when there are any (ts-rs cannot flatten an
 * `Option` or a map, so their fields are optional here).
 */
export type Verification = { 
/**
 * Allow, deny or skipped.
 */
decision: Verdict, 
/**
 * Human-readable reasons.
 */
reasons: Array<string>, 
/**
 * The policies that caused the decision (the erroring ones when an error decided).
 */
determiningPolicies?: Array<PolicyRef>, 
/**
 * Policy evaluation errors (an erroring policy denies: fail closed).
 */
errors?: Array<string>, 
/**
 * On a default deny: the permit policies closest to matching.
 */
nearMiss?: Array<NearMiss>, 
/**
 * The replayable decision certificate.
 */
certificate?: Certificate, 
/**
 * The checked proofs of the action's preconditions.
 */
proofs?: Array<Proof>, 
/**
 * The precondition that could not be proved.
 */
failedGoal?: string, 
/**
 * Its failing subgoals, outermost first.
 */
failedSubgoals?: Array<string>, };
