// Generated from the Rust types by `cargo test` (src/ts_types.rs); do not edit.
/**
 * The outcome of the task a memory was distilled from.
 */
export type MemoryOutcome = "Success" | "Failure";
