//! Step ids: unique across processes and restarts, ordered by time.
//!
//! A step id is `act-` and 26 characters in the ULID alphabet (Crockford base32, sortable):
//! the 48-bit millisecond time at which this engine opened, 30 random bits drawn once per
//! engine, and a 50-bit counter of the engine's steps. Two engines — in one process, in two
//! processes on one store, or one after a restart — have different prefixes (the time, and
//! failing that the random bits, differ), so the journal keeps every step's row and
//! `feedback(id)` is never ambiguous; ids of one engine sort in step order, and ids of engines
//! opened later sort after those of engines opened earlier.
//!
//! Within an engine the counter alone identifies a step, so the ring of recently finished
//! steps stays indexed by it (see `finished`), and an id from another engine is told apart by
//! its prefix.

use std::sync::atomic::{AtomicU64, Ordering};

/// Crockford's base32 alphabet, as ULIDs use it.
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/// Characters of the counter part.
const SEQ_CHARS: usize = 10;

/// Issues this engine's step ids.
pub(crate) struct StepIds {
    /// `act-` + time (10 chars) + random (6 chars).
    prefix: String,
    seq: AtomicU64,
}

impl StepIds {
    /// Ids for an engine opening now.
    pub(crate) fn new() -> StepIds {
        let ms = crate::time::now_ms().max(0) as u64;
        let random: u32 = rand::random::<u32>() & ((1 << 30) - 1);
        let mut prefix = String::with_capacity(4 + 16 + SEQ_CHARS);
        prefix.push_str("act-");
        push_base32(&mut prefix, ms & ((1 << 48) - 1), 10);
        push_base32(&mut prefix, u64::from(random), 6);
        StepIds {
            prefix,
            seq: AtomicU64::new(0),
        }
    }

    /// The next step's id and its counter (1, 2, …).
    pub(crate) fn next(&self) -> (String, u64) {
        let n = self.seq.fetch_add(1, Ordering::Relaxed) + 1;
        let mut id = String::with_capacity(self.prefix.len() + SEQ_CHARS);
        id.push_str(&self.prefix);
        push_base32(&mut id, n, SEQ_CHARS);
        (id, n)
    }

    /// The counter of an id this engine issued; `None` for any other text.
    pub(crate) fn seq_of(&self, id: &str) -> Option<u64> {
        let rest = id.strip_prefix(self.prefix.as_str())?;
        if rest.len() != SEQ_CHARS {
            return None;
        }
        rest.bytes().try_fold(0u64, |acc, b| {
            let d = ALPHABET.iter().position(|&c| c == b)? as u64;
            Some(acc << 5 | d)
        })
    }

    /// Whether `id` has the shape of a step id (from any engine).
    pub(crate) fn is_step_id(id: &str) -> bool {
        id.strip_prefix("act-")
            .is_some_and(|r| r.len() == 16 + SEQ_CHARS && r.bytes().all(|b| ALPHABET.contains(&b)))
    }
}

/// Appends the low `chars × 5` bits of `v` in base32, most significant first.
fn push_base32(out: &mut String, v: u64, chars: usize) {
    for i in (0..chars).rev() {
        out.push(ALPHABET[((v >> (5 * i)) & 31) as usize] as char);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_ordered_and_read_back() {
        let a = StepIds::new();
        let (first, n1) = a.next();
        let (second, n2) = a.next();
        assert_eq!((n1, n2), (1, 2));
        assert!(first < second);
        assert_eq!(first.len(), 4 + 26);
        assert!(StepIds::is_step_id(&first));
        assert_eq!(a.seq_of(&second), Some(2));
        // Another engine (same millisecond or not) never reads this one's ids as its own.
        let b = StepIds::new();
        assert_ne!(a.prefix, b.prefix);
        assert_eq!(b.seq_of(&first), None);
        assert_eq!(a.seq_of("act-1"), None);
        let many: std::collections::HashSet<String> =
            (0..1000).map(|_| StepIds::new().next().0).collect();
        assert_eq!(many.len(), 1000);
    }
}
