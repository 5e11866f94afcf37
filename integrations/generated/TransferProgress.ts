// Generated from the Rust types by `cargo test` (src/ts_types.rs); do not edit.
/**
 * How far a transfer is.
 */
export type TransferProgress = { 
/**
 * Memories copied so far.
 */
memories: number, 
/**
 * Memories in the source when the transfer started.
 */
total: number, 
/**
 * Embeddings copied so far.
 */
embeddings: number, 
/**
 * Learnings copied (set by the last step).
 */
learnings: number, 
/**
 * Links copied (set by the last step).
 */
links: number, 
/**
 * Items skipped (unreadable embeddings, links to missing memories).
 */
skipped: number, 
/**
 * Whether everything is copied.
 */
done: boolean, 
/**
 * Into an empty PostgreSQL bank: the HNSW index was built once at the end, in this many ms
 * (0 otherwise).
 */
indexBuildMs: number, };
