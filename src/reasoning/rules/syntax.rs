//! The rule language's data types: terms, atoms, literals and rules.
//!
//! A [`Term`] is a variable (`X`, `_Tmp`) or a constant. Constants are stored by *value*:
//! `alice`, `42` and `"alice"` are written differently but `alice` and `"alice"` are the same
//! constant. [`Term`]'s `Display` writes a constant bare when it is a lowercase identifier or a
//! number and double-quoted (with `\"`/`\\` escapes) otherwise, so displayed text always parses
//! back to the same term.
//!
//! This file also holds the checks every rule must pass whatever syntax it came from (range
//! restriction, reserved ids) and the JSON form of rules and facts:
//! `{"id": "r1", "head": {"pred": "p", "args": ["X", "a"]}, "body": [{"pred": "q", "args": ["X"],
//! "negated": false}]}` and facts `{"pred": "p", "args": ["a"]}`. In JSON a string argument that
//! reads as one term (`"X"`, `"a"`, `"42"`, `"\"Bob\""`) is that term; any other string
//! (`"tx-1"`, `"hello world"`) is a constant with exactly that value; JSON numbers are constants.

use std::collections::HashSet;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::{err, json_error_text, ErrorCode, Result};

/// Rule ids that name proof leaves and so cannot be used for rules.
pub const RESERVED_RULE_IDS: [&str; 2] = ["fact", "premise"];

/// A term: a variable or a constant.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Term {
    /// A variable; its name starts with an uppercase letter or `_`.
    Var(String),
    /// A constant, stored by value (without quotes).
    Const(String),
}

impl Term {
    /// Builds a constant term.
    pub fn constant(value: impl Into<String>) -> Term {
        Term::Const(value.into())
    }

    /// Builds a variable term.
    pub fn var(name: impl Into<String>) -> Term {
        Term::Var(name.into())
    }

    /// True for variables.
    pub fn is_var(&self) -> bool {
        matches!(self, Term::Var(_))
    }
}

impl fmt::Display for Term {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // Anonymous variables are renamed `_#n` by the parser; they print as `_`.
            Term::Var(name) if name.starts_with("_#") => f.write_str("_"),
            Term::Var(name) => f.write_str(name),
            Term::Const(value) => f.write_str(&constant_text(value)),
        }
    }
}

/// True if `s` is a lowercase identifier: `[a-z][A-Za-z0-9_]*`.
pub fn is_lower_ident(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// True if `s` is a number literal: `-?[0-9]+(\.[0-9]+)?`.
pub fn is_number_literal(s: &str) -> bool {
    let digits = s.strip_prefix('-').unwrap_or(s);
    let (int, frac) = match digits.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (digits, None),
    };
    let all_digits = |p: &str| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit());
    all_digits(int) && frac.is_none_or(all_digits)
}

/// The source text of a constant: bare if it is an identifier or number, quoted otherwise.
pub fn constant_text(value: &str) -> String {
    if is_lower_ident(value) || is_number_literal(value) {
        return value.to_string();
    }
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// An atom `pred(arg, ...)`; a ground atom (no variables) is a fact.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Atom {
    /// The predicate name (a lowercase identifier).
    pub pred: String,
    /// The arguments.
    pub args: Vec<Term>,
}

impl Atom {
    /// Builds an atom.
    pub fn new(pred: impl Into<String>, args: Vec<Term>) -> Atom {
        Atom {
            pred: pred.into(),
            args,
        }
    }

    /// Builds a ground atom whose arguments are the given constant values.
    pub fn fact(pred: impl Into<String>, values: &[&str]) -> Atom {
        Atom::new(pred, values.iter().map(|v| Term::constant(*v)).collect())
    }

    /// True when no argument is a variable.
    pub fn is_ground(&self) -> bool {
        self.args.iter().all(|t| !t.is_var())
    }

    /// The variable names of this atom, in order of first appearance.
    pub fn variables(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for t in &self.args {
            if let Term::Var(v) = t {
                if !out.contains(&v.as_str()) {
                    out.push(v);
                }
            }
        }
        out
    }

    /// Checks that this atom can be stored as a fact: a valid predicate and no variables.
    pub fn validate_fact(&self) -> Result<()> {
        if !is_lower_ident(&self.pred) {
            return err(
                ErrorCode::RuleParse,
                format!(
                    "fact predicate `{}` must be a lowercase identifier like `member`",
                    self.pred
                ),
            );
        }
        if let Some(v) = self.variables().first() {
            return err(
                ErrorCode::RuleParse,
                format!("fact `{self}` is not ground: variable {v} must be replaced by a constant"),
            );
        }
        Ok(())
    }
}

impl fmt::Display for Atom {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.pred)?;
        if !self.args.is_empty() {
            f.write_str("(")?;
            for (i, t) in self.args.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                write!(f, "{t}")?;
            }
            f.write_str(")")?;
        }
        Ok(())
    }
}

/// A body literal: an atom, possibly negated (`not p(X)`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Literal {
    /// The atom tested (negated when `negated`).
    pub atom: Atom,
    /// True for `not atom`.
    pub negated: bool,
}

impl fmt::Display for Literal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.negated {
            f.write_str("not ")?;
        }
        write!(f, "{}", self.atom)
    }
}

/// A Horn clause with stratified negation: `head :- body.`
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Rule {
    /// The stable id (`@id(name)` or assigned `r<n>`); empty until assigned.
    pub id: String,
    /// The conclusion.
    pub head: Atom,
    /// The conditions, in source order.
    pub body: Vec<Literal>,
}

impl Rule {
    /// All variable names of the rule in order of first appearance (head first, then body).
    pub fn variables(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        let atoms = std::iter::once(&self.head).chain(self.body.iter().map(|l| &l.atom));
        for atom in atoms {
            for v in atom.variables() {
                if !out.contains(&v) {
                    out.push(v);
                }
            }
        }
        out
    }

    /// The positive body atoms, in source order.
    pub fn positive_body(&self) -> impl Iterator<Item = &Atom> {
        self.body.iter().filter(|l| !l.negated).map(|l| &l.atom)
    }

    /// The negated body atoms, in source order.
    pub fn negative_body(&self) -> impl Iterator<Item = &Atom> {
        self.body.iter().filter(|l| l.negated).map(|l| &l.atom)
    }

    /// Checks predicate names and range restriction: every head variable and every variable of
    /// a negated literal must occur in a positive body literal. `location` prefixes messages.
    pub fn validate(&self, location: &str) -> Result<()> {
        let name = if self.id.is_empty() {
            format!("rule `{self}`")
        } else {
            format!("rule {} (`{self}`)", self.id)
        };
        for atom in std::iter::once(&self.head).chain(self.body.iter().map(|l| &l.atom)) {
            if !is_lower_ident(&atom.pred) {
                return err(
                    ErrorCode::RuleParse,
                    format!(
                        "{location}{name}: predicate `{}` must be a lowercase identifier",
                        atom.pred
                    ),
                );
            }
        }
        let positive: HashSet<&str> = self.positive_body().flat_map(|a| a.variables()).collect();
        for v in self.head.variables() {
            if !positive.contains(v) {
                return err(
                    ErrorCode::RuleParse,
                    format!(
                        "{location}{name} is not range-restricted: head variable {v} does not \
                         occur in any positive body literal; add a positive condition that binds {v}"
                    ),
                );
            }
        }
        for lit in self.body.iter().filter(|l| l.negated) {
            for v in lit.atom.variables() {
                if !positive.contains(v) {
                    return err(
                        ErrorCode::RuleParse,
                        format!(
                            "{location}{name} is not range-restricted: variable {v} of negated \
                             literal `{lit}` does not occur in any positive body literal; bind {v} \
                             in a positive condition first"
                        ),
                    );
                }
            }
        }
        Ok(())
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.id.is_empty() {
            write!(f, "@id({}) ", constant_text(&self.id))?;
        }
        write!(f, "{}", self.head)?;
        if !self.body.is_empty() {
            f.write_str(" :- ")?;
            for (i, l) in self.body.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                write!(f, "{l}")?;
            }
        }
        f.write_str(".")
    }
}

/// Fills empty rule ids with `r<n>` (n counting on from `existing.len() + 1`, skipping taken
/// ids) and rejects duplicate or reserved ids.
pub fn assign_rule_ids(new_rules: &mut [Rule], existing: &[Rule]) -> Result<()> {
    let mut taken: HashSet<String> = existing.iter().map(|r| r.id.clone()).collect();
    for rule in new_rules.iter() {
        if rule.id.is_empty() {
            continue;
        }
        if RESERVED_RULE_IDS.contains(&rule.id.as_str()) {
            return err(
                ErrorCode::RuleParse,
                format!(
                    "rule id `{}` is reserved for proof leaves; choose another @id",
                    rule.id
                ),
            );
        }
        if !taken.insert(rule.id.clone()) {
            return err(
                ErrorCode::RuleParse,
                format!(
                    "duplicate rule id `{}`; every rule needs a distinct @id",
                    rule.id
                ),
            );
        }
    }
    let mut next = existing.len() + 1;
    for rule in new_rules.iter_mut().filter(|r| r.id.is_empty()) {
        while taken.contains(&format!("r{next}")) {
            next += 1;
        }
        rule.id = format!("r{next}");
        taken.insert(rule.id.clone());
        next += 1;
    }
    Ok(())
}

/// JSON form of an atom: `{"pred": "p", "args": ["X", "a", 3]}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AtomJson {
    /// Predicate name.
    pub pred: String,
    /// Arguments: strings (a term, or a constant value) and numbers.
    #[serde(default)]
    pub args: Vec<serde_json::Value>,
}

/// JSON form of a body literal: an atom plus `negated` (default `false`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LiteralJson {
    /// Predicate name.
    pub pred: String,
    /// Arguments, as in [`AtomJson`].
    #[serde(default)]
    pub args: Vec<serde_json::Value>,
    /// True for a negated literal.
    #[serde(default)]
    pub negated: bool,
}

/// JSON form of a rule: `{"id": "r1", "head": {...}, "body": [...]}` (`id` optional).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RuleJson {
    /// Optional stable id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The conclusion.
    pub head: AtomJson,
    /// The conditions.
    #[serde(default)]
    pub body: Vec<LiteralJson>,
}

fn json_term(value: &serde_json::Value, ground: bool, context: &str) -> Result<Term> {
    match value {
        serde_json::Value::String(s) => {
            if s.is_empty() {
                return err(
                    ErrorCode::RuleParse,
                    format!("{context}: empty string argument; use a variable name or a constant"),
                );
            }
            // In a fact every string is a constant, even one that looks like a variable.
            match super::parser::parse_term(s) {
                Ok(Term::Var(_)) if ground => Ok(Term::Const(s.clone())),
                Ok(term) => Ok(term),
                Err(_) => Ok(Term::Const(s.clone())),
            }
        }
        serde_json::Value::Number(n) => {
            let text = n.to_string();
            if n.as_f64().is_none_or(|f| f.is_finite()) {
                Ok(Term::Const(text))
            } else {
                err(
                    ErrorCode::RuleParse,
                    format!("{context}: number {text} is not finite"),
                )
            }
        }
        serde_json::Value::Bool(b) => Ok(Term::Const(b.to_string())),
        other => err(
            ErrorCode::RuleParse,
            format!("{context}: argument {other} must be a string or a number"),
        ),
    }
}

fn json_atom(pred: &str, args: &[serde_json::Value], ground: bool, context: &str) -> Result<Atom> {
    if !is_lower_ident(pred) {
        return err(
            ErrorCode::RuleParse,
            format!("{context}: predicate `{pred}` must be a lowercase identifier like `member`"),
        );
    }
    let args = args
        .iter()
        .enumerate()
        .map(|(i, v)| json_term(v, ground, &format!("{context} argument {}", i + 1)))
        .collect::<Result<Vec<_>>>()?;
    Ok(Atom::new(pred, args))
}

fn term_json(t: &Term) -> serde_json::Value {
    serde_json::Value::String(t.to_string())
}

impl From<&Atom> for AtomJson {
    fn from(a: &Atom) -> Self {
        AtomJson {
            pred: a.pred.clone(),
            args: a.args.iter().map(term_json).collect(),
        }
    }
}

impl From<&Rule> for RuleJson {
    fn from(r: &Rule) -> Self {
        RuleJson {
            id: (!r.id.is_empty()).then(|| r.id.clone()),
            head: AtomJson::from(&r.head),
            body: r
                .body
                .iter()
                .map(|l| LiteralJson {
                    pred: l.atom.pred.clone(),
                    args: l.atom.args.iter().map(term_json).collect(),
                    negated: l.negated,
                })
                .collect(),
        }
    }
}

impl Serialize for Rule {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        RuleJson::from(self).serialize(s)
    }
}

impl Serialize for Atom {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        AtomJson::from(self).serialize(s)
    }
}

/// Parses one rule in JSON form; the id stays empty when absent. The rule is range-checked.
pub fn parse_rule_json(json: &str) -> Result<Rule> {
    let parsed: RuleJson = serde_json::from_str(json).map_err(|e| {
        crate::error::Error::new(
            ErrorCode::RuleParse,
            format!(
                "rule JSON does not parse ({}); expected {{\"head\": {{\"pred\": \"p\", \"args\": \
                 [\"X\"]}}, \"body\": [{{\"pred\": \"q\", \"args\": [\"X\"], \"negated\": false}}], \
                 \"id\": \"r1\"}}",
                json_error_text(&e)
            ),
        )
    })?;
    let id = parsed.id.unwrap_or_default();
    if id.trim().is_empty() && !id.is_empty() {
        return err(ErrorCode::RuleParse, "rule JSON: `id` must not be blank");
    }
    let head = json_atom(
        &parsed.head.pred,
        &parsed.head.args,
        false,
        "rule JSON head",
    )?;
    let body = parsed
        .body
        .iter()
        .enumerate()
        .map(|(i, l)| {
            Ok(Literal {
                atom: json_atom(
                    &l.pred,
                    &l.args,
                    false,
                    &format!("rule JSON body literal {}", i + 1),
                )?,
                negated: l.negated,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let rule = Rule { id, head, body };
    rule.validate("rule JSON: ")?;
    Ok(rule)
}

/// Parses one ground fact in JSON form `{"pred": "p", "args": ["a"]}`.
pub fn parse_fact_json(json: &str) -> Result<Atom> {
    let parsed: AtomJson = serde_json::from_str(json).map_err(|e| {
        crate::error::Error::new(
            ErrorCode::RuleParse,
            format!(
                "fact JSON does not parse ({}); expected {{\"pred\": \"p\", \"args\": [\"a\"]}}",
                json_error_text(&e)
            ),
        )
    })?;
    let atom = json_atom(&parsed.pred, &parsed.args, true, "fact JSON")?;
    atom.validate_fact()?;
    Ok(atom)
}
