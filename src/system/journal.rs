//! The step journal: every finished step, with its propensity, persisted in the store.
//!
//! Rows are buffered and handed, [`FLUSH_AT`] at a time, to a writer thread that writes each
//! group in one transaction, so a step neither waits on SQLite nor spends its own thread's
//! time there. Groups are written in the order they were handed over (a re-journaled row
//! always lands after the row it updates); `flush` hands over what is buffered and waits
//! until everything is written. A failed write is reported by the next `append` or `flush`.
//! The log of (context, action, propensity, reward) is what off-policy evaluation needs.
//!
//! Where the rows go ([`Sink`]): the local SQLite store, or — when the bank is on PostgreSQL
//! (`bank.url`) — the bank's database (`la_steps` there), so a swarm's steps are in one place and
//! a session re-created on another machine gets its ledger back.

use std::sync::mpsc::{sync_channel, SyncSender};
use std::sync::Arc;
use std::thread::JoinHandle;

use parking_lot::{Condvar, Mutex};
use rusqlite::params;

use crate::error::{Error, ErrorCode, Result};
#[cfg(not(target_family = "wasm"))]
use crate::memory::PgBank;
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
    /// Whether verification denied the step and it ran anyway (observe mode).
    pub would_deny: bool,
    /// Ids of the policies that determined the decision, as a JSON array (`[]` without).
    pub policies: String,
    /// The step's numeric top-level parameters as a JSON object (`{}` when none): what the
    /// session ledger's running sums are rebuilt from.
    pub nums: String,
    /// The learner's view of the chunk (hashed features, `ContextFeatures::to_bytes`), for
    /// off-policy evaluation; none for a recorded outcome.
    pub features: Option<Vec<u8>>,
    /// The choice (`learning::ChoiceLog` as JSON): candidates, priors, what the verifier
    /// allowed; none for a recorded outcome.
    pub choice: Option<String>,
}

/// One step of a session as the ledger needs it back from the journal.
#[derive(Debug, Clone)]
pub struct LedgerRow {
    /// The action the step ran (or that was denied).
    pub action: String,
    /// Whether it succeeded.
    pub success: bool,
    /// The verification decision (`allow`, `deny`, `skipped`).
    pub decision: String,
    /// Whether a denied step ran anyway (observe mode).
    pub would_deny: bool,
    /// Completion time, ms since the epoch.
    pub at_ms: i64,
    /// The numeric parameters (JSON object).
    pub nums: serde_json::Value,
}

/// Where journal rows are written and read.
#[derive(Clone)]
pub enum Sink {
    /// The engine's SQLite store.
    Sqlite(Arc<Store>),
    /// The PostgreSQL bank's database.
    #[cfg(not(target_family = "wasm"))]
    Postgres(Arc<PgBank>),
}

/// The columns of a journal row, in the order both stores' insert statements bind them.
const INSERT_COLUMNS: &str = "id, session, action, success, reward, propensity, decision, latency_us, created_at, would_deny, policies, nums, features, choice";

/// A logged step for off-policy evaluation from a row's parts; `None` when the row has no
/// logged choice or it is unreadable.
fn logged_step(
    session: String,
    action: String,
    reward: f64,
    propensity: f64,
    features: Option<&[u8]>,
    choice: Option<&str>,
) -> Option<crate::learning::LoggedStep> {
    let features = features.and_then(crate::learning::ContextFeatures::from_bytes)?;
    let choice = choice.and_then(|c| serde_json::from_str::<crate::learning::ChoiceLog>(c).ok())?;
    Some(crate::learning::LoggedStep {
        session,
        features,
        candidates: choice.candidates,
        checked: choice.checked,
        action,
        reward,
        propensity,
    })
}

impl Sink {
    /// Creates the journal table if needed (PostgreSQL: by the bank's migrations).
    fn prepare(&self) -> Result<()> {
        match self {
            Sink::Sqlite(store) => store.with_conn(|conn| {
                conn.execute_batch(
                    "CREATE TABLE IF NOT EXISTS la_steps (
                        id TEXT PRIMARY KEY, session TEXT NOT NULL, action TEXT NOT NULL,
                        success INTEGER NOT NULL, reward REAL NOT NULL, propensity REAL NOT NULL,
                        decision TEXT NOT NULL, latency_us INTEGER NOT NULL, created_at INTEGER NOT NULL);
                     CREATE INDEX IF NOT EXISTS la_steps_session ON la_steps(session, created_at);",
                )?;
                // Columns added after the first release: stores made before get them on open.
                for (column, ddl) in [
                    ("would_deny", "ALTER TABLE la_steps ADD COLUMN would_deny INTEGER NOT NULL DEFAULT 0"),
                    ("policies", "ALTER TABLE la_steps ADD COLUMN policies TEXT NOT NULL DEFAULT '[]'"),
                    ("nums", "ALTER TABLE la_steps ADD COLUMN nums TEXT NOT NULL DEFAULT '{}'"),
                    ("features", "ALTER TABLE la_steps ADD COLUMN features BLOB"),
                    ("choice", "ALTER TABLE la_steps ADD COLUMN choice TEXT"),
                ] {
                    let present: bool = conn
                        .prepare("SELECT 1 FROM pragma_table_info('la_steps') WHERE name = ?1")?
                        .exists([column])?;
                    if !present {
                        conn.execute_batch(ddl)?;
                    }
                }
                Ok(())
            }),
            #[cfg(not(target_family = "wasm"))]
            Sink::Postgres(_) => Ok(()),
        }
    }

    /// Writes rows in one transaction (a re-journaled row updates its reward and success).
    fn write(&self, rows: &[JournalRow]) -> Result<()> {
        match self {
            Sink::Sqlite(store) => store.with_conn(|conn| {
                let tx = conn.transaction()?;
                {
                    let mut st = tx.prepare_cached(&format!(
                        "INSERT INTO la_steps ({INSERT_COLUMNS})
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)
                         ON CONFLICT(id) DO UPDATE SET reward = excluded.reward, success = excluded.success"
                    ))?;
                    for r in rows {
                        st.execute(params![
                            r.id, r.session, r.action, r.success, r.reward, r.propensity, r.decision,
                            r.latency_us as i64, r.at_ms, r.would_deny, r.policies, r.nums, r.features, r.choice
                        ])?;
                    }
                }
                tx.commit()?;
                Ok(())
            }),
            #[cfg(not(target_family = "wasm"))]
            Sink::Postgres(bank) => bank.with_client(|c| {
                let mut tx = c.transaction()?;
                let st = tx.prepare(&format!(
                    "INSERT INTO la_steps ({INSERT_COLUMNS})
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
                     ON CONFLICT (id) DO UPDATE SET reward = excluded.reward, success = excluded.success"
                ))?;
                for r in rows {
                    tx.execute(
                        &st,
                        &[
                            &r.id, &r.session, &r.action, &r.success, &r.reward, &r.propensity, &r.decision,
                            &(r.latency_us as i64), &r.at_ms, &r.would_deny, &r.policies, &r.nums, &r.features, &r.choice,
                        ],
                    )?;
                }
                tx.commit()?;
                Ok(())
            }),
        }
    }

    fn session_rows(&self, session: &str) -> Result<Vec<LedgerRow>> {
        let ledger = |action, success, decision, would_deny, at_ms, nums: String| LedgerRow {
            action,
            success,
            decision,
            would_deny,
            at_ms,
            nums: serde_json::from_str(&nums).unwrap_or(serde_json::Value::Null),
        };
        match self {
            Sink::Sqlite(store) => store.with_conn(|c| {
                let mut st = c.prepare_cached(
                    "SELECT action, success, decision, would_deny, created_at, nums FROM la_steps
                     WHERE session = ?1 ORDER BY created_at, rowid",
                )?;
                let rows = st.query_map([session], |r| {
                    Ok(ledger(
                        r.get(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                    ))
                })?;
                Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
            }),
            #[cfg(not(target_family = "wasm"))]
            Sink::Postgres(bank) => bank.with_client(|c| {
                let found = c.query(
                    "SELECT action, success, decision, would_deny, created_at, nums FROM la_steps
                     WHERE session = $1 ORDER BY created_at, seq",
                    &[&session],
                )?;
                found
                    .iter()
                    .map(|r| {
                        Ok(ledger(
                            r.try_get(0)?,
                            r.try_get(1)?,
                            r.try_get(2)?,
                            r.try_get(3)?,
                            r.try_get(4)?,
                            r.try_get(5)?,
                        ))
                    })
                    .collect()
            }),
        }
    }

    fn logged_steps(
        &self,
        since_ms: i64,
        sessions: Option<&[String]>,
    ) -> Result<(Vec<crate::learning::LoggedStep>, u64)> {
        let (mut steps, mut skipped) = (Vec::new(), 0u64);
        let mut take = |session: String,
                        action: String,
                        reward: f64,
                        propensity: f64,
                        features: Option<Vec<u8>>,
                        choice: Option<String>| {
            if sessions.is_some_and(|s| !s.contains(&session)) {
                return;
            }
            match logged_step(
                session,
                action,
                reward,
                propensity,
                features.as_deref(),
                choice.as_deref(),
            ) {
                Some(step) => steps.push(step),
                None => skipped += 1,
            }
        };
        match self {
            Sink::Sqlite(store) => store.with_conn(|c| {
                let mut st = c.prepare_cached(
                    "SELECT session, action, reward, propensity, features, choice FROM la_steps
                     WHERE created_at >= ?1 ORDER BY created_at, rowid",
                )?;
                let mut rows = st.query([since_ms])?;
                while let Some(r) = rows.next()? {
                    take(
                        r.get(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                    );
                }
                Ok(())
            })?,
            #[cfg(not(target_family = "wasm"))]
            Sink::Postgres(bank) => bank.with_client(|c| {
                for r in c.query(
                    "SELECT session, action, reward, propensity, features, choice FROM la_steps
                     WHERE created_at >= $1 ORDER BY created_at, seq",
                    &[&since_ms],
                )? {
                    take(
                        r.try_get(0)?,
                        r.try_get(1)?,
                        r.try_get(2)?,
                        r.try_get(3)?,
                        r.try_get(4)?,
                        r.try_get(5)?,
                    );
                }
                Ok(())
            })?,
        }
        Ok((steps, skipped))
    }

    fn count(&self) -> Result<u64> {
        let n: i64 = match self {
            Sink::Sqlite(store) => store.with_conn(|c| {
                Ok(c.query_row("SELECT COUNT(*) FROM la_steps", [], |r| r.get(0))?)
            })?,
            #[cfg(not(target_family = "wasm"))]
            Sink::Postgres(bank) => {
                bank.with_client(|c| Ok(c.query_one("SELECT count(*) FROM la_steps", &[])?.get(0)))?
            }
        };
        Ok(n as u64)
    }
}

/// Buffered, transactional journal in the system's store.
pub struct Journal {
    sink: Sink,
    buffer: Mutex<Vec<JournalRow>>,
    writer: Writer,
}

/// Rows buffered before they are handed to the writer thread.
pub const FLUSH_AT: usize = 512;

/// Groups of rows waiting for the writer before `append` blocks (back-pressure).
const QUEUED_GROUPS: usize = 8;

/// The writer thread and what it shares with the journal.
struct Writer {
    /// `None` only while dropping (closing the channel ends the thread).
    sender: Option<SyncSender<Vec<JournalRow>>>,
    shared: Arc<WriterShared>,
    thread: Option<JoinHandle<()>>,
}

/// Progress and failures of the writer thread.
#[derive(Default)]
struct WriterShared {
    /// Groups handed over and not yet written.
    queued: Mutex<usize>,
    /// Signalled whenever `queued` drops.
    written: Condvar,
    /// The first failed write not yet reported.
    error: Mutex<Option<Error>>,
}

impl Writer {
    fn start(sink: Sink) -> Result<Writer> {
        let (sender, receiver) = sync_channel::<Vec<JournalRow>>(QUEUED_GROUPS);
        let shared = Arc::new(WriterShared::default());
        if cfg!(target_family = "wasm") {
            // No writer thread on WebAssembly: `Journal::hand_over` writes on the caller's thread.
            return Ok(Writer {
                sender: None,
                shared,
                thread: None,
            });
        }
        let theirs = shared.clone();
        let thread = std::thread::Builder::new()
            .name("lean-agentic-journal".into())
            .spawn(move || {
                for rows in receiver {
                    if let Err(e) = sink.write(&rows) {
                        theirs.error.lock().get_or_insert(e);
                    }
                    let mut queued = theirs.queued.lock();
                    *queued -= 1;
                    theirs.written.notify_all();
                }
            })
            .map_err(|e| {
                Error::new(
                    ErrorCode::Internal,
                    format!("cannot start the journal writer thread: {e}"),
                )
            })?;
        Ok(Writer {
            sender: Some(sender),
            shared,
            thread: Some(thread),
        })
    }

    /// Reports (once) a write that failed.
    fn take_error(&self) -> Result<()> {
        match self.shared.error.lock().take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Hands `rows` to the writer thread (blocking while it is [`QUEUED_GROUPS`] behind).
    fn submit(&self, rows: Vec<JournalRow>) -> Result<()> {
        let Some(sender) = &self.sender else {
            return Err(Error::new(ErrorCode::Closed, "the step journal is closed"));
        };
        *self.shared.queued.lock() += 1;
        if sender.send(rows).is_err() {
            *self.shared.queued.lock() -= 1;
            return Err(Error::new(
                ErrorCode::Internal,
                "the journal writer thread stopped",
            ));
        }
        Ok(())
    }

    /// Waits until every group handed over is written.
    fn drain(&self) {
        let mut queued = self.shared.queued.lock();
        while *queued > 0 {
            self.shared.written.wait(&mut queued);
        }
    }
}

impl Drop for Journal {
    /// Writes what is still buffered (best effort: a failure here has nobody to report to).
    fn drop(&mut self) {
        let _ = self.flush();
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        // Closing the channel ends the thread once it has written what it holds.
        self.sender.take();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Journal {
    /// Opens the journal on `sink` (creating its table if needed).
    pub fn open(sink: Sink) -> Result<Self> {
        sink.prepare()?;
        Ok(Journal {
            writer: Writer::start(sink.clone())?,
            sink,
            buffer: Mutex::new(Vec::with_capacity(FLUSH_AT)),
        })
    }

    /// Buffers a row; hands the buffer to the writer thread when it is full. Reports a
    /// failed earlier write.
    pub fn append(&self, row: JournalRow) -> Result<()> {
        let full = {
            let mut b = self.buffer.lock();
            b.push(row);
            if b.len() >= FLUSH_AT {
                Some(std::mem::replace(&mut *b, Vec::with_capacity(FLUSH_AT)))
            } else {
                None
            }
        };
        if let Some(rows) = full {
            self.hand_over(rows)?;
        }
        self.writer.take_error()
    }

    /// Hands `rows` to the writer thread. On WebAssembly they are written here instead: a
    /// channel woken from another thread there (wasm32-wasip1-threads under emnapi) may never
    /// wake its receiver, so the engine starts no threads of its own.
    fn hand_over(&self, rows: Vec<JournalRow>) -> Result<()> {
        if cfg!(target_family = "wasm") {
            return self.sink.write(&rows);
        }
        self.writer.submit(rows)
    }

    /// Writes every buffered row and waits until all rows handed over are in the store;
    /// returns how many rows were still buffered.
    pub fn flush(&self) -> Result<usize> {
        let rows = std::mem::take(&mut *self.buffer.lock());
        let n = rows.len();
        if n > 0 {
            self.hand_over(rows)?;
        }
        self.writer.drain();
        self.writer.take_error()?;
        Ok(n)
    }

    /// Every journaled step of `session`, oldest first (after flushing the buffer): what a
    /// re-created session's ledger is rebuilt from.
    pub fn session_rows(&self, session: &str) -> Result<Vec<LedgerRow>> {
        self.flush()?;
        self.sink.session_rows(session)
    }

    /// The steps off-policy evaluation replays (after flushing the buffer), oldest first:
    /// those completed at or after `since_ms`, of `sessions` when given. Returns them and the
    /// number of rows left out (no logged choice, or unreadable).
    pub fn logged_steps(
        &self,
        since_ms: i64,
        sessions: Option<&[String]>,
    ) -> Result<(Vec<crate::learning::LoggedStep>, u64)> {
        self.flush()?;
        self.sink.logged_steps(since_ms, sessions)
    }

    /// Rows persisted so far (after flushing the buffer).
    pub fn count(&self) -> Result<u64> {
        self.flush()?;
        self.sink.count()
    }
}
