//! Recovers the source text of a policy's conditions for near-miss descriptions.
//!
//! Cedar's printer normalises expressions (`a >= 3` prints as `!(a < 3)`), so near-miss
//! descriptions prefer the author's own text. The policy text is scanned (skipping strings and
//! `//` comments) for its `when`/`unless` blocks; a `when` body is split at top-level `&&`
//! unless it contains a top-level `||` or `if`. Callers use the result only when the number of
//! blocks and conjuncts matches what Cedar's own parse produced.

/// One `when`/`unless` block: its keyword and its conjunct texts (one for `unless`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SourceCondition {
    pub(crate) kind: String,
    pub(crate) parts: Vec<String>,
}

/// Bytes of `text` that are outside string literals and comments, with their nesting depth
/// (over `()`, `[]`, `{}`) *before* the byte.
fn code_bytes(text: &str) -> Vec<(usize, u8, usize)> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut depth = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'"' {
            let start = i;
            i += 1;
            while i < bytes.len() && bytes[i] != b'"' {
                if bytes[i] == b'\\' {
                    i += 1;
                }
                i += 1;
            }
            // Record the string as one opaque token at its start so callers keep its text.
            out.push((start, b'"', depth));
            i += 1;
            continue;
        }
        if b == b'/' && bytes.get(i + 1) == Some(&b'/') {
            while i < bytes.len() && bytes[i] != b'\n' {
                i += 1;
            }
            continue;
        }
        out.push((i, b, depth));
        match b {
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    out
}

/// Removes `//` comments (outside strings) and collapses whitespace.
fn tidy(text: &str) -> String {
    let mut kept = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    let mut in_string = false;
    while let Some(c) = chars.next() {
        if in_string {
            kept.push(c);
            if c == '\\' {
                if let Some(next) = chars.next() {
                    kept.push(next);
                }
            } else if c == '"' {
                in_string = false;
            }
            continue;
        }
        if c == '/' && chars.peek() == Some(&'/') {
            for skipped in chars.by_ref() {
                if skipped == '\n' {
                    break;
                }
            }
            kept.push(' ');
            continue;
        }
        if c == '"' {
            in_string = true;
        }
        kept.push(c);
    }
    kept.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Is `word` at byte `i` of `text` a whole word?
fn word_at(text: &str, i: usize, word: &str) -> bool {
    let is_ident = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    text.as_bytes()[i..].starts_with(word.as_bytes())
        && (i == 0 || !is_ident(text.as_bytes()[i - 1]))
        && text
            .as_bytes()
            .get(i + word.len())
            .is_none_or(|&c| !is_ident(c))
}

/// The `when`/`unless` blocks of one policy's source text, or `None` if it cannot be scanned.
pub(crate) fn source_conditions(text: &str) -> Option<Vec<SourceCondition>> {
    let code = code_bytes(text);
    // The scope ends at the `)` closing the first top-level `(` after `permit`/`forbid`.
    let effect = code.iter().position(|&(i, _, d)| {
        d == 0
            && (i == 0 || text.as_bytes()[i - 1] != b'@')
            && (word_at(text, i, "permit") || word_at(text, i, "forbid"))
    })?;
    let open = effect
        + code[effect..]
            .iter()
            .position(|&(_, b, d)| b == b'(' && d == 0)?;
    let close = open
        + code[open..]
            .iter()
            .position(|&(_, b, d)| b == b')' && d == 1)?;
    let mut out = Vec::new();
    let mut k = close + 1;
    while k < code.len() {
        let (i, b, d) = code[k];
        if b.is_ascii_whitespace() {
            k += 1;
            continue;
        }
        if d != 0 || b == b';' {
            break;
        }
        let kind = if word_at(text, i, "when") {
            "when"
        } else if word_at(text, i, "unless") {
            "unless"
        } else {
            return None;
        };
        let brace = k + code[k..]
            .iter()
            .position(|&(_, b, d)| b == b'{' && d == 0)?;
        let end = brace
            + code[brace..]
                .iter()
                .position(|&(_, b, d)| b == b'}' && d == 1)?;
        let body_start = code[brace].0 + 1;
        let body_end = code[end].0;
        let body_code: Vec<&(usize, u8, usize)> = code[brace + 1..end].iter().collect();
        let top = |needle: &str| {
            body_code
                .iter()
                .filter(|&&&(i, _, d)| {
                    d == 1 && text.as_bytes()[i..body_end].starts_with(needle.as_bytes())
                })
                .map(|&&(i, _, _)| i)
                .collect::<Vec<_>>()
        };
        let has_or = !top("||").is_empty();
        let has_if = body_code
            .iter()
            .any(|&&(i, _, d)| d == 1 && word_at(text, i, "if"));
        let mut parts = Vec::new();
        if kind == "when" && !has_or && !has_if {
            let mut start = body_start;
            for cut in top("&&") {
                parts.push(tidy(&text[start..cut]));
                start = cut + 2;
            }
            parts.push(tidy(&text[start..body_end]));
        } else {
            parts.push(tidy(&text[body_start..body_end]));
        }
        if parts.iter().any(String::is_empty) {
            return None;
        }
        out.push(SourceCondition {
            kind: kind.to_string(),
            parts,
        });
        k = end + 1;
    }
    Some(out)
}
