// Generated from the Rust types by `cargo test` (src/ts_types.rs); do not edit.
/**
 * The action as reported to callers and handlers.
 */
export type ActionView = { 
/**
 * The action's name.
 */
actionType: string, 
/**
 * Its description.
 */
description: string, 
/**
 * Parameters: the chunk text and its entities grouped by type.
 */
parameters: { entities: { [entityType: string]: Array<string> }, text: string }, 
/**
 * Tool calls it stands for.
 */
toolCalls: Array<string>, 
/**
 * The learner's predicted reward (or the caller's prior before anything is learned).
 */
expectedReward: number, };
