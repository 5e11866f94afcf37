// Generated from the Rust types by `cargo test` (src/ts_types.rs); do not edit.
/**
 * One entity mention found in a text chunk.
 */
export type Entity = { 
/**
 * Stable id, `<type>:<canonical name>` (see [`entity_id`]).
 */
id: string, 
/**
 * The surface text as it appears in the chunk.
 */
name: string, 
/**
 * The entity's type, serialized as the field `type`.
 */
type: string, 
/**
 * Byte offset of the first byte of the mention in the chunk.
 */
start: number, 
/**
 * Byte offset one past the last byte of the mention.
 */
end: number, 
/**
 * How sure the extractor is, in `0.0..=1.0`.
 */
confidence: number, };
