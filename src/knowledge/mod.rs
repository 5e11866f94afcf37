//! Entity extraction and the knowledge graph.
//!
//! Every processed text chunk goes through two steps on the hot path:
//!
//! 1. [`EntityExtractor::extract`] finds typed, non-overlapping entity mentions. Structured
//!    types (e-mail, URL, money, numbers, dates and times) and name patterns come from one
//!    multi-pattern regex pass (`patterns.rs`); names come from a built-in gazetteer
//!    plus user dictionaries matched with one Aho-Corasick automaton (`gazetteer.rs`); names
//!    that no list knows come from suffix/title patterns and a capitalised-phrase heuristic.
//!    Candidates compete for spans: the longest wins, then the most specific source.
//! 2. [`KnowledgeGraph::ingest`] upserts one node per entity id (ids are stable, readable
//!    strings such as `place:tokyo`), adds decayed co-occurrence edges and typed relations
//!    found by connector phrases between entity spans ("works at", "is in", ...), and records
//!    temporal facts ("since 2020").
//!
//! The graph is sharded: each node, its outgoing edges and its dirty flags live in one shard
//! behind a `parking_lot::RwLock`, so readers run concurrently and writers from different
//! sessions rarely meet. Persistence (`persist.rs`) writes only what changed since the last
//! flush into `la_kg_*` SQLite tables.

#![warn(missing_docs)]

mod entity;
mod extract;
mod gazetteer;
mod graph;
mod patterns;
mod persist;
mod relations;

pub use entity::{entity_id, normalize_name, Entity, EntityType};
pub use extract::EntityExtractor;
pub use graph::{
    EntityQuery, EntityRecord, Fact, GraphConfig, GraphStats, IngestReport, KnowledgeGraph,
    Neighbour, Related,
};
pub use persist::{ensure_schema, load_dictionaries, save_dictionary};

#[cfg(test)]
mod large_chunk_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod value_cap_tests;
