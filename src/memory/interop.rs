//! Moving memories in and out: JSON documents and agentic-flow `memory.db` files.
//!
//! Both directions copy rows as they are — ids, `created_at`/`last_used` (SQLite
//! `YYYY-MM-DD HH:MM:SS` form), confidence, usage counts, the raw `pattern_data` JSON and the
//! raw little-endian f32 embedding blobs — with `INSERT ... ON CONFLICT DO UPDATE`, so running
//! an import or export twice changes nothing the second time.
//!
//! The JSON document is
//! `{format: "lean-agentic-memory", version: 1, memories: [...], learnings: [...], links: [...]}`
//! with memories as `{id, type, patternData, confidence, usageCount, createdAt, lastUsed,
//! embedding: {model, dims, vector: [numbers]} | null}`.

use std::path::PathBuf;

use rusqlite::{params, Connection, Transaction};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::clock::{now_ms, parse_datetime, sqlite_datetime};
use super::file_claims::FileClaim;
use super::fts::{self, KIND_LEARNING};
use super::records::{blob_to_vector, vector_to_blob, LearningRecord, MAX_ID_LEN};
use super::schema::{self, MEMORY_TYPE};
use super::store::open_connection;
use crate::error::{err, Error, ErrorCode, Result};

/// The `format` tag of exported JSON documents.
pub const JSON_FORMAT: &str = "lean-agentic-memory";

/// What an import wrote.
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ImportReport {
    /// Memories created or updated.
    pub memories: usize,
    /// Embeddings created or updated.
    pub embeddings: usize,
    /// Learnings created or updated.
    pub learnings: usize,
    /// Links created or updated.
    pub links: usize,
    /// Items skipped (unreadable embedding blobs, links to missing memories).
    pub skipped: usize,
    /// Memories and learnings evicted because the import went over a cap (the bank's `evict`
    /// event lists them).
    pub evicted: usize,
}

/// What an export wrote.
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ExportReport {
    /// The database written.
    pub path: String,
    /// Memories written.
    pub memories: usize,
    /// Embeddings written.
    pub embeddings: usize,
    /// Links written.
    pub links: usize,
}

/// agentic-flow's database path: `CLAUDE_FLOW_DB_PATH`, else `<cwd>/.swarm/memory.db`.
pub fn default_agentic_flow_db_path() -> String {
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    resolve_agentic_flow_db_path(std::env::var("CLAUDE_FLOW_DB_PATH").ok().as_deref(), &cwd)
}

/// The rule of [`default_agentic_flow_db_path`] on explicit inputs: a non-blank
/// `CLAUDE_FLOW_DB_PATH` value wins, else `<cwd>/.swarm/memory.db`.
pub fn resolve_agentic_flow_db_path(env_value: Option<&str>, cwd: &std::path::Path) -> String {
    match env_value {
        Some(p) if !p.trim().is_empty() => p.to_string(),
        _ => cwd
            .join(".swarm")
            .join("memory.db")
            .to_string_lossy()
            .into_owned(),
    }
}

/// An embedding row.
#[derive(Debug, Clone, PartialEq)]
pub struct EmbeddingRow {
    /// `model`.
    pub model: String,
    /// `dims`.
    pub dims: i64,
    /// `vector` (raw LE f32).
    pub vector: Vec<u8>,
    /// `created_at`.
    pub created_at: String,
}

/// A `patterns` row of type `reasoning_memory` with its embedding.
#[derive(Debug, Clone, PartialEq)]
pub struct PatternRow {
    /// `id`.
    pub id: String,
    /// `type`.
    pub kind: String,
    /// `pattern_data` (raw JSON text).
    pub pattern_data: String,
    /// `confidence`.
    pub confidence: f64,
    /// `usage_count`.
    pub usage_count: i64,
    /// `created_at`.
    pub created_at: String,
    /// `last_used`.
    pub last_used: Option<String>,
    /// The embedding, if any.
    pub embedding: Option<EmbeddingRow>,
}

/// A `pattern_links` row.
#[derive(Debug, Clone, PartialEq)]
pub struct LinkRow {
    /// `src_id`.
    pub src: String,
    /// `dst_id`.
    pub dst: String,
    /// `relation`.
    pub relation: String,
    /// `weight`.
    pub weight: f64,
    /// `created_at`.
    pub created_at: String,
}

/// Reads every reasoning memory with its embedding.
pub fn read_memory_rows(conn: &Connection) -> Result<Vec<PatternRow>> {
    Ok(read_memory_page(conn, 0, -1)?.0)
}

/// Reads up to `limit` reasoning memories (all with a negative limit) stored after rowid
/// `after`, in rowid order; returns them and the last rowid read (`after` when none).
pub fn read_memory_page(
    conn: &Connection,
    after: i64,
    limit: i64,
) -> Result<(Vec<PatternRow>, i64)> {
    let mut stmt = conn.prepare_cached(
        "SELECT p.id, p.type, p.pattern_data, p.confidence, p.usage_count, p.created_at, p.last_used,
                e.model, e.dims, e.vector, e.created_at, p.rowid
         FROM patterns p LEFT JOIN pattern_embeddings e ON e.id = p.id
         WHERE p.type = ?1 AND p.rowid > ?2 ORDER BY p.rowid LIMIT ?3",
    )?;
    let mut last = after;
    let rows = stmt.query_map(params![MEMORY_TYPE, after, limit], |r| {
        let model: Option<String> = r.get(7)?;
        let embedding = match model {
            Some(model) => Some(EmbeddingRow {
                model,
                dims: r.get(8)?,
                vector: r.get(9)?,
                created_at: r.get(10)?,
            }),
            None => None,
        };
        Ok((
            PatternRow {
                id: r.get(0)?,
                kind: r.get(1)?,
                pattern_data: r.get(2)?,
                confidence: r.get(3)?,
                usage_count: r.get(4)?,
                created_at: r.get(5)?,
                last_used: r.get(6)?,
                embedding,
            },
            r.get::<_, i64>(11)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (row, rowid) = row?;
        last = rowid;
        out.push(row);
    }
    Ok((out, last))
}

/// Reads the links whose both ends are reasoning memories.
pub fn read_links(conn: &Connection) -> Result<Vec<LinkRow>> {
    let mut stmt = conn.prepare(
        "SELECT l.src_id, l.dst_id, l.relation, l.weight, l.created_at FROM pattern_links l
         JOIN patterns a ON a.id = l.src_id AND a.type = ?1
         JOIN patterns b ON b.id = l.dst_id AND b.type = ?1
         ORDER BY l.rowid",
    )?;
    let rows = stmt.query_map([MEMORY_TYPE], |r| {
        Ok(LinkRow {
            src: r.get(0)?,
            dst: r.get(1)?,
            relation: r.get(2)?,
            weight: r.get(3)?,
            created_at: r.get(4)?,
        })
    })?;
    Ok(rows.collect::<std::result::Result<_, _>>()?)
}

/// Reads every learning.
pub fn read_learnings(conn: &Connection) -> Result<Vec<LearningRecord>> {
    let mut stmt = conn.prepare("SELECT id, pattern, outcome, reward, context, session, action, created_at_ms FROM la_learnings ORDER BY rowid")?;
    let rows = stmt.query_map([], learning_from_row)?;
    let mut out = Vec::new();
    for row in rows {
        out.push(row??);
    }
    Ok(out)
}

/// Builds a [`LearningRecord`] from a `la_learnings` row (columns in table order).
pub fn learning_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Result<LearningRecord>> {
    let context: Option<String> = r.get(4)?;
    let id: String = r.get(0)?;
    let context = match context {
        Some(text) => match serde_json::from_str(&text) {
            Ok(v) => Some(v),
            Err(e) => {
                return Ok(Err(Error::new(
                    ErrorCode::InvalidJson,
                    format!("learning '{id}' has an unreadable context: {e}"),
                )))
            }
        },
        None => None,
    };
    Ok(Ok(LearningRecord {
        id,
        pattern: r.get(1)?,
        outcome: r.get(2)?,
        reward: r.get(3)?,
        context,
        session: r.get(5)?,
        action: r.get(6)?,
        created_at_ms: r.get(7)?,
    }))
}

/// Writes memory rows (and their embeddings) as they are. `into_store`: the target is the
/// engine's own store — rows are indexed for full-text search, and the rows this write creates
/// are recorded as the engine's (`la_owned_memories`; rows that existed keep their owner).
/// Returns `(memories, embeddings)` written.
pub fn write_memory_rows(
    tx: &Transaction<'_>,
    rows: &[PatternRow],
    into_store: bool,
) -> Result<(usize, usize)> {
    let mut embeddings = 0;
    for row in rows {
        let created = into_store && !row_exists(tx, &row.id)?;
        tx.execute(
            "INSERT INTO patterns (id, type, pattern_data, confidence, usage_count, created_at, last_used)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT(id) DO UPDATE SET type = excluded.type, pattern_data = excluded.pattern_data,
               confidence = excluded.confidence, usage_count = excluded.usage_count,
               created_at = excluded.created_at, last_used = excluded.last_used",
            params![row.id, row.kind, row.pattern_data, row.confidence, row.usage_count, row.created_at, row.last_used],
        )?;
        if let Some(e) = &row.embedding {
            tx.execute(
                "INSERT INTO pattern_embeddings (id, model, dims, vector, created_at) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT(id) DO UPDATE SET model = excluded.model, dims = excluded.dims,
                   vector = excluded.vector, created_at = excluded.created_at",
                params![row.id, e.model, e.dims, e.vector, e.created_at],
            )?;
            embeddings += 1;
        }
        if created {
            mark_owned(tx, &row.id)?;
        }
        if into_store {
            fts::upsert_memory_row(tx, &row.id, &row.pattern_data, &row.created_at)?;
        }
    }
    Ok((rows.len(), embeddings))
}

/// Whether a `patterns` row with this id exists.
pub fn row_exists(conn: &Connection, id: &str) -> Result<bool> {
    Ok(conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM patterns WHERE id = ?1)",
        [id],
        |r| r.get(0),
    )?)
}

/// Records that the engine created the `patterns` row `id` (see `schema.rs`).
pub fn mark_owned(conn: &Connection, id: &str) -> Result<()> {
    conn.execute(
        "INSERT OR IGNORE INTO la_owned_memories (id) VALUES (?1)",
        [id],
    )?;
    Ok(())
}

/// Writes links whose both ends exist; returns `(written, skipped)`.
pub fn write_links(tx: &Transaction<'_>, links: &[LinkRow]) -> Result<(usize, usize)> {
    let mut written = 0;
    let mut skipped = 0;
    for l in links {
        let both: i64 = tx.query_row(
            "SELECT (SELECT count(*) FROM patterns WHERE id = ?1) + (SELECT count(*) FROM patterns WHERE id = ?2)",
            params![l.src, l.dst],
            |r| r.get(0),
        )?;
        if both < 2 {
            skipped += 1;
            continue;
        }
        tx.execute(
            "INSERT INTO pattern_links (src_id, dst_id, relation, weight, created_at) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT(src_id, dst_id, relation) DO UPDATE SET weight = excluded.weight, created_at = excluded.created_at",
            params![l.src, l.dst, l.relation, l.weight, l.created_at],
        )?;
        written += 1;
    }
    Ok((written, skipped))
}

/// Writes learnings as they are (upsert by id), indexing them for full-text search.
pub fn write_learnings(tx: &Transaction<'_>, learnings: &[LearningRecord]) -> Result<usize> {
    for l in learnings {
        let context = l.context.as_ref().map(|c| c.to_string());
        tx.execute(
            "INSERT INTO la_learnings (id, pattern, outcome, reward, context, session, action, created_at_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
             ON CONFLICT(id) DO UPDATE SET pattern = excluded.pattern, outcome = excluded.outcome,
               reward = excluded.reward, context = excluded.context, session = excluded.session,
               action = excluded.action, created_at_ms = excluded.created_at_ms",
            params![l.id, l.pattern, l.outcome, l.reward, context, l.session, l.action, l.created_at_ms],
        )?;
        fts::upsert(
            tx,
            KIND_LEARNING,
            &l.id,
            "",
            "",
            &l.pattern,
            l.created_at_ms,
            "",
        )?;
    }
    Ok(learnings.len())
}

/// Checks that all embeddings have one dimension, equal to `store_dims` when that is non-zero.
/// Unreadable blobs are dropped (counted in the returned number).
pub fn check_embedding_dims(
    rows: &mut [PatternRow],
    store_dims: usize,
    source: &str,
) -> Result<usize> {
    let mut dims = store_dims;
    let mut dropped = 0;
    for row in rows.iter_mut() {
        let Some(e) = &row.embedding else { continue };
        let Some(v) = blob_to_vector(&e.vector) else {
            row.embedding = None;
            dropped += 1;
            continue;
        };
        if v.is_empty() || v.iter().any(|x| !x.is_finite()) {
            row.embedding = None;
            dropped += 1;
            continue;
        }
        if dims == 0 {
            dims = v.len();
        } else if v.len() != dims {
            return err(
                ErrorCode::EmbeddingDims,
                format!(
                    "memory '{}' in {source} has a {}-dimensional embedding but {}-dimensional ones are expected; \
                     a store holds embeddings of one model only",
                    row.id,
                    v.len(),
                    dims
                ),
            );
        }
    }
    Ok(dropped)
}

/// An open agentic-flow database: the connection, then the engine's claim on the file (field
/// order: the connection closes first). Refused with `ERR_STORE_IN_USE` while another SQLite
/// library in this process (agentic-flow's own) has the file open (see `file_claims`).
pub(crate) struct AgenticFlowDb {
    /// The connection.
    pub conn: Connection,
    _claim: Option<FileClaim>,
}

impl AgenticFlowDb {
    /// Checkpoints what this connection wrote (TRUNCATE) and closes it: closing alone leaves
    /// the WAL in place (no connection deletes it, see `store.rs`).
    pub fn close(self) -> Result<()> {
        self.conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        let AgenticFlowDb { conn, _claim } = self;
        conn.close().map_err(|(_, e)| Error::from(e))
    }
}

/// Opens a foreign agentic-flow database; `create` makes the file and its schema if missing.
pub(crate) fn open_agentic_flow(db_path: &str, create: bool) -> Result<AgenticFlowDb> {
    if db_path.trim().is_empty() {
        return err(
            ErrorCode::InvalidInput,
            "the agentic-flow database path is empty",
        );
    }
    if !create && db_path != ":memory:" && !std::path::Path::new(db_path).exists() {
        return err(
            ErrorCode::NotFound,
            format!(
                "no agentic-flow database at '{db_path}'; check the path or CLAUDE_FLOW_DB_PATH"
            ),
        );
    }
    let (conn, claim) = open_connection(db_path)?;
    let db = AgenticFlowDb {
        conn,
        _claim: claim,
    };
    let conn = &db.conn;
    if create {
        schema::create_agentic_flow(conn)?;
    } else {
        let has: i64 = conn.query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'patterns'",
            [],
            |r| r.get(0),
        )?;
        if has == 0 {
            return err(ErrorCode::InvalidInput, format!("'{db_path}' has no `patterns` table; it is not an agentic-flow memory database"));
        }
        let has_emb: i64 =
            conn.query_row("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'pattern_embeddings'", [], |r| r.get(0))?;
        if has_emb == 0 {
            schema::create_agentic_flow(conn)?;
        }
    }
    Ok(db)
}

// ---------- JSON ----------

/// Builds the JSON document of every memory, learning and link.
pub fn export_document(conn: &Connection) -> Result<Value> {
    document_json(
        &read_memory_rows(conn)?,
        &read_learnings(conn)?,
        &read_links(conn)?,
    )
}

/// The JSON document of these rows (`format: "lean-agentic-memory"`, version 1).
pub fn document_json(
    memories: &[PatternRow],
    learnings: &[LearningRecord],
    links: &[LinkRow],
) -> Result<Value> {
    let memories: Vec<Value> = memories
        .iter()
        .map(|row| {
            let data: Value = serde_json::from_str(&row.pattern_data).unwrap_or(Value::String(row.pattern_data.clone()));
            let embedding = match &row.embedding {
                Some(e) => match blob_to_vector(&e.vector) {
                    Some(v) => json!({"model": e.model, "dims": e.dims, "vector": v, "createdAt": e.created_at}),
                    None => Value::Null,
                },
                None => Value::Null,
            };
            json!({
                "id": row.id,
                "type": row.kind,
                "patternData": data,
                "confidence": row.confidence,
                "usageCount": row.usage_count,
                "createdAt": row.created_at,
                "lastUsed": row.last_used,
                "embedding": embedding,
            })
        })
        .collect();
    let learnings = serde_json::to_value(learnings)?;
    let links: Vec<Value> = links
        .iter()
        .map(|l| json!({"src": l.src, "dst": l.dst, "relation": l.relation, "weight": l.weight, "createdAt": l.created_at}))
        .collect();
    Ok(
        json!({"format": JSON_FORMAT, "version": 1, "memories": memories, "learnings": learnings, "links": links}),
    )
}

fn bad(path: &str, what: &str) -> Error {
    Error::new(ErrorCode::InvalidJson, format!("{path}: {what}"))
}

fn obj<'a>(v: &'a Value, path: &str) -> Result<&'a Map<String, Value>> {
    v.as_object().ok_or_else(|| bad(path, "expected an object"))
}

fn req_str(o: &Map<String, Value>, key: &str, path: &str) -> Result<String> {
    match o.get(key) {
        Some(Value::String(s)) => Ok(s.clone()),
        Some(_) => Err(bad(&format!("{path}.{key}"), "expected a string")),
        None => Err(bad(&format!("{path}.{key}"), "is missing")),
    }
}

fn opt_str(o: &Map<String, Value>, key: &str, path: &str) -> Result<Option<String>> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(bad(&format!("{path}.{key}"), "expected a string or null")),
    }
}

fn num(o: &Map<String, Value>, key: &str, path: &str, default: Option<f64>) -> Result<f64> {
    match o.get(key) {
        None | Some(Value::Null) => {
            default.ok_or_else(|| bad(&format!("{path}.{key}"), "is missing"))
        }
        Some(v) => match v.as_f64() {
            Some(x) if x.is_finite() => Ok(x),
            _ => Err(bad(&format!("{path}.{key}"), "expected a finite number")),
        },
    }
}

fn check_id_at(id: &str, path: &str) -> Result<()> {
    if id.trim().is_empty() || id.len() > MAX_ID_LEN {
        return Err(bad(
            path,
            &format!("expected a non-empty id of at most {MAX_ID_LEN} bytes"),
        ));
    }
    Ok(())
}

fn timestamp(o: &Map<String, Value>, key: &str, path: &str) -> Result<Option<String>> {
    let Some(text) = opt_str(o, key, path)? else {
        return Ok(None);
    };
    if parse_datetime(&text).is_none() {
        return Err(bad(
            &format!("{path}.{key}"),
            "expected a timestamp like 2025-01-31 12:00:00",
        ));
    }
    Ok(Some(text))
}

/// Parses one memory of a JSON document.
fn parse_memory(v: &Value, path: &str) -> Result<PatternRow> {
    let o = obj(v, path)?;
    let id = req_str(o, "id", path)?;
    check_id_at(&id, &format!("{path}.id"))?;
    let kind = opt_str(o, "type", path)?.unwrap_or_else(|| MEMORY_TYPE.to_string());
    if kind != MEMORY_TYPE {
        return Err(bad(
            &format!("{path}.type"),
            &format!("expected \"{MEMORY_TYPE}\""),
        ));
    }
    let data = o
        .get("patternData")
        .ok_or_else(|| bad(&format!("{path}.patternData"), "is missing"))?;
    let data_obj = obj(data, &format!("{path}.patternData"))?;
    req_str(data_obj, "title", &format!("{path}.patternData"))?;
    let confidence = num(o, "confidence", path, Some(0.5))?;
    let usage = num(o, "usageCount", path, Some(0.0))?;
    if usage < 0.0 || usage.fract() != 0.0 {
        return Err(bad(
            &format!("{path}.usageCount"),
            "expected a whole number >= 0",
        ));
    }
    let created_at = timestamp(o, "createdAt", path)?.unwrap_or_else(|| sqlite_datetime(now_ms()));
    let last_used = timestamp(o, "lastUsed", path)?;
    let embedding = match o.get("embedding") {
        None | Some(Value::Null) => None,
        Some(e) => {
            let epath = format!("{path}.embedding");
            let eo = obj(e, &epath)?;
            let model = req_str(eo, "model", &epath)?;
            let arr = eo
                .get("vector")
                .and_then(Value::as_array)
                .ok_or_else(|| bad(&format!("{epath}.vector"), "expected an array of numbers"))?;
            let mut vector = Vec::with_capacity(arr.len());
            for (i, x) in arr.iter().enumerate() {
                match x.as_f64() {
                    Some(f) if f.is_finite() && (f as f32).is_finite() => vector.push(f as f32),
                    _ => {
                        return Err(bad(
                            &format!("{epath}.vector[{i}]"),
                            "expected a finite number",
                        ))
                    }
                }
            }
            if vector.is_empty() {
                return Err(bad(&format!("{epath}.vector"), "is empty"));
            }
            let dims = num(eo, "dims", &epath, Some(vector.len() as f64))?;
            if dims != vector.len() as f64 {
                return Err(bad(
                    &format!("{epath}.dims"),
                    &format!("is {dims} but the vector has {} values", vector.len()),
                ));
            }
            let created = timestamp(eo, "createdAt", &epath)?.unwrap_or_else(|| created_at.clone());
            Some(EmbeddingRow {
                model,
                dims: vector.len() as i64,
                vector: vector_to_blob(&vector),
                created_at: created,
            })
        }
    };
    Ok(PatternRow {
        id,
        kind,
        pattern_data: data.to_string(),
        confidence,
        usage_count: usage as i64,
        created_at,
        last_used,
        embedding,
    })
}

/// Parses one learning of a JSON document.
fn parse_learning(v: &Value, path: &str) -> Result<LearningRecord> {
    let o = obj(v, path)?;
    let id = req_str(o, "id", path)?;
    check_id_at(&id, &format!("{path}.id"))?;
    let pattern = req_str(o, "pattern", path)?;
    if pattern.trim().is_empty() {
        return Err(bad(&format!("{path}.pattern"), "is empty"));
    }
    let outcome = req_str(o, "outcome", path)?;
    let reward = num(o, "reward", path, None)?;
    let created = num(o, "createdAtMs", path, Some(now_ms() as f64))?;
    Ok(LearningRecord {
        id,
        pattern,
        outcome,
        reward,
        context: o.get("context").filter(|c| !c.is_null()).cloned(),
        session: opt_str(o, "session", path)?,
        action: opt_str(o, "action", path)?,
        created_at_ms: created as i64,
    })
}

/// Parses one link of a JSON document.
fn parse_link(v: &Value, path: &str) -> Result<LinkRow> {
    let o = obj(v, path)?;
    Ok(LinkRow {
        src: req_str(o, "src", path)?,
        dst: req_str(o, "dst", path)?,
        relation: req_str(o, "relation", path)?,
        weight: num(o, "weight", path, Some(1.0))?,
        created_at: timestamp(o, "createdAt", path)?.unwrap_or_else(|| sqlite_datetime(now_ms())),
    })
}

/// A validated JSON document, ready to write.
pub struct Document {
    /// Memories.
    pub memories: Vec<PatternRow>,
    /// Learnings.
    pub learnings: Vec<LearningRecord>,
    /// Links.
    pub links: Vec<LinkRow>,
}

/// Validates a JSON document; errors name the path of the first bad field.
pub fn parse_document(v: &Value) -> Result<Document> {
    let o = obj(v, "$")?;
    if let Some(f) = o.get("format") {
        if f.as_str() != Some(JSON_FORMAT) {
            return Err(bad("$.format", &format!("expected \"{JSON_FORMAT}\"")));
        }
    }
    let list = |key: &str| -> Result<&[Value]> {
        match o.get(key) {
            None | Some(Value::Null) => Ok(&[]),
            Some(Value::Array(a)) => Ok(a.as_slice()),
            Some(_) => Err(bad(&format!("$.{key}"), "expected an array")),
        }
    };
    let memories = list("memories")?
        .iter()
        .enumerate()
        .map(|(i, m)| parse_memory(m, &format!("$.memories[{i}]")))
        .collect::<Result<Vec<_>>>()?;
    let learnings = list("learnings")?
        .iter()
        .enumerate()
        .map(|(i, l)| parse_learning(l, &format!("$.learnings[{i}]")))
        .collect::<Result<Vec<_>>>()?;
    let links = list("links")?
        .iter()
        .enumerate()
        .map(|(i, l)| parse_link(l, &format!("$.links[{i}]")))
        .collect::<Result<Vec<_>>>()?;
    Ok(Document {
        memories,
        learnings,
        links,
    })
}
