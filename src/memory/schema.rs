//! Table definitions.
//!
//! agentic-flow's tables (`patterns`, `pattern_embeddings`, `pattern_links`, ...) are created
//! exactly as its own migrations create them, with `IF NOT EXISTS`, so an existing
//! `.swarm/memory.db` is used in place and stays readable by agentic-flow. Our own tables carry
//! the prefix `la_`:
//! - `la_meta`: key/value facts about the store;
//! - `la_learnings`: learning records (pattern, outcome, reward, context, session, action);
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
pub const LA_SCHEMA_VERSION: &str = "1";

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
