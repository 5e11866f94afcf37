// Generated from the Rust types by `cargo test` (src/ts_types.rs); do not edit.
import type { ViolationKind } from "./ViolationKind";
import type { JsonValue } from "./serde_json/JsonValue";

/**
 * A property that fails, with an execution order showing it.
 */
export type Violation = { 
/**
 * The property JSON (`{"type": "policy", "step": ...}` for a denied step).
 */
property: JsonValue, 
/**
 * Counterexample, absent selector or policy denial.
 */
kind: ViolationKind, 
/**
 * What goes wrong, naming steps and the branch choice.
 */
message: string, 
/**
 * Step ids in a valid execution order that exhibits the violation (for `noCycles` the
 * cycle, for `allReachable` the unreachable steps).
 */
counterexample: Array<string>, };
