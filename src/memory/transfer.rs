//! Moving a bank between stores: SQLite (the embedded store, or an agentic-flow `memory.db`)
//! and PostgreSQL, either way (`lean-agentic migrate --from … --to …`).
//!
//! Rows are copied as they are — ids, raw `pattern_data`, confidence, usage counts,
//! `created_at`/`last_used`, embeddings bit for bit (LE f32 blobs ↔ pgvector float4), links and
//! learnings — with upserts, so a second run changes nothing and an interrupted run can simply
//! be run again. Memories go in batches (one transaction each, in the source's insertion order,
//! each batch reported for a progress bar); learnings and links follow in a last transaction,
//! when every memory a link names is there.

use std::sync::Arc;

use rusqlite::TransactionBehavior;
use serde::{Deserialize, Serialize};

#[cfg(not(target_family = "wasm"))]
use super::config::BankConfig;
use super::interop::{self, Document};
use super::schema::MEMORY_TYPE;
use super::store::Store;
#[cfg(not(target_family = "wasm"))]
use super::PgBank;
use crate::error::{err, ErrorCode, Result};

/// One end of a transfer (`{path}` or `{url, pgSchema?}`).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EndpointSpec {
    /// A SQLite file.
    pub path: Option<String>,
    /// A PostgreSQL URL.
    pub url: Option<String>,
    /// The PostgreSQL schema (default `public`).
    pub pg_schema: Option<String>,
}

enum Endpoint {
    Sqlite(Arc<Store>),
    #[cfg(not(target_family = "wasm"))]
    Postgres(Box<PgBank>),
}

/// How far a transfer is.
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TransferProgress {
    /// Memories copied so far.
    pub memories: usize,
    /// Memories in the source when the transfer started.
    pub total: usize,
    /// Embeddings copied so far.
    pub embeddings: usize,
    /// Learnings copied (set by the last step).
    pub learnings: usize,
    /// Links copied (set by the last step).
    pub links: usize,
    /// Items skipped (unreadable embeddings, links to missing memories).
    pub skipped: usize,
    /// Whether everything is copied.
    pub done: bool,
    /// Into an empty PostgreSQL bank: the HNSW index was built once at the end, in this many ms
    /// (0 otherwise).
    pub index_build_ms: u64,
}

/// A transfer in progress; [`Transfer::step`] copies the next batch.
pub struct Transfer {
    from: Endpoint,
    to: Endpoint,
    after: i64,
    progress: TransferProgress,
}

fn open_endpoint(spec: &EndpointSpec, what: &str) -> Result<Endpoint> {
    match (&spec.path, &spec.url) {
        (Some(path), None) => {
            if spec.pg_schema.is_some() {
                return err(ErrorCode::InvalidInput, format!("{what}.pgSchema goes with a PostgreSQL url, not a path"));
            }
            Ok(Endpoint::Sqlite(Arc::new(Store::open(path)?)))
        }
        (None, Some(url)) => {
            #[cfg(not(target_family = "wasm"))]
            {
                let mut cfg = BankConfig {
                    url: Some(url.clone()),
                    ..BankConfig::default()
                };
                if let Some(s) = &spec.pg_schema {
                    cfg.pg_schema = s.clone();
                }
                Ok(Endpoint::Postgres(Box::new(PgBank::open(cfg)?)))
            }
            #[cfg(target_family = "wasm")]
            {
                let _ = url;
                err(ErrorCode::Unsupported, "the WebAssembly build has no PostgreSQL client")
            }
        }
        _ => err(
            ErrorCode::InvalidInput,
            format!("{what} must name exactly one store: {{ path: 'file.db' }} or {{ url: 'postgres://…' }}"),
        ),
    }
}

impl Endpoint {
    fn memory_count(&self) -> Result<usize> {
        match self {
            Endpoint::Sqlite(store) => store.with_conn(|c| {
                let n: i64 = c.query_row(
                    "SELECT count(*) FROM patterns WHERE type = ?1",
                    [MEMORY_TYPE],
                    |r| r.get(0),
                )?;
                Ok(n as usize)
            }),
            #[cfg(not(target_family = "wasm"))]
            Endpoint::Postgres(b) => Ok(b.count()?.memories),
        }
    }

    fn read_page(&self, after: i64, limit: i64) -> Result<(Document, i64)> {
        let (memories, last) = match self {
            Endpoint::Sqlite(store) => {
                store.with_conn(|c| interop::read_memory_page(c, after, limit))?
            }
            #[cfg(not(target_family = "wasm"))]
            Endpoint::Postgres(b) => b.read_memory_page(after, limit)?,
        };
        Ok((
            Document {
                memories,
                learnings: Vec::new(),
                links: Vec::new(),
            },
            last,
        ))
    }

    fn read_rest(&self) -> Result<Document> {
        let (learnings, links) = match self {
            Endpoint::Sqlite(store) => {
                store.with_conn(|c| Ok((interop::read_learnings(c)?, interop::read_links(c)?)))?
            }
            #[cfg(not(target_family = "wasm"))]
            Endpoint::Postgres(b) => b.read_learnings_and_links()?,
        };
        Ok(Document {
            memories: Vec::new(),
            learnings,
            links,
        })
    }

    /// Writes rows as they are; returns `(embeddings, links, skipped)`.
    fn write(&self, mut doc: Document) -> Result<(usize, usize, usize)> {
        match self {
            Endpoint::Sqlite(store) => {
                let report = store.with_conn(|c| {
                    let dims: Option<i64> = c
                        .query_row(
                            "SELECT e.dims FROM patterns p JOIN pattern_embeddings e ON e.id = p.id WHERE p.type = ?1 LIMIT 1",
                            [MEMORY_TYPE],
                            |r| r.get(0),
                        )
                        .ok();
                    let skipped = interop::check_embedding_dims(&mut doc.memories, dims.unwrap_or(0) as usize, "the source")?;
                    let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
                    let (_, embeddings) = interop::write_memory_rows(&tx, &doc.memories, true)?;
                    interop::write_learnings(&tx, &doc.learnings)?;
                    let (links, skipped_links) = interop::write_links(&tx, &doc.links)?;
                    tx.commit()?;
                    Ok((embeddings, links, skipped + skipped_links))
                })?;
                Ok(report)
            }
            #[cfg(not(target_family = "wasm"))]
            Endpoint::Postgres(b) => {
                let r = b.write_document(doc)?;
                Ok((r.embeddings, r.links, r.skipped))
            }
        }
    }
}

impl Transfer {
    /// Opens both ends (creating the destination's tables when needed).
    pub fn open(from: &EndpointSpec, to: &EndpointSpec) -> Result<Transfer> {
        if from.path.is_some() && from.path == to.path
            || from.url.is_some() && from.url == to.url && from.pg_schema == to.pg_schema
        {
            return err(
                ErrorCode::InvalidInput,
                "from and to name the same store; nothing to migrate",
            );
        }
        let from_end = open_endpoint(from, "from")?;
        let to_end = open_endpoint(to, "to")?;
        #[cfg(not(target_family = "wasm"))]
        if let Endpoint::Postgres(b) = &to_end {
            b.begin_bulk_load()?;
        }
        let total = from_end.memory_count()?;
        Ok(Transfer {
            from: from_end,
            to: to_end,
            after: 0,
            progress: TransferProgress {
                memories: 0,
                total,
                embeddings: 0,
                learnings: 0,
                links: 0,
                skipped: 0,
                done: false,
                index_build_ms: 0,
            },
        })
    }

    /// Copies the next `batch` memories (1–100,000); after the last memory, the learnings and
    /// links. Returns the progress (with `done` once everything is copied).
    pub fn step(&mut self, batch: usize) -> Result<TransferProgress> {
        if !(1..=100_000).contains(&batch) {
            return err(
                ErrorCode::InvalidInput,
                format!("batch must be between 1 and 100000, got {batch}"),
            );
        }
        if self.progress.done {
            return Ok(self.progress.clone());
        }
        let (page, last) = self.from.read_page(self.after, batch as i64)?;
        if page.memories.is_empty() {
            let rest = self.from.read_rest()?;
            let learnings = rest.learnings.len();
            let (_, links, skipped) = self.to.write(rest)?;
            self.progress.learnings = learnings;
            self.progress.links = links;
            self.progress.skipped += skipped;
            #[cfg(not(target_family = "wasm"))]
            if let Endpoint::Postgres(b) = &self.to {
                self.progress.index_build_ms = b.end_bulk_load()?;
            }
            self.progress.done = true;
        } else {
            let n = page.memories.len();
            let (embeddings, _, skipped) = self.to.write(page)?;
            self.after = last;
            self.progress.memories += n;
            self.progress.embeddings += embeddings;
            self.progress.skipped += skipped;
            self.progress.total = self.progress.total.max(self.progress.memories);
        }
        Ok(self.progress.clone())
    }
}
