//! Writing the PostgreSQL bank: each call one transaction, committed before it returns.

use std::sync::atomic::Ordering;

use pgvector::Vector;
use postgres::types::ToSql;
use postgres::Transaction;

use super::rows::{self, LEARNING_COLUMNS, RECORD_COLUMNS};
use super::{hnsw_type, ivf_fits, migrations, PgBank};
use crate::error::{Error, ErrorCode, Result};
use crate::memory::clock::{now_ms, parse_datetime};
use crate::memory::compose::{self, Existing};
use crate::memory::interop::{self, Document, ImportReport, PatternRow};
use crate::memory::records::{
    blob_to_vector, check_id, vector_to_blob, LearningInput, LearningRecord, MemoryInput,
    MemoryRecord, PatternData,
};
use crate::memory::vector_index::check_dims;
use crate::memory::votes::{self, VoteCounts};

/// From this many memories `reindex` (and the end of a bulk load) builds the IVF index over the
/// score instead of HNSW over the cosine (see [`PgBank::end_bulk_load`]).
pub const IVF_MIN_ROWS: usize = 100_000;

/// The IVF index's lists for `rows` memories: 1,000 (fewer only below `1000·rows_per_list`
/// memories), `√rows` past a million. What decides recall is how finely the lists cut the
/// embedding space, not how many rows each holds: with pgvector's `rows/1000` a 100,000-memory
/// bank got 100 lists, each a mix of ~20 of the benchmark's clusters, and 2 probes found 0.43 of
/// the top 10; 1,000 lists find 1.0 at 1M.
fn ivf_lists(rows: usize, rows_per_list: usize) -> usize {
    if rows <= 1_000_000 {
        (rows / rows_per_list.max(1)).clamp(1, 1000)
    } else {
        ((rows as f64).sqrt() as usize).min(32_768)
    }
}

/// Creates the HNSW index over embeddings of `dims` dimensions if it does not exist (see
/// [`hnsw_type`]; larger embeddings are always scanned exactly).
fn create_hnsw(tx: &mut Transaction<'_>, dims: usize) -> Result<()> {
    if let Some(t) = hnsw_type(dims) {
        tx.batch_execute(&format!(
            "CREATE INDEX IF NOT EXISTS la_memories_hnsw ON la_memories
             USING hnsw ((embedding::{t}({dims})) {t}_cosine_ops)"
        ))?;
    }
    Ok(())
}

/// A memory row to upsert.
struct Upsert<'a> {
    id: &'a str,
    data_text: &'a str,
    data: &'a PatternData,
    confidence: f64,
    usage_count: i64,
    created_at: &'a str,
    last_used: Option<&'a str>,
    /// `(model, vector, created_at)`: written when given, else the stored embedding is kept.
    embedding: Option<(&'a str, Vec<f32>, &'a str)>,
}

/// The upsert statements of a `store` (with and without an embedding), each prepared on its
/// first use in a transaction. An existing row keeps its usage count, `last_used` and creation
/// time (imports write rows as they are: [`upsert_rows`]).
struct MemoryStatements {
    /// `[without an embedding, with one]`.
    prepared: [Option<postgres::Statement>; 2],
}

impl MemoryStatements {
    fn new() -> MemoryStatements {
        MemoryStatements {
            prepared: [None, None],
        }
    }

    /// The statement for a row with or without an embedding (prepared once).
    fn statement(
        &mut self,
        tx: &mut Transaction<'_>,
        embedding: bool,
    ) -> Result<postgres::Statement> {
        if let Some(st) = &self.prepared[usize::from(embedding)] {
            return Ok(st.clone());
        }
        let (columns, values, set) = if embedding {
            (
                ", model, dims, embedding, embedding_created_at",
                ", $14, $15, $16, $17",
                ", model = excluded.model, dims = excluded.dims, embedding = excluded.embedding,
                   embedding_created_at = excluded.embedding_created_at",
            )
        } else {
            ("", "", "")
        };
        let st = tx.prepare(&format!(
            "INSERT INTO la_memories (id, pattern_data, title, description, content, domain, agent, outcome,
                confidence, usage_count, created_at, created_ms, last_used{columns})
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13{values})
             ON CONFLICT (id) DO UPDATE SET pattern_data = excluded.pattern_data, title = excluded.title,
                description = excluded.description, content = excluded.content, domain = excluded.domain,
                agent = excluded.agent, outcome = excluded.outcome, confidence = excluded.confidence{set}"
        ))?;
        self.prepared[usize::from(embedding)] = Some(st.clone());
        Ok(st)
    }

    /// Upserts a memory row (the embedding too when given).
    fn upsert(&mut self, tx: &mut Transaction<'_>, u: Upsert<'_>) -> Result<u64> {
        let created_ms = parse_datetime(u.created_at).unwrap_or(0);
        let outcome = rows::outcome_text(u.data.source.outcome);
        let d = u.data;
        let mut params: Vec<&(dyn ToSql + Sync)> = vec![
            &u.id,
            &u.data_text,
            &d.title,
            &d.description,
            &d.content,
            &d.domain,
            &d.source.agent_id,
            &outcome,
            &u.confidence,
            &u.usage_count,
            &u.created_at,
            &created_ms,
            &u.last_used,
        ];
        let embedding = u.embedding.map(|(model, vector, created)| {
            (model, vector.len() as i32, Vector::from(vector), created)
        });
        if let Some((model, dims, vector, created)) = &embedding {
            params.extend([model as &(dyn ToSql + Sync), dims, vector, created]);
        }
        let statement = self.statement(tx, embedding.is_some())?;
        let n = tx.execute(&statement, &params)?;
        Ok(n)
    }
}

/// Upserts learnings as they are (`created_at_ms` of an existing one kept when `keep_created`).
fn upsert_learnings(
    tx: &mut Transaction<'_>,
    learnings: &[LearningRecord],
    keep_created: bool,
) -> Result<()> {
    let created = if keep_created {
        ""
    } else {
        ", created_at_ms = excluded.created_at_ms"
    };
    let stmt = tx.prepare(&format!(
        "INSERT INTO la_learnings (id, pattern, outcome, reward, context, session, action, created_at_ms)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (id) DO UPDATE SET pattern = excluded.pattern, outcome = excluded.outcome,
           reward = excluded.reward, context = excluded.context, session = excluded.session,
           action = excluded.action{created}"
    ))?;
    for l in learnings {
        let context = l.context.as_ref().map(|c| c.to_string());
        tx.execute(
            &stmt,
            &[
                &l.id,
                &l.pattern,
                &l.outcome,
                &l.reward,
                &context,
                &l.session,
                &l.action,
                &l.created_at_ms,
            ],
        )?;
    }
    Ok(())
}

impl PgBank {
    /// The dimension of the bank's embeddings, fixed by the first one written (`dims`): recorded
    /// in `la_bank_meta` (the row's unique key serialises concurrent first writers), together
    /// with the HNSW index over them (unless `create_index` is false: a bulk load builds it at
    /// the end). Returns the bank's dimension.
    fn ensure_dims(
        &self,
        tx: &mut Transaction<'_>,
        dims: usize,
        create_index: bool,
    ) -> Result<usize> {
        if let Some(known) = self.dims(tx)? {
            return Ok(known);
        }
        let inserted = tx.execute(
            "INSERT INTO la_bank_meta (key, value) VALUES ('dims', $1) ON CONFLICT (key) DO NOTHING",
            &[&dims.to_string()],
        )?;
        if inserted == 1 {
            // Not cached: this transaction may still roll back.
            if create_index {
                create_hnsw(tx, dims)?;
            }
            return Ok(dims);
        }
        // Another writer's row, committed while this INSERT waited on it.
        self.dims(tx)?
            .ok_or_else(|| Error::new(ErrorCode::Internal, "la_bank_meta.dims vanished"))
    }

    /// Stores (creates or updates) a memory; returns it as stored.
    pub fn store(&self, m: MemoryInput) -> Result<MemoryRecord> {
        let id = compose::check_memory_input(&m)?;
        self.pool.with(|client| {
            let mut tx = client.transaction()?;
            // Locks the row (if it exists) until the commit: two stores of one id apply in turn.
            let old = tx.query_opt(
                "SELECT pattern_data, created_at, confidence, usage_count, model, embedding
                 FROM la_memories WHERE id = $1 FOR UPDATE",
                &[&id],
            )?;
            let existing = old.as_ref().map(|r| Existing {
                pattern_data: r.get(0),
                created_at: r.get(1),
                confidence: r.get(2),
                usage_count: r.get(3),
            });
            let old_embedding: Option<(String, Vec<u8>)> = old.as_ref().and_then(|r| {
                let model: Option<String> = r.get(4);
                let v: Option<Vector> = r.get(5);
                Some((model?, vector_to_blob(v?.as_slice())))
            });
            let c = compose::compose(
                &m,
                existing.as_ref(),
                old_embedding
                    .as_ref()
                    .map(|(model, blob)| (model.as_str(), blob.as_slice())),
                &self.embedder,
                now_ms(),
            )?;
            let what = compose::embedding_source(&m);
            let dims = self.ensure_dims(&mut tx, c.vector.len(), true)?;
            check_dims(dims, c.vector.len(), &what)?;
            let created = crate::memory::clock::sqlite_datetime(now_ms());
            let embedding = c
                .write_vector
                .then(|| (c.model.as_str(), c.vector.clone(), created.as_str()));
            let row = Upsert {
                id: &id,
                data_text: &c.data_text,
                data: &c.data,
                confidence: c.confidence,
                usage_count: 0,
                created_at: &c.created_at,
                last_used: None,
                embedding,
            };
            MemoryStatements::new().upsert(&mut tx, row)?;
            let row = tx.query_one(
                &format!("SELECT {RECORD_COLUMNS} FROM la_memories WHERE id = $1"),
                &[&id],
            )?;
            let record = rows::record(&row)?;
            tx.commit()?;
            Ok(record)
        })
    }

    /// Stores (creates or updates) a learning.
    pub fn store_learning(&self, l: LearningInput) -> Result<LearningRecord> {
        let id = compose::check_learning_input(&l)?;
        self.pool.with(|client| {
            let mut tx = client.transaction()?;
            let record = l.to_record(id.clone(), now_ms());
            upsert_learnings(&mut tx, std::slice::from_ref(&record), true)?;
            let created_at_ms: i64 = tx
                .query_one(
                    "SELECT created_at_ms FROM la_learnings WHERE id = $1",
                    &[&id],
                )?
                .get(0);
            tx.commit()?;
            Ok(LearningRecord {
                created_at_ms,
                ..record
            })
        })
    }

    /// Deletes the memory (with its links) or learning with this id; whether one was deleted.
    pub fn delete(&self, id: &str) -> Result<bool> {
        check_id(id, "id")?;
        self.pool.with(|client| {
            let mut tx = client.transaction()?;
            let mut n = tx.execute("DELETE FROM la_memories WHERE id = $1", &[&id])?;
            if n == 0 {
                n = tx.execute("DELETE FROM la_learnings WHERE id = $1", &[&id])?;
            }
            tx.commit()?;
            Ok(n > 0)
        })
    }

    /// Imports a JSON document made by `exportJson` (upserting by id, rows as they are). Nothing
    /// is written unless the whole document is valid.
    pub fn import_json(&self, v: &serde_json::Value) -> Result<ImportReport> {
        let doc = interop::parse_document(v)?;
        self.write_document(doc)
    }

    /// Writes rows as they are, in one transaction (upserts: running it twice changes nothing).
    pub(crate) fn write_document(&self, mut doc: Document) -> Result<ImportReport> {
        self.pool.with(|client| {
            let mut tx = client.transaction()?;
            let dims = self.dims(&mut tx)?;
            let skipped =
                interop::check_embedding_dims(&mut doc.memories, dims.unwrap_or(0), "the document")?;
            if let Some(d) = doc.memories.iter().find_map(|m| m.embedding.as_ref().map(|e| e.dims)) {
                self.ensure_dims(&mut tx, d as usize, !self.bulk.load(Ordering::Relaxed))?;
            }
            let embeddings = upsert_rows(&mut tx, &doc.memories)?;
            upsert_learnings(&mut tx, &doc.learnings, false)?;
            let mut links = 0;
            let mut skipped_links = 0;
            for l in &doc.links {
                let n = tx.execute(
                    "INSERT INTO la_links (src, dst, relation, weight, created_at)
                     SELECT $1, $2, $3, $4, $5
                     WHERE EXISTS (SELECT 1 FROM la_memories WHERE id = $1)
                       AND EXISTS (SELECT 1 FROM la_memories WHERE id = $2)
                     ON CONFLICT (src, dst, relation) DO UPDATE SET weight = excluded.weight, created_at = excluded.created_at",
                    &[&l.src, &l.dst, &l.relation, &l.weight, &l.created_at],
                )?;
                if n == 1 {
                    links += 1;
                } else {
                    skipped_links += 1;
                }
            }
            tx.commit()?;
            Ok(ImportReport {
                memories: doc.memories.len(),
                embeddings,
                learnings: doc.learnings.len(),
                links,
                skipped: skipped + skipped_links,
                evicted: 0,
            })
        })
    }
}

/// Writes one interop row as it is.
/// Rows per multi-row upsert of an import (17 parameters of that many elements each).
const ROWS_PER_STATEMENT: usize = 1000;

/// The multi-row upsert of imported memory rows: the rows as they are (usage counts and
/// creation times included), the stored embedding kept where a row has none.
const UPSERT_ROWS: &str =
    "INSERT INTO la_memories (id, pattern_data, title, description, content, domain, agent,
        outcome, confidence, usage_count, created_at, created_ms, last_used, model, dims, embedding,
        embedding_created_at)
     SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
        $7::text[], $8::text[], $9::float8[], $10::int8[], $11::text[], $12::int8[], $13::text[],
        $14::text[], $15::int4[], $16::public.vector[], $17::text[])
     ON CONFLICT (id) DO UPDATE SET pattern_data = excluded.pattern_data, title = excluded.title,
        description = excluded.description, content = excluded.content, domain = excluded.domain,
        agent = excluded.agent, outcome = excluded.outcome, confidence = excluded.confidence,
        usage_count = excluded.usage_count, last_used = excluded.last_used,
        created_at = excluded.created_at, created_ms = excluded.created_ms,
        model = CASE WHEN excluded.embedding IS NULL THEN la_memories.model ELSE excluded.model END,
        dims = CASE WHEN excluded.embedding IS NULL THEN la_memories.dims ELSE excluded.dims END,
        embedding = COALESCE(excluded.embedding, la_memories.embedding),
        embedding_created_at = CASE WHEN excluded.embedding IS NULL
            THEN la_memories.embedding_created_at ELSE excluded.embedding_created_at END";

/// Upserts imported memory rows, [`ROWS_PER_STATEMENT`] per statement (one round trip each
/// instead of one per row: 5,000 rows cost the server ~0.1 s without the vector index, and a
/// statement per row cost several times that); returns how many carried an embedding. A row
/// whose id comes again later in `rows` is left to the later one, as writing them one by one
/// would (one statement may not update a row twice).
fn upsert_rows(tx: &mut Transaction<'_>, rows: &[PatternRow]) -> Result<usize> {
    let mut last = std::collections::HashMap::with_capacity(rows.len());
    for (i, r) in rows.iter().enumerate() {
        last.insert(r.id.as_str(), i);
    }
    let kept: Vec<&PatternRow> = rows
        .iter()
        .enumerate()
        .filter(|(i, r)| last.get(r.id.as_str()) == Some(i))
        .map(|(_, r)| r)
        .collect();
    let statement = tx.prepare(UPSERT_ROWS)?;
    let mut embeddings = 0;
    for chunk in kept.chunks(ROWS_PER_STATEMENT) {
        let mut datas = Vec::with_capacity(chunk.len());
        for row in chunk {
            let data: PatternData = serde_json::from_str(&row.pattern_data).map_err(|e| {
                Error::new(
                    ErrorCode::InvalidJson,
                    format!("memory '{}' has unreadable patternData: {e}", row.id),
                )
            })?;
            datas.push(data);
        }
        let vectors: Vec<Option<(&str, Vector, &str)>> = chunk
            .iter()
            .map(|row| {
                row.embedding.as_ref().and_then(|e| {
                    blob_to_vector(&e.vector)
                        .map(|v| (e.model.as_str(), Vector::from(v), e.created_at.as_str()))
                })
            })
            .collect();
        embeddings += vectors.iter().flatten().count();
        let ids: Vec<&str> = chunk.iter().map(|r| r.id.as_str()).collect();
        let texts: Vec<&str> = chunk.iter().map(|r| r.pattern_data.as_str()).collect();
        let titles: Vec<&str> = datas.iter().map(|d| d.title.as_str()).collect();
        let descriptions: Vec<&str> = datas.iter().map(|d| d.description.as_str()).collect();
        let contents: Vec<&str> = datas.iter().map(|d| d.content.as_str()).collect();
        let domains: Vec<Option<&str>> = datas.iter().map(|d| d.domain.as_deref()).collect();
        let agents: Vec<Option<&str>> =
            datas.iter().map(|d| d.source.agent_id.as_deref()).collect();
        let outcomes: Vec<&str> = datas
            .iter()
            .map(|d| rows::outcome_text(d.source.outcome))
            .collect();
        let confidences: Vec<f64> = chunk.iter().map(|r| r.confidence).collect();
        let usage: Vec<i64> = chunk.iter().map(|r| r.usage_count).collect();
        let created_at: Vec<&str> = chunk.iter().map(|r| r.created_at.as_str()).collect();
        let created_ms: Vec<i64> = chunk
            .iter()
            .map(|r| parse_datetime(&r.created_at).unwrap_or(0))
            .collect();
        let last_used: Vec<Option<&str>> = chunk.iter().map(|r| r.last_used.as_deref()).collect();
        let models: Vec<Option<&str>> = vectors.iter().map(|v| v.as_ref().map(|v| v.0)).collect();
        let dims: Vec<Option<i32>> = vectors
            .iter()
            .map(|v| v.as_ref().map(|v| v.1.as_slice().len() as i32))
            .collect();
        let embedding_created: Vec<Option<&str>> =
            vectors.iter().map(|v| v.as_ref().map(|v| v.2)).collect();
        let vectors: Vec<Option<Vector>> = vectors.into_iter().map(|v| v.map(|v| v.1)).collect();
        tx.execute(
            &statement,
            &[
                &ids,
                &texts,
                &titles,
                &descriptions,
                &contents,
                &domains,
                &agents,
                &outcomes,
                &confidences,
                &usage,
                &created_at,
                &created_ms,
                &last_used,
                &models,
                &dims,
                &vectors,
                &embedding_created,
            ],
        )?;
    }
    Ok(embeddings)
}

impl PgBank {
    /// Starts a bulk load (`lean-agentic migrate` into an empty bank): while it lasts, the HNSW
    /// index is not maintained row by row (dropped if present); [`Self::end_bulk_load`] builds it
    /// once over all rows, which is many times faster. Returns false (and changes nothing) when
    /// the bank already has memories: then rows are indexed as they come, as always.
    pub fn begin_bulk_load(&self) -> Result<bool> {
        let empty = self.pool.with(|c| {
            Ok(
                c.query_one("SELECT NOT EXISTS (SELECT 1 FROM la_memories)", &[])?
                    .get::<_, bool>(0),
            )
        })?;
        if empty {
            self.pool.with(|c| {
                Ok(c.batch_execute(
                    "DROP INDEX IF EXISTS la_memories_hnsw; DROP INDEX IF EXISTS la_memories_ivf",
                )?)
            })?;
            self.bulk.store(true, Ordering::Relaxed);
        }
        Ok(empty)
    }

    /// Ends a bulk load: after one begun on an empty bank, builds the index for the bank's size
    /// ([`Self::reindex`]); otherwise makes sure the bank has an index (HNSW if it has neither,
    /// e.g. after a migration stopped half way). Returns how long that took, ms.
    pub fn end_bulk_load(&self) -> Result<u64> {
        let began_empty = self.bulk.swap(false, Ordering::Relaxed);
        self.build_index(began_empty.then_some(IVF_MIN_ROWS), 100)
    }

    /// Builds the index for the bank's size (`bank.reindex()`) and returns how long that took,
    /// ms. With `maintenance_work_mem` raised for the build and PostgreSQL's parallel workers, in
    /// one transaction (writers wait for it; readers do not).
    ///
    /// - From [`IVF_MIN_ROWS`] memories (and up to 1,998 dimensions): the IVF index over the
    ///   score (`la_memories_ivf`, `migrations::ivf_index_sql`), 1,000 lists (`√rows` past a
    ///   million; see [`ivf_lists`]), built afresh — its lists are k-means centres of the rows
    ///   present now, so a bank that has grown several times over should be reindexed — and the
    ///   HNSW index dropped: inserts then cost an assignment to the nearest list instead of a
    ///   graph insertion.
    /// - Below: the HNSW index, if the bank has neither.
    pub fn reindex(&self) -> Result<u64> {
        self.build_index(Some(IVF_MIN_ROWS), 100)
    }

    /// [`Self::reindex`] from `ivf_from` memories with `rows_per_list` (tests build small IVF
    /// indexes); `None`: only make sure there is an index.
    pub(crate) fn build_index(&self, ivf_from: Option<usize>, rows_per_list: usize) -> Result<u64> {
        let started = std::time::Instant::now();
        self.pool.with(|c| {
            let mut tx = c.transaction()?;
            if let Some(dims) = self.dims(&mut tx)? {
                tx.batch_execute(
                    "SET LOCAL maintenance_work_mem = '2GB'; SET LOCAL statement_timeout = 0",
                )?;
                // Counted only when it decides (a count of a million rows takes most of a second).
                let rows = match ivf_from {
                    Some(_) if ivf_fits(dims) => tx
                        .query_one("SELECT count(*) FROM la_memories WHERE embedding IS NOT NULL", &[])?
                        .get::<_, i64>(0) as usize,
                    _ => 0,
                };
                let has_ivf = migrations::ivf_exists(&mut tx)?;
                match ivf_from {
                    Some(from) if ivf_fits(dims) && rows >= from.max(1) => {
                        let lists = ivf_lists(rows, rows_per_list);
                        tx.batch_execute(&format!(
                            "DROP INDEX IF EXISTS la_memories_ivf; DROP INDEX IF EXISTS la_memories_hnsw; {}",
                            migrations::ivf_index_sql("la_memories_ivf", dims, lists)
                        ))?;
                    }
                    _ if has_ivf => {}
                    _ => create_hnsw(&mut tx, dims)?,
                }
            }
            tx.commit()?;
            Ok(())
        })?;
        self.forget_index_kind();
        Ok(started.elapsed().as_millis() as u64)
    }

    /// Counts one consensus round for a swarm agent (see `votes.rs`): the row is created if
    /// missing, then held (`FOR UPDATE`) until the commit, so concurrent rounds on other machines
    /// apply one after the other and never lose a count.
    pub fn record_vote(&self, agent_id: &str, agreed: bool, run_id: &str) -> Result<VoteCounts> {
        let id = votes::check_agent(agent_id)?;
        self.pool.with(|client| {
            let mut tx = client.transaction()?;
            tx.execute(
                "INSERT INTO la_learnings (id, pattern, outcome, reward, created_at_ms) VALUES ($1, $2, 'Success', 0.5, $3)
                 ON CONFLICT (id) DO NOTHING",
                &[&id, &format!("{}{agent_id}", votes::VOTE_PATTERN_PREFIX), &now_ms()],
            )?;
            let row = tx.query_one(&format!("SELECT {LEARNING_COLUMNS} FROM la_learnings WHERE id = $1 FOR UPDATE"), &[&id])?;
            let old = rows::learning(&row)?;
            let record = votes::next_record(&id, agent_id, Some(&old), agreed, run_id, now_ms());
            upsert_learnings(&mut tx, std::slice::from_ref(&record), false)?;
            tx.commit()?;
            votes::counts_of(&record).ok_or_else(|| Error::new(ErrorCode::Internal, "a vote record without counts"))
        })
    }

    /// Every swarm agent's vote counts, by agent id.
    pub fn vote_counts(&self) -> Result<Vec<VoteCounts>> {
        self.pool.with(|c| {
            let found = c.query(
                &format!("SELECT {LEARNING_COLUMNS} FROM la_learnings WHERE id >= $1 AND id < $2 ORDER BY id"),
                &[&votes::ID_RANGE[0], &votes::ID_RANGE[1]],
            )?;
            let mut out = Vec::new();
            for r in &found {
                if let Some(v) = votes::counts_of(&rows::learning(r)?) {
                    out.push(v);
                }
            }
            Ok(out)
        })
    }
}
