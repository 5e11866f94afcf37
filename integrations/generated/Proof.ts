// Generated from the Rust types by `cargo test` (src/ts_types.rs); do not edit.
/**
 * A derivation tree node.
 */
export type Proof = { 
/**
 * The ground atom proved, in source syntax, e.g. `can_transfer(alice, tx1)`.
 */
conclusion: string, 
/**
 * `"fact"`, `"premise"` or the id of the rule applied.
 */
rule: string, 
/**
 * Rule variable -> constant (source syntax); empty for leaves.
 */
bindings: { [key in string]?: string }, 
/**
 * Proofs of the positive body literals, in body order; empty for leaves.
 */
premises: Array<Proof>, 
/**
 * The negated body literals, instantiated, that were checked not to hold.
 */
absent: Array<string>, };
