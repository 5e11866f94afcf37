// Generated from the Rust types by `cargo test` (src/ts_types.rs); do not edit.
/**
 * What kind of failure a [`Violation`] is.
 */
export type ViolationKind = "violated" | "absent" | "denied";
