//! `NativeAgenticFlowDb`: one agentic-flow memory database (`.swarm/memory.db`) opened by the
//! engine for the `lean-agentic-native/agentic-flow` drop-in (`integrations/agentic_flow/
//! reasoningbank.ts`). It holds the store and, from the first retrieval on, a reasoning bank
//! over it; the TypeScript side keeps one per process, as agentic-flow keeps one connection.

use std::sync::Arc;

use napi_derive::napi;

use super::error::{parse_json, to_js, to_json};
use crate::error::{Error, ErrorCode};
use crate::memory::{
    run_agentic_flow_call, AgenticFlowCall, BankConfig, ReasoningBank, RetrieveOptions, Store,
};

/// The engine's connection to an agentic-flow memory database.
#[napi]
pub struct NativeAgenticFlowDb {
    path: String,
    store: Option<Arc<Store>>,
    bank: Option<ReasoningBank>,
}

impl NativeAgenticFlowDb {
    fn store(&self) -> napi::Result<&Arc<Store>> {
        self.store.as_ref().ok_or_else(|| {
            to_js(Error::new(
                ErrorCode::Closed,
                format!(
                    "the database '{}' is closed; call db.getDb() or retrieveMemories again to reopen it",
                    self.path
                ),
            ))
        })
    }
}

#[napi]
impl NativeAgenticFlowDb {
    /// Opens (creating the file, its directory and every missing table) the database at `path`.
    #[napi(factory, catch_unwind)]
    pub fn open(path: String) -> napi::Result<Self> {
        let store = Store::open(&path).map_err(to_js)?;
        Ok(NativeAgenticFlowDb {
            path,
            store: Some(Arc::new(store)),
            bank: None,
        })
    }

    /// The path the database was opened with.
    #[napi(getter)]
    pub fn path(&self) -> String {
        self.path.clone()
    }

    /// Whether [`Self::close`] was called.
    #[napi(getter)]
    pub fn closed(&self) -> bool {
        self.store.is_none()
    }

    /// Runs one agentic-flow `db` call (`{"op": ..., ...}`); returns its result as JSON.
    #[napi(catch_unwind)]
    pub fn call(&self, call_json: String) -> napi::Result<String> {
        let call: AgenticFlowCall = parse_json("agentic-flow db call", &call_json)?;
        to_json(&run_agentic_flow_call(self.store()?, call).map_err(to_js)?)
    }

    /// Top-k memories (agentic-flow's score and MMR; usage counted, no metric logged: the
    /// caller logs agentic-flow's `rb.retrieve.latency_ms`) as `Retrieved[]` JSON.
    #[napi(catch_unwind)]
    pub fn retrieve(&mut self, query: String, options_json: String) -> napi::Result<String> {
        let opts: RetrieveOptions = parse_json("retrieve options", &options_json)?;
        let store = self.store()?.clone();
        if self.bank.is_none() {
            let cfg = BankConfig {
                log_metrics: false,
                ..BankConfig::default()
            };
            self.bank = Some(ReasoningBank::open(store, cfg).map_err(to_js)?);
        }
        let bank = self
            .bank
            .as_ref()
            .ok_or_else(|| to_js(Error::new(ErrorCode::Internal, "the bank did not open")))?;
        to_json(&bank.retrieve(&query, &opts).map_err(to_js)?)
    }

    /// Checkpoints and closes the database now. Idempotent.
    #[napi(catch_unwind)]
    pub fn close(&mut self) -> napi::Result<()> {
        self.bank = None;
        match self.store.take() {
            Some(store) => store.close().map_err(to_js),
            None => Ok(()),
        }
    }
}
