// Generated from the Rust types by `cargo test` (src/ts_types.rs); do not edit.
/**
 * Whether verification refuses a denied step or only records it.
 */
export type Enforcement = "enforce" | "observe";
