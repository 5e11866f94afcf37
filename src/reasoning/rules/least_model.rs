//! The materialised model: semi-naive bottom-up evaluation that records derivations.
//!
//! Constants and predicates (name + arity) are interned to `u32`. Every fact of the model, stored
//! or derived, is a [`FactRecord`] with its [`Origin`]; a derived fact keeps the first
//! derivation found (rule, variable bindings, premise facts) plus the height and node count of
//! the proof tree it yields. Facts are only ever appended, and a derivation's premises always
//! exist before the fact itself, so the recorded derivations form a well-founded DAG from which
//! a finite proof tree can be read back ([`Model::proof`]).
//!
//! Strata (see [`super::stratify`]) are evaluated in order. Within a stratum, round 0 applies
//! every rule to the whole model; each later round is semi-naive: for each positive literal on
//! a predicate of the stratum, that literal ranges over the facts new in the previous round
//! (the delta), earlier recursive literals over the facts older than the delta, later ones over
//! all facts. New facts are collected during a round and appended at its end, so relation
//! rows are position ranges and deltas are just `[old_end, cur_end)`. The stratum is done when
//! a round derives nothing, which always happens: the model only grows and is bounded by the
//! finitely many atoms over the known constants. Negated literals are looked up in relations
//! of lower strata, which are complete by then. Joins use per-column hash indexes, and each
//! rule firing matches its positive literals in a greedy order (literals with a bound argument
//! first, then the fewest candidate rows); premises are still recorded in body order.

use std::collections::{HashMap, HashSet};

use super::proof::{Proof, FACT_RULE, PREMISE_RULE};
use super::stratify::Stratum;
use super::syntax::{constant_text, Atom, Rule, Term};

/// Index of a fact in the model.
pub type FactId = u32;

const UNBOUND: u32 = u32::MAX;

/// How a fact entered the model.
#[derive(Debug, Clone)]
pub enum Origin {
    /// A stored fact.
    Fact,
    /// A per-call premise.
    Premise,
    /// Derived by a rule.
    Derived {
        /// Index of the rule in the model's rule list.
        rule: u32,
        /// Symbol per rule variable slot.
        bindings: Box<[u32]>,
        /// The facts matched by the positive body literals, in order.
        premises: Box<[FactId]>,
    },
}

/// One fact of the model.
#[derive(Debug, Clone)]
pub struct FactRecord {
    pred: u32,
    args: Box<[u32]>,
    origin: Origin,
    /// Height of the recorded proof tree (0 for leaves).
    pub height: u32,
    /// Nodes of the recorded proof tree (saturating).
    pub nodes: u32,
}

#[derive(Debug, Clone, Copy)]
enum Slot {
    Var(usize),
    Const(u32),
}

#[derive(Debug, Clone)]
struct CompiledAtom {
    pred: u32,
    args: Vec<Slot>,
}

#[derive(Debug, Clone)]
struct CompiledRule {
    head: CompiledAtom,
    positive: Vec<CompiledAtom>,
    negative: Vec<CompiledAtom>,
    var_names: Vec<String>,
}

#[derive(Debug, Clone, Default)]
struct Relation {
    rows: Vec<FactId>,
    by_args: HashMap<Box<[u32]>, FactId>,
    /// Per column: symbol -> ascending row positions.
    by_col: Vec<HashMap<u32, Positions>>,
}

/// Ascending row positions of one column value; a single position needs no allocation
/// (most values of key-like columns occur once).
#[derive(Debug, Clone)]
enum Positions {
    One(u32),
    Many(Vec<u32>),
}

impl Positions {
    fn push(&mut self, position: u32) {
        match self {
            Positions::One(first) => *self = Positions::Many(vec![*first, position]),
            Positions::Many(list) => list.push(position),
        }
    }

    fn as_slice(&self) -> &[u32] {
        match self {
            Positions::One(p) => std::slice::from_ref(p),
            Positions::Many(list) => list,
        }
    }
}

/// A fact derived during a round, waiting to be appended.
struct Pending {
    pred: u32,
    args: Box<[u32]>,
    rule: u32,
    bindings: Box<[u32]>,
    premises: Box<[FactId]>,
}

/// The least (stratified) model of a rule set and a fact set, with derivations.
#[derive(Debug, Clone, Default)]
pub struct Model {
    symbols: HashMap<String, u32>,
    symbol_text: Vec<String>,
    symbol_values: Vec<String>,
    /// Predicate name -> (arity, id) pairs.
    preds: HashMap<String, Vec<(usize, u32)>>,
    pred_names: Vec<String>,
    relations: Vec<Relation>,
    facts: Vec<FactRecord>,
    rules: Vec<CompiledRule>,
    rule_ids: Vec<String>,
}

/// Per positive literal, the row positions `[start, end)` it may range over.
type Ranges = Vec<(u32, u32)>;

/// How one rule firing matches its positive literals.
struct Plan {
    /// Per positive literal (body order), its row range.
    ranges: Ranges,
    /// The order in which to match the positive literals (indices into body order).
    order: Vec<usize>,
}

/// A greedy join order: next, the literal with a bound argument (an index lookup) and then
/// the fewest candidate rows; ties keep body order.
fn join_order(rule: &CompiledRule, ranges: &Ranges) -> Vec<usize> {
    let n = rule.positive.len();
    let mut bound = vec![false; rule.var_names.len()];
    let mut used = vec![false; n];
    let mut order = Vec::with_capacity(n);
    for _ in 0..n {
        let key = |i: usize| {
            let has_bound = rule.positive[i].args.iter().any(|s| match *s {
                Slot::Const(_) => true,
                Slot::Var(v) => bound[v],
            });
            (!has_bound, ranges[i].1 - ranges[i].0)
        };
        let Some(next) = (0..n).filter(|&i| !used[i]).min_by_key(|&i| key(i)) else {
            break;
        };
        used[next] = true;
        order.push(next);
        for s in &rule.positive[next].args {
            if let Slot::Var(v) = *s {
                bound[v] = true;
            }
        }
    }
    order
}

impl Model {
    /// Evaluates `rules` (split into `strata`) over `facts` and `premises`.
    pub fn build<'a>(
        rules: &[Rule],
        strata: &[Stratum],
        facts: impl IntoIterator<Item = &'a Atom>,
        premises: &[Atom],
    ) -> Model {
        let mut model = Model::default();
        model.rules = rules.iter().map(|r| model.compile_rule(r)).collect();
        model.rule_ids = rules.iter().map(|r| r.id.clone()).collect();
        for (atom, origin) in facts
            .into_iter()
            .map(|a| (a, Origin::Fact))
            .chain(premises.iter().map(|a| (a, Origin::Premise)))
        {
            let pred = model.intern_pred(&atom.pred, atom.args.len());
            let args: Box<[u32]> = atom
                .args
                .iter()
                .map(|t| match t {
                    Term::Const(c) | Term::Var(c) => model.intern_symbol(c),
                })
                .collect();
            model.insert(pred, args, origin, 0, 1);
        }
        for stratum in strata {
            model.evaluate_stratum(&stratum.rules);
        }
        model
    }

    fn intern_symbol(&mut self, value: &str) -> u32 {
        if let Some(&id) = self.symbols.get(value) {
            return id;
        }
        let id = self.symbol_text.len() as u32;
        self.symbols.insert(value.to_string(), id);
        self.symbol_text.push(constant_text(value));
        self.symbol_values.push(value.to_string());
        id
    }

    fn pred_id(&self, name: &str, arity: usize) -> Option<u32> {
        self.preds
            .get(name)?
            .iter()
            .find(|(a, _)| *a == arity)
            .map(|&(_, id)| id)
    }

    fn intern_pred(&mut self, name: &str, arity: usize) -> u32 {
        if let Some(id) = self.pred_id(name, arity) {
            return id;
        }
        let id = self.pred_names.len() as u32;
        self.preds
            .entry(name.to_string())
            .or_default()
            .push((arity, id));
        self.pred_names.push(name.to_string());
        self.relations.push(Relation {
            by_col: vec![HashMap::new(); arity],
            ..Relation::default()
        });
        id
    }

    fn compile_rule(&mut self, rule: &Rule) -> CompiledRule {
        let var_names: Vec<String> = rule.variables().iter().map(|v| v.to_string()).collect();
        let compile = |atom: &Atom, model: &mut Model| CompiledAtom {
            pred: model.intern_pred(&atom.pred, atom.args.len()),
            args: atom
                .args
                .iter()
                .map(|t| match t {
                    Term::Var(v) => Slot::Var(var_names.iter().position(|n| n == v).unwrap_or(0)),
                    Term::Const(c) => Slot::Const(model.intern_symbol(c)),
                })
                .collect(),
        };
        CompiledRule {
            head: compile(&rule.head, self),
            positive: rule.positive_body().map(|a| compile(a, self)).collect(),
            negative: rule.negative_body().map(|a| compile(a, self)).collect(),
            var_names: var_names.clone(),
        }
    }

    /// Appends a fact unless present; returns whether it was new.
    fn insert(
        &mut self,
        pred: u32,
        args: Box<[u32]>,
        origin: Origin,
        height: u32,
        nodes: u32,
    ) -> bool {
        let relation = &mut self.relations[pred as usize];
        if relation.by_args.contains_key(&args) {
            return false;
        }
        let id = self.facts.len() as FactId;
        let position = relation.rows.len() as u32;
        relation.rows.push(id);
        for (col, &value) in args.iter().enumerate() {
            relation.by_col[col]
                .entry(value)
                .and_modify(|p| p.push(position))
                .or_insert(Positions::One(position));
        }
        relation.by_args.insert(args.clone(), id);
        self.facts.push(FactRecord {
            pred,
            args,
            origin,
            height,
            nodes,
        });
        true
    }

    fn evaluate_stratum(&mut self, rule_indices: &[usize]) {
        let recursive: HashSet<u32> = rule_indices
            .iter()
            .map(|&r| self.rules[r].head.pred)
            .collect();
        // old_end / cur_end per recursive predicate.
        let mut old_end: HashMap<u32, u32> = HashMap::new();
        let mut cur_end: HashMap<u32, u32> = HashMap::new();
        let mut pending: Vec<Pending> = Vec::new();
        let mut seen: HashSet<(u32, Box<[u32]>)> = HashSet::new();
        for &r in rule_indices {
            let ranges: Ranges = self.rules[r]
                .positive
                .iter()
                .map(|a| (0, self.relations[a.pred as usize].rows.len() as u32))
                .collect();
            self.fire(r, ranges, &mut pending, &mut seen);
        }
        for &p in &recursive {
            old_end.insert(p, self.relations[p as usize].rows.len() as u32);
        }
        loop {
            self.flush(&mut pending, &mut seen);
            for &p in &recursive {
                cur_end.insert(p, self.relations[p as usize].rows.len() as u32);
            }
            let mut any_delta = false;
            for &r in rule_indices {
                let positive = &self.rules[r].positive;
                for (i, lit) in positive.iter().enumerate() {
                    if !recursive.contains(&lit.pred) || old_end[&lit.pred] == cur_end[&lit.pred] {
                        continue;
                    }
                    any_delta = true;
                    let ranges: Ranges = positive
                        .iter()
                        .enumerate()
                        .map(|(j, a)| {
                            if !recursive.contains(&a.pred) {
                                (0, self.relations[a.pred as usize].rows.len() as u32)
                            } else if j < i {
                                (0, old_end[&a.pred])
                            } else if j == i {
                                (old_end[&a.pred], cur_end[&a.pred])
                            } else {
                                (0, cur_end[&a.pred])
                            }
                        })
                        .collect();
                    self.fire(r, ranges, &mut pending, &mut seen);
                }
            }
            if !any_delta {
                break;
            }
            old_end.clone_from(&cur_end);
        }
    }

    fn flush(&mut self, pending: &mut Vec<Pending>, seen: &mut HashSet<(u32, Box<[u32]>)>) {
        for p in pending.drain(..) {
            let (mut height, mut nodes) = (0u32, 1u32);
            for &f in p.premises.iter() {
                let rec = &self.facts[f as usize];
                height = height.max(rec.height);
                nodes = nodes.saturating_add(rec.nodes);
            }
            let origin = Origin::Derived {
                rule: p.rule,
                bindings: p.bindings,
                premises: p.premises,
            };
            self.insert(p.pred, p.args, origin, height + 1, nodes);
        }
        seen.clear();
    }

    fn fire(
        &self,
        rule: usize,
        ranges: Ranges,
        out: &mut Vec<Pending>,
        seen: &mut HashSet<(u32, Box<[u32]>)>,
    ) {
        let compiled = &self.rules[rule];
        if ranges.iter().any(|&(start, end)| start >= end) {
            return;
        }
        let plan = Plan {
            order: join_order(compiled, &ranges),
            ranges,
        };
        let mut bindings = vec![UNBOUND; compiled.var_names.len()];
        let mut premises = vec![0; compiled.positive.len()];
        self.join(rule, &plan, 0, &mut bindings, &mut premises, out, seen);
    }

    /// Matches the positive literals in `plan.order` from position `step` on, then checks the
    /// negated literals and emits the head. `premises` is indexed by body position.
    #[allow(clippy::too_many_arguments)]
    fn join(
        &self,
        rule: usize,
        plan: &Plan,
        step: usize,
        bindings: &mut Vec<u32>,
        premises: &mut Vec<FactId>,
        out: &mut Vec<Pending>,
        seen: &mut HashSet<(u32, Box<[u32]>)>,
    ) {
        let compiled = &self.rules[rule];
        if step == compiled.positive.len() {
            for neg in &compiled.negative {
                let args: Box<[u32]> = neg.args.iter().map(|s| slot_value(*s, bindings)).collect();
                if self.relations[neg.pred as usize]
                    .by_args
                    .contains_key(&args)
                {
                    return;
                }
            }
            let head = &compiled.head;
            let args: Box<[u32]> = head.args.iter().map(|s| slot_value(*s, bindings)).collect();
            if self.relations[head.pred as usize]
                .by_args
                .contains_key(&args)
            {
                return;
            }
            if !seen.insert((head.pred, args.clone())) {
                return;
            }
            out.push(Pending {
                pred: head.pred,
                args,
                rule: rule as u32,
                bindings: bindings.clone().into_boxed_slice(),
                premises: premises.clone().into_boxed_slice(),
            });
            return;
        }
        let lit = plan.order[step];
        let atom = &compiled.positive[lit];
        let (start, end) = plan.ranges[lit];
        let relation = &self.relations[atom.pred as usize];
        let indexed = atom.args.iter().enumerate().find_map(|(col, s)| {
            let v = slot_value(*s, bindings);
            (v != UNBOUND).then_some((col, v))
        });
        let mut newly_bound: Vec<usize> = Vec::new();
        let mut try_row = |position: u32,
                           bindings: &mut Vec<u32>,
                           premises: &mut Vec<FactId>,
                           out: &mut Vec<Pending>,
                           seen: &mut HashSet<(u32, Box<[u32]>)>| {
            let fid = relation.rows[position as usize];
            let args = &self.facts[fid as usize].args;
            newly_bound.clear();
            let mut ok = true;
            for (slot, &value) in atom.args.iter().zip(args.iter()) {
                match *slot {
                    Slot::Const(c) => ok = c == value,
                    Slot::Var(v) if bindings[v] == UNBOUND => {
                        bindings[v] = value;
                        newly_bound.push(v);
                    }
                    Slot::Var(v) => ok = bindings[v] == value,
                }
                if !ok {
                    break;
                }
            }
            if ok {
                premises[lit] = fid;
                let bound = std::mem::take(&mut newly_bound);
                self.join(rule, plan, step + 1, bindings, premises, out, seen);
                newly_bound = bound;
            }
            for &v in &newly_bound {
                bindings[v] = UNBOUND;
            }
        };
        match indexed {
            Some((col, value)) => {
                if let Some(positions) = relation.by_col[col].get(&value) {
                    let positions = positions.as_slice();
                    let from = positions.partition_point(|&p| p < start);
                    for &position in positions[from..].iter().take_while(|&&p| p < end) {
                        try_row(position, bindings, premises, out, seen);
                    }
                }
            }
            None => {
                for position in start..end {
                    try_row(position, bindings, premises, out, seen);
                }
            }
        }
    }

    /// Number of facts in the model (stored, premises and derived).
    #[allow(clippy::len_without_is_empty)]
    pub fn len(&self) -> usize {
        self.facts.len()
    }

    /// The facts matching `pattern` (variables match anything, consistently), in insertion
    /// order, at most `limit`.
    pub fn query(&self, pattern: &Atom, limit: usize) -> Vec<FactId> {
        let Some(pred) = self.pred_id(&pattern.pred, pattern.args.len()) else {
            return Vec::new();
        };
        let mut slots: Vec<Slot> = Vec::with_capacity(pattern.args.len());
        let mut var_names: Vec<&str> = Vec::new();
        for term in &pattern.args {
            match term {
                Term::Const(c) => match self.symbols.get(c) {
                    Some(&s) => slots.push(Slot::Const(s)),
                    None => return Vec::new(),
                },
                Term::Var(v) => {
                    let index = var_names.iter().position(|n| n == v).unwrap_or_else(|| {
                        var_names.push(v);
                        var_names.len() - 1
                    });
                    slots.push(Slot::Var(index));
                }
            }
        }
        let relation = &self.relations[pred as usize];
        if slots.iter().all(|s| matches!(s, Slot::Const(_))) {
            let args: Box<[u32]> = slots.iter().map(|s| slot_value(*s, &[])).collect();
            return relation
                .by_args
                .get(&args)
                .map(|&f| vec![f])
                .unwrap_or_default();
        }
        let matches_row = |fid: FactId| {
            let mut bindings = vec![UNBOUND; var_names.len()];
            let args = &self.facts[fid as usize].args;
            slots
                .iter()
                .zip(args.iter())
                .all(|(slot, &value)| match *slot {
                    Slot::Const(c) => c == value,
                    Slot::Var(v) if bindings[v] == UNBOUND => {
                        bindings[v] = value;
                        true
                    }
                    Slot::Var(v) => bindings[v] == value,
                })
        };
        let candidates: Box<dyn Iterator<Item = FactId>> =
            match slots.iter().enumerate().find_map(|(col, s)| match s {
                Slot::Const(c) => Some((col, *c)),
                Slot::Var(_) => None,
            }) {
                Some((col, value)) => Box::new(
                    relation.by_col[col]
                        .get(&value)
                        .map(Positions::as_slice)
                        .unwrap_or_default()
                        .iter()
                        .map(|&p| relation.rows[p as usize]),
                ),
                None => Box::new(relation.rows.iter().copied()),
            };
        candidates.filter(|&f| matches_row(f)).take(limit).collect()
    }

    /// The record of a fact.
    pub fn record(&self, fact: FactId) -> &FactRecord {
        &self.facts[fact as usize]
    }

    /// The fact as a ground atom.
    pub fn atom(&self, fact: FactId) -> Atom {
        let rec = &self.facts[fact as usize];
        Atom {
            pred: self.pred_names[rec.pred as usize].clone(),
            args: rec
                .args
                .iter()
                .map(|&s| Term::Const(self.symbol_value(s)))
                .collect(),
        }
    }

    fn symbol_value(&self, symbol: u32) -> String {
        self.symbol_values[symbol as usize].clone()
    }

    fn format_args(&self, pred: u32, args: impl Iterator<Item = u32>, out: &mut String) {
        out.push_str(&self.pred_names[pred as usize]);
        let mut first = true;
        for s in args {
            out.push_str(if first { "(" } else { ", " });
            first = false;
            out.push_str(&self.symbol_text[s as usize]);
        }
        if !first {
            out.push(')');
        }
    }

    /// The fact in source syntax, e.g. `member(alice, finance)`.
    pub fn fact_text(&self, fact: FactId) -> String {
        let rec = &self.facts[fact as usize];
        let mut out = String::new();
        self.format_args(rec.pred, rec.args.iter().copied(), &mut out);
        out
    }

    /// The recorded proof tree of a fact. Its depth is `record(fact).height`; callers bound it
    /// before calling, since the tree is built recursively.
    pub fn proof(&self, fact: FactId) -> Proof {
        let rec = &self.facts[fact as usize];
        let conclusion = self.fact_text(fact);
        match &rec.origin {
            Origin::Fact | Origin::Premise => Proof {
                conclusion,
                rule: if matches!(rec.origin, Origin::Fact) {
                    FACT_RULE
                } else {
                    PREMISE_RULE
                }
                .to_string(),
                bindings: Default::default(),
                premises: Vec::new(),
                absent: Vec::new(),
            },
            Origin::Derived {
                rule,
                bindings,
                premises,
            } => {
                let compiled = &self.rules[*rule as usize];
                Proof {
                    conclusion,
                    rule: self.rule_ids[*rule as usize].clone(),
                    bindings: compiled
                        .var_names
                        .iter()
                        .zip(bindings.iter())
                        .map(|(name, &s)| (name.clone(), self.symbol_text[s as usize].clone()))
                        .collect(),
                    premises: premises.iter().map(|&p| self.proof(p)).collect(),
                    absent: compiled
                        .negative
                        .iter()
                        .map(|neg| {
                            let mut text = String::new();
                            let args = neg.args.iter().map(|s| slot_value(*s, bindings));
                            self.format_args(neg.pred, args, &mut text);
                            text
                        })
                        .collect(),
                }
            }
        }
    }
}

fn slot_value(slot: Slot, bindings: &[u32]) -> u32 {
    match slot {
        Slot::Const(c) => c,
        Slot::Var(v) => bindings.get(v).copied().unwrap_or(UNBOUND),
    }
}
