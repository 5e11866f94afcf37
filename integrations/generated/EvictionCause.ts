// Generated from the Rust types by `cargo test` (src/ts_types.rs); do not edit.
/**
 * The bank call whose write set off an eviction run.
 */
export type EvictionCause = "store" | "storeLearning" | "importJson" | "importAgenticFlow";
