//! The reasoning bank: agentic-flow-compatible memories, learnings, retrieval and search.
//!
//! [`ReasoningBank`] wraps a shared [`Store`] plus an in-memory [`VectorIndex`] of every
//! memory embedding, loaded at open. One mutex guards the index and the counters; it is always
//! taken before the store's connection mutex, so the two never deadlock. Every write runs in
//! one SQLite transaction and updates the index only after it commits.
//!
//! Other processes (agentic-flow itself, or a second `Store` on the same file) may write the
//! database too. Each call reads `PRAGMA data_version`; when another connection has committed,
//! the index and counters are reloaded before use and the full-text index is reconciled before
//! the next search.

use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use parking_lot::Mutex;
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use serde::{Deserialize, Serialize};

use super::clock::{iso_datetime, now_ms, parse_datetime, sqlite_datetime};
use super::config::{BankConfig, EvictMode, RetrieveOptions};
use super::consolidate::{self, ConsolidateReport};
use super::embed::{HashEmbedder, HASH_DIMS};
use super::eviction::{self, EvictedKind, EvictionCause, EvictionReport};
use super::fts::{self, QueryHit, QueryOptions, KIND_LEARNING, KIND_MEMORY};
use super::interop::{self, ExportReport, ImportReport};
use super::memory::{
    blob_to_vector, check_embedding, check_id, new_id, vector_to_blob, BankCounts, LearningInput,
    LearningRecord, MemoryInput, MemoryRecord, Outcome, PatternData, PatternSource,
};
use super::retrieve::{self, ScoreComponents};
use super::schema::{HASH_MODEL, MEMORY_TYPE};
use super::simd::Kernel;
use super::sketch::SketchIndex;
use super::store::Store;
use super::vector_index::{check_dims, normalize, RowMeta, VectorIndex};
use crate::error::{err, Error, ErrorCode, Result};

/// The `model` recorded for caller-given embeddings when none is named.
pub const EXTERNAL_MODEL: &str = "external";

/// One retrieved memory with its score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Retrieved {
    /// The memory (with its usage already counted when usage recording is on).
    pub memory: MemoryRecord,
    /// `α·similarity + β·recency + γ·reliability`.
    pub score: f64,
    /// The parts of the score.
    pub components: ScoreComponents,
}

/// How retrieval searches a store ([`ReasoningBank::search_info`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SearchInfo {
    /// Searchable memories (rows of the in-memory matrix).
    pub rows: usize,
    /// Their embedding dimension (0 while empty).
    pub dims: usize,
    /// The SIMD kernel in use (`avx2` or `scalar`).
    pub kernel: String,
    /// Whether the approximate (sketch) index is attached.
    pub approximate_index: bool,
    /// Rows the attached index was trained on (0 without one).
    pub trained_rows: usize,
    /// `annThreshold` of the configuration.
    pub ann_threshold: usize,
    /// `annCandidates` of the configuration.
    pub ann_candidates: usize,
    /// Where the index's side file lives (none for in-memory stores).
    pub side_file: Option<String>,
    /// Why the side file could not be written last time (searches go on without it).
    pub side_file_error: Option<String>,
    /// Whether the last retrieval used the approximate index.
    pub last_retrieve_approximate: bool,
}

/// Counts, caps and evictions of a bank ([`ReasoningBank::stats`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BankStats {
    /// Reasoning memories in the store, whoever wrote them.
    pub memories: usize,
    /// Those this engine wrote (created by `store` or an import, in any process).
    pub own_memories: usize,
    /// Learnings.
    pub learnings: usize,
    /// `maxMemories`.
    pub max_memories: usize,
    /// `maxLearnings`.
    pub max_learnings: usize,
    /// `evict`: which memories eviction may delete.
    pub evict: EvictMode,
    /// Memories this bank evicted since it was opened.
    pub evicted_memories: u64,
    /// Learnings this bank evicted since it was opened.
    pub evicted_learnings: u64,
    /// Eviction runs since it was opened.
    pub evictions: u64,
    /// The latest run, if any.
    pub last_eviction: Option<EvictionReport>,
}

/// Eviction reports kept for [`ReasoningBank::take_evictions`]; older ones are dropped (they
/// still count in [`BankStats`]).
const MAX_PENDING_EVICTIONS: usize = 16;

/// The mutable state guarded by the bank's mutex.
struct BankState {
    index: VectorIndex,
    counts: BankCounts,
    /// Memories this engine wrote (what `maxMemories` caps with `evict: 'own'`).
    own_memories: usize,
    /// Evicted since open: memories, learnings, runs.
    evicted_memories: u64,
    evicted_learnings: u64,
    evictions: u64,
    last_eviction: Option<EvictionReport>,
    /// Reports not yet taken by [`ReasoningBank::take_evictions`].
    pending_evictions: VecDeque<EvictionReport>,
    data_version: i64,
    /// The store's memory epoch this state reflects.
    epoch: u64,
    index_stale: bool,
    fts_stale: bool,
    /// Memories whose embedding has another dimension than the index (not searchable).
    skipped_dims: usize,
    /// Whether the last retrieval used the approximate index.
    last_approximate: bool,
    /// Why the side file could not be written last time, if it could not.
    side_file_error: Option<String>,
    /// Length and modification time of a side file found unusable (not read again until
    /// it changes).
    unusable_side_file: Option<(u64, std::time::SystemTime)>,
}

/// Agentic-flow-compatible reasoning memory bank. `Send + Sync`; share it in an `Arc`.
pub struct ReasoningBank {
    store: Arc<Store>,
    cfg: BankConfig,
    embedder: HashEmbedder,
    kernel: Kernel,
    state: Mutex<BankState>,
}

impl Drop for ReasoningBank {
    /// Writes the approximate index's side file if it has unsaved changes (best effort: the
    /// side file is a cache that is reconciled or rebuilt at the next open anyway).
    fn drop(&mut self) {
        let _ = self.flush_index();
    }
}

impl std::fmt::Debug for ReasoningBank {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReasoningBank")
            .field("store", &self.store)
            .field("kernel", &self.kernel)
            .finish()
    }
}

/// Reads one memory (with embedding metadata) by id.
fn read_record(conn: &Connection, id: &str) -> Result<Option<MemoryRecord>> {
    let row = conn
        .query_row(
            "SELECT p.pattern_data, p.confidence, p.usage_count, p.created_at, p.last_used, e.model, e.dims
             FROM patterns p LEFT JOIN pattern_embeddings e ON e.id = p.id
             WHERE p.id = ?1 AND p.type = ?2",
            params![id, MEMORY_TYPE],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, f64>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, Option<String>>(4)?,
                    r.get::<_, Option<String>>(5)?,
                    r.get::<_, Option<i64>>(6)?,
                ))
            },
        )
        .optional()?;
    let Some((data, confidence, usage, created, last_used, model, dims)) = row else {
        return Ok(None);
    };
    let data: PatternData = serde_json::from_str(&data).map_err(|e| {
        Error::new(
            ErrorCode::InvalidJson,
            format!("memory '{id}' has unreadable pattern_data: {e}"),
        )
    })?;
    Ok(Some(MemoryRecord::from_parts(
        id.to_string(),
        data,
        confidence,
        usage,
        created,
        last_used,
        model,
        dims.map(|d| d.max(0) as usize),
    )))
}

/// Loads every searchable memory embedding into a fresh index; returns it and the number of
/// memories skipped for having another dimension than the first one found.
fn load_index(conn: &Connection) -> Result<(VectorIndex, usize)> {
    let mut index = VectorIndex::new();
    let mut skipped = 0;
    let mut stmt = conn.prepare(
        "SELECT p.id, p.confidence, p.usage_count, p.created_at, e.vector,
                CASE WHEN json_valid(p.pattern_data) THEN json_extract(p.pattern_data, '$.domain') END,
                CASE WHEN json_valid(p.pattern_data) THEN json_extract(p.pattern_data, '$.source.agent_id') END,
                CASE WHEN json_valid(p.pattern_data) THEN json_extract(p.pattern_data, '$.source.outcome') END
         FROM patterns p JOIN pattern_embeddings e ON e.id = p.id
         WHERE p.type = ?1 AND json_valid(p.pattern_data) ORDER BY p.rowid",
    )?;
    let mut rows = stmt.query([MEMORY_TYPE])?;
    let mut domains: std::collections::HashMap<String, Arc<str>> = std::collections::HashMap::new();
    let mut intern = |s: Option<String>| -> Option<Arc<str>> {
        s.map(|s| {
            domains
                .entry(s.clone())
                .or_insert_with(|| Arc::from(s))
                .clone()
        })
    };
    while let Some(r) = rows.next()? {
        let id: String = r.get(0)?;
        let blob: Vec<u8> = r.get(4)?;
        let Some(vector) = blob_to_vector(&blob) else {
            skipped += 1;
            continue;
        };
        if vector.is_empty()
            || vector.iter().any(|x| !x.is_finite())
            || (index.dims() != 0 && vector.len() != index.dims())
        {
            skipped += 1;
            continue;
        }
        let created: String = r.get(3)?;
        let meta = RowMeta {
            confidence: r.get(1)?,
            usage_count: r.get(2)?,
            created_ms: parse_datetime(&created).unwrap_or(0),
            domain: intern(text_value(r.get_ref(5)?)),
            agent: intern(text_value(r.get_ref(6)?)),
            outcome: text_value(r.get_ref(7)?)
                .and_then(|o| Outcome::parse(&o))
                .unwrap_or_default(),
        };
        index.upsert(&id, &vector, meta)?;
    }
    Ok((index, skipped))
}

/// A SQL value as text when it is text.
fn text_value(v: rusqlite::types::ValueRef<'_>) -> Option<String> {
    match v {
        rusqlite::types::ValueRef::Text(t) => Some(String::from_utf8_lossy(t).into_owned()),
        _ => None,
    }
}

/// Current counts straight from SQL.
fn read_counts(conn: &Connection) -> Result<BankCounts> {
    let memories: i64 = conn.query_row(
        "SELECT count(*) FROM patterns WHERE type = ?1",
        [MEMORY_TYPE],
        |r| r.get(0),
    )?;
    let learnings: i64 = conn.query_row("SELECT count(*) FROM la_learnings", [], |r| r.get(0))?;
    Ok(BankCounts {
        memories: memories as usize,
        learnings: learnings as usize,
    })
}

impl ReasoningBank {
    /// Opens the bank over `store`: validates `cfg`, loads every embedding into memory and
    /// indexes any memory rows written by agentic-flow for full-text search.
    pub fn open(store: Arc<Store>, cfg: BankConfig) -> Result<Self> {
        cfg.validate()?;
        let state = store.with_conn(|conn| {
            fts::reconcile_memories(conn)?;
            let (index, skipped_dims) = load_index(conn)?;
            Ok(BankState {
                index,
                counts: read_counts(conn)?,
                own_memories: eviction::count_own_memories(conn)?,
                evicted_memories: 0,
                evicted_learnings: 0,
                evictions: 0,
                last_eviction: None,
                pending_evictions: VecDeque::new(),
                data_version: Store::data_version(conn)?,
                epoch: store.memory_epoch().load(Ordering::SeqCst),
                index_stale: false,
                fts_stale: false,
                skipped_dims,
                last_approximate: false,
                side_file_error: None,
                unusable_side_file: None,
            })
        })?;
        Ok(ReasoningBank {
            store,
            cfg,
            embedder: HashEmbedder,
            kernel: Kernel::detect(),
            state: Mutex::new(state),
        })
    }

    /// The store this bank writes to.
    pub fn backing_store(&self) -> &Arc<Store> {
        &self.store
    }

    /// The configuration.
    pub fn config(&self) -> &BankConfig {
        &self.cfg
    }

    /// The SIMD kernel chosen for this CPU.
    pub fn kernel(&self) -> Kernel {
        self.kernel
    }

    /// Memories not searchable because their embedding dimension differs from the store's.
    pub fn skipped_embeddings(&self) -> usize {
        self.state.lock().skipped_dims
    }

    /// Notices commits by other connections (`data_version`) and writes by other banks on
    /// the same store (the memory epoch): the matrix is then reloaded before its next use
    /// ([`Self::ensure_index`]) and the full-text index reconciled before the next search.
    fn sync(&self, conn: &Connection, st: &mut BankState) -> Result<()> {
        let v = Store::data_version(conn)?;
        let epoch = self.store.memory_epoch().load(Ordering::SeqCst);
        if v != st.data_version || epoch != st.epoch {
            st.data_version = v;
            st.epoch = epoch;
            st.index_stale = true;
            st.fts_stale = true;
            st.counts = read_counts(conn)?;
            st.own_memories = eviction::count_own_memories(conn)?;
        }
        Ok(())
    }

    /// Records a write of this bank: other banks on the store will resync; this one stays in
    /// sync unless someone else wrote since its last sync.
    fn note_write(&self, st: &mut BankState) {
        let previous = self.store.memory_epoch().fetch_add(1, Ordering::SeqCst);
        if previous == st.epoch {
            st.epoch = previous + 1;
        }
    }

    /// Reloads the matrix if another connection committed since it was loaded.
    fn ensure_index(&self, conn: &Connection, st: &mut BankState) -> Result<()> {
        self.sync(conn, st)?;
        if st.index_stale {
            // Entries carry fingerprints, so sketches of rows another writer changed are
            // recomputed at the next load, never reused.
            self.save_ann(st);
            let (index, skipped) = load_index(conn)?;
            st.index = index;
            st.skipped_dims = skipped;
            st.index_stale = false;
        }
        Ok(())
    }

    /// The approximate index's side file: `<store>.ann` (none for in-memory stores).
    fn ann_path(&self) -> Option<std::path::PathBuf> {
        let path = self.store.path();
        (path != ":memory:").then(|| std::path::PathBuf::from(format!("{path}.ann")))
    }

    /// Writes the approximate index's side file if it changed since it was last written.
    /// The side file is a cache: a failure (read-only directory, full disk) never fails the
    /// caller's operation; it is kept for [`Self::search_info`] and retried later.
    fn save_ann(&self, st: &mut BankState) {
        let Some(path) = self.ann_path() else {
            return;
        };
        if let Some(mut ann) = st.index.take_ann() {
            if ann.changes() > 0 {
                st.side_file_error = ann.save(&path, &st.index).err().map(|e| e.message);
            }
            st.index.set_ann(Some(ann));
        }
    }

    /// The side file's length and modification time (to skip re-reading a file that was
    /// found unusable and has not changed since).
    fn side_file_stamp(path: &std::path::Path) -> Option<(u64, std::time::SystemTime)> {
        let m = std::fs::metadata(path).ok()?;
        Some((m.len(), m.modified().ok()?))
    }

    /// Attaches the approximate index once the store is past `annThreshold`: loaded from the
    /// side file and reconciled when it is usable, trained (and saved) otherwise; retrained
    /// when the store has doubled since training; the side file is rewritten after changes
    /// to 5% of the rows. Between half the threshold and the threshold an existing index is
    /// used but none is trained; below half it is dropped.
    fn ensure_ann(&self, st: &mut BankState) {
        let n = st.index.len();
        let threshold = self.cfg.ann_threshold;
        // Hysteresis: between half the threshold and the threshold an attached (or saved)
        // index is kept but none is trained, so a store hovering around the threshold is not
        // retrained again and again.
        if threshold == 0 || n < threshold / 2 {
            st.index.set_ann(None);
            return;
        }
        let path = self.ann_path();
        let needs_training = match st.index.ann() {
            Some(ann) => ann.trained_rows().saturating_mul(2) < n,
            None => {
                let stamp = path.as_deref().and_then(Self::side_file_stamp);
                let loaded = match (&path, stamp) {
                    (Some(p), Some(stamp)) if st.unusable_side_file != Some(stamp) => {
                        let loaded = SketchIndex::load(p, &st.index, self.kernel);
                        if loaded.is_none() {
                            st.unusable_side_file = Some(stamp);
                        }
                        loaded
                    }
                    _ => None,
                };
                let found = loaded.is_some();
                st.index.set_ann(loaded);
                if !found && n < threshold {
                    return;
                }
                !found
            }
        };
        if needs_training {
            let ann = SketchIndex::train(&st.index, self.kernel, 0x1a7e_5eed ^ n as u64);
            st.index.set_ann(Some(ann));
            self.save_ann(st);
            return;
        }
        if st
            .index
            .ann()
            .is_some_and(|a| a.changes() >= (n / 20).max(1000))
        {
            self.save_ann(st);
        }
    }

    /// Writes the approximate index's side file now if it has unsaved changes (also done on
    /// drop and before the index is reloaded); the error says why it could not be written.
    pub fn flush_index(&self) -> Result<()> {
        let mut st = self.state.lock();
        self.save_ann(&mut st);
        match &st.side_file_error {
            Some(message) => err(ErrorCode::Store, message.clone()),
            None => Ok(()),
        }
    }

    /// How retrieval searches this store right now.
    pub fn search_info(&self) -> SearchInfo {
        let st = self.state.lock();
        SearchInfo {
            rows: st.index.len(),
            dims: st.index.dims(),
            kernel: format!("{:?}", self.kernel).to_lowercase(),
            approximate_index: st.index.ann().is_some(),
            trained_rows: st.index.ann().map_or(0, |a| a.trained_rows()),
            ann_threshold: self.cfg.ann_threshold,
            ann_candidates: self.cfg.ann_candidates,
            side_file: self.ann_path().map(|p| p.to_string_lossy().into_owned()),
            side_file_error: st.side_file_error.clone(),
            last_retrieve_approximate: st.last_approximate,
        }
    }

    /// The embedding dimension of the store (0 when it has none), without loading the matrix.
    fn store_dims(conn: &Connection, st: &BankState) -> Result<usize> {
        if !st.index_stale {
            return Ok(st.index.dims());
        }
        let len: Option<i64> = conn
            .query_row(
                "SELECT length(e.vector) FROM patterns p JOIN pattern_embeddings e ON e.id = p.id
                 WHERE p.type = ?1 AND json_valid(p.pattern_data) ORDER BY p.rowid LIMIT 1",
                [MEMORY_TYPE],
                |r| r.get(0),
            )
            .optional()?;
        Ok(len.map_or(0, |l| (l.max(0) / 4) as usize))
    }

    /// Stores (creates or updates) a memory; returns it as stored.
    pub fn store(&self, m: MemoryInput) -> Result<MemoryRecord> {
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
        let id = match &m.id {
            Some(id) => {
                check_id(id, "id")?;
                id.clone()
            }
            None => new_id(),
        };
        let mut st = self.state.lock();
        let (record, is_new, vector) = self.store.with_conn(|conn| {
            self.sync(conn, &mut st)?;
            let existing: Option<(String, String, String, f64, i64)> = conn
                .query_row("SELECT type, pattern_data, created_at, confidence, usage_count FROM patterns WHERE id = ?1", [&id], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
                })
                .optional()?;
            if let Some((kind, ..)) = &existing {
                if kind != MEMORY_TYPE {
                    return err(ErrorCode::InvalidInput, format!("id '{id}' belongs to an agentic-flow pattern of type '{kind}'; use another id"));
                }
            }
            let old_embedding: Option<(String, Vec<u8>)> =
                conn.query_row("SELECT model, vector FROM pattern_embeddings WHERE id = ?1", [&id], |r| Ok((r.get(0)?, r.get(1)?))).optional()?;
            // Embedding: caller's, else keep a caller-made one, else the hash embedder's.
            let (vector, model, write_vector) = match &m.embedding {
                Some(v) => (v.clone(), EXTERNAL_MODEL.to_string(), true),
                None => match old_embedding.as_ref().filter(|(model, _)| model != HASH_MODEL) {
                    Some((model, blob)) => match blob_to_vector(blob) {
                        Some(v) => (v, model.clone(), false),
                        None => (self.embed_memory(&m), HASH_MODEL.to_string(), true),
                    },
                    None => (self.embed_memory(&m), HASH_MODEL.to_string(), true),
                },
            };
            let what = if m.embedding.is_some() {
                "the embedding".to_string()
            } else {
                format!("the built-in {HASH_DIMS}-dimensional embedding (pass `embedding` to use your model)")
            };
            check_dims(Self::store_dims(conn, &st)?, vector.len(), &what)?;

            let old_data: Option<PatternData> = existing.as_ref().and_then(|(_, d, ..)| serde_json::from_str(d).ok());
            let now = now_ms();
            let created_at = existing.as_ref().map(|e| e.2.clone()).unwrap_or_else(|| sqlite_datetime(now));
            let confidence = m.confidence.or(existing.as_ref().map(|e| e.3)).unwrap_or(0.5);
            let usage = existing.as_ref().map(|e| e.4).unwrap_or(0);
            let old_extra = old_data.as_ref().map(|d| d.extra.clone()).unwrap_or_default();
            let old_source_extra = old_data.as_ref().map(|d| d.source.extra.clone()).unwrap_or_default();
            let data = PatternData {
                title: m.title.clone(),
                description: m.description.clone(),
                content: m.content.clone(),
                source: PatternSource {
                    task_id: m.task_id.clone(),
                    agent_id: m.agent_id.clone(),
                    outcome: m.outcome,
                    evidence: m.evidence.clone(),
                    extra: old_source_extra,
                },
                tags: m.tags.clone(),
                domain: m.domain.clone(),
                created_at: Some(old_data.as_ref().and_then(|d| d.created_at.clone()).unwrap_or_else(|| iso_datetime(now))),
                confidence: Some(confidence),
                n_uses: Some(usage),
                extra: old_extra,
            };
            let data_text = serde_json::to_string(&data)?;

            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            // Decided inside the write transaction: a row another writer created meanwhile is
            // updated, not claimed.
            let created = !interop::row_exists(&tx, &id)?;
            tx.execute(
                "INSERT INTO patterns (id, type, pattern_data, confidence, usage_count, created_at) VALUES (?1, ?2, ?3, ?4, 0, ?5)
                 ON CONFLICT(id) DO UPDATE SET type = excluded.type, pattern_data = excluded.pattern_data, confidence = excluded.confidence",
                params![id, MEMORY_TYPE, data_text, confidence, created_at],
            )?;
            if created {
                interop::mark_owned(&tx, &id)?;
            }
            if write_vector {
                tx.execute(
                    "INSERT INTO pattern_embeddings (id, model, dims, vector) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT(id) DO UPDATE SET model = excluded.model, dims = excluded.dims, vector = excluded.vector",
                    params![id, model, vector.len() as i64, vector_to_blob(&vector)],
                )?;
            }
            fts::upsert_memory_row(&tx, &id, &data_text, &created_at)?;
            tx.commit()?;
            let record = read_record(conn, &id)?.ok_or_else(|| Error::new(ErrorCode::Internal, format!("memory '{id}' vanished after being written")))?;
            Ok((record, created, vector))
        })?;
        self.note_write(&mut st);
        let meta = RowMeta {
            confidence: record.confidence,
            usage_count: record.usage_count,
            created_ms: parse_datetime(&record.created_at).unwrap_or(0),
            domain: record.domain.as_deref().map(Arc::from),
            agent: record.source.agent_id.as_deref().map(Arc::from),
            outcome: record.source.outcome,
        };
        if !st.index_stale {
            st.index.upsert(&record.id, &vector, meta)?;
        }
        if is_new {
            st.counts.memories += 1;
            st.own_memories += 1;
        }
        self.evict_if_needed(&mut st, EvictionCause::Store, Some(&record.id))?;
        Ok(record)
    }

    /// The built-in embedding of a memory's title, description and content.
    fn embed_memory(&self, m: &MemoryInput) -> Vec<f32> {
        self.embedder
            .embed(&format!("{}\n{}\n{}", m.title, m.description, m.content))
    }

    /// Runs eviction when a count the caps watch is over its cap (see the `eviction` module):
    /// never with `evict: 'none'`, only among this engine's memories with `'own'`, never the
    /// item `protect` just written; each run is recorded for [`Self::stats`] and
    /// [`Self::take_evictions`]. Returns how many items went.
    fn evict_if_needed(
        &self,
        st: &mut BankState,
        cause: EvictionCause,
        protect: Option<&str>,
    ) -> Result<usize> {
        let mode = self.cfg.evict;
        if mode == EvictMode::None {
            return Ok(0);
        }
        let now = now_ms();
        let half_life = self.cfg.eviction_half_life_days;
        let own_only = mode == EvictMode::Own;
        let mut evicted = 0;
        let watched = if own_only {
            st.own_memories
        } else {
            st.counts.memories
        };
        if watched > self.cfg.max_memories {
            let keep = eviction::target_count(self.cfg.max_memories, self.cfg.evict_to_fraction);
            let (gone, counts, own) = self.store.with_conn(|c| {
                let gone = eviction::evict_memories(c, own_only, keep, protect, now, half_life)?;
                Ok((gone, read_counts(c)?, eviction::count_own_memories(c)?))
            })?;
            if !gone.is_empty() {
                for id in &gone {
                    st.index.remove(id);
                }
                self.note_write(st);
                evicted += gone.len();
                st.evicted_memories += gone.len() as u64;
                let remaining = if own_only { own } else { counts.memories };
                let report = EvictionReport::new(
                    EvictedKind::Memory,
                    mode,
                    cause,
                    gone,
                    self.cfg.max_memories,
                    remaining,
                    now,
                );
                Self::record_eviction(st, report);
            }
            st.counts = counts;
            st.own_memories = own;
        }
        if st.counts.learnings > self.cfg.max_learnings {
            let keep = eviction::target_count(self.cfg.max_learnings, self.cfg.evict_to_fraction);
            let (gone, counts) = self.store.with_conn(|c| {
                let gone = eviction::evict_learnings(c, keep, protect, now, half_life)?;
                Ok((gone, read_counts(c)?))
            })?;
            st.counts.learnings = counts.learnings;
            if !gone.is_empty() {
                self.note_write(st);
                evicted += gone.len();
                st.evicted_learnings += gone.len() as u64;
                let report = EvictionReport::new(
                    EvictedKind::Learning,
                    mode,
                    cause,
                    gone,
                    self.cfg.max_learnings,
                    counts.learnings,
                    now,
                );
                Self::record_eviction(st, report);
            }
        }
        Ok(evicted)
    }

    /// Counts a run and queues its report (the oldest queued one goes beyond the limit).
    fn record_eviction(st: &mut BankState, report: EvictionReport) {
        st.evictions += 1;
        st.last_eviction = Some(report.clone());
        if st.pending_evictions.len() == MAX_PENDING_EVICTIONS {
            st.pending_evictions.pop_front();
        }
        st.pending_evictions.push_back(report);
    }

    /// The eviction runs since the last call (at most the latest 16), oldest first. The JS
    /// layer turns them into `evict` events after each call that can evict.
    pub fn take_evictions(&self) -> Vec<EvictionReport> {
        self.state.lock().pending_evictions.drain(..).collect()
    }

    /// Counts (as the file holds them now), caps and what this bank evicted since it opened.
    pub fn stats(&self) -> Result<BankStats> {
        let mut st = self.state.lock();
        self.store.with_conn(|conn| self.sync(conn, &mut st))?;
        Ok(BankStats {
            memories: st.counts.memories,
            own_memories: st.own_memories,
            learnings: st.counts.learnings,
            max_memories: self.cfg.max_memories,
            max_learnings: self.cfg.max_learnings,
            evict: self.cfg.evict,
            evicted_memories: st.evicted_memories,
            evicted_learnings: st.evicted_learnings,
            evictions: st.evictions,
            last_eviction: st.last_eviction.clone(),
        })
    }

    /// Stores (creates or updates) a learning.
    pub fn store_learning(&self, l: LearningInput) -> Result<LearningRecord> {
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
        let id = match &l.id {
            Some(id) => {
                check_id(id, "id")?;
                id.clone()
            }
            None => new_id(),
        };
        let mut st = self.state.lock();
        let (record, is_new) = self.store.with_conn(|conn| {
            self.sync(conn, &mut st)?;
            let old_created: Option<i64> = conn
                .query_row(
                    "SELECT created_at_ms FROM la_learnings WHERE id = ?1",
                    [&id],
                    |r| r.get(0),
                )
                .optional()?;
            let record = LearningRecord {
                id: id.clone(),
                pattern: l.pattern.clone(),
                outcome: l.outcome.clone(),
                reward: l.reward,
                context: l.context.clone(),
                session: l.session.clone(),
                action: l.action.clone(),
                created_at_ms: old_created.unwrap_or_else(now_ms),
            };
            let tx = conn.transaction()?;
            interop::write_learnings(&tx, std::slice::from_ref(&record))?;
            tx.commit()?;
            Ok((record, old_created.is_none()))
        })?;
        self.note_write(&mut st);
        if is_new {
            st.counts.learnings += 1;
        }
        self.evict_if_needed(&mut st, EvictionCause::StoreLearning, Some(&record.id))?;
        Ok(record)
    }

    /// The memory with this id, if any.
    pub fn get(&self, id: &str) -> Result<Option<MemoryRecord>> {
        check_id(id, "id")?;
        self.store.with_conn(|conn| read_record(conn, id))
    }

    /// The learning with this id, if any.
    pub fn get_learning(&self, id: &str) -> Result<Option<LearningRecord>> {
        check_id(id, "id")?;
        self.store.with_conn(|conn| {
            let row = conn
                .query_row(
                    "SELECT id, pattern, outcome, reward, context, session, action, created_at_ms FROM la_learnings WHERE id = ?1",
                    [id],
                    interop::learning_from_row,
                )
                .optional()?;
            row.transpose()
        })
    }

    /// Deletes the memory or learning with this id (with its embedding and links); returns
    /// whether something was deleted.
    pub fn delete(&self, id: &str) -> Result<bool> {
        check_id(id, "id")?;
        let mut st = self.state.lock();
        let (memories, learnings) = self.store.with_conn(|conn| {
            self.sync(conn, &mut st)?;
            let tx = conn.transaction()?;
            let memories = tx.execute(
                "DELETE FROM patterns WHERE id = ?1 AND type = ?2",
                params![id, MEMORY_TYPE],
            )?;
            let mut learnings = 0;
            if memories > 0 {
                fts::remove(&tx, KIND_MEMORY, id)?;
            } else {
                learnings = tx.execute("DELETE FROM la_learnings WHERE id = ?1", [id])?;
                fts::remove(&tx, KIND_LEARNING, id)?;
            }
            tx.commit()?;
            Ok((memories, learnings))
        })?;
        self.note_write(&mut st);
        if memories > 0 {
            st.index.remove(id);
            st.counts.memories = st.counts.memories.saturating_sub(memories);
            st.own_memories = self.store.with_conn(|c| eviction::count_own_memories(c))?;
        }
        st.counts.learnings = st.counts.learnings.saturating_sub(learnings);
        Ok(memories + learnings > 0)
    }

    /// Numbers of stored memories and learnings.
    pub fn count(&self) -> Result<BankCounts> {
        self.store.with_conn(|conn| read_counts(conn))
    }

    /// Retrieves the top memories for `query` with agentic-flow's scoring and MMR.
    pub fn retrieve(&self, query: &str, opts: &RetrieveOptions) -> Result<Vec<Retrieved>> {
        let started = Instant::now();
        opts.validate()?;
        let query_vector = match &opts.embedding {
            Some(v) => {
                check_embedding(v, "embedding")?;
                v.clone()
            }
            None => {
                if query.trim().is_empty() {
                    return err(
                        ErrorCode::InvalidInput,
                        "the query is empty; pass some text or an embedding",
                    );
                }
                self.embedder.embed(query)
            }
        };
        let mut st = self.state.lock();
        self.store.with_conn(|conn| {
            self.ensure_index(conn, &mut st)?;
            if st.index.is_empty() {
                return Ok(Vec::new());
            }
            let what = if opts.embedding.is_some() {
                "the query embedding".to_string()
            } else {
                format!("the built-in {HASH_DIMS}-dimensional query embedding (pass `embedding` computed with the store's model)")
            };
            st.index.check_dims(query_vector.len(), &what)?;
            if !opts.exact {
                self.ensure_ann(&mut st);
            }
            let now = now_ms();
            // Filters on domain or agent scan the rows they allow exactly.
            let approximate = !opts.exact && opts.domain.is_none() && opts.agent.is_none();
            let candidates = match st.index.take_ann() {
                Some(mut ann) => {
                    let c = approximate.then(|| {
                        let count = self.cfg.ann_candidates.max(opts.k * 4);
                        ann.candidates(&st.index, self.kernel, &normalize(&query_vector), opts, now, count)
                    });
                    st.index.set_ann(Some(ann));
                    c
                }
                None => None,
            };
            st.last_approximate = candidates.is_some();
            let selected = retrieve::select(
                &st.index,
                self.kernel,
                &query_vector,
                opts,
                now,
                candidates.as_deref(),
            );
            let ids: Vec<String> = selected.iter().map(|s| st.index.id(s.row).to_string()).collect();
            if self.cfg.record_usage || self.cfg.log_metrics {
                let tx = conn.transaction()?;
                if self.cfg.record_usage {
                    for id in &ids {
                        tx.execute(
                            "UPDATE patterns SET usage_count = usage_count + 1, last_used = CURRENT_TIMESTAMP WHERE id = ?1",
                            [id],
                        )?;
                    }
                }
                if self.cfg.log_metrics {
                    tx.execute(
                        "INSERT INTO metrics_log (metric_name, value) VALUES ('rb.retrieve.latency_ms', ?1)",
                        [started.elapsed().as_secs_f64() * 1000.0],
                    )?;
                }
                tx.commit()?;
                if self.cfg.record_usage {
                    for s in &selected {
                        st.index.bump_usage(s.row);
                    }
                }
            }
            let mut out = Vec::with_capacity(selected.len());
            for (s, id) in selected.iter().zip(&ids) {
                if let Some(memory) = read_record(conn, id)? {
                    out.push(Retrieved {
                        memory,
                        score: s.score,
                        components: s.components,
                    });
                }
            }
            Ok(out)
        })
    }

    /// Full-text search over memories (title, description, content) and learnings (pattern).
    pub fn query(&self, pattern: &str, opts: &QueryOptions) -> Result<Vec<QueryHit>> {
        let mut st = self.state.lock();
        self.store.with_conn(|conn| {
            self.sync(conn, &mut st)?;
            if st.fts_stale {
                fts::reconcile_memories(conn)?;
                st.fts_stale = false;
            }
            fts::search(conn, pattern, opts)
        })
    }

    /// Exports every memory, learning and link as one JSON document (see the `interop` module).
    pub fn export_json(&self) -> Result<serde_json::Value> {
        self.store.with_conn(|conn| interop::export_document(conn))
    }

    /// Imports a JSON document made by [`Self::export_json`] (upserting by id). Nothing is
    /// written unless the whole document is valid.
    pub fn import_json(&self, v: &serde_json::Value) -> Result<ImportReport> {
        let mut doc = interop::parse_document(v)?;
        let mut st = self.state.lock();
        let report = self.store.with_conn(|conn| {
            self.sync(conn, &mut st)?;
            let skipped = interop::check_embedding_dims(
                &mut doc.memories,
                st.index.dims(),
                "the JSON document",
            )?;
            // IMMEDIATE: the writes start with reads (which rows exist), and a deferred
            // transaction could not upgrade after another connection's commit.
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let (memories, embeddings) = interop::write_memory_rows(&tx, &doc.memories, true)?;
            let learnings = interop::write_learnings(&tx, &doc.learnings)?;
            let (links, skipped_links) = interop::write_links(&tx, &doc.links)?;
            tx.commit()?;
            Ok(ImportReport {
                memories,
                embeddings,
                learnings,
                links,
                skipped: skipped + skipped_links,
                evicted: 0,
            })
        })?;
        let evicted = self.after_bulk_write(&mut st, EvictionCause::ImportJson)?;
        Ok(ImportReport { evicted, ..report })
    }

    /// Copies every reasoning memory (with embedding and links) from an agentic-flow database.
    pub fn import_agentic_flow(&self, db_path: &str) -> Result<ImportReport> {
        let foreign = interop::open_agentic_flow(db_path, false)?;
        let mut rows = interop::read_memory_rows(&foreign.conn)?;
        let links = interop::read_links(&foreign.conn)?;
        drop(foreign);
        let mut st = self.state.lock();
        let report = self.store.with_conn(|conn| {
            self.sync(conn, &mut st)?;
            let dims = Self::store_dims(conn, &st)?;
            let skipped = interop::check_embedding_dims(&mut rows, dims, db_path)?;
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let (memories, embeddings) = interop::write_memory_rows(&tx, &rows, true)?;
            let (links, skipped_links) = interop::write_links(&tx, &links)?;
            tx.commit()?;
            Ok(ImportReport {
                memories,
                embeddings,
                learnings: 0,
                links,
                skipped: skipped + skipped_links,
                evicted: 0,
            })
        })?;
        let evicted = self.after_bulk_write(&mut st, EvictionCause::ImportAgenticFlow)?;
        Ok(ImportReport { evicted, ..report })
    }

    /// Copies every reasoning memory (with embedding and links) into an agentic-flow database,
    /// creating it and its schema if needed.
    pub fn export_agentic_flow(&self, db_path: &str) -> Result<ExportReport> {
        let (rows, links) = self
            .store
            .with_conn(|conn| Ok((interop::read_memory_rows(conn)?, interop::read_links(conn)?)))?;
        let mut foreign = interop::open_agentic_flow(db_path, true)?;
        let tx = foreign.conn.transaction()?;
        let (memories, embeddings) = interop::write_memory_rows(&tx, &rows, false)?;
        let (links, _) = interop::write_links(&tx, &links)?;
        tx.commit()?;
        foreign.close()?;
        Ok(ExportReport {
            path: db_path.to_string(),
            memories,
            embeddings,
            links,
        })
    }

    /// Reloads the index and counters after a bulk write, then enforces the caps; returns how
    /// many items were evicted.
    fn after_bulk_write(&self, st: &mut BankState, cause: EvictionCause) -> Result<usize> {
        self.note_write(st);
        self.save_ann(st);
        self.store.with_conn(|conn| {
            let (index, skipped) = load_index(conn)?;
            st.index = index;
            st.skipped_dims = skipped;
            st.index_stale = false;
            st.counts = read_counts(conn)?;
            st.own_memories = eviction::count_own_memories(conn)?;
            Ok(())
        })?;
        self.evict_if_needed(st, cause, None)
    }

    /// Links duplicates and contradictions and prunes stale memories (see the `consolidate` module).
    pub fn consolidate(&self) -> Result<ConsolidateReport> {
        let mut st = self.state.lock();
        let (report, pruned) = self.store.with_conn(|conn| {
            self.ensure_index(conn, &mut st)?;
            consolidate::run(conn, &st.index, self.kernel, &self.cfg)
        })?;
        self.note_write(&mut st);
        for id in &pruned {
            st.index.remove(id);
        }
        st.counts.memories = st.counts.memories.saturating_sub(pruned.len());
        if !pruned.is_empty() {
            st.own_memories = self.store.with_conn(|c| eviction::count_own_memories(c))?;
        }
        Ok(report)
    }

    /// Ids linked from `id` by `relation` in `pattern_links` (e.g. `contradicts`).
    pub fn links_from(&self, id: &str, relation: &str) -> Result<Vec<(String, f64)>> {
        check_id(id, "id")?;
        self.store.with_conn(|conn| {
            let mut stmt = conn.prepare("SELECT dst_id, weight FROM pattern_links WHERE src_id = ?1 AND relation = ?2 ORDER BY dst_id")?;
            let rows = stmt.query_map(params![id, relation], |r| Ok((r.get(0)?, r.get(1)?)))?;
            Ok(rows.collect::<std::result::Result<_, _>>()?)
        })
    }
}
