//! Reading the PostgreSQL bank: lookups, retrieval (HNSW candidates, native exact scoring),
//! full-text search on PostgreSQL's text search, and exports.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use pgvector::Vector;
use postgres::types::ToSql;

use super::rows::{self, LEARNING_COLUMNS, PATTERN_ROW_COLUMNS, RECORD_COLUMNS};
use super::{migrations, PgBank};
use crate::error::Result;
use crate::memory::bank::Retrieved;
use crate::memory::clock::{now_ms, sqlite_datetime};
use crate::memory::compose;
use crate::memory::config::RetrieveOptions;
use crate::memory::embed::HASH_DIMS;
use crate::memory::fts::{self, QueryHit, QueryOptions, QueryOrder};
use crate::memory::interop::{self, Document, LinkRow, PatternRow};
use crate::memory::records::{check_id, LearningRecord, MemoryOutcome, MemoryRecord};
use crate::memory::retrieve;
use crate::memory::score::{age_days, recency};
use crate::memory::vector_index::{check_dims, normalize, RowMeta, VectorIndex};

/// The candidates' columns: what the score and the filters need, and the exact vector.
const CANDIDATE_COLUMNS: &str =
    "id, confidence, usage_count, created_ms, domain, agent, outcome, embedding";

/// The longest candidate list (pgvector's `hnsw.ef_search` tops out at 1,000).
const MAX_LIST: usize = 1000;

/// The filters of a retrieval as SQL (`$1`… in order) and their parameters.
fn filter_sql(opts: &RetrieveOptions) -> (String, Vec<&(dyn ToSql + Sync)>) {
    let mut filters = String::from("embedding IS NOT NULL AND confidence >= $1");
    let mut params: Vec<&(dyn ToSql + Sync)> = vec![&opts.min_confidence];
    if let Some(d) = &opts.domain {
        params.push(d);
        filters.push_str(&format!(" AND domain = ${}", params.len()));
    }
    if let Some(a) = &opts.agent {
        params.push(a);
        filters.push_str(&format!(" AND agent = ${}", params.len()));
    }
    (filters, params)
}

/// Adds rows selected with [`CANDIDATE_COLUMNS`] to an index (a row seen twice once).
fn add_rows(index: &mut VectorIndex, found: &[postgres::Row]) -> Result<()> {
    for r in found {
        let id: &str = r.try_get(0)?;
        if index.row_of(id).is_some() {
            continue;
        }
        let v: Vector = r.try_get(7)?;
        let outcome: String = r.try_get(6)?;
        let meta = RowMeta {
            confidence: r.try_get(1)?,
            usage_count: r.try_get(2)?,
            created_ms: r.try_get(3)?,
            domain: r.try_get::<_, Option<String>>(4)?.map(Arc::from),
            agent: r.try_get::<_, Option<String>>(5)?.map(Arc::from),
            outcome: MemoryOutcome::parse(&outcome).unwrap_or_default(),
        };
        index.upsert(id, v.as_slice(), meta)?;
    }
    Ok(())
}

impl PgBank {
    /// The memory with this id, if any.
    pub fn get(&self, id: &str) -> Result<Option<MemoryRecord>> {
        check_id(id, "id")?;
        self.pool.with(|c| {
            c.query_opt(
                &format!("SELECT {RECORD_COLUMNS} FROM la_memories WHERE id = $1"),
                &[&id],
            )?
            .map(|r| rows::record(&r))
            .transpose()
        })
    }

    /// The learning with this id, if any.
    pub fn get_learning(&self, id: &str) -> Result<Option<LearningRecord>> {
        check_id(id, "id")?;
        self.pool.with(|c| {
            c.query_opt(
                &format!("SELECT {LEARNING_COLUMNS} FROM la_learnings WHERE id = $1"),
                &[&id],
            )?
            .map(|r| rows::learning(&r))
            .transpose()
        })
    }

    /// The `limit` most recently inserted memories (at most 1,000), newest first.
    pub fn recent(&self, limit: usize) -> Result<Vec<MemoryRecord>> {
        let limit = limit.min(1000) as i64;
        self.pool.with(|c| {
            c.query(
                &format!("SELECT {RECORD_COLUMNS} FROM la_memories ORDER BY seq DESC LIMIT $1"),
                &[&limit],
            )?
            .iter()
            .map(rows::record)
            .collect()
        })
    }

    /// Links from a memory with this relation: `(dst, weight)` by `dst`.
    pub fn links_from(&self, id: &str, relation: &str) -> Result<Vec<(String, f64)>> {
        check_id(id, "id")?;
        self.pool.with(|c| {
            Ok(c.query(
                "SELECT dst, weight FROM la_links WHERE src = $1 AND relation = $2 ORDER BY dst",
                &[&id, &relation],
            )?
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect())
        })
    }

    /// Retrieves the top memories for `query` with agentic-flow's scoring and MMR, scored
    /// natively on candidates (every row passing the filters with `exact: true`). See
    /// [`candidates`](Self::candidates) for how they are chosen.
    pub fn retrieve(&self, query: &str, opts: &RetrieveOptions) -> Result<Vec<Retrieved>> {
        opts.validate()?;
        let query_vector = compose::query_vector(&self.embedder, query, opts)?;
        self.pool.with(|client| {
            let mut tx = client.transaction()?;
            let Some(dims) = self.dims(&mut tx)? else {
                return Ok(Vec::new());
            };
            let what = if opts.embedding.is_some() {
                "the query embedding".to_string()
            } else {
                format!("the built-in {HASH_DIMS}-dimensional query embedding (pass `embedding` computed with the store's model)")
            };
            check_dims(dims, query_vector.len(), &what)?;
            let now = now_ms();
            let approximate = !opts.exact && super::hnsw_type(dims).is_some();
            let index = if approximate {
                self.candidates(&mut tx, dims, &query_vector, opts, now)?
            } else {
                let (filters, params) = filter_sql(opts);
                let found = tx.query(
                    &format!("SELECT {CANDIDATE_COLUMNS}, 0 FROM la_memories WHERE {filters} ORDER BY seq"),
                    &params,
                )?;
                let mut index = VectorIndex::new();
                add_rows(&mut index, &found)?;
                index
            };
            self.last_approximate.store(approximate, Ordering::Relaxed);
            let selected = retrieve::select(&index, self.kernel, &query_vector, opts, now, None);
            let ids: Vec<String> = selected.iter().map(|s| index.id(s.row).to_string()).collect();
            // The usage counts are incremented by the database (no lost updates between
            // processes); the records come back from the same statement.
            let found = if self.cfg.record_usage {
                tx.query(
                    &format!(
                        "UPDATE la_memories SET usage_count = usage_count + 1, last_used = $2
                         WHERE id = ANY($1) RETURNING {RECORD_COLUMNS}"
                    ),
                    &[&ids, &sqlite_datetime(now)],
                )?
            } else {
                tx.query(&format!("SELECT {RECORD_COLUMNS} FROM la_memories WHERE id = ANY($1)"), &[&ids])?
            };
            tx.commit()?;
            let mut records: HashMap<String, MemoryRecord> = HashMap::with_capacity(found.len());
            for r in &found {
                let m = rows::record(r)?;
                records.insert(m.id.clone(), m);
            }
            Ok(selected
                .iter()
                .zip(&ids)
                .filter_map(|(s, id)| {
                    records.remove(id).map(|memory| Retrieved {
                        memory,
                        score: s.score,
                        components: s.components,
                    })
                })
                .collect())
        })
    }

    /// The candidates of an approximate retrieval. The score is `α·cos + β·recency + γ·confidence`,
    /// so a row can win by its cosine or by its prior (a recent, confident row with a middling
    /// cosine). Candidates come from lists read from indexes, in one statement, with the filters:
    /// the HNSW index's `n` nearest rows by cosine, and
    /// - with the default weights and half-life, the `n` rows of highest prior from the prior
    ///   index (`migrations::prior_sql`: the prior with recency taken at a fixed reference time;
    ///   recency decays at the same rate for every row, so a row's prior now is at most
    ///   `exp(1/45)` times its indexed value);
    /// - otherwise the `n` newest and the `n` most confident rows.
    ///
    /// A row in no list has a cosine at most the last nearest row's and a prior at most the
    /// last prior-list row's bound, so its score is at most their weighted sum (Fagin's
    /// threshold). When the k-th best candidate scores below that bound, `n` doubles (up to 1,000
    /// per list) and the lists are read again. The top k is then exact up to the HNSW index's own
    /// approximation of the nearest rows; MMR picks among the candidates.
    fn candidates(
        &self,
        tx: &mut postgres::Transaction<'_>,
        dims: usize,
        query: &[f32],
        opts: &RetrieveOptions,
        now: i64,
    ) -> Result<VectorIndex> {
        let unit = normalize(query);
        let q = Vector::from(query.to_vec());
        let w = opts.weights;
        let plain = RetrieveOptions {
            mmr_lambda: 1.0,
            embedding: None,
            ..opts.clone()
        };
        let defaults = RetrieveOptions::default();
        let prior_index = w == defaults.weights && opts.half_life_days == defaults.half_life_days;
        let prior = migrations::prior_sql(self.prior_ref_ms);
        let t = super::hnsw_type(dims).unwrap_or("vector");
        let mut n = self.cfg.hnsw_candidates.max(opts.k * 4).min(MAX_LIST);
        loop {
            let (filters, mut params) = filter_sql(opts);
            params.push(&q);
            let qp = params.len();
            tx.batch_execute(&format!(
                "SET LOCAL hnsw.ef_search = {n}; SET LOCAL hnsw.iterative_scan = relaxed_order"
            ))?;
            let nearest = format!(
                "(SELECT {CANDIDATE_COLUMNS}, 0 FROM la_memories WHERE {filters}
                  ORDER BY embedding::{t}({dims}) <=> (${qp}::vector)::{t}({dims}) LIMIT {n})"
            );
            let sql = if prior_index {
                format!(
                    "{nearest} UNION ALL
                     (SELECT {CANDIDATE_COLUMNS}, 1 FROM la_memories WHERE {filters} ORDER BY {prior} DESC LIMIT {n})"
                )
            } else {
                format!(
                    "{nearest} UNION ALL
                     (SELECT {CANDIDATE_COLUMNS}, 2 FROM la_memories WHERE {filters} ORDER BY created_ms DESC LIMIT {n})
                     UNION ALL
                     (SELECT {CANDIDATE_COLUMNS}, 3 FROM la_memories WHERE {filters} ORDER BY confidence DESC LIMIT {n})"
                )
            };
            let found = tx.query(&sql, &params)?;
            let mut index = VectorIndex::new();
            add_rows(&mut index, &found)?;
            // The bound on every row outside the lists (a list shorter than `n` holds every
            // row: then nothing is outside).
            let mut counts = [0usize; 4];
            let mut cos_n = f64::INFINITY;
            let mut prior_n = f64::INFINITY;
            let mut created_n = i64::MAX;
            let mut conf_n = f64::INFINITY;
            for r in &found {
                let list: i32 = r.try_get(8)?;
                counts[list as usize] += 1;
                let row = index.row_of(r.try_get::<_, &str>(0)?).unwrap_or(0);
                match list {
                    0 => cos_n = cos_n.min(f64::from(self.kernel.dot_f32(&unit, index.unit(row)))),
                    1 => {
                        let exponent = ((index.created_ms(row) - self.prior_ref_ms) as f64
                            / 3_888_000_000.0)
                            .clamp(-700.0, 700.0);
                        let at_ref = 0.15 * exponent.exp() + 0.2 * index.confidence(row).min(1.0);
                        prior_n = prior_n.min(at_ref);
                    }
                    2 => created_n = created_n.min(index.created_ms(row)),
                    _ => conf_n = conf_n.min(index.confidence(row)),
                }
            }
            let lists: &[usize] = if prior_index { &[0, 1] } else { &[0, 2, 3] };
            if lists.iter().any(|&l| counts[l] < n) || n >= MAX_LIST || index.len() <= opts.k {
                return Ok(index);
            }
            let prior_bound = if prior_index {
                // Whole-day ages round recency up by at most a day, and a reference time in the
                // future (a clock set back) only raises the indexed value.
                prior_n * (1.0 / opts.half_life_days).exp()
            } else {
                w.recency * recency(age_days(now, created_n) as f64, opts.half_life_days)
                    + w.reliability * conf_n.min(1.0)
            };
            let bound = w.similarity * cos_n + prior_bound;
            let top = retrieve::select(&index, self.kernel, query, &plain, now, None);
            if top.last().is_some_and(|kth| kth.score >= bound) {
                return Ok(index);
            }
            n = (n * 2).min(MAX_LIST);
        }
    }

    /// Full-text search over memories (title, description, content) and learnings (pattern),
    /// on PostgreSQL's text search (`simple` configuration: words as they are, like the SQLite
    /// store's FTS5 tokenizer); `relevance` is `ts_rank`.
    pub fn query(&self, pattern: &str, opts: &QueryOptions) -> Result<Vec<QueryHit>> {
        fts::check_query(pattern, opts)?;
        let terms: Vec<String> = fts::query_terms(pattern)
            .iter()
            .map(|w| w.to_lowercase())
            .collect();
        if terms.is_empty() {
            return Ok(Vec::new());
        }
        let order = match opts.order {
            QueryOrder::Relevance => "rank DESC",
            QueryOrder::Reward => "value DESC NULLS LAST, rank DESC",
        };
        let limit = opts.limit as i64;
        self.pool.with(|c| {
            let rows = c.query(
                &format!(
                    "WITH q AS (SELECT to_tsquery('simple', array_to_string(
                                  ARRAY(SELECT quote_literal(t) FROM unnest($1::text[]) t), ' | ')) AS q)
                     SELECT kind, id, title, text, created_ms, rank, value FROM (
                        SELECT 'memory' AS kind, m.id, m.title, m.content AS text, m.created_ms,
                               ts_rank(m.tsv, q.q)::float8 AS rank, m.confidence AS value
                        FROM la_memories m, q WHERE m.tsv @@ q.q
                        UNION ALL
                        SELECT 'learning', l.id, '', l.pattern, l.created_at_ms,
                               ts_rank(l.tsv, q.q)::float8, l.reward
                        FROM la_learnings l, q WHERE l.tsv @@ q.q
                     ) hits
                     WHERE $2::bigint IS NULL OR created_ms >= $2
                     ORDER BY {order} LIMIT $3"
                ),
                &[&terms, &opts.since_ms, &limit],
            )?;
            rows.iter()
                .map(|r| {
                    Ok(QueryHit {
                        kind: r.try_get(0)?,
                        id: r.try_get(1)?,
                        title: r.try_get(2)?,
                        text: r.try_get(3)?,
                        created_at_ms: r.try_get(4)?,
                        relevance: r.try_get(5)?,
                        value: r.try_get(6)?,
                    })
                })
                .collect()
        })
    }

    /// Everything as the JSON document `importJson` reads (the SQLite bank's format).
    pub fn export_json(&self) -> Result<serde_json::Value> {
        let doc = self.read_document()?;
        interop::document_json(&doc.memories, &doc.learnings, &doc.links)
    }

    /// Every row as it is.
    pub(crate) fn read_document(&self) -> Result<Document> {
        let mut memories = Vec::new();
        let mut after = 0i64;
        loop {
            let (page, last) = self.read_memory_page(after, 10_000)?;
            if page.is_empty() {
                break;
            }
            memories.extend(page);
            after = last;
        }
        let (learnings, links) = self.read_learnings_and_links()?;
        Ok(Document {
            memories,
            learnings,
            links,
        })
    }

    /// Up to `limit` memories inserted after position `after` (0: from the start), in insertion
    /// order; returns them and the position of the last one.
    pub(crate) fn read_memory_page(
        &self,
        after: i64,
        limit: i64,
    ) -> Result<(Vec<PatternRow>, i64)> {
        self.pool.with(|c| {
            let found = c.query(
                &format!("SELECT {PATTERN_ROW_COLUMNS}, seq FROM la_memories WHERE seq > $1 ORDER BY seq LIMIT $2"),
                &[&after, &limit],
            )?;
            let last = found.last().map_or(after, |r| r.get::<_, i64>(10));
            Ok((found.iter().map(rows::pattern_row).collect::<Result<_>>()?, last))
        })
    }

    /// Every learning and link, in insertion order.
    pub(crate) fn read_learnings_and_links(&self) -> Result<(Vec<LearningRecord>, Vec<LinkRow>)> {
        self.pool.with(|c| {
            let learnings = c
                .query(
                    &format!("SELECT {LEARNING_COLUMNS} FROM la_learnings ORDER BY seq"),
                    &[],
                )?
                .iter()
                .map(rows::learning)
                .collect::<Result<_>>()?;
            let links = c
                .query(
                    "SELECT src, dst, relation, weight, created_at FROM la_links ORDER BY seq",
                    &[],
                )?
                .iter()
                .map(rows::link)
                .collect::<Result<_>>()?;
            Ok((learnings, links))
        })
    }
}
