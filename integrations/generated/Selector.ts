// Generated from the Rust types by `cargo test` (src/ts_types.rs); do not edit.
/**
 * Which steps a property talks about.
 *
 * `{"step": "id"}` selects one step by id, `{"action": "name"}` every step with that action,
 * and a plain string selects the step with that id if one exists, else every step with that
 * action name.
 */
export type Selector = { 
/**
 * Which step of the workflow was checked.
 */
step: string, } | { 
/**
 * The action name.
 */
action: string, } | string;
