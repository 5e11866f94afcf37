//! The persistent SQLite store shared by every engine area.
//!
//! One [`Store`] owns one connection behind a mutex. It is opened in WAL mode with
//! `foreign_keys=ON` (as agentic-flow's better-sqlite3 opens the same file), a 5 s
//! `busy_timeout` so writers in two processes wait for each other instead of failing, and
//! `synchronous=NORMAL` (durable at checkpoints, the usual WAL setting). Opening runs
//! `PRAGMA quick_check`, so a truncated or foreign file is reported as
//! [`ErrorCode::StoreCorrupt`] at once rather than on a later query.
//!
//! Every connection is opened through `file_claims` (a file another SQLite library in this
//! process holds is refused with [`ErrorCode::StoreInUse`]; a file we hold is guarded) and runs
//! with `SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE`: closing never checkpoints-and-deletes the WAL and
//! `-shm`, which would pull them from under a connection SQLite cannot see (agentic-flow's, in
//! this process). [`Store::close`] checkpoints explicitly (TRUNCATE) instead.
//!
//! The WebAssembly build (wasm32-wasip1-threads) keeps stores in memory only: SQLite compiled for
//! WASI has no WAL (`SQLITE_OMIT_WAL`, so it cannot even read agentic-flow's WAL-mode
//! `memory.db`) and locks files with dot-files, which other processes' POSIX locks never see, so
//! sharing a file with them could corrupt it. A file path there is refused with
//! [`ErrorCode::InvalidConfig`].

use std::path::Path;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use parking_lot::Mutex;
use rusqlite::config::DbConfig;
use rusqlite::{Connection, OptionalExtension};

use super::file_claims::{open_claimed, FileClaim};
use super::schema;
use crate::error::{err, Error, ErrorCode, Result};

/// How long a write waits for another connection's lock before failing.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The path that means "an in-memory database".
pub const IN_MEMORY: &str = ":memory:";

/// A SQLite database holding agentic-flow's tables and our `la_` tables. `Send + Sync`.
pub struct Store {
    path: String,
    /// `None` after [`Store::close`]. Dropped before `claim` (field order), so the file's
    /// guard outlives the connection.
    conn: Mutex<Option<Connection>>,
    /// The connection's hold on the file (`None` for in-memory stores and after close).
    claim: Mutex<Option<FileClaim>>,
    /// Bumped by every reasoning-bank write through this store, so several banks sharing one
    /// connection (which never see each other's commits in `data_version`) notice them.
    memory_epoch: AtomicU64,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish()
    }
}

/// The message of a [`ErrorCode::StoreCorrupt`] error for `path`.
pub(crate) fn corrupt_error(path: &str, detail: &str) -> Error {
    Error::new(
        ErrorCode::StoreCorrupt,
        format!(
            "the database file '{path}' is corrupt, truncated or not a SQLite database ({detail}); \
             restore it from a backup or move it away so a fresh store is created \
             (`sqlite3 '{path}' .recover` can salvage readable rows)"
        ),
    )
}

/// Maps a SQLite error met while opening `path`: corruption codes become `StoreCorrupt`.
fn open_error(path: &str, e: rusqlite::Error) -> Error {
    use rusqlite::ffi::ErrorCode as Sq;
    match e.sqlite_error_code() {
        Some(Sq::DatabaseCorrupt) | Some(Sq::NotADatabase) => corrupt_error(path, &e.to_string()),
        _ => Error::new(
            ErrorCode::Store,
            format!("cannot open the store '{path}': {e}"),
        ),
    }
}

/// The scheme of `path` when it is a URL (`postgresql://…`, `file:///…`): letters, digits, `+`,
/// `-`, `.` after a leading letter, then `://`. A Windows drive (`C:\…`) or a name with a colon
/// (`store:1.db`) is not one.
fn url_scheme(path: &str) -> Option<&str> {
    let (scheme, _) = path.split_once("://")?;
    let mut chars = scheme.chars();
    let first = chars.next()?;
    (first.is_ascii_alphabetic() && chars.all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c)))
        .then_some(scheme)
}

/// Refuses a URL as a store path: SQLite would take it for a file name and create a file under
/// a directory named after the scheme. The message names the scheme only (a URL may carry a
/// password).
fn refuse_url(path: &str) -> Result<()> {
    match url_scheme(path) {
        None => Ok(()),
        Some(scheme) => err(
            ErrorCode::InvalidConfig,
            format!(
                "the store path is a {scheme}:// URL, not a file path: `path` is the local SQLite file (a file path or ':memory:'); to keep the reasoning bank in PostgreSQL pass `bank: {{ url: '<your postgres:// URL>' }}`"
            ),
        ),
    }
}

/// Opens a connection with the pragmas every store connection needs and checks its integrity.
/// A file's connection comes with the engine's claim on it (`None` for `:memory:`); drop the
/// connection first.
pub(crate) fn open_connection(path: &str) -> Result<(Connection, Option<FileClaim>)> {
    if path.trim().is_empty() {
        return err(
            ErrorCode::InvalidInput,
            "the store path is empty; pass a file path or ':memory:'",
        );
    }
    if path == IN_MEMORY {
        return Ok((configure(path)?, None));
    }
    refuse_url(path)?;
    if cfg!(target_family = "wasm") {
        return err(
            ErrorCode::InvalidConfig,
            format!(
                "cannot open the database file '{path}': this is the WebAssembly build of \
                 lean-agentic-native, whose SQLite has no WAL and no file locking, so it keeps \
                 stores in memory only; pass path ':memory:', or install the native package for \
                 this platform (lean-agentic-native-<platform>) to use files"
            ),
        );
    }
    let file = Path::new(path);
    if let Some(parent) = file.parent() {
        if !parent.as_os_str().is_empty() {
            std::fs::create_dir_all(parent).map_err(|e| {
                Error::new(
                    ErrorCode::Store,
                    format!(
                        "cannot create the directory '{}' for the store: {e}",
                        parent.display()
                    ),
                )
            })?;
        }
    }
    let (conn, claim) = open_claimed(path, |already_held| {
        // Reading the header opens and closes a descriptor of the file, which would drop the
        // POSIX locks our own open connections hold on it; a file we hold is a database anyway.
        if !already_held {
            check_header(path)?;
        }
        configure(path)
    })?;
    Ok((conn, Some(claim)))
}

/// Opens `path` and applies the pragmas; checks the file's integrity.
fn configure(path: &str) -> Result<Connection> {
    let conn = Connection::open(path).map_err(|e| open_error(path, e))?;
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, true)
        .map_err(|e| open_error(path, e))?;
    conn.busy_timeout(BUSY_TIMEOUT)
        .map_err(|e| open_error(path, e))?;
    conn.pragma_update(None, "foreign_keys", "ON")
        .map_err(|e| open_error(path, e))?;
    let _mode: String = conn
        .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
        .map_err(|e| open_error(path, e))?;
    conn.pragma_update(None, "synchronous", "NORMAL")
        .map_err(|e| open_error(path, e))?;
    let check: Vec<String> = {
        let mut stmt = conn
            .prepare("PRAGMA quick_check")
            .map_err(|e| open_error(path, e))?;
        let rows = stmt
            .query_map([], |r| r.get::<_, String>(0))
            .map_err(|e| open_error(path, e))?;
        rows.collect::<std::result::Result<_, _>>()
            .map_err(|e| open_error(path, e))?
    };
    if check.first().map(String::as_str) != Some("ok") {
        return Err(corrupt_error(
            path,
            &format!("quick_check: {}", check.join("; ")),
        ));
    }
    Ok(conn)
}

/// `PRAGMA wal_checkpoint(TRUNCATE)`. SQLite built without WAL (the WebAssembly build) answers
/// it with no row: there is nothing to checkpoint.
fn checkpoint_wal(conn: &Connection) -> Result<()> {
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
        .optional()?;
    Ok(())
}

/// Rejects a non-empty file that does not start with the SQLite header.
fn check_header(path: &str) -> Result<()> {
    use std::io::Read;
    let mut file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => {
            return err(
                ErrorCode::Store,
                format!("cannot read the store '{path}': {e}"),
            )
        }
    };
    let mut header = [0u8; 16];
    let mut read = 0;
    while read < header.len() {
        match file.read(&mut header[read..]) {
            Ok(0) => break,
            Ok(n) => read += n,
            Err(e) => {
                return err(
                    ErrorCode::Store,
                    format!("cannot read the store '{path}': {e}"),
                )
            }
        }
    }
    if read == 0 {
        return Ok(()); // an empty file is a valid empty database
    }
    if read < header.len() || &header != b"SQLite format 3\0" {
        return Err(corrupt_error(
            path,
            "the file does not start with the SQLite header",
        ));
    }
    Ok(())
}

impl Store {
    /// Opens (creating if needed) the store at `path` (`":memory:"` for a private in-memory
    /// database), creating parent directories and every missing table.
    pub fn open(path: &str) -> Result<Store> {
        let (mut conn, claim) = open_connection(path)?;
        schema::create_all(&mut conn).map_err(|e| match e.code {
            ErrorCode::StoreCorrupt => corrupt_error(path, &e.message),
            _ => e,
        })?;
        Ok(Store {
            path: path.to_string(),
            conn: Mutex::new(Some(conn)),
            claim: Mutex::new(claim),
            memory_epoch: AtomicU64::new(0),
        })
    }

    /// Runs `f` with exclusive use of the connection (for other areas' `la_` tables).
    pub fn with_conn<R>(&self, f: impl FnOnce(&mut Connection) -> Result<R>) -> Result<R> {
        let mut guard = self.conn.lock();
        match guard.as_mut() {
            Some(conn) => f(conn),
            None => err(
                ErrorCode::Closed,
                format!("the store '{}' is closed; open the system again", self.path),
            ),
        }
    }

    /// Copies the WAL into the main file and truncates it (`PRAGMA wal_checkpoint(TRUNCATE)`).
    pub fn checkpoint(&self) -> Result<()> {
        self.with_conn(|c| checkpoint_wal(c))
    }

    /// Checkpoints the WAL and closes the connection now (not at garbage collection), so the
    /// file is released at once. Later calls fail with `ERR_CLOSED`. Idempotent. The `-wal`
    /// (left empty) and `-shm` files stay: deleting them is only safe for the file's last
    /// user, which a connection cannot know when another SQLite library in this process has
    /// the file open.
    pub fn close(&self) -> Result<()> {
        let conn = self.conn.lock().take();
        let result = match conn {
            Some(conn) => checkpoint_wal(&conn).and(conn.close().map_err(|(_, e)| Error::from(e))),
            None => Ok(()),
        };
        drop(self.claim.lock().take());
        result
    }

    /// The path the store was opened with.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The counter of reasoning-bank writes made through this store.
    pub(crate) fn memory_epoch(&self) -> &AtomicU64 {
        &self.memory_epoch
    }

    /// `PRAGMA data_version`: changes whenever another connection commits to the file.
    pub(crate) fn data_version(conn: &Connection) -> Result<i64> {
        Ok(conn.query_row("PRAGMA data_version", [], |r| r.get(0))?)
    }
}
