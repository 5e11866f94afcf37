//! First versions of extraction, the knowledge graph and the learner, used by the engine
//! until the full `knowledge` and `learning` modules replace them. Simple, but real:
//! typed entities with stable ids, a co-occurrence graph, and a hashed linear learner whose
//! predictions move with reward.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};

use dashmap::DashMap;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;

use crate::error::{err, ErrorCode, Result};

/// An entity mention found in a chunk.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Entity {
    /// Stable id from type and normalised name.
    pub id: String,
    /// The name as written.
    pub name: String,
    /// The entity type.
    #[serde(rename = "type")]
    pub entity_type: String,
    /// Byte offset where the mention starts.
    pub start: usize,
    /// Byte offset where it ends.
    pub end: usize,
    /// Extraction confidence.
    pub confidence: f32,
}

/// Capitalised phrases (not sentence-initial) and numbers.
#[derive(Default)]
pub struct EntityExtractor;

impl EntityExtractor {
    /// Extracts entities from `text`.
    pub fn extract(&self, text: &str) -> Vec<Entity> {
        let mut out = Vec::new();
        let mut sentence_start = true;
        let mut i = 0;
        let words: Vec<(usize, &str)> = text
            .split_whitespace()
            .map(|w| (w.as_ptr() as usize - text.as_ptr() as usize, w))
            .collect();
        while i < words.len() {
            let (pos, w) = words[i];
            let core = w.trim_matches(|c: char| !c.is_alphanumeric());
            let starts_upper = core.chars().next().is_some_and(char::is_uppercase);
            if starts_upper && !sentence_start {
                let mut j = i;
                let mut end = pos + w.len();
                while j + 1 < words.len() {
                    let next = words[j + 1].1.trim_matches(|c: char| !c.is_alphanumeric());
                    if next.chars().next().is_some_and(char::is_uppercase)
                        && !words[j].1.ends_with(['.', ',', '?', '!'])
                    {
                        j += 1;
                        end = words[j].0
                            + words[j]
                                .1
                                .trim_end_matches(|c: char| !c.is_alphanumeric())
                                .len();
                    } else {
                        break;
                    }
                }
                let start = pos + w.find(core).unwrap_or(0);
                let end = end.max(start + core.len());
                let name = text[start..end]
                    .trim_end_matches(|c: char| !c.is_alphanumeric())
                    .to_string();
                out.push(entity(&name, "Concept", start, 0.6));
                i = j + 1;
            } else {
                if !core.is_empty() && core.chars().all(|c| c.is_ascii_digit()) {
                    let start = pos + w.find(core).unwrap_or(0);
                    out.push(entity(core, "Number", start, 0.95));
                }
                i += 1;
            }
            sentence_start = w.ends_with(['.', '?', '!']);
        }
        out
    }
}

fn entity(name: &str, ty: &str, start: usize, confidence: f32) -> Entity {
    let norm: String = name
        .to_lowercase()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join("_");
    Entity {
        id: format!("{}:{}", ty.to_lowercase(), norm),
        name: name.to_string(),
        entity_type: ty.to_string(),
        start,
        end: start + name.len(),
        confidence,
    }
}

/// Entities with mention counts and weighted co-occurrence edges.
#[derive(Default)]
pub struct KnowledgeGraph {
    nodes: DashMap<String, (Entity, u64)>,
    edges: DashMap<(String, String), f64>,
}

impl KnowledgeGraph {
    /// Adds a chunk's entities and their co-occurrences.
    pub fn ingest(&self, entities: &[Entity]) {
        for e in entities {
            self.nodes
                .entry(e.id.clone())
                .or_insert_with(|| (e.clone(), 0))
                .1 += 1;
        }
        for (i, a) in entities.iter().enumerate() {
            for b in &entities[i + 1..] {
                if a.id != b.id {
                    let key = if a.id < b.id {
                        (a.id.clone(), b.id.clone())
                    } else {
                        (b.id.clone(), a.id.clone())
                    };
                    *self.edges.entry(key).or_insert(0.0) += 1.0;
                }
            }
        }
    }
    /// Number of entities.
    pub fn entity_count(&self) -> usize {
        self.nodes.len()
    }
    /// Number of relations.
    pub fn relation_count(&self) -> usize {
        self.edges.len()
    }
}

/// Hashed context features.
#[derive(Debug, Clone, Default)]
pub struct ContextFeatures(Vec<u64>);

impl ContextFeatures {
    /// Features from words, entity types and preferences.
    pub fn new<'a>(
        words: impl Iterator<Item = &'a str>,
        types: impl Iterator<Item = &'a str>,
        prefs: &[(String, String)],
    ) -> Self {
        let mut f: Vec<u64> = words.map(|w| h(("w", w))).collect();
        f.extend(types.map(|t| h(("t", t))));
        f.extend(prefs.iter().map(|(k, v)| h(("p", k, v))));
        f.push(h("bias"));
        ContextFeatures(f)
    }
}

fn h<T: Hash>(t: T) -> u64 {
    let mut s = DefaultHasher::new();
    t.hash(&mut s);
    s.finish()
}

/// A linear reward model over context × action features with ε-greedy selection.
pub struct Learner {
    weights: DashMap<u64, f64>,
    lr: f64,
    epsilon: f64,
    seed: AtomicU64,
    /// Updates applied.
    pub iterations: AtomicU64,
}

/// The learner's pick.
pub struct Choice {
    /// Index into the candidates.
    pub index: usize,
    /// Probability the policy gave that index.
    pub propensity: f64,
    /// Whether it was an exploration step.
    pub explored: bool,
}

impl Learner {
    /// A learner with step size `lr` and exploration `epsilon`.
    pub fn new(lr: f64, epsilon: f64, seed: Option<u64>) -> Self {
        Learner {
            weights: DashMap::new(),
            lr,
            epsilon,
            seed: AtomicU64::new(seed.unwrap_or(0x5eed)),
            iterations: AtomicU64::new(0),
        }
    }
    /// Predicted reward of `action` in `ctx`.
    pub fn predict(&self, ctx: &ContextFeatures, action: &str) -> f64 {
        let a = h(action);
        ctx.0
            .iter()
            .map(|f| self.weights.get(&(f ^ a)).map(|w| *w).unwrap_or(0.0))
            .sum()
    }
    /// ε-greedy choice over `scores`.
    pub fn choose(&self, scores: &[f64]) -> Choice {
        let n = scores.len();
        let best = (0..n)
            .max_by(|&a, &b| scores[a].total_cmp(&scores[b]).then(b.cmp(&a)))
            .unwrap_or(0);
        let mut rng = SmallRng::seed_from_u64(
            self.seed
                .fetch_add(0x9e37_79b9_7f4a_7c15, Ordering::Relaxed),
        );
        let eps = if n > 1 { self.epsilon } else { 0.0 };
        let explored = rng.gen::<f64>() < eps;
        let index = if explored { rng.gen_range(0..n) } else { best };
        let propensity = if index == best {
            1.0 - eps + eps / n as f64
        } else {
            eps / n as f64
        };
        Choice {
            index,
            propensity,
            explored,
        }
    }
    /// Moves the prediction for (ctx, action) towards `reward`.
    /// (The prior mean `base` is added to the learned part.)
    pub fn update(
        &self,
        ctx: &ContextFeatures,
        action: &str,
        base: f64,
        reward: f64,
    ) -> Result<()> {
        if !reward.is_finite() {
            return err(
                ErrorCode::InvalidReward,
                format!("reward must be a finite number, got {reward}"),
            );
        }
        let pred = base + self.predict(ctx, action);
        let g = (reward.clamp(-10.0, 10.0) - pred) * self.lr / ctx.0.len().max(1) as f64;
        let a = h(action);
        for f in &ctx.0 {
            *self.weights.entry(f ^ a).or_insert(0.0) += g;
        }
        self.iterations.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}
