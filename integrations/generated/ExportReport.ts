// Generated from the Rust types by `cargo test` (src/ts_types.rs); do not edit.
/**
 * What an export wrote.
 */
export type ExportReport = { 
/**
 * The database written.
 */
path: string, 
/**
 * Memories written.
 */
memories: number, 
/**
 * Embeddings written.
 */
embeddings: number, 
/**
 * Links written.
 */
links: number, };
