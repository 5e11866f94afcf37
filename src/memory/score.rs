//! The terms of agentic-flow's retrieval score, in one place: a memory's age in whole days and
//! its recency `exp(−age_days / half_life_days)`. Exact retrieval (`retrieve.rs`), the sketch
//! index's per-row prior (`sketch.rs`) and eviction's value of a memory (`eviction.rs`) all
//! score recency this way, so none of them can drift from the others (or from agentic-flow).

use super::clock::MS_PER_DAY;

/// Whole days between `created_ms` and `now_ms`, truncated toward zero like SQLite's
/// `CAST((julianday('now') - julianday(created_at)) AS INTEGER)`.
///
/// Computed with a float division where that is exact (both operands are integers far below
/// 2^52, so the quotient is correctly rounded and cannot reach the next whole number): it is
/// several times cheaper than a 64-bit integer division in the scan loop.
#[inline]
pub fn age_days(now_ms: i64, created_ms: i64) -> i64 {
    let diff = now_ms.saturating_sub(created_ms);
    if diff.unsigned_abs() < (1u64 << 52) {
        (diff as f64 / MS_PER_DAY as f64) as i64
    } else {
        diff / MS_PER_DAY
    }
}

/// `exp(−age_days / half_life_days)`: 1 for a memory created now, 1/e after one half-life
/// (agentic-flow's "half-life" is an e-folding time). Negative ages (clock skew) count as now.
#[inline]
pub fn recency(age_days: f64, half_life_days: f64) -> f64 {
    (-age_days.max(0.0) / half_life_days).exp()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn age_matches_integer_division_at_day_boundaries() {
        let now = 1_790_000_000_000i64;
        for days in [0i64, 1, 2, 44, 45, 365, 10_000, 100_000] {
            for delta in [-1i64, 0, 1] {
                let created = now - days * MS_PER_DAY + delta;
                assert_eq!(age_days(now, created), (now - created) / MS_PER_DAY);
                let future = now + days * MS_PER_DAY + delta;
                assert_eq!(age_days(now, future), (now - future) / MS_PER_DAY);
            }
        }
        assert_eq!(age_days(i64::MAX / 2, 0), i64::MAX / 2 / MS_PER_DAY);
    }

    #[test]
    fn recency_is_one_now_and_one_over_e_after_a_half_life() {
        assert_eq!(recency(0.0, 45.0), 1.0);
        assert_eq!(recency(-3.0, 45.0), 1.0);
        assert!((recency(45.0, 45.0) - (-1.0f64).exp()).abs() < 1e-15);
    }
}
