//! Caps on the number of stored items, enforced by dropping the lowest-value ones.
//!
//! A memory's value is `confidence × recency × usage` with `recency = exp(−age_days/half_life)`
//! and `usage = 1 + ln(1 + usage_count)`; a learning's is `(0.5 + 0.5·tanh(reward)) × recency`.
//! Eviction runs after a write pushes a count over its cap and removes items until
//! `evict_to_fraction × cap` remain, so its cost is amortised over many writes.

use rusqlite::{params, Connection};

use super::clock::{parse_datetime, MS_PER_DAY};
use super::fts::{self, KIND_LEARNING, KIND_MEMORY};
use super::schema::MEMORY_TYPE;
use crate::error::Result;

/// Value of a memory for eviction (higher is kept longer).
pub fn memory_value(confidence: f64, usage_count: i64, age_days: f64, half_life_days: f64) -> f64 {
    let recency = (-age_days.max(0.0) / half_life_days).exp();
    let usage = 1.0 + (1.0 + usage_count.max(0) as f64).ln();
    confidence.max(0.0) * recency * usage
}

/// Value of a learning for eviction (higher is kept longer).
pub fn learning_value(reward: f64, age_days: f64, half_life_days: f64) -> f64 {
    let recency = (-age_days.max(0.0) / half_life_days).exp();
    (0.5 + 0.5 * reward.tanh()) * recency
}

/// The number of items to keep after evicting from a store over `cap`.
pub fn target_count(cap: usize, fraction: f64) -> usize {
    ((cap as f64 * fraction).floor() as usize).clamp(1, cap)
}

/// Deletes the lowest-value memories until at most `keep` remain; returns the deleted ids.
pub fn evict_memories(
    conn: &mut Connection,
    keep: usize,
    now_ms: i64,
    half_life_days: f64,
) -> Result<Vec<String>> {
    let mut items: Vec<(f64, i64, String)> = {
        let mut stmt = conn.prepare(
            "SELECT id, confidence, usage_count, created_at FROM patterns WHERE type = ?1",
        )?;
        let rows = stmt.query_map([MEMORY_TYPE], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, f64>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, String>(3)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, conf, usage, created) = row?;
            let created_ms = parse_datetime(&created).unwrap_or(0);
            let age = (now_ms - created_ms) as f64 / MS_PER_DAY as f64;
            out.push((
                memory_value(conf, usage, age, half_life_days),
                created_ms,
                id,
            ));
        }
        out
    };
    if items.len() <= keep {
        return Ok(Vec::new());
    }
    items.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let doomed: Vec<String> = items
        .drain(..items.len() - keep)
        .map(|(_, _, id)| id)
        .collect();
    let tx = conn.transaction()?;
    for id in &doomed {
        tx.execute("DELETE FROM patterns WHERE id = ?1", [id])?;
        fts::remove(&tx, KIND_MEMORY, id)?;
    }
    tx.commit()?;
    Ok(doomed)
}

/// Deletes the lowest-value learnings until at most `keep` remain; returns how many went.
pub fn evict_learnings(
    conn: &mut Connection,
    keep: usize,
    now_ms: i64,
    half_life_days: f64,
) -> Result<usize> {
    let mut items: Vec<(f64, i64, String)> = {
        let mut stmt = conn.prepare("SELECT id, reward, created_at_ms FROM la_learnings")?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, f64>(1)?,
                r.get::<_, i64>(2)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, reward, created_ms) = row?;
            let age = (now_ms - created_ms) as f64 / MS_PER_DAY as f64;
            out.push((learning_value(reward, age, half_life_days), created_ms, id));
        }
        out
    };
    if items.len() <= keep {
        return Ok(0);
    }
    items.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let doomed: Vec<String> = items
        .drain(..items.len() - keep)
        .map(|(_, _, id)| id)
        .collect();
    let tx = conn.transaction()?;
    for id in &doomed {
        tx.execute("DELETE FROM la_learnings WHERE id = ?1", params![id])?;
        fts::remove(&tx, KIND_LEARNING, id)?;
    }
    tx.commit()?;
    Ok(doomed.len())
}
