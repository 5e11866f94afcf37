//! Consolidation: link duplicates and contradictions, prune stale memories.
//!
//! Like agentic-flow's `consolidate()`, every pair of memories is compared: cosine ≥
//! `duplicate_threshold` links the newer memory to the older one as `duplicate_of`; cosine ≥
//! `contradiction_threshold` with opposite outcomes (Success vs Failure) links them as
//! `contradicts`. Links go to agentic-flow's `pattern_links` (nothing is deleted for being a
//! duplicate). Pairs are screened with the int8 matrix and its error bound, then confirmed
//! with exact f32 cosines, so the result equals an exact all-pairs scan. Finally memories never
//! used, below `prune_below_confidence` and older than `prune_max_age_days` are deleted, and
//! the run is recorded in `consolidation_runs`.

use std::time::Instant;

use rusqlite::{params, Connection};
use serde::{Deserialize, Serialize};

use super::config::BankConfig;
use super::fts::{self, KIND_MEMORY};
use super::records::new_id;
use super::schema::MEMORY_TYPE;
use super::simd::Kernel;
use super::vector_index::VectorIndex;
use crate::error::Result;

/// What a consolidation run did.
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ConsolidateReport {
    /// Memories compared.
    pub items_processed: usize,
    /// Pairs linked `duplicate_of`.
    pub duplicates_found: usize,
    /// Pairs linked `contradicts`.
    pub contradictions_found: usize,
    /// Memories deleted as stale.
    pub items_pruned: usize,
    /// Wall time in milliseconds.
    pub duration_ms: u64,
}

/// A link to write: `(src, dst, relation, weight)`.
type Link = (String, String, &'static str, f64);

/// Finds duplicate and contradiction pairs among the index rows.
pub fn find_links(index: &VectorIndex, kernel: Kernel, cfg: &BankConfig) -> Vec<Link> {
    let n = index.len();
    let threshold = cfg.duplicate_threshold.min(cfg.contradiction_threshold) as f32;
    let all_rows: Vec<u32> = (0..n as u32).collect();
    let mut dots = vec![0i32; n];
    let mut links = Vec::new();
    for a in 0..n {
        let rest = &all_rows[a + 1..];
        let out = &mut dots[..rest.len()];
        kernel.dot_i8_rows(
            index.quantized(a),
            index.quant_matrix(),
            index.dims(),
            rest,
            out,
        );
        for (&b, &dot) in rest.iter().zip(out.iter()) {
            let b = b as usize;
            let approx = dot as f32 * index.scale(a) * index.scale(b);
            if approx + index.pair_error_bound(a, b) < threshold {
                continue;
            }
            let sim = f64::from(kernel.dot_f32(index.unit(a), index.unit(b)));
            let (ma, mb) = (index.meta(a), index.meta(b));
            // newer → older (same second: the later-loaded row is the newer one)
            let (src, dst) = if ma.created_ms > mb.created_ms {
                (a, b)
            } else {
                (b, a)
            };
            if sim >= cfg.duplicate_threshold {
                links.push((
                    index.id(src).to_string(),
                    index.id(dst).to_string(),
                    "duplicate_of",
                    sim,
                ));
            }
            if sim >= cfg.contradiction_threshold && ma.outcome != mb.outcome {
                links.push((
                    index.id(src).to_string(),
                    index.id(dst).to_string(),
                    "contradicts",
                    sim,
                ));
            }
        }
    }
    links
}

/// Runs a consolidation; returns the report and the ids of pruned memories.
pub fn run(
    conn: &mut Connection,
    index: &VectorIndex,
    kernel: Kernel,
    cfg: &BankConfig,
) -> Result<(ConsolidateReport, Vec<String>)> {
    let started = Instant::now();
    let links = find_links(index, kernel, cfg);
    let pruned: Vec<String> = {
        let mut stmt = conn.prepare(
            "SELECT id FROM patterns WHERE type = ?1 AND usage_count = 0 AND confidence < ?2
             AND CAST((julianday('now') - julianday(created_at)) AS INTEGER) > ?3",
        )?;
        let rows = stmt.query_map(
            params![
                MEMORY_TYPE,
                cfg.prune_below_confidence,
                cfg.prune_max_age_days
            ],
            |r| r.get(0),
        )?;
        rows.collect::<std::result::Result<_, _>>()?
    };
    let mut report = ConsolidateReport {
        items_processed: index.len(),
        ..Default::default()
    };
    let tx = conn.transaction()?;
    for (src, dst, relation, weight) in &links {
        tx.execute(
            "INSERT INTO pattern_links (src_id, dst_id, relation, weight) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT(src_id, dst_id, relation) DO UPDATE SET weight = excluded.weight",
            params![src, dst, relation, weight],
        )?;
        if *relation == "duplicate_of" {
            report.duplicates_found += 1;
        } else {
            report.contradictions_found += 1;
        }
    }
    for id in &pruned {
        tx.execute("DELETE FROM patterns WHERE id = ?1", [id])?;
        fts::remove(&tx, KIND_MEMORY, id)?;
    }
    report.items_pruned = pruned.len();
    report.duration_ms = started.elapsed().as_millis() as u64;
    tx.execute(
        "INSERT INTO consolidation_runs (run_id, items_processed, duplicates_found, contradictions_found, items_pruned, duration_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            new_id(),
            report.items_processed as i64,
            report.duplicates_found as i64,
            report.contradictions_found as i64,
            report.items_pruned as i64,
            report.duration_ms as i64
        ],
    )?;
    if cfg.log_metrics {
        for (name, value) in [
            ("rb.consolidate.duration_ms", report.duration_ms as f64),
            ("rb.consolidate.duplicates", report.duplicates_found as f64),
            (
                "rb.consolidate.contradictions",
                report.contradictions_found as f64,
            ),
            ("rb.consolidate.pruned", report.items_pruned as f64),
        ] {
            tx.execute(
                "INSERT INTO metrics_log (metric_name, value) VALUES (?1, ?2)",
                params![name, value],
            )?;
        }
    }
    tx.commit()?;
    Ok((report, pruned))
}
