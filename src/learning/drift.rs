//! Drift detection on a session's reward stream: a two-sided Page–Hinkley test.
//!
//! The test keeps the running mean of the rewards since its last reset and two cumulative
//! sums of deviations from it, one watching for a drop and one for a rise:
//! `down_t = Σ (x − mean + δ)`, alarm when `max(down) − down_t > λ`;
//! `up_t = Σ (x − mean − δ)`, alarm when `up_t − min(up) > λ`.
//! `δ` is the size of change tolerated as noise and `λ` the evidence needed; both are in
//! reward units. After an alarm (or before `min_samples` rewards) the test restarts.
//! The learner reacts to an alarm, for the session's next `boostUpdates` updates, by raising
//! its learning rate, capping the AdaGrad accumulators it touches, and exploring more (all
//! three boosts decay linearly); see [`DriftConfig`]. The detector rests during a boost (the
//! boost itself disturbs the reward stream) and restarts when it ends.

use serde::{Deserialize, Serialize};

use crate::error::{err, ErrorCode, Result};

/// Page–Hinkley parameters and the learner's reaction to a detected drift.
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct DriftConfig {
    /// Tolerated change of the mean reward (δ), in [0, 10].
    #[cfg_attr(test, ts(as = "Option<f64>", optional))]
    pub delta: f64,
    /// Alarm threshold (λ), in (0, 1000].
    #[cfg_attr(test, ts(as = "Option<f64>", optional))]
    pub threshold: f64,
    /// Rewards observed after a reset before an alarm may fire, 1..=100000.
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
    /// During the boost, AdaGrad accumulators of touched weights are capped at this value
    /// (the squared-gradient mass of a few updates), in (0, 1e6].
    #[cfg_attr(test, ts(as = "Option<f64>", optional))]
    pub accumulator_cap: f64,
}

impl Default for DriftConfig {
    fn default() -> Self {
        DriftConfig {
            delta: 0.05,
            threshold: 3.0,
            min_samples: 30,
            boost_updates: 100,
            learning_rate_boost: 2.0,
            exploration_boost: 0.15,
            accumulator_cap: 1.0,
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

/// Two-sided Page–Hinkley change detector (see the module docs).
#[derive(Debug, Clone)]
pub struct PageHinkley {
    delta: f64,
    threshold: f64,
    min_samples: u32,
    n: u32,
    mean: f64,
    down: f64,
    down_max: f64,
    up: f64,
    up_min: f64,
}

impl PageHinkley {
    /// A fresh detector.
    pub fn new(cfg: &DriftConfig) -> Self {
        PageHinkley {
            delta: cfg.delta,
            threshold: cfg.threshold,
            min_samples: cfg.min_samples,
            n: 0,
            mean: 0.0,
            down: 0.0,
            down_max: 0.0,
            up: 0.0,
            up_min: 0.0,
        }
    }

    /// Forgets everything observed.
    pub fn reset(&mut self) {
        self.n = 0;
        self.mean = 0.0;
        self.down = 0.0;
        self.down_max = 0.0;
        self.up = 0.0;
        self.up_min = 0.0;
    }

    /// Feeds one (finite) reward; returns true when a change is detected (and restarts).
    pub fn observe(&mut self, x: f64) -> bool {
        self.n += 1;
        self.mean += (x - self.mean) / self.n as f64;
        self.down += x - self.mean + self.delta;
        self.down_max = self.down_max.max(self.down);
        self.up += x - self.mean - self.delta;
        self.up_min = self.up_min.min(self.up);
        let alarm = self.n >= self.min_samples
            && (self.down_max - self.down > self.threshold
                || self.up - self.up_min > self.threshold);
        if alarm {
            self.reset();
        }
        alarm
    }

    /// Rewards observed since the last reset.
    pub fn samples(&self) -> u32 {
        self.n
    }
}
