//! The entity extractor: regexes, dictionaries, name patterns and a capitalisation heuristic.
//!
//! Extraction runs in two phases:
//!
//! 1. **Strong candidates** — one pass of the combined pattern regex (e-mail, URL, money,
//!    date/time, number; confidence 0.95, numbers 0.9; see [`super::patterns`]), dictionary hits (0.9 when capitalised as listed or with a
//!    leading capital, 0.75 when written in lowercase) and name patterns (organisation
//!    suffixes such as "Acme Corp", "Bank of Japan"; titled persons such as "Dr. Jane Smith";
//!    named events such as "Web Summit 2025"; 0.85). Overlaps are resolved greedily: the
//!    longest candidate wins, ties go to the more specific source (structured > dictionary >
//!    name pattern), then to the earlier one.
//! 2. **Capitalised phrases** — runs of two or more capitalised words, separated by single
//!    spaces, that no strong candidate covers (a strong candidate splits a run). Leading
//!    function words ("The", "In", "Yesterday") are dropped, and a sentence-initial word is
//!    dropped unless it looks like a name (it is a known given name, or it does not end in
//!    "-ing", "-ly" or "-ed"), because sentence-initial capitals are grammar, not evidence. The
//!    phrase is typed **Person** when its first word is a known given name (0.7) or the next
//!    word is a speech/action verb typical of people ("said", "works", "visited"; 0.6), and
//!    **Concept** otherwise (0.5). Single capitalised words are never taken by the heuristic.
//!
//! Before that, a run that starts with a known given name and continues over single-word
//! dictionary hits is claimed as a Person ("Michael Jordan", "George Washington"), withdrawing
//! those hits: a given name right before a place or month name is far more often a full name.
//!
//! Titles are not part of a person's name ("Dr. Jane Smith" yields `person:jane_smith`), so
//! titled and untitled mentions meet in one node. Only *named* events are extracted ("Web
//! Summit 2025", "the Paris Conference"): generic nouns such as "meeting" or "launch" name no
//! particular event and would merge unrelated happenings into one node.
//!
//! Dictionaries live in an `Arc<Gazetteer>` behind a `parking_lot::RwLock`; `extract` holds the
//! read lock only to clone the `Arc`, and `add_dictionary` builds a new automaton off-lock and
//! swaps it in, so extraction never waits for a rebuild.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, OnceLock};

use parking_lot::{Mutex, RwLock};

use super::entity::{Entity, EntityType};
use super::gazetteer::{is_word_boundary, DictMatch, Gazetteer};
use super::graph::MAX_ID_LEN;
use super::patterns::{patterns, PatternKind};
use crate::error::{Error, ErrorCode, Result};

/// Confidence of structured regex matches.
const CONF_REGEX: f32 = 0.95;
/// Confidence of plain numbers (a number is certain, its meaning less so).
const CONF_NUMBER: f32 = 0.9;
/// Confidence of dictionary hits capitalised as expected.
const CONF_DICT: f32 = 0.9;
/// Confidence of dictionary hits written in lowercase.
const CONF_DICT_LOWER: f32 = 0.75;
/// Confidence of name patterns (suffix, title, event).
const CONF_NAME_PATTERN: f32 = 0.85;
/// Confidence of a capitalised phrase starting with a known given name.
const CONF_PHRASE_FIRST_NAME: f32 = 0.7;
/// Confidence of a capitalised phrase followed by a person verb.
const CONF_PHRASE_VERB: f32 = 0.6;
/// Confidence of a capitalised phrase typed Concept.
const CONF_PHRASE_CONCEPT: f32 = 0.5;

/// Function words that never start a name.
pub(crate) const STOP_WORDS: &[&str] = &[
    "a",
    "about",
    "after",
    "all",
    "also",
    "an",
    "and",
    "are",
    "as",
    "at",
    "because",
    "before",
    "but",
    "by",
    "dear",
    "did",
    "do",
    "does",
    "each",
    "every",
    "for",
    "from",
    "he",
    "hello",
    "her",
    "here",
    "hi",
    "his",
    "how",
    "however",
    "i",
    "if",
    "in",
    "is",
    "it",
    "its",
    "last",
    "let",
    "many",
    "maybe",
    "meanwhile",
    "my",
    "next",
    "no",
    "not",
    "of",
    "ok",
    "okay",
    "on",
    "or",
    "our",
    "perhaps",
    "please",
    "she",
    "since",
    "so",
    "some",
    "thanks",
    "that",
    "the",
    "their",
    "then",
    "there",
    "these",
    "they",
    "this",
    "those",
    "to",
    "today",
    "tomorrow",
    "until",
    "was",
    "we",
    "were",
    "what",
    "when",
    "where",
    "which",
    "while",
    "who",
    "why",
    "with",
    "yes",
    "yesterday",
    "you",
    "your",
];

/// Verbs that, right after a capitalised phrase, suggest the phrase names a person.
const PERSON_VERBS: &[&str] = &[
    "said",
    "says",
    "told",
    "asked",
    "answered",
    "replied",
    "wrote",
    "writes",
    "works",
    "worked",
    "lives",
    "lived",
    "founded",
    "co-founded",
    "visited",
    "visits",
    "met",
    "joined",
    "thinks",
    "thought",
    "believes",
    "wants",
    "called",
    "emailed",
    "smiled",
    "laughed",
];

/// Lowercase connectors allowed inside a name ("Bank of England" is handled by a pattern;
/// these cover "Leonardo da Vinci", "Ludwig van Beethoven").
const NAME_CONNECTORS: &[&str] = &[
    "da", "de", "del", "der", "di", "van", "von", "bin", "al", "le", "la",
];

/// The source of a candidate, most specific first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Source {
    Heuristic = 0,
    NamePattern = 1,
    Number = 2,
    Dictionary = 3,
    Structured = 4,
}

/// A candidate's type without allocating: built-in types, or a dictionary entry.
#[derive(Debug, Clone, Copy)]
enum CandType {
    Builtin(BuiltinType),
    Dict(usize),
}

#[derive(Debug, Clone, Copy)]
enum BuiltinType {
    Person,
    Organization,
    DateTime,
    Money,
    Number,
    Email,
    Url,
    Concept,
    Event,
}

impl BuiltinType {
    fn to_type(self) -> EntityType {
        match self {
            BuiltinType::Person => EntityType::Person,
            BuiltinType::Organization => EntityType::Organization,
            BuiltinType::DateTime => EntityType::DateTime,
            BuiltinType::Money => EntityType::Money,
            BuiltinType::Number => EntityType::Number,
            BuiltinType::Email => EntityType::Email,
            BuiltinType::Url => EntityType::Url,
            BuiltinType::Concept => EntityType::Concept,
            BuiltinType::Event => EntityType::Event,
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct SpanCandidate {
    start: usize,
    end: usize,
    ty: CandType,
    source: Source,
    confidence: f32,
}

/// Finds typed entity mentions in text. `Send + Sync`; share it in an `Arc`.
pub struct EntityExtractor {
    gazetteer: RwLock<Arc<Gazetteer>>,
    /// Serialises dictionary rebuilds so two concurrent additions do not lose each other.
    rebuild: Mutex<()>,
}

impl EntityExtractor {
    /// An extractor with the built-in gazetteer.
    pub fn new() -> Result<EntityExtractor> {
        Ok(EntityExtractor {
            gazetteer: RwLock::new(Arc::new(Gazetteer::builtin()?)),
            rebuild: Mutex::new(()),
        })
    }

    /// Number of dictionary names (built-in plus user-added).
    pub fn dictionary_len(&self) -> usize {
        self.gazetteer.read().len()
    }

    /// Adds user names of `entity_type` (a built-in type name, any case, or a custom type).
    /// Returns how many names were new or changed type. Empty type or names → `InvalidInput`.
    pub fn add_dictionary(&self, entity_type: &str, names: &[String]) -> Result<usize> {
        let entity_type = EntityType::parse(entity_type)?;
        if names.is_empty() {
            return Err(Error::new(
                ErrorCode::InvalidInput,
                "add_dictionary needs at least one name",
            ));
        }
        let _guard = self.rebuild.lock();
        let current = self.gazetteer.read().clone();
        let (next, changed) = current.with_names(&entity_type, names)?;
        *self.gazetteer.write() = Arc::new(next);
        Ok(changed)
    }

    /// Extracts entities: non-overlapping, sorted by start, spans are byte offsets into `text`.
    /// Mentions whose id would be longer than the graph accepts (`MAX_ID_LEN`) are left out.
    /// Takes time linear in the length of `text` (up to a log factor).
    pub fn extract(&self, text: &str) -> Vec<Entity> {
        let gazetteer = self.gazetteer.read().clone();
        let mut candidates: Vec<SpanCandidate> = Vec::with_capacity(16);
        collect_patterns(text, &mut candidates);
        collect_dictionary(text, &gazetteer, &mut candidates);
        let mut accepted = resolve(candidates);
        // Capitalised phrases need an ASCII capital or a non-ASCII letter.
        if text.bytes().any(|b| b.is_ascii_uppercase() || b >= 0xC3) {
            collect_phrases(text, &gazetteer, &mut accepted);
            accepted.retain(|c| c.start < c.end);
            accepted.sort_unstable_by_key(|c| c.start);
        }
        accepted
            .into_iter()
            .map(|c| {
                let ty = match c.ty {
                    CandType::Builtin(b) => b.to_type(),
                    CandType::Dict(i) => gazetteer.entry(i).entity_type.clone(),
                };
                Entity::new(&text[c.start..c.end], ty, c.start, c.end, c.confidence)
            })
            // A mention whose id is longer than the graph accepts (a capitalised run of a whole
            // page, a 4,000-digit number) names nothing; keeping it would fail the chunk's ingest.
            .filter(|e| e.id.len() <= MAX_ID_LEN)
            .collect()
    }
}

fn push(out: &mut Vec<SpanCandidate>, start: usize, end: usize, ty: BuiltinType, source: Source) {
    let confidence = match source {
        Source::Structured => CONF_REGEX,
        Source::Number => CONF_NUMBER,
        Source::Dictionary => CONF_DICT,
        Source::NamePattern => CONF_NAME_PATTERN,
        Source::Heuristic => CONF_PHRASE_CONCEPT,
    };
    if start < end {
        out.push(SpanCandidate {
            start,
            end,
            ty: CandType::Builtin(ty),
            source,
            confidence,
        });
    }
}

/// One pass of the combined pattern regex; see [`PatternKind`] for what each pattern finds.
fn collect_patterns(text: &str, out: &mut Vec<SpanCandidate>) {
    for m in patterns().combined.find_iter(text) {
        let (start, end) = (m.start(), m.end());
        let Some(kind) = PatternKind::ALL.get(m.pattern().as_usize()) else {
            continue;
        };
        match kind {
            PatternKind::Email => push(out, start, end, BuiltinType::Email, Source::Structured),
            PatternKind::Url => {
                let trimmed = text[start..end]
                    .trim_end_matches(['.', ',', ';', ':', '!', '?', ')', '\'', '"']);
                push(
                    out,
                    start,
                    start + trimmed.len(),
                    BuiltinType::Url,
                    Source::Structured,
                );
            }
            PatternKind::Money => push(out, start, end, BuiltinType::Money, Source::Structured),
            PatternKind::Date | PatternKind::RelativeDate => {
                push(out, start, end, BuiltinType::DateTime, Source::Structured)
            }
            // "since 2020": the year is the last four bytes.
            PatternKind::PrepositionYear => {
                push(out, end - 4, end, BuiltinType::DateTime, Source::Structured)
            }
            PatternKind::Number => push(out, start, end, BuiltinType::Number, Source::Number),
            PatternKind::PersonTitle => {
                // Skip the title word, its optional period and the spaces after it.
                let matched = &text[start..end];
                let title_len = matched.find(char::is_whitespace).unwrap_or(matched.len());
                let rest = &matched[title_len..];
                let name_start = start + title_len + (rest.len() - rest.trim_start().len());
                push(
                    out,
                    name_start,
                    end,
                    BuiltinType::Person,
                    Source::NamePattern,
                );
            }
            PatternKind::OrgOf | PatternKind::Event | PatternKind::OrgSuffix => {
                if !is_word_boundary(text, start) {
                    continue;
                }
                let start = skip_leading_stop_words(text, start, end);
                // A lone head word ("University", "Summit") is not a name.
                if !text[start..end].contains(char::is_whitespace) {
                    continue;
                }
                let ty = if *kind == PatternKind::Event {
                    BuiltinType::Event
                } else {
                    BuiltinType::Organization
                };
                push(out, start, end, ty, Source::NamePattern);
            }
        }
    }
}

fn collect_dictionary(text: &str, gazetteer: &Gazetteer, out: &mut Vec<SpanCandidate>) {
    gazetteer.find(text, |h: DictMatch| {
        out.push(SpanCandidate {
            start: h.start,
            end: h.end,
            ty: CandType::Dict(h.entry),
            source: Source::Dictionary,
            confidence: if h.well_cased {
                CONF_DICT
            } else {
                CONF_DICT_LOWER
            },
        })
    });
}

/// Moves `start` past leading function words ("The Acme Corp" → "Acme Corp").
fn skip_leading_stop_words(text: &str, mut start: usize, end: usize) -> usize {
    loop {
        let rest = &text[start..end];
        let word_len = rest.find(char::is_whitespace).unwrap_or(rest.len());
        if word_len == rest.len() || !is_stop_word(&rest[..word_len]) {
            return start;
        }
        let after = &rest[word_len..];
        start += word_len + (after.len() - after.trim_start().len());
    }
}

fn is_stop_word(word: &str) -> bool {
    static STOP_SET: OnceLock<HashSet<&'static [u8], foldhash::fast::FixedState>> = OnceLock::new();
    if word.len() > 9 {
        return false;
    }
    let mut buf = [0u8; 9];
    for (i, b) in word.bytes().enumerate() {
        buf[i] = b.to_ascii_lowercase();
    }
    STOP_SET
        .get_or_init(|| STOP_WORDS.iter().map(|w| w.as_bytes()).collect())
        .contains(&buf[..word.len()])
}

/// Greedy overlap resolution: longest first, then most specific source, then earliest.
///
/// Accepted spans never overlap, so a candidate overlaps one of them exactly when it overlaps
/// the last one that starts before the candidate ends: one ordered-map lookup per candidate
/// keeps this O(n log n) (comparing each candidate with every accepted span was quadratic, and
/// took minutes on a 1 MB chunk of numbers).
fn resolve(mut candidates: Vec<SpanCandidate>) -> Vec<SpanCandidate> {
    candidates.sort_unstable_by(|a, b| {
        (b.end - b.start)
            .cmp(&(a.end - a.start))
            .then(b.source.cmp(&a.source))
            .then(a.start.cmp(&b.start))
    });
    let mut taken: BTreeMap<usize, usize> = BTreeMap::new();
    let mut accepted: Vec<SpanCandidate> = Vec::with_capacity(candidates.len());
    for c in candidates {
        let free = taken
            .range(..c.end)
            .next_back()
            .is_none_or(|(_, &end)| end <= c.start);
        if free {
            // Candidates come longest first, so an empty one is followed only by empty ones,
            // which it cannot overlap: it stays out of the map (where it could hide the
            // non-empty span starting at the same place).
            if c.start < c.end {
                taken.insert(c.start, c.end);
            }
            accepted.push(c);
        }
    }
    accepted.sort_unstable_by_key(|c| c.start);
    accepted
}

/// A word of the phrase scanner.
#[derive(Debug, Clone, Copy)]
struct Word {
    start: usize,
    end: usize,
    capitalised: bool,
    /// First word of a sentence.
    sentence_start: bool,
    /// Only single spaces separate it from the previous word.
    joined_to_previous: bool,
    /// Index of the accepted strong candidate it lies in.
    cover: Option<usize>,
}

/// Phase 2: capitalised multi-word phrases in the gaps between accepted candidates.
fn collect_phrases(text: &str, gazetteer: &Gazetteer, accepted: &mut Vec<SpanCandidate>) {
    let mut words = scan_words(text, accepted);
    claim_person_runs(text, gazetteer, &mut words, accepted);
    let mut i = 0;
    while i < words.len() {
        if !is_phrase_word(&words[i]) {
            i += 1;
            continue;
        }
        // Extend the run: capitalised words, or a connector followed by a capitalised word.
        let mut j = i + 1;
        while j < words.len() && words[j].joined_to_previous && words[j].cover.is_none() {
            if is_phrase_word(&words[j]) {
                j += 1;
            } else if is_connector(&text[words[j].start..words[j].end])
                && j + 1 < words.len()
                && words[j + 1].joined_to_previous
                && is_phrase_word(&words[j + 1])
            {
                j += 2;
            } else {
                break;
            }
        }
        let mut first = i;
        while first < j {
            let w = &words[first];
            let word = &text[w.start..w.end];
            let drop = is_stop_word(word)
                || (w.sentence_start
                    && !gazetteer.is_first_name(word)
                    && (word.ends_with("ing") || word.ends_with("ly") || word.ends_with("ed")));
            if drop {
                first += 1;
            } else {
                break;
            }
        }
        if j >= first + 2 {
            let (start, end) = (words[first].start, words[j - 1].end);
            let first_word = &text[words[first].start..words[first].end];
            let next_word = words
                .get(j)
                .filter(|w| w.cover.is_none())
                .map(|w| &text[w.start..w.end]);
            let (ty, confidence) = if gazetteer.is_first_name(first_word) {
                (BuiltinType::Person, CONF_PHRASE_FIRST_NAME)
            } else if next_word
                .is_some_and(|w| PERSON_VERBS.iter().any(|v| v.eq_ignore_ascii_case(w)))
            {
                (BuiltinType::Person, CONF_PHRASE_VERB)
            } else {
                (BuiltinType::Concept, CONF_PHRASE_CONCEPT)
            };
            accepted.push(SpanCandidate {
                start,
                end,
                ty: CandType::Builtin(ty),
                source: Source::Heuristic,
                confidence,
            });
        }
        i = j.max(i + 1);
    }
}

fn is_phrase_word(w: &Word) -> bool {
    w.capitalised && w.cover.is_none()
}

/// Longest person name claimed by [`claim_person_runs`], in words.
const MAX_PERSON_RUN: usize = 4;

/// "Michael Jordan", "George Washington": a run of capitalised words that starts with a known
/// given name and otherwise consists of words that are free or single-word dictionary hits is
/// a person's name; the dictionary hits inside it are withdrawn (their span becomes empty and
/// is dropped later) and a Person candidate (0.7) covers the run.
fn claim_person_runs(
    text: &str,
    gazetteer: &Gazetteer,
    words: &mut [Word],
    accepted: &mut Vec<SpanCandidate>,
) {
    // A word is claimable if it is free or exactly one single-word dictionary hit.
    let claimable = |w: &Word, accepted: &[SpanCandidate]| match w.cover {
        None => true,
        Some(c) => {
            let a = &accepted[c];
            a.source == Source::Dictionary && a.start == w.start && a.end == w.end
        }
    };
    let mut i = 0;
    while i < words.len() {
        let w = words[i];
        if !(w.capitalised
            && claimable(&w, accepted)
            && gazetteer.is_first_name(&text[w.start..w.end]))
        {
            i += 1;
            continue;
        }
        let mut j = i + 1;
        while j < words.len()
            && j - i < MAX_PERSON_RUN
            && words[j].joined_to_previous
            && words[j].capitalised
            && claimable(&words[j], accepted)
        {
            j += 1;
        }
        let claims_dictionary = words[i..j].iter().any(|w| w.cover.is_some());
        if j - i >= 2 && claims_dictionary {
            let person = accepted.len();
            for w in &mut words[i..j] {
                if let Some(c) = w.cover {
                    accepted[c].end = accepted[c].start;
                }
                w.cover = Some(person);
            }
            accepted.push(SpanCandidate {
                start: words[i].start,
                end: words[j - 1].end,
                ty: CandType::Builtin(BuiltinType::Person),
                source: Source::Heuristic,
                confidence: CONF_PHRASE_FIRST_NAME,
            });
        }
        i = j;
    }
}

fn is_connector(word: &str) -> bool {
    NAME_CONNECTORS.contains(&word)
}

/// Splits text into words (letters, digits, internal `'` and `-`), marking sentence starts,
/// single-space joins and coverage by accepted candidates.
fn scan_words(text: &str, accepted: &[SpanCandidate]) -> Vec<Word> {
    let mut words = Vec::with_capacity(text.len() / 5);
    let mut sentence_start = true;
    let mut gap_is_single_space = false;
    let mut iter = text.char_indices().peekable();
    let mut covered_idx = 0;
    while let Some((pos, c)) = iter.next() {
        if c.is_alphanumeric() {
            let start = pos;
            let mut end = pos + c.len_utf8();
            while let Some(&(p, n)) = iter.peek() {
                if n.is_alphanumeric() {
                    end = p + n.len_utf8();
                    iter.next();
                } else if (n == '\'' || n == '-' || n == '\u{2019}')
                    && text[p + n.len_utf8()..]
                        .chars()
                        .next()
                        .is_some_and(char::is_alphanumeric)
                {
                    iter.next();
                } else {
                    break;
                }
            }
            while covered_idx < accepted.len() && accepted[covered_idx].end <= start {
                covered_idx += 1;
            }
            let cover = accepted
                .get(covered_idx)
                .is_some_and(|a| a.start < end && start < a.end)
                .then_some(covered_idx);
            words.push(Word {
                start,
                end,
                capitalised: c.is_uppercase() && is_word_boundary(text, start),
                sentence_start,
                joined_to_previous: gap_is_single_space,
                cover,
            });
            sentence_start = false;
            gap_is_single_space = false;
            if matches!(iter.peek(), Some(&(_, ' '))) {
                iter.next();
                gap_is_single_space = !matches!(iter.peek(), Some(&(_, ' ')));
            }
        } else {
            gap_is_single_space = false;
            if matches!(
                c,
                '.' | '!' | '?' | '\n' | ':' | ';' | '"' | '(' | '\u{201c}'
            ) {
                sentence_start = true;
            }
        }
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::SmallRng;
    use rand::{Rng, SeedableRng};

    /// The quadratic resolution `resolve` replaced: the reference it must agree with.
    fn resolve_naive(mut candidates: Vec<SpanCandidate>) -> Vec<SpanCandidate> {
        candidates.sort_unstable_by(|a, b| {
            (b.end - b.start)
                .cmp(&(a.end - a.start))
                .then(b.source.cmp(&a.source))
                .then(a.start.cmp(&b.start))
        });
        let mut accepted: Vec<SpanCandidate> = Vec::new();
        for c in candidates {
            if accepted
                .iter()
                .all(|a| c.end <= a.start || c.start >= a.end)
            {
                accepted.push(c);
            }
        }
        accepted.sort_unstable_by_key(|c| c.start);
        accepted
    }

    fn spans(cs: &[SpanCandidate]) -> Vec<(usize, usize, Source)> {
        cs.iter().map(|c| (c.start, c.end, c.source)).collect()
    }

    #[test]
    fn resolve_accepts_exactly_what_the_pairwise_check_accepts() {
        let sources = [
            Source::Heuristic,
            Source::NamePattern,
            Source::Number,
            Source::Dictionary,
            Source::Structured,
        ];
        let mut rng = SmallRng::seed_from_u64(7);
        for round in 0..2_000 {
            let len = rng.gen_range(1..200);
            let candidates: Vec<SpanCandidate> = (0..rng.gen_range(0..60))
                .map(|_| {
                    let start = rng.gen_range(0..len);
                    // Empty spans too: claimed dictionary hits become empty.
                    let end = (start + rng.gen_range(0..12)).min(len);
                    SpanCandidate {
                        start,
                        end,
                        ty: CandType::Builtin(BuiltinType::Concept),
                        source: sources[rng.gen_range(0..sources.len())],
                        confidence: 0.5,
                    }
                })
                .collect();
            assert_eq!(
                spans(&resolve(candidates.clone())),
                spans(&resolve_naive(candidates)),
                "round {round}"
            );
        }
    }
}
