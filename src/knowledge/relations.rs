//! Typed relations and temporal qualifiers found in text between entity spans.
//!
//! For each pair of consecutive non-value entities (value = number, money, date) in the same
//! sentence, the text between them is split into words; leading fillers ("who", "also",
//! "currently", "has") and a trailing "the" are dropped, and the rest must equal one of the
//! connector phrases below. The relation points from the earlier entity to the later one.
//!
//! | connector (examples)                                   | relation     |
//! |--------------------------------------------------------|--------------|
//! | works at/for, worked at, is employed by, joined        | `works_at`   |
//! | is in, is located in, is based in, is the capital of   | `located_in` |
//! | is a, is an, was a, is a kind of                       | `is_a`       |
//! | founded, co-founded                                    | `founded`    |
//! | lives in, lived in, resides in                         | `lives_in`   |
//! | visited, visits, will visit, is visiting               | `visited`    |
//!
//! "X is a `<lowercase noun phrase>`" with no entity after it yields `is_a` to a Concept named
//! by up to three words of the phrase ("Ada is a mathematician" → `concept:mathematician`).
//!
//! A date entity after the object in the same sentence, introduced by "since"/"from", sets
//! the relation's `valid_from`; one introduced by "until"/"till"/"through" sets `valid_until`
//! (the end of the named period: "until 2024" is valid through 2024-12-31). Such relations
//! are also recorded as temporal facts.

use super::entity::{Entity, EntityType};
use crate::time::MS_PER_DAY;

/// A relation found in text between two entities of the chunk.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct FoundRelation {
    /// Index of the subject in the entity slice.
    pub subject: usize,
    /// The object: an entity of the chunk, or a new concept named in the text.
    pub object: RelationObject,
    /// Relation name (`works_at`, ...).
    pub relation: &'static str,
    /// Start of validity (ms since the epoch), from "since"/"from".
    pub valid_from: Option<i64>,
    /// End of validity (exclusive, ms since the epoch), from "until"/"till"/"through".
    pub valid_until: Option<i64>,
}

/// The object of a found relation.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum RelationObject {
    /// Index of an entity in the chunk.
    Entity(usize),
    /// A concept named by a lowercase noun phrase ("a mathematician").
    Concept(String),
}

/// Longest text between two entities that can still be a connector.
const MAX_CONNECTOR_LEN: usize = 48;
/// How far after the object a temporal qualifier is looked for.
const TEMPORAL_WINDOW: usize = 80;

const FILLERS: &[&str] = &[
    "who",
    "which",
    "that",
    "also",
    "now",
    "currently",
    "still",
    "has",
    "have",
    "had",
    "recently",
    "once",
    "then",
    "reportedly",
];

/// Words that end a concept noun phrase.
const PHRASE_STOPS: &[&str] = &[
    "who", "that", "which", "and", "or", "but", "with", "in", "at", "of", "from", "for", "since",
    "until", "on", "by", "to", "when", "where", "while", "because", "as",
];

/// Finds typed relations between the `entities` (sorted by start, spans into `text`).
pub(crate) fn find_relations(text: &str, entities: &[Entity]) -> Vec<FoundRelation> {
    let mut found = Vec::new();
    let nominal: Vec<usize> = (0..entities.len())
        .filter(|&i| !entities[i].entity_type.is_value())
        .collect();
    for (k, &a) in nominal.iter().enumerate() {
        let subject = &entities[a];
        let next = nominal.get(k + 1).copied();
        let mut matched = false;
        if let Some(b) = next {
            let object = &entities[b];
            if subject.end <= object.start && object.start - subject.end <= MAX_CONNECTOR_LEN {
                let between = &text[subject.end..object.start];
                if !between.contains(['.', '!', '?', '\n', ';']) {
                    if let Some(relation) = connector_relation(between) {
                        let (valid_from, valid_until) = temporal_qualifiers(text, entities, b);
                        found.push(FoundRelation {
                            subject: a,
                            object: RelationObject::Entity(b),
                            relation,
                            valid_from,
                            valid_until,
                        });
                        matched = true;
                    }
                }
            }
        }
        if !matched {
            let limit = next.map(|b| entities[b].start).unwrap_or(text.len());
            if let Some(concept) = is_a_concept(&text[subject.end..limit.max(subject.end)]) {
                let (valid_from, valid_until) = temporal_qualifiers(text, entities, a);
                found.push(FoundRelation {
                    subject: a,
                    object: RelationObject::Concept(concept),
                    relation: "is_a",
                    valid_from,
                    valid_until,
                });
            }
        }
    }
    found
}

/// Maps the text between two entities to a relation name.
pub(crate) fn connector_relation(between: &str) -> Option<&'static str> {
    let mut words: [&str; 8] = [""; 8];
    let mut n = 0;
    for w in between.split(|c: char| c.is_whitespace() || c == ',') {
        if w.is_empty() {
            continue;
        }
        if n == words.len() {
            return None;
        }
        words[n] = w;
        n += 1;
    }
    let mut ws = &words[..n];
    while let Some((first, rest)) = ws.split_first() {
        if FILLERS.iter().any(|f| f.eq_ignore_ascii_case(first)) {
            ws = rest;
        } else {
            break;
        }
    }
    if let Some((last, rest)) = ws.split_last() {
        if last.eq_ignore_ascii_case("the") {
            ws = rest;
        }
    }
    let is = |w: &str, options: &[&str]| options.iter().any(|o| o.eq_ignore_ascii_case(w));
    const BE: &[&str] = &["is", "was", "are", "were"];
    const AT: &[&str] = &["at", "for"];
    match ws {
        [w, p] if is(w, &["works", "work", "worked", "working"]) && is(p, AT) => Some("works_at"),
        [b, w, p] if is(b, BE) && is(w, &["working"]) && is(p, AT) => Some("works_at"),
        [w, p] if is(w, &["employed"]) && is(p, &["by", "at"]) => Some("works_at"),
        [b, w, p] if is(b, BE) && is(w, &["employed"]) && is(p, &["by", "at"]) => Some("works_at"),
        [w] if is(w, &["joined"]) => Some("works_at"),
        [b, p] if is(b, BE) && is(p, &["in"]) => Some("located_in"),
        [w, p] if is(w, &["located", "based"]) && is(p, &["in"]) => Some("located_in"),
        [b, w, p] if is(b, BE) && is(w, &["located", "based"]) && is(p, &["in"]) => {
            Some("located_in")
        }
        [b, t, c, o] if is(b, BE) && is(t, &["the"]) && is(c, &["capital"]) && is(o, &["of"]) => {
            Some("located_in")
        }
        [b, a] if is(b, BE) && is(a, &["a", "an"]) => Some("is_a"),
        [b, a, k, o]
            if is(b, BE) && is(a, &["a", "an"]) && is(k, &["kind", "type"]) && is(o, &["of"]) =>
        {
            Some("is_a")
        }
        [w] if is(w, &["founded", "co-founded", "cofounded"]) => Some("founded"),
        [w, p]
            if is(
                w,
                &["lives", "live", "lived", "living", "resides", "resided"],
            ) && is(p, &["in"]) =>
        {
            Some("lives_in")
        }
        [b, w, p] if is(b, BE) && is(w, &["living"]) && is(p, &["in"]) => Some("lives_in"),
        [w] if is(w, &["visited", "visits", "visit"]) => Some("visited"),
        [a, w] if is(a, &["will", "is", "was"]) && is(w, &["visit", "visiting"]) => Some("visited"),
        _ => None,
    }
}

/// "␠is a famous mathematician who ..." → `Some("famous mathematician")`.
fn is_a_concept(after: &str) -> Option<String> {
    let mut words = after
        .split(|c: char| c.is_whitespace())
        .filter(|w| !w.is_empty());
    let be = words.next()?;
    if !["is", "was"].iter().any(|b| b.eq_ignore_ascii_case(be)) {
        return None;
    }
    let article = words.next()?;
    if !["a", "an"].iter().any(|a| a.eq_ignore_ascii_case(article)) {
        return None;
    }
    let mut phrase = String::new();
    for (i, raw) in words.enumerate() {
        let word = raw.trim_end_matches(|c: char| !c.is_alphanumeric());
        let ends_clause = word.len() != raw.len();
        if i >= 3
            || word.is_empty()
            || !word.chars().all(|c| c.is_alphabetic() || c == '-')
            || word.chars().next().is_some_and(char::is_uppercase)
            || PHRASE_STOPS.contains(&word)
        {
            break;
        }
        if !phrase.is_empty() {
            phrase.push(' ');
        }
        phrase.push_str(word);
        if ends_clause {
            break;
        }
    }
    (!phrase.is_empty()).then_some(phrase)
}

/// Looks after entity `after` (same sentence, bounded window) for "since/from <date>" and
/// "until/till/through <date>".
fn temporal_qualifiers(
    text: &str,
    entities: &[Entity],
    after: usize,
) -> (Option<i64>, Option<i64>) {
    let anchor = entities[after].end;
    let mut sentence_end = text.len().min(anchor + TEMPORAL_WINDOW);
    if let Some(p) = text[anchor..sentence_end].find(['.', '!', '?', '\n', ';']) {
        // A period inside a date ("a.m.") is rare enough to ignore here.
        sentence_end = anchor + p;
    }
    let (mut from, mut until) = (None, None);
    for e in &entities[after + 1..] {
        if e.start >= sentence_end {
            break;
        }
        if e.entity_type != EntityType::DateTime {
            continue;
        }
        let Some((start_ms, end_ms)) = parse_period(&e.name) else {
            continue;
        };
        let before = text[anchor..e.start].trim_end();
        let word = before
            .rsplit(|c: char| c.is_whitespace())
            .next()
            .unwrap_or("")
            .to_ascii_lowercase();
        match word.as_str() {
            "since" | "from" => from = from.or(Some(start_ms)),
            "until" | "till" | "through" | "to" => until = until.or(Some(end_ms)),
            _ => {}
        }
    }
    (from, until)
}

/// Parses a calendar period: `2020` (year), `March 2021` (month), `2021-03-04`,
/// `March 4, 2021`, `4 March 2021` (day). Returns `[start, end)` in ms since the epoch (UTC).
pub(crate) fn parse_period(text: &str) -> Option<(i64, i64)> {
    let t = text.trim();
    if t.len() == 4 && t.bytes().all(|b| b.is_ascii_digit()) {
        let y: i64 = t.parse().ok()?;
        return Some((day_ms(y, 1, 1), day_ms(y + 1, 1, 1)));
    }
    if t.len() >= 10 && t.as_bytes()[4] == b'-' && t.as_bytes()[7] == b'-' {
        let y: i64 = t[0..4].parse().ok()?;
        let m: i64 = t[5..7].parse().ok()?;
        let d: i64 = t[8..10].parse().ok()?;
        if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
            return None;
        }
        let start = day_ms(y, m, d);
        return Some((start, start + MS_PER_DAY));
    }
    // Month-name forms.
    let mut month = None;
    let mut day = None;
    let mut year = None;
    for raw in t.split(|c: char| c.is_whitespace() || c == ',') {
        let w = raw.trim_end_matches('.');
        if w.is_empty() || w.eq_ignore_ascii_case("of") {
            continue;
        }
        if let Some(m) = month_number(w) {
            month = Some(m);
            continue;
        }
        let digits = w.trim_end_matches(|c: char| c.is_ascii_alphabetic());
        let n: i64 = digits.parse().ok()?;
        if digits.len() == 4 {
            year = Some(n);
        } else if (1..=31).contains(&n) {
            day = Some(n);
        } else {
            return None;
        }
    }
    let (y, m) = (year?, month?);
    Some(match day {
        Some(d) => {
            let start = day_ms(y, m, d);
            (start, start + MS_PER_DAY)
        }
        None => {
            let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
            (day_ms(y, m, 1), day_ms(ny, nm, 1))
        }
    })
}

fn month_number(word: &str) -> Option<i64> {
    const MONTHS: [&str; 12] = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ];
    if word.len() < 3 || !word.is_ascii() {
        return None;
    }
    let lower = word.to_ascii_lowercase();
    let full = [
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    ];
    MONTHS
        .iter()
        .zip(full.iter())
        .position(|(short, long)| {
            lower == *short || lower == *long || (lower == "sept" && *short == "sep")
        })
        .map(|i| i as i64 + 1)
}

/// Milliseconds since the epoch at 00:00 UTC of a civil date (proleptic Gregorian).
pub(crate) fn day_ms(year: i64, month: i64, day: i64) -> i64 {
    crate::time::days_from_civil(year, month, day) * MS_PER_DAY
}
