//! Values of the compiled evaluator, and Cedar's equality and set operations on them.
//!
//! A request's context is read where it lies, in the step's JSON: a context string is a
//! `&str` into it, a context array a slice of it. Policy literals and entity attributes are
//! owned [`Data`], converted once (at load, at `set_entities`) and borrowed the same way. So
//! evaluating a condition allocates nothing unless the policy builds a set or record from
//! non-constant parts.
//!
//! Equality is Cedar's: values of different kinds are unequal (never an error); sets are equal
//! when each holds every element of the other (Cedar's sets drop duplicates, so `[1, 1] ==
//! [1]`); records when they have the same keys and equal values.

use std::rc::Rc;

use serde_json::{Map, Value as Json};

/// An entity value whose number in the entity table has not been looked up.
pub(crate) const NOT_LOOKED_UP: u32 = u32::MAX;
/// An entity value the entity table does not know (no attributes, no ancestors).
pub(crate) const NOT_IN_TABLE: u32 = u32::MAX - 1;

/// Why the compiled evaluator gave no answer; either way the request goes to Cedar's
/// interpreter, which answers exactly (with Cedar's own error messages).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fault {
    /// Cedar would report an evaluation error (the fail-closed path needs its message).
    Error,
    /// A value the compiled evaluator does not model (an extension value, a residual).
    Unsupported,
}

/// An entity uid with its type written as Cedar displays it (`App::User`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Uid {
    pub(crate) ty: Box<str>,
    pub(crate) id: Box<str>,
}

/// Owned data: policy literals and entity attribute values.
#[derive(Debug, Clone)]
pub(crate) enum Data {
    Bool(bool),
    Long(i64),
    Str(Box<str>),
    Entity(Uid),
    Set(Vec<Data>),
    /// Sorted by key, keys unique.
    Record(Vec<(Box<str>, Data)>),
    /// A Cedar `decimal`: the value times 10⁴.
    Decimal(i64),
    /// An extension value other than a literal decimal (ipaddr, datetime, an entity's
    /// decimal attribute, ...) or a residual: reading it makes
    /// the compiled evaluator hand the request to Cedar.
    Opaque,
}

/// A value during evaluation, borrowing from the request, the policy or the entity table.
#[derive(Debug, Clone)]
pub(crate) enum Val<'a> {
    Bool(bool),
    Long(i64),
    Str(&'a str),
    /// `(type, id, number)`: the number in the entity table when already looked up
    /// ([`NOT_LOOKED_UP`] otherwise, [`NOT_IN_TABLE`] for a uid the table does not know).
    Entity(&'a str, &'a str, u32),
    JsonSet(&'a [Json]),
    JsonRecord(&'a Map<String, Json>),
    DataSet(&'a [Data]),
    DataRecord(&'a [(Box<str>, Data)]),
    Set(Rc<Vec<Val<'a>>>),
    /// Sorted by key, keys unique.
    Record(Rc<Vec<(&'a str, Val<'a>)>>),
    /// A Cedar `decimal`: the value times 10⁴.
    Decimal(i64),
}

impl<'a> Val<'a> {
    /// A context value. Only plain JSON reaches the compiled evaluator (strings, booleans,
    /// 64-bit integers, arrays, objects without `__entity`/`__extn`/`__expr` keys); anything
    /// else is unsupported rather than guessed.
    pub(crate) fn of_json(value: &'a Json) -> Result<Val<'a>, Fault> {
        Ok(match value {
            Json::String(s) => Val::Str(s),
            Json::Bool(b) => Val::Bool(*b),
            Json::Number(n) => Val::Long(n.as_i64().ok_or(Fault::Unsupported)?),
            Json::Array(items) => Val::JsonSet(items),
            Json::Object(map) => {
                if let Some(value) = decimal_escape(map) {
                    return value.map(Val::Decimal).ok_or(Fault::Unsupported);
                }
                if map.contains_key("__entity")
                    || map.contains_key("__extn")
                    || map.contains_key("__expr")
                {
                    return Err(Fault::Unsupported);
                }
                Val::JsonRecord(map)
            }
            Json::Null => return Err(Fault::Unsupported),
        })
    }

    /// A literal or an entity attribute.
    pub(crate) fn of_data(data: &'a Data) -> Result<Val<'a>, Fault> {
        Ok(match data {
            Data::Bool(b) => Val::Bool(*b),
            Data::Long(i) => Val::Long(*i),
            Data::Str(s) => Val::Str(s),
            Data::Entity(uid) => Val::Entity(&uid.ty, &uid.id, NOT_LOOKED_UP),
            Data::Set(items) => Val::DataSet(items),
            Data::Record(fields) => Val::DataRecord(fields),
            Data::Decimal(d) => Val::Decimal(*d),
            Data::Opaque => return Err(Fault::Unsupported),
        })
    }

    pub(crate) fn is_set(&self) -> bool {
        matches!(self, Val::JsonSet(_) | Val::DataSet(_) | Val::Set(_))
    }

    fn is_record(&self) -> bool {
        matches!(
            self,
            Val::JsonRecord(_) | Val::DataRecord(_) | Val::Record(_)
        )
    }

    /// The elements of a set (`None` for any other value).
    pub(crate) fn elements(&self) -> Option<Elements<'a, '_>> {
        Some(match self {
            Val::JsonSet(items) => Elements::Json(items.iter()),
            Val::DataSet(items) => Elements::Data(items.iter()),
            Val::Set(items) => Elements::Vals(items.iter()),
            _ => return None,
        })
    }

    /// Number of fields of a record.
    fn record_len(&self) -> usize {
        match self {
            Val::JsonRecord(map) => map.len(),
            Val::DataRecord(fields) => fields.len(),
            Val::Record(fields) => fields.len(),
            _ => 0,
        }
    }

    /// A record's field: `None` when the record has no such field, `Some(Err)` when the field
    /// holds a value the evaluator does not model. Only call on records.
    pub(crate) fn field(&self, name: &str) -> Option<Result<Val<'a>, Fault>> {
        match self {
            Val::JsonRecord(map) => json_get(map, name).map(Val::of_json),
            Val::DataRecord(fields) => data_field(fields, name).map(Val::of_data),
            Val::Record(fields) => fields
                .binary_search_by(|(k, _)| (*k).cmp(name))
                .ok()
                .map(|i| Ok(fields[i].1.clone())),
            _ => None,
        }
    }

    /// Whether a record has a field (whatever its value). `None` when this is not a record.
    pub(crate) fn has_field(&self, name: &str) -> Option<bool> {
        Some(match self {
            Val::JsonRecord(map) => json_get(map, name).is_some(),
            Val::DataRecord(fields) => data_field(fields, name).is_some(),
            Val::Record(fields) => fields.binary_search_by(|(k, _)| (*k).cmp(name)).is_ok(),
            _ => return None,
        })
    }

    /// Whether a set is empty. `None` when this is not a set.
    pub(crate) fn set_is_empty(&self) -> Option<bool> {
        Some(match self {
            Val::JsonSet(items) => items.is_empty(),
            Val::DataSet(items) => items.is_empty(),
            Val::Set(items) => items.is_empty(),
            _ => return None,
        })
    }

    /// Cedar's `==`.
    pub(crate) fn equals(&self, other: &Val<'_>) -> Result<bool, Fault> {
        match (self, other) {
            (Val::Bool(a), Val::Bool(b)) => Ok(a == b),
            (Val::Long(a), Val::Long(b)) => Ok(a == b),
            (Val::Str(a), Val::Str(b)) => Ok(a == b),
            (Val::Entity(at, ai, _), Val::Entity(bt, bi, _)) => Ok(ai == bi && at == bt),
            (Val::Decimal(a), Val::Decimal(b)) => Ok(a == b),
            (a, b) if a.is_set() && b.is_set() => Ok(subset(a, b)? && subset(b, a)?),
            (a, b) if a.is_record() && b.is_record() => {
                if a.record_len() != b.record_len() {
                    return Ok(false);
                }
                for entry in a.entries() {
                    let (key, value) = entry?;
                    match b.field(key) {
                        None => return Ok(false),
                        Some(other) => {
                            if !value.equals(&other?)? {
                                return Ok(false);
                            }
                        }
                    }
                }
                Ok(true)
            }
            // Values of different kinds are unequal.
            _ => Ok(false),
        }
    }

    /// A record's `(key, value)` pairs.
    fn entries(&self) -> Vec<Result<(&str, Val<'a>), Fault>> {
        match self {
            Val::JsonRecord(map) => map
                .iter()
                .map(|(k, v)| Val::of_json(v).map(|v| (k.as_str(), v)))
                .collect(),
            Val::DataRecord(fields) => fields
                .iter()
                .map(|(k, v)| Val::of_data(v).map(|v| (&**k, v)))
                .collect(),
            Val::Record(fields) => fields.iter().map(|(k, v)| Ok((*k, v.clone()))).collect(),
            _ => Vec::new(),
        }
    }

    /// Cedar's `contains`: some element of this set equals `item`. Only call on sets.
    pub(crate) fn set_contains(&self, item: &Val<'_>) -> Result<bool, Fault> {
        let Some(elements) = self.elements() else {
            return Err(Fault::Error);
        };
        for element in elements {
            if element?.equals(item)? {
                return Ok(true);
            }
        }
        Ok(false)
    }
}

/// `Some(Some(value))` for Cedar's JSON escape of a decimal as this engine writes it —
/// `{"__extn": {"fn": "decimal", "arg": "<text>"}}`, exactly — with a valid text;
/// `Some(None)` for that shape with an invalid text; `None` for any other object.
pub(crate) fn decimal_escape(map: &Map<String, Json>) -> Option<Option<i64>> {
    if map.len() != 1 {
        return None;
    }
    let Json::Object(inner) = map.get("__extn")? else {
        return None;
    };
    match (inner.len(), inner.get("fn"), inner.get("arg")) {
        (2, Some(Json::String(f)), Some(Json::String(arg))) if f == "decimal" => {
            Some(parse_decimal(arg))
        }
        _ => None,
    }
}

/// Cedar's `decimal("…")`: digits, a point, one to four digits (`-` allowed in front), in the
/// range of an `i64` of ten-thousandths; `None` where Cedar reports an error.
pub(crate) fn parse_decimal(text: &str) -> Option<i64> {
    let (whole, fraction) = text.split_once('.')?;
    let digits = whole.strip_prefix('-').unwrap_or(whole);
    let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    // Cedar's pattern takes Unicode digits, which its integer parsing then refuses: an error
    // either way, as here.
    if !all_digits(digits) || !all_digits(fraction) || fraction.len() > 4 {
        return None;
    }
    let scale = |s: &str, pow: u32| -> Option<i64> {
        s.parse::<i64>().ok()?.checked_mul(10i64.checked_pow(pow)?)
    };
    let l = scale(whole, 4)?;
    let r = scale(fraction, 4 - fraction.len() as u32)?;
    if whole.starts_with('-') {
        l.checked_sub(r)
    } else {
        l.checked_add(r)
    }
}

/// True when a context is a record of values the compiled evaluator reads exactly as Cedar's
/// JSON parser would: plain values (see `plain_cedar_value`) and decimal escapes with a valid
/// text. Anything else (another escape, an invalid decimal, a float, `null`) may be a request
/// Cedar refuses as a whole, so only the interpreter may answer it.
pub(crate) fn compilable_context(context: &Json) -> bool {
    fn value(v: &Json) -> bool {
        match v {
            Json::String(_) | Json::Bool(_) => true,
            Json::Number(n) => n.is_i64(),
            Json::Array(items) => items.iter().all(value),
            Json::Object(map) => match decimal_escape(map) {
                Some(d) => d.is_some(),
                None => {
                    !map.contains_key("__entity")
                        && !map.contains_key("__extn")
                        && !map.contains_key("__expr")
                        && map.values().all(value)
                }
            },
            Json::Null => false,
        }
    }
    context.as_object().is_some_and(|o| o.values().all(value))
}

/// Every element of `a` is in `b` (both sets).
pub(crate) fn subset(a: &Val<'_>, b: &Val<'_>) -> Result<bool, Fault> {
    quantified(a, b, false)
}

/// Some element of `a` is in `b` (both sets).
pub(crate) fn intersects(a: &Val<'_>, b: &Val<'_>) -> Result<bool, Fault> {
    quantified(a, b, true)
}

/// Whether some (`any`) or every (`!any`) element of `a` is in `b`.
fn quantified(a: &Val<'_>, b: &Val<'_>, any: bool) -> Result<bool, Fault> {
    let Some(elements) = a.elements() else {
        return Err(Fault::Error);
    };
    for element in elements {
        if b.set_contains(&element?)? == any {
            return Ok(any);
        }
    }
    Ok(!any)
}

/// A field of a JSON object. The engine's objects are small (a context has a handful of
/// attributes, `params` a few more): comparing keys in order beats hashing the name with the
/// map's SipHash; large objects use the index.
fn json_get<'j>(map: &'j Map<String, Json>, name: &str) -> Option<&'j Json> {
    if map.len() <= 16 {
        map.iter().find(|(k, _)| k.as_str() == name).map(|(_, v)| v)
    } else {
        map.get(name)
    }
}

/// A field of sorted record data.
pub(crate) fn data_field<'d>(fields: &'d [(Box<str>, Data)], name: &str) -> Option<&'d Data> {
    fields
        .binary_search_by(|(k, _)| (**k).cmp(name))
        .ok()
        .map(|i| &fields[i].1)
}

/// The elements of a set value, converted as they are read.
pub(crate) enum Elements<'a, 's> {
    Json(std::slice::Iter<'a, Json>),
    Data(std::slice::Iter<'a, Data>),
    Vals(std::slice::Iter<'s, Val<'a>>),
}

impl<'a> Iterator for Elements<'a, '_> {
    type Item = Result<Val<'a>, Fault>;

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            Elements::Json(items) => items.next().map(Val::of_json),
            Elements::Data(items) => items.next().map(Val::of_data),
            Elements::Vals(items) => items.next().map(|v| Ok(v.clone())),
        }
    }
}

/// A string pattern of `like`, split at its wildcards once, when the policy is compiled; the
/// pieces between wildcards get a prebuilt substring searcher.
#[derive(Debug, Clone)]
pub(crate) struct Glob {
    /// The literal text before the first wildcard (the whole pattern without wildcards).
    prefix: String,
    /// The literal text after the last wildcard; `None` without wildcards.
    suffix: Option<String>,
    /// The non-empty literal pieces between wildcards, in order.
    middle: Vec<memchr::memmem::Finder<'static>>,
}

impl Glob {
    /// From Cedar's pattern: `Some(c)` a literal character, `None` the wildcard `*`.
    pub(crate) fn new(elems: impl IntoIterator<Item = Option<char>>) -> Glob {
        let mut pieces = vec![String::new()];
        for elem in elems {
            match elem {
                Some(c) => pieces.last_mut().map_or((), |p| p.push(c)),
                None => pieces.push(String::new()),
            }
        }
        let prefix = pieces.remove(0);
        let suffix = pieces.pop();
        let middle = pieces
            .iter()
            .filter(|p| !p.is_empty())
            .map(|p| memchr::memmem::Finder::new(p.as_bytes()).into_owned())
            .collect();
        Glob {
            prefix,
            suffix,
            middle,
        }
    }

    /// Cedar's `like`: `*` matches any sequence of characters (the empty one included).
    /// Leftmost matching of each middle piece is optimal for `*`-only patterns, and matching
    /// UTF-8 bytes matches whole characters (UTF-8 is self-synchronising).
    pub(crate) fn matches(&self, text: &str) -> bool {
        let Some(suffix) = &self.suffix else {
            return text == self.prefix;
        };
        let text = text.as_bytes();
        let (prefix, suffix) = (self.prefix.as_bytes(), suffix.as_bytes());
        if text.len() < prefix.len() + suffix.len()
            || !text.starts_with(prefix)
            || !text.ends_with(suffix)
        {
            return false;
        }
        let mut rest = &text[prefix.len()..text.len() - suffix.len()];
        for piece in &self.middle {
            match piece.find(rest) {
                Some(at) => rest = &rest[at + piece.needle().len()..],
                None => return false,
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn glob(p: &str) -> Glob {
        Glob::new(p.chars().map(|c| (c != '*').then_some(c)))
    }

    #[test]
    fn globs_match_like_cedar() {
        assert!(glob("*password*").matches("my password is"));
        assert!(glob("*password*").matches("password"));
        assert!(!glob("*password*").matches("passwor"));
        assert!(glob("a*a").matches("aa"));
        assert!(!glob("a*a").matches("a"));
        assert!(glob("").matches(""));
        assert!(!glob("").matches("x"));
        assert!(glob("*").matches(""));
        assert!(glob("*é*").matches("café"));
        assert!(glob("a*b*c").matches("abbbc"));
        assert!(!glob("a*b*c").matches("acb"));
    }

    /// A brute-force model of `like`: `*` matches any run of characters.
    fn model(pattern: &[Option<char>], text: &[char]) -> bool {
        match pattern.split_first() {
            None => text.is_empty(),
            Some((None, rest)) => (0..=text.len()).any(|i| model(rest, &text[i..])),
            Some((Some(c), rest)) => text.first() == Some(c) && model(rest, &text[1..]),
        }
    }

    /// The compiled matcher agrees with the brute-force model on random patterns and texts
    /// over a small alphabet with multi-byte characters (seeded).
    #[test]
    fn globs_agree_with_a_brute_force_model() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::SmallRng::seed_from_u64(17);
        let alphabet = ['a', 'b', 'é', '𝄞'];
        for _ in 0..50_000 {
            let pattern: Vec<Option<char>> = (0..rng.gen_range(0..7))
                .map(|_| {
                    if rng.gen_bool(0.3) {
                        None
                    } else {
                        Some(alphabet[rng.gen_range(0..alphabet.len())])
                    }
                })
                .collect();
            let text: Vec<char> = (0..rng.gen_range(0..9))
                .map(|_| alphabet[rng.gen_range(0..alphabet.len())])
                .collect();
            let s: String = text.iter().collect();
            assert_eq!(
                Glob::new(pattern.iter().copied()).matches(&s),
                model(&pattern, &text),
                "{pattern:?} on {s:?}"
            );
        }
    }

    #[test]
    fn decimals_parse_as_cedar_parses_them() {
        for (text, want) in [
            ("1.5", Some(15_000)),
            ("-1.5", Some(-15_000)),
            ("-0.0001", Some(-1)),
            ("0.1234", Some(1_234)),
            ("922337203685477.5807", Some(i64::MAX)),
            ("-922337203685477.5808", Some(i64::MIN)),
            ("922337203685477.5808", None),
            ("1.23456", None),
            ("1.", None),
            (".5", None),
            ("1", None),
            ("+1.5", None),
            ("1.5.5", None),
            ("١.٥", None),
            ("--1.5", None),
        ] {
            assert_eq!(parse_decimal(text), want, "{text}");
            // Cedar's own parser accepts exactly the texts we parse.
            let escape = serde_json::json!({"d": {"__extn": {"fn": "decimal", "arg": text}}});
            let cedar = cedar_policy::Context::from_json_value(escape.clone(), None);
            assert_eq!(cedar.is_ok(), want.is_some(), "{text}");
            assert_eq!(compilable_context(&escape), want.is_some(), "{text}");
        }
    }

    #[test]
    fn sets_compare_as_sets() {
        let a = serde_json::json!([1, 1, 2]);
        let b = serde_json::json!([2, 1]);
        let (Json::Array(a), Json::Array(b)) = (&a, &b) else {
            unreachable!()
        };
        assert_eq!(Val::JsonSet(a).equals(&Val::JsonSet(b)), Ok(true));
        assert_eq!(Val::JsonSet(a).equals(&Val::Long(1)), Ok(false));
    }
}
