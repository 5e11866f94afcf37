// Generated from the Rust types by `cargo test` (src/ts_types.rs); do not edit.
/**
 * How the engine's uncached decisions were made.
 */
export type EvaluationStats = { 
/**
 * Decisions made without Cedar's interpreter (every policy of the action compiled).
 */
compiled: number, 
/**
 * Decisions where compiled policies and interpreted ones both ran.
 */
mixed: number, 
/**
 * Decisions made by Cedar's interpreter alone (a schema, a context with `__entity` or
 * `__extn` values, compilation switched off, or a fallback below).
 */
interpreted: number, 
/**
 * Of `interpreted`: requests the compiled evaluator handed over because a condition
 * errors (Cedar reports the error and the engine fails closed) or reads a value it does
 * not model.
 */
fallbacks: number, };
