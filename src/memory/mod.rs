//! The persistent store and the reasoning bank.
//!
//! - [`Store`] (`store.rs`): one SQLite file (WAL, foreign keys, busy timeout) shared by every
//!   engine area through [`Store::with_conn`]; it holds agentic-flow's own tables, created
//!   exactly as agentic-flow creates them (`schema.rs`, `agentic_flow_schema.sql`), so an
//!   existing `.swarm/memory.db` works in place, and our tables prefixed `la_`.
//! - [`ReasoningBank`] (`bank.rs`): agentic-flow-compatible reasoning memories
//!   (`records.rs`), learnings, retrieval with agentic-flow's score and MMR (`retrieve.rs`) over
//!   an in-memory int8 + f32 matrix (`vector_index.rs`, kernels in `simd.rs`) or, near a
//!   million memories, a projected int8 sketch index saved beside the store (`sketch.rs`),
//!   FTS5 search
//!   (`fts.rs`), caps with eviction of what the engine wrote (`eviction.rs`), consolidation
//!   (`consolidate.rs`) and import/export of JSON and agentic-flow databases (`interop.rs`).
//! - `agentic_flow_db.rs`: agentic-flow's `db` query functions, statement for statement, for
//!   the `lean-agentic-native/agentic-flow` drop-in.
//! - `file_claims.rs`: one SQLite library per file per process — a file agentic-flow's
//!   better-sqlite3 holds open in this process is refused, a file the engine holds is guarded.
//! - [`HashEmbedder`] (`embed.rs`): the offline 384-dimension embedder used when callers pass
//!   no vectors.

mod agentic_flow_db;
mod backend;
mod bank;
mod clock;
mod compose;
mod config;
mod consolidate;
mod embed;
mod eviction;
mod file_claims;
mod fts;
mod interop;
mod parallel;
#[cfg(not(target_family = "wasm"))]
mod postgres;
mod records;
mod retrieve;
mod schema;
mod score;
mod simd;
mod sketch;
mod store;
mod transfer;
mod vector_index;
mod votes;

#[cfg(test)]
mod tests;

pub use agentic_flow_db::{run as run_agentic_flow_call, AgenticFlowCall, LINK_RELATIONS};
pub use backend::Bank;
pub use bank::{BankStats, ReasoningBank, Retrieved, SearchInfo, EXTERNAL_MODEL};
pub use clock::{iso_datetime, now_ms, parse_datetime, sqlite_datetime};
pub use config::{BankConfig, EvictMode, RetrieveOptions, ScoreWeights, MAX_K};
pub use consolidate::ConsolidateReport;
pub use embed::{HashEmbedder, HASH_DIMS};
pub use eviction::{EvictedKind, EvictionCause, EvictionReport, MAX_REPORTED_IDS};
pub use fts::{QueryHit, QueryOptions, QueryOrder};
pub use interop::{
    default_agentic_flow_db_path, resolve_agentic_flow_db_path, ExportReport, ImportReport,
};
#[cfg(not(target_family = "wasm"))]
pub use postgres::PgBank;
pub use records::{
    BankCounts, LearningInput, LearningRecord, MemoryInput, MemoryOutcome, MemoryRecord,
    MemorySource, PatternData, PatternSource,
};
pub use retrieve::ScoreComponents;
pub use schema::{AGENTIC_FLOW_SCHEMA, HASH_MODEL, MEMORY_TYPE};
pub use simd::Kernel;
pub use sketch::SketchIndex;
pub use store::Store;
pub use transfer::{EndpointSpec, Transfer, TransferProgress};
pub use vector_index::{normalize, quantize, VectorIndex};
pub use votes::VoteCounts;
