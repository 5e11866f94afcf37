//! Wall-clock helpers and the two timestamp formats agentic-flow uses.
//!
//! Rows carry SQLite's `CURRENT_TIMESTAMP` form (`YYYY-MM-DD HH:MM:SS`, UTC) and
//! `pattern_data.created_at` carries an ISO-8601 string (`YYYY-MM-DDTHH:MM:SS.mmmZ`).
//! Calendar arithmetic comes from `crate::time`.

use crate::time::{civil_from_days, days_from_civil};
pub use crate::time::{now_ms, MS_PER_DAY};

/// Splits Unix milliseconds into civil date, time of day and milliseconds.
fn split(ms: i64) -> (i64, i64, i64, i64, i64, i64, i64) {
    let days = ms.div_euclid(MS_PER_DAY);
    let rem = ms.rem_euclid(MS_PER_DAY);
    let (y, mo, d) = civil_from_days(days);
    let secs = rem / 1000;
    (
        y,
        mo,
        d,
        secs / 3600,
        (secs / 60) % 60,
        secs % 60,
        rem % 1000,
    )
}

/// SQLite `CURRENT_TIMESTAMP` form: `YYYY-MM-DD HH:MM:SS` (UTC, seconds).
pub fn sqlite_datetime(ms: i64) -> String {
    let (y, mo, d, h, mi, s, _) = split(ms);
    format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}")
}

/// ISO-8601 form used by JavaScript's `Date.toISOString()`: `YYYY-MM-DDTHH:MM:SS.mmmZ`.
pub fn iso_datetime(ms: i64) -> String {
    let (y, mo, d, h, mi, s, milli) = split(ms);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{milli:03}Z")
}

/// Parses `YYYY-MM-DD HH:MM:SS`, `YYYY-MM-DDTHH:MM:SS[.fff][Z]` or a bare `YYYY-MM-DD`
/// (all taken as UTC) into Unix milliseconds; `None` if the text is not such a timestamp.
pub fn parse_datetime(text: &str) -> Option<i64> {
    let t = text.trim();
    let b = t.as_bytes();
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let num = |s: &str| -> Option<i64> {
        if s.is_empty() || !s.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        s.parse().ok()
    };
    let year = num(t.get(0..4)?)?;
    let month = num(t.get(5..7)?)?;
    let day = num(t.get(8..10)?)?;
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    let mut ms = days_from_civil(year, month, day) * MS_PER_DAY;
    if b.len() == 10 {
        return Some(ms);
    }
    if b.len() < 19 || !(b[10] == b' ' || b[10] == b'T') || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let hour = num(t.get(11..13)?)?;
    let minute = num(t.get(14..16)?)?;
    let second = num(t.get(17..19)?)?;
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    ms += (hour * 3600 + minute * 60 + second) * 1000;
    let mut rest = t.get(19..)?;
    if let Some(frac) = rest.strip_prefix('.') {
        let digits: String = frac.chars().take_while(|c| c.is_ascii_digit()).collect();
        if digits.is_empty() {
            return None;
        }
        let mut milli = 0i64;
        for (i, c) in digits.chars().take(3).enumerate() {
            milli += i64::from(c as u8 - b'0') * [100, 10, 1][i];
        }
        ms += milli;
        rest = &frac[digits.len()..];
    }
    match rest {
        "" | "Z" | "z" | "+00:00" => Some(ms),
        _ => None,
    }
}
