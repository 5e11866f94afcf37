// Generated from the Rust types by `cargo test` (src/ts_types.rs); do not edit.
import type { WorkflowStep } from "./WorkflowStep";

/**
 * A multi-step plan: a DAG of steps linked by `dependsOn`.
 */
export type Workflow = { 
/**
 * Workflow id (used as the default Cedar resource id of its steps).
 */
id: string, 
/**
 * Human name.
 */
name: string, 
/**
 * The steps, in any order.
 */
steps: Array<WorkflowStep>, };
