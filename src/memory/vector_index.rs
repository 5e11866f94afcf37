//! The in-memory vector matrix used for exact search.
//!
//! All embeddings of one store live in one contiguous row-major matrix, twice: L2-normalised
//! f32 (for exact cosines) and int8-quantised with a per-row scale (for the fast first pass).
//! Each row also carries what the filters and the score need (confidence, age, domain, agent,
//! outcome), so a query touches no SQLite row until the winners are known. Rows are removed by
//! swapping the last row into the hole.
//!
//! Quantisation error is bounded: with `x = s·q + e`, `|e_j| ≤ s/2`, the cosine from int8
//! differs from the exact one by at most `s_x/2·‖q‖₁ + s_q/2·‖x‖₁ + d·s_q·s_x/4`
//! ([`VectorIndex::error_bound`]), which lets retrieval re-rank exactly with no recall loss.

use std::collections::HashMap;
use std::sync::Arc;

use super::records::MemoryOutcome;
use super::simd::Kernel;
use super::sketch::SketchIndex;
use crate::error::{err, ErrorCode, Result};

/// What the filters and the score need to know about a row.
#[derive(Debug, Clone, PartialEq)]
pub struct RowMeta {
    /// `patterns.confidence`.
    pub confidence: f64,
    /// `patterns.usage_count`.
    pub usage_count: i64,
    /// `patterns.created_at` in Unix milliseconds.
    pub created_ms: i64,
    /// `pattern_data.domain`.
    pub domain: Option<Arc<str>>,
    /// `pattern_data.source.agent_id`.
    pub agent: Option<Arc<str>>,
    /// `pattern_data.source.outcome`.
    pub outcome: MemoryOutcome,
}

/// An int8-quantised unit vector.
#[derive(Debug, Clone)]
pub struct Quantized {
    /// The int8 values.
    pub values: Vec<i8>,
    /// Scale: value ≈ scale · int8.
    pub scale: f32,
    /// L1 norm of the f32 unit vector.
    pub l1: f32,
}

/// Normalises a vector to unit length (a zero vector stays zero).
pub fn normalize(v: &[f32]) -> Vec<f32> {
    let norm = v
        .iter()
        .map(|x| f64::from(*x) * f64::from(*x))
        .sum::<f64>()
        .sqrt();
    if norm == 0.0 {
        return vec![0.0; v.len()];
    }
    v.iter().map(|x| (f64::from(*x) / norm) as f32).collect()
}

/// Quantises a unit vector symmetrically to int8 with one scale.
pub fn quantize(unit: &[f32]) -> Quantized {
    let max = unit.iter().fold(0f32, |m, x| m.max(x.abs()));
    let scale = if max > 0.0 { max / 127.0 } else { 1.0 };
    let values = unit
        .iter()
        .map(|x| (x / scale).round().clamp(-127.0, 127.0) as i8)
        .collect();
    Quantized {
        values,
        scale,
        l1: unit.iter().map(|x| x.abs()).sum(),
    }
}

/// Checks that a vector of `len` values fits a store holding `dims`-dimensional vectors
/// (`dims == 0`: no vector yet, anything fits).
pub fn check_dims(dims: usize, len: usize, what: &str) -> Result<()> {
    if dims != 0 && len != dims {
        return err(
            ErrorCode::EmbeddingDims,
            format!(
                "{what} has {len} dimensions but this store holds {dims}-dimensional embeddings; \
                 use the same embedding model for every memory of a store"
            ),
        );
    }
    Ok(())
}

/// The exact-search matrix of one store. Not synchronised: the bank guards it.
#[derive(Debug, Default)]
pub struct VectorIndex {
    dims: usize,
    ids: Vec<Arc<str>>,
    pos: HashMap<Arc<str>, usize>,
    unit: Vec<f32>,
    quant: Vec<i8>,
    scale: Vec<f32>,
    l1: Vec<f32>,
    meta: Vec<RowMeta>,
    /// Copies of `meta.confidence` / `meta.created_ms`, contiguous for the scan.
    confidence: Vec<f64>,
    created_ms: Vec<i64>,
    /// The approximate index over these rows, when one is attached; kept in step with every
    /// insert, update and removal.
    ann: Option<SketchIndex>,
}

impl VectorIndex {
    /// An empty index; its dimension is set by the first row.
    pub fn new() -> VectorIndex {
        VectorIndex::default()
    }

    /// The vector dimension (0 while empty and never set).
    pub fn dims(&self) -> usize {
        self.dims
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// True when the index has no rows.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Forgets every row and the dimension.
    pub fn clear(&mut self) {
        *self = VectorIndex::default();
    }

    /// Checks that a vector of `len` values fits this index.
    pub fn check_dims(&self, len: usize, what: &str) -> Result<()> {
        check_dims(self.dims, len, what)
    }

    /// Inserts or replaces the row of `id`.
    pub fn upsert(&mut self, id: &str, vector: &[f32], meta: RowMeta) -> Result<()> {
        self.check_dims(vector.len(), "the embedding")?;
        if self.dims == 0 {
            self.dims = vector.len();
        }
        let unit = normalize(vector);
        let q = quantize(&unit);
        let d = self.dims;
        if let Some(&row) = self.pos.get(id) {
            self.unit[row * d..(row + 1) * d].copy_from_slice(&unit);
            self.quant[row * d..(row + 1) * d].copy_from_slice(&q.values);
            self.scale[row] = q.scale;
            self.l1[row] = q.l1;
            self.confidence[row] = meta.confidence;
            self.created_ms[row] = meta.created_ms;
            self.meta[row] = meta;
            if let Some(ann) = &mut self.ann {
                ann.on_update(
                    Kernel::detect(),
                    row,
                    &unit,
                    self.confidence[row],
                    self.created_ms[row],
                );
            }
        } else {
            if let Some(ann) = &mut self.ann {
                ann.on_insert(Kernel::detect(), &unit, meta.confidence, meta.created_ms);
            }
            let key: Arc<str> = Arc::from(id);
            self.pos.insert(key.clone(), self.ids.len());
            self.ids.push(key);
            self.unit.extend_from_slice(&unit);
            self.quant.extend_from_slice(&q.values);
            self.scale.push(q.scale);
            self.l1.push(q.l1);
            self.confidence.push(meta.confidence);
            self.created_ms.push(meta.created_ms);
            self.meta.push(meta);
        }
        Ok(())
    }

    /// Removes the row of `id`; returns whether it existed.
    pub fn remove(&mut self, id: &str) -> bool {
        let Some(row) = self.pos.remove(id) else {
            return false;
        };
        let last = self.ids.len() - 1;
        let d = self.dims;
        if let Some(ann) = &mut self.ann {
            ann.on_remove(row, last);
        }
        if row != last {
            self.unit.copy_within(last * d..(last + 1) * d, row * d);
            self.quant.copy_within(last * d..(last + 1) * d, row * d);
            self.ids.swap(row, last);
            self.scale.swap(row, last);
            self.l1.swap(row, last);
            self.meta.swap(row, last);
            self.confidence.swap(row, last);
            self.created_ms.swap(row, last);
            self.pos.insert(self.ids[row].clone(), row);
        }
        self.ids.pop();
        self.scale.pop();
        self.l1.pop();
        self.meta.pop();
        self.confidence.pop();
        self.created_ms.pop();
        self.unit.truncate(last * d);
        self.quant.truncate(last * d);
        true
    }

    /// The approximate index attached to these rows, if any.
    pub fn ann(&self) -> Option<&SketchIndex> {
        self.ann.as_ref()
    }

    /// Mutable access to the attached approximate index.
    pub fn ann_mut(&mut self) -> Option<&mut SketchIndex> {
        self.ann.as_mut()
    }

    /// Attaches (or with `None` drops) an approximate index built over exactly these rows.
    pub fn set_ann(&mut self, ann: Option<SketchIndex>) {
        self.ann = ann;
    }

    /// Detaches the approximate index, e.g. to save it while the index is borrowed.
    pub fn take_ann(&mut self) -> Option<SketchIndex> {
        self.ann.take()
    }

    /// The row of `id`, if present.
    pub fn row_of(&self, id: &str) -> Option<usize> {
        self.pos.get(id).copied()
    }

    /// The id of `row`.
    pub fn id(&self, row: usize) -> &Arc<str> {
        &self.ids[row]
    }

    /// The metadata of `row`.
    pub fn meta(&self, row: usize) -> &RowMeta {
        &self.meta[row]
    }

    /// Counts one more use of `row`.
    pub fn bump_usage(&mut self, row: usize) {
        self.meta[row].usage_count += 1;
    }

    /// The confidence of `row` (contiguous copy for scans).
    #[inline]
    pub fn confidence(&self, row: usize) -> f64 {
        self.confidence[row]
    }

    /// The creation time of `row` in Unix milliseconds (contiguous copy for scans).
    #[inline]
    pub fn created_ms(&self, row: usize) -> i64 {
        self.created_ms[row]
    }

    /// The unit f32 vector of `row`.
    pub fn unit(&self, row: usize) -> &[f32] {
        &self.unit[row * self.dims..(row + 1) * self.dims]
    }

    /// The int8 vector of `row`.
    pub fn quantized(&self, row: usize) -> &[i8] {
        &self.quant[row * self.dims..(row + 1) * self.dims]
    }

    /// The whole int8 matrix (row-major).
    pub fn quant_matrix(&self) -> &[i8] {
        &self.quant
    }

    /// The int8 scale of `row`.
    pub fn scale(&self, row: usize) -> f32 {
        self.scale[row]
    }

    /// Upper bound of `|exact cosine − int8 cosine|` between rows `a` and `b`.
    #[inline]
    pub fn pair_error_bound(&self, a: usize, b: usize) -> f32 {
        let (sa, sb) = (self.scale[a], self.scale[b]);
        0.5 * sa * self.l1[b] + 0.5 * sb * self.l1[a] + self.dims as f32 * sa * sb * 0.25 + 1e-5
    }

    /// Upper bound of `|exact cosine − int8 cosine|` between a quantised query and `row`.
    #[inline]
    pub fn error_bound(&self, query: &Quantized, row: usize) -> f32 {
        let sx = self.scale[row];
        let sq = query.scale;
        0.5 * sx * query.l1 + 0.5 * sq * self.l1[row] + self.dims as f32 * sq * sx * 0.25 + 1e-5
    }
}
