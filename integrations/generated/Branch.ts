// Generated from the Rust types by `cargo test` (src/ts_types.rs); do not edit.
/**
 * Steps sharing a `group` with different `option`s are alternatives: on any execution path
 * exactly one option of each group is chosen, and steps of the other options do not run.
 */
export type Branch = { 
/**
 * The decision point, e.g. `review`.
 */
group: string, 
/**
 * This step's alternative, e.g. `manual`.
 */
option: string, };
