//! SQLite persistence of the knowledge graph (`la_kg_entities`, `la_kg_relations`, `la_kg_facts`).
//!
//! [`KnowledgeGraph::flush`] writes only what changed since the previous flush: each shard
//! keeps the set of dirty node numbers and dirty edges (keyed at the edge's holder), and facts
//! are append-only, so the facts past the last flushed index are new. The dirty sets are taken
//! out under the shard locks, the rows are read, and everything is upserted in one transaction;
//! if the transaction fails the dirty marks are put back so the next flush retries them.
//!
//! Each edge is one row (`source`, `target`, `relation`); `directed = 0` rows are co-occurrence
//! edges stored once with the smaller node first. [`KnowledgeGraph::load`] rebuilds both
//! adjacency copies.

use std::sync::atomic::Ordering;

use rusqlite::{params, Connection, OptionalExtension};

use super::entity::EntityType;
use super::graph::{Dir, Fact, FastSet, GraphConfig, KnowledgeGraph, SHARDS};
use crate::error::{Error, ErrorCode, Result};

/// Creates the `la_kg_*` tables if they do not exist.
pub fn ensure_schema(conn: &Connection) -> Result<()> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS la_kg_entities (
            id TEXT PRIMARY KEY NOT NULL,
            name TEXT NOT NULL,
            type TEXT NOT NULL,
            mentions INTEGER NOT NULL,
            first_seen_ms INTEGER NOT NULL,
            last_seen_ms INTEGER NOT NULL
        );
        CREATE INDEX IF NOT EXISTS la_kg_entities_type ON la_kg_entities(type);
        CREATE TABLE IF NOT EXISTS la_kg_dictionary (
            type TEXT NOT NULL,
            name TEXT NOT NULL,
            PRIMARY KEY (type, name)
        ) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS la_kg_relations (
            source TEXT NOT NULL,
            target TEXT NOT NULL,
            relation TEXT NOT NULL,
            directed INTEGER NOT NULL,
            weight REAL NOT NULL,
            count INTEGER NOT NULL,
            updated_ms INTEGER NOT NULL,
            PRIMARY KEY (source, target, relation)
        ) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS la_kg_facts (
            seq INTEGER PRIMARY KEY NOT NULL,
            subject TEXT NOT NULL,
            relation TEXT NOT NULL,
            object TEXT NOT NULL,
            valid_from_ms INTEGER,
            valid_until_ms INTEGER,
            source TEXT NOT NULL
        );",
    )?;
    Ok(())
}

struct EntityRow {
    id: String,
    name: String,
    ty: String,
    mentions: i64,
    first: i64,
    last: i64,
}

struct RelationRow {
    source: String,
    target: String,
    relation: String,
    directed: bool,
    weight: f64,
    count: i64,
    updated: i64,
}

type DirtyEdges = Vec<FastSet<(u32, u32, u16, u8)>>;

impl KnowledgeGraph {
    /// Writes nodes, edges and facts changed since the last flush in one transaction (creating
    /// the tables if needed); returns the number of rows written.
    pub fn flush(&self, conn: &mut Connection) -> Result<usize> {
        ensure_schema(conn)?;
        // Take the dirty sets.
        let mut dirty_nodes: Vec<FastSet<u32>> = Vec::with_capacity(SHARDS);
        let mut dirty_edges: DirtyEdges = Vec::with_capacity(SHARDS);
        for shard in self.shards.iter() {
            let mut s = shard.write();
            dirty_nodes.push(std::mem::take(&mut s.dirty_nodes));
            dirty_edges.push(std::mem::take(&mut s.dirty_edges));
        }
        let (facts, facts_from) = {
            let store = self.facts.read();
            (store.facts[store.flushed..].to_vec(), store.flushed)
        };
        let (entities, relations) = self.collect_rows(&dirty_nodes, &dirty_edges);
        let written = entities.len() + relations.len() + facts.len();
        let result = write_rows(conn, &entities, &relations, &facts, facts_from);
        match result {
            Ok(()) => {
                let mut store = self.facts.write();
                store.flushed = store.flushed.max(facts_from + facts.len());
                Ok(written)
            }
            Err(e) => {
                for (shard, (nodes, edges)) in self
                    .shards
                    .iter()
                    .zip(dirty_nodes.into_iter().zip(dirty_edges))
                {
                    let mut s = shard.write();
                    s.dirty_nodes.extend(nodes);
                    s.dirty_edges.extend(edges);
                }
                Err(e)
            }
        }
    }

    fn collect_rows(
        &self,
        dirty_nodes: &[FastSet<u32>],
        dirty_edges: &DirtyEdges,
    ) -> (Vec<EntityRow>, Vec<RelationRow>) {
        let types = self.types.read().name_strings();
        let rels = self.relations.read().name_strings();
        let mut entities = Vec::new();
        let mut relations = Vec::new();
        for (s, shard) in self.shards.iter().enumerate() {
            // Targets in other shards are resolved after this shard's lock is released (holding
            // two shard locks here could deadlock with an edge writer).
            let mut foreign: Vec<(usize, u32)> = Vec::new();
            {
                let shard = shard.read();
                for &local in &dirty_nodes[s] {
                    let n = &shard.nodes[local as usize];
                    entities.push(EntityRow {
                        id: n.id.to_string(),
                        name: n.name.to_string(),
                        ty: types[n.ty as usize].clone(),
                        mentions: i64::from(n.mentions),
                        first: n.first_seen,
                        last: n.last_seen,
                    });
                }
                for &(local, other, rel, dir) in &dirty_edges[s] {
                    let n = &shard.nodes[local as usize];
                    let Some(dir) = Dir::from_u8(dir) else {
                        continue;
                    };
                    let Some(a) = n.find_adj(other, rel, dir).map(|i| n.adj[i]) else {
                        continue;
                    };
                    let (os, ol) = ((other as usize) % SHARDS, (other as usize) / SHARDS);
                    let target = if os == s {
                        shard.nodes[ol].id.to_string()
                    } else {
                        foreign.push((relations.len(), other));
                        String::new()
                    };
                    relations.push(RelationRow {
                        source: n.id.to_string(),
                        target,
                        relation: rels[rel as usize].clone(),
                        directed: a.dir == Dir::Out,
                        weight: f64::from(a.weight),
                        count: i64::from(a.count),
                        updated: a.updated_ms,
                    });
                }
            }
            for (row, other) in foreign {
                let (os, ol) = ((other as usize) % SHARDS, (other as usize) / SHARDS);
                relations[row].target = self.shards[os].read().nodes[ol].id.to_string();
            }
        }
        (entities, relations)
    }

    /// Loads a graph saved with [`KnowledgeGraph::flush`] (default configuration). Missing
    /// tables load as an empty graph; rows naming unknown entities → `StoreCorrupt`.
    pub fn load(conn: &Connection) -> Result<KnowledgeGraph> {
        KnowledgeGraph::load_with_config(conn, GraphConfig::default())
    }

    /// Like [`KnowledgeGraph::load`] with a configuration (half-life ≤ 0 → `InvalidConfig`).
    pub fn load_with_config(conn: &Connection, config: GraphConfig) -> Result<KnowledgeGraph> {
        let graph = KnowledgeGraph::with_config(config)?;
        let exists: Option<String> = conn
            .query_row(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'la_kg_entities'",
                [],
                |r| r.get(0),
            )
            .optional()?;
        if exists.is_none() {
            return Ok(graph);
        }
        let mut clock = i64::MIN;
        {
            let mut stmt = conn.prepare(
                "SELECT id, name, type, mentions, first_seen_ms, last_seen_ms FROM la_kg_entities",
            )?;
            let mut rows = stmt.query([])?;
            while let Some(r) = rows.next()? {
                let id: String = r.get(0)?;
                let name: String = r.get(1)?;
                let ty: String = r.get(2)?;
                let mentions: i64 = r.get(3)?;
                let first: i64 = r.get(4)?;
                let last: i64 = r.get(5)?;
                let ty = EntityType::parse(&ty)
                    .map_err(|e| corrupt(format!("entity `{id}` has a bad type: {}", e.message)))?;
                let (node, _) = graph.upsert_node(
                    &id,
                    &name,
                    &ty,
                    u32::try_from(mentions.max(0)).unwrap_or(u32::MAX),
                    first,
                )?;
                graph.set_last_seen(node, last);
                clock = clock.max(last);
            }
        }
        {
            let mut stmt = conn.prepare(
                "SELECT source, target, relation, directed, weight, count, updated_ms FROM la_kg_relations",
            )?;
            let mut rows = stmt.query([])?;
            while let Some(r) = rows.next()? {
                let source: String = r.get(0)?;
                let target: String = r.get(1)?;
                let relation: String = r.get(2)?;
                let directed: bool = r.get::<_, i64>(3)? != 0;
                let weight: f64 = r.get(4)?;
                let count: i64 = r.get(5)?;
                let updated: i64 = r.get(6)?;
                let (Some(a), Some(b)) = (graph.node_of(&source), graph.node_of(&target)) else {
                    return Err(corrupt(format!(
                        "relation {source} -{relation}-> {target} names an unknown entity"
                    )));
                };
                if !weight.is_finite() {
                    return Err(corrupt(format!(
                        "relation {source} -{relation}-> {target} has a non-finite weight"
                    )));
                }
                let rel = graph.intern_relation(&relation)?;
                graph.restore_edge(
                    a,
                    b,
                    rel,
                    directed,
                    weight as f32,
                    u32::try_from(count.max(0)).unwrap_or(u32::MAX),
                    updated,
                );
                clock = clock.max(updated);
            }
        }
        {
            let mut stmt = conn.prepare(
                "SELECT subject, relation, object, valid_from_ms, valid_until_ms, source FROM la_kg_facts ORDER BY seq",
            )?;
            let mut rows = stmt.query([])?;
            while let Some(r) = rows.next()? {
                graph.insert_fact(Fact {
                    subject: r.get(0)?,
                    relation: r.get(1)?,
                    object: r.get(2)?,
                    valid_from_ms: r.get(3)?,
                    valid_until_ms: r.get(4)?,
                    source: r.get(5)?,
                });
            }
        }
        graph.mark_clean(clock);
        Ok(graph)
    }
}

fn corrupt(message: String) -> Error {
    Error::new(ErrorCode::StoreCorrupt, message)
}

fn write_rows(
    conn: &mut Connection,
    entities: &[EntityRow],
    relations: &[RelationRow],
    facts: &[Fact],
    facts_from: usize,
) -> Result<()> {
    let tx = conn.transaction()?;
    {
        let mut stmt = tx.prepare_cached(
            "INSERT INTO la_kg_entities (id, name, type, mentions, first_seen_ms, last_seen_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT(id) DO UPDATE SET name = excluded.name, type = excluded.type,
               mentions = excluded.mentions, first_seen_ms = excluded.first_seen_ms,
               last_seen_ms = excluded.last_seen_ms",
        )?;
        for e in entities {
            stmt.execute(params![e.id, e.name, e.ty, e.mentions, e.first, e.last])?;
        }
        let mut stmt = tx.prepare_cached(
            "INSERT INTO la_kg_relations (source, target, relation, directed, weight, count, updated_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT(source, target, relation) DO UPDATE SET directed = excluded.directed,
               weight = excluded.weight, count = excluded.count, updated_ms = excluded.updated_ms",
        )?;
        for r in relations {
            stmt.execute(params![
                r.source,
                r.target,
                r.relation,
                i64::from(r.directed),
                r.weight,
                r.count,
                r.updated
            ])?;
        }
        let mut stmt = tx.prepare_cached(
            "INSERT INTO la_kg_facts (seq, subject, relation, object, valid_from_ms, valid_until_ms, source)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT(seq) DO UPDATE SET subject = excluded.subject, relation = excluded.relation,
               object = excluded.object, valid_from_ms = excluded.valid_from_ms,
               valid_until_ms = excluded.valid_until_ms, source = excluded.source",
        )?;
        for (i, f) in facts.iter().enumerate() {
            let seq = i64::try_from(facts_from + i).unwrap_or(i64::MAX);
            stmt.execute(params![
                seq,
                f.subject,
                f.relation,
                f.object,
                f.valid_from_ms,
                f.valid_until_ms,
                f.source
            ])?;
        }
    }
    tx.commit()?;
    Ok(())
}

impl KnowledgeGraph {
    fn set_last_seen(&self, node: u32, last: i64) {
        let (s, l) = ((node as usize) % SHARDS, (node as usize) / SHARDS);
        let mut shard = self.shards[s].write();
        let n = &mut shard.nodes[l];
        n.last_seen = last;
    }

    fn mark_clean(&self, clock: i64) {
        for shard in self.shards.iter() {
            let mut s = shard.write();
            s.dirty_nodes.clear();
            s.dirty_edges.clear();
        }
        let mut facts = self.facts.write();
        facts.flushed = facts.facts.len();
        self.clock_ms.fetch_max(clock, Ordering::Relaxed);
    }
}

/// Persists user dictionary names (added with `EntityExtractor::add_dictionary`).
pub fn save_dictionary(conn: &mut Connection, entity_type: &str, names: &[String]) -> Result<()> {
    let tx = conn.transaction()?;
    {
        let mut st = tx.prepare_cached(
            "INSERT OR IGNORE INTO la_kg_dictionary (type, name) VALUES (?1, ?2)",
        )?;
        for n in names {
            st.execute(rusqlite::params![entity_type, n])?;
        }
    }
    tx.commit()?;
    Ok(())
}

/// Reloads persisted user dictionaries into `extractor`; returns how many names were loaded.
pub fn load_dictionaries(conn: &Connection, extractor: &super::EntityExtractor) -> Result<usize> {
    let mut st = conn.prepare("SELECT type, name FROM la_kg_dictionary ORDER BY type, name")?;
    let rows = st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
    let mut by_type: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for row in rows {
        let (t, n) = row?;
        by_type.entry(t).or_default().push(n);
    }
    let mut total = 0;
    for (t, names) in by_type {
        total += names.len();
        extractor.add_dictionary(&t, &names)?;
    }
    Ok(total)
}
