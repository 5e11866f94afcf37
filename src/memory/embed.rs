//! The built-in, offline text embedder.
//!
//! Signed feature hashing (the "hashing trick"): every feature of a text — word unigrams,
//! word bigrams and character trigrams of each word (padded with `#`; very common words get a
//! low unigram weight and no trigrams) — is hashed with 64-bit
//! FNV-1a; the low bits pick one of 384 dimensions and the top bit picks the sign, so unrelated
//! features cancel on average instead of piling up. The vector is L2-normalised. The result is
//! deterministic across runs and platforms (no model download), lexical rather than semantic:
//! near-duplicate texts score high, unrelated texts near zero.

/// Number of dimensions of built-in embeddings (the same as agentic-flow's MiniLM model).
pub const HASH_DIMS: usize = 384;

const UNIGRAM_WEIGHT: f32 = 1.0;
const BIGRAM_WEIGHT: f32 = 0.7;
const TRIGRAM_WEIGHT: f32 = 0.35;
/// Unigram weight of very common English words (their trigrams are skipped).
const STOPWORD_WEIGHT: f32 = 0.25;

/// Very common English words that carry little meaning on their own.
const STOPWORDS: &[&str] = &[
    "a", "an", "and", "are", "as", "at", "be", "before", "by", "for", "from", "if", "in", "is",
    "it", "its", "of", "on", "or", "so", "that", "the", "then", "this", "to", "was", "were",
    "when", "with",
];

/// Deterministic signed feature-hashing embedder with [`HASH_DIMS`] dimensions.
#[derive(Debug, Clone, Copy, Default)]
pub struct HashEmbedder;

/// 64-bit FNV-1a over a feature tag byte and the feature bytes.
fn fnv1a(tag: u8, parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut feed = |b: u8| {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    };
    feed(tag);
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            feed(0x1f);
        }
        for &b in *p {
            feed(b);
        }
    }
    // final avalanche so the low bits depend on every input byte
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h
}

impl HashEmbedder {
    /// Embeds `text` into a unit vector of [`HASH_DIMS`] values (all zeros for a text with no
    /// letters or digits).
    pub fn embed(&self, text: &str) -> Vec<f32> {
        let mut v = vec![0f32; HASH_DIMS];
        let lower = text.to_lowercase();
        let words: Vec<&str> = lower
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .collect();
        let mut add = |h: u64, w: f32| {
            let idx = (h % HASH_DIMS as u64) as usize;
            v[idx] += if h >> 63 == 1 { -w } else { w };
        };
        for (i, word) in words.iter().enumerate() {
            let stop = STOPWORDS.binary_search(word).is_ok();
            add(
                fnv1a(b'u', &[word.as_bytes()]),
                if stop {
                    STOPWORD_WEIGHT
                } else {
                    UNIGRAM_WEIGHT
                },
            );
            if let Some(next) = words.get(i + 1) {
                add(
                    fnv1a(b'b', &[word.as_bytes(), next.as_bytes()]),
                    BIGRAM_WEIGHT,
                );
            }
            if stop {
                continue;
            }
            let chars: Vec<char> = std::iter::once('#')
                .chain(word.chars())
                .chain(std::iter::once('#'))
                .collect();
            let mut buf = [0u8; 12];
            for tri in chars.windows(3) {
                let mut len = 0;
                for c in tri {
                    len += c.encode_utf8(&mut buf[len..]).len();
                }
                add(fnv1a(b'c', &[&buf[..len]]), TRIGRAM_WEIGHT);
            }
        }
        let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        if norm > 0.0 {
            v.iter_mut().for_each(|x| *x /= norm);
        }
        v
    }
}
