//! A bounded, concurrent memo cache of decisions.
//!
//! Keys start with the engine's snapshot epoch, which changes on every `load` and
//! `set_entities`, so an entry can never be returned for a different policy set or entity set;
//! the engine also clears the cache on every change to free memory. When the cache is full an
//! arbitrary eighth of the entries is evicted.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use dashmap::DashMap;
use serde::Serialize;

use super::decision::{Decision, DecisionKind, NearMiss, PolicyRef};

/// Counters of the decision cache.
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CacheStats {
    /// Entries currently cached.
    pub entries: usize,
    /// Maximum number of entries (0 = cache disabled).
    pub capacity: usize,
    /// Lookups answered from the cache.
    #[cfg_attr(test, ts(type = "number"))]
    pub hits: u64,
    /// Lookups that had to evaluate.
    #[cfg_attr(test, ts(type = "number"))]
    pub misses: u64,
    /// Entries dropped to stay within capacity.
    #[cfg_attr(test, ts(type = "number"))]
    pub evictions: u64,
}

/// A cached decision without its certificate (which names one request and its whole
/// context): what a hit needs to answer another request with a fresh certificate. Storing it
/// costs a copy of a few short lists, not of the request.
#[derive(Debug)]
pub(crate) struct CachedDecision {
    pub decision: DecisionKind,
    pub determining_policies: Vec<PolicyRef>,
    pub errors: Vec<String>,
    pub reasons: Vec<String>,
    pub near_miss: Vec<NearMiss>,
    pub determining_policy_ids: Vec<String>,
}

impl CachedDecision {
    /// The cacheable part of `d`.
    pub(crate) fn of(d: &Decision) -> Self {
        CachedDecision {
            decision: d.decision,
            determining_policies: d.determining_policies.clone(),
            errors: d.errors.clone(),
            reasons: d.reasons.clone(),
            near_miss: d.near_miss.clone(),
            determining_policy_ids: d.certificate.determining_policy_ids.clone(),
        }
    }
}

/// The cache itself.
pub(crate) struct DecisionCache {
    map: DashMap<String, Arc<CachedDecision>, crate::fast_hash::FastHash>,
    capacity: usize,
    hits: AtomicU64,
    misses: AtomicU64,
    evictions: AtomicU64,
}

impl DecisionCache {
    /// A cache holding at most `capacity` decisions (0 disables caching).
    pub(crate) fn new(capacity: usize) -> Self {
        DecisionCache {
            map: DashMap::default(),
            capacity,
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            evictions: AtomicU64::new(0),
        }
    }

    /// True when caching is enabled.
    pub(crate) fn enabled(&self) -> bool {
        self.capacity > 0
    }

    /// The cached decision for `key`, without counting (see [`Self::count`]).
    pub(crate) fn peek(&self, key: &str) -> Option<Arc<CachedDecision>> {
        self.map.get(key).map(|entry| entry.value().clone())
    }

    /// Counts one lookup (which may have tried several keys) as a hit or a miss.
    pub(crate) fn count(&self, hit: bool) {
        let counter = if hit { &self.hits } else { &self.misses };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Stores a decision, evicting an eighth of the entries when full.
    pub(crate) fn insert(&self, key: String, decision: Arc<CachedDecision>) {
        if self.map.len() >= self.capacity {
            let mut budget = (self.capacity / 8).max(1);
            let mut evicted = 0u64;
            self.map.retain(|_, _| {
                if budget > 0 {
                    budget -= 1;
                    evicted += 1;
                    false
                } else {
                    true
                }
            });
            self.evictions.fetch_add(evicted, Ordering::Relaxed);
        }
        self.map.insert(key, decision);
    }

    /// Drops every entry.
    pub(crate) fn clear(&self) {
        self.map.clear();
    }

    /// Current counters.
    pub(crate) fn stats(&self) -> CacheStats {
        CacheStats {
            entries: self.map.len(),
            capacity: self.capacity,
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            evictions: self.evictions.load(Ordering::Relaxed),
        }
    }
}
