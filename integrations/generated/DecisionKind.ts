// Generated from the Rust types by `cargo test` (src/ts_types.rs); do not edit.
/**
 * Allow or deny.
 */
export type DecisionKind = "allow" | "deny";
