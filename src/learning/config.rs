//! Learner configuration: defaults, JSON form and validation.
//!
//! JSON from JS uses camelCase; every field is optional and unknown keys are rejected:
//! ```json
//! {
//!   "learningRate": 0.1,
//!   "exploration": {"strategy": "epsilonGreedy", "epsilon": 0.02},
//!   "optimism": 1.0,
//!   "priorWeight": 0.3,
//!   "driftDetection": true,
//!   "drift": {"delta": 0.2, "threshold": 20.0, "minSamples": 30, "boostUpdates": 300,
//!             "learningRateBoost": 2.0, "explorationBoost": 0.3, "accumulatorCap": 0.25},
//!   "adaptation": {"mode": "immediate"},
//!   "hashBits": 18,
//!   "sessionHashBits": 12,
//!   "sessionModels": true,
//!   "maxImportanceWeight": 1.0,
//!   "seed": 42
//! }
//! ```
//! Other exploration forms: `{"strategy": "softmax", "temperature": 0.1, "epsilon": 0.02}`,
//! `{"strategy": "ucb", "alpha": 0.5, "epsilon": 0.01}`; other adaptation forms:
//! `{"mode": "miniBatch", "size": 16}`,
//! `{"mode": "experienceReplay", "capacity": 1000, "replaysPerUpdate": 2}`.

use serde::{Deserialize, Serialize};

use super::adaptation::AdaptationStrategy;
use super::drift::DriftConfig;
use super::exploration::Exploration;
use crate::error::{err, json_error_text, Error, ErrorCode, Result};

/// Default per-session model size (bits), capped at `hashBits`.
const DEFAULT_SESSION_HASH_BITS: u32 = 12;

/// Default optimism (see [`LearnerConfig::optimism`]).
const DEFAULT_OPTIMISM: f64 = 1.0;

/// Configuration of a [`super::Learner`] (see the module docs for the JSON form).
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct LearnerConfig {
    /// Learning rate, in (0, 10]: how long the model keeps adapting once a weight has seen
    /// enough to stop averaging (see `weights`).
    #[cfg_attr(test, ts(as = "Option<f64>", optional))]
    pub learning_rate: f64,
    /// Exploration strategy.
    #[cfg_attr(test, ts(as = "Option<Exploration>", optional))]
    pub exploration: Exploration,
    /// Optimism for what the model has seen little of, in [0, 10]: when choosing, a candidate's
    /// score is raised by `optimism × typical reward / (1 + updates seen for this context and
    /// action)` (the typical reward is the recent mean of |reward|; the count a harmonic mean
    /// over the context's features); 0 turns it off. Reported scores are not changed.
    #[cfg_attr(test, ts(as = "Option<f64>", optional))]
    pub optimism: f64,
    /// Weight of a candidate's prior (planner relevance) in its score, in [0, 10].
    #[cfg_attr(test, ts(as = "Option<f64>", optional))]
    pub prior_weight: f64,
    /// Detect reward drift per session and speed learning up after it.
    #[cfg_attr(test, ts(as = "Option<bool>", optional))]
    pub drift_detection: bool,
    /// Drift detector parameters and reaction.
    #[cfg_attr(test, ts(as = "Option<DriftConfig>", optional))]
    pub drift: DriftConfig,
    /// When rewards become updates.
    #[cfg_attr(test, ts(as = "Option<AdaptationStrategy>", optional))]
    pub adaptation: AdaptationStrategy,
    /// Global model size: `2^hashBits` weights, 10..=26.
    #[cfg_attr(test, ts(as = "Option<u32>", optional))]
    pub hash_bits: u32,
    /// Per-session model size: `2^sessionHashBits` weights, 6..=hashBits (each session with
    /// own data holds `8 × 2^sessionHashBits` bytes: 32 KiB at the default 12). When the JSON
    /// form omits it, it is 12 or `hashBits` if that is smaller.
    #[cfg_attr(test, ts(as = "Option<u32>", optional))]
    pub session_hash_bits: u32,
    /// Keep a per-session delta model on top of the global one.
    #[cfg_attr(test, ts(as = "Option<bool>", optional))]
    pub session_models: bool,
    /// Cap of the importance weight `1/propensity` applied to updates, in [1, 1000]
    /// (1 = plain regression on observed rewards).
    #[cfg_attr(test, ts(as = "Option<f64>", optional))]
    pub max_importance_weight: f64,
    /// Seed for reproducible exploration; random when absent.
    #[cfg_attr(test, ts(optional))]
    pub seed: Option<u64>,
}

impl Default for LearnerConfig {
    fn default() -> Self {
        LearnerConfig {
            learning_rate: 0.1,
            exploration: Exploration::default(),
            optimism: DEFAULT_OPTIMISM,
            prior_weight: 0.3,
            drift_detection: true,
            drift: DriftConfig::default(),
            adaptation: AdaptationStrategy::Immediate,
            hash_bits: 18,
            session_hash_bits: DEFAULT_SESSION_HASH_BITS,
            session_models: true,
            max_importance_weight: 1.0,
            seed: None,
        }
    }
}

impl LearnerConfig {
    /// Parses and validates the JSON form (see the module docs).
    pub fn from_json(text: &str) -> Result<Self> {
        let value: serde_json::Value = serde_json::from_str(text).map_err(|e| {
            Error::new(
                ErrorCode::InvalidConfig,
                format!("invalid learner config: {}", json_error_text(&e)),
            )
        })?;
        Self::from_value(&value)
    }

    /// Parses and validates an already-parsed JSON value (`null` means all defaults).
    pub fn from_value(value: &serde_json::Value) -> Result<Self> {
        if value.is_null() {
            return Ok(LearnerConfig::default());
        }
        let mut cfg: LearnerConfig = serde_json::from_value(value.clone()).map_err(|e| {
            Error::new(
                ErrorCode::InvalidConfig,
                format!("invalid learner config: {e}"),
            )
        })?;
        // The session model's default size never exceeds the global model's, so every
        // documented `hashBits` works on its own.
        if value.get("sessionHashBits").is_none() {
            cfg.session_hash_bits = DEFAULT_SESSION_HASH_BITS.min(cfg.hash_bits);
        }
        cfg.validate()?;
        Ok(cfg)
    }

    /// Checks every field; the message names the field (JSON spelling) and its range.
    pub fn validate(&self) -> Result<()> {
        let lr = self.learning_rate;
        if !(lr.is_finite() && lr > 0.0 && lr <= 10.0) {
            return err(
                ErrorCode::InvalidConfig,
                format!("learningRate must be in (0, 10], got {lr}"),
            );
        }
        let pw = self.prior_weight;
        if !(pw.is_finite() && (0.0..=10.0).contains(&pw)) {
            return err(
                ErrorCode::InvalidConfig,
                format!("priorWeight must be in [0, 10], got {pw}"),
            );
        }
        let op = self.optimism;
        if !(op.is_finite() && (0.0..=10.0).contains(&op)) {
            return err(
                ErrorCode::InvalidConfig,
                format!("optimism must be in [0, 10], got {op}"),
            );
        }
        let iw = self.max_importance_weight;
        if !(iw.is_finite() && (1.0..=1000.0).contains(&iw)) {
            return err(
                ErrorCode::InvalidConfig,
                format!("maxImportanceWeight must be in [1, 1000], got {iw}"),
            );
        }
        if !(10..=26).contains(&self.hash_bits) {
            return err(
                ErrorCode::InvalidConfig,
                format!("hashBits must be in 10..=26, got {}", self.hash_bits),
            );
        }
        if !(6..=self.hash_bits).contains(&self.session_hash_bits) {
            return err(
                ErrorCode::InvalidConfig,
                format!(
                    "sessionHashBits must be in 6..=hashBits ({}), got {}",
                    self.hash_bits, self.session_hash_bits
                ),
            );
        }
        self.exploration.validate()?;
        self.drift.validate()?;
        self.adaptation.validate()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_documented_hash_bits_value_works_alone() {
        for bits in 10..=26 {
            let cfg = LearnerConfig::from_json(&format!("{{\"hashBits\": {bits}}}"))
                .unwrap_or_else(|e| panic!("hashBits {bits}: {}", e.message));
            assert_eq!(cfg.hash_bits, bits);
            // The session model defaults to 12 bits, never more than the global model.
            assert_eq!(cfg.session_hash_bits, bits.min(12));
        }
        for bits in [9, 27] {
            let e = LearnerConfig::from_json(&format!("{{\"hashBits\": {bits}}}"))
                .expect_err("out of range");
            assert!(
                e.message.starts_with("hashBits must be in 10..=26"),
                "{}",
                e.message
            );
        }
    }

    #[test]
    fn an_explicit_session_size_over_hash_bits_is_refused_by_name() {
        let e = LearnerConfig::from_json(r#"{"hashBits": 10, "sessionHashBits": 11}"#)
            .expect_err("larger than the global model");
        assert_eq!(e.code, ErrorCode::InvalidConfig);
        assert!(
            e.message
                .contains("sessionHashBits must be in 6..=hashBits (10), got 11"),
            "{}",
            e.message
        );
        let cfg = LearnerConfig::from_json(r#"{"hashBits": 11, "sessionHashBits": 8}"#)
            .expect("explicit and in range");
        assert_eq!(cfg.session_hash_bits, 8);
    }
}
