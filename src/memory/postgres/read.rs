//! Reading the PostgreSQL bank: lookups, retrieval (HNSW candidates, native exact scoring),
//! full-text search on PostgreSQL's text search, and exports.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use pgvector::Vector;
use postgres::types::ToSql;

use super::migrations::{self, blend_recency};
use super::rows::{self, LEARNING_COLUMNS, PATTERN_ROW_COLUMNS, RECORD_COLUMNS};
use super::{Index, PgBank};
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

/// The lists beside the main HNSW list (see [`PgBank::candidates`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    /// The prior index's list (default weights and half-life).
    Prior,
    /// The newest and the most confident rows (other weights or half-life).
    NewestConfident,
}

/// What the lists read so far bound (see [`PgBank::candidates`]).
#[derive(Debug)]
struct Lists {
    /// Rows read from each list (main, prior, newest, most confident).
    counts: [usize; 4],
    /// The lowest main-list value (in score units) and cosine among its rows.
    main_n: f64,
    main_cos: f64,
    /// The lowest prior-index value, creation time and confidence in the side lists.
    prior_n: f64,
    created_n: i64,
    conf_n: f64,
}

impl Default for Lists {
    fn default() -> Self {
        Lists {
            counts: [0; 4],
            main_n: f64::INFINITY,
            main_cos: f64::INFINITY,
            prior_n: f64::INFINITY,
            created_n: i64::MAX,
            conf_n: f64::INFINITY,
        }
    }
}

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
            let kind = self.index_kind(&mut tx, dims)?;
            let approximate = !opts.exact && kind.is_some();
            let index = if let (false, Some(kind)) = (opts.exact, kind) {
                self.candidates(&mut tx, kind, dims, &query_vector, opts, now)?
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
    /// cosine). Candidates come from lists read from indexes, with the filters.
    ///
    /// The main list comes from the bank's vector index (`Index`):
    /// - **IVF over the score** (large banks, `reindex`): each row is keyed by its unit
    ///   embedding plus a recency and a confidence coordinate (`migrations::BLEND_KEY`), and the
    ///   query vector is `[α·q̂, β·exp((ref − now)/45 d)/ε, γ/ε]`, so the inner product is the
    ///   score with the age in fractional days; the `ivfProbes` lists whose centres are nearest
    ///   are scanned and their `n` best rows *by score* returned. With another half-life the
    ///   recency coordinate is left out (the list ranks by `α·cos + γ·confidence`) and the
    ///   newest rows bound the recency of the rest. The list is read once.
    /// - **HNSW over the cosine**: the `n` nearest rows.
    ///
    /// Beside it, the prior list (default weights and half-life: `migrations::prior_sql`,
    /// recency taken at a fixed reference time, so a row's prior now is at most `exp(1/45)`
    /// times its indexed value) or the `n` newest and `n` most confident rows: when the prior
    /// dominates the score (a query with few close neighbours), the winners are scattered over
    /// the whole space, and only these lists hold them.
    ///
    /// Stopping (Fagin's threshold): with HNSW, a row in no list scores at most the last
    /// nearest row's `α·cos` plus what the side lists bound; when the k-th best candidate scores
    /// below that, `n` doubles (up to 1,000 per list) and every list is read again. With IVF, a
    /// row of the probed lists outside the main list scores at most its last row's value (plus
    /// what whole-day ages add, at most `β·(exp(1/45) − 1)`), and a row outside the probed lists
    /// and the side lists needs a cosine of at least `(kth − side bound)/α` to win: when that is
    /// above every cosine the main list returned — the row would be nearer the query than the
    /// rows found in its nearest lists — the search stops; else the side lists read on. The top
    /// k is then exact up to the index's own approximation; MMR picks among the candidates.
    fn candidates(
        &self,
        tx: &mut postgres::Transaction<'_>,
        kind: Index,
        dims: usize,
        query: &[f32],
        opts: &RetrieveOptions,
        now: i64,
    ) -> Result<VectorIndex> {
        let unit = normalize(query);
        let w = opts.weights;
        let plain = RetrieveOptions {
            mmr_lambda: 1.0,
            embedding: None,
            ..opts.clone()
        };
        let defaults = RetrieveOptions::default();
        // The blended key's recency coordinate, scaled for the query; `None` when the half-life
        // differs from the key's, the factor leaves f32 (a clock years off the reference), or
        // the reference time has passed (rows created after it have their recency coordinate
        // capped: the list then ranks without it and the newest rows bound recency).
        let keyed_recency = {
            let factor = w.recency * blend_recency(self.blend_ref_ms, self.blend_ref_ms, now)
                / migrations::BLEND_EPSILON;
            (kind == Index::Ivf
                && now < self.blend_ref_ms
                && opts.half_life_days == migrations::BLEND_HALF_LIFE_DAYS
                && (factor as f32).is_finite())
            .then_some(factor as f32)
        };
        // The side lists: the prior index's with the default weights and half-life, else the
        // newest and the most confident rows. They bound what the main list leaves out, and
        // they hold the winners no vector index finds: when the prior dominates the score (few
        // close neighbours), the best rows are scattered over the whole space.
        let side = if w == defaults.weights && opts.half_life_days == defaults.half_life_days {
            Side::Prior
        } else {
            Side::NewestConfident
        };
        let q = match kind {
            Index::Ivf => {
                let mut v: Vec<f32> = unit.iter().map(|x| x * w.similarity as f32).collect();
                v.push(keyed_recency.unwrap_or(0.0));
                v.push((w.reliability / migrations::BLEND_EPSILON) as f32);
                Vector::from(v)
            }
            Index::Hnsw(_) => Vector::from(query.to_vec()),
        };
        // A main-list row's value (what the list ranks by, in score units) and its cosine.
        let main_value = |index: &VectorIndex, row: usize| {
            let cos = f64::from(self.kernel.dot_f32(&unit, index.unit(row)));
            let value = match (kind, keyed_recency) {
                (Index::Hnsw(_), _) => w.similarity * cos,
                (Index::Ivf, keyed) => {
                    let recency = if keyed.is_some() {
                        w.recency * blend_recency(index.created_ms(row), self.blend_ref_ms, now)
                    } else {
                        0.0
                    };
                    w.similarity * cos + recency + w.reliability * index.confidence(row).min(1.0)
                }
            };
            (value, cos)
        };
        let prior = migrations::prior_sql(self.prior_ref_ms);
        let side_tags: &[i32] = match side {
            Side::Prior => &[1],
            Side::NewestConfident => &[2, 3],
        };
        let (filters, mut params) = filter_sql(opts);
        params.push(&q);
        let qp = params.len();
        let main_order = match kind {
            Index::Ivf => migrations::blend_order_sql(dims, qp),
            Index::Hnsw(t) => format!("embedding::{t}({dims}) <=> (${qp}::vector)::{t}({dims})"),
        };
        // `(tag, offset, limit)` → one list's SELECT.
        let list = |tag: i32, offset: usize, limit: usize| {
            let order = match tag {
                0 => main_order.clone(),
                1 => format!("{prior} DESC"),
                2 => "created_ms DESC".to_string(),
                _ => "confidence DESC".to_string(),
            };
            format!(
                "(SELECT {CANDIDATE_COLUMNS}, {tag} FROM la_memories WHERE {filters} ORDER BY {order} OFFSET {offset} LIMIT {limit})"
            )
        };
        let mut n = self.cfg.hnsw_candidates.max(opts.k * 4).min(MAX_LIST);
        let mut index = VectorIndex::new();
        let mut lists = Lists::default();
        let mut side_read = 0;
        loop {
            // The IVF list is read once (its order is the score's); the side lists grow by
            // their next rows. The cosine list's order is not, so with it every list is read
            // again, longer.
            let main = lists.counts[0] == 0 || kind != Index::Ivf;
            if kind != Index::Ivf {
                index = VectorIndex::new();
                lists = Lists::default();
                side_read = 0;
            }
            let mut parts = Vec::new();
            if main {
                tx.batch_execute(&match kind {
                    Index::Ivf => format!(
                        "SET LOCAL ivfflat.probes = {}; SET LOCAL ivfflat.iterative_scan = relaxed_order",
                        self.cfg.ivf_probes
                    ),
                    Index::Hnsw(_) => format!(
                        "SET LOCAL hnsw.ef_search = {n}; SET LOCAL hnsw.iterative_scan = relaxed_order"
                    ),
                })?;
                parts.push(list(0, 0, n));
            }
            for &tag in side_tags {
                parts.push(list(tag, side_read, n - side_read));
            }
            // The query vector is a parameter of the main list only.
            let used = if main { &params[..] } else { &params[..qp - 1] };
            let found = tx.query(&parts.join(" UNION ALL "), used)?;
            add_rows(&mut index, &found)?;
            let mut counts = [0usize; 4];
            for r in &found {
                let tag: i32 = r.try_get(8)?;
                counts[tag as usize] += 1;
                let row = index.row_of(r.try_get::<_, &str>(0)?).unwrap_or(0);
                match tag {
                    0 => {
                        let (value, cos) = main_value(&index, row);
                        lists.main_n = lists.main_n.min(value);
                        lists.main_cos = lists.main_cos.min(cos);
                    }
                    1 => {
                        let at_ref = migrations::prior_at(
                            index.created_ms(row),
                            index.confidence(row),
                            self.prior_ref_ms,
                        );
                        lists.prior_n = lists.prior_n.min(at_ref);
                    }
                    2 => lists.created_n = lists.created_n.min(index.created_ms(row)),
                    _ => lists.conf_n = lists.conf_n.min(index.confidence(row)),
                }
            }
            for (total, new) in lists.counts.iter_mut().zip(counts) {
                *total += new;
            }
            // A list shorter than asked holds every row passing the filters: nothing is outside.
            let short = (main && counts[0] < n)
                || side_tags
                    .iter()
                    .any(|&t| counts[t as usize] < n - side_read);
            side_read = n;
            if short || n >= MAX_LIST || index.len() <= opts.k {
                return Ok(index);
            }
            let newest =
                w.recency * recency(age_days(now, lists.created_n) as f64, opts.half_life_days);
            // What a row outside the side lists can score besides its cosine term: whole-day
            // ages round recency up by at most a day, and a reference time in the future (a
            // clock set back) only raises the prior index's value.
            let side_prior = match side {
                Side::Prior => lists.prior_n * (1.0 / opts.half_life_days).exp(),
                Side::NewestConfident => newest + w.reliability * lists.conf_n.min(1.0),
            };
            let top = retrieve::select(&index, self.kernel, query, &plain, now, None);
            let Some(kth) = top.last().map(|s| s.score) else {
                return Ok(index);
            };
            // The index ranks by f32 products: a hair of slack for their rounding.
            let done = match kind {
                Index::Hnsw(_) => kth >= lists.main_n + side_prior + 1e-6,
                Index::Ivf => {
                    // The IVF list's order is the score's (whole-day ages make the score's
                    // recency at most exp(1/h) times the key's; without the recency coordinate
                    // the newest rows bound it), so a row of the probed lists outside it scores
                    // at most its last row's value plus that.
                    let beyond_main = lists.main_n
                        + match keyed_recency {
                            Some(_) => {
                                w.recency * ((1.0 / migrations::BLEND_HALF_LIFE_DAYS).exp() - 1.0)
                            }
                            None => newest,
                        };
                    // Rows outside the probed lists: one that wins by its prior with a middling
                    // cosine can be anywhere, and only the side lists vouch for those. A row
                    // outside them needs a cosine of at least `needed` to reach the k-th score;
                    // when that is above every cosine the main list returned, such a row is
                    // nearer the query than the rows of its nearest lists. Else the side lists
                    // read on.
                    let needed = if w.similarity > 0.0 {
                        (kth - side_prior) / w.similarity
                    } else if kth >= side_prior {
                        f64::INFINITY
                    } else {
                        f64::NEG_INFINITY
                    };
                    kth >= beyond_main + 1e-6 && needed >= lists.main_cos
                }
            };
            if done {
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
