//! Off-policy evaluation: estimate how well another policy would have done from logged
//! decisions of the exploring one.
//!
//! Each logged decision has the reward observed, the propensity the logging policy gave the
//! chosen action (the `Choice::propensity`), and the probability the *target* policy gives
//! that same action (e.g. from [`super::Learner::probabilities`]). With importance ratio
//! `ρ = target / logged`:
//! - IPS (inverse propensity scoring): `Σ ρ·r / n`, unbiased but high-variance;
//! - SNIPS (self-normalised IPS): `Σ ρ·r / Σ ρ`, slightly biased, far lower variance.

use serde::Serialize;

use crate::error::{err, ErrorCode, Result};

/// One logged decision as seen by the estimator.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LoggedDecision {
    /// Observed reward.
    pub reward: f64,
    /// Probability the logging policy gave the chosen action, in (0, 1].
    pub logged_propensity: f64,
    /// Probability the evaluated policy gives the same action, in [0, 1].
    pub target_probability: f64,
}

/// A collection of logged decisions with IPS / SNIPS estimates.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OffPolicyLog {
    entries: Vec<LoggedDecision>,
}

impl OffPolicyLog {
    /// An empty log.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records a decision; `InvalidReward` when a number is not finite or out of range.
    pub fn record(
        &mut self,
        reward: f64,
        logged_propensity: f64,
        target_probability: f64,
    ) -> Result<()> {
        if !reward.is_finite() {
            return err(
                ErrorCode::InvalidReward,
                format!("reward must be a finite number, got {reward}"),
            );
        }
        if !(logged_propensity.is_finite() && logged_propensity > 0.0 && logged_propensity <= 1.0) {
            return err(
                ErrorCode::InvalidReward,
                format!("logged propensity must be in (0, 1], got {logged_propensity}"),
            );
        }
        if !(target_probability.is_finite() && (0.0..=1.0).contains(&target_probability)) {
            return err(
                ErrorCode::InvalidReward,
                format!("target probability must be in [0, 1], got {target_probability}"),
            );
        }
        self.entries.push(LoggedDecision {
            reward,
            logged_propensity,
            target_probability,
        });
        Ok(())
    }

    /// Number of decisions recorded.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The IPS estimate of the target policy's mean reward; `None` when empty.
    pub fn ips(&self) -> Option<f64> {
        if self.entries.is_empty() {
            return None;
        }
        let sum: f64 = self
            .entries
            .iter()
            .map(|e| e.target_probability / e.logged_propensity * e.reward)
            .sum();
        Some(sum / self.entries.len() as f64)
    }

    /// The SNIPS estimate; `None` when empty or the target never agrees with the log.
    pub fn snips(&self) -> Option<f64> {
        let (num, den) = self.entries.iter().fold((0.0, 0.0), |(n, d), e| {
            let rho = e.target_probability / e.logged_propensity;
            (n + rho * e.reward, d + rho)
        });
        (den > 0.0).then(|| num / den)
    }
}

/// IPS estimate over any log type: `target_probability(entry)` gives the evaluated policy's
/// probability of the logged action, `outcome(entry)` the `(reward, logged propensity)`.
pub fn ips_estimate<T>(
    logs: &[T],
    outcome: impl Fn(&T) -> (f64, f64),
    target_probability: impl Fn(&T) -> f64,
) -> Result<Option<f64>> {
    let mut log = OffPolicyLog::new();
    for entry in logs {
        let (reward, propensity) = outcome(entry);
        log.record(reward, propensity, target_probability(entry))?;
    }
    Ok(log.ips())
}
