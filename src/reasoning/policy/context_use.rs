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
//!
//! An attribute that every policy of the set only compares with integer literals
//! (`context.stepIndex >= 0`, `context.amount < 1000`, `3 == context.n`) is [`AttrUse::Compared`]:
//! when its value is an integer, the policies can observe nothing of it but the outcome of
//! those comparisons, so the key holds the outcomes instead of the value, and a counter that
//! changes at every step still hits the cache. Any other value (a string, a record, a number
//! Cedar cannot hold) is keyed by its value, as an attribute read any other way
//! ([`AttrUse::Exact`]).

use std::collections::{BTreeMap, BTreeSet};

#[cfg(test)]
use cedar_policy::Policy;
use serde_json::Value;

use super::canonical::write_canonical;

/// The part of the context some policies can read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ContextUse {
    /// Only these top-level attributes (possibly none), each read as given.
    Attrs(BTreeMap<String, AttrUse>),
    /// The whole context.
    Whole,
}

/// How policies read one context attribute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum AttrUse {
    /// Only as `attr <op> <integer literal>`, with these comparisons.
    Compared(BTreeSet<(CmpOp, i64)>),
    /// Any other way: its value matters as a whole.
    Exact,
}

/// A comparison of an integer attribute with a literal (`attr <op> literal`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl CmpOp {
    /// The operator of Cedar's JSON form (`"<="` …), with the sides as written.
    fn of_est(op: &str) -> Option<CmpOp> {
        Some(match op {
            "==" => CmpOp::Eq,
            "!=" => CmpOp::Ne,
            "<" => CmpOp::Lt,
            "<=" => CmpOp::Le,
            ">" => CmpOp::Gt,
            ">=" => CmpOp::Ge,
            _ => return None,
        })
    }

    /// The same comparison with its sides swapped (`lit < x` is `x > lit`).
    fn flipped(self) -> CmpOp {
        match self {
            CmpOp::Lt => CmpOp::Gt,
            CmpOp::Le => CmpOp::Ge,
            CmpOp::Gt => CmpOp::Lt,
            CmpOp::Ge => CmpOp::Le,
            same => same,
        }
    }

    /// `x <op> lit` on 64-bit integers, as Cedar evaluates it on two Longs.
    fn holds(self, x: i64, lit: i64) -> bool {
        match self {
            CmpOp::Eq => x == lit,
            CmpOp::Ne => x != lit,
            CmpOp::Lt => x < lit,
            CmpOp::Le => x <= lit,
            CmpOp::Gt => x > lit,
            CmpOp::Ge => x >= lit,
        }
    }
}

impl AttrUse {
    /// Both uses together.
    fn merge(&mut self, other: AttrUse) {
        match (&mut *self, other) {
            (AttrUse::Compared(mine), AttrUse::Compared(theirs)) => mine.extend(theirs),
            (AttrUse::Exact, _) => {}
            (_, AttrUse::Exact) => *self = AttrUse::Exact,
        }
    }
}

/// Adds `use_` of `attr` to `attrs`.
fn add(attrs: &mut BTreeMap<String, AttrUse>, attr: &str, use_: AttrUse) {
    match attrs.get_mut(attr) {
        Some(u) => u.merge(use_),
        None => {
            attrs.insert(attr.to_string(), use_);
        }
    }
}

impl ContextUse {
    /// What one policy can read.
    #[cfg(test)]
    pub(crate) fn of_policy(policy: &Policy) -> ContextUse {
        match policy.to_json() {
            Ok(est) => ContextUse::of_est(&est),
            Err(_) => ContextUse::Whole,
        }
    }

    /// What one policy can read, from its JSON form (EST).
    pub(crate) fn of_est(est: &Value) -> ContextUse {
        let mut attrs = BTreeMap::new();
        if collect(est, &mut attrs) {
            ContextUse::Attrs(attrs)
        } else {
            ContextUse::Whole
        }
    }

    /// What `policies` can read together.
    #[cfg(test)]
    pub(crate) fn of<'a>(policies: impl IntoIterator<Item = &'a Policy>) -> ContextUse {
        ContextUse::union(policies.into_iter().map(ContextUse::of_policy))
    }

    /// What all of `uses` read together.
    pub(crate) fn union(uses: impl IntoIterator<Item = ContextUse>) -> ContextUse {
        let mut attrs = BTreeMap::new();
        for u in uses {
            match u {
                ContextUse::Whole => return ContextUse::Whole,
                ContextUse::Attrs(a) => {
                    for (attr, use_) in a {
                        add(&mut attrs, &attr, use_);
                    }
                }
            }
        }
        ContextUse::Attrs(attrs)
    }

    /// The same attributes, each keyed by its value (for answers whose explanations may
    /// quote values, such as near misses).
    /// These attributes, each read exactly.
    pub(crate) fn exact_attrs(attrs: impl IntoIterator<Item = String>) -> ContextUse {
        ContextUse::Attrs(attrs.into_iter().map(|a| (a, AttrUse::Exact)).collect())
    }

    pub(crate) fn exact(&self) -> ContextUse {
        match self {
            ContextUse::Whole => ContextUse::Whole,
            ContextUse::Attrs(a) => {
                ContextUse::Attrs(a.keys().map(|k| (k.clone(), AttrUse::Exact)).collect())
            }
        }
    }

    /// The cache-key text of `context` under this use: the canonical JSON of the whole context,
    /// or of each read attribute in order (`-` for an absent one).
    #[cfg(test)]
    pub(crate) fn key_part(&self, context: &Value) -> String {
        let mut key = Vec::with_capacity(64);
        self.write_key_part(context, &mut key);
        // Only ASCII and serde_json's (UTF-8) output were written.
        String::from_utf8(key).unwrap_or_default()
    }

    /// Appends [`Self::key_part`]'s text to `key` (no other allocation).
    pub(crate) fn write_key_part(&self, context: &Value, key: &mut Vec<u8>) {
        match (self, context.as_object()) {
            (ContextUse::Attrs(attrs), Some(obj)) => {
                key.extend_from_slice(b"attrs");
                for (a, use_) in attrs {
                    key.push(0x1f);
                    key.extend_from_slice(a.as_bytes());
                    key.push(b'=');
                    match (obj.get(a), use_) {
                        (None, _) => key.push(b'-'),
                        // The outcomes, marked `c` (no JSON text starts with it).
                        (Some(Value::Number(n)), AttrUse::Compared(comparisons))
                            if n.as_i64().is_some() =>
                        {
                            let x = n.as_i64().unwrap_or_default();
                            key.push(b'c');
                            for &(op, lit) in comparisons {
                                key.push(if op.holds(x, lit) { b'1' } else { b'0' });
                            }
                        }
                        (Some(v), _) => write_canonical(v, key),
                    }
                }
            }
            _ => {
                key.extend_from_slice("whole\u{1f}".as_bytes());
                write_canonical(context, key);
            }
        }
    }

    /// True when `attr` is among what is read.
    pub(crate) fn reads(&self, attr: &str) -> bool {
        match self {
            ContextUse::Whole => true,
            ContextUse::Attrs(attrs) => attrs.contains_key(attr),
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

/// The attribute of `v` when it is `context.<attr>`.
fn context_attr(v: &Value) -> Option<&str> {
    let access = v.as_object()?;
    if access.len() != 1 {
        return None;
    }
    let access = access.get(".")?.as_object()?;
    match (access.get("left"), access.get("attr")) {
        (Some(left), Some(Value::String(attr))) if is_context_var(left) => Some(attr),
        _ => None,
    }
}

/// The integer of `v` when it is an integer literal (`{"Value": n}`).
fn int_literal(v: &Value) -> Option<i64> {
    let o = v.as_object()?;
    if o.len() != 1 {
        return None;
    }
    o.get("Value")?.as_i64()
}

/// `(attr, op, literal)` when `obj` is `context.attr <op> literal` or `literal <op> context.attr`.
fn comparison(obj: &serde_json::Map<String, Value>) -> Option<(&str, CmpOp, i64)> {
    if obj.len() != 1 {
        return None;
    }
    let (op, sides) = obj.iter().next()?;
    let op = CmpOp::of_est(op)?;
    let sides = sides.as_object()?;
    let (left, right) = (sides.get("left")?, sides.get("right")?);
    if let (Some(attr), Some(lit)) = (context_attr(left), int_literal(right)) {
        return Some((attr, op, lit));
    }
    if let (Some(lit), Some(attr)) = (int_literal(left), context_attr(right)) {
        return Some((attr, op.flipped(), lit));
    }
    None
}

/// Adds the context attributes read in `est` to `attrs`; false on any other use of `context`.
fn collect(est: &Value, attrs: &mut BTreeMap<String, AttrUse>) -> bool {
    match est {
        Value::Object(obj) => {
            if is_context_var(est) {
                return false;
            }
            if let Some((attr, op, lit)) = comparison(obj) {
                add(attrs, attr, AttrUse::Compared(BTreeSet::from([(op, lit)])));
                return true;
            }
            for op in [".", "has"] {
                if let Some(access) = obj.get(op).and_then(Value::as_object) {
                    if let (Some(left), Some(Value::String(attr))) =
                        (access.get("left"), access.get("attr"))
                    {
                        if obj.len() == 1 && is_context_var(left) {
                            add(attrs, attr, AttrUse::Exact);
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
/// object of plain values with none of the keys of Cedar's JSON escapes (`__entity`, `__extn`,
/// `__expr`: such an object may be an escape, which only Cedar's parser reads exactly).
pub(crate) fn plain_cedar_value(v: &Value) -> bool {
    match v {
        Value::String(_) | Value::Bool(_) => true,
        Value::Number(n) => n.is_i64(),
        Value::Array(items) => items.iter().all(plain_cedar_value),
        Value::Object(map) => {
            !map.contains_key("__entity")
                && !map.contains_key("__extn")
                && !map.contains_key("__expr")
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
        ContextUse::Attrs(
            names
                .iter()
                .map(|s| (s.to_string(), AttrUse::Exact))
                .collect(),
        )
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
            ContextUse::Attrs(BTreeMap::from([
                ("approvals".to_string(), AttrUse::Exact),
                ("params".to_string(), AttrUse::Exact),
                ("session".to_string(), AttrUse::Exact),
                (
                    "stepIndex".to_string(),
                    AttrUse::Compared(BTreeSet::from([(CmpOp::Ge, 0)]))
                ),
            ]))
        );
    }

    #[test]
    fn integer_comparisons_are_keyed_by_their_outcomes() {
        let u = uses(
            r#"permit(principal, action, resource) when { context.n >= 0 && context.n < 10 };
               forbid(principal, action, resource) when { -5 > context.n || context.m == 3 };"#,
        );
        let compared = |pairs: &[(CmpOp, i64)]| AttrUse::Compared(pairs.iter().copied().collect());
        assert_eq!(
            u,
            ContextUse::Attrs(BTreeMap::from([
                ("m".to_string(), compared(&[(CmpOp::Eq, 3)])),
                (
                    "n".to_string(),
                    compared(&[(CmpOp::Lt, -5), (CmpOp::Lt, 10), (CmpOp::Ge, 0)])
                ),
            ]))
        );
        let key = |v: serde_json::Value| u.key_part(&v);
        use serde_json::json;
        // Same outcomes, same key: a counter hits the cache.
        assert_eq!(key(json!({"n": 1, "m": 0})), key(json!({"n": 9, "m": 7})));
        // Any outcome that differs changes the key.
        assert_ne!(key(json!({"n": 1, "m": 0})), key(json!({"n": 10, "m": 0})));
        assert_ne!(key(json!({"n": 1, "m": 0})), key(json!({"n": -1, "m": 0})));
        assert_ne!(key(json!({"n": -4, "m": 0})), key(json!({"n": -6, "m": 0})));
        assert_ne!(key(json!({"n": 1, "m": 0})), key(json!({"n": 1, "m": 3})));
        // Absent, or not an integer: keyed by value, as before.
        assert_ne!(key(json!({"n": 1, "m": 0})), key(json!({"m": 0})));
        assert_ne!(
            key(json!({"n": "1", "m": 0})),
            key(json!({"n": "2", "m": 0}))
        );
        assert_ne!(key(json!({"n": 1, "m": 0})), key(json!({"n": "1", "m": 0})));
        // Near-miss keys stay exact.
        let exact = |v: serde_json::Value| u.exact().key_part(&v);
        assert_ne!(
            exact(json!({"n": 1, "m": 0})),
            exact(json!({"n": 2, "m": 0}))
        );
    }

    #[test]
    fn an_attribute_read_any_other_way_is_keyed_by_value() {
        for src in [
            // Compared in one policy, read whole in another.
            r#"permit(principal, action, resource) when { context.n > 0 };
               permit(principal, action, resource) when { context.n + 1 > 5 };"#,
            // Compared with something that is not an integer literal.
            r#"permit(principal, action, resource) when { context.n > principal.limit };"#,
            r#"permit(principal, action, resource) when { context has n && context.n > 0 };"#,
            r#"permit(principal, action, resource) when { context.n == "x" };"#,
        ] {
            let ContextUse::Attrs(a) = uses(src) else {
                panic!("{src}: whole context");
            };
            assert_eq!(a.get("n"), Some(&AttrUse::Exact), "{src}");
        }
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
