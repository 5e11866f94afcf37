//! [`RuleEngine`]: the shared, thread-safe rule base and prover.
//!
//! The engine holds rules (kept stratifiable at all times: a rule that would break
//! stratification is rejected and nothing changes) and stored ground facts. Proving works on a
//! materialised model (semi-naive evaluation with recorded derivations) that is built on first
//! need and cached in an
//! `Arc` snapshot together with a [`ProofChecker`] for the same rules and facts; any change
//! (assert, retract, add or remove a rule) drops the snapshot. A goal with per-call premises or
//! extra rules builds a fresh overlay snapshot for that call only (while it is built, the
//! engine's read lock is held, so writers wait).
//!
//! Every proof is read back from the model's recorded derivations and run through the
//! independent checker before it is returned; a proof that does not check is an engine bug
//! and surfaces as [`ErrorCode::Internal`]. Proved statements are kept as [`Theorem`]s,
//! deduplicated by id, up to [`MAX_THEOREMS`] (the oldest are dropped first).

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::sync::Arc;

use parking_lot::{Mutex, RwLock};
use serde::{Deserialize, Serialize};

use super::checker::ProofChecker;
use super::explain::explain_failure;
use super::least_model::{FactId, Model};
use super::parser::{parse_atom, parse_fact, parse_program};
use super::proof::{Proof, Theorem};
use super::stratify::{stratify, Stratum};
use super::syntax::{assign_rule_ids, parse_fact_json, parse_rule_json, Atom, Rule};
use crate::error::{err, Error, ErrorCode, Result};

/// Upper bound accepted for [`ProveOptions::max_depth`] (proof trees are built and checked
/// recursively, so their depth is bounded to keep the stack small).
pub const MAX_PROOF_DEPTH: usize = 1000;
/// Proofs with more nodes than this are not built (the tree of a DAG can be exponential).
pub const MAX_PROOF_NODES: u32 = 100_000;
/// How many theorems the engine keeps; the oldest are dropped first.
pub const MAX_THEOREMS: usize = 10_000;

/// Options of one [`RuleEngine::prove`] call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ProveOptions {
    /// Extra ground facts for this call only, e.g. `"approved(tx1)"`.
    pub premises: Vec<String>,
    /// Extra rule texts for this call only (facts in them count as premises).
    pub rules: Vec<String>,
    /// Maximum proof height (rule applications on the longest path), at most
    /// [`MAX_PROOF_DEPTH`]. Default 64.
    pub max_depth: usize,
}

impl Default for ProveOptions {
    fn default() -> Self {
        ProveOptions {
            premises: Vec::new(),
            rules: Vec::new(),
            max_depth: 64,
        }
    }
}

/// The result of [`RuleEngine::prove`]. JSON: `{"status": "proved", ...proof fields}` or
/// `{"status": "failed", "goal": ..., "reason": ..., "failedSubgoals": [...]}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "camelCase")]
pub enum ProveOutcome {
    /// The goal (or its first solution) holds; the proof has been checked.
    Proved(Proof),
    /// The goal could not be established.
    Failed {
        /// The goal as given (normalised).
        goal: String,
        /// A sentence explaining the failure.
        reason: String,
        /// The failing subgoals, outermost first, deepest last.
        #[serde(rename = "failedSubgoals")]
        failed_subgoals: Vec<String>,
    },
}

impl ProveOutcome {
    /// The proof, if proved.
    pub fn proof(&self) -> Option<&Proof> {
        match self {
            ProveOutcome::Proved(p) => Some(p),
            ProveOutcome::Failed { .. } => None,
        }
    }

    /// True when proved.
    pub fn is_proved(&self) -> bool {
        matches!(self, ProveOutcome::Proved(_))
    }
}

/// A materialised model with the matching checker, for one version of rules and facts.
struct Snapshot {
    rules: Vec<Rule>,
    model: Model,
    checker: ProofChecker,
    /// Facts whose theorem is already stored (skips re-hashing on repeated proofs).
    stored: Mutex<HashSet<FactId>>,
}

impl Snapshot {
    fn build(
        rules: Vec<Rule>,
        strata: &[Stratum],
        facts: &BTreeSet<Atom>,
        premises: Vec<Atom>,
    ) -> Snapshot {
        let model = Model::build(&rules, strata, facts, &premises);
        let checker_facts: HashSet<Atom> = facts.iter().cloned().chain(premises).collect();
        let checker = ProofChecker::with_fact_set(&rules, checker_facts);
        Snapshot {
            rules,
            model,
            checker,
            stored: Mutex::new(HashSet::new()),
        }
    }
}

#[derive(Default)]
struct State {
    rules: Vec<Rule>,
    strata: Vec<Stratum>,
    facts: BTreeSet<Atom>,
    /// Facts kept in step with an outside source (the knowledge graph): replaced as a whole by
    /// [`RuleEngine::set_layer`], never touched by `assert`/`retract`.
    layer: BTreeSet<Atom>,
    snapshot: Option<Arc<Snapshot>>,
}

impl State {
    /// Stored facts and layer facts together (what proofs are built from).
    fn all_facts(&self) -> std::borrow::Cow<'_, BTreeSet<Atom>> {
        if self.layer.is_empty() {
            std::borrow::Cow::Borrowed(&self.facts)
        } else {
            let mut all = self.facts.clone();
            all.extend(self.layer.iter().cloned());
            std::borrow::Cow::Owned(all)
        }
    }
}

#[derive(Default)]
struct TheoremStore {
    order: VecDeque<String>,
    by_id: HashMap<String, Theorem>,
}

/// The rule engine: rules, facts, proving and stored theorems. `Send + Sync`; share it in an
/// `Arc`.
#[derive(Default)]
pub struct RuleEngine {
    state: RwLock<State>,
    theorems: RwLock<TheoremStore>,
}

impl std::fmt::Debug for RuleEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self.state.read();
        f.debug_struct("RuleEngine")
            .field("rules", &state.rules.len())
            .field("facts", &state.facts.len())
            .field("theorems", &self.theorems.read().order.len())
            .finish()
    }
}

impl RuleEngine {
    /// An empty engine.
    pub fn new() -> RuleEngine {
        RuleEngine::default()
    }

    /// Adds the rules and facts of a program text; returns the ids of the added rules. All or
    /// nothing: on any error (syntax, range restriction, duplicate id, recursion through
    /// negation) the engine is unchanged.
    pub fn add_rules(&self, text: &str) -> Result<Vec<String>> {
        if text.trim().is_empty() {
            return err(
                ErrorCode::RuleParse,
                "the rule text is empty; expected clauses like `p(X) :- q(X).`",
            );
        }
        let program = parse_program(text)?;
        if program.rules.is_empty() && program.facts.is_empty() {
            return err(
                ErrorCode::RuleParse,
                "the rule text holds only comments; expected clauses like `p(X) :- q(X).`",
            );
        }
        self.commit(program.rules, program.facts)
    }

    /// Adds one rule in JSON form (see [`super::syntax`]); returns its id.
    pub fn add_rule_json(&self, json: &str) -> Result<String> {
        let rule = parse_rule_json(json)?;
        let ids = self.commit(vec![rule], Vec::new())?;
        ids.into_iter()
            .next()
            .ok_or_else(|| Error::new(ErrorCode::Internal, "added rule has no id"))
    }

    /// Adds a JSON array of rules in JSON form, all or nothing; returns their ids.
    pub fn add_rules_json(&self, json: &str) -> Result<Vec<String>> {
        let items: Vec<serde_json::Value> = serde_json::from_str(json).map_err(|e| {
            Error::new(
                ErrorCode::RuleParse,
                format!("rules JSON must be an array of rule objects ({e})"),
            )
        })?;
        if items.is_empty() {
            return err(ErrorCode::RuleParse, "rules JSON array is empty");
        }
        let rules = items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                parse_rule_json(&item.to_string())
                    .map_err(|e| Error::new(e.code, format!("rule {i}: {}", e.message)))
            })
            .collect::<Result<Vec<_>>>()?;
        self.commit(rules, Vec::new())
    }

    fn commit(&self, mut rules: Vec<Rule>, facts: Vec<Atom>) -> Result<Vec<String>> {
        let mut state = self.state.write();
        assign_rule_ids(&mut rules, &state.rules)?;
        let ids: Vec<String> = rules.iter().map(|r| r.id.clone()).collect();
        if !rules.is_empty() {
            let mut combined = state.rules.clone();
            combined.extend(rules);
            state.strata = stratify(&combined)?;
            state.rules = combined;
        }
        state.facts.extend(facts);
        state.snapshot = None;
        Ok(ids)
    }

    /// Removes the rule with this id.
    pub fn remove_rule(&self, id: &str) -> Result<()> {
        let mut state = self.state.write();
        let Some(pos) = state.rules.iter().position(|r| r.id == id) else {
            return err(ErrorCode::NotFound, format!("no rule has id `{id}`"));
        };
        let mut rules = state.rules.clone();
        rules.remove(pos);
        state.strata = stratify(&rules)?;
        state.rules = rules;
        state.snapshot = None;
        Ok(())
    }

    /// Stores a ground fact given as text, e.g. `member(alice, finance)` (trailing `.` optional).
    pub fn assert_fact(&self, text: &str) -> Result<()> {
        let atom = parse_fact(text)?;
        self.assert_facts([atom]).map(|_| ())
    }

    /// Stores a ground fact in JSON form `{"pred": "p", "args": ["a"]}`.
    pub fn assert_fact_json(&self, json: &str) -> Result<()> {
        let atom = parse_fact_json(json)?;
        self.assert_facts([atom]).map(|_| ())
    }

    /// Stores many ground facts (e.g. from the knowledge graph); returns how many were new. All
    /// or nothing: a non-ground or malformed atom rejects the whole batch.
    pub fn assert_facts(&self, atoms: impl IntoIterator<Item = Atom>) -> Result<usize> {
        let atoms: Vec<Atom> = atoms.into_iter().collect();
        for atom in &atoms {
            atom.validate_fact()?;
        }
        let mut state = self.state.write();
        let before = state.facts.len();
        state.facts.extend(atoms);
        let added = state.facts.len() - before;
        if added > 0 {
            state.snapshot = None;
        }
        Ok(added)
    }

    /// Removes a stored fact; returns whether it was present.
    pub fn retract_fact(&self, text: &str) -> Result<bool> {
        let atom = parse_fact(text)?;
        let mut state = self.state.write();
        let removed = state.facts.remove(&atom);
        if removed {
            state.snapshot = None;
        }
        Ok(removed)
    }

    /// Replaces the layer of outside facts (e.g. the knowledge graph's) with `atoms`; returns
    /// whether it changed. Facts asserted by callers are not touched, so a graph fact that is
    /// retracted here stays if a caller asserted it too.
    pub fn set_layer(&self, atoms: BTreeSet<Atom>) -> Result<bool> {
        for atom in &atoms {
            atom.validate_fact()?;
        }
        let mut state = self.state.write();
        if state.layer == atoms {
            return Ok(false);
        }
        state.layer = atoms;
        state.snapshot = None;
        Ok(true)
    }

    /// Predicates the rules mention (heads and bodies).
    pub fn rule_predicates(&self) -> BTreeSet<String> {
        let state = self.state.read();
        let mut out = BTreeSet::new();
        for r in &state.rules {
            out.insert(r.head.pred.clone());
            for l in &r.body {
                out.insert(l.atom.pred.clone());
            }
        }
        out
    }

    /// Whether the engine has any rule, stored fact or layer fact.
    pub fn is_active(&self) -> bool {
        let state = self.state.read();
        !(state.rules.is_empty() && state.facts.is_empty() && state.layer.is_empty())
    }

    /// Number of stored facts (not counting derived ones).
    pub fn facts_count(&self) -> usize {
        self.state.read().facts.len()
    }

    /// The stored facts, sorted.
    pub fn facts(&self) -> Vec<Atom> {
        self.state.read().facts.iter().cloned().collect()
    }

    /// Number of facts in the materialised model (stored plus derived); builds it if needed.
    pub fn model_size(&self) -> Result<usize> {
        Ok(self.snapshot_for(&ProveOptions::default())?.model.len())
    }

    /// The rules, in the order they were added.
    pub fn rules(&self) -> Vec<Rule> {
        self.state.read().rules.clone()
    }

    /// Proves a goal atom (`"can_transfer(alice, tx1)"`, or with variables
    /// `"can_transfer(alice, X)"` for its first solution). The returned proof has been checked
    /// by the independent checker and is stored as a theorem.
    pub fn prove(&self, goal: &str, opts: &ProveOptions) -> Result<ProveOutcome> {
        let (goal, snapshot) = self.prepare(goal, opts)?;
        let answers = snapshot.model.query(&goal, usize::MAX);
        let Some(&fact) = answers
            .iter()
            .find(|&&f| within_limits(&snapshot.model, f, opts))
        else {
            return Ok(self.failure(&snapshot, &goal, &answers, opts));
        };
        let proof = self.checked_proof(&snapshot, fact)?;
        Ok(ProveOutcome::Proved(proof))
    }

    /// All answers of a goal (up to `limit`), each with a checked proof; empty if none.
    pub fn prove_all(&self, goal: &str, opts: &ProveOptions, limit: usize) -> Result<Vec<Proof>> {
        if limit == 0 {
            return err(ErrorCode::InvalidInput, "limit must be at least 1");
        }
        let (goal, snapshot) = self.prepare(goal, opts)?;
        snapshot
            .model
            .query(&goal, usize::MAX)
            .into_iter()
            .filter(|&f| within_limits(&snapshot.model, f, opts))
            .take(limit)
            .map(|f| self.checked_proof(&snapshot, f))
            .collect()
    }

    /// Checks a proof (e.g. one received from elsewhere) against the current rules and facts.
    pub fn check(&self, proof: &Proof) -> Result<()> {
        self.snapshot_for(&ProveOptions::default())?
            .checker
            .check(proof)
    }

    /// The stored theorems, oldest first.
    pub fn theorems(&self) -> Vec<Theorem> {
        let store = self.theorems.read();
        store
            .order
            .iter()
            .filter_map(|id| store.by_id.get(id).cloned())
            .collect()
    }

    /// Number of stored theorems.
    pub fn theorem_count(&self) -> usize {
        self.theorems.read().order.len()
    }

    /// One stored theorem by id.
    pub fn theorem(&self, id: &str) -> Result<Theorem> {
        self.theorems
            .read()
            .by_id
            .get(id)
            .cloned()
            .ok_or_else(|| Error::new(ErrorCode::NotFound, format!("no theorem has id `{id}`")))
    }

    fn prepare(&self, goal: &str, opts: &ProveOptions) -> Result<(Atom, Arc<Snapshot>)> {
        if opts.max_depth > MAX_PROOF_DEPTH {
            return err(
                ErrorCode::InvalidInput,
                format!(
                    "maxDepth {} is over the limit of {MAX_PROOF_DEPTH}",
                    opts.max_depth
                ),
            );
        }
        let goal = parse_atom(goal)?;
        Ok((goal, self.snapshot_for(opts)?))
    }

    fn snapshot_for(&self, opts: &ProveOptions) -> Result<Arc<Snapshot>> {
        if opts.premises.is_empty() && opts.rules.is_empty() {
            if let Some(s) = &self.state.read().snapshot {
                return Ok(Arc::clone(s));
            }
            let mut state = self.state.write();
            if let Some(s) = &state.snapshot {
                return Ok(Arc::clone(s));
            }
            let snapshot = Arc::new(Snapshot::build(
                state.rules.clone(),
                &state.strata,
                &state.all_facts(),
                Vec::new(),
            ));
            state.snapshot = Some(Arc::clone(&snapshot));
            return Ok(snapshot);
        }
        let mut extra_rules = Vec::new();
        let mut premises = Vec::new();
        for text in &opts.premises {
            premises.push(
                parse_fact(text)
                    .map_err(|e| Error::new(e.code, format!("premise `{text}`: {}", e.message)))?,
            );
        }
        for text in &opts.rules {
            let program = parse_program(text)
                .map_err(|e| Error::new(e.code, format!("extra rules: {}", e.message)))?;
            extra_rules.extend(program.rules);
            premises.extend(program.facts);
        }
        let state = self.state.read();
        assign_rule_ids(&mut extra_rules, &state.rules)?;
        let mut rules = state.rules.clone();
        rules.extend(extra_rules);
        let strata = stratify(&rules)?;
        Ok(Arc::new(Snapshot::build(
            rules,
            &strata,
            &state.all_facts(),
            premises,
        )))
    }

    fn checked_proof(&self, snapshot: &Snapshot, fact: FactId) -> Result<Proof> {
        let proof = snapshot.model.proof(fact);
        snapshot.checker.check(&proof).map_err(|e| {
            Error::new(
                ErrorCode::Internal,
                format!(
                    "the engine produced a proof that does not check: {}",
                    e.message
                ),
            )
        })?;
        if snapshot.stored.lock().insert(fact) {
            self.store_theorem(Theorem::from_proof(proof.clone()));
        }
        Ok(proof)
    }

    fn store_theorem(&self, theorem: Theorem) {
        let mut store = self.theorems.write();
        if store.by_id.contains_key(&theorem.id) {
            return;
        }
        store.order.push_back(theorem.id.clone());
        store.by_id.insert(theorem.id.clone(), theorem);
        while store.order.len() > MAX_THEOREMS {
            if let Some(old) = store.order.pop_front() {
                store.by_id.remove(&old);
            }
        }
    }

    fn failure(
        &self,
        snapshot: &Snapshot,
        goal: &Atom,
        answers: &[FactId],
        opts: &ProveOptions,
    ) -> ProveOutcome {
        if let Some(&f) = answers.first() {
            let rec = snapshot.model.record(f);
            let reason = if rec.nodes > MAX_PROOF_NODES {
                format!(
                    "`{}` holds but its proof tree has over {MAX_PROOF_NODES} nodes",
                    snapshot.model.fact_text(f)
                )
            } else {
                format!(
                    "`{}` holds but its recorded proof has depth {}, over maxDepth {}",
                    snapshot.model.fact_text(f),
                    rec.height,
                    opts.max_depth
                )
            };
            return ProveOutcome::Failed {
                goal: goal.to_string(),
                reason,
                failed_subgoals: Vec::new(),
            };
        }
        let explanation = explain_failure(&snapshot.model, &snapshot.rules, goal);
        ProveOutcome::Failed {
            goal: goal.to_string(),
            reason: explanation.reason,
            failed_subgoals: explanation.failed_subgoals,
        }
    }
}

fn within_limits(model: &Model, fact: FactId, opts: &ProveOptions) -> bool {
    let rec = model.record(fact);
    (rec.height as usize) <= opts.max_depth && rec.nodes <= MAX_PROOF_NODES
}
