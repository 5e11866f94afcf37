// Generated from the Rust types by `cargo test` (src/ts_types.rs); do not edit.
import type { PendingStep } from "./PendingStep";
import type { StepResult } from "./StepResult";

/**
 * Progress of a batch: the steps finished natively, then possibly one waiting for a handler.
 */
export type BatchProgress = { 
/**
 * Finished steps, in input order.
 */
results: Array<StepResult>, 
/**
 * The step at index `results.len()` if it waits for a handler.
 */
pending: PendingStep | null, };
