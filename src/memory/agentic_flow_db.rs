//! agentic-flow's `reasoningbank/db/queries` functions, statement for statement, on the
//! engine's own connection to the same file.
//!
//! # Why
//! `lean-agentic-native/agentic-flow` offers agentic-flow's `db` functions so that switching is
//! a one-line import change. Their results must be agentic-flow's: the same rows, the same
//! side effects, the same criteria (`pruneOldMemories` deletes exactly what agentic-flow's
//! `DELETE` would). So each call here runs agentic-flow 2.1.3's SQL text unchanged
//! (`dist/reasoningbank/db/queries.js`), through the engine's SQLite rather than a second
//! SQLite library in the process (see `file_claims.rs` for why two libraries on one file
//! corrupt it). Only what JavaScript did around the SQL is redone here: parsing
//! `pattern_data`, decoding the embedding blob.
//!
//! Writes that change memories or their embeddings advance the store's memory epoch, so a
//! [`super::ReasoningBank`] on the same store reloads its in-memory index before its next read.
//!
//! Where agentic-flow would fail with a raw SQLite error (an embedding or link for a memory that
//! does not exist, a duplicate MaTTS run), the call fails with a coded error that says what to
//! do instead; nothing is written.

use std::sync::atomic::Ordering;

use rusqlite::types::Value as SqlValue;
use rusqlite::{params, Connection, OptionalExtension};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::records::{blob_to_vector, check_embedding, check_id, vector_to_blob};
use super::store::Store;
use crate::error::{err, Error, ErrorCode, Result};

/// The relations `storeLink` accepts (agentic-flow's `PatternLink['relation']`).
pub const LINK_RELATIONS: &[&str] = &["entails", "contradicts", "refines", "duplicate_of"];

/// One call of agentic-flow's `db` module (`{"op": "upsertMemory", ...fields}`; fields keep
/// agentic-flow's snake_case names).
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "op", rename_all = "camelCase", deny_unknown_fields)]
pub enum AgenticFlowCall {
    /// `fetchMemoryCandidates({domain, minConfidence})` (`minConfidence || 0.3` already applied).
    FetchMemoryCandidates {
        domain: Option<String>,
        min_confidence: f64,
    },
    /// `upsertMemory(memory)`; `pattern_data` is the `JSON.stringify`ed object.
    UpsertMemory {
        id: String,
        #[serde(rename = "type")]
        kind: String,
        pattern_data: String,
        confidence: f64,
        usage_count: i64,
    },
    /// `upsertEmbedding({id, model, dims, vector})`.
    UpsertEmbedding {
        id: String,
        model: String,
        dims: i64,
        vector: Vec<f32>,
    },
    /// `incrementUsage(memoryId)`.
    IncrementUsage { id: String },
    /// `storeTrajectory(trajectory)` (absent optional fields as null, as agentic-flow's `|| null`).
    StoreTrajectory {
        task_id: String,
        agent_id: String,
        query: String,
        trajectory_json: String,
        started_at: Option<String>,
        ended_at: Option<String>,
        judge_label: Option<String>,
        judge_conf: Option<f64>,
        judge_reasons: Option<String>,
        matts_run_id: Option<String>,
    },
    /// `storeMattsRun(run)`.
    StoreMattsRun {
        run_id: String,
        task_id: String,
        mode: String,
        k: i64,
        status: String,
        summary: Option<String>,
    },
    /// `logMetric(name, value)` (errors are swallowed, as agentic-flow does).
    LogMetric { name: String, value: f64 },
    /// `countNewMemoriesSinceConsolidation()`.
    CountNewMemoriesSinceConsolidation,
    /// `getAllActiveMemories()`.
    GetAllActiveMemories,
    /// `storeLink(srcId, dstId, relation, weight)`.
    StoreLink {
        src_id: String,
        dst_id: String,
        relation: String,
        weight: f64,
    },
    /// `getContradictions(memoryId)`.
    GetContradictions { id: String },
    /// `storeConsolidationRun(run)`.
    StoreConsolidationRun {
        run_id: String,
        items_processed: i64,
        duplicates_found: i64,
        contradictions_found: i64,
        items_pruned: i64,
        duration_ms: i64,
    },
    /// `pruneOldMemories({maxAgeDays, minConfidence})`.
    PruneOldMemories {
        max_age_days: f64,
        min_confidence: f64,
    },
}

/// Runs one call on `store`; the result is what agentic-flow's function returns (JSON `null`
/// for `void`).
pub fn run(store: &Store, call: AgenticFlowCall) -> Result<Value> {
    let changes_memories = matches!(
        call,
        AgenticFlowCall::UpsertMemory { .. }
            | AgenticFlowCall::UpsertEmbedding { .. }
            | AgenticFlowCall::IncrementUsage { .. }
            | AgenticFlowCall::PruneOldMemories { .. }
    );
    let out = store.with_conn(|conn| run_on(conn, call))?;
    if changes_memories {
        // A bank on this store sees the epoch move and reloads its index before its next read.
        store.memory_epoch().fetch_add(1, Ordering::SeqCst);
    }
    Ok(out)
}

fn finite(name: &str, v: f64) -> Result<()> {
    if !v.is_finite() {
        return err(
            ErrorCode::InvalidInput,
            format!("{name} must be a finite number, got {v}"),
        );
    }
    Ok(())
}

fn memory_exists(conn: &Connection, id: &str) -> Result<bool> {
    Ok(conn
        .query_row("SELECT 1 FROM patterns WHERE id = ?1", [id], |_| Ok(()))
        .optional()?
        .is_some())
}

fn require_memory(conn: &Connection, id: &str, what: &str) -> Result<()> {
    if !memory_exists(conn, id)? {
        return err(
            ErrorCode::NotFound,
            format!("{what}: no memory with id {id:?}; store it with db.upsertMemory first"),
        );
    }
    Ok(())
}

/// A `patterns` row as better-sqlite3 returns it, `pattern_data` parsed; `extra` columns
/// (the embedding, `age_days`) are added by the caller.
/// Refuses a run id that is already stored (`exists_sql` selects its row by `?1`) with a coded
/// error that says so.
fn refuse_stored_run(conn: &Connection, exists_sql: &str, what: &str, run_id: &str) -> Result<()> {
    let exists = conn
        .query_row(exists_sql, [run_id], |_| Ok(()))
        .optional()?
        .is_some();
    if exists {
        return err(
            ErrorCode::InvalidInput,
            format!("{what} with run_id {run_id:?} is already stored; use a new run_id"),
        );
    }
    Ok(())
}

fn pattern_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(Map<String, Value>, String)> {
    let mut m = Map::new();
    let id: String = r.get("id")?;
    m.insert("id".into(), Value::String(id.clone()));
    m.insert("type".into(), Value::String(r.get("type")?));
    let data: String = r.get("pattern_data")?;
    m.insert("pattern_data".into(), Value::String(data));
    m.insert("confidence".into(), json!(r.get::<_, f64>("confidence")?));
    m.insert("usage_count".into(), json!(r.get::<_, i64>("usage_count")?));
    m.insert("created_at".into(), Value::String(r.get("created_at")?));
    m.insert(
        "last_used".into(),
        r.get::<_, Option<String>>("last_used")?
            .map_or(Value::Null, Value::String),
    );
    Ok((m, id))
}

/// Replaces the `pattern_data` text by its parsed value (agentic-flow's `JSON.parse`).
fn parse_pattern_data(m: &mut Map<String, Value>, id: &str) -> Result<()> {
    let text = match m.get("pattern_data") {
        Some(Value::String(t)) => t.clone(),
        _ => return Ok(()),
    };
    let parsed: Value = serde_json::from_str(&text).map_err(|e| {
        Error::new(
            ErrorCode::InvalidJson,
            format!("pattern_data of memory {id:?} is not JSON ({e}); fix or delete that row"),
        )
    })?;
    m.insert("pattern_data".into(), parsed);
    Ok(())
}

fn run_on(conn: &mut Connection, call: AgenticFlowCall) -> Result<Value> {
    match call {
        AgenticFlowCall::FetchMemoryCandidates {
            domain,
            min_confidence,
        } => {
            finite("minConfidence", min_confidence)?;
            let mut sql = String::from(
                "
    SELECT
      p.*,
      pe.vector as embedding,
      CAST((julianday('now') - julianday(p.created_at)) AS INTEGER) as age_days
    FROM patterns p
    JOIN pattern_embeddings pe ON p.id = pe.id
    WHERE p.type = 'reasoning_memory'
      AND p.confidence >= ?
  ",
            );
            let mut args: Vec<SqlValue> = vec![SqlValue::Real(min_confidence)];
            if let Some(d) = domain {
                sql.push_str(" AND json_extract(p.pattern_data, '$.domain') = ?");
                args.push(SqlValue::Text(d));
            }
            sql.push_str(" ORDER BY p.confidence DESC, p.usage_count DESC");
            let mut stmt = conn.prepare(&sql)?;
            let mut rows = stmt.query(rusqlite::params_from_iter(args))?;
            let mut out = Vec::new();
            while let Some(r) = rows.next()? {
                let (mut m, id) = pattern_row(r)?;
                parse_pattern_data(&mut m, &id)?;
                let blob: Vec<u8> = r.get("embedding")?;
                let vector = blob_to_vector(&blob).ok_or_else(|| {
                    Error::new(
                        ErrorCode::StoreCorrupt,
                        format!(
                            "the embedding of memory {id:?} is {} bytes, not a whole number of float32 values",
                            blob.len()
                        ),
                    )
                })?;
                m.insert("embedding".into(), json!(vector));
                m.insert("age_days".into(), json!(r.get::<_, i64>("age_days")?));
                out.push(Value::Object(m));
            }
            Ok(Value::Array(out))
        }
        AgenticFlowCall::UpsertMemory {
            id,
            kind,
            pattern_data,
            confidence,
            usage_count,
        } => {
            check_id(&id, "the memory id")?;
            finite("confidence", confidence)?;
            conn.execute(
                "
    INSERT OR REPLACE INTO patterns (id, type, pattern_data, confidence, usage_count, created_at)
    VALUES (?, ?, ?, ?, ?, CURRENT_TIMESTAMP)
  ",
                params![id, kind, pattern_data, confidence, usage_count],
            )?;
            Ok(Value::String(id))
        }
        AgenticFlowCall::UpsertEmbedding {
            id,
            model,
            dims,
            vector,
        } => {
            check_embedding(&vector, "the embedding vector")?;
            require_memory(conn, &id, "upsertEmbedding")?;
            conn.execute(
                "
    INSERT OR REPLACE INTO pattern_embeddings (id, model, dims, vector, created_at)
    VALUES (?, ?, ?, ?, CURRENT_TIMESTAMP)
  ",
                params![id, model, dims, vector_to_blob(&vector)],
            )?;
            Ok(Value::Null)
        }
        AgenticFlowCall::IncrementUsage { id } => {
            conn.execute(
                "
    UPDATE patterns
    SET usage_count = usage_count + 1,
        last_used = CURRENT_TIMESTAMP
    WHERE id = ?
  ",
                [id],
            )?;
            Ok(Value::Null)
        }
        AgenticFlowCall::StoreTrajectory {
            task_id,
            agent_id,
            query,
            trajectory_json,
            started_at,
            ended_at,
            judge_label,
            judge_conf,
            judge_reasons,
            matts_run_id,
        } => {
            if let Some(c) = judge_conf {
                finite("judge_conf", c)?;
            }
            conn.execute(
                "
    INSERT OR REPLACE INTO task_trajectories
    (task_id, agent_id, query, trajectory_json, started_at, ended_at,
     judge_label, judge_conf, judge_reasons, matts_run_id, created_at)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, CURRENT_TIMESTAMP)
  ",
                params![
                    task_id,
                    agent_id,
                    query,
                    trajectory_json,
                    started_at,
                    ended_at,
                    judge_label,
                    judge_conf,
                    judge_reasons,
                    matts_run_id
                ],
            )?;
            Ok(Value::Null)
        }
        AgenticFlowCall::StoreMattsRun {
            run_id,
            task_id,
            mode,
            k,
            status,
            summary,
        } => {
            refuse_stored_run(
                conn,
                "SELECT 1 FROM matts_runs WHERE run_id = ?1",
                "a MaTTS run",
                &run_id,
            )?;
            conn.execute(
                "
    INSERT INTO matts_runs (run_id, task_id, mode, k, status, summary, created_at)
    VALUES (?, ?, ?, ?, ?, ?, CURRENT_TIMESTAMP)
  ",
                params![run_id, task_id, mode, k, status, summary],
            )?;
            Ok(Value::Null)
        }
        AgenticFlowCall::LogMetric { name, value } => {
            // agentic-flow: "optional logging, not critical" — failures are ignored.
            let _ = conn.execute(
                "
      INSERT INTO metrics_log (metric_name, value, timestamp)
      VALUES (?, ?, CURRENT_TIMESTAMP)
    ",
                params![name, value],
            );
            Ok(Value::Null)
        }
        AgenticFlowCall::CountNewMemoriesSinceConsolidation => {
            let last: Option<String> = conn
                .query_row(
                    "
    SELECT created_at
    FROM consolidation_runs
    ORDER BY created_at DESC
    LIMIT 1
  ",
                    [],
                    |r| r.get(0),
                )
                .optional()?;
            let count: i64 = match last {
                None => conn.query_row(
                    "
      SELECT COUNT(*) as count
      FROM patterns
      WHERE type = 'reasoning_memory'
    ",
                    [],
                    |r| r.get(0),
                )?,
                Some(at) => conn.query_row(
                    "
    SELECT COUNT(*) as count
    FROM patterns
    WHERE type = 'reasoning_memory'
      AND created_at > ?
  ",
                    [at],
                    |r| r.get(0),
                )?,
            };
            Ok(json!(count))
        }
        AgenticFlowCall::GetAllActiveMemories => {
            let mut stmt = conn.prepare(
                "
    SELECT *
    FROM patterns
    WHERE type = 'reasoning_memory'
      AND confidence >= 0.3
    ORDER BY confidence DESC, usage_count DESC
  ",
            )?;
            let mut rows = stmt.query([])?;
            let mut out = Vec::new();
            while let Some(r) = rows.next()? {
                let (mut m, id) = pattern_row(r)?;
                parse_pattern_data(&mut m, &id)?;
                out.push(Value::Object(m));
            }
            Ok(Value::Array(out))
        }
        AgenticFlowCall::StoreLink {
            src_id,
            dst_id,
            relation,
            weight,
        } => {
            if !LINK_RELATIONS.contains(&relation.as_str()) {
                return err(
                    ErrorCode::InvalidInput,
                    format!(
                        "relation must be one of {}, got {relation:?}",
                        LINK_RELATIONS.join(", ")
                    ),
                );
            }
            finite("weight", weight)?;
            require_memory(conn, &src_id, "storeLink source")?;
            require_memory(conn, &dst_id, "storeLink target")?;
            conn.execute(
                "
    INSERT OR REPLACE INTO pattern_links (src_id, dst_id, relation, weight, created_at)
    VALUES (?, ?, ?, ?, CURRENT_TIMESTAMP)
  ",
                params![src_id, dst_id, relation, weight],
            )?;
            Ok(Value::Null)
        }
        AgenticFlowCall::GetContradictions { id } => {
            let mut stmt = conn.prepare(
                "
    SELECT dst_id
    FROM pattern_links
    WHERE src_id = ? AND relation = 'contradicts'
  ",
            )?;
            let ids = stmt
                .query_map([id], |r| r.get::<_, String>(0))?
                .collect::<rusqlite::Result<Vec<String>>>()?;
            Ok(json!(ids))
        }
        AgenticFlowCall::StoreConsolidationRun {
            run_id,
            items_processed,
            duplicates_found,
            contradictions_found,
            items_pruned,
            duration_ms,
        } => {
            refuse_stored_run(
                conn,
                "SELECT 1 FROM consolidation_runs WHERE run_id = ?1",
                "a consolidation run",
                &run_id,
            )?;
            conn.execute(
                "
    INSERT INTO consolidation_runs
    (run_id, items_processed, duplicates_found, contradictions_found, items_pruned, duration_ms, created_at)
    VALUES (?, ?, ?, ?, ?, ?, CURRENT_TIMESTAMP)
  ",
                params![
                    run_id,
                    items_processed,
                    duplicates_found,
                    contradictions_found,
                    items_pruned,
                    duration_ms
                ],
            )?;
            Ok(Value::Null)
        }
        AgenticFlowCall::PruneOldMemories {
            max_age_days,
            min_confidence,
        } => {
            finite("maxAgeDays", max_age_days)?;
            finite("minConfidence", min_confidence)?;
            let n = conn.execute(
                "
    DELETE FROM patterns
    WHERE type = 'reasoning_memory'
      AND usage_count = 0
      AND confidence < ?
      AND CAST((julianday('now') - julianday(created_at)) AS INTEGER) > ?
  ",
                params![min_confidence, max_age_days],
            )?;
            Ok(json!(n))
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::memory::{BankConfig, ReasoningBank, RetrieveOptions};

    fn call(store: &Store, v: Value) -> Result<Value> {
        run(store, serde_json::from_value(v).expect("a valid call"))
    }

    fn memory(store: &Store, id: &str, confidence: f64, vector: &[f32]) {
        call(
            store,
            json!({"op": "upsertMemory", "id": id, "type": "reasoning_memory",
                   "pattern_data": json!({"title": id, "description": "", "content": ""}).to_string(),
                   "confidence": confidence, "usage_count": 0}),
        )
        .unwrap();
        call(
            store,
            json!({"op": "upsertEmbedding", "id": id, "model": "m", "dims": vector.len(), "vector": vector}),
        )
        .unwrap();
    }

    fn candidate_ids(store: &Store) -> Vec<String> {
        let rows = call(
            store,
            json!({"op": "fetchMemoryCandidates", "domain": null, "min_confidence": 0.3}),
        )
        .unwrap();
        rows.as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_str().unwrap().to_string())
            .collect()
    }

    #[test]
    fn re_upserting_a_memory_drops_its_embedding_as_agentic_flow_does() {
        let store = Store::open(":memory:").unwrap();
        memory(&store, "a", 0.9, &[1.0, 0.0]);
        memory(&store, "b", 0.5, &[0.0, 1.0]);
        assert_eq!(candidate_ids(&store), ["a", "b"]);
        call(
            &store,
            json!({"op": "upsertMemory", "id": "a", "type": "reasoning_memory",
                   "pattern_data": "{}", "confidence": 0.9, "usage_count": 0}),
        )
        .unwrap();
        assert_eq!(candidate_ids(&store), ["b"]);
    }

    #[test]
    fn writes_are_seen_by_a_bank_on_the_same_store() {
        let store = Arc::new(Store::open(":memory:").unwrap());
        let bank = ReasoningBank::open(store.clone(), BankConfig::default()).unwrap();
        memory(&store, "a", 0.9, &[1.0, 0.0]);
        let opts = RetrieveOptions {
            embedding: Some(vec![1.0, 0.0]),
            ..RetrieveOptions::default()
        };
        let got = bank.retrieve("", &opts).unwrap();
        assert_eq!(got.len(), 1, "the bank reloaded its index after the write");
        let pruned = call(
            &store,
            json!({"op": "pruneOldMemories", "max_age_days": -1, "min_confidence": 1.0}),
        )
        .unwrap();
        // usage_count is 1 after the retrieval: agentic-flow's criteria keep used memories.
        assert_eq!(pruned, json!(0));
        memory(&store, "b", 0.5, &[0.0, 1.0]);
        let pruned = call(
            &store,
            json!({"op": "pruneOldMemories", "max_age_days": -1, "min_confidence": 1.0}),
        )
        .unwrap();
        assert_eq!(pruned, json!(1));
        assert_eq!(bank.retrieve("", &opts).unwrap().len(), 1);
    }

    #[test]
    fn fetch_order_when_all_returns_candidates_in_agentic_flow_order() {
        let store = Arc::new(Store::open(":memory:").unwrap());
        // The most similar memory has the lowest confidence.
        memory(&store, "close", 0.4, &[1.0, 0.0]);
        memory(&store, "far", 0.9, &[0.0, 1.0]);
        memory(&store, "mid", 0.6, &[1.0, 1.0]);
        let bank = ReasoningBank::open(store, BankConfig::default()).unwrap();
        let ids = |fetch_order_when_all: bool| -> Vec<String> {
            let opts = RetrieveOptions {
                k: 5,
                embedding: Some(vec![1.0, 0.0]),
                fetch_order_when_all,
                ..RetrieveOptions::default()
            };
            bank.retrieve("", &opts)
                .unwrap()
                .into_iter()
                .map(|r| r.memory.id)
                .collect()
        };
        assert_eq!(ids(false), ["close", "mid", "far"], "by score");
        assert_eq!(ids(true), ["far", "mid", "close"], "by confidence");
    }

    #[test]
    fn embeddings_and_links_of_missing_memories_are_refused() {
        let store = Store::open(":memory:").unwrap();
        let e = call(
            &store,
            json!({"op": "upsertEmbedding", "id": "x", "model": "m", "dims": 1, "vector": [1.0]}),
        )
        .unwrap_err();
        assert_eq!(e.code, ErrorCode::NotFound);
        memory(&store, "a", 0.9, &[1.0]);
        let e = call(
            &store,
            json!({"op": "storeLink", "src_id": "a", "dst_id": "x", "relation": "refines", "weight": 1.0}),
        )
        .unwrap_err();
        assert_eq!(e.code, ErrorCode::NotFound);
        let e = call(
            &store,
            json!({"op": "storeLink", "src_id": "a", "dst_id": "a", "relation": "likes", "weight": 1.0}),
        )
        .unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidInput);
    }
}
