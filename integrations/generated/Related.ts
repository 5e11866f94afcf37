// Generated from the Rust types by `cargo test` (src/ts_types.rs); do not edit.
/**
 * A node reached by [`KnowledgeGraph::related`].
 */
export type Related = { 
/**
 * The reached node's id.
 */
id: string, 
/**
 * Its display name.
 */
name: string, 
/**
 * Its type, serialized as `type`.
 */
type: string, 
/**
 * The relation of the edge it was reached by.
 */
relation: string, 
/**
 * That edge's weight, decayed to the graph clock.
 */
weight: number, 
/**
 * Hops from the start node (1 = direct neighbour).
 */
depth: number, 
/**
 * Id of the node it was reached from.
 */
via: string, 
/**
 * Edge direction seen from `via`: `out` (via → id), `in` (id → via) or `both`.
 */
direction: 'out' | 'in' | 'both', };
