//! Exploration strategies: how a choice is drawn from the candidates' scores.
//!
//! Every strategy turns scores into a probability per candidate, then one candidate is
//! sampled from them; the chosen candidate's probability is the *propensity* the caller logs
//! for off-policy evaluation ([`super::OffPolicyLog`]). Each strategy keeps an ε floor
//! (`ε / K` for each of `K` candidates), because a learner that never tries an action never
//! learns that it became good (pure softmax over zero-initialised weights locks onto one).
//!
//! - `epsilonGreedy`: `1 − ε` on the best score (split evenly between exact ties), `ε` spread
//!   uniformly;
//! - `softmax`: `(1 − ε) · softmax(score / temperature) + ε / K`;
//! - `ucb`: greedy on `score + alpha · sqrt(ln(1 + N) / (1 + n_a))`, where `n_a` counts the
//!   updates of action `a` across all sessions and `N` sums them over the candidates — an
//!   optimism bonus for rarely tried actions — plus the ε floor.
//!
//! JSON (camelCase, tagged by `strategy`; omitted parameters take the defaults shown):
//! `{"strategy": "epsilonGreedy", "epsilon": 0.1}`,
//! `{"strategy": "softmax", "temperature": 0.1, "epsilon": 0.05}`,
//! `{"strategy": "ucb", "alpha": 0.5, "epsilon": 0.05}`.

use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::error::{err, ErrorCode, Result};

/// How choices trade exploitation for exploration (see the module docs).
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(
    tag = "strategy",
    rename_all = "camelCase",
    rename_all_fields = "camelCase",
    deny_unknown_fields
)]
pub enum Exploration {
    /// Best score with probability `1 − ε`, uniform otherwise.
    EpsilonGreedy {
        /// Share of uniformly random choices, in [0, 1] (default 0.1).
        #[cfg_attr(test, ts(as = "Option<f64>", optional))]
        #[serde(default = "default_epsilon")]
        epsilon: f64,
    },
    /// Boltzmann exploration with an ε floor.
    Softmax {
        /// Softmax temperature, in (0, 100]; lower is greedier (default 0.1).
        #[cfg_attr(test, ts(as = "Option<f64>", optional))]
        #[serde(default = "default_temperature")]
        temperature: f64,
        /// Uniform floor, in [0, 1]; keep it above 0 (see the module docs; default 0.05).
        #[cfg_attr(test, ts(as = "Option<f64>", optional))]
        #[serde(default = "default_floor")]
        epsilon: f64,
    },
    /// Optimism in the face of uncertainty: a count-based bonus, plus an ε floor.
    Ucb {
        /// Bonus scale, in [0, 100] (default 0.5).
        #[cfg_attr(test, ts(as = "Option<f64>", optional))]
        #[serde(default = "default_alpha")]
        alpha: f64,
        /// Uniform floor, in [0, 1] (default 0.05).
        #[cfg_attr(test, ts(as = "Option<f64>", optional))]
        #[serde(default = "default_floor")]
        epsilon: f64,
    },
}

fn default_epsilon() -> f64 {
    0.1
}
fn default_temperature() -> f64 {
    0.1
}
fn default_floor() -> f64 {
    0.05
}
fn default_alpha() -> f64 {
    0.5
}

impl Default for Exploration {
    fn default() -> Self {
        Exploration::EpsilonGreedy { epsilon: 0.1 }
    }
}

impl Exploration {
    /// Checks the parameters; messages name the JSON field and its range.
    pub fn validate(&self) -> Result<()> {
        let eps = match *self {
            Exploration::EpsilonGreedy { epsilon } => epsilon,
            Exploration::Softmax {
                temperature,
                epsilon,
            } => {
                if !(temperature.is_finite() && temperature > 0.0 && temperature <= 100.0) {
                    return err(
                        ErrorCode::InvalidConfig,
                        format!("exploration.temperature must be in (0, 100], got {temperature}"),
                    );
                }
                epsilon
            }
            Exploration::Ucb { alpha, epsilon } => {
                if !(alpha.is_finite() && (0.0..=100.0).contains(&alpha)) {
                    return err(
                        ErrorCode::InvalidConfig,
                        format!("exploration.alpha must be in [0, 100], got {alpha}"),
                    );
                }
                epsilon
            }
        };
        if !(eps.is_finite() && (0.0..=1.0).contains(&eps)) {
            return err(
                ErrorCode::InvalidConfig,
                format!("exploration.epsilon must be in [0, 1], got {eps}"),
            );
        }
        Ok(())
    }

    /// The uniform floor share ε.
    pub fn epsilon(&self) -> f64 {
        match *self {
            Exploration::EpsilonGreedy { epsilon }
            | Exploration::Softmax { epsilon, .. }
            | Exploration::Ucb { epsilon, .. } => epsilon,
        }
    }

    /// The same strategy with its ε raised to at least `floor`.
    pub fn with_min_epsilon(self, floor: f64) -> Self {
        match self {
            Exploration::EpsilonGreedy { epsilon } => Exploration::EpsilonGreedy {
                epsilon: epsilon.max(floor),
            },
            Exploration::Softmax {
                temperature,
                epsilon,
            } => Exploration::Softmax {
                temperature,
                epsilon: epsilon.max(floor),
            },
            Exploration::Ucb { alpha, epsilon } => Exploration::Ucb {
                alpha,
                epsilon: epsilon.max(floor),
            },
        }
    }

    /// Whether the strategy needs per-action counts (UCB bonus).
    pub fn uses_counts(&self) -> bool {
        matches!(self, Exploration::Ucb { .. })
    }

    /// The probability of each candidate and the index of the greedy one.
    ///
    /// `scores` are the exploitation scores; `counts` (UCB only, same length) the number of
    /// updates seen per candidate action. `scores` must be non-empty and finite.
    pub fn probabilities(&self, scores: &[f64], counts: Option<&[u64]>) -> (Vec<f64>, usize) {
        let k = scores.len();
        let eps = if k > 1 { self.epsilon() } else { 0.0 };
        let floor = eps / k as f64;
        match *self {
            Exploration::EpsilonGreedy { .. } => greedy(scores, eps, floor),
            Exploration::Ucb { alpha, .. } => {
                let optimistic: Vec<f64> = match counts {
                    Some(c) if c.len() == k => {
                        let total: u64 = c.iter().sum();
                        let log_total = (1.0 + total as f64).ln();
                        scores
                            .iter()
                            .zip(c)
                            .map(|(s, &n)| s + alpha * (log_total / (1.0 + n as f64)).sqrt())
                            .collect()
                    }
                    _ => scores.to_vec(),
                };
                greedy(&optimistic, eps, floor)
            }
            Exploration::Softmax { temperature, .. } => {
                let max = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let exps: Vec<f64> = scores
                    .iter()
                    .map(|s| ((s - max) / temperature).exp())
                    .collect();
                let z: f64 = exps.iter().sum();
                let probs = exps.iter().map(|e| (1.0 - eps) * e / z + floor).collect();
                (probs, argmax(scores))
            }
        }
    }
}

/// ε-greedy probabilities over `scores`: the greedy mass is split between exact ties.
fn greedy(scores: &[f64], eps: f64, floor: f64) -> (Vec<f64>, usize) {
    let best = argmax(scores);
    let top = scores[best];
    let ties = scores.iter().filter(|&&s| s == top).count() as f64;
    let probs = scores
        .iter()
        .map(|&s| {
            if s == top {
                floor + (1.0 - eps) / ties
            } else {
                floor
            }
        })
        .collect();
    (probs, best)
}

/// Index of the first maximum.
pub fn argmax(scores: &[f64]) -> usize {
    let mut best = 0;
    for (i, s) in scores.iter().enumerate() {
        if *s > scores[best] {
            best = i;
        }
    }
    best
}

/// Draws an index from `probs` (which sum to 1 up to rounding).
pub fn sample(probs: &[f64], rng: &mut impl Rng) -> usize {
    let u: f64 = rng.gen::<f64>();
    let mut acc = 0.0;
    for (i, p) in probs.iter().enumerate() {
        acc += p;
        if u < acc {
            return i;
        }
    }
    // Rounding left `u` just above the total: take the last candidate with mass.
    probs.iter().rposition(|&p| p > 0.0).unwrap_or(0)
}
