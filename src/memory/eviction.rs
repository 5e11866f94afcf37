//! Caps on the number of stored items, enforced by dropping the lowest-value ones — only among
//! the rows eviction may touch, never the item just written, and always reported.
//!
//! A memory's value is `confidence × recency × usage` with `recency = exp(−age_days/half_life)`
//! and `usage = 1 + ln(1 + usage_count)`; a learning's is `(0.5 + 0.5·tanh(reward)) × recency`.
//! A memory's age is computed in SQL exactly as agentic-flow computes it for retrieval,
//! `julianday('now') − julianday(created_at)`: a `created_at` SQLite cannot read gives `NULL`,
//! which agentic-flow's score treats as age 0 (recency 1), and so does eviction — such rows are
//! not preferred victims.
//!
//! Which memories may go is the bank's [`EvictMode`]: with `Own` (the default) only rows this
//! engine created (`la_owned_memories`, see `schema.rs`), and the cap counts those only, so a
//! file full of agentic-flow's memories loses none of them; with `All` any row; with `None`
//! nothing. Eviction runs after a write pushes a count over its cap and removes items until
//! `evict_to_fraction × cap` remain, so its cost is amortised over many writes; each run is
//! described by an [`EvictionReport`].

use rusqlite::{params, Connection, TransactionBehavior};
use serde::{Deserialize, Serialize};

use super::clock::MS_PER_DAY;
use super::config::EvictMode;
use super::fts::{self, KIND_LEARNING, KIND_MEMORY};
use super::schema::MEMORY_TYPE;
use super::score::recency;
use crate::error::Result;

/// At most this many ids are listed in one report (the count is always exact).
pub const MAX_REPORTED_IDS: usize = 10_000;

/// What an eviction run removed.
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum EvictedKind {
    /// Reasoning memories (`patterns` rows).
    Memory,
    /// Learnings (`la_learnings` rows).
    Learning,
}

/// The bank call whose write set off an eviction run.
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum EvictionCause {
    /// `store`.
    Store,
    /// `store_learning`.
    StoreLearning,
    /// `import_json`.
    ImportJson,
    /// `import_agentic_flow`.
    ImportAgenticFlow,
}

/// One eviction run (camelCase JSON for the JS `evict` event).
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EvictionReport {
    /// Memories or learnings.
    pub kind: EvictedKind,
    /// The bank's eviction mode.
    pub mode: EvictMode,
    /// The call that went over the cap.
    pub cause: EvictionCause,
    /// How many items were deleted.
    pub count: usize,
    /// Their ids, lowest value first (at most [`MAX_REPORTED_IDS`]).
    pub ids: Vec<String>,
    /// Whether `ids` was cut at [`MAX_REPORTED_IDS`].
    pub ids_truncated: bool,
    /// The cap (`maxMemories` or `maxLearnings`).
    pub cap: usize,
    /// Items the cap counts that remain (own memories with `own`, all with `all`).
    pub remaining: usize,
    /// When it ran (Unix milliseconds).
    pub at_ms: i64,
}

impl EvictionReport {
    /// A report for `ids` deleted (ids beyond [`MAX_REPORTED_IDS`] are counted, not listed).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        kind: EvictedKind,
        mode: EvictMode,
        cause: EvictionCause,
        mut ids: Vec<String>,
        cap: usize,
        remaining: usize,
        at_ms: i64,
    ) -> EvictionReport {
        let count = ids.len();
        let ids_truncated = count > MAX_REPORTED_IDS;
        ids.truncate(MAX_REPORTED_IDS);
        EvictionReport {
            kind,
            mode,
            cause,
            count,
            ids,
            ids_truncated,
            cap,
            remaining,
            at_ms,
        }
    }
}

/// Value of a memory for eviction (higher is kept longer).
pub fn memory_value(confidence: f64, usage_count: i64, age_days: f64, half_life_days: f64) -> f64 {
    let usage = 1.0 + (1.0 + usage_count.max(0) as f64).ln();
    confidence.max(0.0) * recency(age_days, half_life_days) * usage
}

/// Value of a learning for eviction (higher is kept longer).
pub fn learning_value(reward: f64, age_days: f64, half_life_days: f64) -> f64 {
    (0.5 + 0.5 * reward.tanh()) * recency(age_days, half_life_days)
}

/// The number of items to keep after evicting from a store over `cap`.
pub fn target_count(cap: usize, fraction: f64) -> usize {
    ((cap as f64 * fraction).floor() as usize).clamp(1, cap)
}

/// The Julian day number of Unix milliseconds (what SQLite's `julianday()` returns).
fn julian_day(ms: i64) -> f64 {
    ms as f64 / MS_PER_DAY as f64 + 2_440_587.5
}

/// Memories this engine wrote (`la_owned_memories`), or every memory.
fn memory_scope_sql(own_only: bool) -> &'static str {
    if own_only {
        "SELECT p.id, p.confidence, p.usage_count, ?2 - julianday(p.created_at)
         FROM patterns p JOIN la_owned_memories o ON o.id = p.id WHERE p.type = ?1"
    } else {
        "SELECT p.id, p.confidence, p.usage_count, ?2 - julianday(p.created_at)
         FROM patterns p WHERE p.type = ?1"
    }
}

/// How many memories this engine wrote (rows of `la_owned_memories` that are still memories).
pub fn count_own_memories(conn: &Connection) -> Result<usize> {
    let n: i64 = conn.query_row(
        "SELECT count(*) FROM la_owned_memories o JOIN patterns p ON p.id = o.id WHERE p.type = ?1",
        [MEMORY_TYPE],
        |r| r.get(0),
    )?;
    Ok(n.max(0) as usize)
}

/// An eviction candidate: its value, its age in days, its id.
type Candidate = (f64, f64, String);

/// The rows of a scope (id first) as `(value, age, id)` candidates, leaving out `protect`, and
/// how many rows the scope holds.
fn scored(
    mut rows: rusqlite::Rows<'_>,
    protect: Option<&str>,
    value_and_age: impl Fn(&rusqlite::Row<'_>) -> rusqlite::Result<(f64, f64)>,
) -> Result<(usize, Vec<Candidate>)> {
    let mut scope = 0usize;
    let mut items = Vec::new();
    while let Some(r) = rows.next()? {
        scope += 1;
        let id: String = r.get(0)?;
        if protect == Some(id.as_str()) {
            continue;
        }
        let (value, age) = value_and_age(r)?;
        items.push((value, age, id));
    }
    Ok((scope, items))
}

/// The ids to delete so that at most `keep` of `scope` items remain: the lowest value first;
/// among equals the oldest, then by id (deterministic). `items` are `(value, age, id)` of the
/// candidates (the scope minus any protected item).
fn victims(scope: usize, keep: usize, items: &mut Vec<Candidate>) -> Vec<String> {
    if scope <= keep {
        return Vec::new();
    }
    items.sort_by(|a, b| {
        a.0.total_cmp(&b.0)
            .then(b.1.total_cmp(&a.1))
            .then_with(|| a.2.cmp(&b.2))
    });
    let n = (scope - keep).min(items.len());
    items.drain(..n).map(|(_, _, id)| id).collect()
}

/// Deletes the lowest-value memories of the scope (`own_only`: rows this engine wrote) until
/// at most `keep` of the scope remain, never `protect` (the memory just written); returns the
/// deleted ids, lowest value first.
pub fn evict_memories(
    conn: &mut Connection,
    own_only: bool,
    keep: usize,
    protect: Option<&str>,
    now_ms: i64,
    half_life_days: f64,
) -> Result<Vec<String>> {
    // IMMEDIATE: the rows scored are the rows deleted, whatever other connections do meanwhile.
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let (scope, mut items) = {
        let mut stmt = tx.prepare(memory_scope_sql(own_only))?;
        let rows = stmt.query(params![MEMORY_TYPE, julian_day(now_ms)])?;
        scored(rows, protect, |r| {
            // NULL: a created_at SQLite cannot read; agentic-flow's age is NULL, its recency 1.
            let age = r.get::<_, Option<f64>>(3)?.unwrap_or(0.0);
            Ok((memory_value(r.get(1)?, r.get(2)?, age, half_life_days), age))
        })?
    };
    let doomed = victims(scope, keep, &mut items);
    for id in &doomed {
        // Cascades to the embedding, the links and the ownership row.
        tx.execute("DELETE FROM patterns WHERE id = ?1", [id])?;
        fts::remove(&tx, KIND_MEMORY, id)?;
    }
    tx.commit()?;
    Ok(doomed)
}

/// Deletes the lowest-value learnings until at most `keep` remain, never `protect`; returns
/// the deleted ids, lowest value first.
pub fn evict_learnings(
    conn: &mut Connection,
    keep: usize,
    protect: Option<&str>,
    now_ms: i64,
    half_life_days: f64,
) -> Result<Vec<String>> {
    // IMMEDIATE: the rows scored are the rows deleted, whatever other connections do meanwhile.
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let (scope, mut items) = {
        let mut stmt = tx.prepare("SELECT id, reward, created_at_ms FROM la_learnings")?;
        let rows = stmt.query([])?;
        scored(rows, protect, |r| {
            let created_ms: i64 = r.get(2)?;
            let age = (now_ms - created_ms) as f64 / MS_PER_DAY as f64;
            Ok((learning_value(r.get(1)?, age, half_life_days), age))
        })?
    };
    let doomed = victims(scope, keep, &mut items);
    for id in &doomed {
        tx.execute("DELETE FROM la_learnings WHERE id = ?1", params![id])?;
        fts::remove(&tx, KIND_LEARNING, id)?;
    }
    tx.commit()?;
    Ok(doomed)
}
