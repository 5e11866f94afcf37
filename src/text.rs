//! Small text helpers for messages that say what to fix.
//!
//! Every "did you mean" in the engine (config keys, workflow selectors, action names) comes
//! from [`closest`], so hints are alike everywhere.

/// The known key closest to `key` by case-insensitive edit distance, if close enough.
pub fn closest<'a>(key: &str, known: &[&'a str]) -> Option<&'a str> {
    let k = key.to_lowercase();
    known
        .iter()
        .map(|c| (edit_distance(&k, &c.to_lowercase()), *c))
        .filter(|(d, c)| *d <= (c.len() / 3).max(2))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// The first key of `keys` not in `known`, as a message naming it, the closest known key and
/// the known keys: `unknown <what> `bogus`; did you mean `known`? (known keys: …)`.
pub fn unknown_key<'k>(
    keys: impl IntoIterator<Item = &'k String>,
    known: &[&str],
    what: &str,
) -> Option<String> {
    let key = keys.into_iter().find(|k| !known.contains(&k.as_str()))?;
    let hint = closest(key, known)
        .map(|k| format!("; did you mean `{k}`?"))
        .unwrap_or_default();
    Some(format!(
        "unknown {what} `{key}`{hint} (known keys: {})",
        known.join(", ")
    ))
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}
