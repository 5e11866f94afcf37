// Generated from the Rust types by `cargo test` (src/ts_types.rs); do not edit.
import type { MemoryRecord } from "./MemoryRecord";
import type { ScoreComponents } from "./ScoreComponents";

/**
 * One retrieved memory with its score.
 */
export type Retrieved = { 
/**
 * The memory (with its usage already counted when usage recording is on).
 */
memory: MemoryRecord, 
/**
 * `α·similarity + β·recency + γ·reliability`.
 */
score: number, 
/**
 * The parts of the score.
 */
components: ScoreComponents, };
