//! Reasoning memories and learnings: the records the bank stores.
//!
//! A memory is stored as an agentic-flow `patterns` row of type `reasoning_memory`, whose
//! `pattern_data` JSON follows agentic-flow's `ReasoningMemory` shape ([`PatternData`],
//! snake_case keys); unknown keys written by other tools are kept untouched. The public records
//! ([`MemoryRecord`], [`LearningRecord`]) are camelCase for JS.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::{err, ErrorCode, Result};

/// The longest accepted id, in bytes.
pub const MAX_ID_LEN: usize = 256;

/// The outcome of the task a memory was distilled from.
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub enum MemoryOutcome {
    /// The task succeeded: the memory is a strategy to repeat.
    #[default]
    Success,
    /// The task failed: the memory is a pitfall to avoid.
    Failure,
}

impl MemoryOutcome {
    /// Reads agentic-flow's spelling (case-insensitive); anything else is `None`.
    pub fn parse(text: &str) -> Option<MemoryOutcome> {
        match text.to_ascii_lowercase().as_str() {
            "success" => Some(MemoryOutcome::Success),
            "failure" => Some(MemoryOutcome::Failure),
            _ => None,
        }
    }
}

/// `pattern_data.source` in agentic-flow's shape.
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct PatternSource {
    /// The task the memory came from.
    #[serde(default)]
    pub task_id: Option<String>,
    /// The agent that ran the task.
    #[serde(default)]
    pub agent_id: Option<String>,
    /// How the task ended.
    #[serde(default)]
    pub outcome: MemoryOutcome,
    /// Evidence items (free JSON).
    #[serde(default)]
    pub evidence: Vec<Value>,
    /// Keys this engine does not know, kept as they were.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `patterns.pattern_data` of a `reasoning_memory` row, as agentic-flow writes it.
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct PatternData {
    /// Short title.
    #[serde(default)]
    pub title: String,
    /// One-line description.
    #[serde(default)]
    pub description: String,
    /// The strategy or pitfall itself.
    #[serde(default)]
    pub content: String,
    /// Where it came from.
    #[serde(default)]
    pub source: PatternSource,
    /// Free tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Domain label used by the retrieval filter.
    #[serde(default)]
    pub domain: Option<String>,
    /// ISO-8601 creation time.
    #[serde(default)]
    pub created_at: Option<String>,
    /// Confidence copy (the row's column is authoritative).
    #[serde(default)]
    pub confidence: Option<f64>,
    /// Use count copy (the row's `usage_count` is authoritative).
    #[serde(default)]
    pub n_uses: Option<i64>,
    /// Keys this engine does not know, kept as they were.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// What a caller passes to [`super::ReasoningBank::store`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct MemoryInput {
    /// Id to create or update; generated (uuid v4) when absent.
    pub id: Option<String>,
    /// Short title (required, non-blank).
    pub title: String,
    /// One-line description.
    pub description: String,
    /// The strategy or pitfall.
    pub content: String,
    /// Outcome of the source task (default `Success`).
    pub outcome: MemoryOutcome,
    /// Source task id.
    pub task_id: Option<String>,
    /// Source agent id.
    pub agent_id: Option<String>,
    /// Evidence items.
    pub evidence: Vec<Value>,
    /// Tags.
    pub tags: Vec<String>,
    /// Domain label.
    pub domain: Option<String>,
    /// Confidence in `[0, 1]`; default 0.5 (agentic-flow's column default) when absent. An
    /// explicit JSON `null` is refused: `JSON.stringify` turns `NaN` and `Infinity` into
    /// `null`, and they must not silently become the default.
    #[serde(deserialize_with = "present_number")]
    pub confidence: Option<f64>,
    /// A caller-computed embedding (any dimension, the same for the whole store); computed by
    /// the built-in hash embedder from title, description and content when absent.
    pub embedding: Option<Vec<f32>>,
}

/// Reads a field that may be absent (`#[serde(default)]` gives `None`) but, when present,
/// must be a number: `null` is the JSON form of `NaN`/`Infinity` after `JSON.stringify`.
fn present_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    match Option::<f64>::deserialize(d)? {
        Some(v) => Ok(Some(v)),
        None => Err(serde::de::Error::custom(
            "confidence is null (NaN and Infinity become null in JSON); pass a number in [0, 1] or omit it",
        )),
    }
}

/// The source of a stored memory.
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MemorySource {
    /// Source task id.
    pub task_id: Option<String>,
    /// Source agent id.
    pub agent_id: Option<String>,
    /// Outcome of the task.
    pub outcome: MemoryOutcome,
    /// Evidence items.
    pub evidence: Vec<Value>,
}

/// A stored memory as returned to callers.
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MemoryRecord {
    /// The id (`patterns.id`).
    pub id: String,
    /// Title.
    pub title: String,
    /// Description.
    pub description: String,
    /// Content.
    pub content: String,
    /// Source task, agent, outcome and evidence.
    pub source: MemorySource,
    /// Tags.
    pub tags: Vec<String>,
    /// Domain.
    pub domain: Option<String>,
    /// Confidence (`patterns.confidence`).
    pub confidence: f64,
    /// How often retrieval returned it (`patterns.usage_count`).
    pub usage_count: i64,
    /// Creation time, SQLite form `YYYY-MM-DD HH:MM:SS` UTC (`patterns.created_at`).
    pub created_at: String,
    /// Last retrieval time, same form, if any.
    pub last_used: Option<String>,
    /// Embedding model name, if the memory has an embedding.
    pub embedding_model: Option<String>,
    /// Embedding dimension, if the memory has an embedding.
    pub embedding_dims: Option<usize>,
}

impl MemoryRecord {
    /// Builds a record from a row's columns and its parsed `pattern_data`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn from_parts(
        id: String,
        data: PatternData,
        confidence: f64,
        usage_count: i64,
        created_at: String,
        last_used: Option<String>,
        embedding_model: Option<String>,
        embedding_dims: Option<usize>,
    ) -> MemoryRecord {
        MemoryRecord {
            id,
            title: data.title,
            description: data.description,
            content: data.content,
            source: MemorySource {
                task_id: data.source.task_id,
                agent_id: data.source.agent_id,
                outcome: data.source.outcome,
                evidence: data.source.evidence,
            },
            tags: data.tags,
            domain: data.domain,
            confidence,
            usage_count,
            created_at,
            last_used,
            embedding_model,
            embedding_dims,
        }
    }
}

/// What a caller passes to [`super::ReasoningBank::store_learning`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct LearningInput {
    /// Id to create or update; generated when absent.
    pub id: Option<String>,
    /// The pattern learned (required, non-blank; full-text indexed).
    pub pattern: String,
    /// The outcome label (required, non-blank), e.g. `success`.
    pub outcome: String,
    /// The reward (finite).
    pub reward: f64,
    /// Free JSON context.
    pub context: Option<Value>,
    /// Session id.
    pub session: Option<String>,
    /// Action name.
    pub action: Option<String>,
}

impl LearningInput {
    /// The record this input stores under `id`, created at `created_at_ms`.
    pub fn to_record(&self, id: String, created_at_ms: i64) -> LearningRecord {
        LearningRecord {
            id,
            pattern: self.pattern.clone(),
            outcome: self.outcome.clone(),
            reward: self.reward,
            context: self.context.clone(),
            session: self.session.clone(),
            action: self.action.clone(),
            created_at_ms,
        }
    }
}

/// A stored learning.
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LearningRecord {
    /// Stable id (`la_learnings.id`).
    pub id: String,
    /// What was learned about, e.g. `tool/Bash` or `workflow/deploy`.
    pub pattern: String,
    /// The outcome label.
    pub outcome: String,
    /// The reward observed (finite).
    pub reward: f64,
    /// Free JSON context.
    pub context: Option<Value>,
    /// Session id.
    pub session: Option<String>,
    /// Action name.
    pub action: Option<String>,
    /// Creation time, Unix milliseconds.
    pub created_at_ms: i64,
}

/// Numbers of stored items.
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct BankCounts {
    /// Reasoning memories (`patterns` rows of type `reasoning_memory`).
    pub memories: usize,
    /// Learnings.
    pub learnings: usize,
}

/// A fresh random id in uuid v4 form.
pub fn new_id() -> String {
    let mut bytes: [u8; 16] = rand::random();
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let h = hex::encode(bytes);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// Checks a caller-given id (non-blank, at most [`MAX_ID_LEN`] bytes).
pub fn check_id(id: &str, what: &str) -> Result<()> {
    if id.trim().is_empty() {
        return err(
            ErrorCode::InvalidInput,
            format!("{what} is empty; pass a non-empty id or omit it to generate one"),
        );
    }
    if id.len() > MAX_ID_LEN {
        return err(
            ErrorCode::InvalidInput,
            format!(
                "{what} is {} bytes long; the limit is {MAX_ID_LEN}",
                id.len()
            ),
        );
    }
    Ok(())
}

/// Checks that every value of an embedding is finite and that it is not empty.
pub fn check_embedding(v: &[f32], what: &str) -> Result<()> {
    if v.is_empty() {
        return err(
            ErrorCode::InvalidInput,
            format!("{what} is empty; pass a non-empty vector or omit it"),
        );
    }
    if let Some(i) = v.iter().position(|x| !x.is_finite()) {
        return err(
            ErrorCode::InvalidInput,
            format!("{what}[{i}] is not a finite number"),
        );
    }
    Ok(())
}

/// Encodes a vector as agentic-flow does: raw little-endian f32, no header.
pub fn vector_to_blob(v: &[f32]) -> Vec<u8> {
    let mut out = Vec::with_capacity(v.len() * 4);
    for x in v {
        out.extend_from_slice(&x.to_le_bytes());
    }
    out
}

/// Decodes a raw little-endian f32 blob; `None` when its length is not a multiple of 4.
pub fn blob_to_vector(blob: &[u8]) -> Option<Vec<f32>> {
    if !blob.len().is_multiple_of(4) {
        return None;
    }
    Some(
        blob.chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect(),
    )
}
