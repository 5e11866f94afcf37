//! A dry run of a step's choice: what the agent would do with a chunk *now*, and why.
//!
//! An operator watching an agent asks "what will it pick for this message, and how sure is
//! it?" without wanting the answer to change anything. [`Engine::rank`] runs the first
//! stages of a step on the chunk — perceive, plan, verify each distinct first action, score —
//! and stops before the draw: nothing enters the knowledge graph, nothing executes, nothing
//! is learned, journaled or counted as a step. (The verifications may stay in the decision cache,
//! as any `verifyAction` does, and the learner keeps a state for the session, as the session's
//! first step would create.) The probabilities are the ones the next step would draw
//! from (safe exploration's mask included, exactly as `act` applies it), so the ranking can be
//! compared with what the agent then does.

use super::act::{arms, first_actions, verification_of, Seen};
use super::*;

/// One runnable plan, as the learner sees it before a step.
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RankedAction {
    /// The action the plan leads to.
    pub action: String,
    /// Action names in execution order; the first one would run now.
    pub plan: Vec<String>,
    /// The planner's relevance of the action to the chunk, in [0, 1].
    pub relevance: f64,
    /// The learner's predicted reward for the plan's first action in this context.
    pub predicted: f64,
    /// The probability that the next step chooses this plan.
    pub probability: f64,
    /// The verifier's answer for the plan's first action (`skipped` when verification is off).
    pub decision: Verdict,
    /// Why, in the verifier's words.
    pub reasons: Vec<String>,
}

/// What [`Engine::rank`] returns.
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Ranking {
    /// The session whose learner state was read.
    pub session_id: String,
    /// Runnable plans, most probable first.
    pub candidates: Vec<RankedAction>,
    /// Relevant actions whose preconditions cannot be established, with what is missing.
    pub blocked: Vec<BlockedAction>,
    /// Whether exploration is masked to the allowed actions (safe exploration applies).
    pub masked: bool,
}

/// A relevant action that cannot run yet.
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BlockedAction {
    /// The action.
    pub action: String,
    /// The preconditions that could not be proved.
    pub missing: Vec<String>,
}

impl Engine {
    /// Ranks the runnable plans for `chunk` in `session_id` without running a step (see the
    /// module docs).
    pub fn rank(&self, session_id: &str, chunk: &str) -> Result<Ranking> {
        self.ensure_open()?;
        self.check_chunk(chunk)?;
        let session = self.session(session_id)?;
        let actions = self.registered_actions()?;
        let perception = self.perceive(&session, chunk)?;
        let seen = Seen {
            words: perception.words,
            types: perception.types,
            params: perception.params,
        };
        let plan = self.plan(&session, &actions, &seen)?;
        let blocked = plan
            .blocked
            .iter()
            .map(|(a, missing)| BlockedAction {
                action: a.clone(),
                missing: missing.clone(),
            })
            .collect();
        if plan.candidates.is_empty() {
            return Ok(Ranking {
                session_id: session.id.clone(),
                candidates: vec![],
                blocked,
                masked: false,
            });
        }
        // Safe exploration's own check decides the mask, so the ranking draws as the step
        // would; when it does not apply, every distinct first action is still verified once
        // for display.
        let checked = self.check_candidates(&session, &plan, &seen, &actions);
        let masked = checked.is_some();
        let (verified, allowed) = match checked {
            Some(c) => (c.verified, Some(c.allowed)),
            None => {
                let firsts = first_actions(&plan).unwrap_or_default();
                let verified: Vec<(String, Verification)> =
                    if self.config.enable_formal_verification {
                        self.verify_each(&session, &firsts, &seen.params, &actions)
                    } else {
                        firsts
                            .iter()
                            .map(|n| {
                                let v = Verification::skipped("formal verification is disabled");
                                (n.to_string(), v)
                            })
                            .collect()
                    };
                (verified, None)
            }
        };
        let features = &perception.features;
        let probabilities = self.learner.probabilities_allowed(
            &session.id,
            features,
            &arms(&plan),
            allowed.as_deref(),
        )?;
        let mut candidates: Vec<RankedAction> = plan
            .candidates
            .iter()
            .zip(probabilities)
            .map(|(c, probability)| {
                let first = c.plan.first().cloned().unwrap_or_default();
                // Every first action was verified above; a missing one would be denied.
                let v = verification_of(&verified, c).cloned().unwrap_or_else(|| {
                    crate::system::formal::fail_closed(format!("{first} was not verified"))
                });
                RankedAction {
                    action: c.action.name.clone(),
                    predicted: self.learner.predict(&session.id, features, &first),
                    plan: c.plan.clone(),
                    relevance: c.relevance,
                    probability,
                    decision: v.decision,
                    reasons: v.reasons,
                }
            })
            .collect();
        candidates.sort_by(|a, b| b.probability.total_cmp(&a.probability));
        Ok(Ranking {
            session_id: session.id.clone(),
            candidates,
            blocked,
            masked,
        })
    }
}
