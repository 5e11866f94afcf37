// Generated from the Rust types by `cargo test` (src/ts_types.rs); do not edit.
/**
 * Which memories eviction may delete (`bank.evict`).
 */
export type EvictMode = "own" | "all" | "none";
