//! What a `store` call writes, decided once for every backend.
//!
//! The SQLite bank and the PostgreSQL bank both turn a [`MemoryInput`] plus the row it updates
//! (if any) into the same `pattern_data`, confidence, creation time and embedding, so the two
//! stores hold identical records for identical calls (the parity the PostgreSQL tests check);
//! inputs are checked by the same functions too.

use super::clock::{iso_datetime, sqlite_datetime};
use super::config::RetrieveOptions;
use super::embed::{HashEmbedder, HASH_DIMS};
use super::records::{
    blob_to_vector, check_embedding, check_id, new_id, LearningInput, MemoryInput, PatternData,
    PatternSource,
};
use super::schema::HASH_MODEL;
use crate::error::{err, ErrorCode, Result};

/// The `model` recorded for caller-given embeddings when none is named.
pub const EXTERNAL_MODEL: &str = "external";

/// The columns of the memory a store call updates.
pub struct Existing {
    /// `pattern_data` text.
    pub pattern_data: String,
    /// `created_at`.
    pub created_at: String,
    /// `confidence`.
    pub confidence: f64,
    /// `usage_count`.
    pub usage_count: i64,
}

/// The row a store call writes.
pub struct Composed {
    /// The `pattern_data` JSON text.
    pub data_text: String,
    /// The parsed data (title, domain, agent, …; the PostgreSQL bank's columns).
    #[cfg_attr(target_family = "wasm", allow(dead_code))]
    pub data: PatternData,
    /// `confidence`.
    pub confidence: f64,
    /// `created_at` (kept from the existing row).
    pub created_at: String,
    /// The embedding.
    pub vector: Vec<f32>,
    /// Its model.
    pub model: String,
    /// Whether the embedding changed and must be written.
    pub write_vector: bool,
}

/// Checks a memory input; returns the id to write (generated when absent).
pub fn check_memory_input(m: &MemoryInput) -> Result<String> {
    if m.title.trim().is_empty() {
        return err(ErrorCode::InvalidInput, "a memory needs a non-empty title");
    }
    if let Some(c) = m.confidence {
        if !c.is_finite() || !(0.0..=1.0).contains(&c) {
            return err(
                ErrorCode::InvalidInput,
                format!("confidence must be a number in [0, 1], got {c}"),
            );
        }
    }
    if let Some(v) = &m.embedding {
        check_embedding(v, "embedding")?;
    }
    match &m.id {
        Some(id) => {
            check_id(id, "id")?;
            Ok(id.clone())
        }
        None => Ok(new_id()),
    }
}

/// Checks a learning input; returns the id to write (generated when absent).
pub fn check_learning_input(l: &LearningInput) -> Result<String> {
    if !l.reward.is_finite() {
        return err(
            ErrorCode::InvalidReward,
            format!("reward must be a finite number, got {}", l.reward),
        );
    }
    if l.pattern.trim().is_empty() {
        return err(
            ErrorCode::InvalidInput,
            "a learning needs a non-empty pattern",
        );
    }
    if l.outcome.trim().is_empty() {
        return err(
            ErrorCode::InvalidInput,
            "a learning needs a non-empty outcome",
        );
    }
    match &l.id {
        Some(id) => {
            check_id(id, "id")?;
            Ok(id.clone())
        }
        None => Ok(new_id()),
    }
}

/// The vector a retrieval searches with: the caller's `embedding`, else the built-in embedding
/// of the query text (which must not be blank).
pub fn query_vector(
    embedder: &HashEmbedder,
    query: &str,
    opts: &RetrieveOptions,
) -> Result<Vec<f32>> {
    match &opts.embedding {
        Some(v) => {
            check_embedding(v, "embedding")?;
            Ok(v.clone())
        }
        None => {
            if query.trim().is_empty() {
                return err(
                    ErrorCode::InvalidInput,
                    "the query is empty; pass some text or an embedding",
                );
            }
            Ok(embedder.embed(query))
        }
    }
}

/// How a store call's embedding is named in a dimension error: the caller's, or the built-in one.
pub fn embedding_source(m: &MemoryInput) -> String {
    if m.embedding.is_some() {
        "the embedding".to_string()
    } else {
        format!(
            "the built-in {HASH_DIMS}-dimensional embedding (pass `embedding` to use your model)"
        )
    }
}

/// The built-in embedding of a memory's title, description and content.
pub fn embed_memory(embedder: &HashEmbedder, m: &MemoryInput) -> Vec<f32> {
    embedder.embed(&format!("{}\n{}\n{}", m.title, m.description, m.content))
}

/// The row for `m` over `existing` (keys other tools wrote into `pattern_data` are kept, the
/// creation time and usage count too) and the embedding: the caller's, else a caller-made one
/// already stored (`old_embedding`: model and LE f32 bytes), else the built-in one.
pub fn compose(
    m: &MemoryInput,
    existing: Option<&Existing>,
    old_embedding: Option<(&str, &[u8])>,
    embedder: &HashEmbedder,
    now_ms: i64,
) -> Result<Composed> {
    let (vector, model, write_vector) = match &m.embedding {
        Some(v) => (v.clone(), EXTERNAL_MODEL.to_string(), true),
        None => match old_embedding
            .filter(|(model, _)| *model != HASH_MODEL)
            .and_then(|(model, blob)| blob_to_vector(blob).map(|v| (v, model)))
        {
            Some((v, model)) => (v, model.to_string(), false),
            None => (embed_memory(embedder, m), HASH_MODEL.to_string(), true),
        },
    };
    let old_data: Option<PatternData> =
        existing.and_then(|e| serde_json::from_str(&e.pattern_data).ok());
    let created_at = existing
        .map(|e| e.created_at.clone())
        .unwrap_or_else(|| sqlite_datetime(now_ms));
    let confidence = m
        .confidence
        .or(existing.map(|e| e.confidence))
        .unwrap_or(0.5);
    let usage = existing.map(|e| e.usage_count).unwrap_or(0);
    let data = PatternData {
        title: m.title.clone(),
        description: m.description.clone(),
        content: m.content.clone(),
        source: PatternSource {
            task_id: m.task_id.clone(),
            agent_id: m.agent_id.clone(),
            outcome: m.outcome,
            evidence: m.evidence.clone(),
            extra: old_data
                .as_ref()
                .map(|d| d.source.extra.clone())
                .unwrap_or_default(),
        },
        tags: m.tags.clone(),
        domain: m.domain.clone(),
        created_at: Some(
            old_data
                .as_ref()
                .and_then(|d| d.created_at.clone())
                .unwrap_or_else(|| iso_datetime(now_ms)),
        ),
        confidence: Some(confidence),
        n_uses: Some(usage),
        extra: old_data.map(|d| d.extra).unwrap_or_default(),
    };
    Ok(Composed {
        data_text: serde_json::to_string(&data)?,
        data,
        confidence,
        created_at,
        vector,
        model,
        write_vector,
    })
}
