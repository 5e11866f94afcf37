// Generated from the Rust types by `cargo test` (src/ts_types.rs); do not edit.
import type { EvictMode } from "./EvictMode";
import type { EvictedKind } from "./EvictedKind";
import type { EvictionCause } from "./EvictionCause";

/**
 * One eviction run (camelCase JSON for the JS `evict` event).
 */
export type EvictionReport = { 
/**
 * Memories or learnings.
 */
kind: EvictedKind, 
/**
 * The bank's eviction mode.
 */
mode: EvictMode, 
/**
 * The call that went over the cap.
 */
cause: EvictionCause, 
/**
 * How many items were deleted.
 */
count: number, 
/**
 * Their ids, lowest value first (at most [`MAX_REPORTED_IDS`]).
 */
ids: Array<string>, 
/**
 * Whether `ids` was cut at [`MAX_REPORTED_IDS`].
 */
idsTruncated: boolean, 
/**
 * The cap (`maxMemories` or `maxLearnings`).
 */
cap: number, 
/**
 * Items the cap counts that remain (own memories with `own`, all with `all`).
 */
remaining: number, 
/**
 * When it ran (Unix milliseconds).
 */
atMs: number, };
