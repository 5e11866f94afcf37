//! Sessions: created (or re-created from the journal, so a session's ledger outlives the
//! process), ended, and looked up by every stage.

use super::*;

pub(super) fn unknown_session(id: &str) -> Error {
    Error::new(
        ErrorCode::UnknownSession,
        format!("unknown session {id:?}; create it with createContext({id:?}) first"),
    )
}

/// What became of a step, from its decision, whether a denial ran anyway (observe mode) and
/// whether it succeeded: a denial that was enforced did not run.
pub(super) fn step_kind(decision: &str, would_deny: bool, success: bool) -> StepKind {
    if decision == "deny" && !would_deny {
        StepKind::Denied
    } else if success {
        StepKind::Succeeded
    } else {
        StepKind::Failed
    }
}

impl Engine {
    /// Creates a session, or updates an existing session's context (keeping its history).
    pub fn create_session(&self, id: &str, context: SessionContext) -> Result<()> {
        self.ensure_open()?;
        if id.trim().is_empty() || id.len() > 256 {
            return err(
                ErrorCode::InvalidInput,
                "session id must be a non-empty string of at most 256 characters",
            );
        }
        let window = self.config.history_window;
        let fresh = match self.sessions.get(id).map(|s| s.clone()) {
            // A live session keeps everything it did; only its context changes.
            Some(old) => {
                let (ledger, history, facts, steps, total) = old.with_state(|st| {
                    (
                        st.ledger.clone(),
                        st.history.clone(),
                        st.facts.clone(),
                        st.steps,
                        st.total_reward,
                    )
                });
                let fresh = Session::with_ledger(id.to_string(), context, window, ledger);
                fresh.with_state(|st| {
                    st.history = history;
                    st.facts.extend(facts);
                    st.steps = steps;
                    st.total_reward = total;
                });
                fresh
            }
            None => self.restore_session(id, context)?,
        };
        self.sessions.insert(id.to_string(), Arc::new(fresh));
        Ok(())
    }

    /// A session not live in this engine: its ledger rebuilt from the journal (empty for a
    /// new id), the effects of its successful steps as facts.
    pub(super) fn restore_session(&self, id: &str, context: SessionContext) -> Result<Session> {
        let rows = self.journal.session_rows(id)?;
        let mut ledger = Ledger::new(self.runs.clone());
        let mut effects = Vec::new();
        for row in &rows {
            let kind = step_kind(&row.decision, row.would_deny, row.success);
            ledger.record(&row.action, kind, row.at_ms, &row.nums);
            if kind == StepKind::Succeeded {
                if let Ok(spec) = self.actions.get(&row.action) {
                    effects.extend(spec.effects.iter().cloned());
                }
            }
        }
        let session =
            Session::with_ledger(id.to_string(), context, self.config.history_window, ledger);
        session.with_state(|st| {
            for e in effects {
                st.facts.insert(crate::agent::action::normalize_atom(&e));
            }
        });
        Ok(session)
    }

    /// Ends a session.
    pub fn end_session(&self, id: &str) -> Result<()> {
        self.ensure_open()?;
        self.slice_chains.forget(id);
        self.sessions
            .remove(id)
            .map(|_| ())
            .ok_or_else(|| unknown_session(id))
    }

    pub(super) fn session(&self, id: &str) -> Result<Arc<Session>> {
        self.sessions
            .get(id)
            .map(|s| s.clone())
            .ok_or_else(|| unknown_session(id))
    }

    /// A session's history window.
    pub fn history(&self, session_id: &str) -> Result<Vec<crate::agent::HistoryEntry>> {
        self.ensure_open()?;
        Ok(self.session(session_id)?.history())
    }
}
