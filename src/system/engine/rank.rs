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

use super::act::Seen;
use super::*;
use crate::learning::ArmCandidate;

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
        // Every distinct first action verified once, as safe exploration does before a draw.
        let mut firsts: Vec<&str> = Vec::new();
        for c in &plan.candidates {
            let first = c.plan.first().map(String::as_str).unwrap_or("");
            if !firsts.contains(&first) {
                firsts.push(first);
            }
        }
        let verified: Vec<(String, Verification)> = if self.config.enable_formal_verification {
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
        let verdict_of = |c: &crate::agent::PlanCandidate| {
            let first = c.plan.first().map(String::as_str).unwrap_or("");
            &verified
                .iter()
                .find(|(n, _)| n == first)
                .expect("every first action was verified above")
                .1
        };
        let allowed: Vec<bool> = plan
            .candidates
            .iter()
            .map(|c| verdict_of(c).decision != Verdict::Deny)
            .collect();
        let masked = self.config.safe_exploration
            && self.config.enable_formal_verification
            && verified.len() >= 2
            && session.enforcement(self.config.enforcement) != Enforcement::Observe;
        let arms: Vec<ArmCandidate> = plan
            .candidates
            .iter()
            .map(|c| {
                ArmCandidate::new(
                    c.action.name.clone(),
                    super::act::prior(c.relevance, &c.action),
                )
            })
            .collect();
        let features = &perception.features;
        let probabilities = self.learner.probabilities_allowed(
            &session.id,
            features,
            &arms,
            masked.then_some(allowed.as_slice()),
        )?;
        let mut candidates: Vec<RankedAction> = plan
            .candidates
            .iter()
            .zip(probabilities)
            .map(|(c, probability)| {
                let first = c.plan.first().cloned().unwrap_or_default();
                let v = verdict_of(c);
                RankedAction {
                    action: c.action.name.clone(),
                    predicted: self.learner.predict(&session.id, features, &first),
                    plan: c.plan.clone(),
                    relevance: c.relevance,
                    probability,
                    decision: v.decision,
                    reasons: v.reasons.clone(),
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
