//! The reasoning bank's methods on `NativeSystem` (`sys.bank.*` in JS).

use napi_derive::napi;
use serde_json::Value;

use super::error::{parse_json, to_js, to_json};
use super::system::NativeSystem;
use crate::memory::{
    default_agentic_flow_db_path, LearningInput, MemoryInput, QueryOptions, RetrieveOptions,
};

fn options<T: serde::de::DeserializeOwned + Default>(
    what: &str,
    json: Option<String>,
) -> napi::Result<T> {
    match json {
        Some(text) => parse_json(what, &text),
        None => Ok(T::default()),
    }
}

#[napi]
impl NativeSystem {
    /// Stores (upserts) a memory; returns the record JSON.
    #[napi(catch_unwind)]
    pub fn bank_store(&self, memory_json: String) -> napi::Result<String> {
        let m: MemoryInput = parse_json("memory", &memory_json)?;
        to_json(
            &self
                .engine()?
                .bank()
                .and_then(|b| b.store(m))
                .map_err(to_js)?,
        )
    }

    /// Stores a learning; returns the record JSON.
    #[napi(catch_unwind)]
    pub fn bank_store_learning(&self, learning_json: String) -> napi::Result<String> {
        let l: LearningInput = parse_json("learning", &learning_json)?;
        to_json(
            &self
                .engine()?
                .bank()
                .and_then(|b| b.store_learning(l))
                .map_err(to_js)?,
        )
    }

    /// A memory by id (JSON `null` when absent).
    #[napi(catch_unwind)]
    pub fn bank_get(&self, id: String) -> napi::Result<String> {
        to_json(
            &self
                .engine()?
                .bank()
                .and_then(|b| b.get(&id))
                .map_err(to_js)?,
        )
    }

    /// Deletes a memory or learning; true when something was deleted.
    #[napi(catch_unwind)]
    pub fn bank_delete(&self, id: String) -> napi::Result<bool> {
        self.engine()?
            .bank()
            .and_then(|b| b.delete(&id))
            .map_err(to_js)
    }

    /// The most recently stored memories (newest first, at most 1,000) as JSON.
    #[napi(catch_unwind)]
    pub fn bank_recent(&self, limit: u32) -> napi::Result<String> {
        to_json(
            &self
                .engine()?
                .bank()
                .and_then(|b| b.recent(limit as usize))
                .map_err(to_js)?,
        )
    }

    /// `{memories, learnings}` counts as JSON.
    #[napi(catch_unwind)]
    pub fn bank_count(&self) -> napi::Result<String> {
        to_json(
            &self
                .engine()?
                .bank()
                .and_then(|b| b.count())
                .map_err(to_js)?,
        )
    }

    /// Top-k memories for a query (agentic-flow scoring + MMR) as JSON.
    #[napi(catch_unwind)]
    pub fn bank_retrieve(
        &self,
        query: String,
        options_json: Option<String>,
    ) -> napi::Result<String> {
        let opts: RetrieveOptions = options("retrieve options", options_json)?;
        to_json(
            &self
                .engine()?
                .bank()
                .and_then(|b| b.retrieve(&query, &opts))
                .map_err(to_js)?,
        )
    }

    /// Counts, caps and evictions (`BankStats`) as JSON.
    #[napi(catch_unwind)]
    pub fn bank_stats(&self) -> napi::Result<String> {
        to_json(
            &self
                .engine()?
                .bank()
                .and_then(|b| b.stats())
                .map_err(to_js)?,
        )
    }

    /// The eviction reports since the last call, oldest first, as a JSON array.
    #[napi(catch_unwind)]
    pub fn bank_take_evictions(&self) -> napi::Result<String> {
        to_json(
            &self
                .engine()?
                .bank()
                .map(|b| b.take_evictions())
                .map_err(to_js)?,
        )
    }

    /// How retrieval searches the store (exact scan or approximate index) as JSON.
    #[napi(catch_unwind)]
    pub fn bank_search_info(&self) -> napi::Result<String> {
        to_json(
            &self
                .engine()?
                .bank()
                .and_then(|b| b.search_info())
                .map_err(to_js)?,
        )
    }

    /// Full-text query over memories and learnings as JSON.
    #[napi(catch_unwind)]
    pub fn bank_query(
        &self,
        pattern: String,
        options_json: Option<String>,
    ) -> napi::Result<String> {
        let opts: QueryOptions = options("query options", options_json)?;
        to_json(
            &self
                .engine()?
                .bank()
                .and_then(|b| b.query(&pattern, &opts))
                .map_err(to_js)?,
        )
    }

    /// The whole bank as a JSON document.
    #[napi(catch_unwind)]
    pub fn bank_export_json(&self) -> napi::Result<String> {
        to_json(
            &self
                .engine()?
                .bank()
                .and_then(|b| b.export_json())
                .map_err(to_js)?,
        )
    }

    /// Imports a JSON document from `exportJson`; returns the report JSON.
    #[napi(catch_unwind)]
    pub fn bank_import_json(&self, document_json: String) -> napi::Result<String> {
        let doc: Value = parse_json("bank document", &document_json)?;
        to_json(
            &self
                .engine()?
                .bank()
                .and_then(|b| b.import_json(&doc))
                .map_err(to_js)?,
        )
    }

    /// Copies an agentic-flow memory DB into the store; returns the report JSON.
    #[napi(catch_unwind)]
    pub fn bank_import_agentic_flow(&self, db_path: Option<String>) -> napi::Result<String> {
        let path = db_path.unwrap_or_else(default_agentic_flow_db_path);
        to_json(
            &self
                .engine()?
                .bank()
                .and_then(|b| b.import_agentic_flow(&path))
                .map_err(to_js)?,
        )
    }

    /// Copies the store's memories into an agentic-flow memory DB; returns the report JSON.
    #[napi(catch_unwind)]
    pub fn bank_export_agentic_flow(&self, db_path: Option<String>) -> napi::Result<String> {
        let path = db_path.unwrap_or_else(default_agentic_flow_db_path);
        to_json(
            &self
                .engine()?
                .bank()
                .and_then(|b| b.export_agentic_flow(&path))
                .map_err(to_js)?,
        )
    }

    /// Links duplicates and contradictions and prunes stale items; returns the report JSON.
    #[napi(catch_unwind)]
    pub fn bank_consolidate(&self) -> napi::Result<String> {
        to_json(
            &self
                .engine()?
                .bank()
                .and_then(|b| b.consolidate())
                .map_err(to_js)?,
        )
    }

    /// Counts one swarm consensus round for an agent; returns its counts JSON.
    #[napi(catch_unwind)]
    pub fn bank_record_vote(
        &self,
        agent_id: String,
        agreed: bool,
        run_id: String,
    ) -> napi::Result<String> {
        to_json(
            &self
                .engine()?
                .bank()
                .and_then(|b| b.record_vote(&agent_id, agreed, &run_id))
                .map_err(to_js)?,
        )
    }

    /// Every swarm agent's vote counts as JSON.
    #[napi(catch_unwind)]
    pub fn bank_vote_counts(&self) -> napi::Result<String> {
        to_json(
            &self
                .engine()?
                .bank()
                .and_then(|b| b.vote_counts())
                .map_err(to_js)?,
        )
    }

    /// Starts a bulk load (PostgreSQL: the vector index is built once at the end).
    #[napi(catch_unwind)]
    pub fn bank_begin_bulk_load(&self) -> napi::Result<bool> {
        self.engine()?
            .bank()
            .and_then(|b| b.begin_bulk_load())
            .map_err(to_js)
    }

    /// Ends a bulk load; returns the index build time in ms.
    #[napi(catch_unwind)]
    pub fn bank_end_bulk_load(&self) -> napi::Result<f64> {
        self.engine()?
            .bank()
            .and_then(|b| b.end_bulk_load())
            .map(|ms| ms as f64)
            .map_err(to_js)
    }

    /// Builds the vector index for the bank's size (PostgreSQL); returns the build time in ms.
    #[napi(catch_unwind)]
    pub fn bank_reindex(&self) -> napi::Result<f64> {
        self.engine()?
            .bank()
            .and_then(|b| b.reindex())
            .map(|ms| ms as f64)
            .map_err(to_js)
    }
}
