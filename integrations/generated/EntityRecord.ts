// Generated from the Rust types by `cargo test` (src/ts_types.rs); do not edit.
/**
 * A node as seen by queries.
 */
export type EntityRecord = { 
/**
 * Stable id (`place:tokyo`).
 */
id: string, 
/**
 * Display name (the best-cased surface form seen).
 */
name: string, 
/**
 * Entity type, serialized as `type`.
 */
type: string, 
/**
 * How many mentions were ingested.
 */
mentions: number, 
/**
 * `at_ms` of the first mention.
 */
firstSeenMs: number, 
/**
 * `at_ms` of the latest mention.
 */
lastSeenMs: number, 
/**
 * Number of edges (both directions, all relations).
 */
degree: number, };
