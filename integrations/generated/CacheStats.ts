// Generated from the Rust types by `cargo test` (src/ts_types.rs); do not edit.
/**
 * Counters of the decision cache.
 */
export type CacheStats = { 
/**
 * Entries currently cached.
 */
entries: number, 
/**
 * Maximum number of entries (0 = cache disabled).
 */
capacity: number, 
/**
 * Lookups answered from the cache.
 */
hits: number, 
/**
 * Lookups that had to evaluate.
 */
misses: number, 
/**
 * Entries dropped to stay within capacity.
 */
evictions: number, };
