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
//! `{"strategy": "epsilonGreedy", "epsilon": 0.02}`,
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
        /// Share of uniformly random choices, in [0, 1] (default 0.02: the learner's optimism
        /// gives every action its first looks, so less uniform exploration is needed; Vowpal
        /// Wabbit's default is 0.05).
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
    0.02
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
        Exploration::EpsilonGreedy { epsilon: 0.02 }
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

/// Safe exploration: moves the probability of every candidate the verifier would deny, except
/// the greedy one, onto the allowed candidates in proportion to their own. Exploration is then
/// never spent on a forbidden action; the greedy candidate keeps its probability even when
/// forbidden (the agent's best choice being forbidden is a denial to report, not something to
/// route around). Nothing changes when no candidate is allowed or none is denied. Returns the
/// probability moved.
pub fn mask_denied(probs: &mut [f64], greedy: usize, allowed: &[bool]) -> f64 {
    if allowed.len() != probs.len() {
        return 0.0;
    }
    let denied: f64 = probs
        .iter()
        .zip(allowed)
        .enumerate()
        .filter(|&(i, (_, &ok))| !ok && i != greedy)
        .map(|(_, (p, _))| p)
        .sum();
    let kept: f64 = probs
        .iter()
        .zip(allowed)
        .filter(|&(_, &ok)| ok)
        .map(|(p, _)| p)
        .sum();
    if denied <= 0.0 || kept <= 0.0 {
        return 0.0;
    }
    let scale = 1.0 + denied / kept;
    for (i, (p, &ok)) in probs.iter_mut().zip(allowed).enumerate() {
        if ok {
            *p *= scale;
        } else if i != greedy {
            *p = 0.0;
        }
    }
    denied
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 3000, rng_seed: proptest::test_runner::RngSeed::Fixed(18), ..ProptestConfig::default() })]

        /// Against a brute-force model of safe exploration: forbidden candidates other than the
        /// greedy one get nothing, the greedy one keeps its probability, the allowed ones share
        /// what was moved in proportion to their own, and the result is a distribution.
        #[test]
        fn masking_moves_exploration_onto_allowed_candidates(
            raw in proptest::collection::vec(0.0f64..1.0, 1..12),
            allowed_bits in proptest::collection::vec(any::<bool>(), 12),
            greedy_pick in 0usize..12,
        ) {
            let total: f64 = raw.iter().sum();
            prop_assume!(total > 1e-6);
            let probs: Vec<f64> = raw.iter().map(|p| p / total).collect();
            let greedy = greedy_pick % probs.len();
            let allowed = &allowed_bits[..probs.len()];
            let mut masked = probs.clone();
            let moved = mask_denied(&mut masked, greedy, allowed);
            // The model.
            let denied: f64 = (0..probs.len()).filter(|&i| !allowed[i] && i != greedy).map(|i| probs[i]).sum();
            let kept: f64 = (0..probs.len()).filter(|&i| allowed[i]).map(|i| probs[i]).sum();
            for i in 0..probs.len() {
                let want = if kept <= 0.0 || denied <= 0.0 {
                    probs[i]
                } else if allowed[i] {
                    probs[i] + denied * probs[i] / kept
                } else if i == greedy {
                    probs[i]
                } else {
                    0.0
                };
                prop_assert!((masked[i] - want).abs() < 1e-9, "candidate {i}: {} vs {want}", masked[i]);
            }
            prop_assert!((masked.iter().sum::<f64>() - 1.0).abs() < 1e-9);
            let want_moved = if kept > 0.0 { denied } else { 0.0 };
            prop_assert!((moved - want_moved).abs() < 1e-9, "moved {moved} vs {want_moved}");
        }
    }
}
