//! Dictionaries of known names (the gazetteer) matched with one Aho-Corasick automaton.
//!
//! The built-in list (`data/gazetteer.txt`, compiled in with `include_str!`) has countries,
//! large cities, US states, continents, weekdays, months and well-known organisations, plus
//! a list of given names that only the person heuristic uses. User dictionaries add names at
//! run time: [`Gazetteer::with_names`] builds a new automaton (copy-on-write) which the
//! extractor swaps in atomically, so extraction never waits for a rebuild.
//!
//! Matching is ASCII case-insensitive, leftmost-longest, at word boundaries. Names marked
//! with `!` in the data file are common words too (May, Turkey, Apple) and match only when
//! written exactly as listed. A later entry for the same (case-folded) name replaces the
//! earlier one, so user dictionaries override built-in types.

use std::collections::HashMap;

use crate::fast_hash::FastSet;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};

use super::entity::EntityType;
use crate::error::{Error, ErrorCode, Result};

/// The built-in gazetteer data file.
const BUILTIN_DATA: &str = include_str!("data/gazetteer.txt");

/// Longest accepted dictionary name, in bytes.
pub const MAX_NAME_LEN: usize = 200;

/// Dictionaries up to this many names are compiled to a full DFA.
const DFA_MAX_NAMES: usize = 20_000;

/// One dictionary name with its type.
#[derive(Debug, Clone)]
pub(crate) struct DictEntry {
    /// The name as listed (its capitalisation is the "expected" one).
    pub name: Box<str>,
    /// The entity type it denotes.
    pub entity_type: EntityType,
    /// Match only when written exactly as listed.
    pub case_sensitive: bool,
}

/// A compiled set of dictionary names.
pub(crate) struct Gazetteer {
    automaton: AhoCorasick,
    /// Indexed by the automaton's pattern id.
    entries: Vec<DictEntry>,
    /// Case-folded name → index in `entries`.
    index: HashMap<String, usize>,
    /// Lowercase given names for the person heuristic.
    first_names: FastSet<String>,
}

/// One dictionary hit in a text.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DictMatch {
    pub start: usize,
    pub end: usize,
    /// Index into [`Gazetteer::entry`].
    pub entry: usize,
    /// The text is capitalised as listed (or at least starts with a capital).
    pub well_cased: bool,
}

impl Gazetteer {
    /// Parses the built-in data file.
    pub fn builtin() -> Result<Gazetteer> {
        let mut entries = Vec::new();
        let mut first_names = FastSet::default();
        let mut section: Option<EntityType> = None;
        let mut in_first_names = false;
        for (line_no, line) in BUILTIN_DATA.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
                in_first_names = name == "FirstName";
                section = if in_first_names {
                    None
                } else {
                    Some(EntityType::parse(name)?)
                };
                continue;
            }
            if in_first_names {
                first_names.insert(line.to_lowercase());
                continue;
            }
            let Some(entity_type) = section.clone() else {
                return Err(Error::new(
                    ErrorCode::Internal,
                    format!("gazetteer line {} has no [Section] above it", line_no + 1),
                ));
            };
            let (name, case_sensitive) = match line.strip_prefix('!') {
                Some(rest) => (rest, true),
                None => (line, false),
            };
            entries.push(DictEntry {
                name: name.into(),
                entity_type,
                case_sensitive,
            });
        }
        Gazetteer::build(entries, first_names)
    }

    /// A new gazetteer with this one's names plus `names` of `entity_type`; returns it and
    /// how many names were new or changed type.
    pub fn with_names(
        &self,
        entity_type: &EntityType,
        names: &[String],
    ) -> Result<(Gazetteer, usize)> {
        let mut entries = self.entries.clone();
        let mut index = self.index.clone();
        let mut changed = 0;
        for raw in names {
            let name = raw.trim();
            validate_name(name)?;
            let key = fold(name);
            let entry = DictEntry {
                name: name.into(),
                entity_type: entity_type.clone(),
                case_sensitive: false,
            };
            match index.get(&key) {
                Some(&i) => {
                    if entries[i].entity_type != *entity_type || entries[i].case_sensitive {
                        entries[i] = entry;
                        changed += 1;
                    }
                }
                None => {
                    index.insert(key, entries.len());
                    entries.push(entry);
                    changed += 1;
                }
            }
        }
        let gazetteer = Gazetteer::build(entries, self.first_names.clone())?;
        Ok((gazetteer, changed))
    }

    fn build(entries: Vec<DictEntry>, first_names: FastSet<String>) -> Result<Gazetteer> {
        // Deduplicate by folded name, later entries winning, keeping first-seen order.
        let mut index: HashMap<String, usize> = HashMap::with_capacity(entries.len());
        let mut unique: Vec<DictEntry> = Vec::with_capacity(entries.len());
        for entry in entries {
            let key = fold(&entry.name);
            match index.get(&key) {
                Some(&i) => unique[i] = entry,
                None => {
                    index.insert(key, unique.len());
                    unique.push(entry);
                }
            }
        }
        // A full DFA is the fastest matcher; its memory grows with the dictionary, so very large
        // user dictionaries fall back to the automatic (contiguous NFA) choice.
        let kind = (unique.len() <= DFA_MAX_NAMES).then_some(AhoCorasickKind::DFA);
        let automaton = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::LeftmostLongest)
            .kind(kind)
            .build(unique.iter().map(|e| e.name.as_bytes()))
            .map_err(|e| {
                Error::new(
                    ErrorCode::InvalidInput,
                    format!("dictionary cannot be compiled: {e}"),
                )
            })?;
        Ok(Gazetteer {
            automaton,
            entries: unique,
            index,
            first_names,
        })
    }

    /// The entry a match refers to.
    pub fn entry(&self, i: usize) -> &DictEntry {
        &self.entries[i]
    }

    /// Number of names.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether `word` (any case) is a listed given name.
    pub fn is_first_name(&self, word: &str) -> bool {
        let mut buf = [0u8; 24];
        if word.len() <= buf.len() && word.is_ascii() {
            for (i, b) in word.bytes().enumerate() {
                buf[i] = b.to_ascii_lowercase();
            }
            // ASCII bytes are valid UTF-8.
            return std::str::from_utf8(&buf[..word.len()])
                .is_ok_and(|w| self.first_names.contains(w));
        }
        self.first_names.contains(&word.to_lowercase())
    }

    /// Calls `on_match` for each dictionary hit in `text` (whole words only), left to right.
    pub fn find(&self, text: &str, mut on_match: impl FnMut(DictMatch)) {
        let bytes = text.as_bytes();
        for m in self.automaton.find_iter(text) {
            let (start, end) = (m.start(), m.end());
            if !is_word_boundary(text, start) || !is_word_boundary(text, end) {
                continue;
            }
            let entry = &self.entries[m.pattern().as_usize()];
            let matched = &bytes[start..end];
            let exact = matched == entry.name.as_bytes();
            if entry.case_sensitive && !exact {
                continue;
            }
            let well_cased = exact || matched.first().is_some_and(|b| b.is_ascii_uppercase());
            on_match(DictMatch {
                start,
                end,
                entry: m.pattern().as_usize(),
                well_cased,
            });
        }
    }
}

/// Rejects names that cannot be matched sensibly.
fn validate_name(name: &str) -> Result<()> {
    if name.is_empty() {
        return Err(Error::new(
            ErrorCode::InvalidInput,
            "dictionary names must not be empty or whitespace only",
        ));
    }
    if name.len() > MAX_NAME_LEN {
        return Err(Error::new(
            ErrorCode::InvalidInput,
            format!(
                "dictionary name `{}…` is longer than {MAX_NAME_LEN} bytes",
                &name[..name.floor_char_boundary_compat(40)]
            ),
        ));
    }
    if !name.chars().any(char::is_alphanumeric) {
        return Err(Error::new(
            ErrorCode::InvalidInput,
            format!("dictionary name `{name}` has no letter or digit"),
        ));
    }
    Ok(())
}

/// Case folding used for dictionary identity.
fn fold(name: &str) -> String {
    name.to_lowercase()
}

/// True if `pos` is not inside a word: the characters on both sides are not both word characters.
pub(crate) fn is_word_boundary(text: &str, pos: usize) -> bool {
    let before = text[..pos].chars().next_back();
    let after = text[pos..].chars().next();
    !(before.is_some_and(is_word_char) && after.is_some_and(is_word_char))
}

/// Letters, digits and `_` form words.
pub(crate) fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// `str::floor_char_boundary` is unstable; this is the stable equivalent for message truncation.
trait FloorCharBoundary {
    fn floor_char_boundary_compat(&self, index: usize) -> usize;
}

impl FloorCharBoundary for str {
    fn floor_char_boundary_compat(&self, index: usize) -> usize {
        let mut i = index.min(self.len());
        while !self.is_char_boundary(i) {
            i -= 1;
        }
        i
    }
}
