//! The bank an engine uses: the embedded SQLite bank or the shared PostgreSQL bank, behind one
//! set of methods, so the binding, the bridge and the hooks do not know which (`bank.url`
//! chooses; see `postgres/mod.rs`).
//!
//! The PostgreSQL bank does everything `sys.bank.*` does except what is tied to one machine's
//! files: copying to and from an agentic-flow `memory.db` (`importAgenticFlow` /
//! `exportAgenticFlow`: migrate to SQLite, or use `lean-agentic migrate`) and consolidation;
//! those answer `ERR_UNSUPPORTED` with what to use instead. Caps and eviction are not applied to
//! a shared bank (every writer would evict the others' memories); `stats()` reports the caps.

use super::bank::{BankStats, ReasoningBank, Retrieved, SearchInfo};
use super::config::{BankConfig, RetrieveOptions};
use super::consolidate::ConsolidateReport;
use super::eviction::EvictionReport;
use super::fts::{QueryHit, QueryOptions};
use super::interop::{ExportReport, ImportReport};
use super::records::{BankCounts, LearningInput, LearningRecord, MemoryInput, MemoryRecord};
use super::votes::VoteCounts;
#[cfg(not(target_family = "wasm"))]
use super::PgBank;
use crate::error::{err, ErrorCode, Result};

/// The engine's reasoning bank.
#[derive(Debug)]
pub enum Bank {
    /// The embedded SQLite bank (the default).
    Sqlite(Box<ReasoningBank>),
    /// The shared PostgreSQL bank (`bank.url`).
    #[cfg(not(target_family = "wasm"))]
    Postgres(std::sync::Arc<PgBank>),
}

/// Calls the same method on whichever bank this is.
macro_rules! either {
    ($self:ident, $b:ident => $e:expr) => {
        match $self {
            Bank::Sqlite($b) => $e,
            #[cfg(not(target_family = "wasm"))]
            Bank::Postgres($b) => $e,
        }
    };
}

#[cfg(not(target_family = "wasm"))]
fn not_on_postgres<T>(what: &str, instead: &str) -> Result<T> {
    err(
        ErrorCode::Unsupported,
        format!("{what} is not available on a PostgreSQL bank (bank.url); {instead}"),
    )
}

impl Bank {
    /// Opens the bank `cfg` names: PostgreSQL when `cfg.url` is set, else the SQLite bank over
    /// `store`.
    pub fn open(store: std::sync::Arc<super::Store>, cfg: BankConfig) -> Result<Bank> {
        if cfg.url.is_some() {
            #[cfg(not(target_family = "wasm"))]
            return Ok(Bank::Postgres(std::sync::Arc::new(PgBank::open(cfg)?)));
            #[cfg(target_family = "wasm")]
            return err(
                ErrorCode::Unsupported,
                "the WebAssembly build has no PostgreSQL client; use a native build for bank.url",
            );
        }
        Ok(Bank::Sqlite(Box::new(ReasoningBank::open(store, cfg)?)))
    }

    /// The PostgreSQL bank, when the bank is one (the step journal writes there too).
    #[cfg(not(target_family = "wasm"))]
    pub fn postgres(&self) -> Option<std::sync::Arc<PgBank>> {
        match self {
            Bank::Postgres(b) => Some(b.clone()),
            Bank::Sqlite(_) => None,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &BankConfig {
        either!(self, b => b.config())
    }

    /// Stores (creates or updates) a memory.
    pub fn store(&self, m: MemoryInput) -> Result<MemoryRecord> {
        either!(self, b => b.store(m))
    }

    /// Stores (creates or updates) a learning.
    pub fn store_learning(&self, l: LearningInput) -> Result<LearningRecord> {
        either!(self, b => b.store_learning(l))
    }

    /// A memory by id.
    pub fn get(&self, id: &str) -> Result<Option<MemoryRecord>> {
        either!(self, b => b.get(id))
    }

    /// A learning by id.
    pub fn get_learning(&self, id: &str) -> Result<Option<LearningRecord>> {
        either!(self, b => b.get_learning(id))
    }

    /// The most recently stored memories, newest first.
    pub fn recent(&self, limit: usize) -> Result<Vec<MemoryRecord>> {
        either!(self, b => b.recent(limit))
    }

    /// Numbers of memories and learnings.
    pub fn count(&self) -> Result<BankCounts> {
        either!(self, b => b.count())
    }

    /// Retrieval with agentic-flow's scoring and MMR.
    pub fn retrieve(&self, query: &str, opts: &RetrieveOptions) -> Result<Vec<Retrieved>> {
        either!(self, b => b.retrieve(query, opts))
    }

    /// Full-text search.
    pub fn query(&self, pattern: &str, opts: &QueryOptions) -> Result<Vec<QueryHit>> {
        either!(self, b => b.query(pattern, opts))
    }

    /// Deletes a memory or learning by id.
    pub fn delete(&self, id: &str) -> Result<bool> {
        either!(self, b => b.delete(id))
    }

    /// Links from a memory with a relation.
    pub fn links_from(&self, id: &str, relation: &str) -> Result<Vec<(String, f64)>> {
        either!(self, b => b.links_from(id, relation))
    }

    /// Counts one consensus round for a swarm agent (atomic across processes and machines).
    pub fn record_vote(&self, agent_id: &str, agreed: bool, run_id: &str) -> Result<VoteCounts> {
        either!(self, b => b.record_vote(agent_id, agreed, run_id))
    }

    /// Every swarm agent's vote counts.
    pub fn vote_counts(&self) -> Result<Vec<VoteCounts>> {
        either!(self, b => b.vote_counts())
    }

    /// Imports a JSON document.
    pub fn import_json(&self, v: &serde_json::Value) -> Result<ImportReport> {
        either!(self, b => b.import_json(v))
    }

    /// Exports everything as a JSON document.
    pub fn export_json(&self) -> Result<serde_json::Value> {
        either!(self, b => b.export_json())
    }

    /// Counts, caps and evictions.
    pub fn stats(&self) -> Result<BankStats> {
        match self {
            Bank::Sqlite(b) => b.stats(),
            #[cfg(not(target_family = "wasm"))]
            Bank::Postgres(b) => {
                let counts = b.count()?;
                let cfg = b.config();
                Ok(BankStats {
                    memories: counts.memories,
                    own_memories: counts.memories,
                    learnings: counts.learnings,
                    max_memories: cfg.max_memories,
                    max_learnings: cfg.max_learnings,
                    evict: super::EvictMode::None,
                    evicted_memories: 0,
                    evicted_learnings: 0,
                    evictions: 0,
                    last_eviction: None,
                })
            }
        }
    }

    /// How retrieval searches this bank.
    pub fn search_info(&self) -> Result<SearchInfo> {
        match self {
            Bank::Sqlite(b) => Ok(b.search_info()),
            #[cfg(not(target_family = "wasm"))]
            Bank::Postgres(b) => b.search_info(),
        }
    }

    /// Eviction runs since the last call (none on PostgreSQL).
    pub fn take_evictions(&self) -> Vec<EvictionReport> {
        match self {
            Bank::Sqlite(b) => b.take_evictions(),
            #[cfg(not(target_family = "wasm"))]
            Bank::Postgres(_) => Vec::new(),
        }
    }

    /// Writes the SQLite bank's approximate-index side file (nothing to do on PostgreSQL).
    pub fn flush_index(&self) -> Result<()> {
        match self {
            Bank::Sqlite(b) => b.flush_index(),
            #[cfg(not(target_family = "wasm"))]
            Bank::Postgres(_) => Ok(()),
        }
    }

    /// Starts a bulk load into an empty PostgreSQL bank (the HNSW index is built once by
    /// [`Self::end_bulk_load`]); false when there is nothing to defer (SQLite, or a bank that
    /// already has memories).
    pub fn begin_bulk_load(&self) -> Result<bool> {
        match self {
            Bank::Sqlite(_) => Ok(false),
            #[cfg(not(target_family = "wasm"))]
            Bank::Postgres(b) => b.begin_bulk_load(),
        }
    }

    /// Ends a bulk load: builds the PostgreSQL bank's HNSW index if it is missing; returns how
    /// long that took, ms (0 on SQLite).
    pub fn end_bulk_load(&self) -> Result<u64> {
        match self {
            Bank::Sqlite(_) => Ok(0),
            #[cfg(not(target_family = "wasm"))]
            Bank::Postgres(b) => b.end_bulk_load(),
        }
    }

    /// Builds the vector index for the bank's size (PostgreSQL; see `PgBank::reindex`); ms. The
    /// SQLite bank's index keeps itself: 0.
    pub fn reindex(&self) -> Result<u64> {
        match self {
            Bank::Sqlite(_) => Ok(0),
            #[cfg(not(target_family = "wasm"))]
            Bank::Postgres(b) => b.reindex(),
        }
    }

    /// Links duplicates and contradictions, prunes stale memories (SQLite bank only).
    pub fn consolidate(&self) -> Result<ConsolidateReport> {
        match self {
            Bank::Sqlite(b) => b.consolidate(),
            #[cfg(not(target_family = "wasm"))]
            Bank::Postgres(_) => not_on_postgres(
                "consolidate()",
                "run it on a SQLite bank (lean-agentic migrate) and migrate back",
            ),
        }
    }

    /// Copies an agentic-flow database's memories in (SQLite bank only).
    pub fn import_agentic_flow(&self, db_path: &str) -> Result<ImportReport> {
        match self {
            Bank::Sqlite(b) => b.import_agentic_flow(db_path),
            #[cfg(not(target_family = "wasm"))]
            Bank::Postgres(_) => not_on_postgres(
                "importAgenticFlow()",
                "run `lean-agentic migrate --from <memory.db> --to <url>`",
            ),
        }
    }

    /// Copies the bank's memories into an agentic-flow database (SQLite bank only).
    pub fn export_agentic_flow(&self, db_path: &str) -> Result<ExportReport> {
        match self {
            Bank::Sqlite(b) => b.export_agentic_flow(db_path),
            #[cfg(not(target_family = "wasm"))]
            Bank::Postgres(_) => not_on_postgres(
                "exportAgenticFlow()",
                "run `lean-agentic migrate --from <url> --to <memory.db>`",
            ),
        }
    }
}
