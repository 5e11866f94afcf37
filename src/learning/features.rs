//! Hashed sparse context features, in the style of Vowpal Wabbit.
//!
//! A [`ContextFeatures`] is a short list of `(hash, value)` pairs. Every feature lives in a
//! namespace (chunk words, entity types, session preferences, named numeric features); its
//! hash is MurmurHash3 (x86, 32-bit) of its name seeded with the namespace's constant, so the
//! same feature gets the same hash on every run and platform — a requirement, because weights
//! are persisted by index. The learner masks the hash to `hash_bits` and crosses it with the
//! action (see [`cross`]), so one context vector serves every candidate action.
//!
//! Features with equal hashes are merged (values summed) and the list is kept sorted, which
//! makes a context canonical: the same inputs in any order give the same vector.

use serde::Deserialize;
use std::collections::BTreeMap;

use crate::error::{Error, ErrorCode, Result};

/// Namespace seed of chunk words.
const NS_TEXT: u32 = 0x7465_7874;
/// Namespace seed of entity types.
const NS_ENTITY: u32 = 0x656e_7479;
/// Namespace seed of session preferences.
const NS_PREFERENCE: u32 = 0x7072_6566;
/// Namespace seed of named numeric features.
const NS_FEATURE: u32 = 0x6665_6174;
/// Seed of action names.
const ACTION_SEED: u32 = 0x6163_746e;
/// Largest accepted magnitude of a numeric feature value.
pub const MAX_FEATURE_VALUE: f64 = 1e6;
/// FNV-1 prime, used to mix a feature hash before crossing it with an action.
const CROSS_PRIME: u32 = 0x0100_0193;

/// MurmurHash3, x86 32-bit variant: fast, well distributed and stable across platforms.
pub fn murmur3_32(data: &[u8], seed: u32) -> u32 {
    const C1: u32 = 0xcc9e_2d51;
    const C2: u32 = 0x1b87_3593;
    let mut h = seed;
    let mut chunks = data.chunks_exact(4);
    for c in &mut chunks {
        let k = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        h ^= k.wrapping_mul(C1).rotate_left(15).wrapping_mul(C2);
        h = h.rotate_left(13).wrapping_mul(5).wrapping_add(0xe654_6b64);
    }
    let tail = chunks.remainder();
    if !tail.is_empty() {
        let mut k = 0u32;
        for (i, &b) in tail.iter().enumerate() {
            k |= u32::from(b) << (8 * i);
        }
        h ^= k.wrapping_mul(C1).rotate_left(15).wrapping_mul(C2);
    }
    h ^= data.len() as u32;
    h ^= h >> 16;
    h = h.wrapping_mul(0x85eb_ca6b);
    h ^= h >> 13;
    h = h.wrapping_mul(0xc2b2_ae35);
    h ^ (h >> 16)
}

/// The stable hash of an action name (its "action-type" feature).
pub fn action_hash(action: &str) -> u32 {
    murmur3_32(action.as_bytes(), ACTION_SEED)
}

/// The hash of the interaction of a context feature with an action.
#[inline]
pub fn cross(feature_hash: u32, action_hash: u32) -> u32 {
    feature_hash.wrapping_mul(CROSS_PRIME) ^ action_hash
}

/// Splits text into lowercased words: maximal runs of alphanumeric characters.
pub fn tokenize(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for_each_token(text, |t| out.push(t.to_string()));
    out
}

/// Calls `f` with each lowercased word of `text`, reusing one buffer.
fn for_each_token(text: &str, mut f: impl FnMut(&str)) {
    let mut buf = String::new();
    for word in text.split(|c: char| !c.is_alphanumeric()) {
        if word.is_empty() {
            continue;
        }
        if word
            .bytes()
            .all(|b| b.is_ascii() && !b.is_ascii_uppercase())
        {
            f(word);
            continue;
        }
        buf.clear();
        for c in word.chars() {
            buf.extend(c.to_lowercase());
        }
        f(&buf);
    }
}

/// One hashed feature: an unmasked 32-bit hash and its value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Feature {
    /// Namespace-seeded MurmurHash3 of the feature name.
    pub hash: u32,
    /// The feature's value (1 for indicator features).
    pub value: f32,
}

/// A sparse, hashed description of a decision context (see the module docs).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ContextFeatures {
    features: Vec<Feature>,
}

impl ContextFeatures {
    /// Starts building a context.
    pub fn builder() -> ContextFeaturesBuilder {
        ContextFeaturesBuilder::default()
    }

    /// A context with no features (only the action feature will be active).
    pub fn empty() -> Self {
        ContextFeatures::default()
    }

    /// The features, sorted by hash, without duplicates.
    pub fn features(&self) -> &[Feature] {
        &self.features
    }

    /// Number of distinct features.
    pub fn len(&self) -> usize {
        self.features.len()
    }

    /// Whether there are no features.
    pub fn is_empty(&self) -> bool {
        self.features.is_empty()
    }

    /// The features as little-endian `(u32 hash, f32 value)` pairs: what the step journal keeps
    /// so off-policy evaluation can replay the context.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.features.len() * 8);
        for f in &self.features {
            out.extend_from_slice(&f.hash.to_le_bytes());
            out.extend_from_slice(&f.value.to_le_bytes());
        }
        out
    }

    /// The context [`Self::to_bytes`] wrote; `None` when the bytes are not whole pairs or hold
    /// a non-finite value. Made canonical again (the bytes of a canonical context read back
    /// unchanged).
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        if !bytes.len().is_multiple_of(8) {
            return None;
        }
        let mut features = Vec::with_capacity(bytes.len() / 8);
        for c in bytes.chunks_exact(8) {
            let hash = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
            let value = f32::from_le_bytes([c[4], c[5], c[6], c[7]]);
            if !value.is_finite() {
                return None;
            }
            features.push(Feature { hash, value });
        }
        Some(ContextFeatures::canonical(features))
    }

    /// The canonical form (see the module docs): sorted by hash, equal hashes merged (values
    /// summed), zero and non-finite values dropped.
    fn canonical(mut features: Vec<Feature>) -> Self {
        features.sort_unstable_by_key(|f| f.hash);
        let mut merged: Vec<Feature> = Vec::with_capacity(features.len());
        for f in features {
            match merged.last_mut() {
                Some(last) if last.hash == f.hash => last.value += f.value,
                _ => merged.push(f),
            }
        }
        merged.retain(|f| f.value != 0.0 && f.value.is_finite());
        ContextFeatures { features: merged }
    }

    /// Builds a context from a [`ContextSpec`] (the JSON form).
    pub fn from_spec(spec: &ContextSpec) -> Result<Self> {
        let mut b = ContextFeatures::builder();
        if let Some(text) = &spec.text {
            b = b.text(text);
        }
        for t in &spec.entity_types {
            b = b.entity_type(t);
        }
        for (k, v) in &spec.preferences {
            b = b.preference(k, v);
        }
        for (k, v) in &spec.features {
            b = b.feature(k, *v);
        }
        b.build()
    }
}

/// The JSON shape of a context, e.g.
/// `{"text": "weather in Paris", "entityTypes": ["Place"], "preferences": {"units": "metric"},
/// "features": {"hour": 0.5}}`; every field is optional.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct ContextSpec {
    /// Chunk text, tokenized into lowercased words.
    pub text: Option<String>,
    /// Types of the entities found in the chunk.
    pub entity_types: Vec<String>,
    /// Session preferences as key → value.
    pub preferences: BTreeMap<String, String>,
    /// Named numeric features.
    pub features: BTreeMap<String, f64>,
}

/// Builder of [`ContextFeatures`]; the first invalid input is reported by [`build`](Self::build).
#[derive(Debug, Default)]
pub struct ContextFeaturesBuilder {
    features: Vec<Feature>,
    error: Option<Error>,
}

impl ContextFeaturesBuilder {
    /// Adds the lowercased words of `text`. Each word's value is `1/sqrt(words in this text)`,
    /// so a long chunk does not outweigh the other namespaces.
    pub fn text(mut self, text: &str) -> Self {
        let mut hashes = Vec::new();
        for_each_token(text, |t| hashes.push(murmur3_32(t.as_bytes(), NS_TEXT)));
        if !hashes.is_empty() {
            let value = 1.0 / (hashes.len() as f32).sqrt();
            self.features
                .extend(hashes.into_iter().map(|hash| Feature { hash, value }));
        }
        self
    }

    /// Adds one already-tokenized word (lowercased here) with value 1.
    pub fn token(mut self, token: &str) -> Self {
        if token.trim().is_empty() {
            self.fail("token must not be empty or whitespace");
            return self;
        }
        let lower = token.to_lowercase();
        self.push(murmur3_32(lower.as_bytes(), NS_TEXT), 1.0);
        self
    }

    /// Adds the type of an entity found in the chunk (e.g. `"Place"`); case-sensitive.
    pub fn entity_type(mut self, entity_type: &str) -> Self {
        if entity_type.trim().is_empty() {
            self.fail("entity type must not be empty or whitespace");
            return self;
        }
        self.push(murmur3_32(entity_type.as_bytes(), NS_ENTITY), 1.0);
        self
    }

    /// Adds a session preference `key=value` (e.g. `("units", "metric")`).
    pub fn preference(mut self, key: &str, value: &str) -> Self {
        if key.trim().is_empty() {
            self.fail("preference key must not be empty or whitespace");
            return self;
        }
        let mut bytes = Vec::with_capacity(key.len() + value.len() + 1);
        bytes.extend_from_slice(key.as_bytes());
        bytes.push(b'=');
        bytes.extend_from_slice(value.as_bytes());
        self.push(murmur3_32(&bytes, NS_PREFERENCE), 1.0);
        self
    }

    /// Adds a named numeric feature; the value must be finite and within ±1e6 (zero adds
    /// nothing).
    pub fn feature(mut self, name: &str, value: f64) -> Self {
        if name.trim().is_empty() {
            self.fail("feature name must not be empty or whitespace");
            return self;
        }
        if !value.is_finite() || value.abs() > MAX_FEATURE_VALUE {
            self.fail(&format!(
                "feature `{name}` must be a finite number within ±1e6 (scale large values \
                 down, e.g. to [0, 1]), got {value}"
            ));
            return self;
        }
        if value != 0.0 {
            self.push(murmur3_32(name.as_bytes(), NS_FEATURE), value as f32);
        }
        self
    }

    /// Finishes the context: sorts by hash and merges duplicates.
    pub fn build(self) -> Result<ContextFeatures> {
        if let Some(e) = self.error {
            return Err(e);
        }
        Ok(ContextFeatures::canonical(self.features))
    }

    fn push(&mut self, hash: u32, value: f32) {
        self.features.push(Feature { hash, value });
    }

    fn fail(&mut self, message: &str) {
        if self.error.is_none() {
            self.error = Some(Error::new(ErrorCode::InvalidInput, message));
        }
    }
}
