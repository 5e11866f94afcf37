//! The contextual-bandit learner: per-session models over a shared global model.
//!
//! A prediction is `global(ctx, a) + session(ctx, a)`: the global model (see
//! [`super::weights::SharedWeights`]) learns from every session, lock-free, so a new session
//! starts from what the others learned; the session's small delta model learns what is
//! particular to it. Every update moves both by the same squared-error gradient.
//!
//! Sessions live in a `DashMap` of `Arc<Mutex<SessionState>>`: the map shard is held only to
//! find the entry, and the per-session mutex (its RNG, drift detector, buffers and delta
//! model) is only contended when the same session is used from two threads at once. The
//! global model and the counters are atomics; nothing on the hot path takes a global lock.
//!
//! Scores are `prediction + priorWeight × prior`; the exploration strategy turns them into
//! probabilities and one candidate is drawn with the session's seeded RNG.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use dashmap::DashMap;
use parking_lot::Mutex;
use rand::rngs::SmallRng;
use rand::SeedableRng;
use serde::{Deserialize, Serialize};

use super::adaptation::{AdaptationStrategy, Example, ReplayBuffer};
use super::config::LearnerConfig;
use super::drift::PageHinkley;
use super::exploration::{mask_denied, sample};
use super::features::{action_hash, murmur3_32, ContextFeatures};
use super::weights::{
    evidence, normalized_step, predict_sum, LocalWeights, SharedWeights, StepRule,
};
use crate::error::{err, ErrorCode, Result};

pub use crate::agent::reward::{clamp_reward, REWARD_LIMIT};
/// Slots of the global per-action update counters (action hash modulo this).
pub(super) const ACTION_COUNT_SLOTS: usize = 4096;
/// Smoothing factor of the recent-average reward (≈ the last 100 rewards).
const RECENT_ALPHA: f64 = 0.01;

/// One action the learner may choose.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ArmCandidate {
    /// Action name (non-empty).
    pub name: String,
    /// The planner's relevance, in [-1, 1] (normally [0, 1]); weighted by `priorWeight`.
    pub prior: f64,
}

impl ArmCandidate {
    /// A candidate named `name` with relevance `prior`.
    pub fn new(name: impl Into<String>, prior: f64) -> Self {
        ArmCandidate {
            name: name.into(),
            prior,
        }
    }
}

/// The learner's pick among the candidates.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Choice {
    /// Index of the chosen candidate.
    pub index: usize,
    /// Probability the strategy gave that candidate; log it and pass it to `update`.
    pub propensity: f64,
    /// Each candidate's score: predicted reward + priorWeight × prior (no exploration bonus).
    pub scores: Vec<f64>,
    /// True when the pick was not the strategy's greedy candidate.
    pub explored: bool,
    /// The probability the strategy gave each candidate (sums to 1).
    pub probabilities: Vec<f64>,
}

/// What one `update` did.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateReport {
    /// Predicted reward of the action before the update.
    pub prediction: f64,
    /// `reward − prediction`.
    pub error: f64,
    /// Whether this reward made the session's drift detector fire.
    pub drift_detected: bool,
    /// Examples learned from now: 1 (immediate), 0 while a mini-batch fills and the batch
    /// size when it is applied, 1 + replays (experience replay).
    pub updates_applied: u32,
    /// Learner-wide number of rewards received so far, this one included.
    pub iteration: u64,
}

/// Learner-wide counters.
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LearnerStats {
    /// Rewards received.
    #[cfg_attr(test, ts(type = "number"))]
    pub iterations: u64,
    /// Mean of all rewards.
    pub average_reward: f64,
    /// Exponentially weighted mean of the recent rewards (≈ the last 100).
    pub recent_average_reward: f64,
    /// Sessions known.
    pub sessions: usize,
    /// Drift alarms over all sessions.
    #[cfg_attr(test, ts(type = "number"))]
    pub drift_events: u64,
    /// Share of choices that explored.
    pub exploration_rate_observed: f64,
}

/// One session's counters.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionStats {
    /// Rewards received by the session.
    pub updates: u64,
    /// Mean of its rewards.
    pub average_reward: f64,
    /// Drift alarms in the session.
    pub drift_events: u64,
    /// Updates left in the post-drift boost (learning rate, accumulator cap, exploration).
    pub boost_remaining: u32,
}

/// Mutable state of one session (behind its mutex).
pub(super) struct SessionState {
    /// Delta model; allocated at the first update when session models are enabled.
    pub(super) model: Option<LocalWeights>,
    pub(super) rng: SmallRng,
    /// One drift detector per action (by action hash): a change hides in the errors of the
    /// actions it affects, diluted by every other action's when pooled.
    pub(super) drift: std::collections::HashMap<u32, PageHinkley>,
    pub(super) boost_remaining: u32,
    pub(super) pending: Vec<Example>,
    pub(super) replay: ReplayBuffer,
    pub(super) updates: u64,
    pub(super) reward_sum: f64,
    pub(super) drift_events: u64,
}

/// An `f64` in an `AtomicU64`, updated with compare-and-swap.
#[derive(Debug, Default)]
pub(super) struct AtomicF64(AtomicU64);

impl AtomicF64 {
    pub(super) fn new(v: f64) -> Self {
        AtomicF64(AtomicU64::new(v.to_bits()))
    }
    pub(super) fn set(&self, v: f64) {
        self.0.store(v.to_bits(), Ordering::Relaxed);
    }
    pub(super) fn get(&self) -> f64 {
        f64::from_bits(self.0.load(Ordering::Relaxed))
    }
    /// One step of an exponential moving average towards `x` with weight [`RECENT_ALPHA`].
    fn ewma(&self, x: f64) {
        self.update(|e| (1.0 - RECENT_ALPHA) * e + RECENT_ALPHA * x);
    }
    fn update(&self, f: impl Fn(f64) -> f64) {
        let _ = self
            .0
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |b| {
                Some(f(f64::from_bits(b)).to_bits())
            });
    }
}

/// A contextual-bandit learner shared across threads (see the module docs).
pub struct Learner {
    pub(super) cfg: LearnerConfig,
    pub(super) global: SharedWeights,
    pub(super) sessions: DashMap<String, Arc<Mutex<SessionState>>>,
    pub(super) action_counts: Box<[AtomicU64]>,
    pub(super) iterations: AtomicU64,
    pub(super) reward_sum: AtomicF64,
    /// Un-normalised EWMA of rewards (divide by `1 − (1 − α)^n`).
    pub(super) recent_reward: AtomicF64,
    /// Un-normalised EWMA of reward magnitudes `|r|` (same α): the scale of the optimism bonus.
    pub(super) typical_reward: AtomicF64,
    /// Un-normalised EWMA of squared residuals `(reward − prediction)²` (same α).
    pub(super) residual_square: AtomicF64,
    pub(super) drift_events: AtomicU64,
    pub(super) choices: AtomicU64,
    pub(super) explored: AtomicU64,
    base_seed: u64,
}

impl Learner {
    /// A fresh learner; fails with `InvalidConfig` when the config does not validate.
    pub fn new(cfg: LearnerConfig) -> Result<Self> {
        cfg.validate()?;
        let global = SharedWeights::new(cfg.hash_bits);
        Ok(Self::with_global(cfg, global))
    }

    /// A learner around an existing global model (used by `load`).
    pub(super) fn with_global(cfg: LearnerConfig, global: SharedWeights) -> Self {
        let base_seed = cfg.seed.unwrap_or_else(rand::random);
        Learner {
            global,
            sessions: DashMap::new(),
            action_counts: (0..ACTION_COUNT_SLOTS).map(|_| AtomicU64::new(0)).collect(),
            iterations: AtomicU64::new(0),
            reward_sum: AtomicF64::new(0.0),
            recent_reward: AtomicF64::new(0.0),
            typical_reward: AtomicF64::new(0.0),
            residual_square: AtomicF64::new(0.0),
            drift_events: AtomicU64::new(0),
            choices: AtomicU64::new(0),
            explored: AtomicU64::new(0),
            base_seed,
            cfg,
        }
    }

    /// The configuration in force.
    pub fn config(&self) -> &LearnerConfig {
        &self.cfg
    }

    /// A new, empty session state seeded from the learner seed and the session id.
    pub(super) fn new_session_state(&self, session: &str) -> SessionState {
        let sid = u64::from(murmur3_32(session.as_bytes(), 0x5e55))
            | (u64::from(murmur3_32(session.as_bytes(), 0x10_5e55)) << 32);
        let capacity = match self.cfg.adaptation {
            AdaptationStrategy::ExperienceReplay { capacity, .. } => capacity,
            _ => 0,
        };
        SessionState {
            model: None,
            rng: SmallRng::seed_from_u64(self.base_seed ^ sid),
            drift: std::collections::HashMap::new(),
            boost_remaining: 0,
            pending: Vec::new(),
            replay: ReplayBuffer::new(capacity),
            updates: 0,
            reward_sum: 0.0,
            drift_events: 0,
        }
    }

    fn session(&self, session: &str) -> Arc<Mutex<SessionState>> {
        if let Some(s) = self.sessions.get(session) {
            return Arc::clone(s.value());
        }
        let fresh = Arc::new(Mutex::new(self.new_session_state(session)));
        Arc::clone(
            self.sessions
                .entry(session.to_string())
                .or_insert(fresh)
                .value(),
        )
    }

    /// Predicted reward of `action` in `ctx` for `session` (global model only when the
    /// session is unknown or has no own data yet).
    pub fn predict(&self, session: &str, ctx: &ContextFeatures, action: &str) -> f64 {
        let ah = action_hash(action);
        let prediction = match self.sessions.get(session).map(|s| Arc::clone(s.value())) {
            Some(s) => predict_sum(&self.global, s.lock().model.as_ref(), ctx, ah),
            None => predict_sum(&self.global, None, ctx, ah),
        };
        f64::from(prediction)
    }

    /// Scores the candidates, draws one with the configured exploration strategy and
    /// returns it with its propensity. Creates the session if it is new.
    pub fn choose(
        &self,
        session: &str,
        ctx: &ContextFeatures,
        candidates: &[ArmCandidate],
    ) -> Result<Choice> {
        self.choose_allowed(session, ctx, candidates, None)
    }

    /// [`Self::choose`] with safe exploration: `allowed[i]` says whether the verifier would let
    /// candidate `i` run. Exploration is spent only on allowed candidates (see
    /// [`super::exploration::mask_denied`]); the propensity is the probability under that
    /// masked distribution, and a draw of a forbidden greedy candidate does not count as
    /// exploration.
    pub fn choose_allowed(
        &self,
        session: &str,
        ctx: &ContextFeatures,
        candidates: &[ArmCandidate],
        allowed: Option<&[bool]>,
    ) -> Result<Choice> {
        let (probs, greedy, scores, state) = self.score(session, ctx, candidates, allowed)?;
        let index = sample(&probs, &mut state.lock().rng);
        let explored = index != greedy && probs[index] < probs[greedy];
        self.choices.fetch_add(1, Ordering::Relaxed);
        if explored {
            self.explored.fetch_add(1, Ordering::Relaxed);
        }
        Ok(Choice {
            index,
            propensity: probs[index],
            scores,
            explored,
            probabilities: probs,
        })
    }

    /// The probability the current policy would give each candidate (no draw, no counting);
    /// use it as the target policy in off-policy evaluation.
    pub fn probabilities(
        &self,
        session: &str,
        ctx: &ContextFeatures,
        candidates: &[ArmCandidate],
    ) -> Result<Vec<f64>> {
        self.probabilities_allowed(session, ctx, candidates, None)
    }

    /// [`Self::probabilities`] with safe exploration applied as in [`Self::choose_allowed`].
    pub fn probabilities_allowed(
        &self,
        session: &str,
        ctx: &ContextFeatures,
        candidates: &[ArmCandidate],
        allowed: Option<&[bool]>,
    ) -> Result<Vec<f64>> {
        Ok(self.score(session, ctx, candidates, allowed)?.0)
    }

    #[allow(clippy::type_complexity)]
    fn score(
        &self,
        session: &str,
        ctx: &ContextFeatures,
        candidates: &[ArmCandidate],
        allowed: Option<&[bool]>,
    ) -> Result<(Vec<f64>, usize, Vec<f64>, Arc<Mutex<SessionState>>)> {
        check_session(session)?;
        if candidates.is_empty() {
            return err(
                ErrorCode::InvalidInput,
                "candidates must not be empty: pass at least one action to choose from",
            );
        }
        for c in candidates {
            if c.name.trim().is_empty() {
                return err(
                    ErrorCode::InvalidInput,
                    "candidate name must not be empty or whitespace",
                );
            }
            if !(c.prior.is_finite() && (-1.0..=1.0).contains(&c.prior)) {
                return err(
                    ErrorCode::InvalidInput,
                    format!(
                        "candidate `{}` prior must be a finite number in [-1, 1], got {}",
                        c.name, c.prior
                    ),
                );
            }
        }
        let state = self.session(session);
        let hashes: Vec<u32> = candidates.iter().map(|c| action_hash(&c.name)).collect();
        let mut scores = Vec::with_capacity(candidates.len());
        let exploration;
        {
            let guard = state.lock();
            exploration = match self.boost_left(guard.boost_remaining) {
                Some(left) => self
                    .cfg
                    .exploration
                    .with_min_epsilon(self.cfg.drift.exploration_boost * left),
                None => self.cfg.exploration,
            };
            for (c, &ah) in candidates.iter().zip(&hashes) {
                let pred = predict_sum(&self.global, guard.model.as_ref(), ctx, ah);
                scores.push(f64::from(pred) + self.cfg.prior_weight * c.prior);
            }
        }
        let counts: Option<Vec<u64>> = exploration.uses_counts().then(|| {
            hashes
                .iter()
                .map(|&h| {
                    self.action_counts[h as usize % ACTION_COUNT_SLOTS].load(Ordering::Relaxed)
                })
                .collect()
        });
        // Optimism in the face of the unknown: a candidate the model has seen little of in this
        // context is chosen as if it might earn `optimism × typical reward` more, a bonus that
        // fades as `1 / evidence` (1 + the updates seen for this context and action), so every
        // action gets a first few looks per context. The typical reward (recent mean of |r|)
        // scales it to the stream: where rewards are rare, a look is worth less. Without it a
        // learner whose rewards are never negative locks on the first action that paid anything
        // (issue #18's 24-action stream). A candidate the verifier forbids gets no bonus: curiosity
        // is not a reason to try what is not allowed.
        let bonus = self.cfg.optimism * self.typical_reward();
        let choice_scores: Vec<f64> = if bonus > 0.0 && scores.len() > 1 {
            scores
                .iter()
                .zip(&hashes)
                .enumerate()
                .map(|(i, (&s, &ah))| {
                    if allowed.is_some_and(|a| a.get(i) == Some(&false)) {
                        s
                    } else {
                        s + bonus / f64::from(evidence(&self.global, ctx, ah))
                    }
                })
                .collect()
        } else {
            scores.clone()
        };
        let (mut probs, greedy) = exploration.probabilities(&choice_scores, counts.as_deref());
        if let Some(allowed) = allowed {
            mask_denied(&mut probs, greedy, allowed);
        }
        Ok((probs, greedy, scores, state))
    }

    /// Learns from the reward of `action` (chosen with probability `propensity`) in `ctx`.
    ///
    /// Fails with `InvalidReward` when the reward is not finite or the propensity is not a
    /// finite number in (0, 1]; `InvalidInput` for an empty session id or action name.
    pub fn update(
        &self,
        session: &str,
        ctx: &ContextFeatures,
        action: &str,
        reward: f64,
        propensity: f64,
    ) -> Result<UpdateReport> {
        check_session(session)?;
        if action.trim().is_empty() {
            return err(
                ErrorCode::InvalidInput,
                "action name must not be empty or whitespace",
            );
        }
        if !reward.is_finite() {
            return err(
                ErrorCode::InvalidReward,
                format!("reward must be a finite number, got {reward}"),
            );
        }
        if !(propensity.is_finite() && propensity > 0.0 && propensity <= 1.0) {
            return err(
                ErrorCode::InvalidReward,
                format!("propensity must be a finite number in (0, 1], got {propensity}"),
            );
        }
        let reward = clamp_reward(reward);
        let weight = (1.0 / propensity).min(self.cfg.max_importance_weight) as f32;
        let ah = action_hash(action);
        let state = self.session(session);
        let mut guard = state.lock();
        let st = &mut *guard;

        let prediction = predict_sum(&self.global, st.model.as_ref(), ctx, ah);

        // The detector rests during a boost (the boost itself disturbs the reward stream)
        // and restarts when it ends.
        let drift_detected = self.cfg.drift_detection
            && st.boost_remaining == 0
            && st
                .drift
                .entry(ah)
                .or_insert_with(|| PageHinkley::new(&self.cfg.drift))
                .observe(reward - f64::from(prediction));
        if st.boost_remaining == 1 {
            st.drift.values_mut().for_each(PageHinkley::reset);
        }
        if drift_detected {
            st.drift_events += 1;
            st.boost_remaining = self.cfg.drift.boost_updates;
            st.replay.clear();
            self.drift_events.fetch_add(1, Ordering::Relaxed);
        }
        let opt = self.optimizer(st.boost_remaining);
        st.boost_remaining = st.boost_remaining.saturating_sub(1);
        if self.cfg.session_models && st.model.is_none() {
            st.model = Some(LocalWeights::new(self.cfg.session_hash_bits));
        }

        let error = prediction - reward as f32;
        let example = |ctx: &ContextFeatures| Example {
            context: ctx.clone(),
            action_hash: ah,
            reward: reward as f32,
            weight,
        };
        let updates_applied = match self.cfg.adaptation {
            AdaptationStrategy::Immediate => {
                self.step(st.model.as_mut(), ctx, ah, error, weight, &opt, true);
                1
            }
            AdaptationStrategy::MiniBatch { size } => {
                st.pending.push(example(ctx));
                if st.pending.len() >= size {
                    let batch = std::mem::take(&mut st.pending);
                    self.batch_step(st.model.as_mut(), &batch, &opt);
                    batch.len() as u32
                } else {
                    0
                }
            }
            AdaptationStrategy::ExperienceReplay {
                replays_per_update, ..
            } => {
                self.step(st.model.as_mut(), ctx, ah, error, weight, &opt, true);
                st.replay.push(example(ctx));
                let mut applied = 1;
                for _ in 0..replays_per_update {
                    if let Some(ex) = st.replay.sample(&mut st.rng) {
                        let p = predict_sum(
                            &self.global,
                            st.model.as_ref(),
                            &ex.context,
                            ex.action_hash,
                        );
                        // A replay is not new evidence: exposures are not counted again.
                        self.step(
                            st.model.as_mut(),
                            &ex.context,
                            ex.action_hash,
                            p - ex.reward,
                            ex.weight,
                            &opt,
                            false,
                        );
                        applied += 1;
                    }
                }
                applied
            }
        };

        st.updates += 1;
        st.reward_sum += reward;
        drop(guard);

        let n = self.iterations.fetch_add(1, Ordering::Relaxed) + 1;
        self.reward_sum.update(|s| s + reward);
        self.recent_reward.ewma(reward);
        self.typical_reward.ewma(reward.abs());
        let residual = reward - f64::from(prediction);
        self.residual_square.ewma(residual * residual);
        self.action_counts[ah as usize % ACTION_COUNT_SLOTS].fetch_add(1, Ordering::Relaxed);
        let prediction = f64::from(prediction);
        Ok(UpdateReport {
            prediction,
            error: reward - prediction,
            drift_detected,
            updates_applied,
            iteration: n,
        })
    }

    /// Replaces the reward an earlier [`Self::update`] learned for `action` in `ctx` (chosen
    /// with `propensity`): one step with error `old − new` (importance-weighted), so the model
    /// moves about as the original step would have for `new`; the exposures are not counted
    /// again (no new observation). Not a new iteration: no drift observation, no count; the
    /// reward totals swap `old` for `new`.
    pub fn replace_reward(
        &self,
        session: &str,
        ctx: &ContextFeatures,
        action: &str,
        old: f64,
        new: f64,
        propensity: f64,
    ) -> Result<()> {
        check_session(session)?;
        if !(old.is_finite() && new.is_finite()) {
            return err(
                ErrorCode::InvalidReward,
                format!("rewards must be finite numbers, got {old} and {new}"),
            );
        }
        if !(propensity.is_finite() && propensity > 0.0 && propensity <= 1.0) {
            return err(
                ErrorCode::InvalidReward,
                format!("propensity must be a finite number in (0, 1], got {propensity}"),
            );
        }
        let (old, new) = (clamp_reward(old), clamp_reward(new));
        let weight = (1.0 / propensity).min(self.cfg.max_importance_weight) as f32;
        let ah = action_hash(action);
        let state = self.session(session);
        let mut guard = state.lock();
        let st = &mut *guard;
        let opt = self.optimizer(st.boost_remaining);
        if self.cfg.session_models && st.model.is_none() {
            st.model = Some(LocalWeights::new(self.cfg.session_hash_bits));
        }
        // The correction is not new evidence: exposures are not counted again.
        self.step(
            st.model.as_mut(),
            ctx,
            ah,
            (old - new) as f32,
            weight,
            &opt,
            false,
        );
        st.reward_sum += new - old;
        drop(guard);
        self.reward_sum.update(|s| s + new - old);
        Ok(())
    }

    /// The bias-corrected value of one of the learner's EWMAs (α = [`RECENT_ALPHA`] per
    /// reward); `None` before any reward or when not finite.
    fn recent(&self, ewma: &AtomicF64) -> Option<f64> {
        let n = self.iterations.load(Ordering::Relaxed);
        if n == 0 {
            return None;
        }
        let correction = 1.0 - (1.0 - RECENT_ALPHA).powf(n as f64);
        Some(ewma.get() / correction).filter(|v| v.is_finite())
    }

    /// The recent mean magnitude of rewards (0 before any reward).
    fn typical_reward(&self) -> f64 {
        self.recent(&self.typical_reward)
            .map_or(0.0, |t| t.min(REWARD_LIMIT))
    }

    /// Share of the post-drift boost still left (1 just after the alarm), if any.
    fn boost_left(&self, boost_remaining: u32) -> Option<f64> {
        let total = self.cfg.drift.boost_updates;
        (boost_remaining > 0 && total > 0)
            .then(|| f64::from(boost_remaining.min(total)) / f64::from(total))
    }

    /// The step rule for a session with `boost_remaining` boosted updates left.
    fn optimizer(&self, boost_remaining: u32) -> StepRule {
        let d = &self.cfg.drift;
        let prior_count = self.prior_count();
        match self.boost_left(boost_remaining) {
            None => StepRule {
                learning_rate: self.cfg.learning_rate as f32,
                exposure_cap: None,
                prior_count,
            },
            Some(left) => StepRule {
                learning_rate: (self.cfg.learning_rate
                    * (1.0 + (d.learning_rate_boost - 1.0) * left))
                    as f32,
                exposure_cap: Some(d.accumulator_cap as f32),
                prior_count,
            },
        }
    }

    /// The rewards' noise-to-signal ratio `σ² / τ²` (residual mean square over the typical
    /// reward's square), in [0, 10]: how many observations' worth a fresh weight's prior is
    /// (see [`StepRule::prior_count`]). 0 until rewards were seen.
    fn prior_count(&self) -> f32 {
        let typical = self.typical_reward();
        match self.recent(&self.residual_square) {
            Some(noise) if typical > 0.0 => (noise / (typical * typical)).clamp(0.0, 10.0) as f32,
            _ => 0.0,
        }
    }

    /// One normalised step (see [`super::weights`]) on the global and (if any) session model
    /// towards the target: `error` is `prediction − target`, `weight` the importance weight.
    /// `count` adds the features to the weights' exposures (a new observation; not for a
    /// replay or a replaced reward).
    #[allow(clippy::too_many_arguments)]
    fn step(
        &self,
        local: Option<&mut LocalWeights>,
        ctx: &ContextFeatures,
        ah: u32,
        error: f32,
        weight: f32,
        rule: &StepRule,
        count: bool,
    ) {
        let steps = normalized_step(
            ctx,
            ah,
            error,
            weight,
            rule,
            |h| self.global.exposure(h),
            local.is_some(),
        );
        self.apply_steps(local, &steps, rule, count);
    }

    /// Applies per-weight changes `(hash, x², Δ)` to the global and (if any) session model.
    fn apply_steps(
        &self,
        mut local: Option<&mut LocalWeights>,
        steps: &[(u32, f32, f32)],
        rule: &StepRule,
        count: bool,
    ) {
        for &(h, x2, d) in steps {
            let x2 = if count { x2 } else { 0.0 };
            self.global.apply(h, d, x2, rule);
            if let Some(m) = local.as_deref_mut() {
                m.apply(h, d, x2, rule);
            }
        }
    }

    /// One mini-batch step: every example's normalised change against the same weights, then
    /// each weight moves by the mean change of the examples that touched it (a weight only one
    /// example touched takes that example's whole step; one all of them touched, like the
    /// action's identity, their mean — so the batch cannot overshoot where steps overlap).
    fn batch_step(&self, local: Option<&mut LocalWeights>, batch: &[Example], rule: &StepRule) {
        // Per weight: Σ x², Σ Δ, examples that touched it.
        let mut sums: BTreeMap<u32, (f32, f32, f32)> = BTreeMap::new();
        for ex in batch {
            let prediction =
                predict_sum(&self.global, local.as_deref(), &ex.context, ex.action_hash);
            let steps = normalized_step(
                &ex.context,
                ex.action_hash,
                prediction - ex.reward,
                ex.weight,
                rule,
                |h| self.global.exposure(h),
                local.is_some(),
            );
            for (h, x2, d) in steps {
                let e = sums.entry(h).or_insert((0.0, 0.0, 0.0));
                e.0 += x2;
                e.1 += d;
                e.2 += 1.0;
            }
        }
        let steps: Vec<(u32, f32, f32)> = sums
            .into_iter()
            .map(|(h, (x2, d, n))| (h, x2, d / n))
            .collect();
        self.apply_steps(local, &steps, rule, true);
    }

    /// Learner-wide counters.
    pub fn stats(&self) -> LearnerStats {
        let n = self.iterations.load(Ordering::Relaxed);
        let choices = self.choices.load(Ordering::Relaxed);
        let (average, recent) = if n == 0 {
            (0.0, 0.0)
        } else {
            let correction = 1.0 - (1.0 - RECENT_ALPHA).powf(n as f64);
            (
                self.reward_sum.get() / n as f64,
                self.recent_reward.get() / correction,
            )
        };
        LearnerStats {
            iterations: n,
            average_reward: average,
            recent_average_reward: recent,
            sessions: self.sessions.len(),
            drift_events: self.drift_events.load(Ordering::Relaxed),
            exploration_rate_observed: if choices == 0 {
                0.0
            } else {
                self.explored.load(Ordering::Relaxed) as f64 / choices as f64
            },
        }
    }

    /// One session's counters; `UnknownSession` when it does not exist.
    pub fn session_stats(&self, session: &str) -> Result<SessionStats> {
        let state = match self.sessions.get(session) {
            Some(s) => Arc::clone(s.value()),
            None => {
                return err(
                    ErrorCode::UnknownSession,
                    format!("no learner session `{session}`"),
                )
            }
        };
        let st = state.lock();
        Ok(SessionStats {
            updates: st.updates,
            average_reward: if st.updates == 0 {
                0.0
            } else {
                st.reward_sum / st.updates as f64
            },
            drift_events: st.drift_events,
            boost_remaining: st.boost_remaining,
        })
    }

    /// Forgets a session's own model and state; returns whether it existed.
    pub fn remove_session(&self, session: &str) -> bool {
        self.sessions.remove(session).is_some()
    }

    /// Ids of the known sessions (unordered).
    pub fn session_ids(&self) -> Vec<String> {
        self.sessions.iter().map(|e| e.key().clone()).collect()
    }
}

fn check_session(session: &str) -> Result<()> {
    if session.trim().is_empty() {
        return err(
            ErrorCode::InvalidInput,
            "session id must not be empty or whitespace",
        );
    }
    Ok(())
}
