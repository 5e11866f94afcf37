//! The hasher of the engine's hot maps and sets: foldhash, seeded per process.
//!
//! Their keys are short strings (action names, entity ids, session ids, cache keys) looked up
//! on every step, where SipHash's DoS resistance costs more than it protects: the keys come
//! from the engine's own vocabulary, and a per-process random seed still keeps an attacker
//! from precomputing collisions. One name for it everywhere, so a change of hasher is one line.

use std::collections::{HashMap, HashSet};

/// The build-hasher of the engine's hot maps.
pub type FastHash = foldhash::fast::RandomState;
/// A `HashMap` with [`FastHash`].
pub type FastMap<K, V> = HashMap<K, V, FastHash>;
/// A `HashSet` with [`FastHash`].
pub type FastSet<T> = HashSet<T, FastHash>;
