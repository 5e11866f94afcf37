//! Entity types, entity mentions and their stable ids.
//!
//! An entity id is `<type>:<canonical name>`, all lowercase, e.g. `place:tokyo`,
//! `person:ada_lovelace`, `money:usd_1200.00`. The canonical name folds case and whitespace
//! (so "Tokyo" in chunk 1 and "TOKYO" in chunk 50 are the same node); value types are
//! canonicalised by value: money as `<ISO currency>_<amount with 2 decimals>`, numbers
//! without thousands separators.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::{err, Error, ErrorCode, Result};

/// Longest accepted custom type name, in bytes.
pub const MAX_CUSTOM_TYPE_LEN: usize = 64;

/// The kind of thing an entity is.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EntityType {
    /// A human being.
    Person,
    /// A company, institution or other organised body.
    Organization,
    /// A country, city, region or other location.
    Place,
    /// A date, time, weekday, month or relative day ("tomorrow").
    DateTime,
    /// An amount of money with a currency.
    Money,
    /// A plain number or percentage.
    Number,
    /// An e-mail address.
    Email,
    /// A web address.
    Url,
    /// An idea, topic or class of things.
    Concept,
    /// A named happening (conference, summit, war).
    Event,
    /// A user-defined type (from [`crate::knowledge::EntityExtractor::add_dictionary`]).
    Custom(String),
}

impl EntityType {
    /// The display name: "Person", "Organization", ... or the custom name as given.
    pub fn as_str(&self) -> &str {
        match self {
            EntityType::Person => "Person",
            EntityType::Organization => "Organization",
            EntityType::Place => "Place",
            EntityType::DateTime => "DateTime",
            EntityType::Money => "Money",
            EntityType::Number => "Number",
            EntityType::Email => "Email",
            EntityType::Url => "Url",
            EntityType::Concept => "Concept",
            EntityType::Event => "Event",
            EntityType::Custom(name) => name,
        }
    }

    /// Parses a type name case-insensitively; unknown names become [`EntityType::Custom`].
    ///
    /// Empty names, names over 64 bytes and names with characters other than letters,
    /// digits, `_` and `-` are rejected with `InvalidInput`.
    pub fn parse(name: &str) -> Result<EntityType> {
        let name = name.trim();
        if name.is_empty() {
            return err(ErrorCode::InvalidInput, "entity type must not be empty");
        }
        if name.len() > MAX_CUSTOM_TYPE_LEN {
            return err(
                ErrorCode::InvalidInput,
                format!("entity type `{name}` is longer than {MAX_CUSTOM_TYPE_LEN} bytes"),
            );
        }
        if !name
            .chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '-')
        {
            return err(
                ErrorCode::InvalidInput,
                format!("entity type `{name}` may contain only letters, digits, `_` and `-`"),
            );
        }
        let builtin = [
            EntityType::Person,
            EntityType::Organization,
            EntityType::Place,
            EntityType::DateTime,
            EntityType::Money,
            EntityType::Number,
            EntityType::Email,
            EntityType::Url,
            EntityType::Concept,
            EntityType::Event,
        ];
        for t in builtin {
            if t.as_str().eq_ignore_ascii_case(name) {
                return Ok(t);
            }
        }
        Ok(EntityType::Custom(name.to_string()))
    }

    /// The lowercase form used in ids and logical predicates (`place`, `datetime`, custom lowercased).
    pub fn key(&self) -> String {
        match self {
            EntityType::Custom(name) => name.to_lowercase(),
            t => t.builtin_key().to_string(),
        }
    }

    /// The lowercase key of a built-in type (empty for custom types).
    fn builtin_key(&self) -> &'static str {
        match self {
            EntityType::Person => "person",
            EntityType::Organization => "organization",
            EntityType::Place => "place",
            EntityType::DateTime => "datetime",
            EntityType::Money => "money",
            EntityType::Number => "number",
            EntityType::Email => "email",
            EntityType::Url => "url",
            EntityType::Concept => "concept",
            EntityType::Event => "event",
            EntityType::Custom(_) => "",
        }
    }

    /// Value types (numbers, money, dates) describe quantities rather than things; the graph
    /// does not link them by co-occurrence, which would turn them into hubs.
    pub fn is_value(&self) -> bool {
        matches!(
            self,
            EntityType::Number | EntityType::Money | EntityType::DateTime
        )
    }
}

impl fmt::Display for EntityType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for EntityType {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        EntityType::parse(s)
    }
}

impl Serialize for EntityType {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for EntityType {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        EntityType::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// One entity mention found in a text chunk.
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Entity {
    /// Stable id, `<type>:<canonical name>` (see [`entity_id`]).
    pub id: String,
    /// The surface text as it appears in the chunk.
    pub name: String,
    /// The entity's type, serialized as the field `type`.
    #[serde(rename = "type")]
    #[cfg_attr(test, ts(type = "string"))]
    pub entity_type: EntityType,
    /// Byte offset of the first byte of the mention in the chunk.
    pub start: usize,
    /// Byte offset one past the last byte of the mention.
    pub end: usize,
    /// How sure the extractor is, in `0.0..=1.0`.
    pub confidence: f32,
}

impl Entity {
    /// Builds a mention, computing its stable id from the name and type.
    pub fn new(
        name: &str,
        entity_type: EntityType,
        start: usize,
        end: usize,
        confidence: f32,
    ) -> Entity {
        Entity {
            id: entity_id(&entity_type, name),
            name: name.to_string(),
            entity_type,
            start,
            end,
            confidence,
        }
    }
}

/// Folds a name for ids and lookups: lowercase, runs of whitespace become one `_`,
/// typographic apostrophes become `'`, and trailing `.`/`,` are dropped.
pub fn normalize_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    push_normalized(&mut out, name, false);
    out
}

/// Appends the [`normalize_name`] form of `name` to `out` (skipping `,` if `drop_commas`).
fn push_normalized(out: &mut String, name: &str, drop_commas: bool) {
    let base = out.len();
    let mut pending_sep = false;
    for c in name.trim().chars() {
        if c.is_whitespace() || c == '_' {
            pending_sep = out.len() > base;
            continue;
        }
        if drop_commas && c == ',' {
            continue;
        }
        if pending_sep {
            out.push('_');
            pending_sep = false;
        }
        let c = if c == '\u{2019}' || c == '\u{2018}' {
            '\''
        } else {
            c
        };
        if c.is_ascii() {
            out.push(c.to_ascii_lowercase());
        } else {
            out.extend(c.to_lowercase());
        }
    }
    while out.len() > base && out.ends_with(['.', ',']) {
        out.pop();
    }
}

/// The stable id of an entity: `<type key>:<canonical name>`.
///
/// Money is canonicalised by value (`money:usd_1200.00`), numbers drop thousands separators
/// (`number:1200`), URLs keep the case of their path; everything else uses [`normalize_name`].
pub fn entity_id(entity_type: &EntityType, name: &str) -> String {
    let mut id = String::with_capacity(name.len() + 14);
    match entity_type {
        EntityType::Custom(n) => {
            for c in n.chars() {
                id.extend(c.to_lowercase());
            }
        }
        t => id.push_str(t.builtin_key()),
    }
    id.push(':');
    match entity_type {
        EntityType::Money => match canonical_money(name) {
            Some(canonical) => id.push_str(&canonical),
            None => push_normalized(&mut id, name, false),
        },
        EntityType::Number => push_normalized(&mut id, name, true),
        EntityType::Url => id.push_str(&canonical_url(name)),
        _ => push_normalized(&mut id, name, false),
    }
    id
}

fn canonical_url(url: &str) -> String {
    let url = url.trim().trim_end_matches(['.', ',']);
    let host_start = url.find("://").map(|i| i + 3).unwrap_or(0);
    let host_end = url[host_start..]
        .find('/')
        .map(|i| host_start + i)
        .unwrap_or(url.len());
    let mut out = url[..host_end].to_ascii_lowercase();
    out.push_str(&url[host_end..]);
    out
}

/// Currency words and symbols with their ISO 4217 codes.
const CURRENCIES: &[(&str, &str)] = &[
    ("$", "usd"),
    ("us$", "usd"),
    ("€", "eur"),
    ("£", "gbp"),
    ("¥", "jpy"),
    ("₹", "inr"),
    ("usd", "usd"),
    ("eur", "eur"),
    ("gbp", "gbp"),
    ("jpy", "jpy"),
    ("chf", "chf"),
    ("cad", "cad"),
    ("aud", "aud"),
    ("cny", "cny"),
    ("inr", "inr"),
    ("dollar", "usd"),
    ("dollars", "usd"),
    ("euro", "eur"),
    ("euros", "eur"),
    ("pound", "gbp"),
    ("pounds", "gbp"),
    ("yen", "jpy"),
    ("rupees", "inr"),
];

/// Scale words that may follow an amount.
const SCALES: &[(&str, f64)] = &[
    ("k", 1e3),
    ("thousand", 1e3),
    ("m", 1e6),
    ("mn", 1e6),
    ("million", 1e6),
    ("b", 1e9),
    ("bn", 1e9),
    ("billion", 1e9),
    ("trillion", 1e12),
];

/// `"$1,200.5"` → `"usd_1200.50"`; `"5 euros"` → `"eur_5.00"`; `None` if it is not money.
fn canonical_money(text: &str) -> Option<String> {
    let lower = text.trim().to_lowercase();
    let mut currency = None;
    let mut amount_text = String::new();
    let mut rest = String::new();
    // Split into the numeric part and the word/symbol parts.
    for c in lower.chars() {
        if c.is_ascii_digit() || (c == '.' && !amount_text.is_empty()) {
            if !rest.trim().is_empty() && amount_text.is_empty() {
                currency = currency.or_else(|| lookup_currency(rest.trim()));
                rest.clear();
            }
            amount_text.push(c);
        } else if c == ',' && !amount_text.is_empty() {
            continue;
        } else {
            rest.push(c);
        }
    }
    let amount_text = amount_text.trim_end_matches('.');
    let mut scale = 1.0;
    for word in rest.split_whitespace() {
        if let Some(code) = lookup_currency(word) {
            currency = currency.or(Some(code));
        } else if let Some((_, s)) = SCALES.iter().find(|(w, _)| *w == word) {
            scale *= s;
        }
    }
    let code = currency?;
    let (int_part, frac_part) = amount_text.split_once('.').unwrap_or((amount_text, ""));
    if scale == 1.0 && frac_part.len() <= 2 && !int_part.is_empty() && int_part.len() <= 18 {
        // Exact decimal formatting without going through floating point.
        let int_part = int_part.trim_start_matches('0');
        let mut out = String::with_capacity(code.len() + int_part.len() + 5);
        out.push_str(code);
        out.push('_');
        out.push_str(if int_part.is_empty() { "0" } else { int_part });
        out.push('.');
        out.push_str(frac_part);
        for _ in frac_part.len()..2 {
            out.push('0');
        }
        return Some(out);
    }
    let amount: f64 = amount_text.parse::<f64>().ok()? * scale;
    Some(format!("{code}_{amount:.2}"))
}

fn lookup_currency(word: &str) -> Option<&'static str> {
    CURRENCIES
        .iter()
        .find(|(w, _)| *w == word)
        .map(|(_, code)| *code)
}
