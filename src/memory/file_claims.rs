//! One SQLite library per database file per process: which files this engine's SQLite holds,
//! refusing files another SQLite library in this process holds, and guarding the files we hold.
//!
//! # Why
//! The engine links its own copy of SQLite; agentic-flow uses better-sqlite3's. SQLite
//! coordinates connections with POSIX advisory locks, and POSIX locks belong to the *process*:
//! two SQLite libraries in one process never see each other's locks, and closing any
//! descriptor of a file drops every lock the process holds on it. SQLite's documentation warns
//! that this corrupts databases ("multiple copies of SQLite linked into the same
//! application"), and it did: with agentic-flow's connection open, the engine's import/export
//! connection believed it was the file's last user when it closed, checkpointed the WAL and
//! deleted `-wal`/`-shm` under agentic-flow, whose very next read failed with `SQLITE_CORRUPT`.
//! Within one library, SQLite shares one lock table per file (`unixInodeInfo`), so any number
//! of the engine's own connections to one file are safe.
//!
//! # What this module does
//! 1. **Refuse.** Before the engine's SQLite opens a file it does not hold yet, the process's
//!    open descriptors are compared (device and inode, read from `/proc/self/fd` without
//!    opening anything) with the file: a descriptor there was opened by someone else in this
//!    process — another SQLite library, in practice agentic-flow's better-sqlite3 — and the
//!    open is refused with [`ErrorCode::StoreInUse`], whose message names the safe way (the
//!    bridge's sync through agentic-flow's own connection, which needs no second library).
//! 2. **Guard.** A file the engine holds gets, while held, open-file-description (OFD) read
//!    locks mirroring the two locks SQLite keeps for as long as a connection is open: the
//!    SHARED range of the database file and the "dead man switch" byte of `-shm`. OFD locks
//!    conflict with POSIX locks even inside one process, so when agentic-flow opens the file
//!    after the engine its SQLite sees a reader (it does not reinitialise `-shm`), and when it
//!    closes it cannot take the EXCLUSIVE lock it needs to checkpoint and delete the WAL under
//!    the engine. Other processes saw those locks anyway; nothing changes for them.
//! 3. **Never delete on close.** Every connection runs with `SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE`
//!    (set in `store.rs`): closing never deletes `-wal`/`-shm`, whoever else has the file open.
//!    [`super::Store::close`] checkpoints (TRUNCATE) explicitly first, so the WAL is left empty.
//!
//! # Trade-off
//! Refusing is chosen over writing through agentic-flow's connection from the engine, because
//! the engine's writes (steps, memories, learnings) happen on engine threads in Rust, while a
//! better-sqlite3 handle can only be used on the JS thread that owns it. The bridge already
//! does the JS-side copy (`syncWithAgenticFlow({ database: db.getDb() })`); the refusal makes
//! the unsafe path fail loudly instead of corrupting. What remains: when the engine opened the
//! file *first* and agentic-flow opens it later in the same process, nothing can refuse
//! agentic-flow; the guard keeps both sides consistent for calls that take turns on the JS
//! thread (the engine's synchronous calls and agentic-flow's functions), but a write on an
//! engine thread (batches, the step journal) at the same moment as an agentic-flow write is not
//! excluded, because their write locks are POSIX locks of the same process. The detection and
//! the guard exist on Linux only; elsewhere the README's rule applies (agentic-flow in another
//! process, or the bridge's sync through its connection).

use std::collections::HashMap;
use std::fs::File;
use std::path::Path;
use std::sync::LazyLock;

use parking_lot::Mutex;

use crate::error::{Error, ErrorCode, Result};

/// A file's identity: device and inode (stable across paths, links and renames).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct FileKey {
    dev: u64,
    ino: u64,
}

/// The identity of the file at `path`, if it exists (read with `stat`, never opened).
#[cfg(unix)]
fn file_key(path: &Path) -> Option<FileKey> {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(path).ok()?;
    Some(FileKey {
        dev: m.dev(),
        ino: m.ino(),
    })
}

#[cfg(not(unix))]
fn file_key(_path: &Path) -> Option<FileKey> {
    None
}

/// How many descriptors of this process refer to `key` (Linux: `/proc/self/fd`; 0 where it
/// cannot be known). Each entry is `stat`ed through its magic link, which opens nothing.
#[cfg(target_os = "linux")]
fn descriptors_of(key: FileKey) -> usize {
    use std::os::unix::fs::MetadataExt;
    let Ok(dir) = std::fs::read_dir("/proc/self/fd") else {
        return 0;
    };
    dir.filter_map(|e| e.ok())
        .filter(|e| {
            std::fs::metadata(e.path())
                .map(|m| m.dev() == key.dev && m.ino() == key.ino)
                .unwrap_or(false)
        })
        .count()
}

#[cfg(not(target_os = "linux"))]
fn descriptors_of(_key: FileKey) -> usize {
    0
}

/// SQLite's lock bytes (`os_unix.c`): the SHARED range of a database file and the "dead man
/// switch" byte of its `-shm` file.
#[cfg(target_os = "linux")]
mod lock_bytes {
    /// `sqlite3PendingByte` (0x40000000 unless an application moved it).
    const PENDING_BYTE: i64 = 0x4000_0000;
    /// `SHARED_FIRST`: a SHARED lock is a read lock on this range, EXCLUSIVE a write lock.
    pub const SHARED_FIRST: i64 = PENDING_BYTE + 2;
    /// `SHARED_SIZE`.
    pub const SHARED_SIZE: i64 = 510;
    /// `UNIX_SHM_DMS`: `UNIX_SHM_BASE` (120) + `SQLITE_SHM_NLOCK` (8).
    pub const SHM_DMS: i64 = 128;
}

/// Places an open-file-description read lock on `len` bytes from `start` of `file`.
#[cfg(target_os = "linux")]
fn ofd_read_lock(file: &File, start: i64, len: i64) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    // SAFETY: `flock` is plain old data; all-zero is a valid value, filled in below (OFD locks
    // require `l_pid` to be 0).
    let mut fl: libc::flock = unsafe { std::mem::zeroed() };
    fl.l_type = libc::F_RDLCK as libc::c_short;
    fl.l_whence = libc::SEEK_SET as libc::c_short;
    fl.l_start = start;
    fl.l_len = len;
    // SAFETY: `file` is an open descriptor for the duration of the call and `fl` is a valid
    // `flock` that outlives it.
    let rc = unsafe { libc::fcntl(file.as_raw_fd(), libc::F_OFD_SETLK, &fl) };
    if rc == -1 {
        Err(std::io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// The guard of a held file: descriptors carrying OFD read locks (released when dropped).
#[derive(Debug)]
struct Guard {
    _files: Vec<File>,
}

/// Locks the SHARED range of `path` and the DMS byte of `<path>-shm` (best effort: a lock that
/// cannot be placed, e.g. on a kernel without OFD locks, is skipped).
#[cfg(target_os = "linux")]
fn guard(path: &Path) -> Guard {
    let mut files = Vec::new();
    if let Ok(db) = File::open(path) {
        if ofd_read_lock(&db, lock_bytes::SHARED_FIRST, lock_bytes::SHARED_SIZE).is_ok() {
            files.push(db);
        }
    }
    // SQLite names the shared-memory file after the resolved database path.
    let resolved = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let mut shm = resolved.into_os_string();
    shm.push("-shm");
    if let Ok(shm) = File::open(&shm) {
        if ofd_read_lock(&shm, lock_bytes::SHM_DMS, 1).is_ok() {
            files.push(shm);
        }
    }
    Guard { _files: files }
}

#[cfg(not(target_os = "linux"))]
fn guard(_path: &Path) -> Guard {
    Guard { _files: Vec::new() }
}

/// The engine's connections to one file, and that file's guard.
#[derive(Debug)]
struct Held {
    connections: usize,
    _guard: Guard,
}

/// Every file the engine's SQLite holds in this process.
static HELD: LazyLock<Mutex<HashMap<FileKey, Held>>> = LazyLock::new(|| Mutex::new(HashMap::new()));

/// One engine connection's hold on a file; dropping it (after the connection has closed)
/// releases the file's guard when it was the last one.
#[derive(Debug)]
pub(crate) struct FileClaim {
    key: Option<FileKey>,
}

impl Drop for FileClaim {
    fn drop(&mut self) {
        let Some(key) = self.key else { return };
        let mut held = HELD.lock();
        if let Some(h) = held.get_mut(&key) {
            h.connections = h.connections.saturating_sub(1);
            if h.connections == 0 {
                held.remove(&key); // closes the guard's descriptors
            }
        }
    }
}

/// The error for a file another SQLite library in this process holds.
pub(crate) fn in_use_error(path: &str, descriptors: usize) -> Error {
    Error::new(
        ErrorCode::StoreInUse,
        format!(
            "'{path}' is open in this process by another SQLite library ({descriptors} descriptor(s); \
             agentic-flow's better-sqlite3, e.g. after its db.getDb()), and two SQLite libraries \
             on one file in one process corrupt it. Copy memories through agentic-flow's own \
             connection instead: bridge.syncWithAgenticFlow({{ direction, database: db.getDb() }}) \
             (or exportThroughConnection / importThroughConnection); or close agentic-flow's \
             connection first (db.closeDb()); or give the system a store file of its own; or run \
             agentic-flow in another process"
        ),
    )
}

/// Opens `path` with `open` as one of the engine's connections to it. When the engine holds
/// no connection to the file yet and another SQLite library in this process has it open, the
/// open is refused with [`ErrorCode::StoreInUse`]. `open` is told whether the engine already
/// holds the file (then its header need not be read, which would mean opening and closing a
/// descriptor of it). The registry stays locked while `open` runs, so two engine threads
/// opening one file never take each other for a foreign library.
pub(crate) fn open_claimed<T>(
    path: &str,
    open: impl FnOnce(bool) -> Result<T>,
) -> Result<(T, FileClaim)> {
    let file = Path::new(path);
    let mut held = HELD.lock();
    let before = file_key(file);
    let ours = before.is_some_and(|k| held.contains_key(&k));
    if let (Some(key), false) = (before, ours) {
        let foreign = descriptors_of(key);
        if foreign > 0 {
            return Err(in_use_error(path, foreign));
        }
    }
    let value = open(ours)?;
    let key = file_key(file);
    if let Some(key) = key {
        held.entry(key)
            .or_insert_with(|| Held {
                connections: 0,
                _guard: guard(file),
            })
            .connections += 1;
    }
    Ok((value, FileClaim { key }))
}
