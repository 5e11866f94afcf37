//! Turns Cedar's `miette` diagnostics into messages with line and column numbers.
//!
//! Cedar reports byte offsets into the source text through `miette` labels. These helpers
//! convert offsets to 1-based line/column pairs and, for policy parse errors (which happen
//! before policy ids exist), find the policy statement that contains the offset and its
//! `@id("...")` annotation (or its default id `policyN`).

use cedar_policy::{AuthorizationError, PolicyId};
use miette::Diagnostic;

/// A 1-based line and column (column counted in characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineCol {
    /// 1-based line number.
    pub line: usize,
    /// 1-based column number, in characters.
    pub column: usize,
}

/// Converts a byte offset in `src` to a 1-based line and column.
pub fn line_col(src: &str, offset: usize) -> LineCol {
    let mut offset = offset.min(src.len());
    while !src.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &src[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
    let column = before[line_start..].chars().count() + 1;
    LineCol { line, column }
}

/// The first labelled source offset of a diagnostic, if any.
pub fn first_offset(diag: &dyn Diagnostic) -> Option<usize> {
    diag.labels()
        .and_then(|mut labels| labels.next())
        .map(|label| label.offset())
}

/// Formats a diagnostic as `message (help: ...)`, including related diagnostics.
pub fn describe(diag: &dyn Diagnostic) -> String {
    let mut text = diag.to_string();
    let mut source = diag.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(&format!(": {cause_text}"));
        }
        source = cause.source();
    }
    if let Some(help) = diag.help() {
        text.push_str(&format!(" (help: {help})"));
    }
    text
}

/// A top-level statement of a policy text: its byte range and its `@id` annotation value.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Statement {
    start: usize,
    end: usize,
    id_annotation: Option<String>,
}

/// Splits policy text into statements at top-level `;`, skipping strings and `//` comments.
fn statements(src: &str) -> Vec<Statement> {
    let bytes = src.as_bytes();
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    if bytes[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
            }
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b';' => {
                out.push(Statement {
                    start,
                    end: i + 1,
                    id_annotation: id_annotation(&src[start..=i]),
                });
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    let start = start.min(src.len());
    if !src[start..].trim().is_empty() {
        out.push(Statement {
            start,
            end: src.len(),
            id_annotation: id_annotation(&src[start..]),
        });
    }
    out
}

/// Extracts the string value of an `@id("...")` annotation from one statement's text.
fn id_annotation(stmt: &str) -> Option<String> {
    let pos = stmt.find("@id")?;
    let rest = stmt[pos + 3..].trim_start();
    let rest = rest.strip_prefix('(')?.trim_start();
    let rest = rest.strip_prefix('"')?;
    let end = rest.find('"')?;
    Some(rest[..end].to_string())
}

/// Names the policy statement containing `offset`: `policy "<@id>"` or `policy "policyN"`.
pub fn policy_at(src: &str, offset: usize) -> String {
    let stmts = statements(src);
    let index = stmts
        .iter()
        .position(|s| offset >= s.start && offset < s.end)
        .unwrap_or_else(|| stmts.len().saturating_sub(1));
    match stmts.get(index).and_then(|s| s.id_annotation.clone()) {
        Some(id) => format!("policy \"{id}\""),
        None => format!("policy \"policy{index}\""),
    }
}

/// Formats `what at line L, column C: message` for a diagnostic located in `src`.
pub fn located(src: &str, what: &str, diag: &dyn Diagnostic) -> String {
    match first_offset(diag) {
        Some(offset) => {
            let at = line_col(src, offset);
            format!(
                "{what} at line {}, column {}: {}",
                at.line,
                at.column,
                describe(diag)
            )
        }
        None => format!("{what}: {}", describe(diag)),
    }
}

/// The raw text of a policy id (`Display` would escape it).
pub(crate) fn policy_id_text(id: &PolicyId) -> String {
    AsRef::<str>::as_ref(id).to_string()
}

/// `policy "<id>": <message>` for one evaluation error.
pub(crate) fn authorization_error_text(error: &AuthorizationError) -> String {
    match error {
        AuthorizationError::PolicyEvaluationError(e) => {
            format!(
                "policy \"{}\": {}",
                policy_id_text(e.policy_id()),
                e.inner()
            )
        }
    }
}
