// Generated from the Rust types by `cargo test` (src/ts_types.rs); do not edit.
/**
 * What an import wrote.
 */
export type ImportReport = { 
/**
 * Memories created or updated.
 */
memories: number, 
/**
 * Embeddings created or updated.
 */
embeddings: number, 
/**
 * Learnings created or updated.
 */
learnings: number, 
/**
 * Links created or updated.
 */
links: number, 
/**
 * Items skipped (unreadable embedding blobs, links to missing memories).
 */
skipped: number, 
/**
 * Memories and learnings evicted because the import went over a cap (the bank's `evict`
 * event lists them).
 */
evicted: number, };
