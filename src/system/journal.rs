//! The step journal: every finished step, with its propensity, persisted in the store.
//!
//! Rows are buffered and written in one transaction per batch (or on `flush`/close), so
//! the hot path never waits on a disk write. The log of (context, action, propensity,
//! reward) is what off-policy evaluation needs.

use std::path::Path;

use parking_lot::Mutex;
use rusqlite::{params, Connection};

use crate::error::{err, ErrorCode, Result};

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

/// Buffered, transactional journal over a SQLite connection.
pub struct Journal {
    conn: Mutex<Connection>,
    buffer: Mutex<Vec<JournalRow>>,
}

const FLUSH_AT: usize = 512;

impl Journal {
    /// Opens (creating) the store file and the journal table. WAL mode; `:memory:` allowed.
    pub fn open(path: &str) -> Result<Self> {
        if path != ":memory:" {
            if let Some(dir) = Path::new(path).parent() {
                if !dir.as_os_str().is_empty() {
                    std::fs::create_dir_all(dir).map_err(|e| {
                        crate::error::Error::new(
                            ErrorCode::Store,
                            format!("cannot create the store directory {}: {e}", dir.display()),
                        )
                    })?;
                }
            }
        }
        let conn = Connection::open(path)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        let check: String = conn
            .query_row("PRAGMA quick_check", [], |r| r.get(0))
            .map_err(|e| corrupt(path, e))?;
        if check != "ok" {
            return err(
                ErrorCode::StoreCorrupt,
                format!("{path} failed its integrity check ({check}); restore it from a backup or delete it"),
            );
        }
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(|e| corrupt(path, e))?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS la_steps (
                id TEXT PRIMARY KEY, session TEXT NOT NULL, action TEXT NOT NULL,
                success INTEGER NOT NULL, reward REAL NOT NULL, propensity REAL NOT NULL,
                decision TEXT NOT NULL, latency_us INTEGER NOT NULL, created_at INTEGER NOT NULL);
             CREATE INDEX IF NOT EXISTS la_steps_session ON la_steps(session, created_at);",
        )?;
        Ok(Journal {
            conn: Mutex::new(conn),
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
        let mut conn = self.conn.lock();
        let tx = conn.transaction()?;
        {
            let mut st = tx.prepare_cached(
                "INSERT INTO la_steps (id, session, action, success, reward, propensity, decision, latency_us, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
                 ON CONFLICT(id) DO UPDATE SET reward = excluded.reward, success = excluded.success",
            )?;
            for r in &rows {
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
        Ok(rows.len())
    }

    /// Runs `f` with the store's connection (for other components' `la_` tables).
    pub fn with_conn<R>(&self, f: impl FnOnce(&mut Connection) -> Result<R>) -> Result<R> {
        f(&mut self.conn.lock())
    }

    /// Rows persisted so far (after flushing the buffer).
    pub fn count(&self) -> Result<u64> {
        self.flush()?;
        let n: i64 = self
            .conn
            .lock()
            .query_row("SELECT COUNT(*) FROM la_steps", [], |r| r.get(0))?;
        Ok(n as u64)
    }

    /// Flushes and checkpoints the WAL.
    pub fn close(&self) -> Result<()> {
        self.flush()?;
        self.conn
            .lock()
            .execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")?;
        Ok(())
    }
}

fn corrupt(path: &str, e: rusqlite::Error) -> crate::error::Error {
    let base: crate::error::Error = e.into();
    if base.code == ErrorCode::StoreCorrupt {
        crate::error::Error::new(
            ErrorCode::StoreCorrupt,
            format!(
                "{path} is not a valid store ({}); restore it from a backup or delete it",
                base.message
            ),
        )
    } else {
        base
    }
}
