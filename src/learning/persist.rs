//! Saving and loading a learner in SQLite (`la_learner_*` tables).
//!
//! - `la_learner_state`: one row of counters and the table sizes the weights were made with;
//! - `la_learner_global`: one row, the global weights and their exposures as BLOBs of
//!   little-endian `f32`, and the per-action update counters as little-endian `u64`;
//! - `la_learner_sessions`: one row per session with its delta model (NULL before its first
//!   update) and counters.
//!
//! `save` writes everything in one transaction (sessions are replaced wholesale). It takes a
//! snapshot while the learner keeps running; updates racing with it may or may not be
//! included. Drift detectors, boosts and replay / mini-batch buffers are not persisted: a
//! loaded session starts them fresh. A loaded learner predicts exactly like the saved one.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use parking_lot::Mutex;
use rusqlite::{params, Connection, OptionalExtension};

use super::config::LearnerConfig;
use super::learner::{Learner, ACTION_COUNT_SLOTS};
use super::weights::{LocalWeights, SharedWeights};
use crate::error::{err, ErrorCode, Result};

/// Version of the stored layout.
const FORMAT_VERSION: i64 = 1;

/// Creates the learner tables if they do not exist.
pub fn ensure_schema(conn: &Connection) -> Result<()> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS la_learner_state (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            format_version INTEGER NOT NULL,
            hash_bits INTEGER NOT NULL,
            session_hash_bits INTEGER NOT NULL,
            iterations INTEGER NOT NULL,
            reward_sum REAL NOT NULL,
            recent_reward REAL NOT NULL,
            drift_events INTEGER NOT NULL,
            choices INTEGER NOT NULL,
            explored INTEGER NOT NULL,
            saved_at INTEGER NOT NULL
        );
        CREATE TABLE IF NOT EXISTS la_learner_global (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            weights BLOB NOT NULL,
            accumulators BLOB NOT NULL,
            action_counts BLOB NOT NULL
        );
        CREATE TABLE IF NOT EXISTS la_learner_sessions (
            session_id TEXT PRIMARY KEY,
            weights BLOB,
            accumulators BLOB,
            updates INTEGER NOT NULL,
            reward_sum REAL NOT NULL,
            drift_events INTEGER NOT NULL
        );",
    )?;
    Ok(())
}

fn corrupt<T>(what: &str) -> Result<T> {
    err(
        ErrorCode::StoreCorrupt,
        format!("stored learner is damaged: {what}"),
    )
}

impl Learner {
    /// Writes the whole learner (global model, sessions, counters) in one transaction.
    pub fn save(&self, conn: &mut Connection) -> Result<()> {
        ensure_schema(conn)?;
        let (weights, accumulators) = self.global.to_bytes();
        let counts: Vec<u8> = self
            .action_counts
            .iter()
            .flat_map(|c| c.load(Ordering::Relaxed).to_le_bytes())
            .collect();
        let sessions: Vec<(String, Arc<Mutex<_>>)> = self
            .sessions
            .iter()
            .map(|e| (e.key().clone(), Arc::clone(e.value())))
            .collect();
        let saved_at = crate::time::now_ms();

        let tx = conn.transaction()?;
        tx.execute(
            "INSERT OR REPLACE INTO la_learner_state (id, format_version, hash_bits,
                session_hash_bits, iterations, reward_sum, recent_reward, drift_events, choices,
                explored, saved_at)
             VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            params![
                FORMAT_VERSION,
                self.cfg.hash_bits,
                self.cfg.session_hash_bits,
                self.iterations.load(Ordering::Relaxed) as i64,
                self.reward_sum.get(),
                self.recent_reward.get(),
                self.drift_events.load(Ordering::Relaxed) as i64,
                self.choices.load(Ordering::Relaxed) as i64,
                self.explored.load(Ordering::Relaxed) as i64,
                saved_at,
            ],
        )?;
        tx.execute(
            "INSERT OR REPLACE INTO la_learner_global (id, weights, accumulators, action_counts)
             VALUES (1, ?1, ?2, ?3)",
            params![weights, accumulators, counts],
        )?;
        tx.execute("DELETE FROM la_learner_sessions", [])?;
        {
            let mut stmt = tx.prepare(
                "INSERT INTO la_learner_sessions
                    (session_id, weights, accumulators, updates, reward_sum, drift_events)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?;
            for (id, state) in sessions {
                let st = state.lock();
                let (w, a) = match &st.model {
                    Some(m) => {
                        let (w, a) = m.to_bytes();
                        (Some(w), Some(a))
                    }
                    None => (None, None),
                };
                stmt.execute(params![
                    id,
                    w,
                    a,
                    st.updates as i64,
                    st.reward_sum,
                    st.drift_events as i64
                ])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Loads a saved learner, or `None` when nothing was saved in this database.
    ///
    /// `cfg` supplies every setting; its `hashBits` and `sessionHashBits` must match the
    /// saved model (`InvalidConfig` otherwise). Damaged data gives `StoreCorrupt`.
    pub fn load(conn: &Connection, cfg: LearnerConfig) -> Result<Option<Learner>> {
        cfg.validate()?;
        let exists: bool = conn
            .query_row(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'la_learner_state'",
                [],
                |_| Ok(()),
            )
            .optional()?
            .is_some();
        if !exists {
            return Ok(None);
        }
        ensure_schema(conn)?;
        type StateRow = (i64, i64, i64, i64, f64, f64, i64, i64, i64);
        let state: Option<StateRow> = conn
            .query_row(
                "SELECT format_version, hash_bits, session_hash_bits, iterations, reward_sum,
                        recent_reward, drift_events, choices, explored
                 FROM la_learner_state WHERE id = 1",
                [],
                |r| {
                    Ok((
                        r.get(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                        r.get(6)?,
                        r.get(7)?,
                        r.get(8)?,
                    ))
                },
            )
            .optional()?;
        let Some((
            version,
            bits,
            session_bits,
            iterations,
            reward_sum,
            recent,
            drifts,
            choices,
            explored,
        )) = state
        else {
            return Ok(None);
        };
        if version != FORMAT_VERSION {
            return corrupt(&format!(
                "format version {version}, this build reads version {FORMAT_VERSION}"
            ));
        }
        if bits != i64::from(cfg.hash_bits) || session_bits != i64::from(cfg.session_hash_bits) {
            return err(
                ErrorCode::InvalidConfig,
                format!(
                    "the saved learner has hashBits={bits} and sessionHashBits={session_bits}; \
                     the config asks for hashBits={} and sessionHashBits={} — use the saved sizes",
                    cfg.hash_bits, cfg.session_hash_bits
                ),
            );
        }
        let global: Option<(Vec<u8>, Vec<u8>, Vec<u8>)> = conn
            .query_row(
                "SELECT weights, accumulators, action_counts FROM la_learner_global WHERE id = 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        let Some((w, a, counts)) = global else {
            return corrupt("the global model row is missing");
        };
        let Some(global) = SharedWeights::from_bytes(cfg.hash_bits, &w, &a) else {
            return corrupt("the global weight blobs have the wrong length");
        };
        if counts.len() != ACTION_COUNT_SLOTS * 8 {
            return corrupt("the action counter blob has the wrong length");
        }
        let session_bits = cfg.session_hash_bits;
        let learner = Learner::with_global(cfg, global);
        for (slot, c) in learner.action_counts.iter().zip(counts.chunks_exact(8)) {
            let mut b = [0u8; 8];
            b.copy_from_slice(c);
            slot.store(u64::from_le_bytes(b), Ordering::Relaxed);
        }
        let nonneg = |v: i64| u64::try_from(v).unwrap_or(0);
        learner
            .iterations
            .store(nonneg(iterations), Ordering::Relaxed);
        learner.reward_sum.set(reward_sum);
        learner.recent_reward.set(recent);
        // Not stored: the recent mean's magnitude is the best guess of the rewards' scale.
        learner.typical_reward.set(recent.abs());
        learner
            .drift_events
            .store(nonneg(drifts), Ordering::Relaxed);
        learner.choices.store(nonneg(choices), Ordering::Relaxed);
        learner.explored.store(nonneg(explored), Ordering::Relaxed);

        let mut stmt = conn.prepare(
            "SELECT session_id, weights, accumulators, updates, reward_sum, drift_events
             FROM la_learner_sessions",
        )?;
        type SessionRow = (String, Option<Vec<u8>>, Option<Vec<u8>>, i64, f64, i64);
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
            ))
        })?;
        for row in rows {
            let (id, w, a, updates, reward_sum, drift_events): SessionRow = row?;
            let mut st = learner.new_session_state(&id);
            st.model = match (w, a) {
                (Some(w), Some(a)) => match LocalWeights::from_bytes(session_bits, &w, &a) {
                    Some(m) => Some(m),
                    None => {
                        return corrupt(&format!(
                            "session `{id}` weight blobs have the wrong length"
                        ))
                    }
                },
                (None, None) => None,
                _ => return corrupt(&format!("session `{id}` has only half of its model")),
            };
            st.updates = nonneg(updates);
            st.reward_sum = reward_sum;
            st.drift_events = nonneg(drift_events);
            learner.sessions.insert(id, Arc::new(Mutex::new(st)));
        }
        drop(stmt);
        Ok(Some(learner))
    }
}
