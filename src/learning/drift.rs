//! Drift detection on a session's prediction errors: Page's CUSUM on standardised residuals.
//!
//! **Why residuals, not rewards.** A detector on the reward level (the two-sided Page–Hinkley
//! test this module used to run) cannot tell a changed world from the learner's own progress or
//! from the noise of 0/1 rewards: on a stationary stream of Bernoulli rewards it raised ~33
//! alarms in 6,000 chunks, each one a burst of extra exploration and fast, noisy steps, and it
//! cost more reward than it ever recovered (issue #18's benchmark). What a change of the world
//! does that nothing else does is make the model *wrong in one direction*: the chosen actions
//! earn less than predicted, again and again. So the detector watches the residual
//! `reward − prediction` of every update:
//!
//! - each action of a session has its own detector: a change hides in the errors of the actions
//!   it affects (the old best of one intent), diluted by every other action's when pooled;
//! - residuals are standardised by their own running scale `σ` (the root mean square of the
//!   residuals seen, an exponential average once enough are in), so `delta` and `threshold` are
//!   in standard deviations and one setting fits rewards of any scale and noise;
//! - one-sided CUSUM for over-prediction: `S ← max(0, S − z − δ)`, alarm when `S > λ`. While
//!   the model is right, `E[z] = 0` and `S` drifts down by `δ` per update (false alarms are
//!   exponentially rare in `δ·λ`); when the chosen actions got worse, `z` is negative and `S`
//!   climbs by `|z| − δ` per update. Under-prediction (the chosen action got better, or the
//!   model is still learning) raises no alarm: ordinary updates learn that.
//!
//! The learner reacts to an alarm, for the session's next `boostUpdates` updates, by raising its
//! learning rate, capping the exposures of the weights it touches (their evidence is small again,
//! so the step averages afresh), and exploring more (all three boosts decay linearly); see
//! [`DriftConfig`]. The detector rests during a boost (the boost itself disturbs the residuals)
//! and restarts when it ends.

use serde::{Deserialize, Serialize};

use crate::error::{err, ErrorCode, Result};

/// Drift detector parameters and the learner's reaction to a detected drift.
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct DriftConfig {
    /// Tolerated mean over-prediction per update (δ), in standard deviations of the
    /// residuals, in [0, 10].
    #[cfg_attr(test, ts(as = "Option<f64>", optional))]
    pub delta: f64,
    /// Alarm threshold (λ): the accumulated over-prediction beyond δ, in standard deviations
    /// of the residuals, in (0, 1000].
    #[cfg_attr(test, ts(as = "Option<f64>", optional))]
    pub threshold: f64,
    /// Updates observed after a reset before an alarm may fire, 1..=100000.
    #[cfg_attr(test, ts(as = "Option<u32>", optional))]
    pub min_samples: u32,
    /// Updates during which the session learns faster after an alarm, 0..=1000000.
    #[cfg_attr(test, ts(as = "Option<u32>", optional))]
    pub boost_updates: u32,
    /// Learning-rate multiplier at the start of the boost (decays linearly to 1), in [1, 100].
    #[cfg_attr(test, ts(as = "Option<f64>", optional))]
    pub learning_rate_boost: f64,
    /// Exploration share ε at the start of the boost (decays linearly to the configured ε;
    /// the larger of the two applies), in [0, 1]. Re-exploring finds actions that became good.
    #[cfg_attr(test, ts(as = "Option<f64>", optional))]
    pub exploration_boost: f64,
    /// During the boost, the exposures (`Σ x²`, about the number of updates) of touched
    /// weights are capped at this value, so their steps average afresh, in (0, 1e6].
    #[cfg_attr(test, ts(as = "Option<f64>", optional))]
    pub accumulator_cap: f64,
}

/// Default δ, in standard deviations of the residuals.
const DEFAULT_DELTA: f64 = 0.2;
/// Default λ, in standard deviations of the residuals.
const DEFAULT_THRESHOLD: f64 = 20.0;
/// Default exposure cap during a boost.
const DEFAULT_EXPOSURE_CAP: f64 = 0.25;
/// Residuals averaged plainly before the scale becomes an exponential average of this horizon.
const SCALE_HORIZON: f64 = 500.0;
/// Smallest residual scale used (rewards that never vary give no evidence of anything).
const MIN_SCALE: f64 = 1e-6;

impl Default for DriftConfig {
    fn default() -> Self {
        DriftConfig {
            delta: DEFAULT_DELTA,
            threshold: DEFAULT_THRESHOLD,
            min_samples: 30,
            boost_updates: 300,
            learning_rate_boost: 2.0,
            exploration_boost: 0.3,
            accumulator_cap: DEFAULT_EXPOSURE_CAP,
        }
    }
}

impl DriftConfig {
    /// Checks every field's range; messages name the JSON field.
    pub fn validate(&self) -> Result<()> {
        let f = |name: &str, v: f64, ok: bool, range: &str| -> Result<()> {
            if v.is_finite() && ok {
                Ok(())
            } else {
                err(
                    ErrorCode::InvalidConfig,
                    format!("drift.{name} must be in {range}, got {v}"),
                )
            }
        };
        f(
            "delta",
            self.delta,
            (0.0..=10.0).contains(&self.delta),
            "[0, 10]",
        )?;
        f(
            "threshold",
            self.threshold,
            self.threshold > 0.0 && self.threshold <= 1000.0,
            "(0, 1000]",
        )?;
        f(
            "learningRateBoost",
            self.learning_rate_boost,
            (1.0..=100.0).contains(&self.learning_rate_boost),
            "[1, 100]",
        )?;
        f(
            "explorationBoost",
            self.exploration_boost,
            (0.0..=1.0).contains(&self.exploration_boost),
            "[0, 1]",
        )?;
        f(
            "accumulatorCap",
            self.accumulator_cap,
            self.accumulator_cap > 0.0 && self.accumulator_cap <= 1e6,
            "(0, 1000000]",
        )?;
        if !(1..=100_000).contains(&self.min_samples) {
            return err(
                ErrorCode::InvalidConfig,
                format!(
                    "drift.minSamples must be in 1..=100000, got {}",
                    self.min_samples
                ),
            );
        }
        if self.boost_updates > 1_000_000 {
            return err(
                ErrorCode::InvalidConfig,
                format!(
                    "drift.boostUpdates must be in 0..=1000000, got {}",
                    self.boost_updates
                ),
            );
        }
        Ok(())
    }
}

/// Page's one-sided CUSUM on standardised residuals (see the module docs). The name is kept
/// from the Page–Hinkley test it replaced: it is that test with the residuals' known mean, 0.
#[derive(Debug, Clone)]
pub struct PageHinkley {
    delta: f64,
    threshold: f64,
    min_samples: u32,
    /// Updates since the last reset.
    n: u32,
    /// Accumulated over-prediction beyond δ (standardised).
    sum: f64,
    /// Residuals seen in all (the scale is kept across resets: noise does not change with the
    /// world) and their mean square.
    seen: f64,
    mean_square: f64,
}

impl PageHinkley {
    /// A fresh detector.
    pub fn new(cfg: &DriftConfig) -> Self {
        PageHinkley {
            delta: cfg.delta,
            threshold: cfg.threshold,
            min_samples: cfg.min_samples,
            n: 0,
            sum: 0.0,
            seen: 0.0,
            mean_square: 0.0,
        }
    }

    /// Forgets the evidence gathered since the last reset (not the residuals' scale).
    pub fn reset(&mut self) {
        self.n = 0;
        self.sum = 0.0;
    }

    /// Feeds one finite residual `reward − prediction`; returns true when the model has been
    /// over-predicting beyond chance (and restarts).
    pub fn observe(&mut self, residual: f64) -> bool {
        if !residual.is_finite() {
            return false;
        }
        self.seen += 1.0;
        let alpha = 1.0 / self.seen.min(SCALE_HORIZON);
        self.mean_square += alpha * (residual * residual - self.mean_square);
        let scale = self.mean_square.sqrt().max(MIN_SCALE);
        self.n = self.n.saturating_add(1);
        self.sum = (self.sum - residual / scale - self.delta).max(0.0);
        let alarm = self.n >= self.min_samples && self.sum > self.threshold;
        if alarm {
            self.reset();
        }
        alarm
    }

    /// Updates observed since the last reset.
    pub fn samples(&self) -> u32 {
        self.n
    }
}
