//! Canonical JSON text and SHA-256 hashes used for cache keys and certificates.
//!
//! `serde_json` keeps insertion order in this build (Cedar enables `preserve_order`), so the
//! canonical writer sorts object keys itself. Entity JSON is additionally normalised: the
//! entity list is sorted by uid and `parents` lists are sorted, since both are sets in Cedar.

use serde_json::Value;
use sha2::{Digest, Sha256};

/// Writes `value` as compact JSON with object keys sorted (recursively).
pub fn canonical_json(value: &Value) -> String {
    let mut out = Vec::with_capacity(128);
    write_canonical(value, &mut out);
    // Only serde_json's (UTF-8) output and ASCII punctuation were written.
    String::from_utf8(out).unwrap_or_default()
}

/// Appends the canonical JSON of `value` to `out` (no allocation beyond `out`'s growth,
/// except a small key list per object with more than one key).
pub fn write_canonical(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Object(map) => {
            out.push(b'{');
            if map.len() == 1 {
                if let Some((key, v)) = map.iter().next() {
                    write_json_string(key, out);
                    out.push(b':');
                    write_canonical(v, out);
                }
            } else if map.keys().is_sorted() {
                // Built in key order (as the engine builds its contexts): nothing to sort.
                write_entries(map.iter(), out);
            } else {
                let mut entries: Vec<(&String, &Value)> = map.iter().collect();
                entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
                write_entries(entries.into_iter(), out);
            }
            out.push(b'}');
        }
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_canonical(item, out);
            }
            out.push(b']');
        }
        // Writing into a Vec cannot fail.
        other => serde_json::to_writer(&mut *out, other).unwrap_or(()),
    }
}

/// Appends `s` as a JSON string literal (serde_json's escaping).
pub fn write_json_string(s: &str, out: &mut Vec<u8>) {
    // serde_json escapes only `"`, `\\` and control characters: text without them is copied
    // as it is, byte for byte what serde_json would write.
    if s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        out.reserve(s.len() + 2);
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
    } else {
        serde_json::to_writer(&mut *out, s).unwrap_or(());
    }
}

/// Writes `"key":value` pairs, comma-separated, in the order given.
fn write_entries<'a>(entries: impl Iterator<Item = (&'a String, &'a Value)>, out: &mut Vec<u8>) {
    for (i, (key, v)) in entries.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_json_string(key, out);
        out.push(b':');
        write_canonical(v, out);
    }
}

/// Canonical text of a Cedar entity JSON array: entities sorted by uid, parents sorted.
pub fn canonical_entities(entities: &Value) -> String {
    let Value::Array(items) = entities else {
        return canonical_json(entities);
    };
    let mut texts: Vec<(String, String)> = items
        .iter()
        .map(|entity| {
            let mut entity = entity.clone();
            if let Some(Value::Array(parents)) = entity.get_mut("parents") {
                parents.sort_by_cached_key(canonical_json);
            }
            let uid = entity.get("uid").map(canonical_json).unwrap_or_default();
            (uid, canonical_json(&entity))
        })
        .collect();
    texts.sort();
    let body: Vec<String> = texts.into_iter().map(|(_, text)| text).collect();
    format!("[{}]", body.join(","))
}

/// Lower-case hex SHA-256 of `text`.
pub fn sha256_hex(text: &str) -> String {
    sha256_hex_bytes(text.as_bytes())
}

/// Lower-case hex SHA-256 of `bytes`.
pub fn sha256_hex_bytes(bytes: &[u8]) -> String {
    let mut out = [0u8; 64];
    // 64 bytes is exactly twice the digest's 32: encoding cannot fail.
    match hex::encode_to_slice(Sha256::digest(bytes), &mut out) {
        Ok(()) => String::from_utf8_lossy(&out).into_owned(),
        Err(_) => hex::encode(Sha256::digest(bytes)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn strings_are_written_as_serde_json_writes_them() {
        for s in [
            "",
            "plain text",
            "quote \" and backslash \\",
            "tab\tnewline\ncontrol \u{1}\u{1f}",
            "del \u{7f}, non-ASCII é ü 東京, emoji 🦀, separators \u{2028}\u{2029}",
        ] {
            let mut out = Vec::new();
            write_json_string(s, &mut out);
            assert_eq!(
                String::from_utf8(out).unwrap(),
                serde_json::to_string(s).unwrap()
            );
        }
    }

    #[test]
    fn key_order_does_not_change_the_canonical_text() {
        let sorted = json!({"a": 1, "b": {"x": [1, "y"], "y": null}, "c": "z"});
        let unsorted = json!({"c": "z", "b": {"y": null, "x": [1, "y"]}, "a": 1});
        assert_eq!(canonical_json(&sorted), canonical_json(&unsorted));
        assert_eq!(
            canonical_json(&unsorted),
            r#"{"a":1,"b":{"x":[1,"y"],"y":null},"c":"z"}"#
        );
    }
}
