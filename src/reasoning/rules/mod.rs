//! A runtime rule engine with proof objects and an independent proof checker.
//!
//! Rules are Horn clauses with stratified negation in a small text syntax
//! (`can_transfer(A, X) :- member(A, finance), approved(X), not frozen(X).`) or a JSON form.
//! The pieces, one per file:
//!
//! * [`syntax`]: terms, atoms, literals, rules; range restriction; rule ids; the JSON form.
//! * [`parser`]: the text syntax, with line/column errors.
//! * [`stratify`]: the predicate dependency graph, rejecting recursion through negation.
//! * `least_model`: semi-naive bottom-up evaluation per stratum that records one derivation per
//!   fact, so that a proof tree can be read back.
//! * `explain`: why a goal failed (the deepest failing subgoal of the best partial attempt).
//! * [`proof`]: the [`Proof`] tree and [`Theorem`] data types.
//! * [`checker`]: an independent checker that re-verifies proofs with its own matching and its
//!   own naive least-model computation (it shares only data types and the parser).
//! * [`prover`]: [`RuleEngine`], the thread-safe rule base with a cached model, which checks
//!   every proof before returning it and keeps the proved theorems.

pub mod checker;
mod explain;
mod least_model;
pub mod parser;
pub mod proof;
pub mod prover;
pub mod stratify;
pub mod syntax;

pub use checker::{check_proof, check_proof_json, ProofChecker};
pub use parser::{parse_atom, parse_fact, parse_program, Program};
pub use proof::{Proof, Theorem};
pub use prover::{ProveOptions, ProveOutcome, RuleEngine, MAX_PROOF_DEPTH};
pub use syntax::{parse_fact_json, parse_rule_json, Atom, Literal, Rule, Term};

#[cfg(test)]
mod tests;
