//! The linear reward model: hashed weights trained online with AdaGrad.
//!
//! The prediction for `(context, action)` is `Σ x_f · w[cross(f, a) & mask] + w[a & mask]`,
//! i.e. every context feature crossed with the action plus one action-identity feature.
//! Training minimises the squared error with AdaGrad: each weight keeps the sum of its
//! squared gradients `G` and moves by `lr · g / sqrt(G)`, so frequent features slow down and
//! rare ones keep learning fast. After a detected drift the learner caps `G` of the weights
//! it touches ([`AdaGrad::accumulator_cap`]) so stale history no longer freezes the rate.
//!
//! Two stores share that arithmetic:
//! - [`SharedWeights`]: the global model, updated concurrently by all sessions without any
//!   lock (Hogwild!-style: `f32` bits in relaxed `AtomicU32`s; a lost update under a race is
//!   harmless noise for SGD, as in Vowpal Wabbit);
//! - [`LocalWeights`]: a session's own delta, plain `Vec<f32>` behind the session's mutex.

use std::sync::atomic::{AtomicU32, Ordering};

use super::features::{cross, ContextFeatures};

/// Smallest accumulator value used in a division, to keep the step finite.
const MIN_ACCUMULATOR: f32 = 1e-8;

/// Parameters of one AdaGrad step.
#[derive(Debug, Clone, Copy)]
pub struct AdaGrad {
    /// Base step size times any boost in force.
    pub learning_rate: f32,
    /// When set, `G` is first lowered to at most this value (drift recovery).
    pub accumulator_cap: Option<f32>,
}

impl AdaGrad {
    /// The new `(weight, accumulator)` after a gradient `g`.
    #[inline]
    pub fn step(&self, w: f32, acc: f32, g: f32) -> (f32, f32) {
        let acc = match self.accumulator_cap {
            Some(cap) if acc > cap => cap,
            _ => acc,
        };
        let acc = acc + g * g;
        let w = w - self.learning_rate * g / acc.max(MIN_ACCUMULATOR).sqrt();
        if w.is_finite() {
            (w, acc)
        } else {
            (0.0, acc)
        }
    }
}

/// Calls `f(hash, value)` for every active feature of `(ctx, action)`.
#[inline]
pub fn for_each_active(ctx: &ContextFeatures, action_hash: u32, mut f: impl FnMut(u32, f32)) {
    f(action_hash, 1.0);
    for feat in ctx.features() {
        f(cross(feat.hash, action_hash), feat.value);
    }
}

/// The prediction of the global model plus (if any) a session's delta model, computed in
/// one pass over the active features; always finite.
#[inline]
pub fn predict_sum(
    global: &SharedWeights,
    local: Option<&LocalWeights>,
    ctx: &ContextFeatures,
    action_hash: u32,
) -> f32 {
    let sum = match local {
        None => global.predict(ctx, action_hash),
        Some(local) => {
            let (mut g, mut l) = (0.0f32, 0.0f32);
            for_each_active(ctx, action_hash, |h, x| {
                g += x * global.weight(h);
                l += x * local.weight(h);
            });
            g + l
        }
    };
    // An f32 overflow (huge feature values) counts as no knowledge rather than poisoning
    // scores and propensities with infinities.
    if sum.is_finite() {
        sum
    } else {
        0.0
    }
}

/// The global model: lock-free relaxed atomics (see the module docs).
pub struct SharedWeights {
    weights: Box<[AtomicU32]>,
    accumulators: Box<[AtomicU32]>,
    mask: u32,
}

impl SharedWeights {
    /// A zeroed table of `2^bits` weights.
    pub fn new(bits: u32) -> Self {
        let n = 1usize << bits;
        SharedWeights {
            weights: (0..n).map(|_| AtomicU32::new(0)).collect(),
            accumulators: (0..n).map(|_| AtomicU32::new(0)).collect(),
            mask: (n - 1) as u32,
        }
    }

    /// Number of bits of the table size.
    pub fn bits(&self) -> u32 {
        self.mask.count_ones()
    }

    /// The weight at `hash`.
    #[inline]
    pub fn weight(&self, hash: u32) -> f32 {
        f32::from_bits(self.weights[(hash & self.mask) as usize].load(Ordering::Relaxed))
    }

    /// The prediction contribution for `(ctx, action)`.
    pub fn predict(&self, ctx: &ContextFeatures, action_hash: u32) -> f32 {
        let mut sum = 0.0f32;
        for_each_active(ctx, action_hash, |h, x| sum += x * self.weight(h));
        sum
    }

    /// One AdaGrad step on a shared weight (read-modify-write with relaxed atomics).
    #[inline]
    pub fn apply(&self, hash: u32, g: f32, opt: &AdaGrad) {
        let i = (hash & self.mask) as usize;
        let w = f32::from_bits(self.weights[i].load(Ordering::Relaxed));
        let acc = f32::from_bits(self.accumulators[i].load(Ordering::Relaxed));
        let (w, acc) = opt.step(w, acc, g);
        self.weights[i].store(w.to_bits(), Ordering::Relaxed);
        self.accumulators[i].store(acc.to_bits(), Ordering::Relaxed);
    }

    /// Weights and accumulators as little-endian `f32` bytes (for persistence).
    pub fn to_bytes(&self) -> (Vec<u8>, Vec<u8>) {
        (
            atomic_to_bytes(&self.weights),
            atomic_to_bytes(&self.accumulators),
        )
    }

    /// Restores from little-endian `f32` bytes; `None` when a length does not match.
    pub fn from_bytes(bits: u32, weights: &[u8], accumulators: &[u8]) -> Option<Self> {
        let n = 1usize << bits;
        if weights.len() != n * 4 || accumulators.len() != n * 4 {
            return None;
        }
        let load = |b: &[u8]| -> Box<[AtomicU32]> {
            b.chunks_exact(4)
                .map(|c| AtomicU32::new(u32::from_le_bytes([c[0], c[1], c[2], c[3]])))
                .collect()
        };
        Some(SharedWeights {
            weights: load(weights),
            accumulators: load(accumulators),
            mask: (n - 1) as u32,
        })
    }
}

fn atomic_to_bytes(v: &[AtomicU32]) -> Vec<u8> {
    let mut out = Vec::with_capacity(v.len() * 4);
    for a in v {
        out.extend_from_slice(&a.load(Ordering::Relaxed).to_le_bytes());
    }
    out
}

/// A session's private weights (behind the session's mutex).
#[derive(Debug, Clone)]
pub struct LocalWeights {
    weights: Vec<f32>,
    accumulators: Vec<f32>,
    mask: u32,
}

impl LocalWeights {
    /// A zeroed table of `2^bits` weights.
    pub fn new(bits: u32) -> Self {
        let n = 1usize << bits;
        LocalWeights {
            weights: vec![0.0; n],
            accumulators: vec![0.0; n],
            mask: (n - 1) as u32,
        }
    }

    /// The weight at `hash`.
    #[inline]
    pub fn weight(&self, hash: u32) -> f32 {
        self.weights[(hash & self.mask) as usize]
    }

    /// The prediction contribution for `(ctx, action)`.
    pub fn predict(&self, ctx: &ContextFeatures, action_hash: u32) -> f32 {
        let mut sum = 0.0f32;
        for_each_active(ctx, action_hash, |h, x| sum += x * self.weight(h));
        sum
    }

    /// One AdaGrad step on a weight.
    #[inline]
    pub fn apply(&mut self, hash: u32, g: f32, opt: &AdaGrad) {
        let i = (hash & self.mask) as usize;
        let (w, acc) = opt.step(self.weights[i], self.accumulators[i], g);
        self.weights[i] = w;
        self.accumulators[i] = acc;
    }

    /// Weights and accumulators as little-endian `f32` bytes.
    pub fn to_bytes(&self) -> (Vec<u8>, Vec<u8>) {
        let enc = |v: &[f32]| v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>();
        (enc(&self.weights), enc(&self.accumulators))
    }

    /// Restores from little-endian `f32` bytes; `None` when a length does not match.
    pub fn from_bytes(bits: u32, weights: &[u8], accumulators: &[u8]) -> Option<Self> {
        let n = 1usize << bits;
        if weights.len() != n * 4 || accumulators.len() != n * 4 {
            return None;
        }
        let dec = |b: &[u8]| -> Vec<f32> {
            b.chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect()
        };
        Some(LocalWeights {
            weights: dec(weights),
            accumulators: dec(accumulators),
            mask: (n - 1) as u32,
        })
    }
}
