//! The text syntax of rules and facts: a hand-written lexer and recursive-descent parser.
//!
//! ```text
//! program  := clause*
//! clause   := ["@id" "(" name ")"] atom [":-" literal ("," literal)*] "."
//! literal  := ["not" | "\+"] atom
//! atom     := pred ["(" term ("," term)* ")"]
//! term     := Variable | constant          // Variable: [A-Z_][A-Za-z0-9_]*
//! constant := ident | number | "string"    // ident: [a-z][A-Za-z0-9_]*, number: -?[0-9]+(.[0-9]+)?
//! ```
//!
//! Comments run from `%` or `//` to the end of the line. A clause without a body whose head is
//! ground is a fact; any other clause is a rule, checked for range restriction. Every `_` is a
//! fresh anonymous variable (named `_#1`, `_#2`, ... inside its rule). Errors carry the line and
//! column (1-based) and say what was expected.

use super::syntax::{Atom, Literal, Rule, Term};
use crate::error::{err, Error, ErrorCode, Result};

/// The clauses of a parsed text: rules (ids empty unless given with `@id`) and ground facts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Program {
    /// The rules, in source order.
    pub rules: Vec<Rule>,
    /// The facts (ground bodyless clauses), in source order.
    pub facts: Vec<Atom>,
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Var(String),
    Num(String),
    Str(String),
    LParen,
    RParen,
    Comma,
    Dot,
    Implies,
    At,
    NegOp,
    Eof,
}

impl Tok {
    fn describe(&self) -> String {
        match self {
            Tok::Ident(s) => format!("identifier `{s}`"),
            Tok::Var(s) => format!("variable `{s}`"),
            Tok::Num(s) => format!("number `{s}`"),
            Tok::Str(_) => "a string".to_string(),
            Tok::LParen => "`(`".to_string(),
            Tok::RParen => "`)`".to_string(),
            Tok::Comma => "`,`".to_string(),
            Tok::Dot => "`.`".to_string(),
            Tok::Implies => "`:-`".to_string(),
            Tok::At => "`@`".to_string(),
            Tok::NegOp => "`\\+`".to_string(),
            Tok::Eof => "end of input".to_string(),
        }
    }
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    line: usize,
    col: usize,
}

fn parse_error<T>(line: usize, col: usize, message: impl std::fmt::Display) -> Result<T> {
    err(
        ErrorCode::RuleParse,
        format!("line {line}, column {col}: {message}"),
    )
}

fn lex(text: &str) -> Result<Vec<Token>> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let (mut i, mut line, mut col) = (0usize, 1usize, 1usize);
    let ident_char = |c: char| c.is_ascii_alphanumeric() || c == '_';
    while i < chars.len() {
        let c = chars[i];
        let (tline, tcol) = (line, col);
        let start = i;
        let push = |out: &mut Vec<Token>, tok| {
            out.push(Token {
                tok,
                line: tline,
                col: tcol,
            })
        };
        if c == '\n' {
            i += 1;
            line += 1;
            col = 1;
            continue;
        }
        if c.is_whitespace() {
            i += 1;
            col += 1;
            continue;
        }
        if c == '%' || (c == '/' && chars.get(i + 1) == Some(&'/')) {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
            continue;
        }
        if c.is_ascii_alphabetic() || c == '_' {
            while i < chars.len() && ident_char(chars[i]) {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            col += i - start;
            let tok = if c.is_ascii_lowercase() {
                Tok::Ident(word)
            } else {
                Tok::Var(word)
            };
            push(&mut out, tok);
            continue;
        }
        let digit_at = |k: usize| chars.get(k).is_some_and(|d| d.is_ascii_digit());
        if c.is_ascii_digit() || (c == '-' && digit_at(i + 1)) {
            i += 1;
            while digit_at(i) {
                i += 1;
            }
            if chars.get(i) == Some(&'.') && digit_at(i + 1) {
                i += 1;
                while digit_at(i) {
                    i += 1;
                }
            }
            if i < chars.len() && (chars[i].is_ascii_alphabetic() || chars[i] == '_') {
                return parse_error(
                    line,
                    col + (i - start),
                    format!(
                        "expected a separator after number, found `{}`; quote mixed constants like \"{}{}\"",
                        chars[i],
                        chars[start..i].iter().collect::<String>(),
                        chars[i]
                    ),
                );
            }
            col += i - start;
            push(&mut out, Tok::Num(chars[start..i].iter().collect()));
            continue;
        }
        if c == '"' {
            let mut value = String::new();
            i += 1;
            col += 1;
            loop {
                match chars.get(i) {
                    None | Some('\n') => {
                        return parse_error(
                            tline,
                            tcol,
                            "expected closing `\"` of the string on the same line",
                        )
                    }
                    Some('"') => {
                        i += 1;
                        col += 1;
                        break;
                    }
                    Some('\\') => {
                        let escaped = match chars.get(i + 1) {
                            Some('"') => '"',
                            Some('\\') => '\\',
                            Some('n') => '\n',
                            Some('t') => '\t',
                            Some('r') => '\r',
                            other => {
                                return parse_error(
                                    line,
                                    col,
                                    format!(
                                        "expected an escape \\\" \\\\ \\n \\t or \\r, found {}",
                                        other.map_or("end of input".to_string(), |c| format!(
                                            "\\{c}"
                                        ))
                                    ),
                                )
                            }
                        };
                        value.push(escaped);
                        i += 2;
                        col += 2;
                    }
                    Some(&ch) => {
                        value.push(ch);
                        i += 1;
                        col += 1;
                    }
                }
            }
            push(&mut out, Tok::Str(value));
            continue;
        }
        let two: String = chars[i..(i + 2).min(chars.len())].iter().collect();
        let (tok, len) = match (c, two.as_str()) {
            (_, ":-") => (Tok::Implies, 2),
            (_, "\\+") => (Tok::NegOp, 2),
            ('(', _) => (Tok::LParen, 1),
            (')', _) => (Tok::RParen, 1),
            (',', _) => (Tok::Comma, 1),
            ('.', _) => (Tok::Dot, 1),
            ('@', _) => (Tok::At, 1),
            _ => {
                return parse_error(
                    line,
                    col,
                    format!(
                        "unexpected character `{c}`; expected an atom, a term, `(`, `)`, `,`, `:-` or `.`"
                    ),
                )
            }
        };
        i += len;
        col += len;
        push(&mut out, tok);
    }
    out.push(Token {
        tok: Tok::Eof,
        line,
        col,
    });
    Ok(out)
}

struct Parser {
    toks: Vec<Token>,
    pos: usize,
    anon: usize,
}

impl Parser {
    fn new(text: &str) -> Result<Parser> {
        Ok(Parser {
            toks: lex(text)?,
            pos: 0,
            anon: 0,
        })
    }

    fn peek(&self) -> &Token {
        // `lex` always ends the stream with `Eof`, and `bump` never moves past it.
        &self.toks[self.pos.min(self.toks.len() - 1)]
    }

    fn peek_at(&self, ahead: usize) -> &Tok {
        &self.toks[(self.pos + ahead).min(self.toks.len() - 1)].tok
    }

    fn bump(&mut self) -> Token {
        let t = self.peek().clone();
        if t.tok != Tok::Eof {
            self.pos += 1;
        }
        t
    }

    fn expected<T>(&self, what: &str) -> Result<T> {
        let t = self.peek();
        parse_error(
            t.line,
            t.col,
            format!("expected {what}, found {}", t.tok.describe()),
        )
    }

    fn expect(&mut self, tok: Tok, what: &str) -> Result<Token> {
        if self.peek().tok == tok {
            Ok(self.bump())
        } else {
            self.expected(what)
        }
    }

    fn term(&mut self) -> Result<Term> {
        match self.peek().tok.clone() {
            Tok::Var(v) => {
                self.bump();
                if v == "_" {
                    self.anon += 1;
                    Ok(Term::Var(format!("_#{}", self.anon)))
                } else {
                    Ok(Term::Var(v))
                }
            }
            Tok::Ident(s) | Tok::Num(s) | Tok::Str(s) => {
                self.bump();
                Ok(Term::Const(s))
            }
            _ => self.expected("a term (a Variable, an identifier, a number or a \"string\")"),
        }
    }

    fn atom(&mut self) -> Result<Atom> {
        let pred = match self.peek().tok.clone() {
            Tok::Ident(p) => {
                self.bump();
                p
            }
            Tok::Var(v) => {
                return self.expected(&format!(
                    "a predicate name (lowercase identifier; `{v}` starts like a variable)"
                ))
            }
            _ => return self.expected("a predicate name (lowercase identifier)"),
        };
        let mut args = Vec::new();
        if self.peek().tok == Tok::LParen {
            self.bump();
            loop {
                args.push(self.term()?);
                match self.peek().tok {
                    Tok::Comma => {
                        self.bump();
                    }
                    Tok::RParen => {
                        self.bump();
                        break;
                    }
                    _ => return self.expected("`,` or `)` in the argument list"),
                }
            }
        }
        Ok(Atom::new(pred, args))
    }

    fn literal(&mut self) -> Result<Literal> {
        let negated = match (&self.peek().tok, self.peek_at(1)) {
            (Tok::NegOp, _) => {
                self.bump();
                true
            }
            (Tok::Ident(w), Tok::Ident(_)) if w == "not" => {
                self.bump();
                true
            }
            _ => false,
        };
        Ok(Literal {
            atom: self.atom()?,
            negated,
        })
    }

    fn rule_id(&mut self) -> Result<String> {
        self.expect(Tok::At, "`@`")?;
        match &self.peek().tok {
            Tok::Ident(w) if w == "id" => {
                self.bump();
            }
            _ => return self.expected("`id` after `@` (as in `@id(name)`)"),
        }
        self.expect(Tok::LParen, "`(` after `@id`")?;
        let id = match self.peek().tok.clone() {
            Tok::Ident(s) | Tok::Var(s) | Tok::Num(s) | Tok::Str(s) if !s.trim().is_empty() => {
                self.bump();
                s
            }
            _ => return self.expected("a rule name inside `@id(...)`"),
        };
        self.expect(Tok::RParen, "`)` closing `@id(...)`")?;
        Ok(id)
    }

    fn program(&mut self) -> Result<Program> {
        let mut program = Program::default();
        while self.peek().tok != Tok::Eof {
            let start = self.peek().clone();
            let id = if start.tok == Tok::At {
                Some(self.rule_id()?)
            } else {
                None
            };
            self.anon = 0;
            let head = self.atom()?;
            let mut body = Vec::new();
            match self.peek().tok {
                Tok::Implies => {
                    self.bump();
                    loop {
                        body.push(self.literal()?);
                        match self.peek().tok {
                            Tok::Comma => {
                                self.bump();
                            }
                            Tok::Dot => break,
                            _ => return self.expected("`,` or `.` after a body literal"),
                        }
                    }
                }
                Tok::Dot => {}
                _ => return self.expected("`:-` or `.` after the clause head"),
            }
            self.expect(Tok::Dot, "`.` ending the clause")?;
            if body.is_empty() && id.is_none() && head.is_ground() {
                program.facts.push(head);
                continue;
            }
            let rule = Rule {
                id: id.unwrap_or_default(),
                head,
                body,
            };
            rule.validate(&format!("line {}, column {}: ", start.line, start.col))?;
            program.rules.push(rule);
        }
        Ok(program)
    }
}

/// Parses a program text into rules and facts. Rule ids are empty unless given with `@id`; see
/// [`super::syntax::assign_rule_ids`].
pub fn parse_program(text: &str) -> Result<Program> {
    Parser::new(text)?.program()
}

/// Parses a single atom (variables allowed), with or without a trailing `.`.
pub fn parse_atom(text: &str) -> Result<Atom> {
    if text.trim().is_empty() {
        return err(
            ErrorCode::RuleParse,
            "empty atom text; expected something like `member(alice, finance)`",
        );
    }
    let mut p = Parser::new(text)?;
    let atom = p.atom()?;
    if p.peek().tok == Tok::Dot {
        p.bump();
    }
    if p.peek().tok != Tok::Eof {
        return p.expected("end of input after the atom");
    }
    Ok(atom)
}

/// Parses a ground atom (a fact), with or without a trailing `.`.
pub fn parse_fact(text: &str) -> Result<Atom> {
    let atom = parse_atom(text)?;
    atom.validate_fact()?;
    Ok(atom)
}

/// Parses a single term: a variable, an identifier, a number or a quoted string.
pub fn parse_term(text: &str) -> Result<Term> {
    let mut p = Parser::new(text)?;
    let term = p.term()?;
    if p.peek().tok != Tok::Eof {
        return p.expected("end of input after the term");
    }
    Ok(term)
}

/// Parses a constant (identifier, number or quoted string) and returns its value.
pub fn parse_constant(text: &str) -> Result<String> {
    match parse_term(text) {
        Ok(Term::Const(v)) => Ok(v),
        Ok(Term::Var(v)) => err(
            ErrorCode::RuleParse,
            format!("expected a constant, found variable `{v}`"),
        ),
        Err(e) => Err(Error::new(
            ErrorCode::RuleParse,
            format!("expected a constant: {}", e.message),
        )),
    }
}
