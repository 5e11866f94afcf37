//! Planning: which registered actions fit this chunk, and in which order they can run.
//!
//! Relevance of an action to a chunk is the share of its keywords found among the chunk's
//! words and entity types (weight 0.75) plus the share of its description's content words
//! found there (weight 0.25). Actions under the `actionThreshold` are dropped. When none
//! passes, [`NoRelevantAction`] says what happens: `choose` (the default) keeps every action a
//! candidate and lets the learner decide — an agent that must always act, and a learner that
//! learns what works for chunks no keyword describes; `skip` plans nothing, and the step runs no
//! action and names the best one and its relevance — for agents where an irrelevant action is
//! worse than none.
//!
//! An action whose preconditions do not hold yet is not dropped: the planner looks for
//! actions whose effects establish the missing atoms (recursively, up to
//! `maxPlanningDepth`) and returns the chain, first runnable step first. An action whose
//! preconditions cannot be established within the depth is reported as blocked.

use std::collections::{BTreeSet, HashSet};
use std::hash::BuildHasher;

use std::sync::Arc;

use dashmap::DashMap;

use serde::{Deserialize, Serialize};

use super::action::{normalize_atom, ActionSpec};
use crate::error::{Error, ErrorCode, Result};

/// What a step does when no registered action reaches the `actionThreshold`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NoRelevantAction {
    /// Every action stays a candidate; the learner chooses (the default).
    #[default]
    Choose,
    /// No action runs; the step says which action came closest.
    Skip,
}

impl NoRelevantAction {
    /// Parses `"choose"` or `"skip"`.
    pub fn parse(v: &serde_json::Value) -> Result<NoRelevantAction> {
        serde_json::from_value(v.clone()).map_err(|_| {
            Error::new(
                ErrorCode::InvalidConfig,
                format!("noRelevantAction must be \"choose\" or \"skip\", got {v}"),
            )
        })
    }
}

/// The most relevant action of a chunk none of whose actions reached the threshold (when
/// [`NoRelevantAction::Skip`] left the plan empty).
#[derive(Debug, Clone, PartialEq)]
pub struct BelowThreshold {
    /// The action that came closest (alphabetically first among equals).
    pub action: String,
    /// Its relevance.
    pub relevance: f64,
    /// The `actionThreshold` it missed.
    pub threshold: f64,
}

/// English function words ignored when matching descriptions.
const STOPWORDS: &[&str] = &[
    "the", "and", "for", "with", "that", "this", "from", "into", "what", "which", "when", "where",
    "about", "your", "their", "them", "then", "than", "have", "has", "are", "was", "were", "will",
    "would", "could", "should", "can", "its", "it's", "you", "our",
];

/// Lowercased alphanumeric words of `text`.
pub fn tokenize(text: &str) -> Vec<String> {
    text.split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '\''))
        .filter(|w| !w.is_empty())
        .map(|w| w.trim_matches('\'').to_lowercase())
        .filter(|w| !w.is_empty())
        .collect()
}

/// A ranked candidate action with the plan that would run it.
#[derive(Debug, Clone)]
pub struct PlanCandidate {
    /// The action the plan leads to.
    pub action: Arc<ActionSpec>,
    /// Relevance to the chunk in [0, 1].
    pub relevance: f64,
    /// Action names in execution order; the first is runnable now, the last is `action`.
    pub plan: Vec<String>,
}

/// The planner's answer for one chunk.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    /// Runnable candidates, most relevant first.
    pub candidates: Vec<PlanCandidate>,
    /// Relevant actions whose preconditions cannot be established, with the missing atoms.
    pub blocked: Vec<(String, Vec<String>)>,
    /// Set when no action reached the threshold and the planner was told to skip.
    pub below_threshold: Option<BelowThreshold>,
}

/// Ranks actions and chains preconditions; stateless and cheap to share.
#[derive(Debug, Clone)]
pub struct Planner {
    /// Minimum relevance for an action to be a candidate.
    pub threshold: f64,
    /// Longest precondition chain explored.
    pub max_depth: usize,
    /// What happens when no action reaches `threshold`.
    pub no_relevant: NoRelevantAction,
    /// Content words of each action description seen (descriptions are few and fixed, and
    /// tokenising one per action per chunk was a tenth of a step).
    description_words: Arc<DashMap<String, Arc<[String]>>>,
}

/// The description-word memo is cleared when it holds more descriptions than this.
const MAX_DESCRIPTIONS: usize = 4096;

/// Content words of a description: longer than three letters, not a stopword, deduplicated,
/// sorted.
fn content_words(description: &str) -> Arc<[String]> {
    let words: BTreeSet<String> = tokenize(description)
        .into_iter()
        .filter(|w| w.len() > 3 && !STOPWORDS.contains(&w.as_str()))
        .collect();
    words.into_iter().collect()
}

impl Planner {
    /// Builds a planner.
    pub fn new(threshold: f64, max_depth: usize) -> Self {
        Planner {
            threshold,
            max_depth: max_depth.max(1),
            no_relevant: NoRelevantAction::Choose,
            description_words: Arc::default(),
        }
    }

    /// The same planner with `mode` for chunks no action is relevant to.
    pub fn with_no_relevant(mut self, mode: NoRelevantAction) -> Self {
        self.no_relevant = mode;
        self
    }

    /// Relevance of `action` to a chunk with these words and entity types.
    pub fn relevance<S: BuildHasher>(
        &self,
        action: &ActionSpec,
        words: &HashSet<String, S>,
        entity_types: &HashSet<String, S>,
    ) -> f64 {
        let kw = if action.keywords.is_empty() {
            0.0
        } else {
            let hits = action
                .keywords
                .iter()
                .filter(|k| words.contains(k.as_str()) || entity_types.contains(k.as_str()))
                .count();
            (hits as f64 / action.keywords.len().min(2) as f64).min(1.0)
        };
        let desc_words = self.description_words(&action.description);
        let desc = if desc_words.is_empty() {
            0.0
        } else {
            let hits = desc_words
                .iter()
                .filter(|w| words.contains(w.as_str()))
                .count();
            (hits as f64 / desc_words.len().min(3) as f64).min(1.0)
        };
        0.75 * kw + 0.25 * desc
    }

    /// Plans for a chunk: candidates with relevance and runnable chains. `holds` tells whether
    /// a (normalised) precondition atom holds now.
    pub fn plan<S: BuildHasher>(
        &self,
        actions: &[Arc<ActionSpec>],
        words: &HashSet<String, S>,
        entity_types: &HashSet<String, S>,
        holds: &dyn Fn(&str) -> bool,
    ) -> Plan {
        let scored: Vec<(f64, &Arc<ActionSpec>)> = actions
            .iter()
            .map(|a| (self.relevance(a, words, entity_types), a))
            .collect();
        let any_pass = scored.iter().any(|(r, _)| *r >= self.threshold && *r > 0.0);
        let mut out = Plan::default();
        if !any_pass && self.no_relevant == NoRelevantAction::Skip {
            out.below_threshold = scored
                .iter()
                .min_by(|(ra, a), (rb, b)| rb.total_cmp(ra).then_with(|| a.name.cmp(&b.name)))
                .map(|(relevance, action)| BelowThreshold {
                    action: action.name.clone(),
                    relevance: *relevance,
                    threshold: self.threshold,
                });
            return out;
        }
        for (relevance, action) in scored {
            if any_pass && (relevance < self.threshold || relevance == 0.0) {
                continue;
            }
            let mut visiting = Vec::new();
            match self.chain(action, actions, holds, self.max_depth, &mut visiting) {
                Ok(plan) => out.candidates.push(PlanCandidate {
                    action: action.clone(),
                    relevance,
                    plan,
                }),
                Err(missing) => out.blocked.push((action.name.clone(), missing)),
            }
        }
        out.candidates.sort_by(|a, b| {
            b.relevance
                .total_cmp(&a.relevance)
                .then_with(|| a.action.name.cmp(&b.action.name))
        });
        out
    }

    /// The (memoised) content words of `description`.
    fn description_words(&self, description: &str) -> Arc<[String]> {
        if let Some(words) = self.description_words.get(description) {
            return words.clone();
        }
        if self.description_words.len() >= MAX_DESCRIPTIONS {
            self.description_words.clear();
        }
        let words = content_words(description);
        self.description_words
            .insert(description.to_string(), words.clone());
        words
    }

    /// The chain of actions that makes `target` runnable, or the atoms that cannot be established.
    fn chain(
        &self,
        target: &Arc<ActionSpec>,
        actions: &[Arc<ActionSpec>],
        holds: &dyn Fn(&str) -> bool,
        depth: usize,
        visiting: &mut Vec<String>,
    ) -> Result<Vec<String>, Vec<String>> {
        let missing: Vec<String> = target
            .preconditions
            .iter()
            .map(|p| normalize_atom(p))
            .filter(|p| !holds(p))
            .collect();
        if missing.is_empty() {
            return Ok(vec![target.name.clone()]);
        }
        if depth <= 1 || visiting.contains(&target.name) {
            return Err(missing);
        }
        visiting.push(target.name.clone());
        let mut plan: Vec<String> = Vec::new();
        let mut unmet = Vec::new();
        for atom in &missing {
            let provider = actions
                .iter()
                .filter(|a| a.name != target.name)
                .find_map(|a| {
                    let provides = a.effects.iter().any(|e| normalize_atom(e) == *atom);
                    if !provides {
                        return None;
                    }
                    self.chain(a, actions, holds, depth - 1, visiting).ok()
                });
            match provider {
                Some(steps) => {
                    for s in steps {
                        if !plan.contains(&s) {
                            plan.push(s);
                        }
                    }
                }
                None => unmet.push(atom.clone()),
            }
        }
        visiting.pop();
        if !unmet.is_empty() || plan.len() + 1 > self.max_depth {
            return Err(if unmet.is_empty() { missing } else { unmet });
        }
        plan.push(target.name.clone());
        Ok(plan)
    }
}
