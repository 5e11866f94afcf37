// Generated from the Rust types by `cargo test` (src/ts_types.rs); do not edit.
/**
 * Learner-wide counters.
 */
export type LearnerStats = { 
/**
 * Rewards received.
 */
iterations: number, 
/**
 * Mean of all rewards.
 */
averageReward: number, 
/**
 * Exponentially weighted mean of the recent rewards (≈ the last 100).
 */
recentAverageReward: number, 
/**
 * Sessions known.
 */
sessions: number, 
/**
 * Drift alarms over all sessions.
 */
driftEvents: number, 
/**
 * Share of choices that explored.
 */
explorationRateObserved: number, };
