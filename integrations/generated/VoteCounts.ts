// Generated from the Rust types by `cargo test` (src/ts_types.rs); do not edit.
/**
 * An agent's counts.
 */
export type VoteCounts = { 
/**
 * The swarm agent.
 */
agentId: string, 
/**
 * Rounds in which it voted with the winner.
 */
agreements: number, 
/**
 * Rounds that reached consensus with its vote.
 */
rounds: number, 
/**
 * `(agreements + 1) / (rounds + 2)`.
 */
reliability: number, };
