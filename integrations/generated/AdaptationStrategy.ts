// Generated from the Rust types by `cargo test` (src/ts_types.rs); do not edit.
/**
 * How rewards are turned into updates (see the module docs).
 */
export type AdaptationStrategy = { "mode": "immediate" } | { "mode": "miniBatch", 
/**
 * Rewards per batch, 1..=10000.
 */
size: number, } | { "mode": "experienceReplay", 
/**
 * Examples kept per session, 1..=1000000.
 */
capacity: number, 
/**
 * Replayed examples after each update, 0..=100.
 */
replaysPerUpdate: number, };
