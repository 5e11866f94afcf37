//! Proof objects: derivation trees and the theorems built from them.
//!
//! A [`Proof`] node states a ground `conclusion` and how it was obtained: `rule` is `"fact"`
//! (a stored fact), `"premise"` (a ground fact supplied with the goal) or a rule id. For a rule
//! node, `bindings` maps every rule variable to the constant it took (in source syntax, so
//! `"\"hello world\""` for a quoted constant), `premises` proves the positive body literals in
//! order, and `absent` lists the instantiated negated literals, each of which was checked not to
//! hold. Proofs are plain data: they serialize to camelCase JSON and can be checked later,
//! independently of the engine that produced them, by [`super::checker::check_proof`].

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The `rule` value of a leaf proved by a stored fact.
pub const FACT_RULE: &str = "fact";
/// The `rule` value of a leaf proved by a per-call premise.
pub const PREMISE_RULE: &str = "premise";

/// A derivation tree node.
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Proof {
    /// The ground atom proved, in source syntax, e.g. `can_transfer(alice, tx1)`.
    pub conclusion: String,
    /// `"fact"`, `"premise"` or the id of the rule applied.
    pub rule: String,
    /// Rule variable -> constant (source syntax); empty for leaves.
    #[serde(default)]
    pub bindings: BTreeMap<String, String>,
    /// Proofs of the positive body literals, in body order; empty for leaves.
    #[serde(default)]
    pub premises: Vec<Proof>,
    /// The negated body literals, instantiated, that were checked not to hold.
    #[serde(default)]
    pub absent: Vec<String>,
}

impl Proof {
    /// The height of the tree: 0 for a leaf, else 1 + the highest premise.
    pub fn depth(&self) -> usize {
        self.premises
            .iter()
            .map(|p| p.depth() + 1)
            .max()
            .unwrap_or(usize::from(!self.is_leaf()))
    }

    /// The number of nodes of the tree.
    pub fn node_count(&self) -> usize {
        1 + self.premises.iter().map(Proof::node_count).sum::<usize>()
    }

    /// True for `fact` and `premise` nodes.
    pub fn is_leaf(&self) -> bool {
        self.rule == FACT_RULE || self.rule == PREMISE_RULE
    }

    /// The distinct rule ids applied anywhere in the tree, sorted.
    pub fn rules_used(&self) -> Vec<String> {
        let mut out = std::collections::BTreeSet::new();
        let mut stack = vec![self];
        while let Some(node) = stack.pop() {
            if !node.is_leaf() {
                out.insert(node.rule.clone());
            }
            stack.extend(node.premises.iter());
        }
        out.into_iter().collect()
    }

    /// True if some leaf of the tree is a per-call premise.
    pub fn uses_premises(&self) -> bool {
        self.rule == PREMISE_RULE || self.premises.iter().any(Proof::uses_premises)
    }
}

/// A proved statement with its checked proof.
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Theorem {
    /// Stable id: the first 16 hex digits of sha256(statement, proof JSON).
    pub id: String,
    /// The proved ground atom.
    pub statement: String,
    /// Its proof.
    pub proof: Proof,
    /// The rule ids used, plus `"conditional"` when the proof rests on per-call premises.
    pub tags: Vec<String>,
}

impl Theorem {
    /// Builds a theorem from a checked proof, computing its id and tags.
    pub fn from_proof(proof: Proof) -> Theorem {
        let statement = proof.conclusion.clone();
        let mut tags = proof.rules_used();
        if proof.uses_premises() {
            tags.push("conditional".to_string());
        }
        Theorem {
            id: theorem_id(&statement, &proof),
            statement,
            proof,
            tags,
        }
    }
}

/// The stable id of a theorem: sha256 over the statement, a newline and the proof's JSON
/// (field order fixed, bindings sorted), as the first 16 hex digits.
pub fn theorem_id(statement: &str, proof: &Proof) -> String {
    let mut hasher = Sha256::new();
    hasher.update(statement.as_bytes());
    hasher.update(b"\n");
    // Serializing plain strings, maps and vectors cannot fail; fall back to Debug regardless.
    match serde_json::to_vec(proof) {
        Ok(json) => hasher.update(&json),
        Err(_) => hasher.update(format!("{proof:?}").as_bytes()),
    }
    let digest = hasher.finalize();
    hex::encode(&digest[..8])
}
