// Generated from the Rust types by `cargo test` (src/ts_types.rs); do not edit.
/**
 * A time-bounded statement `subject relation object`.
 */
export type Fact = { 
/**
 * Subject entity id.
 */
subject: string, 
/**
 * Relation name.
 */
relation: string, 
/**
 * Object entity id.
 */
object: string, 
/**
 * Valid from this time (inclusive, ms since the epoch); `None` = always before.
 */
validFromMs: number | null, 
/**
 * Valid until this time (exclusive); `None` = still valid.
 */
validUntilMs: number | null, 
/**
 * `manual` (from `add_fact`) or `text` (from a dated sentence).
 */
source: string, };
