//! Keeping the in-memory vector index in step with the store: loading it at open, reloading it
//! when another connection (agentic-flow, another process) committed, and the approximate
//! sketch index's side file (`<store>.ann`), trained, saved and reconciled here. Reads and
//! writes call [`ReasoningBank::sync`] first, so they never see an index older than the file.

use super::*;

/// Loads every searchable memory embedding into a fresh index; returns it and the number of
/// memories skipped for having another dimension than the first one found.
pub(super) fn load_index(conn: &Connection) -> Result<(VectorIndex, usize)> {
    let mut index = VectorIndex::new();
    let mut skipped = 0;
    let mut stmt = conn.prepare(
        "SELECT p.id, p.confidence, p.usage_count, p.created_at, e.vector,
                CASE WHEN json_valid(p.pattern_data) THEN json_extract(p.pattern_data, '$.domain') END,
                CASE WHEN json_valid(p.pattern_data) THEN json_extract(p.pattern_data, '$.source.agent_id') END,
                CASE WHEN json_valid(p.pattern_data) THEN json_extract(p.pattern_data, '$.source.outcome') END
         FROM patterns p JOIN pattern_embeddings e ON e.id = p.id
         WHERE p.type = ?1 AND json_valid(p.pattern_data) ORDER BY p.rowid",
    )?;
    let mut rows = stmt.query([MEMORY_TYPE])?;
    let mut domains: std::collections::HashMap<String, Arc<str>> = std::collections::HashMap::new();
    let mut intern = |s: Option<String>| -> Option<Arc<str>> {
        s.map(|s| {
            domains
                .entry(s.clone())
                .or_insert_with(|| Arc::from(s))
                .clone()
        })
    };
    while let Some(r) = rows.next()? {
        let id: String = r.get(0)?;
        let blob: Vec<u8> = r.get(4)?;
        let Some(vector) = blob_to_vector(&blob) else {
            skipped += 1;
            continue;
        };
        if vector.is_empty()
            || vector.iter().any(|x| !x.is_finite())
            || (index.dims() != 0 && vector.len() != index.dims())
        {
            skipped += 1;
            continue;
        }
        let created: String = r.get(3)?;
        let meta = RowMeta {
            confidence: r.get(1)?,
            usage_count: r.get(2)?,
            created_ms: parse_datetime(&created).unwrap_or(0),
            domain: intern(text_value(r.get_ref(5)?)),
            agent: intern(text_value(r.get_ref(6)?)),
            outcome: text_value(r.get_ref(7)?)
                .and_then(|o| MemoryOutcome::parse(&o))
                .unwrap_or_default(),
        };
        index.upsert(&id, &vector, meta)?;
    }
    Ok((index, skipped))
}

/// A SQL value as text when it is text.
fn text_value(v: rusqlite::types::ValueRef<'_>) -> Option<String> {
    match v {
        rusqlite::types::ValueRef::Text(t) => Some(String::from_utf8_lossy(t).into_owned()),
        _ => None,
    }
}

/// Current counts straight from SQL.
pub(super) fn read_counts(conn: &Connection) -> Result<BankCounts> {
    let memories: i64 = conn.query_row(
        "SELECT count(*) FROM patterns WHERE type = ?1",
        [MEMORY_TYPE],
        |r| r.get(0),
    )?;
    let learnings: i64 = conn.query_row("SELECT count(*) FROM la_learnings", [], |r| r.get(0))?;
    Ok(BankCounts {
        memories: memories as usize,
        learnings: learnings as usize,
    })
}

impl ReasoningBank {
    /// Notices commits by other connections (`data_version`) and writes by other banks on
    /// the same store (the memory epoch): the matrix is then reloaded before its next use
    /// ([`Self::ensure_index`]) and the full-text index reconciled before the next search.
    pub(super) fn sync(&self, conn: &Connection, st: &mut BankState) -> Result<()> {
        let v = Store::data_version(conn)?;
        let epoch = self.store.memory_epoch().load(Ordering::SeqCst);
        if v != st.data_version || epoch != st.epoch {
            st.data_version = v;
            st.epoch = epoch;
            st.index_stale = true;
            st.fts_stale = true;
            st.counts = read_counts(conn)?;
            st.own_memories = eviction::count_own_memories(conn)?;
        }
        Ok(())
    }

    /// Records a write of this bank: other banks on the store will resync; this one stays in
    /// sync unless someone else wrote since its last sync.
    pub(super) fn note_write(&self, st: &mut BankState) {
        let previous = self.store.memory_epoch().fetch_add(1, Ordering::SeqCst);
        if previous == st.epoch {
            st.epoch = previous + 1;
        }
    }

    /// Reloads the matrix if another connection committed since it was loaded.
    pub(super) fn ensure_index(&self, conn: &Connection, st: &mut BankState) -> Result<()> {
        self.sync(conn, st)?;
        if st.index_stale {
            // Entries carry fingerprints, so sketches of rows another writer changed are
            // recomputed at the next load, never reused.
            self.save_ann(st);
            let (index, skipped) = load_index(conn)?;
            st.index = index;
            st.skipped_dims = skipped;
            st.index_stale = false;
        }
        Ok(())
    }

    /// The approximate index's side file: `<store>.ann` (none for in-memory stores).
    pub(super) fn ann_path(&self) -> Option<std::path::PathBuf> {
        let path = self.store.path();
        (path != ":memory:").then(|| std::path::PathBuf::from(format!("{path}.ann")))
    }

    /// Writes the approximate index's side file if it changed since it was last written.
    /// The side file is a cache: a failure (read-only directory, full disk) never fails the
    /// caller's operation; it is kept for [`Self::search_info`] and retried later.
    pub(super) fn save_ann(&self, st: &mut BankState) {
        let Some(path) = self.ann_path() else {
            return;
        };
        if let Some(mut ann) = st.index.take_ann() {
            if ann.changes() > 0 {
                st.side_file_error = ann.save(&path, &st.index).err().map(|e| e.message);
            }
            st.index.set_ann(Some(ann));
        }
    }

    /// The side file's length and modification time (to skip re-reading a file that was
    /// found unusable and has not changed since).
    pub(super) fn side_file_stamp(path: &std::path::Path) -> Option<(u64, std::time::SystemTime)> {
        let m = std::fs::metadata(path).ok()?;
        Some((m.len(), m.modified().ok()?))
    }

    /// Attaches the approximate index once the store is past `annThreshold`: loaded from the
    /// side file and reconciled when it is usable, trained (and saved) otherwise; retrained
    /// when the store has doubled since training; the side file is rewritten after changes
    /// to 5% of the rows. Between half the threshold and the threshold an existing index is
    /// used but none is trained; below half it is dropped.
    pub(super) fn ensure_ann(&self, st: &mut BankState) {
        let n = st.index.len();
        let threshold = self.cfg.ann_threshold;
        // Hysteresis: between half the threshold and the threshold an attached (or saved)
        // index is kept but none is trained, so a store hovering around the threshold is not
        // retrained again and again.
        if threshold == 0 || n < threshold / 2 {
            st.index.set_ann(None);
            return;
        }
        let path = self.ann_path();
        let needs_training = match st.index.ann() {
            Some(ann) => ann.trained_rows().saturating_mul(2) < n,
            None => {
                let stamp = path.as_deref().and_then(Self::side_file_stamp);
                let loaded = match (&path, stamp) {
                    (Some(p), Some(stamp)) if st.unusable_side_file != Some(stamp) => {
                        let loaded = SketchIndex::load(p, &st.index, self.kernel);
                        if loaded.is_none() {
                            st.unusable_side_file = Some(stamp);
                        }
                        loaded
                    }
                    _ => None,
                };
                let found = loaded.is_some();
                let loaded = loaded.map(|mut ann| {
                    ann.calibrate(&st.index, self.kernel, 0xca1b ^ n as u64);
                    ann
                });
                st.index.set_ann(loaded);
                if !found && n < threshold {
                    return;
                }
                !found
            }
        };
        if needs_training {
            let mut ann = SketchIndex::train(&st.index, self.kernel, 0x1a7e_5eed ^ n as u64);
            ann.calibrate(&st.index, self.kernel, 0xca1b ^ n as u64);
            st.index.set_ann(Some(ann));
            self.save_ann(st);
            return;
        }
        if st
            .index
            .ann()
            .is_some_and(|a| a.changes() >= (n / 20).max(1000))
        {
            self.save_ann(st);
        }
    }

    /// Writes the approximate index's side file now if it has unsaved changes (also done on
    /// drop and before the index is reloaded); the error says why it could not be written.
    pub fn flush_index(&self) -> Result<()> {
        let mut st = self.state.lock();
        self.save_ann(&mut st);
        match &st.side_file_error {
            Some(message) => err(ErrorCode::Store, message.clone()),
            None => Ok(()),
        }
    }

    /// How retrieval searches this store right now.
    pub fn search_info(&self) -> SearchInfo {
        let st = self.state.lock();
        SearchInfo {
            backend: "sqlite".to_string(),
            rows: st.index.len(),
            dims: st.index.dims(),
            kernel: format!("{:?}", self.kernel).to_lowercase(),
            approximate_index: st.index.ann().is_some(),
            trained_rows: st.index.ann().map_or(0, |a| a.trained_rows()),
            ann_threshold: self.cfg.ann_threshold,
            ann_candidates: self.cfg.ann_candidates,
            side_file: self.ann_path().map(|p| p.to_string_lossy().into_owned()),
            side_file_error: st.side_file_error.clone(),
            last_retrieve_approximate: st.last_approximate,
            candidates_in_use: st
                .index
                .ann()
                .and_then(|a| a.candidate_count(self.cfg.ann_candidates)),
            calibrated_recall: st.index.ann().map(|a| {
                let count = a
                    .candidate_count(self.cfg.ann_candidates)
                    .unwrap_or(self.cfg.ann_candidates);
                a.calibrated_recall(count)
            }),
        }
    }

    /// The embedding dimension of the store (0 when it has none), without loading the matrix.
    pub(super) fn store_dims(conn: &Connection, st: &BankState) -> Result<usize> {
        if !st.index_stale {
            return Ok(st.index.dims());
        }
        let len: Option<i64> = conn
            .query_row(
                "SELECT length(e.vector) FROM patterns p JOIN pattern_embeddings e ON e.id = p.id
                 WHERE p.type = ?1 AND json_valid(p.pattern_data) ORDER BY p.rowid LIMIT 1",
                [MEMORY_TYPE],
                |r| r.get(0),
            )
            .optional()?;
        Ok(len.map_or(0, |l| (l.max(0) / 4) as usize))
    }
}
