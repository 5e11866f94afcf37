// Generated from the Rust types by `cargo test` (src/ts_types.rs); do not edit.
/**
 * A reference to a Cedar entity: `Type::"id"`.
 */
export type EntityRef = { 
/**
 * The entity type, e.g. `Agent` or `App::Document`.
 */
entityType: string, 
/**
 * The entity id, e.g. `planner-1`.
 */
id: string, };
