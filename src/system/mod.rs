//! The system: one [`Engine`] runs the Plan–Act–Observe–Learn loop for many sessions.
//!
//! A step is split in two so that handlers written in JavaScript can run in between
//! without the engine holding any lock: [`Engine::begin`] extracts entities, updates the
//! graph, plans, scores, selects and verifies; it either finishes the step itself (built-in
//! action, denial) or returns a [`PendingStep`]; [`Engine::complete`] takes the handler's
//! outcome, computes the reward, learns and records history. Sessions live in a concurrent
//! map and lock only themselves.
//!
//! Batches: a large batch running alone has a helper thread perceive chunks ahead of its
//! steps and add them to the knowledge graph behind them ([`Engine::process_batch_each`],
//! `engine/pipeline.rs`); batches handed over from JS run on per-session batch threads
//! (`batch_workers`), a large one as slices queued back to back (`slice_chain`); the step
//! journal is written by a thread of its own (`journal`).

mod batch_workers;
pub mod cedar_context;
mod config;
mod engine;
mod finished;
mod formal;
mod graph_facts;
mod journal;
mod slice_chain;
mod step;
mod step_ids;
mod verify;

pub use config::{closest, json_type, Enforcement, SystemConfig, CONFIG_KEYS, DEFAULT_STORE_PATH};
pub use engine::{
    BlockedAction, Engine, FeedbackResult, RankedAction, Ranking, SystemStats, PIPELINE_MIN_CHUNKS,
};
pub use formal::{ActionCheck, CheckContext, FormalVerifier};
pub use journal::{Journal, JournalRow};
pub use slice_chain::{SliceState, SliceTicket};
pub use step::{
    ActionView, BatchProgress, Begun, Observation, PendingStep, RecordedStep, ResultDetail,
    StepResult, StepSummary, StepView, MAX_STEP_ENTITIES,
};
pub use verify::{PolicyDetails, Verdict, Verification, Verifier, VerifyRequest};

#[cfg(test)]
mod tests;
