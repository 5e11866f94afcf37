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

// ------------------------------------------------------------------ evaluating a configuration

/// One candidate of a logged choice: what the learner scored, with what prior, which action
/// its plan runs first, and whether the verifier allowed that action (safe exploration).
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct LoggedCandidate {
    /// The candidate's action (what the learner scores).
    #[serde(rename = "n")]
    pub name: String,
    /// Its prior (planner relevance and expected reward).
    #[serde(rename = "p")]
    pub prior: f64,
    /// The action its plan runs first (what runs when it is drawn); empty means `name`.
    #[serde(rename = "f", default, skip_serializing_if = "String::is_empty")]
    pub first: String,
    /// Whether the verifier allowed the first action (`false` only when checked and denied).
    #[serde(rename = "a", default = "yes", skip_serializing_if = "is_true")]
    pub allowed: bool,
}

fn yes() -> bool {
    true
}
fn is_true(b: &bool) -> bool {
    *b
}

impl LoggedCandidate {
    /// The action that runs when this candidate is drawn.
    pub fn first(&self) -> &str {
        if self.first.is_empty() {
            &self.name
        } else {
            &self.first
        }
    }
}

/// What the journal keeps of a step's choice (`la_steps.choice`, compact JSON).
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct ChoiceLog {
    /// The candidates, in the order the learner scored them.
    #[serde(rename = "c")]
    pub candidates: Vec<LoggedCandidate>,
    /// Whether the verifier checked them before the draw (safe exploration).
    #[serde(rename = "s", default, skip_serializing_if = "std::ops::Not::not")]
    pub checked: bool,
}

/// One journaled step as off-policy evaluation reads it.
#[derive(Debug, Clone)]
pub struct LoggedStep {
    /// The session (the target learner keeps per-session models as the engine does).
    pub session: String,
    /// The learner's view of the chunk.
    pub features: super::ContextFeatures,
    /// The candidates the learner chose among.
    pub candidates: Vec<LoggedCandidate>,
    /// Whether candidates were checked by the verifier (safe exploration was in force).
    pub checked: bool,
    /// The action that ran (or was denied).
    pub action: String,
    /// The probability the logging policy ran it.
    pub propensity: f64,
    /// The reward the learner saw.
    pub reward: f64,
}

/// An estimate with its 95% confidence interval.
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Estimate {
    /// The estimated mean reward per step.
    pub value: f64,
    /// Lower end of the 95% interval.
    pub low: f64,
    /// Upper end of the 95% interval.
    pub high: f64,
}

/// What [`evaluate_config`] estimates a learner configuration would have earned on logged
/// traffic.
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OffPolicyEstimate {
    /// Steps evaluated.
    #[cfg_attr(test, ts(type = "number"))]
    pub steps: u64,
    /// Journaled steps left out: no logged choice (recorded outcomes, nothing runnable, or
    /// journaled before choices were logged) or unreadable.
    #[cfg_attr(test, ts(type = "number"))]
    pub skipped: u64,
    /// Inverse propensity scoring: unbiased, the widest interval.
    pub ips: Estimate,
    /// Self-normalised IPS: slightly biased, usually a narrower interval.
    pub snips: Estimate,
    /// Doubly robust: the target learner's own reward model plus an IPS correction of its
    /// errors; unbiased when the propensities are right, the narrowest interval in practice.
    pub doubly_robust: Estimate,
    /// What the logging policy earned on the same steps (mean reward, 95% interval).
    pub logged: Estimate,
    /// Effective sample size of the importance weights, `(Σw)² / Σw²`: how many steps the
    /// estimate is worth; far below `steps` means the configurations differ too much for the
    /// log to say much.
    pub effective_sample_size: f64,
    /// Largest importance weight `π(a)/p(a)` met.
    pub max_importance_weight: f64,
}

/// 1.96: the two-sided 95% normal quantile.
const Z95: f64 = 1.959_963_984_540_054;

fn mean_interval(xs: &[f64]) -> Estimate {
    let n = xs.len() as f64;
    if xs.is_empty() {
        return Estimate {
            value: f64::NAN,
            low: f64::NAN,
            high: f64::NAN,
        };
    }
    let mean = xs.iter().sum::<f64>() / n;
    let var = if xs.len() > 1 {
        xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)
    } else {
        0.0
    };
    let half = Z95 * (var / n).sqrt();
    Estimate {
        value: mean,
        low: mean - half,
        high: mean + half,
    }
}

/// Estimates what a learner with configuration `cfg` would have earned on the logged `steps`
/// (oldest first), had it chosen instead of the logging policy.
///
/// The target is a *learning* policy, so it is replayed: a fresh learner with `cfg` walks the
/// log in order; at each step its probabilities (safe exploration applied as it was logged)
/// give the importance weight `w = π(a)/p(a)` of the action that ran — `π(a)` summing every
/// candidate whose plan runs `a` first — and then it learns from the logged outcome, as it
/// would have learned online (the engine's update: the action that ran, its reward, its
/// propensity). Its prediction before the update is the doubly robust estimator's reward
/// model, which has only seen earlier steps. Intervals are normal approximations over the
/// per-step terms (SNIPS by the delta method). What this cannot see: how the target's own
/// different choices would have changed what it learned (it learns from the logging policy's
/// choices) — the estimate is of a learner trained on this traffic.
pub fn evaluate_config(
    cfg: &super::LearnerConfig,
    steps: &[LoggedStep],
    skipped: u64,
) -> Result<OffPolicyEstimate> {
    let target = super::Learner::new(cfg.clone())?;
    let n = steps.len();
    let (mut ips, mut dr, mut logged) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    let mut weights = Vec::with_capacity(n);
    for step in steps {
        if step.candidates.is_empty()
            || !(step.propensity.is_finite() && step.propensity > 0.0 && step.propensity <= 1.0)
            || !step.reward.is_finite()
        {
            continue;
        }
        let arms: Vec<super::ArmCandidate> = step
            .candidates
            .iter()
            .map(|c| super::ArmCandidate::new(c.name.clone(), c.prior))
            .collect();
        let allowed: Vec<bool> = step.candidates.iter().map(|c| c.allowed).collect();
        let probs = target.probabilities_allowed(
            &step.session,
            &step.features,
            &arms,
            step.checked.then_some(allowed.as_slice()),
        )?;
        let ran = |name: &str| -> f64 {
            step.candidates
                .iter()
                .zip(&probs)
                .filter(|(c, _)| c.first() == name)
                .map(|(_, p)| p)
                .sum()
        };
        let w = ran(&step.action) / step.propensity;
        // The reward model: the target's prediction for each action that can run.
        let mut model = 0.0;
        for (c, p) in step.candidates.iter().zip(&probs) {
            if *p > 0.0 {
                model += p * target.predict(&step.session, &step.features, c.first());
            }
        }
        let predicted = target.predict(&step.session, &step.features, &step.action);
        ips.push(w * step.reward);
        dr.push(model + w * (step.reward - predicted));
        logged.push(step.reward);
        weights.push(w);
        target.update(
            &step.session,
            &step.features,
            &step.action,
            step.reward,
            step.propensity,
        )?;
    }
    let sum_w: f64 = weights.iter().sum();
    let sum_w2: f64 = weights.iter().map(|w| w * w).sum();
    let snips = if sum_w > 0.0 {
        let value = ips.iter().sum::<f64>() / sum_w;
        let mean_w = sum_w / weights.len() as f64;
        let resid: Vec<f64> = ips
            .iter()
            .zip(&weights)
            .map(|(iw, w)| iw - w * value)
            .collect();
        let spread = mean_interval(&resid);
        let half = (spread.high - spread.value) / mean_w;
        Estimate {
            value,
            low: value - half,
            high: value + half,
        }
    } else {
        mean_interval(&[])
    };
    Ok(OffPolicyEstimate {
        steps: weights.len() as u64,
        skipped: skipped + (n - weights.len()) as u64,
        ips: mean_interval(&ips),
        snips,
        doubly_robust: mean_interval(&dr),
        logged: mean_interval(&logged),
        effective_sample_size: if sum_w2 > 0.0 {
            sum_w * sum_w / sum_w2
        } else {
            0.0
        },
        max_importance_weight: weights.iter().copied().fold(0.0, f64::max),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::learning::{ArmCandidate, ContextFeatures, Exploration, Learner, LearnerConfig};
    use rand::rngs::SmallRng;
    use rand::{Rng, SeedableRng};

    /// Mean reward of each action per context.
    const MEANS: [[f64; 3]; 3] = [[0.9, 0.2, 0.4], [0.1, 0.8, 0.3], [0.3, 0.4, 0.7]];
    const ACTIONS: [&str; 3] = ["a", "b", "c"];

    fn config(epsilon: f64) -> LearnerConfig {
        LearnerConfig {
            exploration: Exploration::EpsilonGreedy { epsilon },
            seed: Some(7),
            ..LearnerConfig::default()
        }
    }

    /// Runs `cfg` online for `n` steps; returns its log and its mean reward.
    fn log_of(cfg: LearnerConfig, n: usize, seed: u64) -> (Vec<LoggedStep>, f64) {
        let learner = Learner::new(cfg).unwrap();
        let mut rng = SmallRng::seed_from_u64(seed);
        let arms: Vec<ArmCandidate> = ACTIONS.iter().map(|a| ArmCandidate::new(*a, 0.0)).collect();
        let mut steps = Vec::new();
        let mut total = 0.0;
        for _ in 0..n {
            let x = rng.gen_range(0..3);
            let ctx = ContextFeatures::builder()
                .token(&format!("ctx{x}"))
                .build()
                .unwrap();
            let c = learner.choose("s", &ctx, &arms).unwrap();
            let reward = if rng.gen_bool(MEANS[x][c.index]) {
                1.0
            } else {
                0.0
            };
            learner
                .update("s", &ctx, ACTIONS[c.index], reward, c.propensity)
                .unwrap();
            total += reward;
            steps.push(LoggedStep {
                session: "s".into(),
                features: ContextFeatures::from_bytes(&ctx.to_bytes()).unwrap(),
                candidates: ACTIONS
                    .iter()
                    .map(|a| LoggedCandidate {
                        name: (*a).into(),
                        prior: 0.0,
                        first: String::new(),
                        allowed: true,
                    })
                    .collect(),
                checked: false,
                action: ACTIONS[c.index].into(),
                propensity: c.propensity,
                reward,
            });
        }
        (steps, total / n as f64)
    }

    #[test]
    fn the_logging_configuration_evaluates_to_exactly_what_it_earned() {
        let (steps, mean) = log_of(config(0.1), 3000, 1);
        let e = evaluate_config(&config(0.1), &steps, 0).unwrap();
        // The replay reproduces the logging policy's probabilities: every weight is 1.
        assert_eq!(e.steps, 3000);
        assert!(
            (e.effective_sample_size - 3000.0).abs() < 1e-6,
            "{}",
            e.effective_sample_size
        );
        assert!((e.ips.value - mean).abs() < 1e-9 && (e.snips.value - mean).abs() < 1e-9);
        assert!((e.logged.value - mean).abs() < 1e-12);
        assert!(e.ips.low < e.ips.value && e.ips.value < e.ips.high);
    }

    #[test]
    fn a_uniform_policy_is_estimated_within_its_interval_of_its_true_value() {
        // The oracle: a uniform choice earns the mean of the table.
        let truth = MEANS.iter().flatten().sum::<f64>() / 9.0;
        let mut covered = 0;
        for seed in 1..=10 {
            let (steps, _) = log_of(config(0.2), 4000, seed);
            let e = evaluate_config(&config(1.0), &steps, 0).unwrap();
            assert!(e.effective_sample_size < 4000.0 && e.max_importance_weight > 1.0);
            // The interval is informative: it excludes what the logging policy earned.
            assert!(e.doubly_robust.high < e.logged.low, "{e:?}");
            if e.doubly_robust.low <= truth && truth <= e.doubly_robust.high {
                covered += 1;
            }
        }
        // 95% intervals: at least 8 of 10 (binomial 10, 0.95: P(< 8) ≈ 1%).
        assert!(
            covered >= 8,
            "the true value {truth:.3} fell in {covered} of 10 intervals"
        );
    }

    #[test]
    fn unreadable_or_empty_steps_are_skipped_not_guessed() {
        let (mut steps, _) = log_of(config(0.1), 10, 3);
        steps[0].candidates.clear();
        steps[1].propensity = 0.0;
        let e = evaluate_config(&config(0.1), &steps, 5).unwrap();
        assert_eq!((e.steps, e.skipped), (8, 7));
        let none = evaluate_config(&config(0.1), &[], 0).unwrap();
        assert!(none.ips.value.is_nan() && none.steps == 0);
    }
}
