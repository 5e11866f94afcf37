// Generated from the Rust types by `cargo test` (src/ts_types.rs); do not edit.
/**
 * Counts for [`KnowledgeGraph::stats`].
 */
export type GraphStats = { 
/**
 * Number of nodes.
 */
entities: number, 
/**
 * Number of edges (each counted once).
 */
relations: number, 
/**
 * Number of temporal facts.
 */
facts: number, 
/**
 * Mentions of new values that got no node because the graph already holds
 * `MAX_VALUE_ENTITIES` values.
 */
valuesNotKept: number, 
/**
 * Nodes per type name.
 */
byType: { [key in string]?: number }, };
