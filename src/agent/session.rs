//! Sessions: one conversation or workflow run.
//!
//! A session keeps the caller's context (preferences, environment), a bounded history of
//! its steps (the `historyWindow`), and the facts its successful steps established through
//! their declared effects. Each session is locked on its own, so sessions never wait on
//! each other.

use std::collections::{BTreeSet, VecDeque};

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::action::normalize_atom;
use crate::reasoning::rules::Atom;

/// Caller-supplied context of a session.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SessionContext {
    /// User or agent preferences (e.g. `{"units": "metric"}`); they become learner features.
    #[serde(default)]
    pub preferences: Map<String, Value>,
    /// Environment facts: `{"authenticated": true}` becomes the fact `authenticated`, and
    /// `{"role": "finance"}` the fact `role(finance)`; both count for preconditions.
    #[serde(default)]
    pub environment: Map<String, Value>,
    /// The agent acting in this session (the Cedar principal); defaults to the session id.
    #[serde(default)]
    pub agent_id: Option<String>,
}

/// One step in a session's history.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct HistoryEntry {
    /// The step id.
    pub step_id: String,
    /// The chunk that started the step (truncated to 200 characters).
    pub input: String,
    /// The action that ran.
    pub action: String,
    /// Whether it succeeded.
    pub success: bool,
    /// The reward it earned.
    pub reward: f64,
    /// When it completed (ms since the epoch).
    pub timestamp: i64,
}

/// The mutable part of a session.
#[derive(Debug, Default)]
pub struct SessionState {
    /// Last `window` steps, oldest first.
    pub history: VecDeque<HistoryEntry>,
    /// Facts established in this session (normalised atoms).
    pub facts: BTreeSet<String>,
    /// Steps completed in this session.
    pub steps: u64,
    /// Sum of rewards of completed steps.
    pub total_reward: f64,
}

/// A session: immutable identity and context, plus locked state.
#[derive(Debug)]
pub struct Session {
    /// The session id.
    pub id: String,
    /// The caller's context.
    pub context: SessionContext,
    /// The history window length.
    pub window: usize,
    state: Mutex<SessionState>,
}

impl Session {
    /// Creates a session; `true` environment flags and `key=value` string entries become facts.
    pub fn new(id: String, context: SessionContext, window: usize) -> Self {
        let mut facts = BTreeSet::new();
        for (k, v) in &context.environment {
            match v {
                Value::Bool(true) => {
                    facts.insert(normalize_atom(k));
                }
                Value::String(s) if !s.is_empty() => {
                    let atom = Atom::fact(k.as_str(), &[s.as_str()]);
                    if atom.validate_fact().is_ok() {
                        facts.insert(atom.to_string());
                    }
                }
                _ => {}
            }
        }
        Session {
            id,
            context,
            window,
            state: Mutex::new(SessionState {
                facts,
                ..SessionState::default()
            }),
        }
    }

    /// The agent acting in this session.
    pub fn agent_id(&self) -> &str {
        self.context.agent_id.as_deref().unwrap_or(&self.id)
    }

    /// Runs `f` with the session state locked.
    pub fn with_state<R>(&self, f: impl FnOnce(&mut SessionState) -> R) -> R {
        f(&mut self.state.lock())
    }

    /// Records a completed step: pushes history (bounded), applies effects on success.
    pub fn record(&self, entry: HistoryEntry, effects: &[String]) {
        let mut st = self.state.lock();
        if entry.success {
            for e in effects {
                st.facts.insert(normalize_atom(e));
            }
        }
        st.steps += 1;
        st.total_reward += entry.reward;
        st.history.push_back(entry);
        while st.history.len() > self.window {
            st.history.pop_front();
        }
    }

    /// A copy of the current history window.
    pub fn history(&self) -> Vec<HistoryEntry> {
        self.state.lock().history.iter().cloned().collect()
    }

    /// The actions of the history window, oldest first, and the number of steps completed:
    /// a step's `priorSteps` and `stepIndex`.
    pub fn prior_steps(&self) -> (Vec<String>, u64) {
        let st = self.state.lock();
        (
            st.history.iter().map(|h| h.action.clone()).collect(),
            st.steps,
        )
    }

    /// A copy of the session's facts.
    pub fn facts(&self) -> BTreeSet<String> {
        self.state.lock().facts.clone()
    }
}
