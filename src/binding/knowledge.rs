//! The knowledge graph's methods on `NativeSystem` (`sys.knowledge.*` in JS).

use napi_derive::napi;

use super::error::{parse_json, to_js, to_json};
use super::system::NativeSystem;
use crate::knowledge::EntityQuery;

#[napi]
impl NativeSystem {
    /// Entities matching a query (`{entityType?, prefix?, limit}`) as JSON.
    #[napi(catch_unwind)]
    pub fn kg_entities(&self, query_json: String) -> napi::Result<String> {
        let q: EntityQuery = parse_json("entity query", &query_json)?;
        to_json(&self.engine()?.graph().map_err(to_js)?.entities(&q))
    }

    /// One entity by id (JSON `null` when absent).
    #[napi(catch_unwind)]
    pub fn kg_entity(&self, id: String) -> napi::Result<String> {
        to_json(&self.engine()?.graph().map_err(to_js)?.entity(&id))
    }

    /// Entities reachable from `id` within `depth` hops (optionally by one relation) as JSON.
    #[napi(catch_unwind)]
    pub fn kg_related(
        &self,
        id: String,
        depth: u32,
        relation: Option<String>,
    ) -> napi::Result<String> {
        let g = self.engine()?.graph().map_err(to_js)?;
        to_json(
            &g.related(&id, depth as usize, relation.as_deref())
                .map_err(to_js)?,
        )
    }

    /// The shortest path of entity ids between two entities (JSON `null` when none).
    #[napi(catch_unwind)]
    pub fn kg_path(&self, from: String, to: String) -> napi::Result<String> {
        let g = self.engine()?.graph().map_err(to_js)?;
        to_json(&g.path(&from, &to).map_err(to_js)?)
    }

    /// Temporal facts valid at `atMs` as JSON.
    #[napi(catch_unwind)]
    pub fn kg_facts_at(&self, at_ms: f64) -> napi::Result<String> {
        to_json(
            &self
                .engine()?
                .graph()
                .map_err(to_js)?
                .facts_at(at_ms as i64),
        )
    }

    /// Adds a temporal fact; true when it is new.
    #[napi(catch_unwind)]
    pub fn kg_add_fact(
        &self,
        subject: String,
        relation: String,
        object: String,
        valid_from_ms: Option<f64>,
        valid_until_ms: Option<f64>,
    ) -> napi::Result<bool> {
        let g = self.engine()?.graph().map_err(to_js)?;
        g.add_fact(
            &subject,
            &relation,
            &object,
            valid_from_ms.map(|v| v as i64),
            valid_until_ms.map(|v| v as i64),
        )
        .map_err(to_js)
    }

    /// Graph statistics as JSON.
    #[napi(catch_unwind)]
    pub fn kg_stats(&self) -> napi::Result<String> {
        to_json(&self.engine()?.graph().map_err(to_js)?.stats())
    }

    /// Adds names of a (possibly user-defined) entity type to the gazetteer; returns how many were new.
    #[napi(catch_unwind)]
    pub fn kg_add_dictionary(&self, entity_type: String, names: Vec<String>) -> napi::Result<u32> {
        self.engine()?
            .add_dictionary(&entity_type, &names)
            .map(|n| n as u32)
            .map_err(to_js)
    }

    /// Entities found in a text, without changing the graph, as JSON.
    #[napi(catch_unwind)]
    pub fn kg_extract(&self, text: String) -> napi::Result<String> {
        to_json(&self.engine()?.extractor().map_err(to_js)?.extract(&text))
    }
}
