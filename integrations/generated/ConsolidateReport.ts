// Generated from the Rust types by `cargo test` (src/ts_types.rs); do not edit.
/**
 * What a consolidation run did.
 */
export type ConsolidateReport = { 
/**
 * Memories compared.
 */
itemsProcessed: number, 
/**
 * Pairs linked `duplicate_of`.
 */
duplicatesFound: number, 
/**
 * Pairs linked `contradicts`.
 */
contradictionsFound: number, 
/**
 * Memories deleted as stale.
 */
itemsPruned: number, 
/**
 * Wall time in milliseconds.
 */
durationMs: number, };
