//! How deeply policy and schema text may nest.
//!
//! Cedar's parser turns text into a syntax tree and its conversions (to the AST, to the JSON
//! form), its validator, its evaluator and the trees' destructors all recurse once or more per
//! nesting level. Text nested a few hundred levels deep (`((((…))))`, `[[[[…]]]]`,
//! `if … then if … then …`, `context.a.a.a…`, `true && true && …`) used to overflow the stack
//! and kill the process. Two bounds prevent that:
//!
//! * [`check_text_nesting`] is a linear pre-scan of the raw text, run before Cedar sees it. It
//!   skips strings and comments and computes an upper bound of the nesting of every statement:
//!   each bracket level counts one, and inside one bracket level every operator (`&&`, `||`,
//!   comparisons, `+ - * !`, `[`, `like`, `in`, `is`, `if`) counts one, and `.`, `has` and `!=`
//!   two (Cedar expands them), because operators of one level can all nest inside each other. Text over
//!   [`MAX_TEXT_NESTING`] is refused before parsing; text under it parses on a thread whose
//!   stack is sized for it (see `parser_thread`).
//! * [`expression_depth`] measures the real nesting of a parsed policy's conditions on Cedar's
//!   JSON form; a policy deeper than [`MAX_POLICY_NESTING`] is refused. This is the limit users
//!   meet, and it is what keeps *evaluation* safe: every accepted policy is evaluated on every
//!   request, on whichever thread asks (the Node thread, batch threads), so its depth must fit
//!   the smallest of those stacks.
//!
//! The pre-scan over-counts chains (`context.a == 1 || …` counts three per alternative where
//! Cedar nests one), which is why the user-facing limit is measured on the parsed form and the
//! pre-scan's own limit is several times larger.

use serde_json::Value;

use super::diagnostics::{line_col, policy_at};
use crate::error::{Error, ErrorCode, Result};

/// Deepest expression nesting an accepted policy may have (see `expression_depth`).
///
/// Measured on this crate's debug build, evaluating a policy costs up to ~57 KB of stack per
/// level (~6 KB in release); 100 levels fit the 8 MB Node main thread in debug and leave wide
/// margin on a 2 MB thread in release.
pub const MAX_POLICY_NESTING: usize = 100;

/// Largest nesting bound of policy text the pre-scan lets through to the parser.
pub const MAX_TEXT_NESTING: usize = 1000;

/// Largest bracket nesting of schema text (Cedar or JSON syntax).
pub const MAX_SCHEMA_NESTING: usize = 64;

/// What kind of text is scanned: `<`/`>` are brackets in schema text (`Set<Set<Long>>`) and
/// comparison operators in policy text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TextKind {
    Policies,
    Schema,
}

/// One open bracket level of the pre-scan.
#[derive(Debug, Clone, Copy, Default)]
struct Level {
    /// Operators in the current segment (between separators) of this level.
    ops: usize,
    /// Deepest bracket level closed inside the current segment.
    child: usize,
    /// Deepest finished segment of this level (operators + child + 1).
    best: usize,
}

impl Level {
    fn segment(&self) -> usize {
        self.ops + self.child + 1
    }

    fn end_segment(&mut self) {
        self.best = self.best.max(self.segment());
        self.ops = 0;
        self.child = 0;
    }

    fn depth(&self) -> usize {
        self.best.max(self.segment())
    }
}

/// The pre-scan's verdict: an upper bound of the nesting, or where it went over `limit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scan {
    /// Every statement nests at most this deep.
    Within(usize),
    /// The statement containing this byte offset nests more than the limit.
    Over(usize),
}

/// The pre-scan: an upper bound of how deeply any statement of `text` nests (see the module
/// docs), or the offset where it first exceeds `limit`. Linear in the text; its memory is
/// bounded by `limit`.
pub(crate) fn scan_nesting(text: &str, kind: TextKind, limit: usize) -> Scan {
    let bytes = text.as_bytes();
    // levels[0] is the statement level.
    let mut levels: Vec<Level> = vec![Level::default()];
    let mut deepest = 0usize;
    let mut i = 0usize;
    while i < bytes.len() {
        let b = bytes[i];
        let next = bytes.get(i + 1).copied();
        // How many levels the token can add (Cedar expands `!=`, `.` after `has`, `is ... in`).
        let mut weight = 0;
        let mut step = 1;
        match b {
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'/' if next == Some(b'/') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b'(' | b'[' | b'{' => {
                // `x[...]` also nests the expression before it.
                weight = usize::from(b == b'[');
                levels.push(Level::default());
            }
            b'<' if kind == TextKind::Schema => levels.push(Level::default()),
            b')' | b']' | b'}' => close(&mut levels),
            b'>' if kind == TextKind::Schema => close(&mut levels),
            b',' | b';' => end_segment(&mut levels, &mut deepest, b == b';'),
            b':' if next == Some(b':') => step = 2,
            b':' => end_segment(&mut levels, &mut deepest, false),
            b'!' if next == Some(b'=') => (weight, step) = (2, 2),
            b'&' | b'|' | b'=' if next == Some(b) => (weight, step) = (1, 2),
            b'<' | b'>' if next == Some(b'=') => (weight, step) = (1, 2),
            b'.' => weight = 2,
            b'!' | b'<' | b'>' | b'+' | b'-' | b'*' => weight = 1,
            c if c.is_ascii_alphabetic() || c == b'_' => {
                let start = i;
                while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                    i += 1;
                }
                weight = match &bytes[start..i] {
                    b"has" => 2,
                    b"if" | b"like" | b"in" | b"is" => 1,
                    _ => 0,
                };
                step = 0;
            }
            _ => {}
        }
        if kind == TextKind::Policies {
            if let Some(level) = levels.last_mut() {
                level.ops += weight;
            }
        }
        // A lower bound of the enclosing statement's nesting: every open level adds one, and
        // the innermost adds its operators so far.
        let open = levels.len() + levels.last().map_or(0, |l| l.ops);
        if open > limit || deepest > limit {
            return Scan::Over(i.min(bytes.len().saturating_sub(1)));
        }
        i += step;
    }
    while levels.len() > 1 {
        close(&mut levels);
    }
    let last = levels.first().map_or(0, Level::depth);
    if last > limit {
        return Scan::Over(bytes.len().saturating_sub(1));
    }
    Scan::Within(deepest.max(last))
}

/// Closes the innermost bracket level (an unmatched closer is left for Cedar to report).
fn close(levels: &mut Vec<Level>) {
    if levels.len() > 1 {
        if let Some(done) = levels.pop() {
            if let Some(parent) = levels.last_mut() {
                parent.child = parent.child.max(done.depth());
            }
        }
    }
}

/// Ends a segment at `,`, `:` or `;` (a top-level `;` also ends a statement).
fn end_segment(levels: &mut [Level], deepest: &mut usize, statement_end: bool) {
    let top = levels.len() == 1;
    if let Some(level) = levels.last_mut() {
        if statement_end && top {
            *deepest = (*deepest).max(level.depth());
            *level = Level::default();
        } else {
            level.end_segment();
        }
    }
}

/// Refuses `text` whose nesting bound (see the module docs) is over `max`, with the message
/// `refusal` writes for the offset where it went over.
fn check_text(
    text: &str,
    kind: TextKind,
    max: usize,
    refusal: impl FnOnce(usize) -> String,
) -> Result<()> {
    match scan_nesting(text, kind, max) {
        Scan::Within(_) => Ok(()),
        Scan::Over(offset) => Err(Error::new(ErrorCode::PolicyParse, refusal(offset))),
    }
}

/// Refuses policy text whose nesting bound (see the module docs) is over
/// [`MAX_TEXT_NESTING`], naming the statement.
pub(crate) fn check_policy_text(text: &str) -> Result<()> {
    check_text(text, TextKind::Policies, MAX_TEXT_NESTING, |offset| {
        format!(
            "{} (line {}) nests too deeply to parse: its brackets, `if`s and chained \
             operators (&&, ||, ==, +, ., ...) reach more than {MAX_TEXT_NESTING} levels; \
             split it into several policies, and test membership with a set \
             (`[\"a\", \"b\"].contains(x)`) instead of long `||` chains",
            policy_at(text, offset),
            line_col(text, offset).line
        )
    })
}

/// Refuses schema text (Cedar or JSON syntax) nested more than [`MAX_SCHEMA_NESTING`]
/// brackets deep.
pub(crate) fn check_schema_text(text: &str) -> Result<()> {
    check_text(text, TextKind::Schema, MAX_SCHEMA_NESTING, |offset| {
        let at = line_col(text, offset);
        format!(
            "the schema nests more than {MAX_SCHEMA_NESTING} brackets deep (at line {}, \
             column {}); flatten nested record and set types",
            at.line, at.column
        )
    })
}

/// The nesting depth of the conditions of a policy in Cedar's JSON form (EST): one per
/// expression node on the longest path (a leaf counts one), computed without recursion.
///
/// Nodes Cedar's evaluator expands count what they expand to: `x has a.b.c` counts two per
/// attribute (`x has a && x.a has b && ...`), `!=` and `is ... in` two.
pub(crate) fn expression_depth(est: &Value) -> usize {
    let mut deepest = 0;
    let mut stack: Vec<(&Value, usize)> = est
        .get("conditions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|c| c.get("body"))
        .map(|body| (body, 1))
        .collect();
    while let Some((expr, depth)) = stack.pop() {
        deepest = deepest.max(depth);
        let Some((op, operands)) = expr.as_object().and_then(|o| o.iter().next()) else {
            continue;
        };
        let here = match op.as_str() {
            "Value" | "Var" | "Slot" | "Unknown" => continue,
            "has" => operands
                .get("attr")
                .and_then(Value::as_array)
                .map_or(1, |path| 2 * path.len()),
            "!=" => 2,
            "is" if operands.get("in").is_some() => 2,
            _ => 1,
        };
        let child = depth + here;
        deepest = deepest.max(child - 1);
        match operands {
            Value::Array(items) => stack.extend(items.iter().map(|e| (e, child))),
            Value::Object(fields) if op == "Record" => {
                stack.extend(fields.values().map(|e| (e, child)))
            }
            Value::Object(fields) => stack.extend(
                fields
                    .iter()
                    .filter(|(name, v)| v.is_object() && name.as_str() != "pattern")
                    .map(|(_, e)| (e, child)),
            ),
            _ => {}
        }
    }
    deepest
}

/// Refuses a parsed policy (by id, in its JSON form) nested deeper than
/// [`MAX_POLICY_NESTING`].
pub(crate) fn check_policy_depth(id: &str, est: &Value) -> Result<()> {
    let depth = expression_depth(est);
    if depth > MAX_POLICY_NESTING {
        return Err(Error::new(
            ErrorCode::PolicyParse,
            format!(
                "policy \"{id}\" nests expressions {depth} levels deep, over the limit of \
                 {MAX_POLICY_NESTING}; split it into several policies, and test membership \
                 with a set (`[\"a\", \"b\"].contains(x)`) instead of long `||` chains"
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn bound(text: &str) -> usize {
        match scan_nesting(text, TextKind::Policies, usize::MAX) {
            Scan::Within(n) => n,
            Scan::Over(_) => unreachable!(),
        }
    }

    fn policy(body: &str) -> String {
        format!("permit(principal, action, resource) when {{ {body} }};")
    }

    fn depth(body: &str) -> usize {
        let set = cedar_policy::PolicySet::from_str(&policy(body)).expect("parses");
        let est = set.policies().next().expect("one").to_json().expect("est");
        expression_depth(&est)
    }

    #[test]
    fn the_pre_scan_bounds_brackets_and_operator_chains() {
        let flat = bound(&policy("true"));
        assert!(flat <= 4, "{flat}");
        let parens = |n: usize| bound(&policy(&format!("{}true{}", "(".repeat(n), ")".repeat(n))));
        assert_eq!(parens(10) - parens(0), 10);
        let chain = |n: usize| bound(&policy(&format!("{}true", "true && ".repeat(n))));
        assert_eq!(chain(50) - chain(0), 50);
        let dots = |n: usize| bound(&policy(&format!("context{} == 1", ".a".repeat(n))));
        assert_eq!(dots(30) - dots(0), 60);
        // A long set literal is wide, not deep.
        let wide: Vec<String> = (0..1000).map(|i| i.to_string()).collect();
        assert!(bound(&policy(&format!("[{}].contains(1)", wide.join(", ")))) < 10);
        // Strings and comments do not count.
        let quoted = format!(
            "context.s == \"{}\" // {}\n",
            "((((&&".repeat(100),
            "[[[".repeat(100)
        );
        assert!(bound(&policy(&quoted)) < 10);
        // Statements are bounded separately.
        let two = format!("{}{}", policy("true && true"), policy("true && true"));
        assert_eq!(bound(&two), bound(&policy("true && true")));
    }

    #[test]
    fn the_pre_scan_stops_at_the_limit_and_names_the_statement() {
        let deep = format!("{}true{}", "(".repeat(5000), ")".repeat(5000));
        let text = format!(
            "@id(\"ok\") {}\n@id(\"deep\") {}",
            policy("true"),
            policy(&deep)
        );
        let e = check_policy_text(&text).expect_err("too deep");
        assert_eq!(e.code, ErrorCode::PolicyParse);
        assert!(
            e.message.contains("policy \"deep\" (line 2)"),
            "{}",
            e.message
        );
        assert!(
            e.message.contains(&MAX_TEXT_NESTING.to_string()),
            "{}",
            e.message
        );
        // Unbalanced text is left to Cedar.
        assert!(check_policy_text("permit(principal, action, resource) when { ((( };").is_ok());
        assert!(check_policy_text(")))]]]}}};;;").is_ok());
    }

    #[test]
    fn expression_depth_counts_nested_nodes() {
        assert_eq!(depth("true"), 1);
        assert_eq!(depth("context.a == 1"), 3);
        assert_eq!(depth("!context.a"), 3);
        // Chains nest one per operator.
        assert_eq!(depth(&format!("true{}", " && true".repeat(9))), 10);
        assert_eq!(depth(&format!("context{} == 1", ".a".repeat(10))), 12);
        assert_eq!(
            depth(&format!(
                "{}true{}",
                "if true then ".repeat(9),
                " else false".repeat(9)
            )),
            10
        );
        assert_eq!(depth("[[[1]]].contains(1)"), 5);
        assert_eq!(depth("{a: {b: 1}}.a.b == 1"), 6);
        // Parentheses do not nest anything.
        assert_eq!(depth("((((((true))))))"), 1);
        // Expansions count what they expand to.
        assert_eq!(depth("context has a.b.c"), 7);
        assert_eq!(depth("context.a != 1"), 4);
        // The pre-scan is an upper bound.
        for body in [
            "context has a.b.c",
            "context.a != 1 || principal is A in B::\"x\"",
            "if context.a then {x: [1, ip(\"1.2.3.4\")]} else context.b.contains(1)",
            "context[\"a\"][\"b\"].isEmpty() && -context.x == 1",
        ] {
            assert!(bound(&policy(body)) >= depth(body), "{body}");
        }
    }

    #[test]
    fn policies_over_the_depth_limit_are_refused_with_the_limit_named() {
        let at = |n: usize| {
            let set = cedar_policy::PolicySet::from_str(&policy(&format!(
                "true{}",
                " && true".repeat(n - 1)
            )))
            .expect("parses");
            let est = set.policies().next().expect("one").to_json().expect("est");
            check_policy_depth("p", &est)
        };
        assert!(at(MAX_POLICY_NESTING).is_ok());
        let e = at(MAX_POLICY_NESTING + 1).expect_err("too deep");
        assert_eq!(e.code, ErrorCode::PolicyParse);
        assert!(
            e.message.contains(&format!(
                "{} levels deep, over the limit of {MAX_POLICY_NESTING}",
                MAX_POLICY_NESTING + 1
            )),
            "{}",
            e.message
        );
    }

    #[test]
    fn schema_nesting_is_bounded() {
        let nested = |n: usize| {
            format!(
                "entity A {{ a: {}Long{} }};",
                "Set<".repeat(n),
                ">".repeat(n)
            )
        };
        assert!(check_schema_text(&nested(MAX_SCHEMA_NESTING - 3)).is_ok());
        let e = check_schema_text(&nested(MAX_SCHEMA_NESTING + 1)).expect_err("too deep");
        assert!(
            e.message.contains(&MAX_SCHEMA_NESTING.to_string()),
            "{}",
            e.message
        );
        let json = format!("{}1{}", "[".repeat(200), "]".repeat(200));
        assert!(check_schema_text(&json).is_err());
    }
}
