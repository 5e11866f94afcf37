//! Sessions: one conversation or workflow run.
//!
//! A session keeps the caller's context (preferences, environment), a bounded history of
//! its steps (the `historyWindow`, what `history()` returns), the [`Ledger`] of everything it
//! did (what policies read; never bounded by the window), and the facts its successful steps
//! established through their declared effects. Each session is locked on its own, so
//! sessions never wait on each other.

use std::collections::{BTreeSet, VecDeque};

use std::sync::Arc;

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::action::normalize_atom;
use super::ledger::{Ledger, RunsConfig, StepKind};
use crate::error::{Error, ErrorCode, Result};
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
    /// Overrides the system's `enforcement` for this session.
    #[serde(default)]
    pub enforcement: Option<Enforcement>,
}

/// Whether verification refuses a denied step or only records it.
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Enforcement {
    /// A denied step does not run (the default).
    #[default]
    Enforce,
    /// A denied step runs; its result and journal row say `wouldDeny` (rolling out guardrails).
    Observe,
}

impl Enforcement {
    /// Parses `"enforce"` or `"observe"`.
    pub fn parse(v: &Value) -> Result<Enforcement> {
        serde_json::from_value(v.clone()).map_err(|_| {
            Error::new(
                ErrorCode::InvalidConfig,
                format!("enforcement must be \"enforce\" or \"observe\", got {v}"),
            )
        })
    }
}

/// One step in a session's history.
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct HistoryEntry {
    /// The step's `actionId` (for `feedback`).
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
#[derive(Debug)]
pub struct SessionState {
    /// Last `window` steps, oldest first.
    pub history: VecDeque<HistoryEntry>,
    /// Facts established in this session (normalised atoms).
    pub facts: BTreeSet<String>,
    /// Steps completed in this session.
    pub steps: u64,
    /// Sum of rewards of completed steps.
    pub total_reward: f64,
    /// Everything the session did, for policies.
    pub ledger: Ledger,
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
        Self::with_ledger(
            id,
            context,
            window,
            Ledger::new(Arc::new(RunsConfig::default())),
        )
    }

    /// [`Self::new`] continuing `ledger` (a session re-created from its journal).
    pub fn with_ledger(id: String, context: SessionContext, window: usize, ledger: Ledger) -> Self {
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
                history: VecDeque::new(),
                facts,
                steps: ledger.steps(),
                total_reward: 0.0,
                ledger,
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

    /// Records a finished step: its ledger entry (`kind`, with its parameters for the running
    /// sums), history (bounded by the window) and, when it succeeded, its effects as facts.
    pub fn record(&self, entry: HistoryEntry, kind: StepKind, params: &Value, effects: &[String]) {
        let mut st = self.state.lock();
        if kind == StepKind::Succeeded {
            for e in effects {
                st.facts.insert(normalize_atom(e));
            }
        }
        st.ledger
            .record(&entry.action, kind, entry.timestamp, params);
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

    /// What policies read of this session: the distinct actions that succeeded, were denied
    /// and failed (each in order of first occurrence), and the next step's index.
    pub fn prior_steps(&self) -> PriorSteps {
        let st = self.state.lock();
        PriorSteps {
            succeeded: st.ledger.succeeded().to_vec(),
            denied: st.ledger.denied().to_vec(),
            failed: st.ledger.failed().to_vec(),
            step_index: st.steps,
        }
    }

    /// The `context.runs` record for `actions` (and every action this session attempted).
    pub fn runs_json<'a>(&self, actions: impl IntoIterator<Item = &'a str>, now_ms: i64) -> Value {
        self.state.lock().ledger.runs_json(actions, now_ms)
    }

    /// The enforcement in force for this session, given the system's default.
    pub fn enforcement(&self, default: Enforcement) -> Enforcement {
        self.context.enforcement.unwrap_or(default)
    }

    /// A copy of the session's facts.
    pub fn facts(&self) -> BTreeSet<String> {
        self.state.lock().facts.clone()
    }
}

/// What policies read of a session's past (see [`Session::prior_steps`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PriorSteps {
    /// Distinct actions that ran and succeeded (`context.priorSteps`).
    pub succeeded: Vec<String>,
    /// Distinct actions verification refused (`context.deniedSteps`).
    pub denied: Vec<String>,
    /// Distinct actions that ran and failed (`context.failedSteps`).
    pub failed: Vec<String>,
    /// Steps finished so far (`context.stepIndex`).
    pub step_index: u64,
}

impl Enforcement {
    /// `enforce` or `observe`.
    pub fn as_str(self) -> &'static str {
        match self {
            Enforcement::Enforce => "enforce",
            Enforcement::Observe => "observe",
        }
    }
}
