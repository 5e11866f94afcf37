//! The regexes for structured entities and name patterns, compiled once per process.
//!
//! Speed matters (every chunk goes through here), so all patterns are compiled into ONE
//! multi-pattern `regex_automata::meta::Regex`: a single leftmost-first pass over the chunk
//! finds every structured and name-pattern match and reports which pattern matched, with no
//! capture groups. Where two patterns match at the same position the one listed first in
//! [`PatternKind::ALL`] wins, which encodes specificity (money before number, a date before
//! the number inside it). All word boundaries are ASCII (`(?-u:\b)`) so the lazy DFA never
//! has to give up on non-ASCII text; name patterns start without a boundary and the extractor
//! checks the boundary itself. Sub-spans (the name after a title, the year after "since") are
//! cut out by [`PatternKind`]-specific post-processing instead of capture groups.

use std::sync::OnceLock;

use regex_automata::meta::Regex;

/// Month names and abbreviations, for the date regexes.
const MONTH: &str = r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)";

/// Currency words after an amount.
const CURRENCY_WORD: &str =
    r"(?:usd|eur|gbp|jpy|chf|cad|aud|cny|inr|dollars?|euros?|pounds?|yen|rupees)";

/// Organisation suffix words ("Acme Corp", "Stanford University").
const ORG_SUFFIX: &str = r"(?:Corp(?:oration)?|Inc|Ltd|LLC|LLP|GmbH|AG|PLC|Co|Company|Group|Holdings|Labs?|Technologies|Systems|Partners|Ventures|Capital|University|College|Institute|Foundation|Association|Society|Agency|Bank|Airlines|Motors|Studios|Hospital|School|Academy|Council|Ministry|Committee)";

/// Organisation head words followed by "of" ("Bank of Japan", "University of Tokyo").
const ORG_OF_HEAD: &str = r"(?:Bank|University|Institute|Ministry|Department|Museum|Council|Academy|College|Church|Federation|League)";

/// Event head words ("Web Summit", "the Paris Conference").
const EVENT_SUFFIX: &str = r"(?:Conference|Summit|Festival|Expo|Symposium|Workshop|Hackathon|Meetup|Forum|Congress|Convention|Olympics|Games|Championships?|Cup|Awards|War|Revolution|Election|Marathon|Fair)";

/// Titles that introduce a person's name ("Dr. Jane Smith").
const PERSON_TITLE: &str = r"(?:Dr|Mr|Mrs|Ms|Mx|Prof|Professor|Sir|Dame|Lord|Lady|President|Senator|Governor|Judge|Captain|Rev|CEO|CFO|CTO|COO)";

/// A capitalised word inside a name pattern.
const CAP_WORD: &str = r"\p{Lu}[\p{L}\p{N}&'\-]*";

/// What a pattern of the combined regex finds; the order of [`PatternKind::ALL`] is the
/// priority order at equal start positions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PatternKind {
    /// `ada@example.com`.
    Email,
    /// `https://…`, `www.…` (trailing punctuation is trimmed by the extractor).
    Url,
    /// `$1,200.50`, `€5`, `30 USD`, `5 euros`, `$2.5 million`.
    Money,
    /// ISO dates, `March 3, 2025`, `3 March 2025`, `March 2025`, `3pm`, `10:30`, `3/4/2025`.
    Date,
    /// `today`, `tomorrow`, `next week`, `last Friday`.
    RelativeDate,
    /// `since 2020`, `in 1999` (the span is cut to the year).
    PrepositionYear,
    /// `42`, `3.14`, `12.5%`, `1,000,000`.
    Number,
    /// `Dr. Jane Smith`, `Mr. Lee` (the span is cut to the name).
    PersonTitle,
    /// `Bank of Japan`, `University of Tokyo`.
    OrgOf,
    /// `Web Summit 2025`, `the Paris Conference`.
    Event,
    /// `Acme Corp`, `Foo Inc.`, `Stanford University`.
    OrgSuffix,
}

impl PatternKind {
    /// All kinds, in priority order (pattern id = index).
    pub const ALL: [PatternKind; 11] = [
        PatternKind::Email,
        PatternKind::Url,
        PatternKind::Money,
        PatternKind::Date,
        PatternKind::RelativeDate,
        PatternKind::PrepositionYear,
        PatternKind::Number,
        PatternKind::PersonTitle,
        PatternKind::OrgOf,
        PatternKind::Event,
        PatternKind::OrgSuffix,
    ];
}

/// The compiled combined regex.
pub(crate) struct Patterns {
    /// One pattern per [`PatternKind::ALL`] entry.
    pub combined: Regex,
}

/// The process-wide compiled patterns.
pub(crate) fn patterns() -> &'static Patterns {
    static PATTERNS: OnceLock<Patterns> = OnceLock::new();
    PATTERNS.get_or_init(Patterns::compile)
}

/// The source of the pattern of one kind.
pub(crate) fn pattern_source(kind: PatternKind) -> String {
    let b = r"(?-u:\b)";
    let amount = r"(?:[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]+)?|[0-9]+(?:\.[0-9]+)?)";
    let scale = r"(?:\s?(?:k|m|mn|bn|b|thousand|million|billion|trillion)(?-u:\b))?";
    match kind {
        PatternKind::Email => {
            format!(r"(?i){b}[a-z0-9._%+\-]+@[a-z0-9\-]+(?:\.[a-z0-9\-]+)*\.[a-z]{{2,}}{b}")
        }
        PatternKind::Url => {
            r#"(?i)(?-u:\b)(?:https?://|ftp://|www\.)[^\s<>"'`{}|\\^\[\]]+"#.to_string()
        }
        PatternKind::Money => format!(
            r"(?i)(?:us)?(?:\$|€|£|¥|₹)\s?{amount}{scale}|{b}{amount}(?:\s?(?:thousand|million|billion|trillion))?\s?{CURRENCY_WORD}{b}"
        ),
        PatternKind::Date => format!(
            r"(?i){b}[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}(?:[T ][0-9]{{2}}:[0-9]{{2}}(?::[0-9]{{2}})?(?:\.[0-9]+)?(?:Z|[+\-][0-9]{{2}}:?[0-9]{{2}})?)?|{b}{MONTH}\.?\s+[0-9]{{1,2}}(?:st|nd|rd|th)?(?:,?\s+[0-9]{{4}})?{b}|{b}[0-9]{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?{MONTH}\.?(?:,?\s+[0-9]{{4}})?{b}|{b}{MONTH}\s+[0-9]{{4}}{b}|{b}[0-9]{{1,2}}(?::[0-9]{{2}})?\s?(?:am|pm|a\.m\.|p\.m\.)|{b}[0-9]{{1,2}}:[0-9]{{2}}(?::[0-9]{{2}})?{b}|{b}[0-9]{{1,2}}/[0-9]{{1,2}}/[0-9]{{2,4}}{b}"
        ),
        PatternKind::RelativeDate => format!(
            r"(?i){b}(?:today|tomorrow|yesterday|tonight|noon|midnight|(?:this|next|last)\s+(?:morning|afternoon|evening|night|week|weekend|month|year|monday|tuesday|wednesday|thursday|friday|saturday|sunday)){b}"
        ),
        PatternKind::PrepositionYear => format!(
            r"(?i){b}(?:in|since|until|till|by|from|before|after|during|through|to)\s+(?:1[5-9]|20)[0-9]{{2}}{b}"
        ),
        PatternKind::Number => format!(
            r"(?i){b}(?:[0-9]{{1,3}}(?:,[0-9]{{3}})+|[0-9]+)(?:\.[0-9]+)?(?:\s?(?:%|percent{b})|{b})"
        ),
        PatternKind::PersonTitle => format!(
            r"{b}{PERSON_TITLE}\.?\s+\p{{Lu}}[\p{{L}}'\-]+(?:\s+\p{{Lu}}[\p{{L}}'\-]+){{0,2}}"
        ),
        PatternKind::OrgOf => format!(
            r"(?:{CAP_WORD}\s+){{0,2}}{ORG_OF_HEAD}\s+of\s+(?:the\s+)?{CAP_WORD}(?:\s+{CAP_WORD}){{0,3}}"
        ),
        PatternKind::Event => format!(
            r"(?:(?:19|20)[0-9]{{2}}\s+)?(?:{CAP_WORD}\s+){{1,5}}{EVENT_SUFFIX}{b}(?:\s+(?:19|20)[0-9]{{2}}{b})?"
        ),
        PatternKind::OrgSuffix => {
            format!(r"(?:{CAP_WORD}\s+){{1,4}}(?:(?:Corp|Inc|Ltd|Co){b}\.?|{ORG_SUFFIX}{b})")
        }
    }
}

impl Patterns {
    fn compile() -> Patterns {
        let sources: Vec<String> = PatternKind::ALL
            .iter()
            .map(|k| pattern_source(*k))
            .collect();
        // The patterns are constants of this module; a failure is a programming error that
        // every unit test would hit first.
        let combined = Regex::new_many(&sources)
            .unwrap_or_else(|e| panic!("built-in entity patterns do not compile: {e}"));
        Patterns { combined }
    }
}
