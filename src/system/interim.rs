//! First versions of extraction and the knowledge graph, used by the engine until the full
//! `knowledge` module replaces them. Simple, but real: typed entities with stable ids and a
//! co-occurrence graph.

use dashmap::DashMap;
use serde::Serialize;

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
