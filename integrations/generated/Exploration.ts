// Generated from the Rust types by `cargo test` (src/ts_types.rs); do not edit.
/**
 * How choices trade exploitation for exploration (see the module docs).
 */
export type Exploration = { "strategy": "epsilonGreedy", 
/**
 * Share of uniformly random choices, in [0, 1] (default 0.02: the learner's optimism
 * gives every action its first looks, so less uniform exploration is needed; Vowpal
 * Wabbit's default is 0.05).
 */
epsilon?: number, } | { "strategy": "softmax", 
/**
 * Softmax temperature, in (0, 100]; lower is greedier (default 0.1).
 */
temperature?: number, 
/**
 * Uniform floor, in [0, 1]; keep it above 0 (see the module docs; default 0.05).
 */
epsilon?: number, } | { "strategy": "ucb", 
/**
 * Bonus scale, in [0, 100] (default 0.5).
 */
alpha?: number, 
/**
 * Uniform floor, in [0, 1] (default 0.05).
 */
epsilon?: number, };
