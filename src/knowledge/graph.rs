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

/// Direction of an adjacency entry, seen from the node that holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Dir {
    /// This node is the source.
    Out = 0,
    /// This node is the target.
    In = 1,
    /// Symmetric (co-occurrence).
    Both = 2,
}

impl Dir {
    /// The direction stored as `dir as u8`.
    pub(crate) fn from_u8(v: u8) -> Option<Dir> {
        match v {
            0 => Some(Dir::Out),
            1 => Some(Dir::In),
            2 => Some(Dir::Both),
            _ => None,
        }
    }

    fn reverse(self) -> Dir {
        match self {
            Dir::Out => Dir::In,
            Dir::In => Dir::Out,
            Dir::Both => Dir::Both,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Dir::Out => "out",
            Dir::In => "in",
            Dir::Both => "both",
        }
    }
}

/// One adjacency entry (24 bytes).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Adj {
    pub other: u32,
    pub rel: u16,
    pub dir: Dir,
    pub weight: f32,
    pub count: u32,
    pub updated_ms: i64,
}

/// How an edge update changes the edge.
#[derive(Debug, Clone, Copy)]
enum EdgeOp {
    /// One more observation at this time (decay, then +1).
    Observe(i64),
    /// Exact persisted values.
    Restore {
        weight: f32,
        count: u32,
        updated_ms: i64,
    },
}

/// (other node, relation, direction) → position in a node's adjacency list.
type AdjIndex = FastMap<(u32, u16, u8), u32>;

/// Adjacency lists longer than this get a hash index.
const ADJ_INDEX_THRESHOLD: usize = 16;

pub(crate) struct Node {
    pub id: Arc<str>,
    pub name: Box<str>,
    pub ty: u16,
    pub mentions: u32,
    pub first_seen: i64,
    pub last_seen: i64,
    pub adj: Vec<Adj>,
    adj_index: Option<Box<AdjIndex>>,
}

impl Node {
    pub(crate) fn find_adj(&self, other: u32, rel: u16, dir: Dir) -> Option<usize> {
        match &self.adj_index {
            Some(index) => index.get(&(other, rel, dir as u8)).map(|&i| i as usize),
            None => self
                .adj
                .iter()
                .position(|a| a.other == other && a.rel == rel && a.dir == dir),
        }
    }

    fn push_adj(&mut self, adj: Adj) {
        let pos = self.adj.len() as u32;
        self.adj.push(adj);
        if let Some(index) = &mut self.adj_index {
            index.insert((adj.other, adj.rel, adj.dir as u8), pos);
        } else if self.adj.len() > ADJ_INDEX_THRESHOLD {
            let index = self
                .adj
                .iter()
                .enumerate()
                .map(|(i, a)| ((a.other, a.rel, a.dir as u8), i as u32))
                .collect();
            self.adj_index = Some(Box::new(index));
        }
    }
}

#[derive(Default)]
pub(crate) struct Shard {
    pub by_key: FastMap<Arc<str>, u32>,
    pub nodes: Vec<Node>,
    pub dirty_nodes: FastSet<u32>,
    /// (holder local index, other global id, relation, direction at the holder).
    pub dirty_edges: FastSet<(u32, u32, u16, u8)>,
}

/// A small string ↔ u16 interner (entity types, relation names).
#[derive(Default)]
pub(crate) struct Interner {
    pub names: Vec<Arc<str>>,
    pub index: FastMap<Arc<str>, u16>,
    /// For the type interner: the parsed type of each name.
    pub types: Vec<EntityType>,
}

impl Interner {
    fn get(&self, name: &str) -> Option<u16> {
        self.index.get(name).copied()
    }

    /// Every interned name as an owned string, indexed by its number (read once before a
    /// walk over the shards, so no interner lock is held while shard locks are taken).
    pub(crate) fn name_strings(&self) -> Vec<String> {
        self.names.iter().map(|n| n.to_string()).collect()
    }
}

/// Tuning of a [`KnowledgeGraph`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GraphConfig {
    /// Half-life of edge weights in milliseconds (> 0). Default: 7 days.
    pub half_life_ms: i64,
}

impl Default for GraphConfig {
    fn default() -> Self {
        GraphConfig {
            half_life_ms: 7 * crate::time::MS_PER_DAY,
        }
    }
}

/// What one [`KnowledgeGraph::ingest`] changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IngestReport {
    /// Nodes created.
    pub new_entities: usize,
    /// Edges created.
    pub new_relations: usize,
    /// Existing edges whose weight was increased.
    pub updated_relations: usize,
}

/// A node as seen by queries.
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EntityRecord {
    /// Stable id (`place:tokyo`).
    pub id: String,
    /// Display name (the best-cased surface form seen).
    pub name: String,
    /// Entity type, serialized as `type`.
    #[serde(rename = "type")]
    #[cfg_attr(test, ts(type = "string"))]
    pub entity_type: EntityType,
    /// How many mentions were ingested.
    pub mentions: u64,
    /// `at_ms` of the first mention.
    pub first_seen_ms: i64,
    /// `at_ms` of the latest mention.
    pub last_seen_ms: i64,
    /// Number of edges (both directions, all relations).
    pub degree: usize,
}

/// Filter for [`KnowledgeGraph::entities`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EntityQuery {
    /// Only this type (any case; custom names allowed).
    pub entity_type: Option<String>,
    /// Prefix of the normalised name (`tok`), or of the id when it contains `:` (`place:tok`).
    pub prefix: Option<String>,
    /// Most records to return.
    pub limit: usize,
}

/// A node reached by [`KnowledgeGraph::related`].
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Related {
    /// The reached node's id.
    pub id: String,
    /// Its display name.
    pub name: String,
    /// Its type, serialized as `type`.
    #[serde(rename = "type")]
    #[cfg_attr(test, ts(type = "string"))]
    pub entity_type: EntityType,
    /// The relation of the edge it was reached by.
    pub relation: String,
    /// That edge's weight, decayed to the graph clock.
    pub weight: f64,
    /// Hops from the start node (1 = direct neighbour).
    pub depth: usize,
    /// Id of the node it was reached from.
    pub via: String,
    /// Edge direction seen from `via`: `out` (via → id), `in` (id → via) or `both`.
    pub direction: String,
}

/// A direct neighbour, as returned by [`KnowledgeGraph::neighbours`]. Serializes as
/// `{"id", "relation", "weight", "direction"}`.
#[derive(Debug, Clone, PartialEq)]
pub struct Neighbour {
    /// The neighbour's id.
    pub id: Arc<str>,
    /// The edge's relation name.
    pub relation: Arc<str>,
    /// The edge's weight, decayed to the graph clock.
    pub weight: f64,
    /// `out` (id → neighbour), `in` (neighbour → id) or `both`.
    pub direction: &'static str,
}

impl Serialize for Neighbour {
    fn serialize<S: serde::Serializer>(
        &self,
        serializer: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = serializer.serialize_struct("Neighbour", 4)?;
        st.serialize_field("id", &*self.id)?;
        st.serialize_field("relation", &*self.relation)?;
        st.serialize_field("weight", &self.weight)?;
        st.serialize_field("direction", self.direction)?;
        st.end()
    }
}

/// A time-bounded statement `subject relation object`.
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Fact {
    /// Subject entity id.
    pub subject: String,
    /// Relation name.
    pub relation: String,
    /// Object entity id.
    pub object: String,
    /// Valid from this time (inclusive, ms since the epoch); `None` = always before.
    pub valid_from_ms: Option<i64>,
    /// Valid until this time (exclusive); `None` = still valid.
    pub valid_until_ms: Option<i64>,
    /// `manual` (from `add_fact`) or `text` (from a dated sentence).
    pub source: String,
}

impl Fact {
    /// Whether the fact holds at `at_ms`.
    pub fn valid_at(&self, at_ms: i64) -> bool {
        self.valid_from_ms.is_none_or(|f| f <= at_ms)
            && self.valid_until_ms.is_none_or(|u| at_ms < u)
    }
}

/// Counts for [`KnowledgeGraph::stats`].
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GraphStats {
    /// Number of nodes.
    pub entities: usize,
    /// Number of edges (each counted once).
    pub relations: usize,
    /// Number of temporal facts.
    pub facts: usize,
    /// Mentions of new values that got no node because the graph already holds
    /// `MAX_VALUE_ENTITIES` values.
    pub values_not_kept: u64,
    /// Nodes per type name.
    pub by_type: BTreeMap<String, usize>,
}

#[derive(Default)]
pub(crate) struct FactStore {
    pub facts: Vec<Fact>,
    pub index: HashSet<Fact>,
    /// Facts before this index are persisted.
    pub flushed: usize,
}

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

    /// Inserts or updates a node; returns its number and whether it is new. Fails only when
    /// the type table or the node numbering is full (`InvalidInput`).
    pub(crate) fn upsert_node(
        &self,
        id: &str,
        name: &str,
        ty: &EntityType,
        mentions: u32,
        at_ms: i64,
    ) -> Result<(u32, bool)> {
        let shard_idx = self.shard_of_key(id);
        {
            let mut shard = self.shards[shard_idx].write();
            if let Some(&local) = shard.by_key.get(id) {
                let node = &mut shard.nodes[local as usize];
                node.mentions = node.mentions.saturating_add(mentions);
                node.first_seen = node.first_seen.min(at_ms);
                node.last_seen = node.last_seen.max(at_ms);
                if !starts_upper(&node.name) && starts_upper(name) {
                    node.name = name.into();
                }
                shard.dirty_nodes.insert(local);
                return Ok((join_node(shard_idx, local as usize), false));
            }
        }
        let ty_num = self.intern_type(ty)?;
        let key: Arc<str> = id.into();
        let mut shard = self.shards[shard_idx].write();
        // Re-check: another writer may have created it between the two locks.
        if shard.by_key.contains_key(id) {
            drop(shard);
            return self.upsert_node(id, name, ty, mentions, at_ms);
        }
        let local = shard.nodes.len();
        if local >= MAX_NODES_PER_SHARD {
            return err(
                ErrorCode::InvalidInput,
                format!(
                    "the knowledge graph is full ({} entities)",
                    MAX_NODES_PER_SHARD * SHARDS
                ),
            );
        }
        shard.nodes.push(Node {
            id: key.clone(),
            name: name.into(),
            ty: ty_num,
            mentions,
            first_seen: at_ms,
            last_seen: at_ms,
            adj: Vec::new(),
            adj_index: None,
        });
        shard.by_key.insert(key, local as u32);
        shard.dirty_nodes.insert(local as u32);
        drop(shard);
        if ty.is_value() {
            self.value_count.fetch_add(1, Ordering::Relaxed);
        }
        let node = join_node(shard_idx, local);
        self.names.write().insert((name_key(id).into(), node));
        Ok((node, true))
    }

    /// Adds or reinforces the edge `a → b` (`directed`) or `a — b`; returns whether it is new
    /// (`None` for a self-loop, which is ignored).
    pub(crate) fn upsert_edge(
        &self,
        a: u32,
        b: u32,
        rel: u16,
        directed: bool,
        at_ms: i64,
    ) -> Option<bool> {
        self.apply_edge(a, b, rel, directed, EdgeOp::Observe(at_ms))
    }

    /// Sets an edge to persisted values (used by `load`).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn restore_edge(
        &self,
        a: u32,
        b: u32,
        rel: u16,
        directed: bool,
        weight: f32,
        count: u32,
        updated_ms: i64,
    ) {
        self.apply_edge(
            a,
            b,
            rel,
            directed,
            EdgeOp::Restore {
                weight,
                count,
                updated_ms,
            },
        );
    }

    fn apply_edge(&self, a: u32, b: u32, rel: u16, directed: bool, op: EdgeOp) -> Option<bool> {
        if a == b {
            return None;
        }
        // Canonical holder: the source of a directed edge, the smaller id of a symmetric one.
        let (holder, other, dir) = if directed {
            (a, b, Dir::Out)
        } else {
            (a.min(b), a.max(b), Dir::Both)
        };
        let (hs, hl) = split_node(holder);
        let (os, ol) = split_node(other);
        let half_life = self.config.half_life_ms as f64;
        let update = |h: &mut Shard, o: Option<&mut Shard>| -> bool {
            let node = &mut h.nodes[hl];
            let fresh = |weight, count, updated_ms| Adj {
                other,
                rel,
                dir,
                weight,
                count,
                updated_ms,
            };
            let (adj, is_new) = match (node.find_adj(other, rel, dir), op) {
                (Some(i), EdgeOp::Observe(at_ms)) => {
                    let e = &mut node.adj[i];
                    e.weight = (decay(e.weight, e.updated_ms, at_ms, half_life) + 1.0) as f32;
                    e.count = e.count.saturating_add(1);
                    e.updated_ms = e.updated_ms.max(at_ms);
                    (*e, false)
                }
                (
                    Some(i),
                    EdgeOp::Restore {
                        weight,
                        count,
                        updated_ms,
                    },
                ) => {
                    node.adj[i] = fresh(weight, count, updated_ms);
                    (node.adj[i], false)
                }
                (None, op) => {
                    let e = match op {
                        EdgeOp::Observe(at_ms) => fresh(1.0, 1, at_ms),
                        EdgeOp::Restore {
                            weight,
                            count,
                            updated_ms,
                        } => fresh(weight, count, updated_ms),
                    };
                    node.push_adj(e);
                    (e, true)
                }
            };
            if matches!(op, EdgeOp::Observe(_)) {
                h.dirty_edges.insert((hl as u32, other, rel, dir as u8));
            }
            let mirror = Adj {
                other: holder,
                dir: dir.reverse(),
                ..adj
            };
            let o = o.unwrap_or(h);
            let onode = &mut o.nodes[ol];
            match onode.find_adj(holder, rel, mirror.dir) {
                Some(i) => onode.adj[i] = mirror,
                None => onode.push_adj(mirror),
            }
            is_new
        };
        let is_new = if hs == os {
            let mut g = self.shards[hs].write();
            update(&mut g, None)
        } else {
            let (mut g1, mut g2) = lock_two(&self.shards, hs, os);
            update(&mut g1, Some(&mut g2))
        };
        if is_new {
            self.relation_count.fetch_add(1, Ordering::Relaxed);
        }
        Some(is_new)
    }

    /// Looks up a node number by id.
    pub(crate) fn node_of(&self, id: &str) -> Option<u32> {
        let shard_idx = self.shard_of_key(id);
        let shard = self.shards[shard_idx].read();
        shard
            .by_key
            .get(id)
            .map(|&local| join_node(shard_idx, local as usize))
    }

    fn node_or_not_found(&self, id: &str) -> Result<u32> {
        self.node_of(id).ok_or_else(|| {
            Error::new(
                ErrorCode::NotFound,
                format!("no entity with id `{id}` in the knowledge graph"),
            )
        })
    }

    /// Upserts the chunk's entities, links them by co-occurrence and by relations found in
    /// `text`, and records dated relations as facts. Spans must lie inside `text` on character
    /// boundaries, ids must be non-empty and confidences finite (else `InvalidInput`, and
    /// nothing is changed). Typed relations are looked for only when the entities are sorted
    /// by start, as [`crate::knowledge::EntityExtractor::extract`] returns them.
    pub fn ingest(&self, text: &str, entities: &[Entity], at_ms: i64) -> Result<IngestReport> {
        for e in entities {
            validate_entity(text, e)?;
            // Interning up front means nothing below can fail half-way through the chunk.
            self.intern_type(&e.entity_type)?;
        }
        let mut report = IngestReport::default();
        if entities.is_empty() {
            return Ok(report);
        }
        self.clock_ms.fetch_max(at_ms, Ordering::Relaxed);
        // `None`: a new value past the cap (values have no co-occurrence edges or relations
        // from text, so nothing below needs their node).
        let mut nodes: Vec<Option<u32>> = Vec::with_capacity(entities.len());
        for e in entities {
            if e.entity_type.is_value()
                && self.value_count.load(Ordering::Relaxed) >= MAX_VALUE_ENTITIES
                && self.node_of(&e.id).is_none()
            {
                self.values_not_kept.fetch_add(1, Ordering::Relaxed);
                nodes.push(None);
                continue;
            }
            let (node, is_new) = self.upsert_node(&e.id, &e.name, &e.entity_type, 1, at_ms)?;
            report.new_entities += usize::from(is_new);
            nodes.push(Some(node));
        }
        // Co-occurrence among distinct non-value entities (a set finds repeats: a chunk may
        // hold tens of thousands of entities).
        let mut linked: Vec<u32> = Vec::with_capacity(nodes.len());
        let mut seen: FastSet<u32> = FastSet::default();
        for (e, n) in entities.iter().zip(&nodes) {
            if let Some(n) = *n {
                if !e.entity_type.is_value() && seen.insert(n) {
                    linked.push(n);
                }
            }
        }
        for i in 0..linked.len() {
            for j in i + 1..linked.len().min(i + 1 + COOCCURRENCE_WINDOW) {
                self.count_edge(&mut report, linked[i], linked[j], 0, false, at_ms);
            }
        }
        // Typed relations from connector phrases.
        let mut sorted = true;
        for w in entities.windows(2) {
            sorted &= w[0].start <= w[1].start;
        }
        if sorted {
            for found in find_relations(text, entities) {
                let rel = self.intern_relation(found.relation)?;
                // Relations join things, never values, so both ends have nodes.
                let Some(subject) = nodes[found.subject] else {
                    continue;
                };
                let (object, object_id) = match &found.object {
                    RelationObject::Entity(i) => match nodes[*i] {
                        Some(n) => (n, entities[*i].id.clone()),
                        None => continue,
                    },
                    RelationObject::Concept(name) => {
                        let e = Entity::new(name, EntityType::Concept, 0, 0, 0.5);
                        let (n, is_new) =
                            self.upsert_node(&e.id, name, &EntityType::Concept, 1, at_ms)?;
                        report.new_entities += usize::from(is_new);
                        (n, e.id)
                    }
                };
                self.count_edge(&mut report, subject, object, rel, true, at_ms);
                if found.valid_from.is_some() || found.valid_until.is_some() {
                    self.insert_fact(Fact {
                        subject: entities[found.subject].id.clone(),
                        relation: found.relation.to_string(),
                        object: object_id,
                        valid_from_ms: found.valid_from,
                        valid_until_ms: found.valid_until,
                        source: "text".to_string(),
                    });
                }
            }
        }
        Ok(report)
    }

    fn count_edge(
        &self,
        report: &mut IngestReport,
        a: u32,
        b: u32,
        rel: u16,
        directed: bool,
        at_ms: i64,
    ) {
        match self.upsert_edge(a, b, rel, directed, at_ms) {
            Some(true) => report.new_relations += 1,
            Some(false) => report.updated_relations += 1,
            None => {}
        }
    }

    /// Records `subject relation object` valid in `[valid_from_ms, valid_until_ms)` and links
    /// the two entities by `relation`. Returns `true` if the fact is new. Unknown ids →
    /// `NotFound`; a relation that is not `[a-z][a-z0-9_]*` after lowercasing (spaces become
    /// `_`) or an empty interval → `InvalidInput`.
    pub fn add_fact(
        &self,
        subject_id: &str,
        relation: &str,
        object_id: &str,
        valid_from_ms: Option<i64>,
        valid_until_ms: Option<i64>,
    ) -> Result<bool> {
        let relation = normalize_relation(relation)?;
        if let (Some(f), Some(u)) = (valid_from_ms, valid_until_ms) {
            if f >= u {
                return err(
                    ErrorCode::InvalidInput,
                    format!("validFromMs ({f}) must be before validUntilMs ({u})"),
                );
            }
        }
        let subject = self.node_or_not_found(subject_id)?;
        let object = self.node_or_not_found(object_id)?;
        if subject == object {
            return err(
                ErrorCode::InvalidInput,
                "a fact needs two different entities",
            );
        }
        let rel = self.intern_relation(&relation)?;
        let at = valid_from_ms.unwrap_or_else(|| self.clock_ms.load(Ordering::Relaxed).max(0));
        self.upsert_edge(subject, object, rel, true, at);
        Ok(self.insert_fact(Fact {
            subject: subject_id.to_string(),
            relation,
            object: object_id.to_string(),
            valid_from_ms,
            valid_until_ms,
            source: "manual".to_string(),
        }))
    }

    pub(crate) fn insert_fact(&self, fact: Fact) -> bool {
        let mut store = self.facts.write();
        if store.index.contains(&fact) {
            return false;
        }
        store.index.insert(fact.clone());
        store.facts.push(fact);
        true
    }

    /// Facts valid at `at_ms`, in insertion order.
    pub fn facts_at(&self, at_ms: i64) -> Vec<Fact> {
        self.facts
            .read()
            .facts
            .iter()
            .filter(|f| f.valid_at(at_ms))
            .cloned()
            .collect()
    }

    /// The node with this id.
    pub fn entity(&self, id: &str) -> Option<EntityRecord> {
        let node = self.node_of(id)?;
        Some(self.record(node))
    }

    fn record(&self, node: u32) -> EntityRecord {
        let (s, l) = split_node(node);
        let shard = self.shards[s].read();
        let n = &shard.nodes[l];
        EntityRecord {
            id: n.id.to_string(),
            name: n.name.to_string(),
            entity_type: self.type_of(n.ty),
            mentions: u64::from(n.mentions),
            first_seen_ms: n.first_seen,
            last_seen_ms: n.last_seen,
            degree: n.adj.len(),
        }
    }

    /// Nodes matching the query, at most `limit`. With a prefix, results come from the sorted
    /// name index in name order (no scan); without, in storage order.
    pub fn entities(&self, q: &EntityQuery) -> Vec<EntityRecord> {
        if q.limit == 0 {
            return Vec::new();
        }
        let wanted_type = match &q.entity_type {
            Some(t) => match self.types_matching(t) {
                Some(tys) => Some(tys),
                None => return Vec::new(),
            },
            None => None,
        };
        let mut out = Vec::new();
        match q.prefix.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
            Some(prefix) => {
                // "type:name" prefixes restrict the type too.
                let (type_filter, name_prefix) = match prefix.split_once(':') {
                    Some((t, n)) => match self.types_matching(t) {
                        Some(tys) => (Some(tys), normalize_name(n)),
                        None => return Vec::new(),
                    },
                    None => (None, normalize_name(prefix)),
                };
                let names = self.names.read();
                let start: (Box<str>, u32) = (name_prefix.as_str().into(), 0);
                for (name, node) in names.range((Bound::Included(start), Bound::Unbounded)) {
                    if !name.starts_with(name_prefix.as_str()) {
                        break;
                    }
                    let (s, l) = split_node(*node);
                    let ty = self.shards[s].read().nodes[l].ty;
                    if type_filter.as_ref().is_some_and(|t| !t.contains(&ty))
                        || wanted_type.as_ref().is_some_and(|t| !t.contains(&ty))
                    {
                        continue;
                    }
                    out.push(*node);
                    if out.len() == q.limit {
                        break;
                    }
                }
            }
            None => {
                'outer: for (s, shard) in self.shards.iter().enumerate() {
                    let shard = shard.read();
                    for (l, n) in shard.nodes.iter().enumerate() {
                        if wanted_type.as_ref().is_some_and(|t| !t.contains(&n.ty)) {
                            continue;
                        }
                        out.push(join_node(s, l));
                        if out.len() == q.limit {
                            break 'outer;
                        }
                    }
                }
            }
        }
        out.into_iter().map(|n| self.record(n)).collect()
    }

    /// The interned types a query's type name means, matched case-insensitively (custom
    /// types keep their case when stored, so `Product` and `product` may both exist);
    /// `None` when the name is invalid or no such type was seen.
    fn types_matching(&self, name: &str) -> Option<Vec<u16>> {
        let wanted = EntityType::parse(name).ok()?;
        let types = self.types.read();
        let found: Vec<u16> = types
            .names
            .iter()
            .enumerate()
            .filter(|(_, n)| n.eq_ignore_ascii_case(wanted.as_str()))
            .map(|(i, _)| i as u16)
            .collect();
        (!found.is_empty()).then_some(found)
    }

    /// Copies a node's adjacency (optionally one relation) without holding the lock afterwards.
    fn neighbours_of(&self, node: u32, rel: Option<u16>, out: &mut Vec<Adj>) {
        out.clear();
        let (s, l) = split_node(node);
        let shard = self.shards[s].read();
        let adj = &shard.nodes[l].adj;
        match rel {
            Some(r) => out.extend(adj.iter().filter(|a| a.rel == r)),
            None => out.extend_from_slice(adj),
        }
    }

    /// Nodes within `depth` hops of `id` (1..=6), breadth first, optionally along one relation
    /// only; sorted by depth, then weight (desc). At most 10,000 results. Unknown id →
    /// `NotFound`; depth 0 or over 6 → `InvalidInput`.
    pub fn related(&self, id: &str, depth: usize, relation: Option<&str>) -> Result<Vec<Related>> {
        if depth == 0 || depth > MAX_DEPTH {
            return err(
                ErrorCode::InvalidInput,
                format!("depth must be between 1 and {MAX_DEPTH}, got {depth}"),
            );
        }
        let start = self.node_or_not_found(id)?;
        let rel = match relation {
            Some(r) => match self.relations.read().get(&normalize_relation(r)?) {
                Some(r) => Some(r),
                None => return Ok(Vec::new()),
            },
            None => None,
        };
        let now = self.clock_ms.load(Ordering::Relaxed);
        let half_life = self.config.half_life_ms as f64;
        let mut visited: HashSet<u32> = HashSet::from([start]);
        let mut frontier = vec![start];
        let mut hits: Vec<(u32, Adj, usize, u32)> = Vec::new();
        let mut adj = Vec::new();
        'bfs: for d in 1..=depth {
            let mut next = Vec::new();
            for &node in &frontier {
                self.neighbours_of(node, rel, &mut adj);
                for a in &adj {
                    if visited.insert(a.other) {
                        hits.push((a.other, *a, d, node));
                        next.push(a.other);
                        if hits.len() == MAX_RELATED {
                            break 'bfs;
                        }
                    }
                }
            }
            if next.is_empty() {
                break;
            }
            frontier = next;
        }
        let mut out: Vec<Related> = hits
            .into_iter()
            .map(|(node, a, d, via)| {
                let rec = self.record(node);
                Related {
                    id: rec.id,
                    name: rec.name,
                    entity_type: rec.entity_type,
                    relation: self.relation_name(a.rel).to_string(),
                    weight: decay(a.weight, a.updated_ms, now, half_life),
                    depth: d,
                    via: self.id_of(via),
                    direction: a.dir.as_str().to_string(),
                }
            })
            .collect();
        out.sort_by(|a, b| a.depth.cmp(&b.depth).then(b.weight.total_cmp(&a.weight)));
        Ok(out)
    }

    /// Direct neighbours of `id` (edges in both directions), optionally along one relation:
    /// the cheap form of `related(id, 1, relation)` (ids and relation names are shared `Arc`s,
    /// unsorted). Unknown id → `NotFound`.
    pub fn neighbours(&self, id: &str, relation: Option<&str>) -> Result<Vec<Neighbour>> {
        let node = self.node_or_not_found(id)?;
        let rel = match relation {
            Some(r) => match self.relations.read().get(&normalize_relation(r)?) {
                Some(r) => Some(r),
                None => return Ok(Vec::new()),
            },
            None => None,
        };
        let mut adj = Vec::new();
        self.neighbours_of(node, rel, &mut adj);
        let now = self.clock_ms.load(Ordering::Relaxed);
        let half_life = self.config.half_life_ms as f64;
        let relations = self.relations.read();
        Ok(adj
            .iter()
            .map(|a| {
                let (s, l) = split_node(a.other);
                Neighbour {
                    id: self.shards[s].read().nodes[l].id.clone(),
                    relation: relations.names[a.rel as usize].clone(),
                    weight: decay(a.weight, a.updated_ms, now, half_life),
                    direction: a.dir.as_str(),
                }
            })
            .collect())
    }

    /// Number of edges of `id` (both directions, all relations). Unknown id → `NotFound`.
    pub fn neighbour_count(&self, id: &str) -> Result<usize> {
        let node = self.node_or_not_found(id)?;
        let (s, l) = split_node(node);
        Ok(self.shards[s].read().nodes[l].adj.len())
    }

    fn id_of(&self, node: u32) -> String {
        let (s, l) = split_node(node);
        self.shards[s].read().nodes[l].id.to_string()
    }

    /// Shortest path between two nodes (edges in either direction, any relation), as ids from
    /// `from` to `to`; `Ok(None)` when unconnected. Bidirectional BFS. Unknown ids → `NotFound`.
    pub fn path(&self, from: &str, to: &str) -> Result<Option<Vec<String>>> {
        let a = self.node_or_not_found(from)?;
        let b = self.node_or_not_found(to)?;
        if a == b {
            return Ok(Some(vec![from.to_string()]));
        }
        let mut parents = [HashMap::from([(a, a)]), HashMap::from([(b, b)])];
        let mut frontiers = [VecDeque::from([a]), VecDeque::from([b])];
        let mut adj = Vec::new();
        while !frontiers[0].is_empty() && !frontiers[1].is_empty() {
            // Expand the smaller frontier one full level.
            let side = usize::from(frontiers[1].len() < frontiers[0].len());
            let level: Vec<u32> = frontiers[side].drain(..).collect();
            for node in level {
                self.neighbours_of(node, None, &mut adj);
                for e in &adj {
                    if parents[side].contains_key(&e.other) {
                        continue;
                    }
                    parents[side].insert(e.other, node);
                    if parents[1 - side].contains_key(&e.other) {
                        return Ok(Some(self.join_path(&parents, e.other)));
                    }
                    frontiers[side].push_back(e.other);
                }
            }
        }
        Ok(None)
    }

    fn join_path(&self, parents: &[HashMap<u32, u32>; 2], meet: u32) -> Vec<String> {
        let mut left = vec![meet];
        let mut n = meet;
        while let Some(&p) = parents[0].get(&n) {
            if p == n {
                break;
            }
            left.push(p);
            n = p;
        }
        left.reverse();
        let mut n = meet;
        while let Some(&p) = parents[1].get(&n) {
            if p == n {
                break;
            }
            left.push(p);
            n = p;
        }
        left.into_iter().map(|n| self.id_of(n)).collect()
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

    /// Ground facts for the rule engine, at most `limit`:
    /// * `entity(Id)` for every node;
    /// * `<type>(Id)` with the lowercase type name (`place(place:tokyo)`, `person(...)`,
    ///   `datetime(...)`, custom types lowercased);
    /// * `<relation>(Source, Target)` for every typed edge (`works_at(person:x, organization:y)`)
    ///   and `co_occurs(A, B)` once per co-occurrence edge (lexicographically smaller id first).
    ///
    /// Arguments are entity ids verbatim.
    pub fn logical_facts(&self, limit: usize) -> Vec<(String, Vec<String>)> {
        let mut out = Vec::new();
        if limit == 0 {
            return out;
        }
        let type_preds: Vec<String> = self
            .types
            .read()
            .names
            .iter()
            .map(|n| n.to_lowercase())
            .collect();
        let rel_names = self.relations.read().name_strings();
        for (s, shard) in self.shards.iter().enumerate() {
            // Edges to other shards are resolved after this shard's lock is released: holding
            // one shard lock while taking another could deadlock with an edge writer.
            let mut foreign: Vec<(Arc<str>, u16, Dir, u32)> = Vec::new();
            {
                let shard = shard.read();
                for n in shard.nodes.iter() {
                    let id = n.id.to_string();
                    out.push(("entity".to_string(), vec![id.clone()]));
                    if let Some(t) = type_preds.get(n.ty as usize) {
                        out.push((t.clone(), vec![id.clone()]));
                    }
                    for a in &n.adj {
                        if a.dir == Dir::In {
                            continue;
                        }
                        let (os, ol) = split_node(a.other);
                        if os != s {
                            foreign.push((n.id.clone(), a.rel, a.dir, a.other));
                            continue;
                        }
                        let other = &shard.nodes[ol].id;
                        // Symmetric edges once, smaller id first (stable across reloads).
                        if a.dir == Dir::Out || n.id < *other {
                            out.push((
                                rel_names[a.rel as usize].clone(),
                                vec![id.clone(), other.to_string()],
                            ));
                        }
                    }
                    if out.len() >= limit {
                        break;
                    }
                }
            }
            for (id, rel, dir, other) in foreign {
                if out.len() >= limit {
                    break;
                }
                let other = self.id_of(other);
                if dir == Dir::Out || *id < *other {
                    out.push((rel_names[rel as usize].clone(), vec![id.to_string(), other]));
                }
            }
            if out.len() >= limit {
                out.truncate(limit);
                return out;
            }
        }
        out
    }
}

fn intern_locked(w: &mut Interner, name: &str, what: &str) -> Result<u16> {
    let Ok(i) = u16::try_from(w.names.len()) else {
        return err(
            ErrorCode::InvalidInput,
            format!("too many distinct {what} (at most 65,536)"),
        );
    };
    let name: Arc<str> = name.into();
    w.names.push(name.clone());
    w.index.insert(name, i);
    Ok(i)
}

/// Locks two different shards in index order (deadlock-free); returns them as (a, b).
fn lock_two(
    shards: &[RwLock<Shard>],
    a: usize,
    b: usize,
) -> (RwLockWriteGuard<'_, Shard>, RwLockWriteGuard<'_, Shard>) {
    if a < b {
        let ga = shards[a].write();
        let gb = shards[b].write();
        (ga, gb)
    } else {
        let gb = shards[b].write();
        let ga = shards[a].write();
        (ga, gb)
    }
}

/// `weight` at `from_ms`, decayed to `to_ms` (no growth when `to_ms` is earlier).
pub(crate) fn decay(weight: f32, from_ms: i64, to_ms: i64, half_life_ms: f64) -> f64 {
    let dt = to_ms.saturating_sub(from_ms);
    if dt <= 0 {
        return f64::from(weight);
    }
    f64::from(weight) * (0.5f64).powf(dt as f64 / half_life_ms)
}

fn starts_upper(s: &str) -> bool {
    s.chars().next().is_some_and(char::is_uppercase)
}

fn validate_entity(text: &str, e: &Entity) -> Result<()> {
    let id = e.id.trim();
    if id.is_empty() {
        return err(ErrorCode::InvalidInput, "entity id must not be empty");
    }
    if id.len() > MAX_ID_LEN {
        return err(
            ErrorCode::InvalidInput,
            format!("entity id is longer than {MAX_ID_LEN} bytes"),
        );
    }
    if e.start > e.end
        || e.end > text.len()
        || !text.is_char_boundary(e.start)
        || !text.is_char_boundary(e.end)
    {
        return err(
            ErrorCode::InvalidInput,
            format!(
                "entity `{}` span {}..{} is not a character range of the {}-byte text",
                e.id,
                e.start,
                e.end,
                text.len()
            ),
        );
    }
    if !e.confidence.is_finite() {
        return err(
            ErrorCode::InvalidInput,
            format!("entity `{}` confidence must be finite", e.id),
        );
    }
    Ok(())
}

/// Lowercases a relation name and maps spaces/`-` to `_`; it must then be `[a-z][a-z0-9_]*`
/// (at most 64 bytes), so it can be a logical predicate.
pub(crate) fn normalize_relation(relation: &str) -> Result<String> {
    let r: String = relation
        .trim()
        .chars()
        .map(|c| {
            if c.is_whitespace() || c == '-' {
                '_'
            } else {
                c.to_ascii_lowercase()
            }
        })
        .collect();
    let valid = r.len() <= 64
        && r.starts_with(|c: char| c.is_ascii_lowercase())
        && r.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !valid {
        return err(
            ErrorCode::InvalidInput,
            format!("relation `{relation}` must be letters, digits and `_`, starting with a letter (max 64)"),
        );
    }
    Ok(r)
}

impl KnowledgeGraph {
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

    /// Every temporal fact, valid or not, in insertion order.
    pub fn temporal_facts(&self) -> Vec<Fact> {
        self.facts.read().facts.clone()
    }
}
