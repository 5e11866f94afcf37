//! Table definitions.
//!
//! agentic-flow's tables (`patterns`, `pattern_embeddings`, `pattern_links`, ...) are created
//! exactly as its own migrations create them, with `IF NOT EXISTS`, so an existing
//! `.swarm/memory.db` is used in place and stays readable by agentic-flow. Our own tables carry
//! the prefix `la_`:
//! - `la_meta`: key/value facts about the store;
//! - `la_learnings`: learning records (pattern, outcome, reward, context, session, action);
//! - `la_owned_memories`: the ids of the `patterns` rows this engine created (by `store` or an
//!   import), so eviction can tell them from agentic-flow's in every process. Its foreign key
//!   cascades: when agentic-flow deletes a row, or replaces it with `INSERT OR REPLACE` (its
//!   `upsertMemory`; a delete plus an insert), the id stops being ours. agentic-flow never reads
//!   this table and its own reads and writes of `patterns` are unchanged;
//! - `la_fts` (FTS5) plus `la_fts_refs`: the full-text index over memories and learnings, kept
//!   in sync by hand in the same transaction as every write (`la_fts_refs` maps an item to its
//!   FTS row and a change signature used to reconcile rows written by agentic-flow itself).

use rusqlite::Connection;

use crate::error::Result;

/// agentic-flow 2.1.3's `.swarm/memory.db` schema (tables and indexes, `IF NOT EXISTS`).
pub const AGENTIC_FLOW_SCHEMA: &str = include_str!("agentic_flow_schema.sql");

/// The `pattern_embeddings.model` value of vectors made by the built-in hash embedder.
pub const HASH_MODEL: &str = "lean-hash-384";

/// The `patterns.type` of reasoning memories.
pub const MEMORY_TYPE: &str = "reasoning_memory";

/// Our own tables (prefix `la_`).
pub const LA_SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS la_meta (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS la_learnings (
  id TEXT PRIMARY KEY,
  pattern TEXT NOT NULL,
  outcome TEXT NOT NULL,
  reward REAL NOT NULL,
  context TEXT,
  session TEXT,
  action TEXT,
  created_at_ms INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS idx_la_learnings_created ON la_learnings(created_at_ms);
CREATE TABLE IF NOT EXISTS la_owned_memories (
  id TEXT PRIMARY KEY REFERENCES patterns(id) ON DELETE CASCADE
) WITHOUT ROWID;
CREATE VIRTUAL TABLE IF NOT EXISTS la_fts USING fts5(
  title, description, content,
  kind UNINDEXED, ref_id UNINDEXED, created_ms UNINDEXED,
  tokenize = 'unicode61 remove_diacritics 2'
);
CREATE TABLE IF NOT EXISTS la_fts_refs (
  kind TEXT NOT NULL,
  ref_id TEXT NOT NULL,
  fts_rowid INTEGER NOT NULL,
  sig TEXT NOT NULL,
  PRIMARY KEY (kind, ref_id)
);
"#;

/// The version of our `la_` schema, recorded in `la_meta` under `schema_version`.
/// Version 2 added `la_owned_memories`; rows of a version-1 store count as another writer's
/// (nothing records who wrote them), so eviction with `evict: 'own'` leaves them alone.
pub const LA_SCHEMA_VERSION: &str = "2";

/// Creates every table that is missing, in one transaction.
pub fn create_all(conn: &mut Connection) -> Result<()> {
    let tx = conn.transaction()?;
    tx.execute_batch(AGENTIC_FLOW_SCHEMA)?;
    tx.execute_batch(LA_SCHEMA)?;
    tx.execute(
        "INSERT INTO la_meta (key, value) VALUES ('schema_version', ?1)
         ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        [LA_SCHEMA_VERSION],
    )?;
    tx.commit()?;
    Ok(())
}

/// Creates agentic-flow's tables only (used when exporting into a foreign database).
pub fn create_agentic_flow(conn: &Connection) -> Result<()> {
    conn.execute_batch(AGENTIC_FLOW_SCHEMA)?;
    Ok(())
}
