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
//!
//! The bank's work is split by what it does to the store: `index_sync.rs` keeps the in-memory
//! index (and the sketch index's side file) in step with the file, `write.rs` writes (stores,
//! deletes, imports, eviction), `read.rs` reads (lookups, retrieval, search, exports).

use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use parking_lot::Mutex;
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use serde::{Deserialize, Serialize};

use super::clock::{now_ms, parse_datetime};
use super::compose;
use super::config::{BankConfig, EvictMode, RetrieveOptions};
use super::consolidate::{self, ConsolidateReport};
use super::embed::{HashEmbedder, HASH_DIMS};
use super::eviction::{self, EvictedKind, EvictionCause, EvictionReport};
use super::fts::{self, QueryHit, QueryOptions, KIND_LEARNING, KIND_MEMORY};
use super::interop::{self, ExportReport, ImportReport};
use super::records::{
    blob_to_vector, check_id, vector_to_blob, BankCounts, LearningInput, LearningRecord,
    MemoryInput, MemoryOutcome, MemoryRecord, PatternData,
};
use super::retrieve::{self, ScoreComponents};
use super::schema::MEMORY_TYPE;
use super::simd::Kernel;
use super::sketch::SketchIndex;
use super::store::Store;
use super::vector_index::{check_dims, normalize, RowMeta, VectorIndex};
use super::votes;
use crate::error::{err, Error, ErrorCode, Result};

pub use super::compose::EXTERNAL_MODEL;

/// One retrieved memory with its score.
#[cfg_attr(test, derive(ts_rs::TS))]
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
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SearchInfo {
    /// Where the bank lives: `sqlite` (the embedded store) or `postgres` (`bank.url`).
    #[cfg_attr(test, ts(type = "'sqlite' | 'postgres'"))]
    pub backend: String,
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
    /// The candidates an approximate search re-scores: `annCandidates`, raised until the
    /// index's calibration reaches recall@10 0.95; `null` without an index, or when the index
    /// cannot rank this data (it would need more than an eighth of the rows) and retrieval
    /// scans exactly instead.
    pub candidates_in_use: Option<usize>,
    /// The share of true top-10 rows the calibration probes found among that many candidates
    /// (`annCandidates` when the index is not used); `null` without an index.
    pub calibrated_recall: Option<f64>,
}

/// Counts, caps and evictions of a bank ([`ReasoningBank::stats`]).
#[cfg_attr(test, derive(ts_rs::TS))]
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

mod index_sync;
mod read;
mod write;

use index_sync::{load_index, read_counts};
use read::read_record;

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
}
