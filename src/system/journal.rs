//! The step journal: every finished step, with its propensity, persisted in the store.
//!
//! Rows are buffered and written in one transaction per batch (or on `flush`/close), so
//! the hot path never waits on a disk write. The log of (context, action, propensity,
//! reward) is what off-policy evaluation needs.

use std::sync::Arc;

use parking_lot::Mutex;
use rusqlite::{params, Connection};

use crate::error::Result;
use crate::memory::Store;

/// One journal row.
#[derive(Debug, Clone)]
pub struct JournalRow {
    /// Step id.
    pub id: String,
    /// Session id.
    pub session: String,
    /// Action executed.
    pub action: String,
    /// Whether it succeeded.
    pub success: bool,
    /// Reward.
    pub reward: f64,
    /// Propensity of the choice.
    pub propensity: f64,
    /// Verification decision.
    pub decision: String,
    /// Latency in microseconds.
    pub latency_us: u64,
    /// Completion time, ms since the epoch.
    pub at_ms: i64,
}

/// Buffered, transactional journal in the system's store.
pub struct Journal {
    store: Arc<Store>,
    buffer: Mutex<Vec<JournalRow>>,
}

const FLUSH_AT: usize = 512;

impl Journal {
    /// Creates the journal table in `store` if needed.
    pub fn open(store: Arc<Store>) -> Result<Self> {
        store.with_conn(|conn| {
            conn.execute_batch(
                "CREATE TABLE IF NOT EXISTS la_steps (
                    id TEXT PRIMARY KEY, session TEXT NOT NULL, action TEXT NOT NULL,
                    success INTEGER NOT NULL, reward REAL NOT NULL, propensity REAL NOT NULL,
                    decision TEXT NOT NULL, latency_us INTEGER NOT NULL, created_at INTEGER NOT NULL);
                 CREATE INDEX IF NOT EXISTS la_steps_session ON la_steps(session, created_at);",
            )?;
            Ok(())
        })?;
        Ok(Journal {
            store,
            buffer: Mutex::new(Vec::with_capacity(FLUSH_AT)),
        })
    }

    /// Buffers a row; writes the buffer when it is full.
    pub fn append(&self, row: JournalRow) -> Result<()> {
        let full = {
            let mut b = self.buffer.lock();
            b.push(row);
            b.len() >= FLUSH_AT
        };
        if full {
            self.flush()?;
        }
        Ok(())
    }

    /// Writes all buffered rows in one transaction.
    pub fn flush(&self) -> Result<usize> {
        let rows = std::mem::take(&mut *self.buffer.lock());
        if rows.is_empty() {
            return Ok(0);
        }
        self.store.with_conn(|conn| Self::write(conn, &rows))?;
        Ok(rows.len())
    }

    fn write(conn: &mut Connection, rows: &[JournalRow]) -> Result<()> {
        let tx = conn.transaction()?;
        {
            let mut st = tx.prepare_cached(
                "INSERT INTO la_steps (id, session, action, success, reward, propensity, decision, latency_us, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
                 ON CONFLICT(id) DO UPDATE SET reward = excluded.reward, success = excluded.success",
            )?;
            for r in rows {
                st.execute(params![
                    r.id,
                    r.session,
                    r.action,
                    r.success,
                    r.reward,
                    r.propensity,
                    r.decision,
                    r.latency_us as i64,
                    r.at_ms
                ])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Rows persisted so far (after flushing the buffer).
    pub fn count(&self) -> Result<u64> {
        self.flush()?;
        let n: i64 = self
            .store
            .with_conn(|c| Ok(c.query_row("SELECT COUNT(*) FROM la_steps", [], |r| r.get(0))?))?;
        Ok(n as u64)
    }
}
