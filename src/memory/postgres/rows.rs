//! Rows of the PostgreSQL bank read into the engine's records (the same records the SQLite bank
//! returns), and the column lists the queries select for them.

use pgvector::Vector;
use postgres::Row;

use crate::error::{Error, ErrorCode, Result};
use crate::memory::interop::{EmbeddingRow, LinkRow, PatternRow};
use crate::memory::records::{
    vector_to_blob, LearningRecord, MemoryOutcome, MemoryRecord, PatternData,
};
use crate::memory::schema::MEMORY_TYPE;

/// The columns [`record`] reads, in order.
pub const RECORD_COLUMNS: &str =
    "id, pattern_data, confidence, usage_count, created_at, last_used, model, dims";

/// The columns [`learning`] reads, in order.
pub const LEARNING_COLUMNS: &str =
    "id, pattern, outcome, reward, context, session, action, created_at_ms";

/// The columns [`pattern_row`] reads, in order.
pub const PATTERN_ROW_COLUMNS: &str = "id, pattern_data, confidence, usage_count, created_at, \
     last_used, model, dims, embedding, embedding_created_at";

/// A memory record from a row selected with [`RECORD_COLUMNS`].
pub fn record(row: &Row) -> Result<MemoryRecord> {
    let id: String = row.try_get(0)?;
    let text: String = row.try_get(1)?;
    let data: PatternData = serde_json::from_str(&text).map_err(|e| {
        Error::new(
            ErrorCode::InvalidJson,
            format!("memory '{id}' has unreadable pattern_data: {e}"),
        )
    })?;
    let dims: Option<i32> = row.try_get(7)?;
    Ok(MemoryRecord::from_parts(
        id,
        data,
        row.try_get(2)?,
        row.try_get(3)?,
        row.try_get(4)?,
        row.try_get(5)?,
        row.try_get(6)?,
        dims.map(|d| d.max(0) as usize),
    ))
}

/// A learning from a row selected with [`LEARNING_COLUMNS`].
pub fn learning(row: &Row) -> Result<LearningRecord> {
    let id: String = row.try_get(0)?;
    let context: Option<String> = row.try_get(4)?;
    let context = match context {
        Some(text) => Some(serde_json::from_str(&text).map_err(|e| {
            Error::new(
                ErrorCode::InvalidJson,
                format!("learning '{id}' has an unreadable context: {e}"),
            )
        })?),
        None => None,
    };
    Ok(LearningRecord {
        id,
        pattern: row.try_get(1)?,
        outcome: row.try_get(2)?,
        reward: row.try_get(3)?,
        context,
        session: row.try_get(5)?,
        action: row.try_get(6)?,
        created_at_ms: row.try_get(7)?,
    })
}

/// A memory as the interop layer moves it (raw `pattern_data`, LE f32 embedding bytes), from a
/// row selected with [`PATTERN_ROW_COLUMNS`].
pub fn pattern_row(row: &Row) -> Result<PatternRow> {
    let model: Option<String> = row.try_get(6)?;
    let dims: Option<i32> = row.try_get(7)?;
    let vector: Option<Vector> = row.try_get(8)?;
    let embedding = match (model, vector) {
        (Some(model), Some(v)) => Some(EmbeddingRow {
            model,
            dims: i64::from(dims.unwrap_or(v.as_slice().len() as i32)),
            vector: vector_to_blob(v.as_slice()),
            created_at: match row.try_get::<_, Option<String>>(9)? {
                Some(at) => at,
                None => row.try_get(4)?,
            },
        }),
        _ => None,
    };
    Ok(PatternRow {
        id: row.try_get(0)?,
        kind: MEMORY_TYPE.to_string(),
        pattern_data: row.try_get(1)?,
        confidence: row.try_get(2)?,
        usage_count: row.try_get(3)?,
        created_at: row.try_get(4)?,
        last_used: row.try_get(5)?,
        embedding,
    })
}

/// A link from `src, dst, relation, weight, created_at`.
pub fn link(row: &Row) -> Result<LinkRow> {
    Ok(LinkRow {
        src: row.try_get(0)?,
        dst: row.try_get(1)?,
        relation: row.try_get(2)?,
        weight: row.try_get(3)?,
        created_at: row.try_get(4)?,
    })
}

/// How an outcome is stored in the `outcome` column.
pub fn outcome_text(o: MemoryOutcome) -> &'static str {
    match o {
        MemoryOutcome::Success => "success",
        MemoryOutcome::Failure => "failure",
    }
}
