//! Writing the bank: memories and learnings (each in one transaction, the index updated after
//! the commit), deletions, imports, and the eviction that keeps the caps — which deletes only
//! what the bank may delete (`bank.evict`) and reports every run.

use super::*;

impl ReasoningBank {
    /// Stores (creates or updates) a memory; returns it as stored.
    pub fn store(&self, m: MemoryInput) -> Result<MemoryRecord> {
        let id = compose::check_memory_input(&m)?;
        let mut st = self.state.lock();
        let (record, is_new, vector) = self.store.with_conn(|conn| {
            self.sync(conn, &mut st)?;
            let existing: Option<(String, compose::Existing)> = conn
                .query_row("SELECT type, pattern_data, created_at, confidence, usage_count FROM patterns WHERE id = ?1", [&id], |r| {
                    Ok((r.get(0)?, compose::Existing { pattern_data: r.get(1)?, created_at: r.get(2)?, confidence: r.get(3)?, usage_count: r.get(4)? }))
                })
                .optional()?;
            if let Some((kind, ..)) = &existing {
                if kind != MEMORY_TYPE {
                    return err(ErrorCode::InvalidInput, format!("id '{id}' belongs to an agentic-flow pattern of type '{kind}'; use another id"));
                }
            }
            let old_embedding: Option<(String, Vec<u8>)> =
                conn.query_row("SELECT model, vector FROM pattern_embeddings WHERE id = ?1", [&id], |r| Ok((r.get(0)?, r.get(1)?))).optional()?;
            let c = compose::compose(
                &m,
                existing.as_ref().map(|(_, e)| e),
                old_embedding.as_ref().map(|(model, blob)| (model.as_str(), blob.as_slice())),
                &self.embedder,
                now_ms(),
            )?;
            let what = compose::embedding_source(&m);
            check_dims(Self::store_dims(conn, &st)?, c.vector.len(), &what)?;
            let compose::Composed { data_text, confidence, created_at, vector, model, write_vector, .. } = c;

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

    /// Runs eviction when a count the caps watch is over its cap (see the `eviction` module):
    /// never with `evict: 'none'`, only among this engine's memories with `'own'`, never the
    /// item `protect` just written; each run is recorded for [`Self::stats`] and
    /// [`Self::take_evictions`]. Returns how many items went.
    pub(super) fn evict_if_needed(
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
    pub(super) fn record_eviction(st: &mut BankState, report: EvictionReport) {
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

    /// Stores (creates or updates) a learning.
    pub fn store_learning(&self, l: LearningInput) -> Result<LearningRecord> {
        let id = compose::check_learning_input(&l)?;
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
            let record = l.to_record(id.clone(), old_created.unwrap_or_else(now_ms));
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

    /// Reloads the index and counters after a bulk write, then enforces the caps; returns how
    /// many items were evicted.
    pub(super) fn after_bulk_write(
        &self,
        st: &mut BankState,
        cause: EvictionCause,
    ) -> Result<usize> {
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
}

impl ReasoningBank {
    /// Counts one consensus round for a swarm agent (see `votes.rs`): in one IMMEDIATE
    /// transaction, so concurrent rounds in other processes never lose a count.
    pub fn record_vote(
        &self,
        agent_id: &str,
        agreed: bool,
        run_id: &str,
    ) -> Result<votes::VoteCounts> {
        let id = votes::check_agent(agent_id)?;
        let mut st = self.state.lock();
        let (record, is_new) = self.store.with_conn(|conn| {
            self.sync(conn, &mut st)?;
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let old = tx
                .query_row(
                    "SELECT id, pattern, outcome, reward, context, session, action, created_at_ms FROM la_learnings WHERE id = ?1",
                    [&id],
                    interop::learning_from_row,
                )
                .optional()?
                .transpose()?;
            let record = votes::next_record(&id, agent_id, old.as_ref(), agreed, run_id, now_ms());
            interop::write_learnings(&tx, std::slice::from_ref(&record))?;
            tx.commit()?;
            Ok((record, old.is_none()))
        })?;
        self.note_write(&mut st);
        if is_new {
            st.counts.learnings += 1;
        }
        self.evict_if_needed(&mut st, EvictionCause::StoreLearning, Some(&record.id))?;
        votes::counts_of(&record)
            .ok_or_else(|| Error::new(ErrorCode::Internal, "a vote record without counts"))
    }

    /// Every swarm agent's vote counts, by agent id.
    pub fn vote_counts(&self) -> Result<Vec<votes::VoteCounts>> {
        self.store.with_conn(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT id, pattern, outcome, reward, context, session, action, created_at_ms FROM la_learnings
                 WHERE id >= ?1 AND id < ?2 ORDER BY id",
            )?;
            let rows = stmt.query_map(votes::ID_RANGE, interop::learning_from_row)?;
            let mut out = Vec::new();
            for row in rows {
                if let Some(c) = votes::counts_of(&row??) {
                    out.push(c);
                }
            }
            Ok(out)
        })
    }
}
