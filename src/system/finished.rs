//! The steps that stay addressable for delayed `feedback`.
//!
//! Step ids are `act-<n>` with `n` from one counter, so the window is a ring of
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

    /// The number in a step id `act-<n>`.
    fn number(action_id: &str) -> Option<u64> {
        action_id.strip_prefix("act-")?.parse().ok()
    }

    /// Remembers step `action_id` (ids not of the form `act-<n>` are not addressable).
    pub(crate) fn remember(&self, action_id: &str, step: Finished) {
        let Some(n) = Self::number(action_id) else {
            return;
        };
        let mut slots = self.slots.lock();
        if slots.is_empty() {
            slots.resize_with(Self::WINDOW, || None);
        }
        let slot = &mut slots[(n % Self::WINDOW as u64) as usize];
        if slot.as_ref().is_none_or(|(held, _)| *held <= n) {
            *slot = Some((n, step));
        }
    }

    /// The step `action_id`, if it is still in the window.
    pub(crate) fn get(&self, action_id: &str) -> Option<Finished> {
        let n = Self::number(action_id)?;
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
        }
    }

    #[test]
    fn a_step_is_found_until_a_newer_one_takes_its_slot() {
        let ring = FinishedSteps::new();
        ring.remember("act-1", step("a"));
        assert_eq!(ring.get("act-1").map(|s| s.action), Some("a".into()));
        assert!(ring.get("act-2").is_none());
        assert!(ring.get("nope").is_none());
        let later = format!("act-{}", 1 + FinishedSteps::WINDOW);
        ring.remember(&later, step("b"));
        assert!(ring.get("act-1").is_none(), "displaced by a newer step");
        assert_eq!(ring.get(&later).map(|s| s.action), Some("b".into()));
        // A step that finishes late never displaces a newer one.
        ring.remember("act-1", step("late"));
        assert_eq!(ring.get(&later).map(|s| s.action), Some("b".into()));
        assert!(ring.get("act-1").is_none());
    }
}
