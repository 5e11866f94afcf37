//! The steps that stay addressable for delayed `feedback`.
//!
//! Steps are numbered by the engine's step counter (see `step_ids`), so the window is a ring of
//! [`FinishedSteps::WINDOW`] slots indexed by `n`: remembering a step and finding it again
//! are one lock and one slot, with no map of string keys and no eviction queue. A slot keeps
//! the newest step mapped to it, so a step finished long after it started (a slow handler)
//! never displaces a newer one; feedback reaches a step while fewer than `WINDOW` newer
//! steps have finished in its slot's place.

use std::sync::Arc;

use parking_lot::Mutex;

use crate::learning::ContextFeatures;

/// What feedback needs of a finished step.
#[derive(Clone)]
pub(crate) struct Finished {
    /// The step's session.
    pub session: String,
    /// The context features it was chosen in.
    pub features: Arc<ContextFeatures>,
    /// The action that ran.
    pub action: String,
    /// The probability it was chosen with.
    pub propensity: f64,
    /// The reward the learner learned from it, if it learned (feedback replaces it).
    pub learned: Option<f64>,
}

/// The ring of recently finished steps.
pub(crate) struct FinishedSteps {
    slots: Mutex<Vec<Option<(u64, Finished)>>>,
}

impl FinishedSteps {
    /// How many steps the ring holds.
    pub(crate) const WINDOW: usize = 10_000;

    /// An empty ring.
    pub(crate) fn new() -> Self {
        FinishedSteps {
            slots: Mutex::new(Vec::new()),
        }
    }

    /// Remembers step number `n`.
    pub(crate) fn remember(&self, n: u64, step: Finished) {
        let mut slots = self.slots.lock();
        if slots.is_empty() {
            slots.resize_with(Self::WINDOW, || None);
        }
        let slot = &mut slots[(n % Self::WINDOW as u64) as usize];
        if slot.as_ref().is_none_or(|(held, _)| *held <= n) {
            *slot = Some((n, step));
        }
    }

    /// Records that step `n` was learned from with `reward` (when it is still in the window).
    pub(crate) fn set_learned(&self, n: u64, reward: f64) {
        let mut slots = self.slots.lock();
        if let Some(Some((held, step))) = slots.get_mut((n % Self::WINDOW as u64) as usize) {
            if *held == n {
                step.learned = Some(reward);
            }
        }
    }

    /// Step number `n`, if it is still in the window.
    pub(crate) fn get(&self, n: u64) -> Option<Finished> {
        let slots = self.slots.lock();
        match slots.get((n % Self::WINDOW as u64) as usize) {
            Some(Some((held, step))) if *held == n => Some(step.clone()),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(action: &str) -> Finished {
        Finished {
            session: "s".into(),
            features: Arc::new(
                ContextFeatures::builder()
                    .text("x")
                    .build()
                    .expect("features"),
            ),
            action: action.into(),
            propensity: 0.5,
            learned: None,
        }
    }

    #[test]
    fn a_step_is_found_until_a_newer_one_takes_its_slot() {
        let ring = FinishedSteps::new();
        ring.remember(1, step("a"));
        assert_eq!(ring.get(1).map(|s| s.action), Some("a".into()));
        assert!(ring.get(2).is_none());
        let later = 1 + FinishedSteps::WINDOW as u64;
        ring.remember(later, step("b"));
        assert!(ring.get(1).is_none(), "displaced by a newer step");
        assert_eq!(ring.get(later).map(|s| s.action), Some("b".into()));
        // A step that finishes late never displaces a newer one.
        ring.remember(1, step("late"));
        assert_eq!(ring.get(later).map(|s| s.action), Some("b".into()));
        assert!(ring.get(1).is_none());
        ring.set_learned(later, 0.5);
        assert_eq!(ring.get(later).and_then(|s| s.learned), Some(0.5));
    }
}
