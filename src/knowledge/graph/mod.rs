//! The knowledge graph: entities as nodes, co-occurrence and typed relations as edges,
//! temporal facts beside them.
//!
//! # Layout
//! Nodes are spread over [`SHARDS`] shards by a hash of their string id; each shard is one
//! `parking_lot::RwLock` holding its nodes (a dense `Vec`), its id → node map and its dirty
//! sets. A node's interned `u32` id is `local_index * SHARDS + shard`, so finding a node by
//! number never scans. Every edge is stored at both ends in the nodes' adjacency lists (the
//! copy at the canonical end, the *holder*, is what gets persisted); both copies are updated
//! under both shard locks, taken in shard order, so they never disagree. Nodes with many edges
//! get a hash index over their adjacency so an edge update stays O(1).
//!
//! A global `BTreeSet<(normalised name, node)>` serves prefix queries without scanning.
//!
//! # Bounded values
//! Values (numbers, amounts, dates) are nodes without co-occurrence edges, and a stream of
//! chunks can name a new one in every chunk (`ticket #1`, `#2`, ...): a node each made memory
//! grow with every chunk (~300 bytes, +315 MB over a million chunks). `ingest` therefore gives
//! at most [`MAX_VALUE_ENTITIES`] values a node; a value first seen after that is counted in
//! [`GraphStats::values_not_kept`] and left out (it is still in the step's result). Values that
//! have a node keep counting mentions, and things (people, places, concepts, ...) are never
//! capped. Loading a store keeps every stored node.
//!
//! # Weights
//! Co-occurrence edges link every non-value entity of a chunk with up to
//! [`COOCCURRENCE_WINDOW`] following ones (bounding the cost of long entity lists). An edge's
//! weight decays exponentially with the configured half-life between updates and grows by 1
//! per observation: `w ← w · 0.5^((t − t_last) / half_life) + 1` (no decay when `t` is
//! earlier than `t_last`). Queries report weights decayed to the graph's clock, the latest
//! `at_ms` seen.
//!
//! # Files
//! `shard.rs` (storage: shards, nodes, adjacency, interners), `write.rs` (nodes, edges,
//! ingest, facts), `query.rs` (lookups, traversals, paths, logical facts), `records.rs` (what
//! callers get back); this file holds the graph itself, its configuration and statistics.

mod query;
mod records;
mod shard;
mod write;

pub use records::*;
pub(crate) use shard::*;
use write::{decay, normalize_relation};

pub(crate) use crate::fast_hash::{FastMap, FastSet};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::hash::BuildHasher;
use std::ops::Bound;
use std::sync::atomic::{AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use parking_lot::{RwLock, RwLockWriteGuard};
use serde::{Deserialize, Serialize};

use super::entity::{normalize_name, Entity, EntityType};
use super::relations::{find_relations, RelationObject};
use crate::error::{err, Error, ErrorCode, Result};

/// Number of node shards (a power of two).
pub const SHARDS: usize = 16;

/// Node numbers are `u32`: each shard holds at most this many nodes.
const MAX_NODES_PER_SHARD: usize = (u32::MAX as usize) / SHARDS;

/// Each entity co-occurs with at most this many following entities of the chunk.
pub const COOCCURRENCE_WINDOW: usize = 8;

/// Most value nodes (numbers, money, dates) `ingest` creates (see "Bounded values" above).
pub const MAX_VALUE_ENTITIES: usize = 10_000;

/// Deepest accepted `related` search.
pub const MAX_DEPTH: usize = 6;

/// Most results `related` returns.
pub const MAX_RELATED: usize = 10_000;

/// Longest accepted entity id, in bytes.
pub const MAX_ID_LEN: usize = 512;

/// The relation name of co-occurrence edges.
pub const CO_OCCURS: &str = "co_occurs";

/// The knowledge graph. `Send + Sync`; share it in an `Arc`.
pub struct KnowledgeGraph {
    pub(crate) config: GraphConfig,
    pub(crate) shards: Box<[RwLock<Shard>]>,
    pub(crate) types: RwLock<Interner>,
    pub(crate) relations: RwLock<Interner>,
    pub(crate) names: RwLock<BTreeSet<(Box<str>, u32)>>,
    pub(crate) facts: RwLock<FactStore>,
    pub(crate) relation_count: AtomicUsize,
    /// Value nodes (numbers, money, dates) in the graph.
    value_count: AtomicUsize,
    /// See [`GraphStats::values_not_kept`].
    values_not_kept: AtomicU64,
    pub(crate) clock_ms: AtomicI64,
    /// Picks a node's shard from its id.
    shard_hasher: crate::fast_hash::FastHash,
}

fn split_node(node: u32) -> (usize, usize) {
    ((node as usize) & (SHARDS - 1), (node as usize) / SHARDS)
}

fn join_node(shard: usize, local: usize) -> u32 {
    (local * SHARDS + shard) as u32
}

/// The name part of an id (`place:tokyo` → `tokyo`).
fn name_key(id: &str) -> &str {
    id.split_once(':').map(|(_, n)| n).unwrap_or(id)
}

impl Default for KnowledgeGraph {
    fn default() -> Self {
        KnowledgeGraph::build(GraphConfig::default())
    }
}

impl KnowledgeGraph {
    /// An empty graph with the default configuration (7-day half-life).
    pub fn new() -> KnowledgeGraph {
        KnowledgeGraph::default()
    }

    /// An empty graph with `config`; a half-life ≤ 0 → `InvalidConfig`.
    pub fn with_config(config: GraphConfig) -> Result<KnowledgeGraph> {
        if config.half_life_ms <= 0 {
            return err(
                ErrorCode::InvalidConfig,
                format!("halfLifeMs must be > 0, got {}", config.half_life_ms),
            );
        }
        Ok(KnowledgeGraph::build(config))
    }

    fn build(config: GraphConfig) -> KnowledgeGraph {
        let graph = KnowledgeGraph {
            config,
            shards: (0..SHARDS).map(|_| RwLock::new(Shard::default())).collect(),
            types: RwLock::new(Interner::default()),
            relations: RwLock::new(Interner::default()),
            names: RwLock::new(BTreeSet::new()),
            facts: RwLock::new(FactStore::default()),
            relation_count: AtomicUsize::new(0),
            value_count: AtomicUsize::new(0),
            values_not_kept: AtomicU64::new(0),
            clock_ms: AtomicI64::new(i64::MIN),
            shard_hasher: crate::fast_hash::FastHash::default(),
        };
        {
            let mut relations = graph.relations.write();
            let name: Arc<str> = CO_OCCURS.into();
            relations.names.push(name.clone());
            relations.index.insert(name, 0);
        }
        graph
    }

    /// The configuration.
    pub fn config(&self) -> GraphConfig {
        self.config
    }

    /// The number of an entity type; more than 65,536 distinct types → `InvalidInput`.
    pub(crate) fn intern_type(&self, ty: &EntityType) -> Result<u16> {
        if let Some(i) = self.types.read().get(ty.as_str()) {
            return Ok(i);
        }
        let mut w = self.types.write();
        if let Some(i) = w.get(ty.as_str()) {
            return Ok(i);
        }
        let i = intern_locked(&mut w, ty.as_str(), "entity types")?;
        w.types.push(ty.clone());
        Ok(i)
    }

    fn shard_of_key(&self, id: &str) -> usize {
        (self.shard_hasher.hash_one(id) as usize) & (SHARDS - 1)
    }

    /// The number of a relation name; more than 65,536 distinct names → `InvalidInput`.
    pub(crate) fn intern_relation(&self, rel: &str) -> Result<u16> {
        if let Some(i) = self.relations.read().get(rel) {
            return Ok(i);
        }
        let mut w = self.relations.write();
        if let Some(i) = w.get(rel) {
            return Ok(i);
        }
        intern_locked(&mut w, rel, "relation names")
    }

    fn type_of(&self, ty: u16) -> EntityType {
        self.types
            .read()
            .types
            .get(ty as usize)
            .cloned()
            .unwrap_or(EntityType::Concept)
    }

    fn relation_name(&self, rel: u16) -> Arc<str> {
        self.relations
            .read()
            .names
            .get(rel as usize)
            .cloned()
            .unwrap_or_else(|| Arc::from(""))
    }

    fn id_of(&self, node: u32) -> String {
        let (s, l) = split_node(node);
        self.shards[s].read().nodes[l].id.to_string()
    }

    /// Counts of nodes, edges, facts and nodes per type.
    pub fn stats(&self) -> GraphStats {
        let mut by_ty: HashMap<u16, usize> = HashMap::new();
        let mut entities = 0;
        for shard in self.shards.iter() {
            let shard = shard.read();
            entities += shard.nodes.len();
            for n in &shard.nodes {
                *by_ty.entry(n.ty).or_default() += 1;
            }
        }
        let types = self.types.read();
        let by_type = by_ty
            .into_iter()
            .map(|(t, c)| {
                (
                    types
                        .names
                        .get(t as usize)
                        .map(|n| n.to_string())
                        .unwrap_or_default(),
                    c,
                )
            })
            .collect();
        GraphStats {
            entities,
            relations: self.relation_count.load(Ordering::Relaxed),
            facts: self.facts.read().facts.len(),
            values_not_kept: self.values_not_kept.load(Ordering::Relaxed),
            by_type,
        }
    }

    /// Node, edge and temporal-fact counts, cheaply (no per-type breakdown): the graph only
    /// grows, so a change of these counts is a change of its logical facts.
    pub fn size(&self) -> (usize, usize, usize) {
        let nodes = self.shards.iter().map(|s| s.read().nodes.len()).sum();
        (
            nodes,
            self.relation_count.load(Ordering::Relaxed),
            self.facts.read().facts.len(),
        )
    }
}
