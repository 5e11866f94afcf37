// Generated from the Rust types by `cargo test` (src/ts_types.rs); do not edit.
/**
 * What an eviction run removed.
 */
export type EvictedKind = "memory" | "learning";
