// Generated from the Rust types by `cargo test` (src/ts_types.rs); do not edit.
/**
 * Drift detector parameters and the learner's reaction to a detected drift.
 */
export type DriftConfig = { 
/**
 * Tolerated mean over-prediction per update (δ), in standard deviations of the
 * residuals, in [0, 10].
 */
delta?: number, 
/**
 * Alarm threshold (λ): the accumulated over-prediction beyond δ, in standard deviations
 * of the residuals, in (0, 1000].
 */
threshold?: number, 
/**
 * Updates observed after a reset before an alarm may fire, 1..=100000.
 */
minSamples?: number, 
/**
 * Updates during which the session learns faster after an alarm, 0..=1000000.
 */
boostUpdates?: number, 
/**
 * Learning-rate multiplier at the start of the boost (decays linearly to 1), in [1, 100].
 */
learningRateBoost?: number, 
/**
 * Exploration share ε at the start of the boost (decays linearly to the configured ε;
 * the larger of the two applies), in [0, 1]. Re-exploring finds actions that became good.
 */
explorationBoost?: number, 
/**
 * During the boost, the exposures (`Σ x²`, about the number of updates) of touched
 * weights are capped at this value, so their steps average afresh, in (0, 1e6].
 */
accumulatorCap?: number, };
