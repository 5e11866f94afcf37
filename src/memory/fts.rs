//! Full-text search (SQLite FTS5) over memories and learnings.
//!
//! `la_fts` holds one row per memory (title, description, content) and per learning (its
//! pattern as content). It is maintained by hand inside the transaction of every write;
//! `la_fts_refs` maps each item to its FTS row plus a change signature, so rows that
//! agentic-flow wrote to `patterns` directly are found and indexed by [`reconcile_memories`].
//!
//! User text never reaches the FTS5 query parser as syntax: it is split into words, each word
//! is double-quoted, and the words are OR-ed (ranked by bm25, so documents matching more words
//! come first).

use rusqlite::{params, Connection, OptionalExtension, Transaction};
use serde::{Deserialize, Serialize};

use super::clock::parse_datetime;
use super::records::PatternData;
use super::schema::MEMORY_TYPE;
use crate::error::{err, ErrorCode, Result};

/// Item kind stored in `la_fts.kind` for memories.
pub const KIND_MEMORY: &str = "memory";
/// Item kind stored in `la_fts.kind` for learnings.
pub const KIND_LEARNING: &str = "learning";

/// Most words of a query that are used.
const MAX_QUERY_TERMS: usize = 64;

/// Result order of [`super::ReasoningBank::query`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub enum QueryOrder {
    /// Best bm25 match first.
    #[default]
    Relevance,
    /// Highest value first (a learning's reward, a memory's confidence), then relevance.
    Reward,
}

/// Options of [`super::ReasoningBank::query`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct QueryOptions {
    /// Most hits returned (default 10, at most 1000).
    pub limit: usize,
    /// Only items created at or after this Unix time in milliseconds.
    pub since_ms: Option<i64>,
    /// Result order.
    pub order: QueryOrder,
}

impl Default for QueryOptions {
    fn default() -> Self {
        QueryOptions {
            limit: 10,
            since_ms: None,
            order: QueryOrder::Relevance,
        }
    }
}

/// One full-text hit.
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueryHit {
    /// `memory` or `learning`.
    #[cfg_attr(test, ts(type = "'memory' | 'learning'"))]
    pub kind: String,
    /// The item's id.
    pub id: String,
    /// A memory's title (empty for a learning).
    pub title: String,
    /// A memory's content or a learning's pattern.
    pub text: String,
    /// Relevance: the negated bm25 rank (higher is better).
    pub relevance: f64,
    /// A learning's reward or a memory's confidence.
    pub value: Option<f64>,
    /// Creation time, Unix milliseconds.
    pub created_at_ms: i64,
}

/// The words of a user's query (letters and digits; at most 64), as both full-text engines
/// (SQLite FTS5 here, PostgreSQL's text search in the PostgreSQL bank) search for them.
pub fn query_terms(text: &str) -> Vec<&str> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .take(MAX_QUERY_TERMS)
        .collect()
}

/// Turns user text into a safe FTS5 query (`"w1" OR "w2" ...`); `None` if it has no words.
pub fn escape_query(text: &str) -> Option<String> {
    let terms: Vec<String> = query_terms(text)
        .into_iter()
        .map(|w| format!("\"{}\"", w.replace('"', "\"\"")))
        .collect();
    if terms.is_empty() {
        None
    } else {
        Some(terms.join(" OR "))
    }
}

/// Checks a full-text query's text and limit (the same rules for both stores).
pub fn check_query(text: &str, opts: &QueryOptions) -> Result<()> {
    if text.trim().is_empty() {
        return err(
            ErrorCode::InvalidInput,
            "the query text is empty; pass some words to search for",
        );
    }
    if opts.limit == 0 || opts.limit > 1000 {
        return err(
            ErrorCode::InvalidInput,
            format!("limit must be between 1 and 1000, got {}", opts.limit),
        );
    }
    Ok(())
}

/// Indexes (or re-indexes) one item.
#[allow(clippy::too_many_arguments)]
pub fn upsert(
    tx: &Transaction<'_>,
    kind: &str,
    id: &str,
    title: &str,
    description: &str,
    content: &str,
    created_ms: i64,
    sig: &str,
) -> Result<()> {
    remove(tx, kind, id)?;
    tx.execute(
        "INSERT INTO la_fts (title, description, content, kind, ref_id, created_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![title, description, content, kind, id, created_ms],
    )?;
    let rowid = tx.last_insert_rowid();
    tx.execute(
        "INSERT INTO la_fts_refs (kind, ref_id, fts_rowid, sig) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT(kind, ref_id) DO UPDATE SET fts_rowid = excluded.fts_rowid, sig = excluded.sig",
        params![kind, id, rowid, sig],
    )?;
    Ok(())
}

/// Removes one item from the index (no-op if absent).
pub fn remove(tx: &Transaction<'_>, kind: &str, id: &str) -> Result<()> {
    let old: Option<i64> = tx
        .query_row(
            "SELECT fts_rowid FROM la_fts_refs WHERE kind = ?1 AND ref_id = ?2",
            params![kind, id],
            |r| r.get(0),
        )
        .optional()?;
    if let Some(rowid) = old {
        tx.execute("DELETE FROM la_fts WHERE rowid = ?1", [rowid])?;
        tx.execute(
            "DELETE FROM la_fts_refs WHERE kind = ?1 AND ref_id = ?2",
            params![kind, id],
        )?;
    }
    Ok(())
}

/// The change signature of a `patterns` row: `length(pattern_data):created_at`.
pub fn memory_sig(pattern_data: &str, created_at: &str) -> String {
    format!("{}:{}", pattern_data.len(), created_at)
}

/// SQL expression computing [`memory_sig`] for a `patterns` row aliased `p`.
const SIG_SQL: &str = "length(CAST(p.pattern_data AS BLOB)) || ':' || p.created_at";

/// Indexes a memory row from its `pattern_data` text.
pub fn upsert_memory_row(
    tx: &Transaction<'_>,
    id: &str,
    pattern_data: &str,
    created_at: &str,
) -> Result<()> {
    let data: PatternData = serde_json::from_str(pattern_data).unwrap_or_default();
    let created_ms = parse_datetime(created_at).unwrap_or(0);
    upsert(
        tx,
        KIND_MEMORY,
        id,
        &data.title,
        &data.description,
        &data.content,
        created_ms,
        &memory_sig(pattern_data, created_at),
    )
}

/// Re-indexes memory rows changed outside this engine (e.g. by agentic-flow) and drops index
/// rows of deleted memories. Returns how many items were fixed. Read-only when nothing changed.
pub fn reconcile_memories(conn: &mut Connection) -> Result<usize> {
    let stale: Vec<(String, String, String)> = {
        let mut stmt = conn.prepare(&format!(
            "SELECT p.id, p.pattern_data, p.created_at FROM patterns p
             LEFT JOIN la_fts_refs r ON r.kind = 'memory' AND r.ref_id = p.id
             WHERE p.type = ?1 AND (r.ref_id IS NULL OR r.sig <> {SIG_SQL})"
        ))?;
        let rows = stmt.query_map([MEMORY_TYPE], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        rows.collect::<std::result::Result<_, _>>()?
    };
    let gone: Vec<String> = {
        let mut stmt = conn.prepare(
            "SELECT r.ref_id FROM la_fts_refs r LEFT JOIN patterns p ON p.id = r.ref_id AND p.type = ?1
             WHERE r.kind = 'memory' AND p.id IS NULL",
        )?;
        let rows = stmt.query_map([MEMORY_TYPE], |r| r.get(0))?;
        rows.collect::<std::result::Result<_, _>>()?
    };
    if stale.is_empty() && gone.is_empty() {
        return Ok(0);
    }
    let tx = conn.transaction()?;
    for (id, data, created) in &stale {
        upsert_memory_row(&tx, id, data, created)?;
    }
    for id in &gone {
        remove(&tx, KIND_MEMORY, id)?;
    }
    tx.commit()?;
    Ok(stale.len() + gone.len())
}

/// Runs a full-text query.
pub fn search(conn: &Connection, text: &str, opts: &QueryOptions) -> Result<Vec<QueryHit>> {
    check_query(text, opts)?;
    let Some(fts_query) = escape_query(text) else {
        return Ok(Vec::new());
    };
    let order = match opts.order {
        QueryOrder::Relevance => "rank",
        QueryOrder::Reward => "value IS NULL, value DESC, rank",
    };
    let sql = format!(
        "SELECT la_fts.kind, la_fts.ref_id, la_fts.title, la_fts.content, la_fts.created_ms, bm25(la_fts) AS rank,
                CASE la_fts.kind WHEN 'learning' THEN l.reward ELSE p.confidence END AS value
         FROM la_fts
         LEFT JOIN la_learnings l ON la_fts.kind = 'learning' AND l.id = la_fts.ref_id
         LEFT JOIN patterns p ON la_fts.kind = 'memory' AND p.id = la_fts.ref_id
         WHERE la_fts MATCH ?1 AND (?2 IS NULL OR la_fts.created_ms >= ?2)
         ORDER BY {order} LIMIT ?3"
    );
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map(params![fts_query, opts.since_ms, opts.limit as i64], |r| {
        Ok(QueryHit {
            kind: r.get(0)?,
            id: r.get(1)?,
            title: r.get(2)?,
            text: r.get(3)?,
            created_at_ms: r.get(4)?,
            relevance: -r.get::<_, f64>(5)?,
            value: r.get(6)?,
        })
    })?;
    Ok(rows.collect::<std::result::Result<_, _>>()?)
}
