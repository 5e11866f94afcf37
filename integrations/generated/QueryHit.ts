// Generated from the Rust types by `cargo test` (src/ts_types.rs); do not edit.
/**
 * One full-text hit.
 */
export type QueryHit = { 
/**
 * `memory` or `learning`.
 */
kind: 'memory' | 'learning', 
/**
 * The item's id.
 */
id: string, 
/**
 * A memory's title (empty for a learning).
 */
title: string, 
/**
 * A memory's content or a learning's pattern.
 */
text: string, 
/**
 * Relevance: the negated bm25 rank (higher is better).
 */
relevance: number, 
/**
 * A learning's reward or a memory's confidence.
 */
value: number | null, 
/**
 * Creation time, Unix milliseconds.
 */
createdAtMs: number, };
