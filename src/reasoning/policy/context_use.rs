//! Which context attributes a set of policies can read.
//!
//! Cedar evaluates a policy against the request's principal, action, resource, the entity
//! store and the context; a policy that never mentions `context.x` cannot observe `x`. So the
//! decision for one action is a function of the principal, the resource, the snapshot (policies
//! and entities) and only the context attributes its policies read. The decision cache keys on
//! exactly that projection ([`ContextUse::key_part`]), so requests that differ only in context
//! the policies ignore (step counters, free-text parameters, histories) share one cached
//! decision, while any attribute a policy reads is part of the key.
//!
//! The attributes are read off each policy's JSON form (Cedar's EST): every occurrence of the
//! `context` variable must be the left side of an attribute access (`context.x`) or a `has`
//! test (`context has x`); any other use (the whole record passed to an operator, compared, or
//! put in a set) makes the policy read the [`ContextUse::Whole`] context, and the key then
//! holds the whole context as before.

use std::collections::BTreeSet;

use cedar_policy::Policy;
use serde_json::Value;

use super::canonical::canonical_json;

/// The part of the context some policies can read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ContextUse {
    /// Only these top-level attributes (possibly none).
    Attrs(BTreeSet<String>),
    /// The whole context.
    Whole,
}

impl ContextUse {
    /// What one policy can read.
    pub(crate) fn of_policy(policy: &Policy) -> ContextUse {
        let mut attrs = BTreeSet::new();
        match policy.to_json() {
            Ok(est) if collect(&est, &mut attrs) => ContextUse::Attrs(attrs),
            _ => ContextUse::Whole,
        }
    }

    /// What `policies` can read together.
    pub(crate) fn of<'a>(policies: impl IntoIterator<Item = &'a Policy>) -> ContextUse {
        ContextUse::union(policies.into_iter().map(ContextUse::of_policy))
    }

    /// What all of `uses` read together.
    pub(crate) fn union(uses: impl IntoIterator<Item = ContextUse>) -> ContextUse {
        let mut attrs = BTreeSet::new();
        for u in uses {
            match u {
                ContextUse::Whole => return ContextUse::Whole,
                ContextUse::Attrs(a) => attrs.extend(a),
            }
        }
        ContextUse::Attrs(attrs)
    }

    /// The cache-key text of `context` under this use: the canonical JSON of the whole context,
    /// or of each read attribute in order (`-` for an absent one).
    pub(crate) fn key_part(&self, context: &Value) -> String {
        match (self, context.as_object()) {
            (ContextUse::Attrs(attrs), Some(obj)) => {
                let mut key = String::from("attrs");
                for a in attrs {
                    key.push('\u{1f}');
                    key.push_str(a);
                    key.push('=');
                    match obj.get(a) {
                        Some(v) => key.push_str(&canonical_json(v)),
                        None => key.push('-'),
                    }
                }
                key
            }
            _ => format!("whole\u{1f}{}", canonical_json(context)),
        }
    }

    /// True when `attr` is among what is read.
    pub(crate) fn reads(&self, attr: &str) -> bool {
        match self {
            ContextUse::Whole => true,
            ContextUse::Attrs(attrs) => attrs.contains(attr),
        }
    }

    /// True when the key holds the whole context.
    pub(crate) fn is_whole(&self) -> bool {
        matches!(self, ContextUse::Whole)
    }
}

/// True when `v` is the expression `context`.
fn is_context_var(v: &Value) -> bool {
    v.as_object()
        .is_some_and(|o| o.len() == 1 && o.get("Var").and_then(Value::as_str) == Some("context"))
}

/// Adds the context attributes read in `est` to `attrs`; false on any other use of `context`.
fn collect(est: &Value, attrs: &mut BTreeSet<String>) -> bool {
    match est {
        Value::Object(obj) => {
            if is_context_var(est) {
                return false;
            }
            for op in [".", "has"] {
                if let Some(access) = obj.get(op).and_then(Value::as_object) {
                    if let (Some(left), Some(Value::String(attr))) =
                        (access.get("left"), access.get("attr"))
                    {
                        if obj.len() == 1 && is_context_var(left) {
                            attrs.insert(attr.clone());
                            return true;
                        }
                    }
                }
            }
            obj.values().all(|v| collect(v, attrs))
        }
        Value::Array(items) => items.iter().all(|v| collect(v, attrs)),
        _ => true,
    }
}

/// True when `context` is a record Cedar accepts as-is: strings, booleans, 64-bit integers,
/// arrays and objects of those, without `__entity`/`__extn` escapes (no nulls, no fractions).
/// Requests answered from a projected cache entry must satisfy this, so that a context Cedar
/// would reject still fails exactly as it would without the cache.
pub(crate) fn plain_cedar_record(context: &Value) -> bool {
    context
        .as_object()
        .is_some_and(|o| o.values().all(plain_cedar_value))
}

/// True when `v` is a plain Cedar value: a string, boolean, 64-bit integer, or an array or
/// object (without `__entity`/`__extn` escapes) of plain values.
pub(crate) fn plain_cedar_value(v: &Value) -> bool {
    match v {
        Value::String(_) | Value::Bool(_) => true,
        Value::Number(n) => n.is_i64(),
        Value::Array(items) => items.iter().all(plain_cedar_value),
        Value::Object(map) => {
            !map.contains_key("__entity")
                && !map.contains_key("__extn")
                && map.values().all(plain_cedar_value)
        }
        Value::Null => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn uses(src: &str) -> ContextUse {
        let set = cedar_policy::PolicySet::from_str(src).expect("policies");
        ContextUse::of(set.policies())
    }

    fn attrs(names: &[&str]) -> ContextUse {
        ContextUse::Attrs(names.iter().map(|s| s.to_string()).collect())
    }

    #[test]
    fn reads_attribute_accesses_and_has_tests() {
        assert_eq!(uses("permit(principal, action, resource);"), attrs(&[]));
        assert_eq!(
            uses("permit(principal, action, resource) when { principal.suspended == false };"),
            attrs(&[])
        );
        assert_eq!(
            uses(
                r#"permit(principal, action, resource) when { context.stepIndex >= 0 && context has approvals && context.params.amount < 10 };
                   forbid(principal, action, resource) unless { context.session.id like "s*" };"#
            ),
            attrs(&["approvals", "params", "session", "stepIndex"])
        );
    }

    #[test]
    fn any_other_use_of_context_reads_the_whole_context() {
        assert_eq!(
            uses(r#"permit(principal, action, resource) when { context == {"a": 1} };"#),
            ContextUse::Whole
        );
        assert_eq!(
            uses("permit(principal, action, resource) when { [context].contains(context) };"),
            ContextUse::Whole
        );
        assert_eq!(
            uses(
                r#"permit(principal, action, resource) when { context.a == 1 }; permit(principal, action, resource) when { {x: context}.x.b == 2 };"#
            ),
            ContextUse::Whole
        );
    }

    #[test]
    fn key_parts_differ_exactly_when_a_read_attribute_differs() {
        let u = attrs(&["stepIndex"]);
        let a = serde_json::json!({"stepIndex": 1, "params": {"text": "a"}});
        let b = serde_json::json!({"stepIndex": 1, "params": {"text": "b"}});
        let c = serde_json::json!({"stepIndex": 2, "params": {"text": "a"}});
        let d = serde_json::json!({"params": {"text": "a"}});
        assert_eq!(u.key_part(&a), u.key_part(&b));
        assert_ne!(u.key_part(&a), u.key_part(&c));
        assert_ne!(u.key_part(&a), u.key_part(&d));
        assert_ne!(
            ContextUse::Whole.key_part(&a),
            ContextUse::Whole.key_part(&b)
        );
        assert!(plain_cedar_record(&a));
        assert!(!plain_cedar_record(&serde_json::json!({"x": 1.5})));
        assert!(!plain_cedar_record(&serde_json::json!({"x": null})));
        assert!(!plain_cedar_record(
            &serde_json::json!({"x": {"__entity": {"type": "A", "id": "b"}}})
        ));
        assert!(!plain_cedar_record(&serde_json::json!([1])));
    }
}
