//! Reading the bank: memories by id, counts, retrieval (agentic-flow's score and MMR over the
//! vector index or the sketch index), full-text search, links, and exports.

use super::*;

/// Reads one memory (with embedding metadata) by id.
pub(super) fn read_record(conn: &Connection, id: &str) -> Result<Option<MemoryRecord>> {
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

impl ReasoningBank {
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

    /// The `limit` most recently stored memories (at most 1,000), newest first. Insertion order
    /// (rowid), not the `created_at` text: imported memories keep their own timestamps.
    pub fn recent(&self, limit: usize) -> Result<Vec<MemoryRecord>> {
        let limit = limit.min(1000) as i64;
        self.store.with_conn(|conn| {
            let ids: Vec<String> = conn
                .prepare_cached(
                    "SELECT id FROM patterns WHERE type = ?1 ORDER BY rowid DESC LIMIT ?2",
                )?
                .query_map(params![MEMORY_TYPE, limit], |r| r.get::<_, String>(0))?
                .collect::<std::result::Result<_, _>>()?;
            let mut out = Vec::with_capacity(ids.len());
            for id in ids {
                if let Some(m) = read_record(conn, &id)? {
                    out.push(m);
                }
            }
            Ok(out)
        })
    }

    /// Numbers of stored memories and learnings.
    pub fn count(&self) -> Result<BankCounts> {
        self.store.with_conn(|conn| read_counts(conn))
    }

    /// Retrieves the top memories for `query` with agentic-flow's scoring and MMR.
    pub fn retrieve(&self, query: &str, opts: &RetrieveOptions) -> Result<Vec<Retrieved>> {
        let started = Instant::now();
        opts.validate()?;
        let query_vector = compose::query_vector(&self.embedder, query, opts)?;
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
                    // The calibrated count; none when the index cannot rank this data (exact scan).
                    let c = approximate
                        .then(|| ann.candidate_count(self.cfg.ann_candidates.max(opts.k * 4)))
                        .flatten()
                        .map(|count| {
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
