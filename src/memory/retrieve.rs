//! Scoring and MMR selection, exactly as agentic-flow's `retrieveMemories`, over the int8 index.
//!
//! agentic-flow scores every candidate (confidence ≥ min, optional domain) with
//! `α·cos + β·exp(−age_days/half_life) + γ·min(confidence, 1)` (`age_days` a whole number of
//! days), sorts by score and then repeatedly picks the candidate maximising
//! `λ·score − (1−λ)·max(0, max cos to the already selected)` (λ = 0.1).
//!
//! Here the same result is computed with int8 passes instead of exact scoring of every row:
//! 1. filters run first and select the rows to scan;
//! 2. one int8 pass against the query gives every candidate a lower and an upper bound of its
//!    score (int8 cosine ± the quantisation error bound); only candidates whose upper bound
//!    reaches the best lower bound are scored exactly, and the best exact score is the first pick;
//! 3. each further pick first probes a few candidates exactly (the best ones of the previous
//!    step and an evenly spaced sample) to get a floor for this step's best MMR value; only
//!    candidates whose MMR upper bound (`λ·score_hi − (1−λ)·sim_lo`) reaches the floor are
//!    scanned in int8 against the item picked last, which raises their similarity lower bounds;
//!    the survivors are then evaluated exactly (f32) in decreasing order of upper bound until no
//!    remaining bound can beat the best exact value.
//!
//! The picks are therefore exactly agentic-flow's (ties broken like its stable sort: higher
//! score, then confidence, then usage). The cost is one int8 pass over the candidates plus, per
//! further pick, a pass over those that can still win: with agentic-flow's λ = 0.1 and
//! positively correlated embeddings that is everything at the second pick and a shrinking
//! fraction after; with λ = 1 (plain top-k) a single pass.

use std::cmp::Ordering;
use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::config::RetrieveOptions;
use super::parallel::part_len;
use super::score::{age_days, recency};
use super::simd::Kernel;
use super::vector_index::{normalize, quantize, VectorIndex};

/// The three parts of a retrieval score.
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScoreComponents {
    /// Cosine similarity to the query.
    pub similarity: f64,
    /// `exp(−age_days / half_life_days)`.
    pub recency: f64,
    /// `min(confidence, 1)`.
    pub reliability: f64,
}

/// One selected row with its score.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Selected {
    /// Row in the index.
    pub row: usize,
    /// Weighted score.
    pub score: f64,
    /// Its components.
    pub components: ScoreComponents,
}

/// Scoring context shared by the passes.
struct Scorer<'a> {
    index: &'a VectorIndex,
    kernel: Kernel,
    query: Vec<f32>,
    opts: &'a RetrieveOptions,
    now_ms: i64,
    recency_cache: Vec<f64>,
}

impl Scorer<'_> {
    fn recency(&self, row: usize) -> f64 {
        let age = age_days(self.now_ms, self.index.created_ms(row));
        match usize::try_from(age)
            .ok()
            .and_then(|a| self.recency_cache.get(a))
        {
            Some(r) => *r,
            None => recency(age as f64, self.opts.half_life_days),
        }
    }

    fn prior(&self, row: usize) -> (f64, f64) {
        let recency = self.recency(row);
        let reliability = self.index.confidence(row).min(1.0);
        (recency, reliability)
    }

    fn exact(&self, row: usize) -> (f64, ScoreComponents) {
        let similarity = f64::from(self.kernel.dot_f32(&self.query, self.index.unit(row)));
        let (recency, reliability) = self.prior(row);
        let w = self.opts.weights;
        let score = w.similarity * similarity + w.recency * recency + w.reliability * reliability;
        (
            score,
            ScoreComponents {
                similarity,
                recency,
                reliability,
            },
        )
    }
}

/// The rows (all of them, or only `candidates`) that pass the filters (confidence, domain,
/// agent), ascending.
pub fn filter_rows(
    index: &VectorIndex,
    opts: &RetrieveOptions,
    candidates: Option<&[u32]>,
) -> Vec<u32> {
    let all: Vec<u32>;
    let pool: &[u32] = match candidates {
        Some(c) => c,
        None if opts.domain.is_none() && opts.agent.is_none() => {
            return (0..index.len() as u32)
                .filter(|&r| index.confidence(r as usize) >= opts.min_confidence)
                .collect();
        }
        None => {
            all = (0..index.len() as u32).collect();
            &all
        }
    };
    let mut rows = Vec::with_capacity(pool.len());
    for row in pool.iter().map(|&r| r as usize) {
        if index.confidence(row) < opts.min_confidence {
            continue;
        }
        let m = index.meta(row);
        if let Some(d) = &opts.domain {
            if m.domain.as_deref() != Some(d.as_str()) {
                continue;
            }
        }
        if let Some(a) = &opts.agent {
            if m.agent.as_deref() != Some(a.as_str()) {
                continue;
            }
        }
        rows.push(row as u32);
    }
    rows
}

/// Exact values of a candidate, computed on demand.
#[derive(Clone, Copy)]
struct Exact {
    score: f64,
    components: ScoreComponents,
    /// Exact `max(0, max cos)` over the first `seen` selected candidates.
    max_sim: f64,
    seen: usize,
}

/// Number of evenly spaced candidates probed exactly at each MMR step to get a first floor.
const PROBE_SAMPLE: usize = 128;
/// Candidates sorted at a time when walking upper bounds in decreasing order.
const CHUNK: usize = 64;
/// Number of best candidates of one MMR step probed first at the next.
const PROMISING: usize = 32;

/// Slack added to f32-stored bounds so rounding can never make them unsafe.
const BOUND_SLACK: f32 = 1e-5;

/// True when `a = (value, score, confidence, usage, row)` beats `b` in agentic-flow's order.
fn beats(a: (f64, f64, f64, i64, u32), b: (f64, f64, f64, i64, u32)) -> bool {
    a.0.total_cmp(&b.0)
        .then(a.1.total_cmp(&b.1))
        .then(a.2.total_cmp(&b.2))
        .then(a.3.cmp(&b.3))
        .then(b.4.cmp(&a.4))
        == Ordering::Greater
}

/// Selects up to `opts.k` rows for `query` (any length equal to the index dimension) among
/// all rows, or among `candidates` (ascending rows, e.g. from the approximate index).
#[allow(clippy::needless_range_loop)] // several parallel arrays are indexed by candidate
pub fn select(
    index: &VectorIndex,
    kernel: Kernel,
    query: &[f32],
    opts: &RetrieveOptions,
    now_ms: i64,
    candidates: Option<&[u32]>,
) -> Vec<Selected> {
    let rows = filter_rows(index, opts, candidates);
    if rows.is_empty() || index.dims() != query.len() {
        return Vec::new();
    }
    let unit_query = normalize(query);
    let q = quantize(&unit_query);
    let scorer = Scorer {
        index,
        kernel,
        query: unit_query,
        opts,
        now_ms,
        recency_cache: (0..4096)
            .map(|d| recency(d as f64, opts.half_life_days))
            .collect(),
    };
    let w = opts.weights;

    if opts.k >= rows.len() {
        // agentic-flow returns every candidate when k covers them all; we return them by score.
        let mut all: Vec<Selected> = rows
            .iter()
            .map(|&r| {
                let (score, components) = scorer.exact(r as usize);
                Selected {
                    row: r as usize,
                    score,
                    components,
                }
            })
            .collect();
        if opts.fetch_order_when_all {
            // agentic-flow's `ORDER BY p.confidence DESC, p.usage_count DESC` (rows ascending).
            all.sort_by(|a, b| {
                index
                    .confidence(b.row)
                    .total_cmp(&index.confidence(a.row))
                    .then(
                        index
                            .meta(b.row)
                            .usage_count
                            .cmp(&index.meta(a.row).usage_count),
                    )
                    .then(a.row.cmp(&b.row))
            });
        } else {
            all.sort_by(|a, b| b.score.total_cmp(&a.score));
        }
        return all;
    }

    // Pass 1: score bounds from int8 cosines with the query (structure of arrays, f32), each
    // part of the rows scanned and bounded on its own core while its dots are still in cache.
    let n = rows.len();
    let mut score_lo = vec![0f32; n];
    let mut score_hi = vec![0f32; n];
    let wsim = w.similarity as f32;
    let bound_part = |part: &[u32], lo_out: &mut [f32], hi_out: &mut [f32]| -> f32 {
        let mut dots = vec![0i32; part.len()];
        kernel.dot_i8_rows_serial(
            &q.values,
            index.quant_matrix(),
            index.dims(),
            part,
            &mut dots,
        );
        let mut best = f32::NEG_INFINITY;
        for (i, &r) in part.iter().enumerate() {
            let row = r as usize;
            let approx = dots[i] as f32 * q.scale * index.scale(row);
            let err = index.error_bound(&q, row);
            let (recency, reliability) = scorer.prior(row);
            let prior = (w.recency * recency + w.reliability * reliability) as f32;
            let lo = wsim * (approx - err) + prior - BOUND_SLACK;
            lo_out[i] = lo;
            hi_out[i] = wsim * (approx + err) + prior + BOUND_SLACK;
            best = best.max(lo);
        }
        best
    };
    let per = part_len(n);
    let best_lo = if per < n {
        std::thread::scope(|s| {
            let mut parts = rows
                .chunks(per)
                .zip(score_lo.chunks_mut(per).zip(score_hi.chunks_mut(per)));
            let first = parts.next();
            let handles: Vec<_> = parts
                .map(|(r, (lo, hi))| s.spawn(move || bound_part(r, lo, hi)))
                .collect();
            let mut best = first.map_or(f32::NEG_INFINITY, |(r, (lo, hi))| bound_part(r, lo, hi));
            for h in handles {
                best = best.max(h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)));
            }
            best
        })
    } else {
        bound_part(&rows, &mut score_lo, &mut score_hi)
    };
    let mut dots = vec![0i32; n];
    let mut exact: HashMap<usize, Exact> = HashMap::new();
    let exact_of = |i: usize, exact: &mut HashMap<usize, Exact>| -> Exact {
        *exact.entry(i).or_insert_with(|| {
            let (score, components) = scorer.exact(rows[i] as usize);
            Exact {
                score,
                components,
                max_sim: 0.0,
                seen: 0,
            }
        })
    };
    let key = |i: usize, value: f64, score: f64| {
        let row = rows[i] as usize;
        (
            value,
            score,
            index.confidence(row),
            index.meta(row).usage_count,
            rows[i],
        )
    };

    // First pick: the best exact score.
    let mut first: Option<(usize, f64)> = None;
    for i in 0..n {
        if score_hi[i] < best_lo {
            continue;
        }
        let e = exact_of(i, &mut exact);
        if first.is_none_or(|(f, fs)| beats(key(i, e.score, e.score), key(f, fs, fs))) {
            first = Some((i, e.score));
        }
    }
    let Some((first, _)) = first else {
        return Vec::new();
    };
    let mut selected: Vec<usize> = vec![first];
    let mut taken = vec![false; n];
    taken[first] = true;
    let lambda = opts.mmr_lambda;
    let lambda32 = lambda as f32;
    // Lower bounds of each candidate's max(0, max cos to selected); only ever raised.
    let mut sim_lo = vec![0f32; n];
    // Each candidate's MMR upper bound `λ·score_hi − (1−λ)·sim_lo` (−∞ once taken), kept up to
    // date so the per-step survivor scan is one comparison per candidate.
    let mut upper_of: Vec<f32> = score_hi.iter().map(|&h| lambda32 * h).collect();
    upper_of[first] = f32::NEG_INFINITY;
    // Candidates worth probing first at the next step (best upper bounds last time).
    let mut promising: Vec<usize> = exact.keys().copied().filter(|&i| i != first).collect();
    let stride = (n / PROBE_SAMPLE).max(1);
    // Exact MMR value (and exact score) of candidate `i` given the selected set.
    let eval = |i: usize, exact: &mut HashMap<usize, Exact>, selected: &[usize]| -> (f64, f64) {
        let mut e = exact_of(i, exact);
        let unit = index.unit(rows[i] as usize);
        for &s in &selected[e.seen..] {
            let sim = f64::from(kernel.dot_f32(unit, index.unit(rows[s] as usize)));
            if sim > e.max_sim {
                e.max_sim = sim;
            }
        }
        e.seen = selected.len();
        exact.insert(i, e);
        (lambda * e.score - (1.0 - lambda) * e.max_sim, e.score)
    };
    let mut sub_rows: Vec<u32> = Vec::new();
    let mut sub_idx: Vec<usize> = Vec::new();

    while selected.len() < opts.k {
        // 1. A lower bound of this step's best value from a few exact probes.
        let mut best: Option<(usize, f64, f64)> = None;
        let offer = |i: usize, mmr: f64, score: f64, best: &mut Option<(usize, f64, f64)>| {
            if best.is_none_or(|(b, bv, bs)| beats(key(i, mmr, score), key(b, bv, bs))) {
                *best = Some((i, mmr, score));
            }
        };
        for i in promising.iter().copied().chain((0..n).step_by(stride)) {
            if !taken[i] {
                let (mmr, score) = eval(i, &mut exact, &selected);
                offer(i, mmr, score, &mut best);
            }
        }
        let Some((_, floor, _)) = best else { break };
        let floor32 = floor as f32 - BOUND_SLACK;
        // 2. Only candidates whose upper bound reaches the floor can win: scan just those
        //    against the row picked last to tighten their similarity bounds.
        sub_rows.clear();
        sub_idx.clear();
        for (i, &upper) in upper_of.iter().enumerate() {
            if upper >= floor32 {
                sub_idx.push(i);
                sub_rows.push(rows[i]);
            }
        }
        let last = rows[*selected.last().unwrap_or(&first)] as usize;
        kernel.dot_i8_rows(
            index.quantized(last),
            index.quant_matrix(),
            index.dims(),
            &sub_rows,
            &mut dots[..sub_rows.len()],
        );
        let mut bounds: Vec<(f32, usize)> = Vec::with_capacity(sub_idx.len());
        for (j, &i) in sub_idx.iter().enumerate() {
            let row = rows[i] as usize;
            let approx = dots[j] as f32 * index.scale(last) * index.scale(row);
            let err = index.pair_error_bound(last, row) + BOUND_SLACK;
            sim_lo[i] = sim_lo[i].max(approx - err);
            let upper = lambda32 * score_hi[i] - (1.0 - lambda32) * sim_lo[i];
            upper_of[i] = upper;
            if upper >= floor32 {
                bounds.push((upper, i));
            }
        }
        // 3. Exact values in decreasing order of upper bound (sorted a chunk at a time) until
        //    no remaining bound can beat the best exact value.
        let by_upper_desc = |a: &(f32, usize), b: &(f32, usize)| b.0.total_cmp(&a.0);
        let mut rest: &mut [(f32, usize)] = &mut bounds;
        let mut head_len = 0;
        'chunks: while !rest.is_empty() {
            let m = CHUNK.min(rest.len());
            if m < rest.len() {
                rest.select_nth_unstable_by(m - 1, by_upper_desc);
            }
            let (head, tail) = std::mem::take(&mut rest).split_at_mut(m);
            head.sort_unstable_by(by_upper_desc);
            if head_len == 0 {
                head_len = head.len();
                promising = head.iter().map(|b| b.1).take(PROMISING).collect();
            }
            for &(upper, i) in head.iter() {
                let current = best.map_or(f64::NEG_INFINITY, |b| b.1);
                if f64::from(upper) < current - f64::from(BOUND_SLACK) {
                    break 'chunks;
                }
                let (mmr, score) = eval(i, &mut exact, &selected);
                offer(i, mmr, score, &mut best);
            }
            rest = tail;
        }
        let Some((winner, _, _)) = best else { break };
        taken[winner] = true;
        upper_of[winner] = f32::NEG_INFINITY;
        selected.push(winner);
        promising.retain(|&i| i != winner);
    }
    selected
        .into_iter()
        .filter_map(|i| {
            exact.get(&i).map(|e| Selected {
                row: rows[i] as usize,
                score: e.score,
                components: e.components,
            })
        })
        .collect()
}
