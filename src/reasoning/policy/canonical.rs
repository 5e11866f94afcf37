//! Canonical JSON text and SHA-256 hashes used for cache keys and certificates.
//!
//! `serde_json` keeps insertion order in this build (Cedar enables `preserve_order`), so the
//! canonical writer sorts object keys itself. Entity JSON is additionally normalised: the
//! entity list is sorted by uid and `parents` lists are sorted, since both are sets in Cedar.

use serde_json::Value;
use sha2::{Digest, Sha256};

/// Writes `value` as compact JSON with object keys sorted (recursively).
pub fn canonical_json(value: &Value) -> String {
    let mut out = String::new();
    write_canonical(value, &mut out);
    out
}

fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, key) in keys.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String((*key).clone()).to_string());
                out.push(':');
                if let Some(v) = map.get(*key) {
                    write_canonical(v, out);
                }
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
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
    hex::encode(Sha256::digest(text.as_bytes()))
}
