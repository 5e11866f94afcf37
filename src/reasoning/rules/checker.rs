//! The independent proof checker.
//!
//! This file deliberately shares no evaluation code with the engine: it uses only the data
//! types and the parser, and has its own (small, obviously correct, slow) substitution,
//! matching, stratum levels and naive bottom-up least-model computation. A proof is accepted
//! only if every node checks:
//!
//! * a `fact` / `premise` leaf has no bindings, premises or absent literals, and its conclusion
//!   is one of the given facts (per-call premises are given to the checker as facts);
//! * a rule node names a known rule; its bindings bind exactly the rule's variables, each to a
//!   constant; the rule head under the bindings equals the conclusion; the premises' conclusions
//!   equal the positive body literals under the bindings, in order and in number; the `absent`
//!   list equals the negated body literals under the bindings, in order and in number; each
//!   absent atom is NOT in the least model; and every premise checks recursively.
//!
//! The least model used for an absence check covers the rules the negated predicate depends on
//! (directly or not); it is computed on first need by naive iteration, level by level, where a predicate's level is the least number with `level(head) >= level(q)` for a
//! positive body predicate `q` and `level(head) > level(q)` for a negated one; a rule set with
//! no such levels (recursion through negation) makes any absence claim invalid. Any failure is
//! [`ErrorCode::ProofInvalid`] with a message naming the node by its path from the root.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, OnceLock};

use parking_lot::Mutex;

use super::parser::{parse_atom, parse_constant, parse_program};
use super::proof::{Proof, FACT_RULE, PREMISE_RULE};
use super::syntax::{assign_rule_ids, is_lower_ident, is_number_literal, Atom, Rule, Term};
use crate::error::{err, Error, ErrorCode, Result};

/// A checker bound to one rule set and fact set; reusable for many proofs (the models needed
/// for absence checks are computed on first need and kept).
#[derive(Debug)]
pub struct ProofChecker {
    rules: Vec<Rule>,
    rule_index: HashMap<String, usize>,
    facts: Arc<HashSet<Atom>>,
    /// Predicate name -> level, or why the rules have no levels.
    levels: OnceLock<std::result::Result<HashMap<String, usize>, String>>,
    /// Predicate name -> least model of the rules that predicate depends on.
    models: Mutex<HashMap<String, Arc<HashSet<Atom>>>>,
}

type Bindings = HashMap<String, String>;

/// A proof node's bindings, read: variable -> constant value.
type NodeBindings<'a> = HashMap<&'a str, Cow<'a, str>>;

/// True if `pattern` under `bindings` is exactly the ground atom `ground`.
fn equals_instance(pattern: &Atom, bindings: &NodeBindings<'_>, ground: &Atom) -> bool {
    pattern.pred == ground.pred
        && pattern.args.len() == ground.args.len()
        && pattern.args.iter().zip(&ground.args).all(|(p, g)| {
            let value = match p {
                Term::Const(c) => c.as_str(),
                Term::Var(v) => match bindings.get(v.as_str()) {
                    Some(bound) => bound.as_ref(),
                    None => return false,
                },
            };
            matches!(g, Term::Const(gv) if gv == value)
        })
}

/// `pattern` under `bindings`, as text (unbound variables stay as they are).
fn instance_text(pattern: &Atom, bindings: &NodeBindings<'_>) -> String {
    let args = pattern
        .args
        .iter()
        .map(|t| match t {
            Term::Var(v) => bindings
                .get(v.as_str())
                .map_or_else(|| t.clone(), |c| Term::Const(c.to_string())),
            Term::Const(_) => t.clone(),
        })
        .collect();
    Atom::new(pattern.pred.clone(), args).to_string()
}

fn invalid<T>(message: String) -> Result<T> {
    err(ErrorCode::ProofInvalid, message)
}

/// Replaces variables by their bound constants; `None` if a variable is unbound.
fn substitute(atom: &Atom, bindings: &Bindings) -> Option<Atom> {
    let mut args = Vec::with_capacity(atom.args.len());
    for term in &atom.args {
        match term {
            Term::Const(c) => args.push(Term::Const(c.clone())),
            Term::Var(v) => args.push(Term::Const(bindings.get(v)?.clone())),
        }
    }
    Some(Atom {
        pred: atom.pred.clone(),
        args,
    })
}

/// Extends `bindings` so that `pattern` equals the ground atom `fact`, if possible.
fn match_fact(pattern: &Atom, fact: &Atom, bindings: &Bindings) -> Option<Bindings> {
    if pattern.pred != fact.pred || pattern.args.len() != fact.args.len() {
        return None;
    }
    let mut out = bindings.clone();
    for (p, f) in pattern.args.iter().zip(&fact.args) {
        let Term::Const(value) = f else { return None };
        match p {
            Term::Const(c) => {
                if c != value {
                    return None;
                }
            }
            Term::Var(v) => match out.get(v) {
                Some(bound) if bound != value => return None,
                Some(_) => {}
                None => {
                    out.insert(v.clone(), value.clone());
                }
            },
        }
    }
    Some(out)
}

/// Parses a node's ground conclusion (or a premise's / absent literal's text).
fn parse_ground(text: &str, what: impl Fn() -> String) -> Result<Atom> {
    let atom = parse_atom(text).map_err(|e| {
        Error::new(
            ErrorCode::ProofInvalid,
            format!("{}: `{text}` does not parse: {}", what(), e.message),
        )
    })?;
    if !atom.is_ground() {
        return invalid(format!("{}: `{text}` is not a ground atom", what()));
    }
    Ok(atom)
}

impl ProofChecker {
    /// Builds a checker for proofs over `rules` (with their ids assigned) and `facts`.
    pub fn new(rules: &[Rule], facts: &[Atom]) -> ProofChecker {
        ProofChecker::with_fact_set(rules, facts.iter().cloned().collect())
    }

    /// Like [`ProofChecker::new`], taking ownership of an already-built fact set.
    pub fn with_fact_set(rules: &[Rule], facts: HashSet<Atom>) -> ProofChecker {
        ProofChecker {
            rules: rules.to_vec(),
            rule_index: rules
                .iter()
                .enumerate()
                .map(|(i, r)| (r.id.clone(), i))
                .collect(),
            facts: Arc::new(facts),
            levels: OnceLock::new(),
            models: Mutex::new(HashMap::new()),
        }
    }

    /// True if the ground `atom` is in the least model of the checker's rules and facts
    /// (computed by the checker's own naive evaluation). `Err(ProofInvalid)` if the rules are
    /// not stratifiable.
    pub fn holds(&self, atom: &Atom) -> Result<bool> {
        let model = self
            .model_for(&atom.pred)
            .map_err(|m| Error::new(ErrorCode::ProofInvalid, m))?;
        Ok(model.contains(atom))
    }

    /// Checks a whole proof tree; `Err(ProofInvalid)` names the first bad node.
    pub fn check(&self, proof: &Proof) -> Result<()> {
        let conclusion = parse_ground(&proof.conclusion, || {
            format!("proof node root (`{}`): conclusion", proof.conclusion)
        })?;
        self.check_node(proof, &conclusion, &|| "root".to_string())
    }

    /// Checks `node`, whose conclusion has already been parsed into `conclusion`. `path`
    /// builds the node's path from the root only when an error needs it.
    fn check_node(&self, node: &Proof, conclusion: &Atom, path: &dyn Fn() -> String) -> Result<()> {
        let name = || format!("proof node {} (`{}`)", path(), node.conclusion);
        if node.rule == FACT_RULE || node.rule == PREMISE_RULE {
            if !node.bindings.is_empty() || !node.premises.is_empty() || !node.absent.is_empty() {
                return invalid(format!(
                    "{}: a `{}` leaf must have no bindings, premises or absent literals",
                    name(),
                    node.rule
                ));
            }
            if !self.facts.contains(conclusion) {
                return invalid(format!(
                    "{}: claims to be a {} but `{conclusion}` is not among the given facts",
                    name(),
                    node.rule
                ));
            }
            return Ok(());
        }
        let Some(&rule_pos) = self.rule_index.get(&node.rule) else {
            return invalid(format!("{}: unknown rule id `{}`", name(), node.rule));
        };
        let rule = &self.rules[rule_pos];
        let bindings = self.read_bindings(rule, &node.bindings, &name)?;
        if !equals_instance(&rule.head, &bindings, conclusion) {
            return invalid(format!(
                "{}: rule {} under the given bindings concludes `{}`, not `{conclusion}`",
                name(),
                rule.id,
                instance_text(&rule.head, &bindings)
            ));
        }
        let positives: Vec<&Atom> = rule.positive_body().collect();
        if positives.len() != node.premises.len() {
            return invalid(format!(
                "{}: rule {} has {} positive body literals but the node has {} premises",
                name(),
                rule.id,
                positives.len(),
                node.premises.len()
            ));
        }
        let mut premise_atoms = Vec::with_capacity(positives.len());
        for (i, (atom, premise)) in positives.iter().zip(&node.premises).enumerate() {
            let got = parse_ground(&premise.conclusion, || {
                format!("{}: premise {i} conclusion", name())
            })?;
            if !equals_instance(atom, &bindings, &got) {
                return invalid(format!(
                    "{}: premise {i} concludes `{got}` but rule {} needs `{}` there",
                    name(),
                    rule.id,
                    instance_text(atom, &bindings)
                ));
            }
            premise_atoms.push(got);
        }
        let negatives: Vec<&Atom> = rule.negative_body().collect();
        if negatives.len() != node.absent.len() {
            return invalid(format!(
                "{}: rule {} has {} negated literals but the node lists {} absent atoms",
                name(),
                rule.id,
                negatives.len(),
                node.absent.len()
            ));
        }
        for (i, (atom, text)) in negatives.iter().zip(&node.absent).enumerate() {
            let got = parse_ground(text, || format!("{}: absent literal {i}", name()))?;
            if !equals_instance(atom, &bindings, &got) {
                return invalid(format!(
                    "{}: absent literal {i} is `{got}` but rule {} negates `{}`",
                    name(),
                    rule.id,
                    instance_text(atom, &bindings)
                ));
            }
            let model = self.model_for(&got.pred).map_err(|m| {
                Error::new(
                    ErrorCode::ProofInvalid,
                    format!("{}: cannot check absence of `{got}`: {m}", name()),
                )
            })?;
            if model.contains(&got) {
                return invalid(format!(
                    "{}: `{got}` is claimed absent but it is derivable",
                    name()
                ));
            }
        }
        for (i, (premise, atom)) in node.premises.iter().zip(&premise_atoms).enumerate() {
            self.check_node(premise, atom, &|| format!("{}.premises[{i}]", path()))?;
        }
        Ok(())
    }

    fn read_bindings<'a>(
        &self,
        rule: &Rule,
        given: &'a BTreeMap<String, String>,
        name: &dyn Fn() -> String,
    ) -> Result<NodeBindings<'a>> {
        let variables = rule.variables();
        for v in &variables {
            if !given.contains_key(*v) {
                return invalid(format!(
                    "{}: variable {v} of rule {} is not bound",
                    name(),
                    rule.id
                ));
            }
        }
        let mut out = HashMap::with_capacity(given.len());
        for (var, value) in given {
            if !variables.contains(&var.as_str()) {
                return invalid(format!(
                    "{}: binding for {var}, which rule {} does not have",
                    name(),
                    rule.id
                ));
            }
            let constant = if is_lower_ident(value) || is_number_literal(value) {
                Cow::Borrowed(value.as_str())
            } else {
                Cow::Owned(parse_constant(value).map_err(|e| {
                    Error::new(
                        ErrorCode::ProofInvalid,
                        format!(
                            "{}: binding {var} = {value} is not a constant: {}",
                            name(),
                            e.message
                        ),
                    )
                })?)
            };
            out.insert(var.as_str(), constant);
        }
        Ok(out)
    }

    /// Level per predicate name: the least numbers with `level(head) >= level(q)` for each
    /// positive body predicate `q` and `level(head) > level(q)` for each negated one.
    fn levels(&self) -> std::result::Result<&HashMap<String, usize>, String> {
        self.levels
            .get_or_init(|| {
                let mut level: HashMap<String, usize> = HashMap::new();
                for rule in &self.rules {
                    level.insert(rule.head.pred.clone(), 0);
                    for lit in &rule.body {
                        level.insert(lit.atom.pred.clone(), 0);
                    }
                }
                let limit = level.len();
                loop {
                    let mut changed = false;
                    for rule in &self.rules {
                        for lit in &rule.body {
                            let need = level[&lit.atom.pred] + usize::from(lit.negated);
                            if level[&rule.head.pred] < need {
                                if need > limit {
                                    return Err(format!(
                                        "the rules are not stratifiable (recursion through \
                                         negation involving `{}`)",
                                        rule.head.pred
                                    ));
                                }
                                level.insert(rule.head.pred.clone(), need);
                                changed = true;
                            }
                        }
                    }
                    if !changed {
                        return Ok(level);
                    }
                }
            })
            .as_ref()
            .map_err(Clone::clone)
    }

    /// The least model of the rules that `pred` depends on (directly or not), over the facts.
    fn model_for(&self, pred: &str) -> std::result::Result<Arc<HashSet<Atom>>, String> {
        let levels = self.levels()?;
        if let Some(model) = self.models.lock().get(pred) {
            return Ok(Arc::clone(model));
        }
        // The predicates `pred` depends on.
        let mut needed: HashSet<&str> = HashSet::from([pred]);
        let mut grew = true;
        while grew {
            grew = false;
            for rule in &self.rules {
                if needed.contains(rule.head.pred.as_str()) {
                    for lit in &rule.body {
                        grew |= needed.insert(lit.atom.pred.as_str());
                    }
                }
            }
        }
        let rules: Vec<&Rule> = self
            .rules
            .iter()
            .filter(|r| needed.contains(r.head.pred.as_str()))
            .collect();
        let model = if rules.is_empty() {
            Arc::clone(&self.facts)
        } else {
            Arc::new(naive_least_model(&rules, levels, &self.facts))
        };
        self.models
            .lock()
            .insert(pred.to_string(), Arc::clone(&model));
        Ok(model)
    }
}

/// Naive bottom-up evaluation: level by level, apply every rule of the level to the whole model
/// until nothing new appears.
fn naive_least_model(
    rules: &[&Rule],
    levels: &HashMap<String, usize>,
    facts: &HashSet<Atom>,
) -> HashSet<Atom> {
    let mut model: HashSet<Atom> = facts.clone();
    let top = rules
        .iter()
        .map(|r| levels[&r.head.pred])
        .max()
        .unwrap_or(0);
    for level in 0..=top {
        let level_rules: Vec<&Rule> = rules
            .iter()
            .copied()
            .filter(|r| levels[&r.head.pred] == level)
            .collect();
        if level_rules.is_empty() {
            continue;
        }
        loop {
            let mut by_pred: HashMap<&str, Vec<&Atom>> = HashMap::new();
            for atom in &model {
                by_pred.entry(atom.pred.as_str()).or_default().push(atom);
            }
            let mut new_atoms: Vec<Atom> = Vec::new();
            for rule in &level_rules {
                let mut solutions = vec![Bindings::new()];
                for pattern in rule.positive_body() {
                    let candidates = by_pred.get(pattern.pred.as_str());
                    let mut next = Vec::new();
                    for b in &solutions {
                        for fact in candidates.into_iter().flatten() {
                            if let Some(extended) = match_fact(pattern, fact, b) {
                                next.push(extended);
                            }
                        }
                    }
                    solutions = next;
                }
                for b in &solutions {
                    let blocked = rule
                        .negative_body()
                        .any(|n| substitute(n, b).is_some_and(|g| model.contains(&g)));
                    if blocked {
                        continue;
                    }
                    if let Some(head) = substitute(&rule.head, b) {
                        if !model.contains(&head) {
                            new_atoms.push(head);
                        }
                    }
                }
            }
            if new_atoms.is_empty() {
                break;
            }
            model.extend(new_atoms);
        }
    }
    model
}

/// Checks `proof` against `rules` (ids assigned) and `facts` (stored facts plus any per-call
/// premises). `Err` with [`ErrorCode::ProofInvalid`] names the first node that does not check.
pub fn check_proof(proof: &Proof, rules: &[Rule], facts: &[Atom]) -> Result<()> {
    ProofChecker::new(rules, facts).check(proof)
}

/// Convenience form of [`check_proof`] on texts: `proof_json` is a serialized [`Proof`],
/// `rules_text` and `facts_text` use the rule syntax (rules without `@id` get `r1`, `r2`, ...
/// in order, as an engine that received this text first would assign; facts in `rules_text`
/// count as facts too).
pub fn check_proof_json(proof_json: &str, rules_text: &str, facts_text: &str) -> Result<()> {
    let proof: Proof = serde_json::from_str(proof_json).map_err(|e| {
        Error::new(
            ErrorCode::ProofInvalid,
            format!("proof JSON does not parse as a proof ({e}); expected {{\"conclusion\": ..., \"rule\": ..., \"bindings\": {{}}, \"premises\": [], \"absent\": []}}"),
        )
    })?;
    let mut program = parse_program(rules_text)?;
    assign_rule_ids(&mut program.rules, &[])?;
    let facts_program = parse_program(facts_text)?;
    if let Some(rule) = facts_program.rules.first() {
        return err(
            ErrorCode::RuleParse,
            format!("facts text must hold only ground facts, found rule `{rule}`"),
        );
    }
    let mut facts = program.facts;
    facts.extend(facts_program.facts);
    check_proof(&proof, &program.rules, &facts)
}
