//! When and how often rewards turn into model updates.
//!
//! - `immediate`: every reward updates the model at once;
//! - `miniBatch`: rewards are buffered per session; when `size` are pending, all their errors
//!   are computed against the same weights, then all gradients are applied;
//! - `experienceReplay`: every reward updates at once and is stored in a bounded per-session
//!   ring buffer; each update is followed by `replaysPerUpdate` updates on examples drawn
//!   uniformly from the buffer (more learning per observation). The buffer is cleared when a
//!   drift is detected, since its examples describe the old world.
//!
//! JSON (camelCase, tagged by `mode`): `{"mode": "immediate"}`,
//! `{"mode": "miniBatch", "size": 16}`,
//! `{"mode": "experienceReplay", "capacity": 1000, "replaysPerUpdate": 2}`.

use rand::Rng;
use serde::{Deserialize, Serialize};

use super::features::ContextFeatures;
use crate::error::{err, ErrorCode, Result};

/// How rewards are turned into updates (see the module docs).
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(
    tag = "mode",
    rename_all = "camelCase",
    rename_all_fields = "camelCase",
    deny_unknown_fields
)]
pub enum AdaptationStrategy {
    /// Update on every reward.
    #[default]
    Immediate,
    /// Update once `size` rewards are pending.
    MiniBatch {
        /// Rewards per batch, 1..=10000.
        size: usize,
    },
    /// Update on every reward, then replay random past examples.
    ExperienceReplay {
        /// Examples kept per session, 1..=1000000.
        capacity: usize,
        /// Replayed examples after each update, 0..=100.
        replays_per_update: usize,
    },
}

impl AdaptationStrategy {
    /// Checks the parameters; messages name the JSON field and its range.
    pub fn validate(&self) -> Result<()> {
        match *self {
            AdaptationStrategy::Immediate => Ok(()),
            AdaptationStrategy::MiniBatch { size } => {
                if (1..=10_000).contains(&size) {
                    Ok(())
                } else {
                    err(
                        ErrorCode::InvalidConfig,
                        format!("adaptation.size must be in 1..=10000, got {size}"),
                    )
                }
            }
            AdaptationStrategy::ExperienceReplay {
                capacity,
                replays_per_update,
            } => {
                if !(1..=1_000_000).contains(&capacity) {
                    return err(
                        ErrorCode::InvalidConfig,
                        format!("adaptation.capacity must be in 1..=1000000, got {capacity}"),
                    );
                }
                if replays_per_update > 100 {
                    return err(
                        ErrorCode::InvalidConfig,
                        format!(
                            "adaptation.replaysPerUpdate must be in 0..=100, got {replays_per_update}"
                        ),
                    );
                }
                Ok(())
            }
        }
    }
}

/// One observed outcome, kept for batching or replay.
#[derive(Debug, Clone)]
pub struct Example {
    /// The decision context.
    pub context: ContextFeatures,
    /// Hash of the chosen action.
    pub action_hash: u32,
    /// Observed reward (already clamped).
    pub reward: f32,
    /// Importance weight of the example.
    pub weight: f32,
}

/// A bounded ring buffer of examples with uniform sampling.
#[derive(Debug, Clone, Default)]
pub struct ReplayBuffer {
    items: Vec<Example>,
    capacity: usize,
    next: usize,
}

impl ReplayBuffer {
    /// An empty buffer holding at most `capacity` examples.
    pub fn new(capacity: usize) -> Self {
        ReplayBuffer {
            items: Vec::new(),
            capacity,
            next: 0,
        }
    }

    /// Stores an example, overwriting the oldest once full.
    pub fn push(&mut self, ex: Example) {
        if self.capacity == 0 {
            return;
        }
        if self.items.len() < self.capacity {
            self.items.push(ex);
        } else {
            self.items[self.next] = ex;
        }
        self.next = (self.next + 1) % self.capacity;
    }

    /// A uniformly drawn stored example.
    pub fn sample(&self, rng: &mut impl Rng) -> Option<&Example> {
        if self.items.is_empty() {
            None
        } else {
            Some(&self.items[rng.gen_range(0..self.items.len())])
        }
    }

    /// Number of stored examples.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Drops every stored example.
    pub fn clear(&mut self) {
        self.items.clear();
        self.next = 0;
    }
}
