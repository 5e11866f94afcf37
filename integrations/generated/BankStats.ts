// Generated from the Rust types by `cargo test` (src/ts_types.rs); do not edit.
import type { EvictMode } from "./EvictMode";
import type { EvictionReport } from "./EvictionReport";

/**
 * Counts, caps and evictions of a bank ([`ReasoningBank::stats`]).
 */
export type BankStats = { 
/**
 * Reasoning memories in the store, whoever wrote them.
 */
memories: number, 
/**
 * Those this engine wrote (created by `store` or an import, in any process).
 */
ownMemories: number, 
/**
 * Learnings.
 */
learnings: number, 
/**
 * `maxMemories`.
 */
maxMemories: number, 
/**
 * `maxLearnings`.
 */
maxLearnings: number, 
/**
 * `evict`: which memories eviction may delete.
 */
evict: EvictMode, 
/**
 * Memories this bank evicted since it was opened.
 */
evictedMemories: number, 
/**
 * Learnings this bank evicted since it was opened.
 */
evictedLearnings: number, 
/**
 * Eviction runs since it was opened.
 */
evictions: number, 
/**
 * The latest run, if any.
 */
lastEviction: EvictionReport | null, };
