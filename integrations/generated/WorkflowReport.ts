// Generated from the Rust types by `cargo test` (src/ts_types.rs); do not edit.
import type { StepCheck } from "./StepCheck";
import type { Violation } from "./Violation";

/**
 * The outcome of verifying a workflow.
 */
export type WorkflowReport = { 
/**
 * True when no property is violated and every checked step is allowed.
 */
ok: boolean, 
/**
 * Violated properties.
 */
violations: Array<Violation>, 
/**
 * Per-step policy decisions (empty without an engine or without loaded policies).
 */
stepChecks: Array<StepCheck>, 
/**
 * Non-fatal remarks, e.g. a property selector that matches no step.
 */
warnings: Array<string>, 
/**
 * Number of branch-choice combinations examined.
 */
pathsChecked: number, };
