// Generated from the Rust types by `cargo test` (src/ts_types.rs); do not edit.
/**
 * The three parts of a retrieval score.
 */
export type ScoreComponents = { 
/**
 * Cosine similarity to the query.
 */
similarity: number, 
/**
 * `exp(−age_days / half_life_days)`.
 */
recency: number, 
/**
 * `min(confidence, 1)`.
 */
reliability: number, };
